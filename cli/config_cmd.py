"""``trident-scim config``: print the documented example configuration or the settings in force."""

from __future__ import annotations

import argparse
from dataclasses import replace

from cli.context import CliContext, printable_url
from store.config_doc import example_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cfg = sub.add_parser("config", help="example and effective configuration")
    cfgsub = cfg.add_subparsers(dest="config_command", metavar="ACTION", required=True)
    cfgsub.add_parser("example", help="print a commented config with every key").set_defaults(
        func=_example
    )
    cfgsub.add_parser("show", help="print the settings in force (passwords masked)").set_defaults(
        func=_show
    )


def _example(ctx: CliContext) -> int:
    ctx.out(example_config().rstrip("\n"))
    return 0


def _show(ctx: CliContext) -> int:
    ctx.out(f"# settings from: {ctx.settings.source}")
    shown = replace(
        ctx.settings,
        database=replace(ctx.settings.database, url=printable_url(ctx.settings.database.url)),
    )
    ctx.out(example_config(shown).rstrip("\n"))
    return 0
