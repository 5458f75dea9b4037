"""Search spaces: a YAML file declaring the data set, the supernet and the choices, validated at load.

A space file has up to eight sections (see ``search_spaces/digits-tiny.yaml``)::

    name: digits-tiny
    dataset:   {name: digits, image_size: 16, channels: 1, num_classes: 10}
    supernet:  {depth: 2, embed_dim: 64, mlp_ratio: 4.0, num_heads: 4}
    choices:   {depth: [1, 2], embed_dim: [32, 64], mlp_ratio: [2.0, 4.0], num_heads: [2, 4],
                time_steps: [2, 4], threshold: [0.8, 1.0], tau: [2.0, 10.0]}
    neuron_defaults: {threshold: 1.0, tau: 2.0, time_steps: 4}
    objectives: {max_params_m: null, alpha: -0.07, beta: -0.07, energy_target_mj: null}
    energy:    {e_mac_pj: 4.6, e_ac_pj: 0.9, convention: spikformer}
    training:  {epochs: 40}

Every problem is reported as one line naming the file and the field, e.g.
``digits-tiny.yaml: choices.embed_dim: 40 is not divisible by num_heads choice 3``.

Example (from the repository root):
    >>> space = load_space("search_spaces/digits-tiny.yaml")
    >>> space.choices.depth
    [1, 2]
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from evosnn.core.errors import SpaceError
from evosnn.core.geometry import SPIKFORMER_ATTENTION_SCALE, Geometry
from evosnn.core.mixers import DEFAULT_MIXER, MIXERS
from evosnn.core.neurons import DEFAULT_LEVEL, DEFAULT_NEURON, NEURONS

__all__ = [
    "EVENT_DATASETS",
    "Choices",
    "DatasetSpec",
    "EnergySpec",
    "NeuronDefaults",
    "Objectives",
    "SearchSpace",
    "SupernetSpec",
    "TrainingSpec",
    "load_space",
]

#: No choice list may be longer than this: a genome gene is an index, and huge lists are a typo.
MAX_CHOICES = 64

PositiveInt = Annotated[int, Field(gt=0, le=1_000_000)]
FiniteFloat = Annotated[float, Field(allow_inf_nan=False)]


class _Strict(BaseModel):
    """Unknown keys are errors; values are not silently coerced from strings."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


#: Event-camera data sets (two polarity channels, binned into T frames); see
#: ``docs/tutorials/event-data.md``. ``digits-events`` is generated in memory from the digits.
EVENT_DATASETS = ("dvs128-gesture", "cifar10-dvs", "nmnist", "digits-events")


