"""The ``evosnn`` command: a thin face over functions that tests and notebooks call directly.

One small class per command (``evosnn/cli/<command>.py``), each declaring its flags and running one
library function; flags shared by several commands are declared once (:mod:`evosnn.cli._args`).
Every user-facing problem is an :class:`~evosnn.core.errors.EvosnnError` and is printed as one line
(``evosnn: error: ...``) with exit status 2; with ``-v`` the traceback of its cause follows. Ctrl-C
is one line (``evosnn: interrupted...``) and exit status 130, whichever command it stopped.
Nothing below this package prints.

Example:
    >>> from evosnn.cli import build_parser
    >>> args = build_parser().parse_args(["space", "check", "search_spaces/digits-tiny.yaml"])
    >>> args.command.name
    'space check'
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import traceback
from collections.abc import Sequence
from typing import NoReturn

from evosnn.cli._command import Command
from evosnn.cli.benchmark import Benchmark
from evosnn.cli.dashboard import Dashboard
from evosnn.cli.demo import Demo
from evosnn.cli.export import Export
from evosnn.cli.report import ReportCommand
from evosnn.cli.search import Search
from evosnn.cli.sensitivity import SupernetSensitivity
from evosnn.cli.space import SpaceCheck, SpaceList
from evosnn.cli.supernet import SupernetRankCheck, SupernetTrain
from evosnn.cli.train import Train
from evosnn.core.errors import EvosnnError, Interrupted

__all__ = ["COMMANDS", "INTERRUPTED", "build_parser", "main"]

#: The exit status of every command stopped by Ctrl-C (128 + SIGINT, as a shell reports it).
INTERRUPTED = 130

#: Every command, in the order ``evosnn --help`` lists them.
COMMANDS: tuple[type[Command], ...] = (
    SpaceList,
    SpaceCheck,
    SupernetTrain,
    SupernetRankCheck,
    SupernetSensitivity,
    Search,
    Export,
    Train,
    ReportCommand,
    Benchmark,
    Dashboard,
    Demo,
)

#: Help of the command groups (``evosnn space ...``, ``evosnn supernet ...``).
_GROUPS = {"space": "inspect search spaces", "supernet": "train the weight-entangled supernet"}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one ``evosnn: error: ...`` line, like every other."""

    def error(self, message: str) -> NoReturn:
        where = "" if self.prog == "evosnn" else f"{self.prog}: "
        self.exit(2, f"evosnn: error: {where}{message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and documentation)."""
    parser = _Parser(
        prog="evosnn", description="Evolutionary search of energy-efficient spiking transformers."
    )
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="debug logging; errors show their cause"
    )
    top = parser.add_subparsers(dest="top", required=True, metavar="COMMAND")
    groups: dict[str, argparse._SubParsersAction[_Parser]] = {}
    for command_class in COMMANDS:
        command = command_class()
        *group, name = command.name.split()
        where = top
        if group:
            if group[0] not in groups:
                sub = top.add_parser(group[0], help=_GROUPS[group[0]])
                groups[group[0]] = sub.add_subparsers(
                    dest=f"{group[0]}_action", required=True, metavar="ACTION"
                )
            where = groups[group[0]]
        sub_parser = where.add_parser(name, help=command.help, description=command.help)
        command.add_arguments(sub_parser)
        sub_parser.set_defaults(command=command)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    command: Command = args.command
    try:
        return command.run(args)
    except (KeyboardInterrupt, Interrupted) as exc:
        # further Ctrl-Cs must not break the cleanup that follows (atexit: Ray, logging) into
        # tracebacks: one interrupt, one line, one exit status
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        detail = f": {exc}" if isinstance(exc, Interrupted) else ""
        print(f"evosnn: interrupted{detail}", file=sys.stderr)
        return INTERRUPTED
    except EvosnnError as exc:
        if args.verbose and exc.__cause__ is not None:
            traceback.print_exception(exc.__cause__, file=sys.stderr)
        print(f"evosnn: error: {exc}", file=sys.stderr)
        return 2
