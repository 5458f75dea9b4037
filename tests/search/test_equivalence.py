"""Genomes that differ from an evaluated one only in genes its evaluation showed inert are answered
from the ledger, recorded as their own trials marked ``equivalent_to``, and never evaluated."""

from __future__ import annotations

from collections.abc import Callable

from optuna.trial import TrialState

from evosnn.core.executor import InProcessExecutor
from evosnn.core.genome import Genome, GenomeCodec
from evosnn.search import SearchLoop
from evosnn.search.dedup import inert_genes
from evosnn.storage.ledger import Ledger
from tests.search.fakes import FakeEvaluator, ScriptedEngine

NewLedger = Callable[[GenomeCodec], Ledger]

QUIET: Genome = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)  # depth 1; its evaluation: v of block 0 silent
QUIET_HEADS: Genome = (0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0)  # only heads_0 differs: the same network
QUIET_OTHER: Genome = (0, 0, 0, 0, 1, 1, 0, 0, 0, 0, 0)  # threshold_0 differs too: evaluated
LIVELY: Genome = (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0)  # nothing silent
LIVELY_HEADS: Genome = (0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0)  # heads matter here: evaluated


def silent_when_narrow(key: Genome) -> list[str]:
    """Embed-dim index 0 and threshold index 0: block 0's v never fires."""
    return ["blocks.0.attn_v", "blocks.0.proj"] if key[1] == 0 and key[5] == 0 else []


def test_inert_genes_are_the_heads_of_blocks_with_a_silent_operand(codec: GenomeCodec) -> None:
    two_blocks = (1, *QUIET[1:])
    heads_0, heads_1 = codec.index("num_heads_0"), codec.index("num_heads_1")
    assert inert_genes(codec, QUIET, ["blocks.0.attn_qk"]) == (heads_0,)
    assert inert_genes(codec, two_blocks, ["blocks.1.attn_k", "blocks.0.fc2"]) == (heads_1,)
    assert inert_genes(codec, QUIET, ["blocks.0.proj", "blocks.0.fc2"]) == ()  # heads may matter
    assert inert_genes(codec, QUIET, ["blocks.1.attn_v"]) == ()  # beyond the depth


def test_a_genome_equivalent_to_an_evaluated_one_is_recorded_not_evaluated(
    codec: GenomeCodec, new_ledger: NewLedger
) -> None:
    engine = ScriptedEngine([QUIET, QUIET_HEADS, QUIET_OTHER, QUIET_HEADS, LIVELY, LIVELY_HEADS])
    evaluate = FakeEvaluator(codec, silent=silent_when_narrow)
    ledger = new_ledger(codec)
    stats = SearchLoop(engine, ledger, InProcessExecutor(evaluate), budget=4, window=1).run()
    assert evaluate.calls == [QUIET, QUIET_OTHER, LIVELY, LIVELY_HEADS]
    assert (stats.evaluated, stats.equivalent, stats.reused) == (4, 1, 1)
    assert stats.completed == 4  # the budget counts evaluated networks only
    records = {r.genome: r for r in ledger.records()}
    twin, source = records[QUIET_HEADS], records[QUIET]
    assert twin.state == TrialState.COMPLETE and twin.values == source.values
    assert twin.user_attrs["equivalent_to"] == source.number
    assert twin.user_attrs["silent_paths"] == ["blocks.0.attn_v", "blocks.0.proj"]
    assert "equivalent_to" not in source.user_attrs
    told = dict(engine.told)
    assert told[QUIET_HEADS] == told[QUIET]
    assert len(ledger.records()) == 5  # QUIET_HEADS asked twice: one trial


def test_resume_rebuilds_the_equivalences_from_the_ledger(
    codec: GenomeCodec, new_ledger: NewLedger
) -> None:
    ledger = new_ledger(codec)
    evaluate = FakeEvaluator(codec, silent=silent_when_narrow)
    SearchLoop(
        ScriptedEngine([QUIET]), ledger, InProcessExecutor(evaluate), budget=1, window=1
    ).run()
    again = Ledger.open(ledger.storage.url, ledger.study.study_name, codec)
    engine = ScriptedEngine([QUIET, QUIET_HEADS, LIVELY])
    evaluate = FakeEvaluator(codec, silent=silent_when_narrow)
    stats = SearchLoop(engine, again, InProcessExecutor(evaluate), budget=2, window=1).run()
    assert evaluate.calls == [LIVELY]
    assert (stats.completed, stats.evaluated, stats.equivalent, stats.reused) == (2, 1, 1, 1)
