"""Run (or resume) a search and get its Pareto front and its Optuna study back."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from evosnn.api.spaces import as_space
from evosnn.core.space import SearchSpace
from evosnn.core.validation import check_text
from evosnn.search.settings import ParetoRow, SearchSettings, SearchSummary

if TYPE_CHECKING:
    import optuna

__all__ = ["SearchResult", "run_search"]


@dataclass(frozen=True)
class SearchResult:
    """A finished search: its summary (front, counts, hypervolume) and where its study lives."""

    summary: SearchSummary
    storage: str
    study_name: str

    @property
    def front(self) -> list[ParetoRow]:
        """The feasible Pareto front (accuracies 0-1 on validation and test, energy in mJ/image)."""
        return self.summary.pareto

    @property
    def hypervolume_share(self) -> float | None:
        """The front's hypervolume as a share (0-1) of the reference box (see SearchSummary)."""
        return self.summary.hypervolume_share

    @property
    def study(self) -> optuna.Study:
        """The Optuna study: one trial per evaluated genome (``trials_dataframe()`` and so on)."""
        import optuna

        return optuna.load_study(study_name=self.study_name, storage=self.storage)


def run_search(
    space: str | Path | SearchSpace,
    supernet: str | Path,
    *,
    storage: str | None = None,
    study: str | None = None,
    settings: SearchSettings | None = None,
    progress: bool = True,
    **fields: Any,
) -> SearchResult:
    """Search ``space`` over a trained ``supernet``; re-running the same call resumes it.

    ``storage`` defaults to ``sqlite:///`` + the supernet's folder + ``/evosnn.db`` and ``study`` to
    that folder's name. The search runs with ``settings`` (default :class:`SearchSettings`) with any
    of its fields replaced by keyword: ``engine``, ``population``, ``generations``, ``workers``
    (0: in this process, without Ray), ``seed``, ``ray_address``, ``gpus_per_worker``, ``eval``, ...
    A local Ray instance it started is stopped at the end.

    Raises:
        SettingError: a setting of the wrong type or out of its range (the rules of
            ``evosnn search``'s flags), an empty ``storage`` or ``study``, or a device this
            machine does not have.
        SpaceError: no such space, or a field at fault.
        DataError: the data set's folder is missing or malformed, or ``data_root`` is given for a
            space whose data set reads none.
        CheckpointError: the supernet is missing (or a folder), corrupt or of another space.
        StorageError: an unreachable database, or a study another driver is searching.
    """
    from evosnn.evaluate.device import check_device
    from evosnn.search import search_study

    check_text("storage", storage)
    check_text("study", study)
    settings = replace(settings or SearchSettings(), **fields)
    if not settings.workers:
        check_device(settings.eval.device)
    space = as_space(space)
    supernet = Path(supernet)
    run_dir = supernet.parent
    storage = storage or f"sqlite:///{run_dir / 'evosnn.db'}"
    study = study or run_dir.name or "evosnn"
    try:
        summary = search_study(space, supernet, storage, study, settings, progress=progress)
    finally:
        if settings.workers and not settings.ray_address:
            from workers.cluster import disconnect

            disconnect()
    return SearchResult(summary, storage, study)
