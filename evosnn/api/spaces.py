"""Search spaces by shipped name or by file."""

from __future__ import annotations

from pathlib import Path

from evosnn.core.shipped import shipped_spaces
from evosnn.core.space import SearchSpace
from evosnn.core.space import load_space as _load_space

__all__ = ["list_spaces", "load_space"]


def list_spaces() -> list[str]:
    """The names of the search spaces shipped with evosnn.

    Examples:
        >>> "digits-tiny" in list_spaces() and "cifar10-spikformer" in list_spaces()
        True
    """
    return list(shipped_spaces())


def load_space(space: str | Path | SearchSpace) -> SearchSpace:
    """A validated search space: a shipped name (``"digits-tiny"``), a YAML file, or a space.

    Examples:
        >>> load_space("digits-tiny").dataset.name
        'digits'

    Raises:
        SpaceError: no such name or file, or a field at fault (named with its file).
    """
    if isinstance(space, SearchSpace):
        return space
    return _load_space(space)
