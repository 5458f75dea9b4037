"""Argument types and the flags several commands share, declared once."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evosnn.core.errors import EvosnnError

__all__ = [
    "RESUMED",
    "Explicit",
    "add_data",
    "add_device",
    "add_gpus_per_worker",
    "add_ray_address",
    "add_recipe",
    "add_resume",
    "add_seed",
    "add_storage",
    "add_study",
    "bounded_float",
    "bounded_int",
    "cpus",
    "device",
    "given_settings",
    "given_values",
    "non_negative_int",
    "positive_float",
    "positive_int",
    "resources",
]


#: Upper bounds of the numeric flags: far above any real use, low enough that a typo (``1e20``)
#: is refused instead of running for ever.
MAX_COUNT = 1_000_000
MAX_WORKERS = 4096
MAX_RESOURCE = 1024.0


def _number(text: str, kind: type[int] | type[float]) -> float:
    """``text`` as a finite number of ``kind`` (an int flag refuses ``1e3`` and ``2.5``)."""
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"must be {'an integer' if kind is int else 'a number'}, got {text!r}"
        ) from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def bounded_int(low: int, high: int = MAX_COUNT) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``."""

    def parse(text: str) -> int:
        value = int(_number(text, int))
        if not low <= value <= high:
            raise argparse.ArgumentTypeError(f"must be from {low} to {high}, got {text}")
        return value

    parse.__name__ = f"integer from {low} to {high}"
    return parse


def bounded_float(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""

    def parse(text: str) -> float:
        value = _number(text, float)
        if value > high or value < low or (low_open and value == low):
            above = "above" if low_open else "at least"
            raise argparse.ArgumentTypeError(
                f"must be a number {above} {low:g} and at most {high:g}, got {text}"
            )
        return value

    parse.__name__ = f"number from {low:g} to {high:g}"
    return parse


#: An integer of at least 1 (counts, epochs, sizes).
positive_int = bounded_int(1)
#: An integer of at least 0 (worker counts where 0 means "in this process", seeds).
non_negative_int = bounded_int(0)
#: A finite number above 0 (learning rates, timeouts).
positive_float = bounded_float(0.0, 1e9, low_open=True)
#: Ray CPUs or GPUs per worker: 0 (GPUs only) up to 1024, never nan or inf.
resources = bounded_float(0.0, MAX_RESOURCE)
#: Ray CPUs per worker or trial: above 0.
cpus = bounded_float(0.0, MAX_RESOURCE, low_open=True)


def device(text: str) -> str:
    """An argparse type: a device that exists here (see :mod:`evosnn.evaluate.device`)."""
    from evosnn.evaluate.device import check_device

    try:
        return check_device(text)
    except EvosnnError as exc:
        raise argparse.ArgumentTypeError(str(exc).removeprefix(f"--device {text}: ")) from None


def add_device(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device cpu|cuda|cuda:N``: where this process runs its networks."""
    parser.add_argument(
        "--device", type=device, default="cpu", help="cpu, cuda or cuda:N (default: cpu)"
    )


def add_gpus_per_worker(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str
) -> None:
    """``--gpus-per-worker G``: the GPUs Ray gives each worker (how Ray workers take GPUs)."""
    parser.add_argument("--gpus-per-worker", type=resources, default=0.0, help=help)


def add_storage(
    parser: argparse.ArgumentParser, *, required: bool, help: str | None = None
) -> None:
    """``--storage URL``: the study database."""
    parser.add_argument(
        "--storage",
        required=required,
        default=None,
        help=help or "SQLAlchemy URL of the study database",
    )


def add_study(parser: argparse.ArgumentParser, *, required: bool, help: str | None = None) -> None:
    """``--study NAME``: the Optuna study."""
    parser.add_argument("--study", required=required, default=None, help=help or "study name")


def add_data(parser: argparse.ArgumentParser) -> None:
    """``--data DIR``: where an on-disk data set lives (overrides the space's dataset.root)."""
    parser.add_argument(
        "--data", type=Path, default=None, help="data folder (overrides dataset.root)"
    )


def add_seed(parser: argparse.ArgumentParser, help: str | None = None) -> None:
    """``--seed N``."""
    parser.add_argument(
        "--seed", type=bounded_int(0, 2**32 - 1), default=0, action=Explicit, help=help
    )


def add_ray_address(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--ray-address ADDR``: join an existing Ray cluster instead of starting a local one."""
    parser.add_argument(
        "--ray-address",
        default=None,
        help="join an existing Ray cluster (auto, host:port or ray://host:port); default: the "
        "cluster RAY_ADDRESS names, else a private local instance (also: local)",
    )


def add_recipe(parser: argparse.ArgumentParser, *, epochs_from_space: bool = False) -> None:
    """The training recipe shared by ``supernet train`` and ``train``.

    Every flag defaults to None: the training settings' own default
    (``supernet.recipe.TrainSettings``, read when the command runs, so that building the parser
    loads no torch; :func:`given_values`). With ``epochs_from_space``, ``--epochs`` left out is
    the space's ``training.epochs``.
    """
    if epochs_from_space:
        parser.add_argument(
            "--epochs",
            type=positive_int,
            default=None,
            action=Explicit,
            help="default: the space's training.epochs (40 when the space has none)",
        )
    else:
        parser.add_argument("--epochs", type=positive_int, default=None, action=Explicit)
    parser.add_argument("--batch-size", type=positive_int, default=None, action=Explicit)
    parser.add_argument("--lr", type=positive_float, default=None, action=Explicit)
    add_device(parser)


#: The recipe settings a ``--resume`` continues as stored: given explicitly, each must match.
RESUMED = ("epochs", "batch_size", "lr", "seed", "sampling")


class Explicit(argparse.Action):
    """Store the flag's value and remember that it was given (``args.explicit``), so that a
    resume can tell a setting the user asked for from a default."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        setattr(namespace, self.dest, values)
        namespace.explicit = {*getattr(namespace, "explicit", ()), self.dest}


def add_resume(parser: argparse.ArgumentParser, *, what: str, flags: str) -> None:
    """``--resume``: continue ``what`` with its stored settings (other ``flags`` are refused)."""
    parser.add_argument(
        "--resume",
        action="store_true",
        help=f"continue {what} with its stored settings (a different {flags} is refused)",
    )


def given_settings(args: argparse.Namespace, names: tuple[str, ...] = RESUMED) -> dict[str, Any]:
    """The recipe settings the user set explicitly on the command line (see :class:`Explicit`)."""
    explicit: set[str] = getattr(args, "explicit", set())
    given = {name: getattr(args, name) for name in names if name in explicit}
    if getattr(args, "amp", False):
        given["amp"] = True
    return given


def given_values(args: argparse.Namespace, names: tuple[str, ...]) -> dict[str, Any]:
    """The flags of ``names`` that hold a value (None: left to the settings' own default).

    Examples:
        >>> given_values(argparse.Namespace(epochs=None, lr=0.1), ("epochs", "lr"))
        {'lr': 0.1}
    """
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}
