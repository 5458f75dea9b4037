"""The stem cache: what every subnet of one embedding width and T computes alike, computed once.

Every evaluation recalibrates BatchNorm on the same training batches and then runs the same
validation batches. The patch-splitting stem (SPS) reads only two genes, the embedding width and
the time steps (:meth:`supernet.model.SpikformerSupernet.stem`: its neurons use the space's default
settings, and no block gene reaches it), so for a fixed set of batches its output spikes, its
recalibrated BN statistics and the spike counts it records depend on those two genes and on the
stem's weights only. A search over thousands of subnets meets a handful of distinct stems.

:class:`SharedStem` keeps, per stem:

* recalibration: the stem's output for each recalibration batch (computed in training mode, as
  recalibration does) and its BN buffers afterwards. The rest of the network is recalibrated on
  exactly those outputs, then the stem's buffers are put back: every BN buffer ends as without
  the cache.
* each scored split (validation, test): the stem's output for each batch, the labels, and the
  :class:`~supernet.spike_stats.SpikeStats` records the stem made, replayed in the same order so
  firing rates and energies come out bit for bit.

The key (:meth:`SharedStem._key`) holds the width, T, which split and which batches (the split's
tensor identity, batch size, seed, normalisation), and the version counters of the stem's weights
(and, without recalibration, of its BN buffers), so a weight changed in place is a miss, never a
stale hit. Stored outputs take 2 bits per value (they are sums of two spike maps, 0 to 2; anything
else is stored as is) with their memory layout kept, so the blocks see the very same tensor.

The cache is bounded (``EvalSettings.stem_cache_mib``; 0 turns it off): least-recently-used entries
are evicted until the stored bytes fit, and an entry larger than the whole bound is not stored.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterator
from dataclasses import dataclass, field
from typing import Any

import torch
from torch import nn

from evosnn.core.config import SubnetConfig
from evosnn.core.evaluation import EvalSettings
from supernet.batches import Split, Splits
from supernet.bn import recalibrate_bn
from supernet.model import SpikformerSupernet
from supernet.spike_stats import SpikeStats
from supernet.validate import count_correct_on, recal_images, val_batches

__all__ = ["Packed", "SharedStem", "StemCache", "pack", "unpack"]

log = logging.getLogger(__name__)

#: One stem record: layer name, float64 total, number of elements (:meth:`SpikeStats.add`).
Record = tuple[str, torch.Tensor, int]


def _nbytes(t: torch.Tensor) -> int:
    return t.numel() * t.element_size()


@dataclass(frozen=True)
class Packed:
    """A tensor of small integers (0 to 3) at 2 bits each, with its shape, strides and dtype."""

    data: torch.Tensor
    shape: tuple[int, ...]
    stride: tuple[int, ...]
    dtype: torch.dtype
    numel: int

    @property
    def nbytes(self) -> int:
        return _nbytes(self.data)


def pack(x: torch.Tensor) -> Packed | torch.Tensor:
    """``x`` at 2 bits per value if all its values are 0, 1, 2 or 3 and it is laid out densely
    from its storage's start (the stem's output is); otherwise a copy of ``x`` itself."""
    strides = x.stride()
    dims = sorted(range(x.dim()), key=lambda i: -strides[i])
    in_memory = x.permute(dims)
    if x.storage_offset() != 0 or not in_memory.is_contiguous():
        return x.clone()
    flat = in_memory.reshape(-1)
    small = flat.to(torch.uint8)
    if not torch.equal(small.to(x.dtype), flat) or bool((small > 3).any()):
        return x.clone()
    q = torch.nn.functional.pad(small, (0, -small.numel() % 4)).view(-1, 4)
    data = q[:, 0] | (q[:, 1] << 2) | (q[:, 2] << 4) | (q[:, 3] << 6)
    return Packed(data, tuple(x.shape), tuple(x.stride()), x.dtype, x.numel())


def unpack(p: Packed | torch.Tensor) -> torch.Tensor:
    """The tensor :func:`pack` stored: equal values, dtype, shape and strides."""
    if isinstance(p, torch.Tensor):
        return p
    q = torch.stack([(p.data >> s) & 3 for s in (0, 2, 4, 6)], dim=1).view(-1)[: p.numel]
    return q.to(p.dtype).as_strided(p.shape, p.stride)


def _stored_bytes(p: Packed | torch.Tensor) -> int:
    return p.nbytes if isinstance(p, Packed) else _nbytes(p)


@dataclass
class _Recal:
    """A stem's outputs on the recalibration batches and its BN buffers after recalibration."""

    tokens: list[Packed | torch.Tensor]
    norms: list[dict[str, torch.Tensor]]
    source: torch.Tensor  # the training images: keeps their id (in the key) from being reused

    @property
    def nbytes(self) -> int:
        return sum(map(_stored_bytes, self.tokens)) + sum(
            _nbytes(t) for buffers in self.norms for t in buffers.values()
        )


