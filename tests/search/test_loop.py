"""The search loop's rules, on the real loop, real engines and a real SQLite ledger, with an
in-process executor and a fake evaluator of known values (no torch, no Ray)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from optuna.trial import TrialState

from evosnn.core.errors import EvosnnError
from evosnn.core.executor import Executor, InProcessExecutor
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace
from evosnn.engines import FAILED_ENERGY, Outcome, make_engine
from evosnn.search import FailureHandler, LoopParts, LoopStats, SearchLoop, StallGuard
from evosnn.storage.ledger import Ledger, LedgerRecord
from tests.conftest import tiny_dict
from tests.search.fakes import (
    DriverKilled,
    FakeEvaluator,
    RecordingEngine,
    ScriptedEngine,
    ShuffledExecutor,
)

NewLedger = Callable[[GenomeCodec], Ledger]

SMALL: Genome = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)  # depth 1: block 1's genes are inert
SMALL_ALIAS: Genome = (0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1)  # the same subnet
MEDIUM: Genome = (0, 0, 1, 1, 1, 1, 1, 0, 0, 0, 0)
OTHER: Genome = (1, 0, 0, 0, 1, 0, 1, 0, 1, 0, 1)
LARGEST: Genome = (1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1)
WIDE: Genome = (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)
THIRD: Genome = (0, 0, 1, 0, 1, 1, 0, 0, 0, 0, 0)
FOURTH: Genome = (0, 0, 0, 1, 0, 1, 0, 0, 0, 0, 0)


def run(
    ledger: Ledger, engine: Any, executor: Executor, *, budget: int, window: int = 4, **kw: Any
) -> LoopStats:
    return SearchLoop(engine, ledger, executor, budget=budget, window=window, **kw).run()


def reopen(ledger: Ledger) -> Ledger:
    return Ledger.open(ledger.storage.url, ledger.study.study_name, ledger.codec)


def by_state(ledger: Ledger, state: TrialState) -> list[LedgerRecord]:
    return [r for r in ledger.records() if r.state == state]


def complete_values(ledger: Ledger) -> dict[Genome, tuple[float, float] | None]:
    return {r.genome: r.values for r in by_state(ledger, TrialState.COMPLETE)}


def constrained_codec() -> GenomeCodec:
    data = tiny_dict()
    data["objectives"] = {"max_params_m": 0.0075}  # depth 1, width 16 fit; LARGEST, WIDE, OTHER not
    return GenomeCodec(SearchSpace.from_dict(data))


# ---------------------------------------------------------------------- in-order telling
@pytest.mark.parametrize("engine_name", ["pymoo", "deap", "optuna", "surrogate"])
def test_the_engine_sees_the_same_asks_and_tells_whatever_order_results_arrive(
    codec: GenomeCodec, new_ledger: NewLedger, engine_name: str
) -> None:
    def search(executor: Executor) -> tuple[list[Any], list[Any]]:
        engine = RecordingEngine(make_engine(engine_name, codec, population=2, seed=7))
        ledger = new_ledger(codec)
        stats = run(ledger, engine, executor, budget=6)
        assert stats.completed == stats.evaluated == 6
        trials = [(r.genome, r.state, r.values) for r in ledger.records()]
        return engine.events, trials

    events, trials = search(InProcessExecutor(FakeEvaluator(codec)))
    assert [kind for kind, _, _ in events].count("tell") >= 6
    for order in (None, 1):  # reversed, then shuffled and held back
        shuffled = ShuffledExecutor(FakeEvaluator(codec), seed=order)
        assert search(shuffled) == (events, trials)
        assert shuffled.returned != shuffled.submitted  # the results did arrive out of order
        assert sorted(map(repr, shuffled.returned)) == sorted(map(repr, shuffled.submitted))


def test_ask_k_follows_tell_k_minus_window(codec: GenomeCodec, new_ledger: NewLedger) -> None:
    engine = RecordingEngine(make_engine("random", codec, population=4, seed=0))
    run(new_ledger(codec), engine, ShuffledExecutor(FakeEvaluator(codec), seed=3), budget=8)
    kinds = [kind for kind, _, _ in engine.events]
    asks = [i for i, kind in enumerate(kinds) if kind == "ask"]
    tells = [i for i, kind in enumerate(kinds) if kind == "tell"]
    assert asks[:4] == [0, 1, 2, 3]  # the window fills first
    for k in range(4, len(asks)):  # then ask #k right after tell #(k - window)
        assert asks[k] == tells[k - 4] + 1


# ---------------------------------------------------------------------- every genome once
def test_every_genome_is_evaluated_once(codec: GenomeCodec, new_ledger: NewLedger) -> None:
    # SMALL again while in flight, its alias (same subnet), MEDIUM again once told
    engine = ScriptedEngine([SMALL, MEDIUM, SMALL, SMALL_ALIAS, MEDIUM, OTHER])
    evaluate = FakeEvaluator(codec)
    ledger = new_ledger(codec)
    stats = run(ledger, engine, InProcessExecutor(evaluate), budget=3)
    assert [codec.canonical(g) for g in evaluate.calls] == [SMALL, MEDIUM, codec.canonical(OTHER)]
    told = dict(enumerate(outcome for _, outcome in engine.told))
    assert [g for g, _ in engine.told] == [SMALL, MEDIUM, SMALL, SMALL_ALIAS, MEDIUM, OTHER]
    assert told[2] == told[3] == told[0] and told[4] == told[1]
    assert told[0] == Outcome(*evaluate.values(SMALL))
    assert stats == LoopStats(completed=3, evaluated=3, reused=1, told=6)
    assert len(ledger.records()) == 3  # one trial per subnet


def test_genomes_in_the_ledger_are_answered_from_it(
    codec: GenomeCodec, new_ledger: NewLedger
) -> None:
    ledger = new_ledger(codec)
    run(ledger, ScriptedEngine([SMALL, MEDIUM]), InProcessExecutor(FakeEvaluator(codec)), budget=2)
    engine = ScriptedEngine([SMALL_ALIAS, MEDIUM, OTHER])
    evaluate = FakeEvaluator(codec)
    stats = run(reopen(ledger), engine, InProcessExecutor(evaluate), budget=3)
    assert evaluate.calls == [OTHER]
    assert stats.reused == 2 and stats.evaluated == 1 and stats.completed == 3
    assert engine.told[0][1] == Outcome(*evaluate.values(SMALL))


# ---------------------------------------------------------------------- resume is replay
@pytest.mark.parametrize("engine_name", ["pymoo", "deap", "surrogate"])
def test_a_killed_search_rerun_is_an_uninterrupted_one(
    codec: GenomeCodec, new_ledger: NewLedger, engine_name: str
) -> None:
    def engine() -> RecordingEngine:
        return RecordingEngine(make_engine(engine_name, codec, population=2, seed=1))

    whole = engine()
    uninterrupted = new_ledger(codec)
    run(uninterrupted, whole, InProcessExecutor(FakeEvaluator(codec)), budget=8)

    ledger = new_ledger(codec)
    with pytest.raises(DriverKilled):  # the driver dies during its 6th evaluation
        run(ledger, engine(), InProcessExecutor(FakeEvaluator(codec, stop_after=5)), budget=8)
    done_before = set(complete_values(ledger))
    left_running = by_state(ledger, TrialState.RUNNING)
    assert len(done_before) >= 4 and left_running  # what was in flight is lost

    replayed, rerun = engine(), FakeEvaluator(codec)
    stats = run(reopen(ledger), replayed, InProcessExecutor(rerun), budget=8)
    assert replayed.events == whole.events  # the engine was rebuilt exactly, then went on alike
    assert complete_values(ledger) == complete_values(uninterrupted)  # the same study
    assert not done_before & {codec.canonical(g) for g in rerun.calls}  # nothing evaluated twice
    assert len(rerun.calls) == stats.evaluated == 8 - len(done_before)
    assert stats.reused == len(done_before) and stats.completed == 8
    interrupted = by_state(ledger, TrialState.FAIL)
    assert [r.genome for r in interrupted] == [r.genome for r in left_running]
    assert all(r.user_attrs["failure"] == "interrupted" for r in interrupted)
    assert {r.genome for r in interrupted} <= set(rerun.calls)  # evaluated again


def test_trials_left_running_by_a_dead_driver_fail_and_are_evaluated_again(
    codec: GenomeCodec, new_ledger: NewLedger
) -> None:
    ledger = new_ledger(codec)
    ledger.start(MEDIUM, {"generation": 0, "engine": "scripted"})  # its driver died
    evaluate = FakeEvaluator(codec)
    stats = run(ledger, ScriptedEngine([SMALL, MEDIUM]), InProcessExecutor(evaluate), budget=2)
    assert evaluate.calls == [SMALL, MEDIUM] and stats.completed == 2
    (failed,) = by_state(ledger, TrialState.FAIL)
    assert failed.genome == MEDIUM and failed.user_attrs["failure"] == "interrupted"
    assert set(complete_values(ledger)) == {SMALL, MEDIUM}


# ---------------------------------------------------------------------- budget
def test_the_budget_counts_completed_evaluations_only(new_ledger: NewLedger) -> None:
    codec = constrained_codec()
    evaluate = FakeEvaluator(codec, fail=lambda key: key == MEDIUM)
    engine = ScriptedEngine([LARGEST, SMALL, MEDIUM, WIDE, THIRD, OTHER, FOURTH, LARGEST])
    ledger = new_ledger(codec)
    stats = run(ledger, engine, InProcessExecutor(evaluate), budget=3)
    states = [r.state for r in ledger.records()]
    assert states.count(TrialState.COMPLETE) == stats.completed == ledger.count_complete() == 3
    assert states.count(TrialState.PRUNED) == 3 and states.count(TrialState.FAIL) == 1
    assert evaluate.calls == [SMALL, MEDIUM, THIRD, FOURTH]  # PRUNED: never evaluated
    assert engine.asked == 7  # and nothing asked once the budget was covered
    resumed = run(
        reopen(ledger),
        ScriptedEngine([LARGEST, SMALL]),
        InProcessExecutor(FakeEvaluator(codec)),
        budget=3,
    )
    assert resumed == LoopStats(completed=3, evaluated=0, reused=0, told=0)  # nothing left to do


# ---------------------------------------------------------------------- failures
def test_a_failed_evaluation_is_a_fail_trial_told_as_failed(
    codec: GenomeCodec, new_ledger: NewLedger
) -> None:
    evaluate = FakeEvaluator(
        codec, fail=lambda key: key == MEDIUM, raise_for=lambda key: key == OTHER
    )
    engine = ScriptedEngine([SMALL, MEDIUM, OTHER, LARGEST])
    ledger = new_ledger(codec)
    stats = run(ledger, engine, InProcessExecutor(evaluate, max_attempts=3), budget=2)
    assert stats.completed == 2 and evaluate.calls.count(OTHER) == 3  # every attempt
    told = dict(engine.told)
    assert told[MEDIUM] == told[OTHER] == Outcome.failed()
    assert told[SMALL] == Outcome(*evaluate.values(SMALL))
    records = {r.genome: r for r in ledger.records()}
    assert records[MEDIUM].state == records[OTHER].state == TrialState.FAIL
    assert records[MEDIUM].user_attrs["failure"] == "evaluation"
    assert "NaN" in records[MEDIUM].user_attrs["error"]
    assert records[OTHER].user_attrs["attempts"] == 3
    assert records[OTHER].user_attrs["error"].count("boom") == 3
    assert "worker" not in records[OTHER].user_attrs  # no worker produced an evaluation
    assert records[SMALL].user_attrs["worker"] == 0 and records[SMALL].user_attrs["feasible"]

    again = ScriptedEngine([SMALL, MEDIUM, OTHER, LARGEST, WIDE])  # resume: failures are final
    rerun = FakeEvaluator(codec)
    run(reopen(ledger), again, InProcessExecutor(rerun), budget=3)
    assert rerun.calls == [WIDE]
    assert dict(again.told)[MEDIUM] == dict(again.told)[OTHER] == Outcome.failed()


def test_infeasible_genomes_are_pruned_and_never_submitted(new_ledger: NewLedger) -> None:
    codec = constrained_codec()
    evaluate = FakeEvaluator(codec)
    executor = ShuffledExecutor(evaluate, seed=None)
    engine = ScriptedEngine([LARGEST, SMALL, WIDE, LARGEST, MEDIUM])
    ledger = new_ledger(codec)
    stats = run(ledger, engine, executor, budget=2)
    assert executor.submitted == [SMALL, MEDIUM] and evaluate.calls == [SMALL, MEDIUM]
    pruned = by_state(ledger, TrialState.PRUNED)
    assert [r.genome for r in pruned] == [LARGEST, WIDE]  # LARGEST once: its rejection is known
    assert all("max_params_m" in r.user_attrs["infeasible"] for r in pruned)
    told = [outcome for _, outcome in engine.told]
    assert told[0] == told[3] and not told[0].feasible and told[0].energy_mj == FAILED_ENERGY
    assert told[0].violation == pytest.approx(pruned[0].user_attrs["violation"])
    assert stats.completed == 2 and stats.reused == 1


def test_energy_above_the_limit_is_told_as_a_violation(new_ledger: NewLedger) -> None:
    data = tiny_dict()
    data["objectives"] = {"max_energy_mj": 1e-2}
    codec = GenomeCodec(SearchSpace.from_dict(data))
    evaluate = FakeEvaluator(codec)
    assert evaluate.values(SMALL)[1] < 1e-2 < evaluate.values(LARGEST)[1]
    engine = ScriptedEngine([SMALL, LARGEST])
    ledger = new_ledger(codec)
    run(ledger, engine, InProcessExecutor(evaluate), budget=2)
    told = dict(engine.told)
    assert told[SMALL].feasible and not told[LARGEST].feasible
    assert told[LARGEST].violation == pytest.approx(evaluate.values(LARGEST)[1] - 1e-2)
    records = {r.genome: r for r in ledger.records()}
    assert records[LARGEST].user_attrs["feasible"] is False
    assert FailureHandler.for_space(codec.space).replay(records[LARGEST]) == told[LARGEST]


def test_an_engine_that_keeps_proposing_known_genomes_is_stopped(
    codec: GenomeCodec, new_ledger: NewLedger
) -> None:
    engine = ScriptedEngine([SMALL], after=SMALL_ALIAS)
    evaluate = FakeEvaluator(codec)
    with pytest.raises(EvosnnError, match="keeps proposing genomes that are already evaluated"):
        run(
            new_ledger(codec),
            engine,
            InProcessExecutor(evaluate),
            budget=4,
            parts=LoopParts(stall=StallGuard(20)),
        )
    assert evaluate.calls == [SMALL]
    assert 20 < len(engine.told) < 30  # stopped at the limit, not later