class DatasetSpec(_Strict):
    """Which images (or event recordings) the space is searched on, and their geometry."""

    name: Literal[
        "digits",
        "digit-pairs",
        "cifar10",
        "cifar100",
        "imagefolder",
        "synthetic",
        "dvs128-gesture",
        "cifar10-dvs",
        "nmnist",
        "digits-events",
    ]
    image_size: Annotated[int, Field(ge=4, le=1024)]
    channels: Annotated[int, Field(ge=1, le=16)]
    num_classes: Annotated[int, Field(ge=2, le=100_000)]
    #: Folder for cifar10/cifar100/imagefolder; may be overridden with ``--data``.
    root: str | None = None
    #: Share of the training data held out as the validation split (the search's split).
    val_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.15
    #: Share held out as the test split where the data set has none of its own.
    test_fraction: Annotated[float, Field(gt=0.0, lt=0.9)] = 0.2
    #: Number of images of the ``synthetic`` and ``digit-pairs`` data sets (all splits together).
    synthetic_size: Annotated[int, Field(ge=20, le=1_000_000)] = 600
    #: Seed of the train/validation(/test) split (and of the ``synthetic`` images). It belongs to
    #: the space, not to a command: supernet training, the search and retraining with any
    #: ``--seed`` must see one split, or validation would hold images the supernet trained on.
    split_seed: Annotated[int, Field(ge=0)] = 0
    #: Event data only: how a recording is cut into T frames, into equal numbers of events
    #: (``count``, spikingjelly's ``split_by='number'``, Spikformer's recipe) or equal spans of
    #: time (``time``).
    binning: Literal["count", "time"] = "count"
    #: Event data only: the frame counts T binned for every recording (ascending). Filled in from
    #: ``choices.time_steps`` when left out; it may list more than the choices, so that a
    #: narrower space can reuse a supernet. Part of the data geometry.
    frames: (
        Annotated[list[Annotated[int, Field(ge=1, le=64)]], Field(min_length=1, max_length=64)]
        | None
    ) = None

    @property
    def event_input(self) -> bool:
        """True for event-camera data: the network's input is event counts (spikes), not pixels."""
        return self.name in EVENT_DATASETS

    @model_validator(mode="after")
    def _geometry(self) -> DatasetSpec:
        if self.image_size % 4:
            raise ValueError(
                f"image_size {self.image_size} must be divisible by 4 (the patch splitter pools twice)"
            )
        if self.frames is not None:
            if not self.event_input:
                raise ValueError(
                    f"frames: only event data sets are binned into frames, not {self.name}"
                )
            if self.frames != sorted(set(self.frames)):
                raise ValueError(f"frames: must be distinct and ascending, got {self.frames}")
        fixed = {
            "cifar10": (3, 10),
            "cifar100": (3, 100),
            "digits": (1, 10),
            "digit-pairs": (1, 19),
            "dvs128-gesture": (2, 11),
            "cifar10-dvs": (2, 10),
            "nmnist": (2, 10),
            "digits-events": (2, 10),
        }
        if self.name in fixed:
            channels, classes = fixed[self.name]
            if (self.channels, self.num_classes) != (channels, classes):
                raise ValueError(
                    f"{self.name} has {channels} channel(s) and {classes} classes, "
                    f"not {self.channels} and {self.num_classes}"
                )
        return self


class SupernetSpec(_Strict):
    """The largest network: every choice must fit inside it (weight entanglement slices it).

    ``attention_scale`` multiplies the spiking attention product ``q kᵀ v`` before its LIF
    (threshold 0.5). Spikformer's 0.125 suits its 64 tokens; the 16-token tiny spaces use 0.5
    (0.125 x 64/16), which raised the attention's firing 1-2.3x there. What silenced their attention
    was tau 10 with T <= 4, not the scale (docs/results/gene-sensitivity.md). Left out of
    :meth:`SearchSpace.to_dict` when it is Spikformer's, so older files compare equal.
    """

    depth: Annotated[int, Field(ge=1, le=64)]
    embed_dim: Annotated[int, Field(ge=8, le=8192)]
    mlp_ratio: Annotated[float, Field(gt=0.0, le=16.0)]
    num_heads: Annotated[int, Field(ge=1, le=512)]
    #: Max-pools of the patch splitter: 2 (after its last two stages, Spikformer's CIFAR geometry)
    #: or 4 (after each of its four stages, Spikformer's 128x128 event geometry).
    sps_pools: Literal[2, 4] = 2
    attention_scale: Annotated[float, Field(gt=0.0, le=64.0)] = SPIKFORMER_ATTENTION_SCALE
    #: Whether the token mixers that use q, k and v share one set per block (``shared``) or
    #: each have their own (``separate``); see docs/concepts/token-mixers.md.
    mixer_weights: Literal["shared", "separate"] = "shared"
    #: Whether q, k and v carry a bias: Spikformer's CIFAR model (``nn.Linear``) yes, its event
    #: model (``Conv1d(..., bias=False)``, ZK-Zhou/spikformer ``cifar10dvs/model.py``) no.
    qkv_bias: bool = True

    @model_validator(mode="after")
    def _divisible(self) -> SupernetSpec:
        if self.embed_dim % 8:
            raise ValueError(
                f"embed_dim {self.embed_dim} must be divisible by 8 (patch stages D/8)"
            )
        return self


