"""``sfpy-emulator``: run the local Salesforce emulator from the command line.

Once it serves it prints, first, the line scripts wait for (``sfpy-emulator ready on URL (user ...)``),
then its base URL and an ``AIRFLOW_CONN_SFPY_DEFAULT`` line to paste into a shell: the ``sfpy``
connection in the JSON form the hook reads, with the emulator's ``http://`` URL as login URL (or
``https://`` and the CA bundle when serving TLS). Credentials shown are the built-in demo values only, which
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
from typing import Any

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.config import EmulatorConfig
from airflow_provider_sfpy.emulator.sample_data import GENERATABLE

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


def airflow_connection(url: str, config: EmulatorConfig, *, ca_bundle: str | None = None) -> dict[str, Any]:
    """The ``sfpy`` connection (Airflow's JSON form) that logs in to this emulator with the password flow."""
    shown = shown_secrets(config)
    extra = {"client_id": config.client_id, "client_secret": shown["client_secret"]}
    if shown["security_token"]:
        extra["security_token"] = shown["security_token"]
    if ca_bundle:
        extra["ca_bundle"] = ca_bundle
    return {"conn_type": "sfpy", "host": url, "login": config.username, "password": shown["password"], "extra": extra}


def banner(url: str, config: EmulatorConfig, *, ca_bundle: str | None = None) -> list[str]:
    """What a person needs to point Airflow at this emulator, printed after the ready line."""
    chosen = chosen_secrets(config)
    connection = json.dumps(airflow_connection(url, config, ca_bundle=ca_bundle))
    lines = [
        f"Base URL: {url} (login URL and instance URL; REST API under {url}/services/data/)",
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    from airflow_provider_sfpy.emulator.server import ready_line, run  # uvicorn only when actually serving

    config = config_from_args(args)
    ca_bundle = str(Path(args.tls_cert).resolve()) if args.tls_cert else None

    def announce(url: str) -> None:
        print("\n".join([ready_line(url, config.username), *banner(url, config, ca_bundle=ca_bundle)]), flush=True)

    try:
        run(
            config,
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log_level=args.log_level,
            on_ready=announce,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"sfpy-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
