"""``sfpy-emulator``: run the local Salesforce emulator from the command line.

Prints exactly one line once it serves (``sfpy-emulator ready on http://127.0.0.1:PORT (user ...)``)
so scripts can wait for it; no secret is ever printed.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from airflow_provider_sfpy.emulator import defaults
from airflow_provider_sfpy.emulator.config import EmulatorConfig
from airflow_provider_sfpy.emulator.sample_data import GENERATABLE

ADMIN_TOKEN_ENV = "SFPY_EMULATOR_ADMIN_TOKEN"


def _generate_spec(text: str) -> tuple[str, int]:
    name, _, count = text.partition("=")
    if name not in GENERATABLE or not count.isdigit():
        raise argparse.ArgumentTypeError(f"expected OBJECT=N with OBJECT one of {', '.join(GENERATABLE)}: {text!r}")
    return name, int(count)


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
        admin_token=args.admin_token or None,
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    from airflow_provider_sfpy.emulator.server import run  # uvicorn only when actually serving

    def announce(line: str) -> None:
        print(line, flush=True)

    try:
        run(
            config_from_args(args),
            host=args.host,
            port=args.port,
            tls_cert=args.tls_cert,
            tls_key=args.tls_key,
            log_level=args.log_level,
            announce=announce,
        )
    except KeyboardInterrupt:
        pass
    except OSError as exc:
        print(f"sfpy-emulator: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
