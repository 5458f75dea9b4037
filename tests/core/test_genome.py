from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evosnn.core.config import SubnetConfig
from evosnn.core.errors import ConfigError
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import load_space
from tests.conftest import SPACES

CODECS = {p.stem: GenomeCodec(load_space(p)) for p in sorted(SPACES.glob("*.yaml"))}


def genomes(codec: GenomeCodec) -> st.SearchStrategy[tuple[int, ...]]:
    return st.tuples(*(st.integers(0, g.upper) for g in codec.genes))


@pytest.mark.parametrize("name", sorted(CODECS))
def test_length_and_bounds(name: str) -> None:
    codec = CODECS[name]
    lower, upper = codec.bounds()
    ch = codec.space.choices  # mixer, neuron and level are genes only where searched
    per_block = 4 + sum(len(getattr(ch, g)) > 1 for g in ("mixer", "neuron", "level"))
    assert len(codec) == 3 + per_block * codec.space.max_depth
    assert lower == [0] * len(codec)
    assert upper[codec.index("depth")] == len(codec.space.choices.depth) - 1
    assert upper[codec.index("threshold_0")] == len(codec.space.choices.threshold) - 1


@settings(max_examples=200, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(CODECS)))
def test_decode_encode_round_trip(data: st.DataObject, name: str) -> None:
    codec = CODECS[name]
    genome = data.draw(genomes(codec))
    config = codec.decode(genome)
    assert codec.encode(config) == codec.canonical(genome)
    assert codec.decode(codec.encode(config)) == config
    assert SubnetConfig.from_yaml(config.to_yaml()) == config
    config.check_in(codec.space)


@settings(max_examples=200, deadline=None)
@given(data=st.data(), name=st.sampled_from(sorted(CODECS)))
def test_canonical_ignores_exactly_the_inert_genes(data: st.DataObject, name: str) -> None:
    codec = CODECS[name]
    genome = data.draw(genomes(codec))
    depth = codec.depth_of(genome)
    position = data.draw(st.integers(0, len(codec) - 1))
    gene = codec.genes[position]
    new_value = data.draw(st.integers(0, gene.upper))
    mutated = (*genome[:position], new_value, *genome[position + 1 :])
    same_subnet = codec.decode(mutated) == codec.decode(genome)
    assert (codec.canonical(mutated) == codec.canonical(genome)) == same_subnet
    if gene.block is not None and gene.block >= depth and position != 0:
        assert same_subnet  # an inert gene never changes the subnet
    assert codec.canonical(codec.canonical(genome)) == codec.canonical(genome)


def test_sampling_is_seeded_and_covers_choices() -> None:
    codec = CODECS["digits-tiny"]
    a = [codec.sample(random.Random(7)) for _ in range(3)]
    b = [codec.sample(random.Random(7)) for _ in range(3)]
    assert a == b
    rng = random.Random(0)
    seen = {codec.sample(rng)[codec.index("embed_dim")] for _ in range(200)}
    assert seen == set(range(len(codec.space.choices.embed_dim)))


def test_invalid_genomes_are_named() -> None:
    codec = CODECS["digits-tiny"]
    with pytest.raises(ConfigError, match="genes"):
        codec.decode((0, 0))
    bad = list(codec.sample(random.Random(0)))
    bad[codec.index("tau_1")] = 99
    with pytest.raises(ConfigError, match="tau_1"):
        codec.decode(bad)


def test_encode_rejects_config_outside_space() -> None:
    codec = CODECS["digits-tiny"]
    config = SubnetConfig.largest(codec.space)
    outside = SubnetConfig(**{**config.__dict__, "threshold": (0.7, 0.7)})
    with pytest.raises(ConfigError, match=r"threshold\[0\]: 0.7 is not a choice"):
        codec.encode(outside)
