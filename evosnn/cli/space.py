"""``evosnn space check FILE``: validate a search space and print its size."""

from __future__ import annotations

import argparse
from pathlib import Path

from evosnn.cli._command import Command

__all__ = ["SpaceCheck"]


class SpaceCheck(Command):
    name = "space check"
    help = "validate a space file and print its size"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", type=Path)

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.genome import BLOCK_GENES, GLOBAL_GENES, GenomeCodec
        from evosnn.core.space import load_space

        space = load_space(args.file)
        codec = GenomeCodec(space)
        data, net = space.dataset, space.supernet
        print(f"{args.file}: OK, space {space.name!r}")
        print(
            f"  data set      {data.name} {data.channels}x{data.image_size}x{data.image_size}, "
            f"{data.num_classes} classes"
        )
        print(
            f"  supernet      depth {net.depth}, embed {net.embed_dim}, "
            f"mlp ratio {net.mlp_ratio}, heads {net.num_heads}"
        )
        print(
            f"  genome        {len(codec)} genes ({len(GLOBAL_GENES)} global + "
            f"{len(BLOCK_GENES)} x {space.max_depth} blocks)"
        )
        print(f"  architectures {space.num_architectures():,}")
        print(f"  subnets       {space.num_subnets():,} (architectures x neuron settings)")
        training = space.training
        print(
            f"  training      {training.epochs} supernet epochs, {training.sampling} sampling "
            "(defaults of supernet train and demo)"
        )
        return 0
