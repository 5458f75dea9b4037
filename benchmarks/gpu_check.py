"""GPU check: CUDA against CPU, mixed precision against float32, and speed at the CIFAR geometry.

One command for a CUDA machine (``python -m benchmarks.gpu_check --device cuda``), on synthetic
data of the space's geometry (``cifar10-spikformer`` by default: 3x32x32, 10 classes, the 9.3 M
parameter supernet), so it needs no data set:

1. trains the supernet briefly on ``--device`` and measures supernet-training images/s, in float32
   and with mixed precision (``--amp``'s path: float16 with loss scaling on CUDA, bfloat16 on CPU);
2. checks the logits of the same subnets (inherited weights, BN recalibrated) on the device
   against the CPU: largest absolute difference and share of equal predictions;
3. checks mixed precision against float32 inherited accuracy on the validation split;
4. measures evaluations per minute as the search runs them (BN recalibration + validation);
5. with two or more GPUs, the speed-up of two Ray Train workers over one (else recorded skipped).

Writes ``OUT/gpu_check.json`` with its provenance (commit, versions, command) and exits 1 when a
check fails: predictions on the device agree with the CPU's on fewer than 99 % of the images, or
mixed precision moves an inherited accuracy by more than 1 point. On a machine without CUDA,
``--device cpu`` runs the same code as a smoke test (the suite does, with a tiny space).
"""

from __future__ import annotations

import argparse
import logging
import random
import sys
import time
from pathlib import Path
from typing import Any

import torch

from benchmarks.common import write_json
from evosnn.api import load_space
from evosnn.core.config import SubnetConfig
from evosnn.core.evaluation import EvalSettings
from evosnn.core.genome import GenomeCodec
from evosnn.core.resources import RayResources
from evosnn.core.space import SearchSpace
from evosnn.data.loading import Splits, load_splits
from evosnn.evaluate.evaluator import Evaluator
from evosnn.training.supernet_training import train_supernet_for
from supernet.recipe import TrainSettings
from supernet.train import CHECKPOINT_NAME
from supernet.validate import count_correct

log = logging.getLogger("gpu_check")

#: Agreement of device and CPU predictions below this fails the check.
MIN_AGREEMENT = 0.99
#: Mixed precision moving an inherited accuracy by more than this (a fraction) fails the check.
MAX_AMP_SHIFT = 0.01


def synthetic_space(space: SearchSpace, images: int) -> SearchSpace:
    """``space`` with its data set replaced by synthetic images of the same geometry."""
    data = space.to_dict()
    geometry = {k: data["dataset"][k] for k in ("image_size", "channels", "num_classes")}
    data["dataset"] = {"name": "synthetic", **geometry, "synthetic_size": images}
    data["name"] = f"{space.name}-synthetic"
    return SearchSpace.from_dict(data, source=f"{space.name} (synthetic)")


def train_speed(
    space: SearchSpace, splits: Splits, out: Path, settings: TrainSettings
) -> dict[str, float]:
    """Train the supernet (``out/supernet.pt``) and measure images/s after the first 2 steps."""
    times: list[float] = []
    started = time.perf_counter()
    train_supernet_for(
        space,
        splits,
        out,
        settings,
        progress=False,
        on_step=lambda step, loss: times.append(time.perf_counter()),
    )
    timed = times[2:]
    seconds = timed[-1] - timed[0] if len(timed) > 1 else float("nan")
    return {
        "images_per_s": settings.batch_size * (len(timed) - 1) / seconds,
        "steps": len(times),
        "wall_s": time.perf_counter() - started,
    }


def _subnets(space: SearchSpace, count: int) -> list[SubnetConfig]:
    codec, rng = GenomeCodec(space), random.Random(0)
    return [SubnetConfig.largest(space), SubnetConfig.smallest(space)] + [
        codec.sample_config(rng) for _ in range(max(0, count - 2))
    ]


def device_vs_cpu(
    checkpoint: Path, space: SearchSpace, splits: Splits, device: str, configs: list[SubnetConfig]
) -> dict[str, Any]:
    """Logits of each subnet on ``device`` and on the CPU, the same recalibrated weights."""
    evaluator = Evaluator(checkpoint, space, splits=splits, settings=EvalSettings(device="cpu"))
    images = splits.val.images[:256]
    x = ((images.float() / 255.0) - torch.tensor(splits.mean).view(1, -1, 1, 1)) / torch.tensor(
        splits.std
    ).view(1, -1, 1, 1)
    rows: list[dict[str, Any]] = []
    for config in configs:
        model = evaluator.standalone(config).eval()
        with torch.no_grad():
            on_cpu = model(x)
            on_device = model.to(device)(x.to(device)).cpu()
        rows.append(
            {
                "subnet": config.to_dict(),
                "max_abs_diff": float((on_cpu - on_device).abs().max()),
                "agreement": float((on_cpu.argmax(1) == on_device.argmax(1)).float().mean()),
            }
        )
    worst = min(r["agreement"] for r in rows)
    return {"subnets": rows, "worst_agreement": worst, "passed": worst >= MIN_AGREEMENT}


