"""``evosnn dashboard``: optuna-dashboard for a study database, on loopback by default."""

from __future__ import annotations

import argparse

from evosnn.cli._args import add_storage, positive_int
from evosnn.cli._command import Command

__all__ = ["Dashboard"]


class Dashboard(Command):
    name = "dashboard"
    help = "serve optuna-dashboard for a study database"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_storage(parser, required=True)
        parser.add_argument(
            "--host", default="127.0.0.1", help="bind address (default: loopback only)"
        )
        parser.add_argument("--port", type=positive_int, default=8080)

    def run(self, args: argparse.Namespace) -> int:
        from optuna_dashboard import run_server

        from evosnn.storage.ledger import open_storage, redact

        storage = open_storage(args.storage)  # WAL for SQLite; fails fast, password hidden
        print(
            f"optuna-dashboard for {redact(args.storage)} at http://{args.host}:{args.port}/ "
            f"(Ctrl-C stops it)"
        )
        run_server(storage, host=args.host, port=args.port)
        return 0
