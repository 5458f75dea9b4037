"""The stem cache changes no result: every shipped space, cache on against off, compared with ==.

Each space gets a supernet of seeded random weights and a few seeded random images of its
geometry (CIFAR's 32x32, the event spaces' frame banks), so nothing is downloaded or trained.
"""

from __future__ import annotations

import io
import random
from dataclasses import fields, replace
from pathlib import Path

import pytest
import torch

from evosnn.core.config import SubnetConfig
from evosnn.core.evaluation import EvalSettings, Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.geometry import Geometry
from evosnn.core.space import SearchSpace, load_space
from evosnn.data.events import EVENT_STATS
from evosnn.evaluate.evaluator import Evaluator
from evosnn.evaluate.models import build_supernet
from evosnn.evaluate.stem_cache import Packed, StemCache, pack, unpack
from supernet.batches import Split, Splits
from supernet.checkpoint import FORMAT
from tests.conftest import SPACES

SHIPPED = sorted(SPACES.glob("*.yaml"))
#: Under a second each at 16x16, about 4 s at CIFAR's 32x32, 10-15 s at the event 128x128.
CASES = [
    pytest.param(p, id=p.stem, marks=pytest.mark.slow if "dvs" in p.stem else ()) for p in SHIPPED
]
SETTINGS = EvalSettings(recal_batches=2, recal_batch_size=2, batch_size=2)


def random_checkpoint(space: SearchSpace, seed: int = 0) -> bytes:
    """A checkpoint of ``space``'s supernet with seeded random weights."""
    torch.manual_seed(seed)
    net = build_supernet(space)
    buffer = io.BytesIO()
    state = {"format": FORMAT, "space": space.to_dict(), "model": net.state_dict(), "epoch": 0}
    torch.save({**state, "step": 0}, buffer)
    return buffer.getvalue()


def random_splits(space: SearchSpace, train: int = 6, val: int = 3, test: int = 2) -> Splits:
    """Seeded random uint8 images (frame banks for event spaces) of ``space``'s geometry."""
    g = Geometry.of(space)
    shape: tuple[int, ...] = (g.in_channels, g.image_size, g.image_size)
    mean, std = (0.5,) * g.in_channels, (0.25,) * g.in_channels
    high = 256
    if g.frame_bank:  # event counts, handed to the network as they are
        shape, (mean, std), high = (sum(g.frame_bank), *shape), EVENT_STATS, 3
    gen = torch.Generator().manual_seed(1)

    def split(n: int) -> Split:
        images = torch.randint(0, high, (n, *shape), dtype=torch.uint8, generator=gen)
        return Split(images, torch.arange(n) % g.num_classes)

    return Splits(split(train), split(val), split(test), mean, std)


def evaluator(space: SearchSpace, checkpoint: bytes, splits: Splits, **kw: int) -> Evaluator:
    settings = replace(SETTINGS, **kw)  # type: ignore[arg-type]  # int fields only
    return Evaluator(checkpoint, space, settings=settings, splits=splits, energy_target_mj=1.0)


def results(ev: Evaluator, plan: list[tuple[SubnetConfig, str]]) -> list[Evaluation]:
    """``plan``'s evaluations with their timings zeroed (everything else must match exactly)."""
    out = []
    for config, split in plan:
        r = ev.evaluate(config, split="test" if split == "test" else "val")
        assert r.ok, r.error
        out.append(replace(r, wall_time_s=0.0, recal_s=0.0, forward_s=0.0, bookkeeping_s=0.0))
    return out


def configs(space: SearchSpace, seed: int) -> list[SubnetConfig]:
    """Random subnets: ``a`` at the largest width and T; ``b`` with a's stem but its other genes
    drawn anew; ``c`` at a's width but another T, ``d`` at a's T but another width (so a key
    missing either gene is caught; both stems are smaller than a's, so storing them evicts)."""
    codec, rng = GenomeCodec(space), random.Random(seed)
    width, steps = max(space.choices.embed_dim), max(space.choices.time_steps)
    a, b = (replace(codec.sample_config(rng), embed_dim=width, time_steps=steps) for _ in "ab")
    c = replace(codec.sample_config(rng), embed_dim=width, time_steps=min(space.choices.time_steps))
    d = replace(codec.sample_config(rng), embed_dim=min(space.choices.embed_dim), time_steps=steps)
    return [a, b, c, d]