def _choice_list(item: Any) -> Any:
    return Annotated[list[item], Field(min_length=1, max_length=MAX_CHOICES)]


class Choices(_Strict):
    """The discrete candidates of every gene. Per-block genes share one list across blocks."""

    depth: _choice_list(Annotated[int, Field(ge=1, le=64)])  # type: ignore[valid-type]
    embed_dim: _choice_list(Annotated[int, Field(ge=8, le=8192)])  # type: ignore[valid-type]
    mlp_ratio: _choice_list(Annotated[float, Field(gt=0.0, le=16.0)])  # type: ignore[valid-type]
    num_heads: _choice_list(Annotated[int, Field(ge=1, le=512)])  # type: ignore[valid-type]
    time_steps: _choice_list(Annotated[int, Field(ge=1, le=64)])  # type: ignore[valid-type]
    threshold: _choice_list(Annotated[float, Field(gt=0.0, le=100.0)])  # type: ignore[valid-type]
    tau: _choice_list(Annotated[float, Field(ge=1.0, le=1000.0)])  # type: ignore[valid-type]
    #: Token mixers of a block (:mod:`evosnn.core.mixers`); the first is the reference
    #: architecture's (:meth:`SubnetConfig.largest`). One choice: not a gene of the genome.
    mixer: _choice_list(str) = [DEFAULT_MIXER]  # type: ignore[valid-type]
    #: Neuron models of a block's projection and MLP (:mod:`evosnn.core.neurons`); the first is
    #: the reference architecture's. One choice: not a gene.
    neuron: _choice_list(str) = [DEFAULT_NEURON]  # type: ignore[valid-type]
    #: Spike levels D of the integer neuron (``ilif``), a gene where the space offers it.
    level: _choice_list(Annotated[int, Field(ge=1, le=64)]) = [DEFAULT_LEVEL]  # type: ignore[valid-type]

    @model_validator(mode="after")
    def _unique(self) -> Choices:
        for field in type(self).model_fields:
            values = getattr(self, field)
            if len(set(values)) != len(values):
                raise ValueError(f"{field}: choices must be distinct, got {values}")
        unknown = [m for m in self.mixer if m not in MIXERS]
        if unknown:
            raise ValueError(f"mixer: {unknown} not among the token mixers {list(MIXERS)}")
        unknown = [m for m in self.neuron if m not in NEURONS]
        if unknown:
            raise ValueError(f"neuron: {unknown} not among the neuron models {list(NEURONS)}")
        return self


class NeuronDefaults(_Strict):
    """The hand-picked neuron settings (Spikformer's), used for the reference largest subnet."""

    threshold: Annotated[float, Field(gt=0.0)] = 1.0
    tau: Annotated[float, Field(ge=1.0)] = 2.0
    time_steps: Annotated[int, Field(ge=1)] = 4


class Objectives(_Strict):
    """Constraints and the F_AEB fitness constants.

    ``F_AEB = accuracy * (energy / energy_target) ** w`` with ``w = alpha`` when the energy is within
    the target and ``w = beta`` above it. ``energy_target_mj: null`` means: the energy of the
    largest subnet at the default neuron settings, measured once per search and recorded.
    """

    min_params_m: Annotated[float, Field(ge=0.0, allow_inf_nan=False)] | None = None
    max_params_m: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    max_energy_mj: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    energy_target_mj: Annotated[float, Field(gt=0.0, allow_inf_nan=False)] | None = None
    alpha: FiniteFloat = -0.07
    beta: FiniteFloat = -0.07

    @model_validator(mode="after")
    def _ordered(self) -> Objectives:
        if (
            self.min_params_m is not None
            and self.max_params_m is not None
            and self.min_params_m > self.max_params_m
        ):
            raise ValueError(
                f"min_params_m {self.min_params_m} is larger than max_params_m {self.max_params_m}"
            )
        return self


