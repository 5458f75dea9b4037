"""``evosnn export``: write chosen architectures of a study as files a training job reads."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosnn.cli._args import add_data, add_device, add_storage, add_study, non_negative_int
from evosnn.cli._command import Command
from evosnn.core.errors import EvosnnError
from evosnn.core.validation import DEFAULT_DEVICE, PICK

__all__ = ["Export"]


class Export(Command):
    name = "export"
    help = "write chosen architectures of a study as files"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        add_storage(parser, required=True)
        add_study(parser, required=True)
        parser.add_argument("--out", type=Path, required=True, help="output folder")
        parser.add_argument("--pick", choices=PICK.choices, default=PICK.choices[0])
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
        from evosnn.api import export

        if args.with_weights and args.supernet is None:
            raise EvosnnError("--with-weights needs --supernet (the study's supernet.pt)")
        if not args.with_weights:  # flags that only the weights use would be ignored silently
            unused = [
                flag
                for flag, value in (("--supernet", args.supernet), ("--data", args.data))
                if value is not None
            ]
            if args.device != DEFAULT_DEVICE:
                unused.append("--device")
            if unused:
                raise EvosnnError(
                    f"{' and '.join(unused)} only serve --with-weights (the inherited weights, "
                    "BN-recalibrated on the data); add --with-weights, or leave them out"
                )
        written = export(
            (args.storage, args.study),
            args.out,
            pick=args.pick,
            trial=args.trial,
            supernet=args.supernet if args.with_weights else None,
            data_root=args.data,
            device=args.device,
        )
        for path in written:
            print(f"{path}  {_figures(path)}")
        return 0


def _figures(path: Path) -> str:
    """What a written file holds, with units: the architecture's metrics, or "weights"."""
    if path.suffix == ".pt":
        return "(inherited weights, BN recalibrated as evaluated)"
    from evosnn.reporting.export import load_export

    metrics = load_export(path).metrics
    parts = [f"val acc {100 * metrics['accuracy']:.2f}%"] if metrics.get("accuracy") else []
    if metrics.get("test_accuracy") is not None:
        parts.append(f"test acc {100 * metrics['test_accuracy']:.2f}%")
    if metrics.get("energy_mj") is not None:
        parts.append(f"{metrics['energy_mj']:.4g} mJ/image")
    if metrics.get("params"):
        parts.append(f"{metrics['params']:,} params")
    return f"({', '.join(parts)})"
