"""The shape of one command: its name, its flags, and the one library call it makes."""

from __future__ import annotations

import argparse
from abc import ABC, abstractmethod

__all__ = ["Command"]


class Command(ABC):
    """One ``evosnn`` command (Optuna's per-command CLI classes are the model).

    Subclasses set :attr:`name` (``"search"``, or ``"supernet train"`` inside a group) and
    :attr:`help`, declare their flags in :meth:`add_arguments` and do their work in :meth:`run`.
    """

    name: str = ""
    help: str = ""

    @abstractmethod
    def add_arguments(self, parser: argparse.ArgumentParser) -> None:
        """Declare the command's flags on ``parser``."""

    @abstractmethod
    def run(self, args: argparse.Namespace) -> int:
        """Run the command; return the exit status (errors are raised as EvosnnError)."""