class EnergySpec(_Strict):
    """The energy model: the counting convention, energy per operation and the hardware profile.

    ``spikformer`` (Spikformer's own counting): a synaptic layer's input counts ``mean value x T x
    FLOPs`` accumulates, so a residual sum of spike tensors counts each unit once. ``strict`` (the
    syops-counter tool and later spike-driven transformer papers): a layer whose input is not binary
    (the residual sums that feed q, k, v and the MLP's first layer) counts its FLOPs as
    multiply-accumulates at every time step. Both price operations at ``e_mac_pj`` / ``e_ac_pj``.
    ``memory`` (memory-aware): arithmetic plus reads and writes of weights, membrane potentials and
    spikes plus neuron updates, priced by the hardware ``profile`` (a shipped name or a profile
    YAML file) under the ``dataflow`` (see ``evosnn.objectives.memory``), with weights of
    ``weight_bits`` and potentials (accumulators) of ``potential_bits``. Every evaluation records
    every convention's figure; the objective follows ``convention``.
    """

    e_mac_pj: Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)] = 4.6
    e_ac_pj: Annotated[float, Field(ge=0.0, le=1e6, allow_inf_nan=False)] = 0.9
    convention: Literal["spikformer", "strict", "memory"] = "spikformer"
    profile: Annotated[str, Field(min_length=1, max_length=1000)] = "cmos45-horowitz"
    dataflow: Literal["event-driven", "weight-stationary"] = "event-driven"
    weight_bits: Annotated[int, Field(ge=1, le=32)] = 8
    potential_bits: Annotated[int, Field(ge=1, le=32)] = 16


class TrainingSpec(_Strict):
    """Defaults of ``evosnn supernet train`` and ``evosnn demo`` for this space (flags override).

    How a supernet must train for its inherited accuracies to rank subnets well depends on the
    task, so the space says it: digit-pairs-tiny trains 120 epochs with the ``smallest`` rule
    (the smallest architecture and one random subnet per step), which rates small subnets nearly as
    long stand-alone training does where uniform sampling under-rates them; digits-tiny keeps
    the 40 uniform epochs of the two-minute demo (README, "Supernet remedies"). These are
    defaults of a command, not part of what the space is: :meth:`SearchSpace.to_dict` leaves
    them out, so they never make two spaces differ.
    """

    epochs: PositiveInt = 40
    #: The subnets each step trains (``supernet.recipe.TrainSettings.sampling``).
    sampling: Literal["uniform", "sandwich", "smallest", "distill"] = "uniform"


