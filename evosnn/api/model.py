"""An exported architecture as a plain ``torch.nn.Module`` for a user's own training loop."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Literal

import torch

from evosnn.core.errors import CheckpointError, SettingError
from evosnn.core.validation import Choice, check_value
from evosnn.evaluate.models import build_standalone
from evosnn.reporting.export import Exported, load_export
from evosnn.training.retrain import RETRAIN_FORMAT
from supernet.checkpoint import load_weights_only

__all__ = ["load_model", "model_inputs"]

log = logging.getLogger(__name__)


def _state_dict(path: Path) -> dict[str, Any]:
    """An exported state dict, or the model of a retraining checkpoint (never unpickles code)."""
    if not path.is_file():
        raise CheckpointError(f"{path}: weights file not found")
    try:
        stored = load_weights_only(path)
    except Exception as exc:
        raise CheckpointError(f"{path}: unreadable weights file ({type(exc).__name__})") from exc
    if isinstance(stored, dict) and stored.get("format") == RETRAIN_FORMAT:
        return dict(stored["model"])
    if not isinstance(stored, dict):
        raise CheckpointError(f"{path}: not a state dict")
    return dict(stored)


def load_model(
    architecture: str | Path | Exported,
    *,
    weights: str | Path | Literal["exported"] | None = "exported",
    inference: Literal["integer", "binary"] = "integer",
) -> torch.nn.Module:
    """The stand-alone Spikformer of an exported ``trial-NNNNN.yaml``, as a ``torch.nn.Module``.

    ``weights``: ``"exported"`` loads the inherited weights written beside the file by
    ``export --with-weights`` (fresh weights, with a warning, when there are none); a path loads
    that file (an exported ``.pt`` or a ``.retrained.pt`` checkpoint); None keeps fresh weights.
    The module maps normalised images ``[B, C, H, W]`` to logits ``[B, classes]``; it repeats
    each image over its own ``T`` time steps inside. :func:`model_inputs` normalises raw images.

    ``inference``: how integer neurons (``ilif``) hand on their spikes: as integers (the training
    form) or as unit spikes on virtual steps, as spike-driven hardware runs them (the same logits;
    :meth:`supernet.standalone.Spikformer.set_inference`).

    Raises:
        SettingError: an unknown ``inference`` mode.
        ConfigError: not an exported architecture file.
        CheckpointError: unusable weights.
    """
    check_value("inference", inference, Choice(("integer", "binary")))
    exported = architecture if isinstance(architecture, Exported) else load_export(architecture)
    model = build_standalone(exported.config, exported.space)
    path: Path | None
    if weights == "exported":
        path = exported.weights_path if exported.weights_path.is_file() else None
        if path is None:
            log.warning("%s: no exported weights beside it; the model is untrained", exported.path)
    else:
        path = None if weights is None else Path(weights)
    if path is not None:
        try:
            model.load_state_dict(_state_dict(path))
        except RuntimeError as exc:
            raise CheckpointError(f"{path}: not the weights of {exported.path.name}") from exc
    return model.set_inference(inference).eval()


def model_inputs(
    architecture: str | Path | Exported,
    images: torch.Tensor,
    *,
    data_root: str | Path | None = None,
) -> torch.Tensor:
    """Raw ``images [B, C, H, W]`` (uint8, 0-255) as the model expects them: scaled to 0-1 and
    standardised with the training split's per-channel mean and std, as evosnn trains and
    evaluates (the space's data set is loaded to get them; ``data_root`` overrides its folder).

    Raises:
        SettingError: ``images`` is not a ``[B, C, H, W]`` tensor of the model's channels and
            size with values 0-255 (checked before the data set loads).
        ConfigError: not an exported architecture file.
        DataError: the space's data set (for its mean and std) is missing or malformed.
    """
    from evosnn.data.loading import load_splits
    from supernet.batches import normalize

    exported = architecture if isinstance(architecture, Exported) else load_export(architecture)
    _check_images(images, exported)
    splits = load_splits(exported.space.dataset, root=data_root)
    return normalize(images, splits.mean, splits.std)


def _check_images(images: object, exported: Exported) -> None:
    """``images`` must be raw ``[B, C, H, W]`` pixels (0-255) of the exported model's geometry.

    Raises:
        SettingError: a tensor of another shape, channel count or size, or values outside
            0-255 (NaN included).
    """
    geometry = exported.space.geometry
    side = geometry.image_size
    want = f"[B, {geometry.in_channels}, {side}, {side}]"
    if not isinstance(images, torch.Tensor):
        raise SettingError(f"images: a {type(images).__name__}, not a tensor {want}")
    if geometry.event_input:
        raise SettingError(
            f"images: {exported.path.name} takes event frames, not images; its data set's "
            "loader makes them (evosnn.data)"
        )
    if images.dim() != 4 or tuple(images.shape[1:]) != (geometry.in_channels, side, side):
        raise SettingError(
            f"images: shape {list(images.shape)}, but {exported.path.name} takes {want}"
        )
    if images.numel() and not (
        images.dtype == torch.uint8
        or bool(((images >= 0) & (images <= 255)).all())  # NaN fails both comparisons
    ):
        raise SettingError("images: raw pixels are 0-255 (uint8); found values outside, or NaN")
