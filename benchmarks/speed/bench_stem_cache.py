"""Evaluations per minute per thread with and without the stem cache, side by side in one run.

For digits-tiny (its bundled data) and the cifar10-spikformer geometry (synthetic 32x32 images),
each with a supernet of seeded random weights unless ``--supernet`` names a trained digits-tiny one
(timings do not depend on the weights), one thread. For every random subnet, in turn:

* ``off``: the evaluator without the cache (``stem_cache_mib=0``), as before the cache;
* ``miss``: the evaluator with the cache, emptied first: the subnet's stem is computed and stored
  (what the first subnet of each embedding width and T pays);
* ``hit``: the same subnet again: its stem comes from the cache (what every later subnet of that
  width and T pays, i.e. nearly every evaluation of a long search: a space has few stems,
  digits-tiny 9, cifar10-spikformer 20).

Every ``miss`` and ``hit`` result is checked equal to ``off`` (timings aside). The figures are
evaluations per minute from each evaluation's own wall time; ratios are within this run.

Run: .venv/bin/python -m benchmarks.speed.bench_stem_cache --json benchmarks/results/stem_cache_speed.json
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import table, write_json
from evosnn.core.evaluation import EvalSettings, Evaluation
from evosnn.core.genome import GenomeCodec
from evosnn.core.space import SearchSpace, load_space
from evosnn.data.loading import load_splits
from evosnn.evaluate.evaluator import Evaluator
from evosnn.evaluate.models import build_supernet
from supernet.batches import Splits
from supernet.checkpoint import FORMAT

SPACES = Path(__file__).resolve().parents[2] / "search_spaces"


def random_checkpoint(space: SearchSpace, seed: int = 0) -> bytes:
    """A checkpoint of ``space``'s supernet with seeded random weights."""
    torch.manual_seed(seed)
    state = {"format": FORMAT, "space": space.to_dict(), "step": 0, "epoch": 0}
    buffer = io.BytesIO()
    torch.save({**state, "model": build_supernet(space).state_dict()}, buffer)
    return buffer.getvalue()


def untimed(r: Evaluation) -> Evaluation:
    """``r`` without its timings (everything else must match exactly)."""
    return replace(r, wall_time_s=0.0, recal_s=0.0, forward_s=0.0, bookkeeping_s=0.0)


def compare(
    space: SearchSpace,
    checkpoint: bytes | Path,
    splits: Splits,
    settings: EvalSettings,
    configs: int,
    seed: int,
) -> dict[str, Any]:
    """Seconds per evaluation off / miss / hit over ``configs`` random subnets, interleaved."""
    off = Evaluator(checkpoint, space, settings=replace(settings, stem_cache_mib=0), splits=splits)
    target = off.energy_target_mj  # measured once, outside the timings
    on = Evaluator(checkpoint, space, settings=settings, splits=splits, energy_target_mj=target)
    assert on.stem is not None
    codec, rng = GenomeCodec(space), random.Random(seed)
    seconds: dict[str, list[float]] = {"off": [], "miss": [], "hit": []}
    stem_mib = []
    for _ in range(configs):
        config = codec.sample_config(rng)
        reference = off.evaluate(config)
        on.stem.cache.clear()
        miss = on.evaluate(config)
        stem_mib.append(on.stem.cache.nbytes / 2**20)
        hit = on.evaluate(config)
        for name, r in (("off", reference), ("miss", miss), ("hit", hit)):
            assert untimed(r) == untimed(reference), f"{name} differs from off"
            seconds[name].append(r.wall_time_s)
    rates = {k: 60 * len(v) / sum(v) for k, v in seconds.items()}
    return {
        "val_images": len(on.splits.val),
        "configs": configs,
        "seconds": seconds,
        "evals_per_min": rates,
        "hit_speedup": rates["hit"] / rates["off"],
        "miss_speedup": rates["miss"] / rates["off"],
        "stem_mib_mean": statistics.mean(stem_mib),
        "stem_mib_max": max(stem_mib),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--supernet", type=Path, help="a trained digits-tiny supernet.pt")
    parser.add_argument("--configs", type=int, default=20, help="digits-tiny random subnets")
    parser.add_argument("--cifar-configs", type=int, default=3)
    parser.add_argument("--cifar-val-images", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--json", type=Path, help="write the figures with their provenance")
    args = parser.parse_args()
    torch.set_num_threads(1)
    digits = load_space(SPACES / "digits-tiny.yaml")
    cifar = load_space(SPACES / "cifar10-spikformer.yaml")
    # synthetic CIFAR-shaped images; the validation split is a tenth of the training part
    size = 20 * args.cifar_val_images
    cifar_data = cifar.dataset.model_copy(update={"name": "synthetic", "synthetic_size": size})
    cases = {
        "digits-tiny": (
            digits,
            args.supernet if args.supernet is not None else random_checkpoint(digits),
            load_splits(digits.dataset),
            EvalSettings(),
            args.configs,
        ),
        "cifar10-spikformer": (
            cifar,
            random_checkpoint(cifar),
            load_splits(cifar_data),
            EvalSettings(
                recal_batches=2, recal_batch_size=64, max_val_images=args.cifar_val_images
            ),
            args.cifar_configs,
        ),
    }
    results = {}
    rows: list[tuple[str, ...]] = []
    for name, (space, checkpoint, splits, settings, n) in cases.items():
        r = compare(space, checkpoint, splits, settings, n, args.seed)
        results[name] = {**r, "settings": settings.recorded()}
        rate = r["evals_per_min"]
        rows.append(
            (
                name,
                str(r["val_images"]),
                str(n),
                f"{rate['off']:.1f}",
                f"{rate['miss']:.1f} ({r['miss_speedup']:.2f}x)",
                f"{rate['hit']:.1f} ({r['hit_speedup']:.2f}x)",
                f"{r['stem_mib_mean']:.2f} / {r['stem_mib_max']:.2f}",
            )
        )
    print("Evaluations per minute, 1 CPU thread: without the stem cache, a miss, a hit")
    header = ("space", "val images", "subnets", "off", "miss", "hit", "MiB per stem mean/max")
    print(table(rows, header))
    if args.json is not None:
        write_json(args.json, {"weights": "trained" if args.supernet else "random", **results})


if __name__ == "__main__":
    main()
