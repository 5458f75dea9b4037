"""``search_study``: open the study, check the supernet, take the lock, start the executor, run the loop.

``settings.workers`` 0 evaluates in this process (an :class:`~evosnn.core.executor.InProcessExecutor`,
without starting Ray); otherwise Ray is connected and a :class:`workers.pool.RayExecutor` started.
Either way the workers run :mod:`evosnn.evaluate.worker_task`, handed over as a picklable factory.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import evosnn
from evosnn.core.errors import CheckpointError, EvosnnError, StorageError
from evosnn.core.executor import Executor, InProcessExecutor
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.engines import Engine, make_engine
from evosnn.search.history import GenerationRecorder
from evosnn.search.holdout import rescore_front
from evosnn.search.loop import LoopParts, SearchLoop, StallGuard
from evosnn.search.settings import SearchSettings, SearchSummary
from evosnn.search.summary import summarize
from evosnn.storage import study_schema as schema
from evosnn.storage.ledger import Ledger

if TYPE_CHECKING:
    from evosnn.evaluate.worker_task import EvaluationTask, EvaluationTaskFactory

__all__ = ["search_study"]

log = logging.getLogger(__name__)

R = TypeVar("R")


class _OnOneWorker(Protocol):
    """Runs ``fn(task)`` on one worker's task and returns its answer."""

    def __call__(self, fn: Callable[[EvaluationTask], R]) -> R: ...


def search_study(
    space: SearchSpace,
    supernet: str | Path,
    storage_url: str,
    study_name: str,
    settings: SearchSettings,
    *,
    progress: bool = True,
) -> SearchSummary:
    """Run (or resume) a search; returns a summary with the Pareto front.

    Raises:
        CheckpointError, StorageError, EvosnnError: bad supernet, unreachable storage, a study that
            another driver is searching or that was searched with other settings, Ray problems.
    """
    from evosnn.evaluate.worker_task import EvaluationTaskFactory, energy_target, reference

    started = time.monotonic()
    _check_settings(space, settings)
    codec = GenomeCodec(space)
    engine = make_engine(
        settings.engine,
        codec,
        population=settings.population,
        seed=settings.seed,
        **settings.engine_options,
    )
    blob = _read_checkpoint(Path(supernet), space)  # before the study database is opened
    ledger = Ledger.open(storage_url, study_name, codec)
    ledger.acquire()  # before any write: a second driver must change nothing
    executor: Executor | None = None
    try:
        _record_settings(ledger, space, settings, engine, blob)
        study = ledger.record()
        target = study.energy_target_mj or space.objectives.energy_target_mj
        factory = EvaluationTaskFactory(space, settings.eval, settings.data_root, target)
        executor, on_one_worker = _start_executor(settings, blob, factory)
        if target is None:
            target = on_one_worker(energy_target)
        if study.energy_target_mj is None:
            ledger.set_attr(schema.ENERGY_TARGET_MJ, target)
            ledger.set_attr(schema.HV_REFERENCE, {"accuracy": 0.0, "energy_mj": 2.0 * target})
        if study.reference_largest is None:
            ledger.set_attr(schema.REFERENCE_LARGEST, on_one_worker(reference).to_dict())
        ref_energy = ledger.record().hv_reference_energy_mj
        loop = SearchLoop(
            engine,
            ledger,
            executor,
            budget=settings.budget,
            window=settings.window,
            parts=LoopParts(
                stall=StallGuard(50 * settings.population),
                observer=GenerationRecorder(ledger, ref_energy, engine),
            ),
            progress=progress,
        )
        stats = loop.run()
        rescore_front(ledger, on_one_worker)
        return summarize(
            ledger,
            ref_energy=ref_energy,
            evaluated_now=stats.evaluated,
            answered_from_ledger=stats.reused,
            elapsed_s=time.monotonic() - started,
            workers_replaced=executor.replaced,
        )
    except BaseException:
        with contextlib.suppress(Exception):  # the database may be the reason we are failing
            ledger.fail_interrupted()
        raise
    finally:
        if executor is not None:
            executor.shutdown()
        try:
            ledger.release()
        except Exception:
            log.warning("could not release the study's driver lock; it expires in a minute")


def _check_settings(space: SearchSpace, settings: SearchSettings) -> None:
    """Refuse what is wrong with the settings before the study, or Ray, is touched."""
    from evosnn.data.loading import check_data_root

    if settings.workers < 0:
        raise EvosnnError(f"workers must be 0 (in this process) or more, got {settings.workers}")
    check_data_root(space.dataset, settings.data_root, space=space.name)  # workers load the data


