"""Argument types and the flags several commands share, declared once."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

__all__ = [
    "RESUMED",
    "Explicit",
    "add_data",
    "add_ray_address",
    "add_recipe",
    "add_resume",
    "add_seed",
    "add_storage",
    "add_study",
    "given_settings",
    "non_negative_int",
    "positive_float",
    "positive_int",
]


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def non_negative_int(text: str) -> int:
    """An argparse type: an integer of at least 0."""
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


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
    parser.add_argument("--seed", type=non_negative_int, default=0, action=Explicit, help=help)


def add_ray_address(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--ray-address ADDR``: join an existing Ray cluster instead of starting a local one."""
    parser.add_argument(
        "--ray-address",
        default=None,
        help="join an existing Ray cluster (auto, host:port or ray://host:port)",
    )


def add_recipe(parser: argparse.ArgumentParser, *, epochs_from_space: bool = False) -> None:
    """The training recipe shared by ``supernet train`` and ``train``.

    With ``epochs_from_space``, ``--epochs`` defaults to None: the space's ``training.epochs``.
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
        parser.add_argument("--epochs", type=positive_int, default=40, action=Explicit)
    parser.add_argument("--batch-size", type=positive_int, default=64, action=Explicit)
    parser.add_argument("--lr", type=positive_float, default=3e-3, action=Explicit)
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")


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
