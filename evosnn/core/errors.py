"""The exceptions evosnn raises for bad input. The CLI prints them as one line, never a traceback."""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "EvosnnError",
    "Interrupted",
    "SettingError",
    "SpaceError",
    "StorageError",
]


class EvosnnError(Exception):
    """Base class: a problem with the user's input or environment, explained in one line."""


class Interrupted(EvosnnError):
    """Ctrl-C stopped the work after saving what can be resumed; the CLI exits 130 (as a shell
    does for SIGINT), whichever command it was."""


class SpaceError(EvosnnError):
    """A search-space file is missing, malformed or inconsistent."""


class ConfigError(EvosnnError):
    """A subnet configuration (or exported architecture file) is invalid or outside its space."""


class SettingError(EvosnnError, ValueError):
    """A setting (a command-line flag or a Python API argument) is of the wrong type or out of its
    range; the same rules judge both (:mod:`evosnn.core.validation`)."""


class DataError(EvosnnError):
    """A data set folder is missing or does not have the expected layout."""


class CheckpointError(EvosnnError):
    """A checkpoint is missing, corrupt, unsafe, or was trained for another search space."""


class StorageError(EvosnnError):
    """The study storage (SQL database) cannot be reached or used."""
