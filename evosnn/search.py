"""The search driver: engine asks, Ray workers evaluate, the ledger records, the engine is told.

How a search stays correct and reproducible:

* **In-order telling.** Results are told to the engine in the order its genomes were asked, with at
  most ``window = 2 x workers`` genomes asked but not yet told, and ask #k is made right after tell
  #(k - window). The engine therefore sees the same sequence of asks and tells for a fixed seed and
  worker count, however the workers' timings fall (a slow evaluation can hold back up to ``window``
  later ones; with evaluations of similar cost the workers stay busy).
* **Every genome once.** A genome whose canonical form is already in the ledger (or in flight) is
  never evaluated again; its recorded outcome is told instead.
* **Resume is replay.** Re-running the same command re-creates the engine from its seed and replays
  it; every genome already in the ledger is answered from the ledger, so the engine's population is
  rebuilt exactly without any evaluation, and the search continues where it stopped. Trials left
  RUNNING by a dead driver are marked FAIL first and their genomes evaluated again when reached.
* **Budget.** The search stops when the study holds ``population x generations`` completed
  evaluations; infeasible (PRUNED) and failed (FAIL) genomes do not count.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections import deque
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from optuna.trial import TrialState
from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

import evosnn
from evosnn.constraints import param_violation
from evosnn.engines import FAILED_ENERGY, Outcome, make_engine
from evosnn.errors import CheckpointError, EvosnnError
from evosnn.evaluation import EvalSettings, Evaluation
from evosnn.figures import Point, SearchView, store_figures
from evosnn.fitness import f_aeb
from evosnn.front import hypervolume, pareto_mask
from evosnn.genome import Genome, GenomeCodec
from evosnn.ledger import Ledger, LedgerRecord
from evosnn.space import SearchSpace

__all__ = ["ParetoRow", "SearchSettings", "SearchSummary", "run_search"]

log = logging.getLogger(__name__)

HEARTBEAT_S = 10.0


@dataclass(frozen=True)
class SearchSettings:
    """How a search runs (see ``evosnn search --help``)."""

    engine: str = "pymoo"
    population: int = 16
    generations: int = 6
    workers: int = 2
    seed: int = 0
    ray_address: str | None = None
    cpus_per_worker: float = 1.0
    gpus_per_worker: float = 0.0
    eval_timeout_s: float = 600.0
    max_attempts: int = 3
    data_root: str | None = None
    eval: EvalSettings = field(default_factory=EvalSettings)
    engine_options: dict[str, Any] = field(default_factory=dict)

    @property
    def budget(self) -> int:
        return self.population * self.generations


@dataclass(frozen=True)
class ParetoRow:
    """One point of the final Pareto front."""

    trial: int
    accuracy: float
    energy_mj: float
    f_aeb: float
    params: int
    summary: str


@dataclass(frozen=True)
class SearchSummary:
    study: str
    storage: str
    completed: int
    evaluated_now: int
    answered_from_ledger: int
    hypervolume: float
    pareto: list[ParetoRow]
    elapsed_s: float
    workers_replaced: int


@dataclass
class _Asked:
    genome: Genome
    key: Genome
    generation: int
    outcome: Outcome | None = None


def _energy_violation(space: SearchSpace, energy_mj: float) -> float:
    limit = space.objectives.max_energy_mj
    return max(0.0, energy_mj - limit) if limit is not None else 0.0


def _cached_outcome(space: SearchSpace, record: LedgerRecord) -> Outcome | None:
    """What the engine was (or would have been) told for a recorded genome; None: re-evaluate."""
    if record.state == TrialState.COMPLETE and record.values is not None:
        acc, energy = record.values
        return Outcome(acc, energy, _energy_violation(space, energy))
    if record.state == TrialState.PRUNED:
        return Outcome(0.0, FAILED_ENERGY, float(record.user_attrs.get("violation", FAILED_ENERGY)))
    if record.state == TrialState.FAIL and record.user_attrs.get("failure") == "evaluation":
        return Outcome.failed()
    return None


def _describe(codec: GenomeCodec, genome: Genome) -> str:
    c = codec.decode(genome)
    return (
        f"depth {c.depth}, D {c.embed_dim}, T {c.time_steps}, mlp {list(c.mlp_ratio)}, "
        f"heads {list(c.num_heads)}, thr {list(c.threshold)}, tau {list(c.tau)}"
    )


def run_search(
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
    from supernet.checkpoint import checkpoint_space, file_sha256, load_checkpoint
    from workers.cluster import connect
    from workers.pool import EvaluatorPool

    started = time.monotonic()
    codec = GenomeCodec(space)
    engine = make_engine(
        settings.engine,
        codec,
        population=settings.population,
        seed=settings.seed,
        **settings.engine_options,
    )
    ledger = Ledger.open(storage_url, study_name, codec)
    path = Path(supernet)
    if not path.is_file():
        raise CheckpointError(
            f"{path}: supernet checkpoint not found (train one with `evosnn supernet train`)"
        )
    blob = path.read_bytes()
    trained = checkpoint_space(load_checkpoint(blob), path)
    why = space.incompatibility(trained)
    if why is not None:
        raise CheckpointError(f"{path}: trained for another search space: {why}")
    ledger.acquire()  # before any write: a second driver must change nothing
    pool: Any = None
    try:
        ledger.check_or_record(
            {
                "space": space.to_dict(),
                "supernet_sha256": file_sha256(blob),
                "engine": settings.engine,
                "engine_settings": engine.settings(),
                "seed": settings.seed,
                "population": settings.population,
                "evaluation": {k: v for k, v in asdict(settings.eval).items() if k != "device"},
            }
        )
        stored_workers = ledger.attrs().get("workers")
        if stored_workers is not None and stored_workers != settings.workers:
            log.warning(
                "this study was searched with %s workers, now %d: completed genomes are reused, but the "
                "engine's replay (and so the rest of the search) differs from an uninterrupted run",
                stored_workers,
                settings.workers,
            )
        ledger.set_attr("workers", settings.workers)
        ledger.set_attr("budget", settings.budget)
        ledger.set_attr("evosnn_version", evosnn.__version__)
        ledger.fail_interrupted()
        cache: dict[Genome, Outcome] = {}
        records = ledger.records()
        for record in records:
            outcome = _cached_outcome(space, record)
            if outcome is not None:
                cache[codec.canonical(record.genome)] = outcome
        completed = ledger.count_complete()
        if completed:
            log.info(
                "resuming study %r: %d completed evaluations of %d",
                study_name,
                completed,
                settings.budget,
            )

        connect(settings.ray_address, num_cpus=None)
        eval_settings = asdict(settings.eval)
        attrs = ledger.attrs()
        target = attrs.get("energy_target_mj") or space.objectives.energy_target_mj
        log.info("starting %d evaluator worker(s); each loads the supernet", settings.workers)
        pool = EvaluatorPool(
            blob,
            space.to_dict(),
            eval_settings,
            workers=settings.workers,
            data_root=settings.data_root,
            energy_target_mj=target,
            cpus_per_worker=settings.cpus_per_worker,
            gpus_per_worker=settings.gpus_per_worker,
            timeout_s=settings.eval_timeout_s,
            max_attempts=settings.max_attempts,
        )
        if target is None:
            target = pool.energy_target()
        if "energy_target_mj" not in attrs:
            ledger.set_attr("energy_target_mj", target)
            ledger.set_attr("hv_reference", {"accuracy": 0.0, "energy_mj": 2.0 * target})
        if "reference_largest" not in attrs:
            ledger.set_attr("reference_largest", pool.reference())
        ref_energy = float(ledger.attrs()["hv_reference"]["energy_mj"])
        view = SearchView.from_records(records, ref_energy)  # grows as results arrive

        asked: deque[_Asked] = deque()
        waiting: dict[Genome, list[_Asked]] = {}
        trial_of: dict[Genome, tuple[int, int]] = {}  # key -> (trial id, trial number)
        state = {
            "told": 0,
            "running": 0,
            "completed": completed,
            "new": 0,
            "reused": 0,
            "idle_asks": 0,
            "logged_at": completed if completed else -1,
        }
        window = 2 * settings.workers
        last_generation = engine.generation
        bar = tqdm(
            total=settings.budget,
            initial=min(completed, settings.budget),
            disable=not progress,
            unit="eval",
            desc="search",
        )

        def log_generation(generation: int) -> None:
            if state["completed"] == state["logged_at"]:
                return  # a generation replayed from the ledger: nothing new to log or draw
            state["logged_at"] = state["completed"]
            front = view.front()
            hv = hypervolume([(p.accuracy, p.energy_mj) for p in front], ref_energy)
            best = max((p.f_aeb for p in view.points), default=float("nan"))
            ledger.set_attr(
                "hypervolume_history",
                (ledger.attrs().get("hypervolume_history") or []) + [[state["completed"], hv]],
            )
            store_figures(ledger, view)
            log.info(
                "generation %d: %d evaluated, %d Pareto points, hypervolume %.6g, best F_AEB %.4f",
                generation,
                state["completed"],
                len(front),
                hv,
                best,
            )

        def fill() -> None:
            while len(asked) < window and state["completed"] + state["running"] < settings.budget:
                genome = engine.ask()
                if genome is None:
                    return
                key = codec.canonical(genome)
                entry = _Asked(genome, key, engine.generation)
                asked.append(entry)
                if key in cache:
                    entry.outcome = cache[key]
                    state["reused"] += 1
                    state["idle_asks"] += 1
                elif key in waiting:
                    waiting[key].append(entry)
                else:
                    config = codec.decode(genome)
                    violation, reason = param_violation(config, space)
                    meta = {"generation": entry.generation, "engine": settings.engine}
                    if violation > 0:
                        ledger.record_infeasible(genome, str(reason), violation, meta)
                        entry.outcome = cache[key] = Outcome(0.0, FAILED_ENERGY, violation)
                        state["idle_asks"] += 1
                    else:
                        trial_id = ledger.start(genome, meta)
                        trial_of[key] = (trial_id, ledger.trial_number(trial_id))
                        waiting[key] = [entry]
                        pool.submit(key, list(genome))
                        state["running"] += 1
                        state["idle_asks"] = 0
                if state["idle_asks"] > 50 * settings.population:
                    raise EvosnnError(
                        "the engine keeps proposing genomes that are already evaluated or infeasible; "
                        "the space may be exhausted or the constraints too tight"
                    )

        def drain() -> None:
            # One tell, then refill the window, then the next tell: ask #k always follows tell
            # #(k - window), so the engine sees the same sequence however results arrive.
            nonlocal last_generation
            while asked and asked[0].outcome is not None:
                entry = asked.popleft()
                assert entry.outcome is not None
                engine.tell(entry.genome, entry.outcome)
                state["told"] += 1
                log.debug("told %d: generation %d", state["told"], entry.generation)
                if engine.generation != last_generation:
                    log_generation(last_generation)
                    last_generation = engine.generation
                fill()

        def finish(
            key: Genome, result: dict[str, Any] | None, error: str | None, attempts: int
        ) -> None:
            extra: dict[str, Any] = {"attempts": attempts}
            if result is not None:
                extra["worker"] = result.pop("worker", None)
                extra["worker_pid"] = result.pop("worker_pid", None)
                evaluation = Evaluation.from_dict(result)
            else:
                evaluation = Evaluation(status="failed", error=error)
            if evaluation.ok:
                violation = _energy_violation(space, evaluation.energy_mj)
                extra["violation"], extra["feasible"] = violation, violation == 0
                outcome = Outcome(evaluation.accuracy, evaluation.energy_mj, violation)
            else:
                outcome = Outcome.failed()
            trial_id, number = trial_of.pop(key)
            ledger.finish(trial_id, evaluation, extra)
            cache[key] = outcome
            entries = waiting.pop(key)
            for entry in entries:
                entry.outcome = outcome
            state["running"] -= 1
            if evaluation.ok:
                state["completed"] += 1
                state["new"] += 1
                bar.update(1)
                if outcome.feasible:
                    view.points.append(
                        Point(
                            evaluation.accuracy,
                            evaluation.energy_mj,
                            entries[0].generation,
                            evaluation.f_aeb,
                            number,
                        )
                    )
                bar.set_postfix(acc=f"{evaluation.accuracy:.3f}", mJ=f"{evaluation.energy_mj:.3g}")

        last_beat = time.monotonic()
        try:
            with logging_redirect_tqdm():
                while True:
                    moved = True
                    while moved:  # ask and tell until nothing changes
                        before = (len(asked), state["told"])
                        fill()
                        drain()
                        moved = (len(asked), state["told"]) != before
                    if state["running"] == 0:
                        break  # nothing in flight and nothing more to ask: the budget is reached
                    for done in pool.poll(timeout=0.5):
                        finish(done.key, done.result, done.error, done.attempts)
                    if time.monotonic() - last_beat > HEARTBEAT_S:
                        ledger.heartbeat()
                        last_beat = time.monotonic()
        finally:
            bar.close()
        log_generation(engine.generation)  # the last, partial generation (if anything is new)
        ledger.fail_interrupted()  # a trial created twice by a retried commit stays RUNNING
        summary = _summary(
            ledger, codec, space, ref_energy, study_name, state, started, pool.replaced
        )
        return summary
    except BaseException:
        with contextlib.suppress(Exception):  # the database may be the reason we are failing
            ledger.fail_interrupted()
        raise
    finally:
        if pool is not None:
            pool.shutdown()
        try:
            ledger.release()
        except Exception:
            log.warning("could not release the study's driver lock; it expires in a minute")


def _summary(
    ledger: Ledger,
    codec: GenomeCodec,
    space: SearchSpace,
    ref_energy: float,
    study_name: str,
    state: dict[str, int],
    started: float,
    replaced: int,
) -> SearchSummary:
    records = [
        r
        for r in ledger.records()
        if r.state == TrialState.COMPLETE
        and r.values is not None
        and r.user_attrs.get("feasible", True)
    ]
    points = [r.values for r in records if r.values is not None]
    mask = pareto_mask(points)
    front = sorted(
        (r for r, keep in zip(records, mask, strict=True) if keep), key=lambda r: r.values or (0, 0)
    )
    obj = space.objectives
    target = float(ledger.attrs().get("energy_target_mj") or 1.0)
    rows = []
    for r in front:
        acc, energy = r.values or (0.0, 0.0)
        fitness = float(
            r.user_attrs.get("f_aeb", f_aeb(acc, energy, target, alpha=obj.alpha, beta=obj.beta))
        )
        rows.append(
            ParetoRow(
                r.number,
                acc,
                energy,
                fitness,
                int(r.user_attrs.get("params", 0)),
                _describe(codec, r.genome),
            )
        )
    return SearchSummary(
        study=study_name,
        storage=ledger.url,
        completed=ledger.count_complete(),
        evaluated_now=state["new"],
        answered_from_ledger=state["reused"],
        hypervolume=hypervolume(points, ref_energy),
        pareto=rows,
        elapsed_s=time.monotonic() - started,
        workers_replaced=replaced,
    )
