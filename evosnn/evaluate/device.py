"""The one device convention: ``cpu``, ``cuda`` or ``cuda:N``, checked in one place.

Every command that runs a network takes ``--device`` and checks it here before any work starts:
an unknown device (``tpu``), a malformed index (``cuda:x``), CUDA absent, or an index beyond the
GPUs this machine has is one clear error. Ray workers take GPUs by ``--gpus-per-worker`` (each
worker then sees its own GPU as ``cuda``); ``--device`` is the device of this process.
"""

from __future__ import annotations

from evosnn.core.errors import SettingError
from evosnn.core.validation import Device

__all__ = ["check_device", "parse_device"]


def parse_device(text: str) -> tuple[str, int | None]:
    """``(kind, index)`` of a device name, without asking the hardware.

    Raises:
        SettingError: not ``cpu``, ``cuda`` or ``cuda:N``.
    """
    try:
        return Device().split(text)
    except ValueError as exc:
        raise SettingError(f"device {text!r}: {exc}") from None


def check_device(text: str) -> str:
    """The canonical name of a device that exists on this machine (``cpu``, ``cuda``, ``cuda:N``).

    Raises:
        SettingError: malformed, CUDA not available, or an index beyond the GPUs present.
    """
    kind, index = parse_device(text)
    if kind == "cpu":
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        raise SettingError(
            f"device {text!r}: CUDA is not available on this machine (torch "
            f"{torch.__version__}); use cpu, or install a CUDA build of torch"
        )
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        raise SettingError(
            f"device {text!r}: this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})"
        )
    return kind if index is None else f"{kind}:{index}"