@pytest.mark.parametrize("path", CASES)
def test_the_cache_changes_no_result_in_any_shipped_space(path: Path) -> None:
    space = load_space(path)
    small = "tiny" in path.stem  # the large geometries get fewer images, one recalibration batch
    sizes = {} if small else {"recal_batches": 1, "batch_size": 1}
    checkpoint = random_checkpoint(space)
    splits = random_splits(space) if small else random_splits(space, train=2, val=2, test=1)
    a, b, c, d = configs(space, seed=len(path.stem))
    plan = [(a, "val"), (a, "val"), (b, "val"), (c, "val"), (d, "val"), (a, "val"), (a, "test")]
    once = list(dict.fromkeys(plan))
    uncached = evaluator(space, checkpoint, splits, stem_cache_mib=0, **sizes)
    off = dict(zip(once, results(uncached, once), strict=True))

    on = evaluator(space, checkpoint, splits, **sizes)
    assert on.stem is not None
    first = results(on, plan[:1])
    on.stem.cache.max_bytes = on.stem.cache.nbytes  # room for a's stem alone: c's and d's evict
    cached = first + results(on, plan[1:])

    # a twice (a hit), b (a's stem), c and d (other stems), a after the eviction, a on test
    assert cached == [off[item] for item in plan]
    assert any(name.startswith("sps.") for name in cached[0].firing_rates)
    cache = on.stem.cache
    assert cache.hits >= 4 and cache.evictions >= 1 and cache.too_large == 0


def test_a_weight_changed_in_place_is_a_miss_not_a_stale_hit() -> None:
    space = load_space(SPACES / "digits-tiny.yaml")
    checkpoint, splits = random_checkpoint(space), random_splits(space)
    a = SubnetConfig.largest(space)
    for kw in ({"recal_batches": 2}, {"recal_batches": 0}):
        on = evaluator(space, checkpoint, splits, **kw)
        off = evaluator(space, checkpoint, splits, stem_cache_mib=0, **kw)
        assert results(on, [(a, "val")]) == results(off, [(a, "val")])
        for ev in (on, off):
            with torch.no_grad():
                ev.supernet.get_parameter("sps.1.conv.weight").mul_(-1.0)
                # read only without recalibration
                ev.supernet.get_buffer("sps.2.bn.running_var").mul_(4.0)
        assert results(on, [(a, "val")]) == results(off, [(a, "val")])
        assert on.stem is not None and on.stem.cache.hits == 0


def test_standalone_networks_get_the_same_bn_statistics() -> None:
    space = load_space(SPACES / "digits-tiny.yaml")
    checkpoint, splits = random_checkpoint(space), random_splits(space)
    a = SubnetConfig.largest(space)
    on = evaluator(space, checkpoint, splits)
    off = evaluator(space, checkpoint, splits, stem_cache_mib=0)
    on.evaluate(a)  # the next one hits
    with_cache, without = on.standalone(a).state_dict(), off.standalone(a).state_dict()
    assert with_cache.keys() == without.keys()
    assert all(torch.equal(with_cache[k], without[k]) for k in without)


def test_packing_keeps_values_dtype_shape_and_strides() -> None:
    x = torch.randint(0, 3, (3, 2, 5, 7)).float().flatten(-2).transpose(-1, -2)
    packed = pack(x)
    assert isinstance(packed, Packed) and packed.nbytes == -(-x.numel() // 4)
    y = unpack(packed)
    assert torch.equal(x, y) and x.stride() == y.stride() and y.dtype == x.dtype
    odd = torch.tensor([0.0, 0.5, 4.0])  # not 0..3: kept as it is
    assert torch.equal(unpack(pack(odd)), odd)


class _Sized:
    def __init__(self, nbytes: int) -> None:
        self.nbytes = nbytes


def test_the_least_recently_used_entry_goes_first() -> None:
    cache = StemCache(max_bytes=10)
    cache.put("a", _Sized(4))
    cache.put("b", _Sized(4))
    assert cache.get("a") is not None  # b is now the least recently used
    cache.put("c", _Sized(4))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    cache.put("huge", _Sized(11))  # larger than the bound: not stored, nothing evicted
    assert (cache.nbytes, len(cache), cache.evictions, cache.too_large) == (8, 2, 1, 1)
    assert (cache.hits, cache.misses) == (3, 1)


def test_the_cache_bound_is_not_recorded_so_changing_it_never_stops_a_resume() -> None:
    recorded = EvalSettings().recorded()
    assert EvalSettings(stem_cache_mib=0).recorded() == recorded
    assert set(recorded) == {f.name for f in fields(EvalSettings)} - {"device", "stem_cache_mib"}
