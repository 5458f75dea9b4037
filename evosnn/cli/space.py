"""``evosnn space list`` and ``evosnn space check SPACE``: the shipped spaces, and one space's size."""

from __future__ import annotations

import argparse

from evosnn.cli._command import Command

__all__ = ["SpaceCheck", "SpaceList"]


class SpaceList(Command):
    name = "space list"
    help = "list the search spaces shipped with evosnn (usable by name: --space NAME)"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        pass

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.shipped import shipped_dir, shipped_spaces
        from evosnn.core.space import load_space

        spaces = shipped_spaces()
        print(f"{len(spaces)} shipped search spaces in {shipped_dir()}:")
        for name, path in spaces.items():
            space = load_space(path)
            data = space.dataset
            print(
                f"  {name:<20} {data.name} {data.channels}x{data.image_size}x{data.image_size} "
                f"pixels, {data.num_classes} classes, {space.num_architectures():,} architectures"
                f" - {space.description}"
            )
        return 0


class SpaceCheck(Command):
    name = "space check"
    help = "validate a space (file or shipped name) and print its size"

    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        parser.add_argument("file", metavar="SPACE", help="search-space YAML file or shipped name")

    def run(self, args: argparse.Namespace) -> int:
        from evosnn.core.genome import GLOBAL_GENES, GenomeCodec
        from evosnn.core.shipped import resolve_space
        from evosnn.core.space import load_space

        path = resolve_space(args.file)
        space = load_space(path)
        codec = GenomeCodec(space)
        data, net = space.dataset, space.supernet
        print(f"{path}: OK, space {space.name!r}")
        print(
            f"  data set      {data.name} {data.channels}x{data.image_size}x{data.image_size} "
            f"pixels (channels x height x width), {data.num_classes} classes"
        )
        print(
            f"  supernet      depth {net.depth} blocks, embed {net.embed_dim} channels, "
            f"mlp ratio {net.mlp_ratio} (hidden / embed), {net.num_heads} heads"
        )
        print(
            f"  genome        {len(codec)} genes ({len(GLOBAL_GENES)} global + "
            f"{len(codec.block_genes)} x {space.max_depth} blocks)"
        )
        print(f"  architectures {space.num_architectures():,}")
        print(f"  subnets       {space.num_subnets():,} (architectures x neuron settings)")
        training = space.training
        print(
            f"  training      {training.epochs} supernet epochs, {training.sampling} sampling "
            "(defaults of supernet train and demo)"
        )
        return 0
