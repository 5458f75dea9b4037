"""The search spaces shipped with evosnn, found by name (``--space cifar10-spikformer``).

The repository's top-level ``search_spaces/`` folder is installed as package data of the wheel
(``evosnn/search_spaces/``); in a source checkout it is read where it is. A name is a file stem of
that folder; anything with a path separator or a ``.yaml``/``.yml`` suffix is a file path.

Example:
    >>> "digits-tiny" in shipped_spaces()
    True
    >>> resolve_space("digits-tiny").name
    'digits-tiny.yaml'
"""

from __future__ import annotations

from pathlib import Path

from evosnn.core.errors import SpaceError

__all__ = ["is_space_name", "resolve_space", "shipped_dir", "shipped_spaces"]

_PACKAGE = Path(__file__).resolve().parents[1]  # evosnn/


def shipped_dir() -> Path | None:
    """The folder of shipped spaces: inside the installed package, else the source checkout's."""
    for candidate in (_PACKAGE / "search_spaces", _PACKAGE.parent / "search_spaces"):
        if candidate.is_dir():
            return candidate
    return None


def shipped_spaces() -> dict[str, Path]:
    """Every shipped space: name -> file, sorted by name."""
    folder = shipped_dir()
    if folder is None:
        return {}
    return {p.stem: p for p in sorted(folder.glob("*.yaml"))}


def is_space_name(text: str | Path) -> bool:
    """Whether ``text`` is a bare name (no folder, no YAML suffix) rather than a file path."""
    text = str(text)
    return "/" not in text and "\\" not in text and not text.endswith((".yaml", ".yml"))


def resolve_space(name_or_path: str | Path) -> Path:
    """The file of a space given by shipped name or by path (a path is returned as it is).

    Raises:
        SpaceError: a bare name that is neither a file here nor a shipped space (the shipped
            names are listed).
    """
    path = Path(name_or_path)
    if not is_space_name(name_or_path) or path.is_file():
        return path
    spaces = shipped_spaces()
    if str(name_or_path) in spaces:
        return spaces[str(name_or_path)]
    known = ", ".join(spaces) or "none found"
    raise SpaceError(
        f"{name_or_path}: no such search-space file or shipped space (shipped: {known})"
    )
