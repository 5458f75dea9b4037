"""The GPU check runs end to end on CPU (a smoke test: every step, tiny sizes)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from benchmarks import gpu_check


@pytest.mark.slow
def test_gpu_check_runs_on_cpu_and_records_its_provenance(tmp_path: Path) -> None:
    out = tmp_path / "check"
    argv = ["--device", "cpu", "--space", "digits-tiny", "--images", "100", "--epochs", "1"]
    argv += ["--batch-size", "16", "--subnets", "2", "--out", str(out)]
    status = gpu_check.main(argv)
    document = json.loads((out / "gpu_check.json").read_text())
    # the CPU against itself: the same weights give the same logits, bit for bit
    assert document["device_vs_cpu"]["passed"] and status in (0, 1)
    assert all(r["max_abs_diff"] == 0.0 for r in document["device_vs_cpu"]["subnets"])
    assert status == (0 if document["amp_vs_float32"]["passed"] else 1)
    assert len(document["amp_vs_float32"]["subnets"]) == 2
    assert document["train_images_per_s"]["float32"]["images_per_s"] > 0
    assert document["evaluations"]["per_minute"] > 0
    assert document["ray_train_scaling"] == {"skipped": "CPU run"}
    provenance = document["provenance"]
    assert provenance["command"].startswith("python -m ") and provenance["packages"]["torch"]
    assert str(tmp_path) not in json.dumps(document)  # no machine paths


def test_a_missing_cuda_device_is_one_clear_error(tmp_path: Path) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA")
    with pytest.raises(SystemExit, match="--device cuda, but torch sees no CUDA device"):
        gpu_check.main(["--device", "cuda", "--out", str(tmp_path / "x")])
