"""``evosnn benchmark``: NeuroBench's metrics for exported architectures on their validation data,
beside evosnn's own operation counts (needs ``pip install 'evosnn[neurobench]'``)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

from evosnn.cli._args import add_data, positive_int
from evosnn.cli._command import Command

if TYPE_CHECKING:
    from evosnn.reporting.neurobench import NeuroBenchResult

__all__ = ["Benchmark", "render_benchmark"]


class Benchmark(Command):
    name = "benchmark"
    help = "NeuroBench's metrics for exported architectures, beside evosnn's counts"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument(
            "architectures", type=Path, nargs="+", help="exported trial-NNNNN.yaml files"
        )
        parser.add_argument(
            "--weights",
            type=Path,
            default=None,
            help="weights to load (default: the exported trial-NNNNN.pt beside each file)",
        )
        parser.add_argument(
            "--limit",
            type=positive_int,
            default=None,
            help="benchmark the first N validation images only (default: all)",
        )
        parser.add_argument("--batch-size", type=positive_int, default=64)
        add_data(parser)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.reporting.export import load_export
        from evosnn.reporting.neurobench import require

        exports = [load_export(path) for path in args.architectures]  # each checked first
        require()  # then one line and no work when NeuroBench is missing
        import torch

        from evosnn.api import load_model
        from evosnn.data.loading import load_splits, normalize
        from evosnn.objectives.energy import EnergyModel
        from evosnn.reporting.neurobench import benchmark

        for exported in exports:
            model = load_model(exported, weights=args.weights or "exported")
            splits = load_splits(exported.space.dataset, root=args.data)
            val = splits.val.images[: args.limit], splits.val.labels[: args.limit]
            with torch.no_grad():
                images = normalize(val[0], splits.mean, splits.std)
            result = benchmark(
                model,
                exported.config,
                exported.space.geometry,
                images,
                val[1],
                energy=EnergyModel.for_space(exported.space),
                batch_size=args.batch_size,
            )
            print(render_benchmark(exported.path, result))
        return 0


def render_benchmark(path: Path, result: NeuroBenchResult) -> str:
    """The printed report: NeuroBench's metrics, evosnn's totals, and both counts per layer."""
    nb, ops = result.neurobench, result.neurobench["SynapticOperations"]
    lines = [
        f"{path}: NeuroBench on {result.images} validation images (per image)",
        f"  NeuroBench  Effective_ACs {ops['Effective_ACs']:,.0f}  "
        f"Effective_MACs {ops['Effective_MACs']:,.0f}  Dense {ops['Dense']:,.0f}",
        f"              ActivationSparsity {nb['ActivationSparsity']:.4f}  "
        f"ConnectionSparsity {nb['ConnectionSparsity']:.4f}  Footprint {nb['Footprint']:,} bytes",
        f"  evosnn      SOPs {result.acs:,.0f}  MACs {result.macs:,.0f}  "
        f"({result.energy_mj:.4g} mJ, spikformer convention)",
        "",
        f"  {'layer':<18}{'NB ACs':>12}{'NB MACs':>12}{'evosnn SOPs':>14}{'evosnn MACs':>14}"
        f"{'NB/evosnn':>11}",
    ]
    for row in result.layers:
        ours = row.acs + row.macs
        ratio = f"{(row.nb_acs + row.nb_macs) / ours:.3f}" if row.seen and ours else "-"
        nb_cells = f"{row.nb_acs:>12,.0f}{row.nb_macs:>12,.0f}" if row.seen else f"{'not seen':>24}"
        lines.append(f"  {row.name:<18}{nb_cells}{row.acs:>14,.0f}{row.macs:>14,.0f}{ratio:>11}")
    lines += [
        "  Equal on spike-fed linear layers. NeuroBench counts a residual-fed layer's nonzero inputs",
        "  as MACs, the first conv once per image, a padded conv's border spikes at their real",
        "  fan-out, and sees neither the attention products nor the classifier",
        "  (docs/concepts/hardware-energy.md).",
    ]
    return "\n".join(lines)