@dataclass
class _Scored:
    """A stem's outputs, the labels and the stem's spike records on each batch of a split."""

    tokens: list[Packed | torch.Tensor] = field(default_factory=list)
    labels: list[torch.Tensor] = field(default_factory=list)
    records: list[list[Record]] = field(default_factory=list)
    #: The split's and the training split's images (their ids are in the key: see _Recal.source).
    sources: tuple[torch.Tensor, ...] = ()

    @property
    def nbytes(self) -> int:
        stored = sum(map(_stored_bytes, self.tokens)) + sum(map(_nbytes, self.labels))
        return stored + sum(_nbytes(total) for batch in self.records for _, total, _ in batch)


class StemCache:
    """A byte-bounded least-recently-used map, counting hits, misses and evictions.

    Values need an ``nbytes`` attribute (what they hold). A value larger than the whole bound is
    not stored (``too_large`` counts them).
    """

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._entries: OrderedDict[Hashable, Any] = OrderedDict()
        self._sizes: dict[Hashable, int] = {}
        self.nbytes = 0
        self.hits = self.misses = self.evictions = self.too_large = 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Hashable) -> Any:
        """The value stored under ``key`` (now the most recently used), or None."""
        value = self._entries.get(key)
        if value is None:
            self.misses += 1
            return None
        self.hits += 1
        self._entries.move_to_end(key)
        return value

    def put(self, key: Hashable, value: Any) -> None:
        """Store ``value``, evicting the least recently used entries until it fits."""
        size = int(value.nbytes)
        if size > self.max_bytes:
            self.too_large += 1
            log.debug(
                "stem cache: an entry of %.1f MiB exceeds the bound, not stored", size / 2**20
            )
            return
        if key in self._entries:
            self.nbytes -= self._sizes.pop(key)
            del self._entries[key]
        while self._entries and self.nbytes + size > self.max_bytes:
            old, _ = self._entries.popitem(last=False)
            self.nbytes -= self._sizes.pop(old)
            self.evictions += 1
        self._entries[key] = value
        self._sizes[key] = size
        self.nbytes += size

    def clear(self) -> None:
        """Drop every entry (the counters stay)."""
        self._entries.clear()
        self._sizes.clear()
        self.nbytes = 0

    def summary(self) -> str:
        """One line: hits, misses, evictions and the bytes held."""
        return (
            f"stem cache: {self.hits} hits, {self.misses} misses, {self.evictions} evictions, "
            f"{len(self)} entries, {self.nbytes / 2**20:.1f} of {self.max_bytes / 2**20:.0f} MiB"
        )


class _Recorder(SpikeStats):
    """Keeps every record instead of summing (the stem's records of one batch, for replay)."""

    def __init__(self) -> None:
        super().__init__()
        self.records: list[Record] = []

    def add(self, name: str, total: torch.Tensor, elements: int) -> None:
        self.records.append((name, total, elements))


def _replay(stats: SpikeStats | None, records: list[Record]) -> None:
    if stats is not None:
        for name, total, elements in records:
            stats.add(name, total, elements)


