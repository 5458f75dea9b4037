"""``evosnn dashboard``: optuna-dashboard for a study database, on loopback by default."""

from __future__ import annotations

import argparse
import socket

from evosnn.cli._args import add_storage, bounded_int
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError

__all__ = ["Dashboard", "check_bind"]


class Dashboard(Command):
    name = "dashboard"
    help = "serve optuna-dashboard for a study database"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_storage(parser, required=True)
        parser.add_argument(
            "--host", default="127.0.0.1", help="bind address (default: loopback only)"
        )
        parser.add_argument("--port", type=bounded_int(1, 65535), default=8080)

    def run(self, args: argparse.Namespace) -> int:
        from optuna_dashboard import run_server

        from evosnn.storage.ledger import open_storage, redact

        # an existing database only (a mistyped path is not created); WAL for SQLite; fails
        # fast, password hidden
        storage = open_storage(args.storage, create=False)
        check_bind(args.host, args.port)  # before saying where it listens
        print(
            f"optuna-dashboard for {redact(args.storage)} at http://{args.host}:{args.port}/ "
            f"(Ctrl-C stops it)"
        )
        run_server(storage, host=args.host, port=args.port)
        return 0


def check_bind(host: str, port: int) -> None:
    """Refuse a host this machine cannot bind or a port in use, before the server starts.

    Raises:
        EvosnnError: naming the host and port.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise EvosnnError(f"--host {host}: not a host name or address here ({exc})") from exc
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server does
        try:
            probe.bind(address)
        except OSError as exc:
            raise EvosnnError(
                f"cannot listen on {host}:{port}: {exc.strerror or exc} "
                "(choose another --port, or a --host of this machine)"
            ) from exc
