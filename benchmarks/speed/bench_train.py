"""Data-parallel supernet training: throughput of 1 and 2 Ray Train workers, and what per-rank
BatchNorm does to the inherited accuracies.

``speed`` (side by side in one run, digits-tiny, global batch 64):
  * one process with torch at 2 threads (``supernet train`` without ``--workers`` on 2 cores)
    and at 1 thread;
  * Ray Train with 1 worker x 1 thread and 2 workers x 1 thread each (``--threads 1``, so two
    workers do not oversubscribe two cores).
Images per second count training steps only: a step across an epoch's end (where rank 0
validates and writes the checkpoint) is not timed, and neither is Ray's start-up (reported
apart, as the run's wall time). The communication share is the time rank 0 spends in the
gradient all-reduce, waiting for the other rank included, over its timed training time.

``bn`` (the accuracy effect of per-rank BatchNorm): two workers normalise over 32 images each
where one process normalises over 64. Since one process with 2 micro-batches trains exactly the
weights of 2 workers (tests/integration/test_parallel_train.py), it trains both variants in one process for
each seed, evaluates the same random subnets with both supernets as the search does (BN
recalibrated per subnet, validation and test splits), and reports the paired differences and the
rank agreement (Kendall tau) of the two supernets.

Run:
    .venv/bin/python -m benchmarks.speed.bench_train speed [--epochs 4]
    .venv/bin/python -m benchmarks.speed.bench_train speed --space search_spaces/cifar10-spikformer.yaml \
        --synthetic 400 --epochs 2 --batch-sizes 32 --repeats 1
    .venv/bin/python -m benchmarks.speed.bench_train bn [--epochs 40] [--seeds 3] [--subnets 40]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from scipy.stats import kendalltau

from benchmarks.common import table, write_json
from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.resources import RayResources
from evosnn.core.space import SearchSpace, load_space
from evosnn.data.loading import load_splits
from evosnn.evaluate.evaluator import Evaluator
from evosnn.training.supernet_training import train_supernet_for, train_supernet_parallel
from supernet.fit import steps_per_epoch
from supernet.recipe import TrainSettings

SPACE = Path(__file__).resolve().parents[2] / "search_spaces" / "digits-tiny.yaml"


def one_process(space: SearchSpace, settings: TrainSettings, threads: int) -> dict[str, float]:
    """Timed training steps of one process at ``threads`` torch threads."""
    torch.set_num_threads(threads)
    splits = load_splits(space.dataset)
    per_epoch = steps_per_epoch(len(splits.train), settings.batch_size)
    timing = {"last": 0.0, "seconds": 0.0, "steps": 0}

    def on_step(step: int, loss: float) -> None:
        now = time.perf_counter()
        if step > 1 and (step - 1) % per_epoch:
            timing["seconds"] += now - timing["last"]
            timing["steps"] += 1
        timing["last"] = now

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        train_supernet_for(space, splits, folder, settings, progress=False, on_step=on_step)
    return {
        "images_s": timing["steps"] * settings.batch_size / timing["seconds"],
        "comm": 0.0,
        "wall_s": time.perf_counter() - started,
    }


def workers(space: SearchSpace, settings: TrainSettings, count: int) -> dict[str, float]:
    """Timed training steps of rank 0 of ``count`` Ray Train workers at one thread each."""
    last: dict[str, Any] = {}
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as folder:
        train_supernet_parallel(
            space,
            folder,
            settings,
            RayResources(workers=count, threads=1),
            progress=False,
            on_epoch=last.update,
        )
    return {
        "images_s": last["timed_steps"] * settings.batch_size / last["train_seconds"],
        "comm": last["comm_seconds"] / last["train_seconds"],
        "wall_s": time.perf_counter() - started,
    }


def speed(args: argparse.Namespace) -> None:
    from workers.cluster import connect, disconnect

    space = load_space(args.space)
    if args.synthetic:  # the space's geometry on made-up images (no data set on disk needed)
        data = space.to_dict()
        d = data["dataset"]
        data["dataset"] = {
            "name": "synthetic",
            "image_size": d["image_size"],
            "channels": d["channels"],
            "num_classes": d["num_classes"],
            "synthetic_size": args.synthetic,
        }
        space = SearchSpace.from_dict(data)
    runs = {
        "1 process x 2 threads": lambda s: one_process(space, s, 2),
        "1 process x 1 thread": lambda s: one_process(space, s, 1),
        "Ray Train 1 worker x 1 thread": lambda s: workers(space, s, 1),
        "Ray Train 2 workers x 1 thread": lambda s: workers(space, s, 2),
    }
    # results[batch][run] = one measurement per repeat; repeats interleave the runs, and each
    # ratio compares runs of the same repeat
    results: dict[int, dict[str, list[dict[str, float]]]] = {}
    connect(None, num_cpus=2)
    try:
        for _ in range(args.repeats):
            for batch in args.batch_sizes:
                settings = TrainSettings(epochs=args.epochs, batch_size=batch, recal_batches=1)
                for name, run in runs.items():
                    results.setdefault(batch, {}).setdefault(name, []).append(run(settings))
    finally:
        disconnect()
    print(
        f"Supernet training throughput, {space.name}, {args.epochs} epochs, {os.cpu_count()} "
        f"cores; median [min-max] of {args.repeats} interleaved repeats"
    )

    def spread(values: list[float], fmt: str) -> str:
        return f"{fmt.format(statistics.median(values))} [{fmt.format(min(values))}-" + (
            f"{fmt.format(max(values))}]"
        )

    rows = []
    for batch, measured in results.items():
        base = [m["images_s"] for m in measured["Ray Train 1 worker x 1 thread"]]
        for name, ms in measured.items():
            rows.append(
                (
                    str(batch),
                    name,
                    spread([m["images_s"] for m in ms], "{:.3g}"),
                    spread([m["images_s"] / b for m, b in zip(ms, base, strict=True)], "{:.2f}x"),
                    spread([100 * m["comm"] for m in ms], "{:.1f}%"),
                    f"{statistics.median(m['wall_s'] for m in ms):.0f} s",
                )
            )
    header = ("global batch", "run", "images/s", "vs 1 worker", "all-reduce share", "wall")
    print(table(rows, header))
    print("(wall: the whole run, with Ray's start-up, validation and checkpoints)")
    if args.json:
        write_json(args.json, {"epochs": args.epochs, "results": results})


def bn(args: argparse.Namespace) -> None:
    space = load_space(args.space)
    splits = load_splits(space.dataset)
    torch.set_num_threads(args.threads)
    codec = GenomeCodec(space)
    configs = [codec.sample_config(random.Random(1000 + i)) for i in range(args.subnets)]
    out: list[dict[str, Any]] = []
    for seed in range(args.seeds):
        scores: dict[int, dict[str, list[float]]] = {}
        for micro in (1, 2):
            settings = TrainSettings(epochs=args.epochs, seed=seed)
            with tempfile.TemporaryDirectory() as folder:
                train_supernet_for(
                    space, splits, folder, settings, progress=True, micro_batches=micro
                )
                ev = Evaluator(
                    Path(folder) / "supernet.pt", space, splits=splits, settings=EvalSettings()
                )
                scores[micro] = {
                    split: [float(ev.evaluate(c, split=split).accuracy or 0) for c in configs]
                    for split in ("val", "test")
                }
        row: dict[str, Any] = {"seed": seed}
        for split in ("val", "test"):
            whole, halves = scores[1][split], scores[2][split]
            row[f"{split}_mean_64"] = statistics.fmean(whole)
            row[f"{split}_mean_32"] = statistics.fmean(halves)
            row[f"{split}_diff"] = statistics.fmean(
                b - a for a, b in zip(whole, halves, strict=True)
            )
            row[f"{split}_tau"] = float(kendalltau(whole, halves).statistic)
        out.append(row)
        print(json.dumps(row))
    print(
        f"\nPer-rank BN (2 workers: 32 images per BN group) vs one process (64), {space.name}, "
        f"{args.epochs} epochs, {args.subnets} random subnets, {args.seeds} supernet seeds "
        f"(mean ± sd over seeds)"
    )

    def spread(key: str, scale: float = 100.0) -> str:
        values = [scale * r[key] for r in out]
        sd = statistics.stdev(values) if len(values) > 1 else 0.0
        return f"{statistics.fmean(values):.2f} ± {sd:.2f}"

    print(
        table(
            [
                (
                    split,
                    spread(f"{split}_mean_64"),
                    spread(f"{split}_mean_32"),
                    spread(f"{split}_diff"),
                    spread(f"{split}_tau", 1.0),
                )
                for split in ("val", "test")
            ],
            ("split", "mean acc % (64)", "mean acc % (32)", "paired diff, points", "Kendall tau"),
        )
    )
    if args.json:
        write_json(args.json, {"epochs": args.epochs, "runs": out})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    fast = sub.add_parser("speed", help="images/s of 1 process and 1 or 2 Ray Train workers")
    fast.add_argument("--epochs", type=int, default=4)
    fast.add_argument("--batch-sizes", type=int, nargs="+", default=[64, 256])
    fast.add_argument("--repeats", type=int, default=3)
    fast.add_argument(
        "--synthetic",
        type=int,
        default=0,
        help="replace the space's data set by this many synthetic images of its geometry "
        "(e.g. --space search_spaces/cifar10-spikformer.yaml --synthetic 400)",
    )
    effect = sub.add_parser("bn", help="inherited accuracy with per-rank BN vs one process")
    effect.add_argument("--epochs", type=int, default=40)
    effect.add_argument("--seeds", type=int, default=3)
    effect.add_argument("--subnets", type=int, default=40)
    effect.add_argument("--threads", type=int, default=2)
    for p in (fast, effect):
        p.add_argument("--space", type=Path, default=SPACE)
        p.add_argument("--json", default=None, help="write the results to this file")
    args = parser.parse_args()
    speed(args) if args.what == "speed" else bn(args)


if __name__ == "__main__":
    main()
