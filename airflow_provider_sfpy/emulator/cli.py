"""``sfpy-emulator``: run the local Salesforce emulator from the command line.

Once it serves it prints, first, the line scripts wait for (``sfpy-emulator ready on URL (user ...)``),
then its base URL and an ``AIRFLOW_CONN_SFPY_DEFAULT`` line to paste into a shell: the ``sfpy``
connection in the JSON form the hook reads, with the emulator's ``http://`` URL as login URL (or
``https://`` and the CA bundle when serving TLS; with ``--pubsub-port``, the Pub/Sub API's target and
``pubsub_url``). Credentials shown are the built-in demo values only, which
are public (``defaults.py``); a password, security token or client secret given on the command line
is the user's own and appears as a placeholder. The admin token is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.config import EmulatorConfig
from airflow_provider_sfpy.emulator.sample_data import GENERATABLE

if TYPE_CHECKING:
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions, PubSubServer

ADMIN_TOKEN_ENV = "SFPY_EMULATOR_ADMIN_TOKEN"
CONNECTION_ENV = "AIRFLOW_CONN_SFPY_DEFAULT"


def _generate_spec(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if name not in GENERATABLE or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected OBJECT=N with OBJECT one of {', '.join(GENERATABLE)}: {text!r}")
    return name, int(count)


def _positive_count(text: str) -> int:
    if not text.strip().isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of requests, 1 or more: {text!r}")
    return int(text)


def _record_count(text: str) -> int:
    if not text.strip().isdigit():
        raise argparse.ArgumentTypeError(f"expected a whole number of records, 0 or more: {text!r}")
    return int(text)


def _entity_list(text: str) -> list[str]:
    from airflow_provider_sfpy.emulator.events.schemas import parse_entity_option

    try:
        names = sorted(parse_entity_option(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    if not names:
        raise argparse.ArgumentTypeError(
            f"expected object names separated by commas, e.g. Account,Opportunity: {text!r}"
        )
    return names


def _positive_number(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a number greater than 0: {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="sfpy-emulator", description="Local Salesforce REST API emulator.")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=8999, help="port to bind; 0 picks a free one (default: %(default)s)"
    )
    parser.add_argument("--tls-cert", help="serve HTTPS with this certificate (PEM)")
    parser.add_argument("--tls-key", help="private key (PEM) of --tls-cert")
    parser.add_argument("--username", default=defaults.DEFAULT_USERNAME)
    parser.add_argument("--password", default=defaults.DEFAULT_PASSWORD)
    parser.add_argument("--security-token", default=defaults.DEFAULT_SECURITY_TOKEN)
    parser.add_argument("--client-id", default=defaults.DEFAULT_CLIENT_ID)
    parser.add_argument("--client-secret", default=defaults.DEFAULT_CLIENT_SECRET)
    parser.add_argument("--refresh-token", default=defaults.DEFAULT_REFRESH_TOKEN)
    parser.add_argument("--jwt-cert", help="X.509 certificate (PEM) that verifies JWT bearer assertions")
    parser.add_argument(
        "--generate",
        type=_generate_spec,
        action="append",
        default=[],
        metavar="OBJECT=N",
        help="add N synthetic records of OBJECT (Account, Contact, Opportunity); repeatable",
    )
    parser.add_argument(
        "--bench-wide-object",
        type=_record_count,
        default=0,
        metavar="N",
        help="add Bench_Wide__c, a 302-field custom object for wide-object benchmarks, with N generated "
        "records; 0 = off (default)",
    )
    parser.add_argument("--data-dir", help="keep the org in DIR/emulator.sqlite3 instead of in memory")
    parser.add_argument("--no-sample-data", action="store_true", help="start with only the admin user")
    parser.add_argument(
        "--bulk-upload-limit-bytes",
        type=int,
        default=EmulatorConfig.bulk_upload_limit_bytes,
        metavar="N",
        help="largest CSV one Bulk API 2.0 ingest upload may carry (default: %(default)s)",
    )
    parser.add_argument(
        "--daily-api-requests",
        type=_positive_count,
        default=defaults.DAILY_API_REQUESTS,
        metavar="N",
        help=(
            "the org's daily API request allocation, reported by /limits and the Sforce-Limit-Info header of "
            "every counted request (default: %(default)s); a small one lets max_api_usage be tried out"
        ),
    )
    parser.add_argument(
        "--admin-token",
        default=os.environ.get(ADMIN_TOKEN_ENV) or None,
        metavar="TOKEN",
        help=(
            "enable the admin API (/__emulator__/: fault rules, the request log, session expiry) for requests "
            f"carrying this token ('Authorization: Bearer TOKEN' or 'X-Emulator-Admin-Token: TOKEN'); default: "
            f"${ADMIN_TOKEN_ENV}, else the admin API is disabled"
        ),
    )
    pubsub = parser.add_argument_group("Pub/Sub API (change events and platform events over gRPC)")
    pubsub.add_argument(
        "--pubsub-port",
        type=int,
        metavar="N",
        help="serve the Pub/Sub API on this port (0 picks a free one), with TLS when --tls-cert is given; "
        "without it there is no Pub/Sub API and no change events are recorded",
    )
    pubsub.add_argument(
        "--change-events",
        type=_entity_list,
        metavar="OBJECT,OBJECT",
        help="the objects whose changes publish change events (default: every object that has them)",
    )
    pubsub.add_argument(
        "--event-retention-hours",
        type=_positive_number,
        default=72.0,
        metavar="H",
        help="how long events stay replayable (default: %(default)g, as Salesforce)",
    )
    pubsub.add_argument(
        "--pubsub-keepalive-seconds",
        type=_positive_number,
        default=270.0,
        metavar="S",
        help="idle time after which a subscriber waiting for events gets an empty keepalive (default: %(default)g)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug", "trace"]
    )
    return parser


def config_from_args(args: argparse.Namespace) -> EmulatorConfig:
    return EmulatorConfig(
        username=args.username,
        password=args.password,
        security_token=args.security_token,
        client_id=args.client_id,
        client_secret=args.client_secret,
        refresh_token=args.refresh_token,
        jwt_cert_pem=Path(args.jwt_cert).read_text() if args.jwt_cert else None,
        data_dir=args.data_dir,
        sample_data=not args.no_sample_data,
        generate=dict(args.generate),
        bench_wide_records=args.bench_wide_object,
        bulk_upload_limit_bytes=args.bulk_upload_limit_bytes,
        daily_api_requests=args.daily_api_requests,
        admin_token=args.admin_token or None,
    )


#: The org's secrets: (config attribute, built-in demo value, option that sets another value).
SECRETS = (
    ("password", defaults.DEFAULT_PASSWORD, "--password"),
    ("security_token", defaults.DEFAULT_SECURITY_TOKEN, "--security-token"),
    ("client_secret", defaults.DEFAULT_CLIENT_SECRET, "--client-secret"),
)


def chosen_secrets(config: EmulatorConfig) -> list[str]:
    """The options of the secrets the user chose (any value but the public demo one): never printed."""
    return [option for attr, demo_value, option in SECRETS if getattr(config, attr) != demo_value]


def shown_secrets(config: EmulatorConfig) -> dict[str, str]:
    """Each secret as the banner shows it: the public demo value, else a placeholder naming its option."""
    return {
        attr: f"<your {option} value>" if option in chosen_secrets(config) else getattr(config, attr)
        for attr, _, option in SECRETS
    }


def airflow_connection(
    url: str, config: EmulatorConfig, *, ca_bundle: str | None = None, pubsub_url: str | None = None
) -> dict[str, Any]:
    """The ``sfpy`` connection (Airflow's JSON form) that logs in to this emulator with the password flow."""
    shown = shown_secrets(config)
    extra = {"client_id": config.client_id, "client_secret": shown["client_secret"]}
    if shown["security_token"]:
        extra["security_token"] = shown["security_token"]
    if ca_bundle:
        extra["ca_bundle"] = ca_bundle
    if pubsub_url:
        extra["pubsub_url"] = pubsub_url
    return {"conn_type": "sfpy", "host": url, "login": config.username, "password": shown["password"], "extra": extra}


def pubsub_line(pubsub: PubSubServer, change_events: Sequence[str] | None) -> str:
    """Where the Pub/Sub API listens (``process.EmulatorProcess`` matches ``Pub/Sub API: URL``)."""
    entities = ", ".join(change_events) if change_events else "every object that has them"
    return f"Pub/Sub API: {pubsub.url} (gRPC target {pubsub.target}; change events of {entities})"


def banner(
    url: str,
    config: EmulatorConfig,
    *,
    ca_bundle: str | None = None,
    pubsub: PubSubServer | None = None,
    change_events: Sequence[str] | None = None,
) -> list[str]:
    """What a person needs to point Airflow at this emulator, printed after the ready line."""
    chosen = chosen_secrets(config)
    pubsub_url = pubsub.url if pubsub else None
    connection = json.dumps(airflow_connection(url, config, ca_bundle=ca_bundle, pubsub_url=pubsub_url))
    lines = [
        f"Base URL: {url} (login URL and instance URL; REST API under {url}/services/data/)",
        *([pubsub_line(pubsub, change_events)] if pubsub else []),
        f"Airflow connection, with placeholders for your {', '.join(chosen)}:"
        if chosen
        else "Airflow connection with the demo credentials (not secret):",
        f"export {CONNECTION_ENV}={shlex.quote(connection)}",
    ]
    if ca_bundle:
        lines.append(
            "(ca_bundle: the --tls-cert file, right for a self-signed certificate; if a CA signed it, its file)"
        )
    return lines


def pubsub_options_from_args(args: argparse.Namespace) -> PubSubOptions | None:
    """The Pub/Sub API's settings, or ``None`` when ``--pubsub-port`` is not given."""
    if args.pubsub_port is None:
        return None
    from airflow_provider_sfpy.emulator.pubsub.server import PubSubOptions
    from airflow_provider_sfpy.emulator.pubsub.service import PubSubSettings

    return PubSubOptions(
        change_events=args.change_events,
        retention_seconds=args.event_retention_hours * 3600,
        settings=PubSubSettings(keepalive_seconds=args.pubsub_keepalive_seconds),
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.pubsub_port is None and args.change_events:
        parser.error(
            "--change-events needs --pubsub-port: change events are recorded only while the Pub/Sub API is served"
        )
    from airflow_provider_sfpy.emulator.server import ready_line, run  # uvicorn only when actually serving

    config = config_from_args(args)
    ca_bundle = str(Path(args.tls_cert).resolve()) if args.tls_cert else None

    def announce(url: str, pubsub: PubSubServer | None) -> None:
        lines = banner(url, config, ca_bundle=ca_bundle, pubsub=pubsub, change_events=args.change_events)
        print("\n".join([ready_line(url, config.username), *lines]), flush=True)

    try:
        run(
            config,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log_level=args.log_level,
            on_ready=announce,
            pubsub_port=args.pubsub_port,
            pubsub_options=pubsub_options_from_args(args),
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"sfpy-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