def amp_vs_float32(
    checkpoint: Path, space: SearchSpace, splits: Splits, device: str, configs: list[SubnetConfig]
) -> dict[str, Any]:
    """Inherited validation accuracy of each subnet in float32 and under autocast."""
    evaluator = Evaluator(checkpoint, space, splits=splits, settings=EvalSettings(device=device))
    dtype = torch.float16 if device.startswith("cuda") else torch.bfloat16
    kind = "cuda" if device.startswith("cuda") else "cpu"
    rows = []
    for config in configs:
        model = evaluator.standalone(config).to(device).eval()

        def mixed(x: torch.Tensor, model: torch.nn.Module = model) -> torch.Tensor:
            with torch.autocast(kind, dtype=dtype):
                return model(x).float()

        full, total, _ = count_correct(model, splits.val, splits.mean, splits.std, device=device)
        amp, _, _ = count_correct(mixed, splits.val, splits.mean, splits.std, device=device)
        rows.append({"float32": full / total, "amp": amp / total, "images": total})
    worst = max(abs(r["float32"] - r["amp"]) for r in rows)
    return {
        "dtype": str(dtype),
        "subnets": rows,
        "largest_shift": worst,
        "passed": worst <= MAX_AMP_SHIFT,
    }


def evaluations_per_minute(
    checkpoint: Path, space: SearchSpace, splits: Splits, device: str, configs: list[SubnetConfig]
) -> dict[str, float]:
    """Search-style evaluations (BN recalibration, validation, spike counts) per minute."""
    evaluator = Evaluator(checkpoint, space, splits=splits, settings=EvalSettings(device=device))
    evaluator.evaluate(configs[0])  # warm-up
    started = time.perf_counter()
    for config in configs:
        evaluator.evaluate(config)
    seconds = time.perf_counter() - started
    return {"per_minute": 60 * len(configs) / seconds, "val_images": len(splits.val)}


def ray_scaling(space: SearchSpace, out: Path, settings: TrainSettings) -> dict[str, Any]:
    """Seconds of one epoch on 1 and 2 Ray Train GPU workers (needs two GPUs)."""
    gpus = torch.cuda.device_count()
    if gpus < 2:
        return {"skipped": f"{gpus} GPU(s) here; the scaling check needs 2"}
    from evosnn.training.supernet_training import train_supernet_parallel

    seconds = {}
    for workers in (1, 2):
        started = time.perf_counter()
        train_supernet_parallel(
            space,
            out / f"ray{workers}",
            settings,
            RayResources(workers=workers, threads=1, gpus_per_worker=1),
        )
        seconds[workers] = time.perf_counter() - started
    return {"seconds": seconds, "speedup": seconds[1] / seconds[2]}


def run(args: argparse.Namespace) -> dict[str, Any]:
    """Every check and measurement; the document written to ``OUT/gpu_check.json``."""
    device = args.device
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit(f"gpu_check: error: --device {device}, but torch sees no CUDA device")
    space = synthetic_space(load_space(args.space), args.images)
    splits = load_splits(space.dataset)
    out: Path = args.out
    recipe = dict(epochs=args.epochs, batch_size=args.batch_size, device=device)
    float32 = train_speed(space, splits, out / "float32", TrainSettings(**recipe))
    amp = train_speed(space, splits, out / "amp", TrainSettings(**recipe, amp=True))
    checkpoint = out / "float32" / CHECKPOINT_NAME
    configs = _subnets(space, args.subnets)
    return {
        "device": device,
        "device_name": torch.cuda.get_device_name(device) if device.startswith("cuda") else "cpu",
        "space": args.space,
        "geometry": space.shape_signature(),
        "synthetic_images": args.images,
        "train_images_per_s": {"float32": float32, "amp": amp},
        "device_vs_cpu": device_vs_cpu(checkpoint, space, splits, device, configs),
        "amp_vs_float32": amp_vs_float32(checkpoint, space, splits, device, configs),
        "evaluations": evaluations_per_minute(checkpoint, space, splits, device, configs),
        "ray_train_scaling": ray_scaling(space, out, TrainSettings(epochs=1, **recipe))
        if device.startswith("cuda")
        else {"skipped": "CPU run"},
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--device", default="cuda", help="cuda, cuda:N (or cpu: a smoke test)")
    parser.add_argument("--space", default="cifar10-spikformer", help="shipped name or YAML file")
    parser.add_argument("--images", type=int, default=4096, help="synthetic images in all")
    parser.add_argument("--epochs", type=int, default=2, help="supernet epochs per precision")
    parser.add_argument("--batch-size", type=int, default=128)
    parser.add_argument("--subnets", type=int, default=6, help="subnets checked and evaluated")
    parser.add_argument("--out", type=Path, default=Path("runs/gpu-check"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    if args.out.exists() and any(args.out.iterdir()):
        raise SystemExit(f"gpu_check: error: {args.out} is not empty; choose another --out")
    document = run(args)
    command = [__file__, *(sys.argv[1:] if argv is None else argv)]
    path = write_json(args.out / "gpu_check.json", document, argv=command)
    passed = document["device_vs_cpu"]["passed"] and document["amp_vs_float32"]["passed"]
    log.info(
        "%s: training %.0f images/s float32, %.0f with AMP; %.1f evaluations/min; device vs CPU "
        "agreement %.1f %%; AMP accuracy shift %.2f points -> %s (%s)",
        document["device_name"],
        document["train_images_per_s"]["float32"]["images_per_s"],
        document["train_images_per_s"]["amp"]["images_per_s"],
        document["evaluations"]["per_minute"],
        100 * document["device_vs_cpu"]["worst_agreement"],
        100 * document["amp_vs_float32"]["largest_shift"],
        "passed" if passed else "FAILED",
        path,
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
