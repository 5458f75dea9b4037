"""Export chosen architectures of a study as files a training job reads."""

from __future__ import annotations

from pathlib import Path

from evosnn.api.search import SearchResult
from evosnn.core.errors import EvosnnError

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
        EvosnnError: ``pick="trial"`` without ``trial``.
        StorageError: an unreachable database or a study that is not there.
        CheckpointError: ``supernet`` is not the checkpoint the study searched.
    """
    from evosnn.core.outputs import check_out_dir
    from evosnn.reporting.export import export_study

    if pick == "trial" and trial is None:
        raise EvosnnError("--pick trial needs --trial N")
    if trial is not None and pick != "trial":
        raise EvosnnError(f"--trial {trial} is for --pick trial (not --pick {pick})")
    check_out_dir(Path(out))
    storage, name = (study.storage, study.study_name) if isinstance(study, SearchResult) else study
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
