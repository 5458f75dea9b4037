"""Argument types and the flags several commands share, declared once."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from evosnn.core.errors import EvosnnError
from evosnn.core.validation import (
    COUNT,
    CPUS,
    DEFAULT_DEVICE,
    DEFAULT_GPUS,
    DEFAULT_SEED,
    GPUS,
    LEARNING_RATE,
    MAX_COUNT,
    NON_NEGATIVE,
    SEED,
    Real,
    Rule,
    Whole,
    rule_of,
)

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
    "flag",
    "given_settings",
    "given_values",
    "non_negative_int",
    "out_file",
    "positive_float",
    "positive_int",
    "resources",
    "setting_flag",
]


def flag(rule: Rule) -> Callable[[str], Any]:
    """An argparse type that parses and checks a flag by ``rule``, the same rule the settings
    records (and so the Python API) check their fields by (:mod:`evosnn.core.validation`)."""

    def parse(text: str) -> Any:
        try:
            return rule.parse(text)
        except ValueError as exc:
            raise argparse.ArgumentTypeError(str(exc)) from None

    parse.__name__ = type(rule).__name__.lower()
    return parse


def setting_flag(record: type, name: str) -> Callable[[str], Any]:
    """The argparse type of the settings field ``record.name`` (its own rule)."""
    return flag(rule_of(record, name))


def bounded_int(low: int, high: int = MAX_COUNT) -> Callable[[str], int]:
    """An argparse type: an integer in ``[low, high]``."""
    return flag(Whole(low, high))


def bounded_float(low: float, high: float, *, low_open: bool = False) -> Callable[[str], float]:
    """An argparse type: a finite number in ``[low, high]`` (``(low, high]`` with ``low_open``)."""
    return flag(Real(low, high, low_open=low_open))


#: An integer of at least 1 (counts, epochs, sizes).
positive_int = flag(COUNT)
#: An integer of at least 0 (worker counts where 0 means "in this process").
non_negative_int = flag(NON_NEGATIVE)
#: A finite number above 0 (learning rates, timeouts).
positive_float = flag(LEARNING_RATE)
#: Ray CPUs or GPUs per worker: 0 (GPUs only) up to 1024, never nan or inf.
resources = flag(GPUS)
#: Ray CPUs per worker or trial: above 0.
cpus = flag(CPUS)


def device(text: str) -> str:
    """An argparse type: a device that exists here (see :mod:`evosnn.evaluate.device`)."""
    from evosnn.evaluate.device import check_device

    try:
        return check_device(text)
    except EvosnnError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def out_file(text: str) -> Path:
    """An argparse type: a file this process can write (checked when the flags are read, so a
    folder, a path under a file or an unwritable folder is refused before any work)."""
    from evosnn.core.outputs import check_out_file

    try:
        return check_out_file(text, flag=None)
    except EvosnnError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_device(parser: argparse.ArgumentParser | argparse._ArgumentGroup) -> None:
    """``--device cpu|cuda|cuda:N``: where this process runs its networks."""
    parser.add_argument(
        "--device",
        type=device,
        default=DEFAULT_DEVICE,
        help=f"cpu, cuda or cuda:N (default: {DEFAULT_DEVICE})",
    )


def add_gpus_per_worker(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup, help: str
) -> None:
    """``--gpus-per-worker G``: the GPUs Ray gives each worker (how Ray workers take GPUs)."""
    parser.add_argument("--gpus-per-worker", type=resources, default=DEFAULT_GPUS, help=help)


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
    parser.add_argument("--seed", type=flag(SEED), default=DEFAULT_SEED, action=Explicit, help=help)


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
