"""Export chosen architectures of a study as files a training job reads."""

from __future__ import annotations

from pathlib import Path

from evosnn.api.search import SearchResult
from evosnn.core.errors import SettingError
from evosnn.core.validation import PICK, Whole, check_value

__all__ = ["export"]


def export(
    study: SearchResult | tuple[str, str],
    out: str | Path,
    *,
    pick: str = "pareto",
    trial: int | None = None,
    supernet: str | Path | None = None,
    data_root: str | Path | None = None,
    device: str = "cpu",
) -> list[Path]:
    """Write the chosen architectures of ``study`` (a :class:`SearchResult`, or ``(storage URL,
    study name)``) to ``out``; return the files written.

    ``pick`` is ``pareto`` (the whole front), ``knee``, ``best-faeb`` or ``trial`` (with
    ``trial``). With ``supernet`` (the study's checkpoint), each ``trial-NNNNN.yaml`` gets its
    inherited weights ``trial-NNNNN.pt`` beside it, BN recalibrated as the search evaluated it
    (on ``device``: ``cpu``, ``cuda`` or ``cuda:N``).

    Raises:
        SettingError: ``study`` is not a result or a (storage, name) pair, an unknown ``pick``,
            ``pick="trial"`` without ``trial`` (or ``trial`` with another pick), or a device
            this machine does not have.
        OutputError: ``out`` is a file, lies under one, or cannot be written; it holds the
            export of another study or of another pick (a re-export of the same pick is
            allowed); or another process is writing it (``FolderInUse``, naming the process).
        DataError: ``data_root`` is missing, or given for a space whose data set reads none.
        StorageError: an unreachable database or a study that is not there.
        CheckpointError: ``supernet`` is not the checkpoint the study searched.
    """
    from evosnn.core.outputs import check_out_dir
    from evosnn.evaluate.device import check_device
    from evosnn.reporting.export import export_study

    storage, name = _storage_and_name(study)
    check_value("pick", pick, PICK)
    if pick == "trial" and trial is None:
        raise SettingError("pick 'trial' needs a trial number (--pick trial needs --trial N)")
    if trial is not None and pick != "trial":
        raise SettingError(
            f"trial {trial} is only for the pick 'trial', not {pick!r} "
            f"(--trial {trial} needs --pick trial)"
        )
    check_value("trial", trial, Whole(0, 10**9, optional=True))
    device = check_device(device)
    check_out_dir(Path(out))
    return export_study(
        storage,
        name,
        out,
        pick=pick,
        trial=trial,
        supernet=supernet,
        data_root=data_root,
        device=device,
    )


def _storage_and_name(study: object) -> tuple[str, str]:
    """The storage URL and study name of a :class:`SearchResult` or a ``(storage, name)`` pair.

    Raises:
        SettingError: anything else (e.g. a bare study name: its storage is needed too).
    """
    if isinstance(study, SearchResult):
        return study.storage, study.study_name
    if (
        isinstance(study, tuple)
        and len(study) == 2
        and all(isinstance(part, str) and part.strip() for part in study)
    ):
        return study[0], study[1]
    raise SettingError(
        f"study={study!r}: give a SearchResult or a (storage URL, study name) pair, e.g. "
        "('sqlite:///runs/demo/evosnn.db', 'demo')"
    )
