"""``evosnn report``: a static HTML report of a study (PNG figures, no server)."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosnn.cli._args import add_storage, add_study
from evosnn.cli._command import Command
from evosnn.core.outputs import check_out_dir

__all__ = ["ReportCommand"]


class ReportCommand(Command):
    name = "report"
    help = "write a static HTML report with PNG figures"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_storage(parser, required=True)
        add_study(parser, required=True)
        parser.add_argument(
            "--out", type=Path, required=True, help="output folder (gets index.html)"
        )

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.reporting.report import write_report

        check_out_dir(args.out)
        report = write_report(args.storage, args.study, args.out)
        print(
            f"report of {report.evaluations} evaluations ({report.pareto_size} on the Pareto "
            f"front): {report.index}"
        )
        return 0
