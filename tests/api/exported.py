"""A small exported architecture file, written the way ``evosnn export`` writes one."""

from __future__ import annotations

from pathlib import Path

import yaml

from evosnn.core.config import SubnetConfig
from evosnn.core.space import load_space
from evosnn.reporting.export import EXPORT_FORMAT


def write_export(folder: Path, trial: int = 3) -> Path:
    """``folder/trial-NNNNN.yaml`` holding the smallest digits-tiny subnet (no metrics)."""
    space = load_space("digits-tiny")
    document = {
        "format": EXPORT_FORMAT,
        "config": SubnetConfig.smallest(space).to_dict(),
        "metrics": {},
        "provenance": {"trial": trial},
        "space": space.to_dict(),
    }
    path = folder / f"trial-{trial:05d}.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False))
    return path
