"""PyTorch library: LIF neurons, weight-entangled layers, the Spikformer supernet and its subnets.

It knows nothing of search, storage, Ray or the CLI; it computes with ``SubnetConfig`` values.
"""

from __future__ import annotations

from supernet.bn import recalibrate_bn
from supernet.lif import LIF, ATan, Sigmoid, Surrogate
from supernet.model import SpikformerSupernet
from supernet.spike_stats import SpikeStats
from supernet.standalone import Spikformer, extract

__all__ = [
    "LIF",
    "ATan",
    "Sigmoid",
    "SpikeStats",
    "Spikformer",
    "SpikformerSupernet",
    "Surrogate",
    "extract",
    "recalibrate_bn",
]
