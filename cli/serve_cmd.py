"""``trident-scim serve``: the SCIM API on waitress, with the worker in the same process.

Opens (creating or upgrading) the database and default roles, prints the SCIM Base URL and
the next steps, then serves until SIGTERM or Ctrl-C and shuts down cleanly: listener
closed, in-flight requests finished, request log flushed, worker stopped, unused rate-limit
leases given back. ``--no-worker`` is for deployments that run ``trident-scim worker``
separately (several API processes).
"""

from __future__ import annotations

import argparse
import logging
import os
import shlex
import shutil
import signal
import socket
import sys
from dataclasses import replace
from types import FrameType
from typing import Any

from cli.context import CliContext, CliError, printable_url
from store.config import ApiSettings, Settings, scim_threads

log = logging.getLogger(__name__)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve the SCIM API (and run the worker in-process)")
    serve.add_argument("--host", help="interface to listen on (default: [api] host)")
    serve.add_argument("--port", type=int, help="TCP port (default: [api] port; 0 = any free)")
    serve.add_argument(
        "--threads",
        type=int,
        help="SCIM worker threads (default: [api] threads; 0 there: 1 on SQLite, 4 on PostgreSQL)",
    )
    serve.add_argument("--no-worker", action="store_true",
                       help="do not run the background worker in this process")  # fmt: skip
    serve.set_defaults(func=_serve)


def public_url_for(settings: Settings, host: str, port: int) -> str:
    """The configured public_url, or (when left at its default) one built from the address
    actually listened on, so the printed Base URL works as-is."""
    if settings.api.public_url != ApiSettings().public_url:
        return settings.api.public_url
    if host in ("0.0.0.0", "::", ""):  # noqa: S104  (a wildcard: name this machine instead)
        host = socket.getfqdn()
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def _hint(ctx: CliContext, command: str) -> str:
    """The command as the operator can type it: the plain name when it is on PATH, else the
    path this process was started as (e.g. .venv/bin/trident-scim after `make run`)."""
    program = "trident-scim"
    invoked = sys.argv[0] if sys.argv and sys.argv[0].endswith("trident-scim") else ""
    if invoked and shutil.which(program) != os.path.abspath(invoked):
        program = invoked
    config = getattr(ctx.args, "config", None)
    prefix = f"{program} --config {shlex.quote(config)}" if config else program
    return f"{prefix} {command}"


def _serve(ctx: CliContext) -> int:
    from api.activity import ActivityRecorder
    from api.app import create_app
    from api.server import ScimServer, bind_socket
    from cli.presence import announced
    from store.services.roles import ensure_default_roles

    args = ctx.args
    api = ctx.settings.api
    host = args.host or api.host
    wanted = api.port if args.port is None else args.port
    if not 0 <= wanted <= 65535:
        raise CliError(f"--port must be between 0 (any free port) and 65535, got {wanted}")
    try:
        sock = bind_socket(host, wanted)
    except OSError as exc:
        raise CliError(f"cannot listen on {host}:{wanted}: {exc.strerror or exc}") from None
    port = sock.getsockname()[1]
    public_url = public_url_for(ctx.settings, host, port)
    settings = replace(ctx.settings, api=replace(api, host=host, port=port, public_url=public_url))
    ctx.settings = settings
    store = ctx.store(create=True)
    ensure_default_roles(store)
    threads = args.threads if args.threads and args.threads > 0 else None
    threads = threads or scim_threads(settings.api, store.provider)
    _print_banner(ctx, settings, host, port)
    recorder = ActivityRecorder(store).start()
    scheduler = None if args.no_worker else _start_worker(store, settings)
    server = ScimServer(create_app(store, recorder=recorder), sock, threads=threads,
                        max_body_bytes=settings.api.max_body_bytes,
                        limits=settings.api)  # fmt: skip
    previous = _on_stop_signals(lambda: server.stop())
    try:
        with announced(store, "serve"):
            server.run()
    finally:
        _restore_signals(previous)
        if scheduler is not None:
            scheduler.shutdown()
        recorder.close()
        _give_back_rate_leases(store)
        log.info("stopped")
    return 0


def _give_back_rate_leases(store: Any) -> None:
    """The budget this process leased for tokens and did not use goes back to them."""
    from store.errors import Unavailable
    from store.services.tokens import release_rate_leases

    try:
        release_rate_leases(store)
    except Unavailable:
        log.warning("could not give back the unused rate-limit leases: database unavailable")


def _print_banner(ctx: CliContext, settings: Settings, host: str, port: int) -> None:
    ctx.out(f"TridentStack Control SCIM service listening on {host}:{port}")
    ctx.out(f"Database: {printable_url(settings.database.url)}")
    ctx.out(f"SCIM Base URL: {settings.scim_base_url}")
    create_token = _hint(ctx, 'token create "Okta SCIM"')
    ctx.out(f"Create a token for your IdP: {create_token}")
    ctx.out(f"Operator console: {_hint(ctx, 'tui')}")
    ctx.out("Press Ctrl-C to stop.")


def _start_worker(store: Any, settings: Settings) -> Any:
    from worker.scheduler import start_background_worker

    return start_background_worker(store, settings)


def _on_stop_signals(stop: Any) -> dict[int, Any]:
    def handler(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d received: stopping", signum)
        stop()

    previous: dict[int, Any] = {}
    for sig in (signal.SIGTERM, signal.SIGINT):
        previous[sig] = signal.signal(sig, handler)
    return previous


def _restore_signals(previous: dict[int, Any]) -> None:
    for sig, handler in previous.items():
        signal.signal(sig, handler)