def _read_checkpoint(path: Path, space: SearchSpace) -> bytes:
    """The checkpoint's bytes, once checked to be a finished supernet trained for ``space``."""
    from supernet.checkpoint import checkpoint_file, load_checkpoint

    hint = " (train one with `evosnn supernet train`)"
    blob = checkpoint_file(path, "supernet checkpoint", hint).read_bytes()
    data = load_checkpoint(blob, name=str(path))
    if data.get("status") != "complete":
        # refused, not warned: the study pins the checkpoint's sha256, so a search started on an
        # unfinished supernet could not be resumed once its training goes on, and its accuracies
        # would come from weights in mid-schedule
        planned = data.get("train_config", {}).get("epochs", "?")
        from evosnn.core.shipped import shipped_spaces

        # a shipped space by its name; another by what the user knows of it (its file is theirs)
        named = (
            space.name if space.name in shipped_spaces() else f"<the file of space {space.name}>"
        )
        raise CheckpointError(
            f"{path}: its training did not finish (status {data.get('status')!r} after "
            f"{data['epoch']} of {planned} epochs); finish it first with `evosnn supernet train "
            f"--space {named} --out {path.parent} --resume`"
        )
    trained = SearchSpace.from_dict(data["space"], source=f"{path} (stored space)")
    why = space.incompatibility(trained)
    if why is not None:
        raise CheckpointError(f"{path}: trained for another search space: {why}")
    return blob


def _record_settings(
    ledger: Ledger, space: SearchSpace, settings: SearchSettings, engine: Engine, blob: bytes
) -> None:
    """Record the search's settings in a new study; refuse an existing one searched otherwise
    (for the space, naming the first field that differs)."""
    stored_space = ledger.record().space
    if stored_space is not None:
        where = first_difference(stored_space, space.to_dict(), "space")
        if where is not None:
            raise StorageError(
                f"study {ledger.study.study_name!r} was searched with another search space "
                f"({where}); re-run with the same space or choose another --study"
            )
    ledger.check_or_record(
        {
            schema.SPACE: space.to_dict(),
            schema.SUPERNET_SHA256: hashlib.sha256(blob).hexdigest(),
            schema.ENGINE: settings.engine,
            schema.ENGINE_SETTINGS: engine.settings(),
            schema.SEED: settings.seed,
            schema.POPULATION: settings.population,
            schema.EVALUATION: settings.eval.recorded(),
        }
    )
    stored_workers = ledger.record().workers
    if stored_workers is not None and stored_workers != settings.workers:
        log.warning(
            "this study was searched with %s workers, now %d: completed genomes are reused, but the "
            "engine's replay (and so the rest of the search) differs from an uninterrupted run",
            stored_workers,
            settings.workers,
        )
    ledger.set_attr(schema.WORKERS, settings.workers)
    ledger.set_attr(schema.BUDGET, settings.budget)
    ledger.set_attr(schema.EVOSNN_VERSION, evosnn.__version__)


def first_difference(stored: Any, now: Any, path: str) -> str | None:
    """Where two recorded settings first differ (``space.choices.depth: [2, 3] here, [2, 4]
    now``), or None when they are equal."""
    if isinstance(stored, dict) and isinstance(now, dict):
        for key in sorted(set(stored) | set(now), key=str):
            if key not in stored or key not in now:
                side = "now only" if key not in stored else "recorded only"
                return f"{path}.{key}: {side}"
            found = first_difference(stored[key], now[key], f"{path}.{key}")
            if found is not None:
                return found
        return None
    if stored != now:
        return f"{path}: {_short(stored)} recorded, {_short(now)} now"
    return None


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _start_executor(
    settings: SearchSettings, blob: bytes, factory: EvaluationTaskFactory
) -> tuple[Executor, _OnOneWorker]:
    """In this process (``workers`` 0) or on Ray; also a way to ask one worker's task."""
    if settings.workers == 0:
        log.info("evaluating in this process (0 workers, no Ray); loading the supernet")
        task = factory(blob)

        def on_task(fn: Callable[[EvaluationTask], R]) -> R:
            return fn(task)

        return InProcessExecutor(task.evaluate, max_attempts=settings.max_attempts), on_task
    from workers.cluster import connect
    from workers.pool import RayExecutor

    resources = connect(settings.ray_address, num_cpus=None)
    gpus = resources.get("GPU", 0.0)
    if settings.gpus_per_worker > gpus:
        raise EvosnnError(
            f"--gpus-per-worker {settings.gpus_per_worker:g}: the Ray cluster has {gpus:g} GPU(s)"
        )
    log.info("starting %d evaluator worker(s); each loads the supernet", settings.workers)
    pool = RayExecutor(
        blob,
        factory,
        workers=settings.workers,
        cpus_per_worker=settings.cpus_per_worker,
        gpus_per_worker=settings.gpus_per_worker,
        timeout_s=settings.eval_timeout_s,
        max_attempts=settings.max_attempts,
    )
    return pool, pool.call
