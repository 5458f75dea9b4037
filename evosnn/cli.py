"""The ``evosnn`` command: a thin face over functions that tests and notebooks call directly.

Every user-facing problem is an :class:`~evosnn.errors.EvosnnError` and is printed as one line
(``evosnn: error: ...``) with exit status 2; nothing below this module prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from evosnn.errors import EvosnnError

__all__ = ["main"]

log = logging.getLogger("evosnn")

Handler = Callable[[argparse.Namespace], int]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


# ------------------------------------------------------------------------------------ space check
def _space_check(args: argparse.Namespace) -> int:
    from evosnn.genome import BLOCK_GENES, GLOBAL_GENES, GenomeCodec
    from evosnn.space import load_space

    space = load_space(args.file)
    codec = GenomeCodec(space)
    data = space.dataset
    print(f"{args.file}: OK, space {space.name!r}")
    print(
        f"  data set      {data.name} {data.channels}x{data.image_size}x{data.image_size}, "
        f"{data.num_classes} classes"
    )
    net = space.supernet
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
    return 0


# ------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="evosnn",
        description="Evolutionary search of energy-efficient spiking transformers.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    space = commands.add_parser("space", help="inspect search spaces")
    space_commands = space.add_subparsers(dest="space_command", required=True, metavar="ACTION")
    check = space_commands.add_parser("check", help="validate a space file and print its size")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_space_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except EvosnnError as exc:
        print(f"evosnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evosnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
