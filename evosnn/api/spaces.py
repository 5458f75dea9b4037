"""Search spaces by shipped name or by file.

``load_space`` is :func:`evosnn.core.space.load_space` itself (also ``evosnn.load_space``): one
function reads a space, whichever way it is imported.
"""

from __future__ import annotations

from pathlib import Path

from evosnn.core.shipped import shipped_spaces
from evosnn.core.space import SearchSpace, load_space

__all__ = ["as_space", "list_spaces", "load_space"]


def list_spaces() -> list[str]:
    """The names of the search spaces shipped with evosnn.

    Examples:
        >>> "digits-tiny" in list_spaces() and "cifar10-spikformer" in list_spaces()
        True
    """
    return list(shipped_spaces())


def as_space(space: str | Path | SearchSpace) -> SearchSpace:
    """The space the API functions were given: a space as it is, else :func:`load_space` of it.

    Examples:
        >>> as_space("digits-tiny").dataset.name
        'digits'

    Raises:
        SpaceError: no such name or file, or a field at fault (named with its file).
    """
    if isinstance(space, SearchSpace):
        return space
    return load_space(space)
