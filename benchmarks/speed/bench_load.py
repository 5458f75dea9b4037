"""Load: a 5,000-trial study on SQLite and PostgreSQL; how long resume, export, report and the
dashboard's API take (issue: each must finish in seconds).

    python -m benchmarks.speed.bench_load [--trials 5000] [--backends sqlite postgres]

The study is seeded with real trial records (tests/seed.py), then a search resumes it with a budget
of 8 more evaluations (reading all trials, replaying the engine, evaluating 8 genomes on 2 Ray
workers), then ``export --pick pareto``, ``report`` and ``GET /api/studies/ID`` are timed.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import ray

from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.reporting.export import export_study
from evosnn.reporting.report import write_report
from evosnn.search import SearchSettings, search_study
from evosnn.storage.ledger import Ledger
from tests.integration.test_dashboard import dashboard, get
from tests.integration.test_load import wide_space
from tests.seed import seed_study

POSTGRES = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


@contextlib.contextmanager
def timed(label: str, results: dict[str, float]) -> Iterator[None]:
    start = time.perf_counter()
    yield
    results[label] = time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--trials", type=int, default=5000)
    parser.add_argument("--backends", nargs="+", default=["sqlite", "postgres"])
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    from evosnn.data.loading import load_splits
    from evosnn.training.supernet_training import train_supernet_for
    from supernet.recipe import TrainSettings

    space = wide_space()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        train_supernet_for(
            space,
            load_splits(space.dataset),
            root / "run",
            TrainSettings(epochs=1, batch_size=32, warmup_epochs=0, recal_batches=1),
            progress=False,
        )
        checkpoint = root / "run" / "supernet.pt"
        ray.init(
            num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING
        )
        table: dict[str, dict[str, float]] = {}
        for backend in args.backends:
            url = f"sqlite:///{root / 'load.db'}" if backend == "sqlite" else POSTGRES
            study = f"load-{uuid.uuid4().hex[:8]}"
            r: dict[str, float] = {}
            with timed("seed", r):
                seed_study(url, study, space, args.trials)
            codec = GenomeCodec(space)
            with timed("read all trials", r):
                Ledger.open(url, study, codec).records()
            settings = SearchSettings(
                population=8,
                generations=(args.trials + 8) // 8,
                workers=2,
                eval=EvalSettings(recal_batches=1, recal_batch_size=16),
            )
            with timed("resume (+8 evaluations)", r):
                search_study(space, checkpoint, url, study, settings, progress=False)
            with timed("export pareto", r):
                export_study(url, study, root / "x", pick="pareto")
            with timed("report", r):
                write_report(url, study, root / "report")
            with dashboard(url) as base:
                sid = next(
                    s["study_id"]
                    for s in get(f"{base}/api/studies")["study_summaries"]
                    if s["study_name"] == study
                )
                with timed("dashboard GET study", r):
                    get(f"{base}/api/studies/{sid}")
            table[backend] = r
        ray.shutdown()
    labels = list(next(iter(table.values())))
    print(f"{args.trials:,}-trial study (seconds)")
    print(f"{'':26}" + "".join(f"{b:>12}" for b in table))
    for label in labels:
        print(f"{label:26}" + "".join(f"{table[b][label]:>12.2f}" for b in table))


if __name__ == "__main__":
    main()
