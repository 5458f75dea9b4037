"""The index operators: mutation rate, inert genes, bounds, crossover, re-mutation of duplicates."""

from __future__ import annotations

import numpy as np
import pytest

from evosnn.core.genome import Genome, GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.engines.operators import GeneOperators
from tests.conftest import SPACES, tiny_dict

CODEC = GenomeCodec(load_space(SPACES / "digits-tiny.yaml"))
SHALLOW: Genome = (0, 1, 2, 0, 1, 3, 2, 1, 1, 0, 1)  # depth 1: genes 7.. are inert
DEEP: Genome = (1, 1, 2, 0, 1, 3, 2, 1, 0, 0, 1)  # depth 2: every gene active
DRAWS = 20_000


def changed(a: Genome, b: Genome) -> np.ndarray:
    return np.array(a) != np.array(b)


@pytest.mark.parametrize(("genome", "n_active"), [(SHALLOW, 7), (DEEP, 11)])
def test_mutation_changes_each_active_gene_at_the_intended_rate(
    genome: Genome, n_active: int
) -> None:
    ops, rng = GeneOperators(CODEC), np.random.default_rng(0)
    counts = np.zeros(len(genome))
    per_call = []
    for _ in range(DRAWS):
        diff = changed(genome, ops.mutate(genome, rng))
        counts += diff
        per_call.append(diff.sum())
    p = 1 / n_active  # each gene with 1/n, and one at random when none was drawn
    none = (1 - p) ** n_active
    assert min(per_call) >= 1  # every mutation changes the genome
    assert np.mean(per_call) == pytest.approx(n_active * p + none, abs=0.03)
    freq = counts[:n_active] / DRAWS
    assert freq == pytest.approx(np.full(n_active, p + none / n_active), abs=0.015)
    assert not counts[n_active:].any()  # inert genes never change
    assert ops.counts["mutated_genes"] == sum(per_call)


def test_inert_genes_are_kept_when_the_depth_grows() -> None:
    ops, rng = GeneOperators(CODEC), np.random.default_rng(1)
    grown = [c for c in (ops.mutate(SHALLOW, rng) for _ in range(2000)) if c[0] == 1]
    assert len(grown) > 100
    assert all(c[7:] == SHALLOW[7:] for c in grown)  # the newly active block keeps its genes


def test_operators_keep_indices_in_bounds() -> None:
    ops, rng = GeneOperators(CODEC), np.random.default_rng(2)
    population = [ops.sample(rng) for _ in range(20)]
    for _ in range(3000):
        i, j = rng.integers(len(population), size=2)
        a, b = ops.crossover(population[i], population[j], rng)
        population[i] = ops.mutate(a, rng)
        population[j] = ops.mutate(b, rng)
    for genome in population:
        assert CODEC.validate(genome) == genome


@pytest.mark.parametrize("step_prob", [0.0, 1.0])
def test_a_gene_steps_or_is_reset_to_another_choice(step_prob: float) -> None:
    ops = GeneOperators(CODEC, mutation_rate=1.0, step_prob=step_prob)
    rng = np.random.default_rng(3)
    threshold = CODEC.index("threshold_0")  # 4 choices; SHALLOW has index 3 (the last)
    values = [ops.mutate(SHALLOW, rng)[threshold] for _ in range(4000)]
    counts = np.bincount(values, minlength=4)
    assert counts[3] == 0  # always another choice
    if step_prob == 1.0:
        assert set(values) == {2}  # from the last index a step can only go down
    else:
        assert counts[:3] / 4000 == pytest.approx([1 / 3] * 3, abs=0.03)


def test_uniform_crossover_takes_each_gene_from_either_parent() -> None:
    ops, rng = GeneOperators(CODEC), np.random.default_rng(4)
    a, b = (0,) * 11, tuple(CODEC.bounds()[1])
    from_b = np.zeros(11)
    for _ in range(DRAWS // 4):
        x, y = ops.crossover(a, b, rng)
        assert all(v in (p, q) for v, p, q in zip(x, a, b, strict=True))
        assert all((u == p) == (v == q) for u, v, p, q in zip(x, y, a, b, strict=True))
        from_b += np.array(x) == np.array(b)
    assert from_b / (DRAWS // 4) == pytest.approx(np.full(11, 0.5), abs=0.03)


def test_duplicates_are_re_mutated_not_replaced_by_random_genomes() -> None:
    ops, rng = GeneOperators(CODEC), np.random.default_rng(5)
    seen = {CODEC.canonical(SHALLOW)}
    distances = []
    for _ in range(500):
        child = ops.novel(SHALLOW, rng, seen)
        assert CODEC.canonical(child) not in seen
        assert child[7:] == SHALLOW[7:]  # a mutation of the duplicate (inert genes kept)
        distances.append(changed(child, SHALLOW).sum())
    assert np.mean(distances) < 2  # near the duplicate; a random genome differs in ~8 genes
    assert ops.counts["re_mutations"] == 500 and ops.counts["fresh"] == 0
    new = ops.novel(DEEP, rng, seen)
    assert new == DEEP  # a new subnet passes unchanged


def test_a_fresh_genome_is_the_last_resort() -> None:
    codec = GenomeCodec(SearchSpace.from_dict(tiny_dict()))
    ops, rng = GeneOperators(codec, tries=3), np.random.default_rng(6)

    class AllShallow:
        """Every depth-1 subnet and every subnet with the first width was proposed."""

        def __contains__(self, key: object) -> bool:
            return isinstance(key, tuple) and (key[0] == 0 or key[1] == 0)

    seen = AllShallow()
    start: Genome = (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
    results = [ops.novel(start, rng, seen) for _ in range(200)]
    assert all(codec.canonical(g) not in seen for g in results)
    assert ops.counts["fresh"] > 0  # three re-mutations rarely change both genes at once
    assert ops.counts["re_mutations"] <= 3 * 200


def test_extremes_are_the_smallest_and_the_largest_subnet() -> None:
    small, large = GeneOperators(CODEC).extremes()
    assert CODEC.decode(small).depth == 1 and CODEC.decode(small).embed_dim == 32
    assert CODEC.decode(large).depth == 2 and CODEC.decode(large).embed_dim == 64
