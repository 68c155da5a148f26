"""URL rules that keep tokens and passwords on the hosts they belong to.

Two decisions live here so that every caller makes them the same way:
- which login/instance URLs are acceptable (https, or plain http only to a loopback host such as
  the local emulator);
- which server-given links we follow (``nextRecordsUrl``, ``contentUrl``, blob URLs): only paths on
  the instance host. An absolute URL pointing elsewhere is refused before any request is made, so a
  compromised or spoofed response cannot make us send our bearer token to another host.
"""

from __future__ import annotations

import ipaddress
from urllib.parse import quote, urlsplit

from airflow_provider_sfpy.client.errors import SalesforceConfigError, SalesforceUnsafeUrlError

DEFAULT_LOGIN_URL = "https://login.salesforce.com"
BULK_JOB_KINDS = ("ingest", "query")


def is_loopback_host(host: str) -> bool:
    """``localhost``, 127.0.0.0/8 and ::1: hosts where plain HTTP never leaves this machine."""
    host = host.strip("[]").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def normalize_base_url(url: str, *, what: str = "login_url") -> str:
    """Turn ``login.salesforce.com`` or ``https://x.my.salesforce.com/`` into ``https://host[:port]``.

    A bare host means https. ``http://`` is refused unless the host is loopback, because the
    password grant would otherwise send credentials in clear text.
    """
    raw = (url or "").strip()
    if not raw:
        raise SalesforceConfigError(f"{what} is empty: give a host such as login.salesforce.com or a full https URL")
    if "://" not in raw:
        raw = "https://" + raw
    parts = urlsplit(raw)
    scheme = parts.scheme.lower()
    if scheme not in ("https", "http") or not parts.hostname:
        raise SalesforceConfigError(
            f"{what} {url!r} is not a valid URL: use a host (login.salesforce.com) or https://host"
        )
    if scheme == "http" and not is_loopback_host(parts.hostname):
        raise SalesforceConfigError(
            f"{what} {url!r} uses plain http to a non-loopback host; credentials and tokens would travel "
            "unencrypted. Use https:// (plain http is only allowed for localhost/127.0.0.1, e.g. the emulator)."
        )
    host = parts.hostname
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{scheme}://{host}{port}"


def resolve_server_link(instance_url: str, link: str) -> str:
    """Resolve a path given by the server against the instance, refusing any other host.

    ``/services/data/v60.0/query/01g...-2000`` becomes ``{instance_url}/services/...``. An absolute
    (or protocol-relative) URL is accepted only when it names exactly the instance's scheme, host
    and port.
    """
    if not link:
        raise SalesforceUnsafeUrlError("the server returned an empty link to follow")
    if link.startswith("//") or "://" in link.split("?", 1)[0]:
        target = urlsplit(link if "://" in link else "https:" + link)
        base = urlsplit(instance_url)
        if (target.scheme, target.hostname, target.port) != (base.scheme, base.hostname, base.port):
            raise SalesforceUnsafeUrlError(
                f"refusing to follow a server-given link to another host ({target.scheme}://{target.hostname}); "
                f"only paths on {base.scheme}://{base.hostname} are followed, so the session token stays there"
            )
        path = target.path + (f"?{target.query}" if target.query else "")
        return instance_url + path
    if not link.startswith("/"):
        link = "/" + link
    return instance_url + link


def bulk_job_path(kind: str, job_id: str, suffix: str = "") -> str:
    """``jobs/<kind>/<job id><suffix>``: a Bulk API 2.0 job's resource, to be put under ``data_path``.

    The id is one path segment, percent-quoted with nothing left safe, so an id such as
    ``../../limits`` is sent as ``..%2F..%2Flimits`` and names no other resource (HTTP clients resolve
    ``..`` segments before sending: unquoted, it would become ``GET .../limits``). The sync client's
    ``client.jobs`` and the Bulk trigger both build job paths here, so they always agree.
    """
    if kind not in BULK_JOB_KINDS:
        raise SalesforceConfigError(f"a Bulk API 2.0 job kind is 'ingest' or 'query', not {kind!r}")
    if not job_id:
        raise SalesforceConfigError(f"a Bulk API 2.0 {kind} job call needs job_id")
    return f"jobs/{kind}/{quote(str(job_id), safe='')}{suffix}"
