"""``evosnn export``: write chosen architectures of a study as files a training job reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosnn.cli._args import add_data, add_device, add_storage, add_study, non_negative_int
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError

__all__ = ["Export"]


class Export(Command):
    name = "export"
    help = "write chosen architectures of a study as files"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_storage(parser, required=True)
        add_study(parser, required=True)
        parser.add_argument("--out", type=Path, required=True, help="output folder")
        parser.add_argument(
            "--pick", choices=["pareto", "knee", "best-faeb", "trial"], default="pareto"
        )
        parser.add_argument(
            "--trial", type=non_negative_int, default=None, help="trial number for --pick trial"
        )
        parser.add_argument(
            "--with-weights",
            action="store_true",
            help="also write the stand-alone weights (needs --supernet)",
        )
        parser.add_argument("--supernet", type=Path, default=None, help="the study's supernet.pt")
        add_data(parser)
        add_device(parser)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.reporting.export import export_study

        if args.pick == "trial" and args.trial is None:
            raise EvosnnError("--pick trial needs --trial N")
        if args.trial is not None and args.pick != "trial":
            raise EvosnnError(f"--trial {args.trial} is for --pick trial (not --pick {args.pick})")
        if args.with_weights and args.supernet is None:
            raise EvosnnError("--with-weights needs --supernet (the study's supernet.pt)")
        written = export_study(
            args.storage,
            args.study,
            args.out,
            pick=args.pick,
            trial=args.trial,
            supernet=args.supernet if args.with_weights else None,
            data_root=args.data,
            device=args.device,
        )
        for path in written:
            print(path)
        return 0