class SearchSpace(_Strict):
    """A validated search space. Build it with :func:`load_space` or :meth:`from_dict`."""

    name: Annotated[str, Field(min_length=1, max_length=200)]
    description: str = ""
    dataset: DatasetSpec
    supernet: SupernetSpec
    choices: Choices
    neuron_defaults: NeuronDefaults = NeuronDefaults()
    objectives: Objectives = Objectives()
    energy: EnergySpec = EnergySpec()
    training: TrainingSpec = TrainingSpec()

    @model_validator(mode="before")
    @classmethod
    def _default_frames(cls, data: Any) -> Any:
        """Event data: bin the frame counts the space allows unless ``dataset.frames`` says more."""
        if not isinstance(data, dict):
            return data
        dataset, choices = data.get("dataset"), data.get("choices")
        if (
            isinstance(dataset, dict)
            and dataset.get("name") in EVENT_DATASETS
            and dataset.get("frames") is None
            and isinstance(choices, dict)
            and isinstance(choices.get("time_steps"), list)
            and all(isinstance(t, int) and not isinstance(t, bool) for t in choices["time_steps"])
        ):
            data = {**data, "dataset": {**dataset, "frames": sorted(set(choices["time_steps"]))}}
        return data

    @model_validator(mode="after")
    def _consistent(self) -> SearchSpace:
        net, ch = self.supernet, self.choices
        side = self.dataset.image_size
        if side % (2**net.sps_pools):
            raise ValueError(
                f"dataset.image_size {side} must be divisible by {2**net.sps_pools} "
                f"(supernet.sps_pools: {net.sps_pools} max-pools)"
            )
        frames = self.dataset.frames
        if frames is not None:
            missing = sorted(set(ch.time_steps) - set(frames))
            if missing:
                raise ValueError(
                    f"choices.time_steps: {missing} not among dataset.frames {frames} "
                    "(the frame counts binned)"
                )
        _fits("choices.depth", ch.depth, net.depth, "supernet.depth")
        _fits("choices.embed_dim", ch.embed_dim, net.embed_dim, "supernet.embed_dim")
        _fits("choices.mlp_ratio", ch.mlp_ratio, net.mlp_ratio, "supernet.mlp_ratio")
        _fits("choices.num_heads", ch.num_heads, net.num_heads, "supernet.num_heads")
        for dim in ch.embed_dim:
            if dim % 8:
                raise ValueError(
                    f"choices.embed_dim: {dim} is not divisible by 8 (patch stages D/8)"
                )
            for heads in ch.num_heads:
                if dim % heads:
                    raise ValueError(
                        f"choices.embed_dim: {dim} is not divisible by num_heads choice {heads}"
                    )
        defaults = self.neuron_defaults
        for field in ("threshold", "tau", "time_steps"):
            value = getattr(defaults, field)
            if value not in getattr(ch, field):
                raise ValueError(
                    f"neuron_defaults.{field}: {value} is not one of choices.{field} "
                    f"{getattr(ch, field)}"
                )
        return self

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_dict(cls, data: Any, *, source: str = "<search space>") -> SearchSpace:
        """Validate a plain mapping (e.g. a parsed YAML file or a checkpoint's copy)."""
        if not isinstance(data, dict):
            raise SpaceError(f"{source}: expected a mapping at the top level, got {_kind(data)}")
        try:
            return cls.model_validate(data)
        except ValidationError as exc:
            raise SpaceError(f"{source}: {_first_error(exc)}") from exc

    def to_dict(self) -> dict[str, Any]:
        """A JSON/YAML-safe copy (stored in checkpoints, studies and exports, and compared to
        tell spaces apart), without the ``training`` defaults (see :class:`TrainingSpec`)."""
        data = self.model_dump(mode="json", exclude={"training"})
        # Settings added after spaces were first stored: left out at their defaults, so spaces
        # stored in older checkpoints and studies still compare equal.
        for section, key, default in _LATE_DEFAULTS:
            if data[section].get(key) == default:
                del data[section][key]
        return data

    # ------------------------------------------------------------------ questions
    @property
    def max_depth(self) -> int:
        """Number of blocks the genome carries genes for."""
        return int(max(self.choices.depth))

    def num_subnets(self) -> int:
        """Distinct subnets: architectures x neuron settings (inert genes not counted)."""
        ch = self.choices
        per_block = self._block_operators() * self._block_neurons()
        blocks = sum(per_block ** int(d) for d in ch.depth)
        return int(len(ch.embed_dim) * len(ch.time_steps) * blocks)

    def num_architectures(self) -> int:
        """Distinct architectures, ignoring neuron settings."""
        ch = self.choices
        per_block = self._block_operators()
        return int(len(ch.embed_dim) * sum(per_block ** int(d) for d in ch.depth))

    def _block_neurons(self) -> int:
        """Distinct neuron settings of one block: each model with the genes it uses."""
        ch = self.choices
        # threshold and tau reach every registered mixer's neurons (inert_block_genes): counted
        # for every neuron model; the level only for the integer one
        levels = sum(len(ch.level) if NEURONS[name].uses_level else 1 for name in ch.neuron)
        return len(ch.threshold) * len(ch.tau) * levels

    def _block_operators(self) -> int:
        """Distinct (mixer, heads, MLP width) of one block: heads count only where they matter."""
        ch = self.choices
        mixers = sum(len(ch.num_heads) if MIXERS[m].uses_heads else 1 for m in ch.mixer)
        return mixers * len(ch.mlp_ratio)

    @property
    def geometry(self) -> Geometry:
        """The network geometry of this space (data shape, patch-splitter pools, frame bank)."""
        return Geometry.of(self)

    def shape_signature(self) -> dict[str, Any]:
        """What fixes the supernet's weight shapes: two spaces with equal signatures share weights.

        Plain data (it is shown in messages and compared with spaces stored in checkpoints).
        """
        geometry: dict[str, Any] = {
            "dataset": {
                "image_size": self.dataset.image_size,
                "channels": self.dataset.channels,
                "num_classes": self.dataset.num_classes,
            },
            "supernet": self.to_dict()["supernet"],
        }
        if self.dataset.frames is not None:
            geometry["dataset"]["frames"] = list(self.dataset.frames)
        return geometry  # late settings at their defaults are left out, as in to_dict

    def incompatibility(self, trained: SearchSpace) -> str | None:
        """Why a supernet trained on ``trained`` cannot serve this space, or None if it can.

        It can when the weight shapes agree and every choice here was sampled during training.
        """
        if self.shape_signature() != trained.shape_signature():
            return (
                f"supernet geometry {trained.shape_signature()} (space {trained.name!r}) differs "
                f"from {self.shape_signature()} (space {self.name!r})"
            )
        if self.dataset.name != trained.dataset.name:
            return f"trained on data set {trained.dataset.name!r}, not {self.dataset.name!r}"
        for field in Choices.model_fields:
            extra = set(getattr(self.choices, field)) - set(getattr(trained.choices, field))
            if extra:
                return (
                    f"choices.{field} {sorted(extra)} were never sampled while training "
                    f"(space {trained.name!r})"
                )
        return None


