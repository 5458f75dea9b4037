"""Geometry: what a network's shapes and fixed constants depend on, besides its searched genes.

One frozen value carried from the search space to the supernet, the stand-alone network, the
parameter count, the energy model and the equivalent-ANN baseline, so that none of them takes
image size, channels, classes, pools and frame bank as loose arguments (as pymoo's ``Problem``
states ``n_var, xl, xu`` once).

Example:
    >>> g = Geometry(image_size=32, in_channels=3, num_classes=10)
    >>> g.sides, g.tokens, g.event_input
    ((32, 32, 32, 16, 8), 64, False)
    >>> Geometry(image_size=128, in_channels=2, num_classes=11, sps_pools=4,
    ...          frame_bank=(4, 8)).tokens
    64
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from evosnn.core.config import sps_pool_after, sps_sides

if TYPE_CHECKING:
    from evosnn.core.space import SearchSpace

__all__ = ["SPIKFORMER_ATTENTION_SCALE", "Geometry"]

#: Spikformer's attention scale (``q kᵀ v * 0.125``, no softmax).
SPIKFORMER_ATTENTION_SCALE = 0.125


@dataclass(frozen=True)
class Geometry:
    """The data geometry and the fixed constants of a Spikformer (not searched).

    Attributes:
        image_size: input height and width (divisible by ``2 ** sps_pools``).
        in_channels: input channels (2 polarities for event data).
        num_classes: classifier outputs.
        sps_pools: max-pools of the patch splitter: 2 (CIFAR geometry) or 4 (event geometry,
            after each stage); see :func:`evosnn.core.config.sps_pool_after`.
        frame_bank: event input only: the frame counts binned per recording (ascending); the
            network's input is then a frame bank ``[B, sum(frame_bank), C, H, W]``.
        attention_scale: factor of the spiking attention product ``q kᵀ v``.
        mixer_weights: ``shared``: the token mixers that use q, k and v (``ssa``, ``sdsa``) use
            the block's one set; ``separate``: each has its own (``ssa`` the block's ``q``,
            ``k``, ``v``, another mixer ``<name>_q`` ...). See docs/concepts/token-mixers.md.
        mixers: the token mixers the blocks offer (:mod:`evosnn.core.mixers`): they decide which
            layers a supernet block holds.
        neurons: the neuron models the blocks offer (:mod:`evosnn.core.neurons`): ``plif`` adds a
            learned parameter to each projection and MLP layer.
        qkv_bias: whether q, k and v have a bias: Spikformer's CIFAR model's ``nn.Linear`` do, its
            event model's ``Conv1d(..., bias=False)`` do not.
    """

    image_size: int
    in_channels: int
    num_classes: int
    sps_pools: int = 2
    frame_bank: tuple[int, ...] = ()
    attention_scale: float = SPIKFORMER_ATTENTION_SCALE
    mixer_weights: str = "shared"
    mixers: tuple[str, ...] = ("ssa",)
    neurons: tuple[str, ...] = ("lif",)
    qkv_bias: bool = True

    def __post_init__(self) -> None:
        if self.mixer_weights not in ("shared", "separate"):
            raise ValueError(
                f"mixer_weights must be shared or separate, not {self.mixer_weights!r}"
            )
        sps_pool_after(self.sps_pools)  # 2 or 4, else ValueError
        if self.image_size % 2**self.sps_pools:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by {2**self.sps_pools} "
                f"(sps_pools {self.sps_pools})"
            )
        if self.in_channels < 1 or self.num_classes < 1:
            raise ValueError(
                f"in_channels and num_classes must be positive, got {self.in_channels} and "
                f"{self.num_classes}"
            )
        if list(self.frame_bank) != sorted(set(self.frame_bank)):
            raise ValueError(f"frame_bank must be distinct and ascending, got {self.frame_bank}")

    @classmethod
    def of(cls, space: SearchSpace) -> Geometry:
        """The geometry of ``space``: its data set's and its supernet section's constants."""
        data, net = space.dataset, space.supernet
        return cls(
            image_size=data.image_size,
            in_channels=data.channels,
            num_classes=data.num_classes,
            sps_pools=net.sps_pools,
            frame_bank=tuple(data.frames or ()),
            attention_scale=net.attention_scale,
            mixer_weights=net.mixer_weights,
            mixers=tuple(space.choices.mixer),
            neurons=tuple(space.choices.neuron),
            qkv_bias=net.qkv_bias,
        )

    @property
    def event_input(self) -> bool:
        """True for event-camera input: the first layer sees event counts, not pixels."""
        return bool(self.frame_bank)

    @property
    def sides(self) -> tuple[int, int, int, int, int]:
        """Side of the feature map each patch-splitting stage reads, then the token grid's."""
        return sps_sides(self.image_size, self.sps_pools)

    def qkv_names(self, mixer: str) -> tuple[str, str, str]:
        """The block's layer names of ``mixer``'s q, k and v (see ``mixer_weights``)."""
        prefix = "" if self.mixer_weights == "shared" or mixer == "ssa" else f"{mixer}_"
        return f"{prefix}q", f"{prefix}k", f"{prefix}v"

    @property
    def tokens(self) -> int:
        """Number of tokens ``N`` the blocks see."""
        return self.sides[4] ** 2
