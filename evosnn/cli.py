"""The ``evosnn`` command: a thin face over functions that tests and notebooks call directly.

Every user-facing problem is an :class:`~evosnn.errors.EvosnnError` and is printed as one line
(``evosnn: error: ...``) with exit status 2; nothing below this module prints.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from evosnn.errors import EvosnnError

__all__ = ["main"]

log = logging.getLogger("evosnn")

Handler = Callable[[argparse.Namespace], int]


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a positive finite number, got {text}")
    return value


# ------------------------------------------------------------------------------------ space check
def _space_check(args: argparse.Namespace) -> int:
    from evosnn.genome import BLOCK_GENES, GLOBAL_GENES, GenomeCodec
    from evosnn.space import load_space

    space = load_space(args.file)
    codec = GenomeCodec(space)
    data = space.dataset
    print(f"{args.file}: OK, space {space.name!r}")
    print(
        f"  data set      {data.name} {data.channels}x{data.image_size}x{data.image_size}, "
        f"{data.num_classes} classes"
    )
    net = space.supernet
    print(
        f"  supernet      depth {net.depth}, embed {net.embed_dim}, "
        f"mlp ratio {net.mlp_ratio}, heads {net.num_heads}"
    )
    print(
        f"  genome        {len(codec)} genes ({len(GLOBAL_GENES)} global + "
        f"{len(BLOCK_GENES)} x {space.max_depth} blocks)"
    )
    print(f"  architectures {space.num_architectures():,}")
    print(f"  subnets       {space.num_subnets():,} (architectures x neuron settings)")
    return 0


# ------------------------------------------------------------------------------------ supernet train
def _supernet_train(args: argparse.Namespace) -> int:
    import torch

    from evosnn.data import load_splits
    from evosnn.space import load_space
    from supernet.train import CHECKPOINT_NAME, TrainSettings, train_supernet

    space = load_space(args.space)
    if args.workers:
        torch.set_num_threads(args.workers)
    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        sampling=args.sampling,
        seed=args.seed,
        device=args.device,
        amp=args.amp,
    )
    splits = load_splits(space.dataset, root=args.data, seed=args.seed)  # fails before training
    log.info(
        "data %s: %d train / %d val / %d test images",
        space.dataset.name,
        len(splits.train),
        len(splits.val),
        len(splits.test),
    )
    result = train_supernet(space, splits, args.out, settings, resume=args.resume)
    last = result["metrics"][-1] if result["metrics"] else {}
    print(
        f"supernet written to {args.out / CHECKPOINT_NAME} "
        f"(val acc largest {100 * last.get('val_acc_largest', 0):.2f}%, "
        f"smallest {100 * last.get('val_acc_smallest', 0):.2f}%)"
    )
    return 0


# ------------------------------------------------------------------------------------ search
def _search(args: argparse.Namespace) -> int:
    from evosnn.evaluation import EvalSettings
    from evosnn.search import SearchSettings, run_search
    from evosnn.space import load_space
    from workers.cluster import disconnect

    space = load_space(args.space)
    run_dir = args.supernet.parent
    storage = args.storage or f"sqlite:///{run_dir / 'evosnn.db'}"
    study = args.study or run_dir.name or "evosnn"
    settings = SearchSettings(
        engine=args.engine,
        population=args.population,
        generations=args.generations,
        workers=args.workers,
        seed=args.seed,
        ray_address=args.ray_address,
        cpus_per_worker=args.cpus_per_worker,
        gpus_per_worker=args.gpus_per_worker,
        eval_timeout_s=args.eval_timeout,
        data_root=str(args.data) if args.data else None,
        eval=EvalSettings(
            recal_batches=args.recal_batches,
            max_val_images=args.max_val_images,
            device="cuda" if args.gpus_per_worker > 0 else "cpu",
        ),
    )
    try:
        summary = run_search(space, args.supernet, storage, study, settings)
    finally:
        if not args.ray_address:
            disconnect()
    print(
        f"study {summary.study!r} in {summary.storage}: {summary.completed} completed evaluations "
        f"({summary.evaluated_now} this run, {summary.answered_from_ledger} answered from the ledger), "
        f"hypervolume {summary.hypervolume:.6g}, {summary.elapsed_s:.0f}s"
    )
    print(f"Pareto front ({len(summary.pareto)} architectures):")
    print(
        f"  {'trial':>5}  {'accuracy':>8}  {'energy mJ':>10}  {'F_AEB':>6}  {'params':>8}  subnet"
    )
    for row in summary.pareto:
        print(
            f"  {row.trial:>5}  {100 * row.accuracy:>7.2f}%  {row.energy_mj:>10.4g}  "
            f"{row.f_aeb:>6.4f}  {row.params:>8,}  {row.summary}"
        )
    return 0


# ------------------------------------------------------------------------------------ export
def _export(args: argparse.Namespace) -> int:
    from evosnn.export import export_study

    pick, trial = args.pick, None
    if pick.startswith("trial"):
        pick, trial = "trial", args.trial
        if trial is None:
            raise EvosnnError("--pick trial needs --trial N")
    written = export_study(
        args.storage,
        args.study,
        args.out,
        pick=pick,
        trial=trial,
        supernet=args.supernet if args.with_weights else None,
        data_root=args.data,
    )
    for path in written:
        print(path)
    return 0


# ------------------------------------------------------------------------------------ report
def _report(args: argparse.Namespace) -> int:
    from evosnn.report import write_report

    report = write_report(args.storage, args.study, args.out)
    print(
        f"report of {report.evaluations} evaluations ({report.pareto_size} on the Pareto front): "
        f"{report.index}"
    )
    return 0


# ------------------------------------------------------------------------------------ dashboard
def _dashboard(args: argparse.Namespace) -> int:
    from optuna_dashboard import run_server

    from evosnn.ledger import open_storage, redact

    storage = open_storage(args.storage)  # WAL for SQLite; fails fast, password hidden
    print(
        f"optuna-dashboard for {redact(args.storage)} at http://{args.host}:{args.port}/ (Ctrl-C stops it)"
    )
    run_server(storage, host=args.host, port=args.port)
    return 0


# ------------------------------------------------------------------------------------ train
def _train(args: argparse.Namespace) -> int:
    from evosnn.export import load_export
    from evosnn.retrain import retrain
    from supernet.train import TrainSettings

    settings = TrainSettings(
        epochs=args.epochs,
        batch_size=args.batch_size,
        lr=args.lr,
        seed=args.seed,
        device=args.device,
    )
    exports = [load_export(path) for path in args.architectures]  # every file valid before training
    if args.tune:
        return _train_tune(args, exports, settings)
    for exported in exports:
        out = args.out or exported.path.parent
        result = retrain(
            exported, out, settings, init=args.init, data_root=args.data, resume=args.resume
        )
        print(
            f"{exported.path}: val {100 * result.val_accuracy:.2f}%, test {100 * result.test_accuracy:.2f}%, "
            f"{result.energy_mj:.4g} mJ/image; checkpoint {result.checkpoint}"
        )
        _record(args, exported, result)
    return 0


def _record(args: argparse.Namespace, exported: Any, result: Any) -> None:
    """Write a retraining's figures onto the exported architecture's source trial."""
    from evosnn.retrain import record_in_study

    storage = args.storage or exported.provenance.get("storage")
    if storage and "***" not in storage:
        if record_in_study(storage, exported, result):
            print(
                f"  recorded on trial {exported.provenance.get('trial')} of study "
                f"{exported.provenance.get('study')!r} (retrained_* user attrs)"
            )
    elif storage:
        log.warning(
            "the file's storage URL has its password hidden; pass --storage to record results"
        )


def _train_tune(args: argparse.Namespace, exports: list[Any], settings: Any) -> int:
    from evosnn.tune import TuneSettings, tune_retrain
    from workers.cluster import disconnect

    if args.resume:
        raise EvosnnError("--resume is for single runs; with --tune, re-run the same command")
    tune_settings = TuneSettings(
        lrs=tuple(args.lr_sweep or [args.lr]),
        asha=args.asha,
        grace_epochs=args.grace_epochs,
        max_failures=args.max_failures,
        cpus_per_trial=args.cpus_per_trial,
        gpus_per_trial=args.gpus_per_trial,
    )
    out = args.out or exports[0].path.parent
    try:
        tuned = tune_retrain(
            exports,
            out,
            settings,
            tune_settings,
            init=args.init,
            data_root=args.data,
            ray_address=args.ray_address,
        )
    finally:
        if not args.ray_address:
            disconnect()
    status = 0
    for item in tuned:
        if item.best is None:
            print(f"{item.exported.path}: no trial of {item.trials} finished")
            status = 1
            continue
        best = item.best
        print(
            f"{item.exported.path}: best lr {best.lr:g} of {item.trials} trial(s): "
            f"val {100 * best.val_accuracy:.2f}%, test {100 * best.test_accuracy:.2f}%, "
            f"{best.energy_mj:.4g} mJ/image; checkpoint {best.checkpoint}"
        )
        _record(args, item.exported, best)
    return status


# ------------------------------------------------------------------------------------ demo
def _demo(args: argparse.Namespace) -> int:
    """The embedded default end to end: supernet, search, export, retraining of the knee, report."""
    from pathlib import Path as _Path

    from supernet.checkpoint import load_checkpoint
    from supernet.train import CHECKPOINT_NAME

    out: Path = args.out
    space = _Path(__file__).resolve().parent.parent / "search_spaces" / "digits-tiny.yaml"
    if not space.is_file():
        from evosnn.errors import SpaceError

        raise SpaceError(f"{space}: the shipped digits-tiny space is missing from this checkout")
    checkpoint = out / CHECKPOINT_NAME
    train_args = [
        "supernet",
        "train",
        "--space",
        str(space),
        "--out",
        str(out),
        "--seed",
        str(args.seed),
    ]
    if checkpoint.is_file():
        if load_checkpoint(checkpoint).get("status") == "complete":
            log.info("step 1/5: %s is already trained; skipping supernet training", checkpoint)
            train_args = []
        else:
            train_args.append("--resume")
    if train_args:
        log.info("step 1/5: training the digits-tiny supernet (about two minutes on 2 CPU cores)")
        status = _supernet_train(build_parser().parse_args(train_args))
        if status:
            return status
    log.info("step 2/5: NSGA-II search on Ray workers, recorded in %s", out / "evosnn.db")
    search_args = [
        "search",
        "--space",
        str(space),
        "--supernet",
        str(checkpoint),
        "--study",
        "demo",
        "--storage",
        f"sqlite:///{out / 'evosnn.db'}",
        "--workers",
        str(args.workers),
        "--seed",
        str(args.seed),
    ]
    status = _search(build_parser().parse_args(search_args))
    if status:
        return status
    storage = f"sqlite:///{out / 'evosnn.db'}"
    log.info("step 3/5: exporting the Pareto front and the knee with their inherited weights")
    for pick in ("pareto", "knee"):
        export_args = [
            "export",
            "--storage",
            storage,
            "--study",
            "demo",
            "--out",
            str(out / "export" / pick),
            "--pick",
            pick,
            "--with-weights",
            "--supernet",
            str(checkpoint),
        ]
        status = _export(build_parser().parse_args(export_args))
    knee = sorted((out / "export" / "knee").glob("trial-*.yaml"))
    log.info("step 4/5: retraining the knee architecture stand-alone (short run)")
    retrain_args = [
        "train",
        *map(str, knee),
        "--init",
        "inherited",
        "--epochs",
        str(args.retrain_epochs),
        "--storage",
        storage,
    ]
    status = _train(build_parser().parse_args(retrain_args))
    log.info("step 5/5: writing the report")
    _report(
        build_parser().parse_args(
            ["report", "--storage", storage, "--study", "demo", "--out", str(out / "report")]
        )
    )
    print()
    print(f"everything is in {out}/:")
    print(f"  supernet checkpoint  {checkpoint}")
    print(f"  search ledger        {out / 'evosnn.db'} (Optuna study 'demo')")
    print(f"  exported             {out / 'export'}/pareto, {out / 'export'}/knee (YAML + weights)")
    print(f"  retrained knee       {out / 'export' / 'knee'}/*.retrained.pt")
    print(f"  report               {out / 'report' / 'index.html'}")
    print("open the dashboard with:")
    print(f"  .venv/bin/evosnn dashboard --storage sqlite:///{out / 'evosnn.db'}")
    return status


# ------------------------------------------------------------------------------------ parser
def build_parser() -> argparse.ArgumentParser:
    """The full argument parser (exposed for tests and documentation)."""
    parser = argparse.ArgumentParser(
        prog="evosnn",
        description="Evolutionary search of energy-efficient spiking transformers.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    space = commands.add_parser("space", help="inspect search spaces")
    space_commands = space.add_subparsers(dest="space_command", required=True, metavar="ACTION")
    check = space_commands.add_parser("check", help="validate a space file and print its size")
    check.add_argument("file", type=Path)
    check.set_defaults(handler=_space_check)

    supernet = commands.add_parser("supernet", help="train the weight-entangled supernet")
    supernet_commands = supernet.add_subparsers(
        dest="supernet_command", required=True, metavar="ACTION"
    )
    train = supernet_commands.add_parser("train", help="train a supernet and write OUT/supernet.pt")
    train.add_argument("--space", type=Path, required=True, help="search-space YAML file")
    train.add_argument("--out", type=Path, required=True, help="run folder (gets supernet.pt)")
    train.add_argument(
        "--data", type=Path, default=None, help="data folder (overrides dataset.root)"
    )
    train.add_argument("--epochs", type=_positive_int, default=40)
    train.add_argument("--batch-size", type=_positive_int, default=64)
    train.add_argument("--lr", type=_positive_float, default=3e-3)
    train.add_argument(
        "--sampling",
        choices=["uniform", "sandwich"],
        default="uniform",
        help="subnets per step: one uniform random (default) or the sandwich rule",
    )
    train.add_argument("--seed", type=_non_negative_int, default=0)
    train.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    train.add_argument("--amp", action="store_true", help="mixed precision")
    train.add_argument(
        "--workers",
        type=_non_negative_int,
        default=0,
        help="CPU threads for torch (0: torch's default)",
    )
    train.add_argument("--resume", action="store_true", help="continue OUT/supernet.pt")
    train.set_defaults(handler=_supernet_train)

    from evosnn.engines import ENGINES

    search = commands.add_parser("search", help="NSGA-II search over a trained supernet, on Ray")
    search.add_argument("--space", type=Path, required=True, help="search-space YAML file")
    search.add_argument("--supernet", type=Path, required=True, help="runs/NAME/supernet.pt")
    search.add_argument(
        "--storage",
        default=None,
        help="SQLAlchemy URL of the study database (default: sqlite:///runs/NAME/evosnn.db)",
    )
    search.add_argument("--study", default=None, help="study name (default: the run folder's name)")
    search.add_argument("--engine", choices=ENGINES, default="pymoo")
    search.add_argument("--population", type=_positive_int, default=16)
    search.add_argument("--generations", type=_positive_int, default=6)
    search.add_argument("--workers", type=_positive_int, default=2, help="Ray evaluator actors")
    search.add_argument(
        "--ray-address",
        default=None,
        help="join an existing Ray cluster (auto, host:port or ray://host:port)",
    )
    search.add_argument("--seed", type=_non_negative_int, default=0)
    search.add_argument("--cpus-per-worker", type=_positive_float, default=1.0)
    search.add_argument("--gpus-per-worker", type=float, default=0.0)
    search.add_argument(
        "--eval-timeout",
        type=_positive_float,
        default=600.0,
        help="seconds before a hung evaluation's worker is replaced",
    )
    search.add_argument(
        "--recal-batches",
        type=_non_negative_int,
        default=4,
        help="BN recalibration batches per evaluation (0: off)",
    )
    search.add_argument("--max-val-images", type=_positive_int, default=None)
    search.add_argument(
        "--data", type=Path, default=None, help="data folder (overrides dataset.root)"
    )
    search.set_defaults(handler=_search)

    export = commands.add_parser("export", help="write chosen architectures of a study as files")
    export.add_argument("--storage", required=True, help="SQLAlchemy URL of the study database")
    export.add_argument("--study", required=True)
    export.add_argument("--out", type=Path, required=True, help="output folder")
    export.add_argument(
        "--pick", choices=["pareto", "knee", "best-faeb", "trial"], default="pareto"
    )
    export.add_argument(
        "--trial", type=_non_negative_int, default=None, help="trial number for --pick trial"
    )
    export.add_argument(
        "--with-weights",
        action="store_true",
        help="also write the stand-alone weights (needs --supernet)",
    )
    export.add_argument("--supernet", type=Path, default=None, help="the study's supernet.pt")
    export.add_argument(
        "--data", type=Path, default=None, help="data folder (overrides dataset.root)"
    )
    export.set_defaults(handler=_export)

    train_arch = commands.add_parser("train", help="retrain exported architectures stand-alone")
    train_arch.add_argument(
        "architectures", type=Path, nargs="+", help="exported trial-NNNNN.yaml files"
    )
    train_arch.add_argument("--init", choices=["scratch", "inherited"], default="scratch")
    train_arch.add_argument("--epochs", type=_positive_int, default=40)
    train_arch.add_argument("--batch-size", type=_positive_int, default=64)
    train_arch.add_argument("--lr", type=_positive_float, default=3e-3)
    train_arch.add_argument("--seed", type=_non_negative_int, default=0)
    train_arch.add_argument("--device", default="cpu")
    train_arch.add_argument(
        "--out", type=Path, default=None, help="checkpoint folder (default: beside each file)"
    )
    train_arch.add_argument(
        "--data", type=Path, default=None, help="data folder (overrides dataset.root)"
    )
    train_arch.add_argument(
        "--storage", default=None, help="study URL to record results in (default: the file's)"
    )
    train_arch.add_argument("--resume", action="store_true")
    tune_group = train_arch.add_argument_group(
        "Ray Tune", "train every file (and learning rate) as a Ray Tune trial"
    )
    tune_group.add_argument("--tune", action="store_true", help="run the trials on Ray Tune")
    tune_group.add_argument(
        "--lr-sweep",
        type=_positive_float,
        nargs="+",
        default=None,
        metavar="LR",
        help="learning rates to try per architecture (default: --lr only)",
    )
    tune_group.add_argument("--asha", action="store_true", help="ASHA early stopping")
    tune_group.add_argument(
        "--grace-epochs", type=_positive_int, default=2, help="ASHA's first rung (epochs)"
    )
    tune_group.add_argument(
        "--max-failures", type=_non_negative_int, default=2, help="retries of a failed trial"
    )
    tune_group.add_argument("--cpus-per-trial", type=_positive_float, default=1.0)
    tune_group.add_argument("--gpus-per-trial", type=float, default=0.0)
    tune_group.add_argument(
        "--ray-address", default=None, help="join an existing Ray cluster instead of starting one"
    )
    train_arch.set_defaults(handler=_train)

    report = commands.add_parser("report", help="write a static HTML report with PNG figures")
    report.add_argument("--storage", required=True, help="SQLAlchemy URL of the study database")
    report.add_argument("--study", required=True)
    report.add_argument("--out", type=Path, required=True, help="output folder (gets index.html)")
    report.set_defaults(handler=_report)

    dashboard = commands.add_parser("dashboard", help="serve optuna-dashboard for a study database")
    dashboard.add_argument("--storage", required=True, help="SQLAlchemy URL of the study database")
    dashboard.add_argument(
        "--host", default="127.0.0.1", help="bind address (default: loopback only)"
    )
    dashboard.add_argument("--port", type=_positive_int, default=8080)
    dashboard.set_defaults(handler=_dashboard)

    demo = commands.add_parser(
        "demo",
        help="the embedded default on digits-tiny: supernet, search, export, retrain, report",
    )
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="run folder")
    demo.add_argument("--workers", type=_positive_int, default=2)
    demo.add_argument("--seed", type=_non_negative_int, default=0)
    demo.add_argument("--retrain-epochs", type=_positive_int, default=15)
    demo.set_defaults(handler=_demo)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        datefmt="%H:%M:%S",
    )
    handler: Handler = args.handler
    try:
        return handler(args)
    except EvosnnError as exc:
        print(f"evosnn: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("evosnn: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