#: (section, key, default) of settings that :meth:`SearchSpace.to_dict` omits at their default.
_LATE_DEFAULTS = (
    ("dataset", "binning", "count"),
    ("dataset", "frames", None),
    ("supernet", "sps_pools", 2),
    ("supernet", "attention_scale", SPIKFORMER_ATTENTION_SCALE),
    ("choices", "mixer", [DEFAULT_MIXER]),
    ("choices", "neuron", [DEFAULT_NEURON]),
    ("choices", "level", [DEFAULT_LEVEL]),
    ("supernet", "mixer_weights", "shared"),
    ("supernet", "qkv_bias", True),
)


def _fits(field: str, values: list[Any], limit: float, limit_name: str) -> None:
    too_big = [v for v in values if v > limit]
    if too_big:
        raise ValueError(f"{field}: {too_big} larger than {limit_name} {limit}")


def _kind(value: Any) -> str:
    return "nothing" if value is None else type(value).__name__


def _first_error(exc: ValidationError) -> str:
    """One line for the first problem: 'field.path: message'."""
    errors = exc.errors()
    err = errors[0]
    loc = ".".join(str(p) for p in err["loc"])
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown field"
    elif err["type"] == "missing":
        message = "missing field"
    more = f" (and {len(errors) - 1} more problem(s))" if len(errors) > 1 else ""
    return f"{loc}: {message}{more}" if loc else f"{message}{more}"


def load_space(path: str | Path) -> SearchSpace:
    """Read and validate a search-space YAML file, given by path or by shipped name.

    A bare name such as ``cifar10-spikformer`` is one of the spaces shipped with evosnn
    (:mod:`evosnn.core.shipped`); a file of that name in the working folder wins.

    Raises:
        SpaceError: one line naming the file and the field at fault.
    """
    from evosnn.core.shipped import resolve_space

    path = resolve_space(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise SpaceError(f"{path}: search-space file not found") from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise SpaceError(f"{path}: cannot read search-space file ({exc})") from exc
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or "invalid YAML"
        raise SpaceError(f"{path}: not valid YAML{where}: {problem}") from exc
    space = SearchSpace.from_dict(data, source=str(path))
    _check_finite(space, path)
    return space


def _check_finite(space: SearchSpace, path: Path) -> None:
    for field in ("mlp_ratio", "threshold", "tau"):
        for value in getattr(space.choices, field):
            if not math.isfinite(value):
                raise SpaceError(f"{path}: choices.{field}: {value} is not a finite number")
