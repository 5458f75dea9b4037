"""The memory-aware energy model on the round-number profile every hand count uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from evosnn.objectives.energy import EnergyModel
from tests.objectives.test_memory_energy import PROFILE


@pytest.fixture
def hand(tmp_path: Path) -> EnergyModel:
    """``EnergyModel(convention="memory")`` on the hand profile (``PROFILE``)."""
    path = tmp_path / "hand.yaml"
    path.write_text(yaml.safe_dump(PROFILE))
    return EnergyModel(convention="memory", profile=str(path))
