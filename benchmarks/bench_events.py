"""The embedded event task: does time matter, and do the neuron genes matter there?

Two measurements on ``search_spaces/digits-events-tiny.yaml`` (two digits shown one after the
other, labelled by the first; see :mod:`evosnn.data.digits_events`):

* ``collapsed`` vs spiking: the time-collapsed recording (the T=1 binning: every event of a clip
  in one frame) fed to the same stand-alone Spikformer, and to scikit-learn's logistic regression
  and MLP, against the Spikformer reading the clip as T frames. By construction the collapsed
  frame is the same for either order of the two digits.
* the spread of stand-alone test accuracy over tau x T at one fixed architecture, on this task
  and, beside it, on static digits-tiny (where a static image is repeated T times).

Every Spikformer is trained from scratch with the product's own retraining
(:func:`evosnn.training.retrain.retrain_exported`, AdamW + cosine, the space's augmentation); accuracies
are on the test split, with a 95 % Wilson interval.

Run (the figures in docs/results/event-task.md; the two tasks in two processes):
    nice .venv/bin/python -m benchmarks.bench_events --task digits-events --steps 1 2 4 \
        --taus 1.25 10 --out benchmarks/results/events_task_events.json
    nice .venv/bin/python -m benchmarks.bench_events --task digits-tiny --steps 2 4 \
        --taus 1.25 10 --out benchmarks/results/events_task_digits.json
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from evosnn.core.config import SubnetConfig
from evosnn.core.space import SearchSpace, load_space
from evosnn.data.loading import load_splits
from evosnn.reporting.export import Exported
from evosnn.training.retrain import retrain_exported
from supernet.recipe import TrainSettings

log = logging.getLogger("bench_events")
ROOT = Path(__file__).resolve().parents[1] / "search_spaces"
TAUS = (1.25, 2.0, 10.0)


def wilson(correct: float, n: int) -> tuple[float, float]:
    """95 % Wilson interval of an accuracy measured on ``n`` items."""
    z, p = 1.96, correct
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return round(centre - half, 4), round(centre + half, 4)


def with_time_steps(space: SearchSpace, steps: list[int]) -> SearchSpace:
    """``space`` whose T choices (and, for event data, binned frame counts) are ``steps``."""
    data = space.to_dict()
    data["choices"]["time_steps"] = steps
    data["neuron_defaults"]["time_steps"] = steps[-1]
    data["dataset"].pop("frames", None)
    return SearchSpace.from_dict(data)


def arch(tau: float, steps: int, *, dim: int, heads: int) -> SubnetConfig:
    """The fixed architecture (one block) at neuron settings ``tau`` and ``steps``."""
    return SubnetConfig(
        depth=1,
        embed_dim=dim,
        mlp_ratio=(2.0,),
        num_heads=(heads,),
        threshold=(1.0,),
        tau=(tau,),
        time_steps=steps,
    )


def train_one(space: SearchSpace, config: SubnetConfig, epochs: int, work: Path) -> dict[str, Any]:
    """Retrain ``config`` on ``space`` from scratch; its test accuracy and wall time."""
    name = f"{space.name}-T{config.time_steps}-tau{config.tau[0]}"
    exported = Exported(work / f"{name}.yaml", config, space, {}, {})
    start = time.perf_counter()
    result = retrain_exported(
        exported, work / name, TrainSettings(epochs=epochs, batch_size=64), progress=False
    )
    n = len(load_splits(space.dataset).test)
    seconds = time.perf_counter() - start
    log.info("%s: test %.3f (%.0f s)", name, result.test_accuracy, seconds)
    return {
        "tau": config.tau[0],
        "T": config.time_steps,
        "test_accuracy": round(result.test_accuracy, 4),
        "ci95": wilson(result.test_accuracy, n),
        "seconds": round(seconds, 1),
    }


def sklearn_collapsed(space: SearchSpace) -> dict[str, float]:
    """Logistic regression and an MLP on the time-collapsed recordings (T=1 frame)."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPClassifier

    splits = load_splits(with_time_steps(space, [1]).dataset)
    x_tr = splits.train.images.flatten(1).float().numpy()
    x_te = splits.test.images.flatten(1).float().numpy()
    y_tr, y_te = splits.train.labels.numpy(), splits.test.labels.numpy()
    out = {}
    for name, model in (
        ("logistic", LogisticRegression(max_iter=2000)),
        ("mlp", MLPClassifier((256,), max_iter=500, random_state=0)),
    ):
        model.fit(x_tr, y_tr)
        out[name] = round(float(np.mean(model.predict(x_te) == y_te)), 4)
    return out


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=("digits-events", "digits-tiny"), default="digits-events")
    parser.add_argument("--steps", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--taus", type=float, nargs="+", default=list(TAUS))
    parser.add_argument("--epochs", type=int, default=6)
    parser.add_argument("--dim", type=int, default=32)
    parser.add_argument("--heads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/events_task.json"))
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    base = load_space(ROOT / f"{args.task.removesuffix('-tiny')}-tiny.yaml")
    space = with_time_steps(base, sorted(args.steps)) if base.dataset.event_input else base
    result: dict[str, Any] = {
        "command": " ".join(["python -m benchmarks.bench_events", *(argv or sys.argv[1:])]),
        "task": args.task,
        "architecture": arch(2.0, 4, dim=args.dim, heads=args.heads).to_dict(),
        "epochs": args.epochs,
        "chance": 0.1,
    }
    if base.dataset.event_input and 1 in args.steps:
        result["collapsed_sklearn"] = sklearn_collapsed(base)
        log.info("collapsed, scikit-learn: %s", result["collapsed_sklearn"])
    runs: list[dict[str, Any]] = []
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        for t in args.steps:
            for tau in args.taus:
                config = arch(tau, t, dim=args.dim, heads=args.heads)
                runs.append(train_one(space, config, args.epochs, Path(tmp)))
                args.out.write_text(json.dumps({**result, "runs": runs}, indent=1))
    accs = [r["test_accuracy"] for r in runs if r["T"] > 1]
    if accs:
        result["spread_T_gt_1"] = {
            "min": min(accs),
            "max": max(accs),
            "range": max(accs) - min(accs),
        }
    result["runs"] = runs
    args.out.write_text(json.dumps(result, indent=1))
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
