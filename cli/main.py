"""Entry point of ``trident-scim``: global options, subcommand dispatch, readable errors."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cli import (
    activity_cmd,
    config_cmd,
    connection_cmd,
    db_cmd,
    mapping_cmd,
    role_cmd,
    serve_cmd,
    session_cmd,
    token_cmd,
    tui_cmd,
    user_cmd,
    worker_cmd,
)
from cli.context import CliContext, CliError
from cli.logs import configure_logging
from store.config import CONFIG_ENV, ConfigError, load_settings
from store.db import DatabaseUrlError
from store.domain.display import safe_text
from store.errors import StoreError
from store.version import VERSION

COMMAND_MODULES = (
    db_cmd,
    config_cmd,
    serve_cmd,
    worker_cmd,
    connection_cmd,
    token_cmd,
    user_cmd,
    role_cmd,
    mapping_cmd,
    session_cmd,
    tui_cmd,
    activity_cmd,
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trident-scim",
        description="TridentStack Control SCIM provisioning service.",
    )
    parser.add_argument(
        "--config",
        metavar="PATH",
        help=f"config file (default: ${CONFIG_ENV}, then ./config.toml, then built-in defaults)",
    )
    parser.add_argument("--version", action="version", version=f"trident-scim {VERSION}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMAND_MODULES:
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(args.config)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    configure_logging(settings)
    ctx = CliContext(settings=settings, args=args)
    try:
        result = args.func(ctx)
        return int(result or 0)
    except (CliError, StoreError, DatabaseUrlError, ConfigError) as exc:
        print(f"error: {safe_text(exc)}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader stopped early (`| head`): like any Unix filter
        return 141
    except KeyboardInterrupt:
        return 130
    finally:
        ctx.close()


if __name__ == "__main__":
    sys.exit(main())