class SharedStem:
    """Recalibration and scoring of subnets of ``net`` through a :class:`StemCache`.

    Gives what :func:`~evosnn.evaluate.evaluator.prepare_subnet` and
    :func:`~supernet.validate.count_correct` give, bit for bit, computing the stem once per key.
    """

    def __init__(self, net: SpikformerSupernet, max_bytes: int, device: torch.device | str) -> None:
        self.net, self.device = net, device
        self.cache = StemCache(max_bytes)
        self._modules = net.stem_modules()
        self._norms = [
            norm
            for module in self._modules
            for norm in module.modules()
            if isinstance(norm, nn.modules.batchnorm._BatchNorm)
        ]

    # ------------------------------------------------------------------ keys
    def _versions(self, buffers: bool) -> tuple[int, ...]:
        """In-place change counters of the stem's weights (and BN buffers if ``buffers``)."""
        tensors: list[torch.Tensor] = [p for m in self._modules for p in m.parameters()]
        if buffers:
            tensors += [b for m in self._norms for b in m.buffers()]
        return tuple(t._version for t in tensors)

    def _key(
        self, config: SubnetConfig, splits: Splits, settings: EvalSettings, split: Split | None
    ) -> tuple[Hashable, ...]:
        """What the stem's work depends on: width, T, weights and the batches it ran on.

        ``split`` None: the recalibration batches; otherwise that split's batches, after
        recalibration (or, with recalibration off, with the stem's trained BN buffers).
        """
        s = settings
        recal = (id(splits.train.images), s.recal_batches, s.recal_batch_size, s.seed)
        norm = (splits.mean, splits.std)
        genes = (config.embed_dim, config.time_steps)
        if split is None:
            return ("recal", *genes, recal, norm, self._versions(buffers=False))
        scored = (id(split.images), len(split), s.batch_size)
        return ("scored", *genes, scored, recal, norm, self._versions(not s.recal_batches))

    # ------------------------------------------------------------------ recalibration
    def prepare(self, config: SubnetConfig, splits: Splits, settings: EvalSettings) -> None:
        """Recalibrate BN for ``config`` (if ``settings.recal_batches``), then eval mode."""
        net = self.net
        net.check(config)
        if settings.recal_batches:
            key = self._key(config, splits, settings, None)
            entry: _Recal | None = self.cache.get(key)
            if entry is not None:
                tokens = (unpack(t) for t in entry.tokens)
                recalibrate_bn(net, tokens, lambda x: net.trunk(x, config))
                self._load_norms(entry.norms)
            else:
                self.cache.put(key, self._recalibrate(config, splits, settings))
        net.eval()

    def _recalibrate(self, config: SubnetConfig, splits: Splits, settings: EvalSettings) -> _Recal:
        net, stored = self.net, []

        def forward(x: torch.Tensor) -> torch.Tensor:
            tokens = net.stem(x, config.embed_dim, config.time_steps)
            stored.append(pack(tokens))
            return net.trunk(tokens, config)

        images = recal_images(
            splits.train,
            (splits.mean, splits.std),
            batches=settings.recal_batches,
            batch_size=settings.recal_batch_size,
            seed=settings.seed,
            device=self.device,
        )
        recalibrate_bn(net, images, forward)
        norms = [{k: v.clone() for k, v in m.named_buffers()} for m in self._norms]
        return _Recal(stored, norms, splits.train.images)

    def _load_norms(self, norms: list[dict[str, torch.Tensor]]) -> None:
        with torch.no_grad():
            for m, buffers in zip(self._norms, norms, strict=True):
                for name, value in buffers.items():
                    getattr(m, name).copy_(value)

    # ------------------------------------------------------------------ scoring
    def count_correct(
        self,
        config: SubnetConfig,
        split: Split,
        splits: Splits,
        settings: EvalSettings,
        stats: SpikeStats | None,
    ) -> tuple[int, int, bool]:
        """``(correct, total, finite)`` of ``config`` (prepared) on ``split``, recording into
        ``stats`` as ``net(x, config, stats)`` would."""
        net = self.net
        key = self._key(config, splits, settings, split)
        entry: _Scored | None = self.cache.get(key)
        if entry is not None:
            cached = zip(entry.tokens, entry.records, strict=True)
            batches = zip(((unpack(t), r) for t, r in cached), entry.labels, strict=True)

            def replayed(item: tuple[torch.Tensor, list[Record]]) -> torch.Tensor:
                _replay(stats, item[1])
                return net.trunk(item[0], config, stats)

            return count_correct_on(replayed, batches, len(split), device=self.device)
        fresh = _Scored(sources=(split.images, splits.train.images))
        result = count_correct_on(
            self._stem_then_trunk(config, stats, fresh),
            self._keeping_labels(split, splits, settings, fresh),
            len(split),
            device=self.device,
        )
        self.cache.put(key, fresh)
        return result

    def _stem_then_trunk(
        self, config: SubnetConfig, stats: SpikeStats | None, into: _Scored
    ) -> Callable[[torch.Tensor], torch.Tensor]:
        net = self.net

        def forward(x: torch.Tensor) -> torch.Tensor:
            recorder = _Recorder()  # always: a later hit may be asked for the records
            tokens = net.stem(x, config.embed_dim, config.time_steps, recorder)
            _replay(stats, recorder.records)
            into.tokens.append(pack(tokens))
            into.records.append(recorder.records)
            return net.trunk(tokens, config, stats)

        return forward

    def _keeping_labels(
        self, split: Split, splits: Splits, settings: EvalSettings, into: _Scored
    ) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        batches = val_batches(
            split, splits.mean, splits.std, batch_size=settings.batch_size, device=self.device
        )
        for x, labels in batches:
            into.labels.append(labels)
            yield x, labels
