"""The one device convention: ``cpu``, ``cuda`` or ``cuda:N``, checked in one place.

Every command that runs a network takes ``--device`` and checks it here before any work starts:
an unknown device (``tpu``), a malformed index (``cuda:x``), CUDA absent, or an index beyond the
GPUs this machine has is one clear error. Ray workers take GPUs by ``--gpus-per-worker`` (each
worker then sees its own GPU as ``cuda``); ``--device`` is the device of this process.
"""

from __future__ import annotations

import re

from evosnn.core.errors import EvosnnError

__all__ = ["check_device", "parse_device"]

_DEVICE = re.compile(r"^(cpu|cuda)(?::(\d+))?$")


def parse_device(text: str) -> tuple[str, int | None]:
    """``(kind, index)`` of a device name, without asking the hardware.

    Raises:
        EvosnnError: not ``cpu``, ``cuda`` or ``cuda:N``.
    """
    match = _DEVICE.match(text.strip().lower())
    if match is None or (match.group(1) == "cpu" and match.group(2) is not None):
        raise EvosnnError(f"--device {text!r}: not a device; use cpu, cuda or cuda:N")
    return match.group(1), None if match.group(2) is None else int(match.group(2))


def check_device(text: str) -> str:
    """The canonical name of a device that exists on this machine (``cpu``, ``cuda``, ``cuda:N``).

    Raises:
        EvosnnError: malformed, CUDA not available, or an index beyond the GPUs present.
    """
    kind, index = parse_device(text)
    if kind == "cpu":
        return "cpu"
    import torch

    if not torch.cuda.is_available():
        raise EvosnnError(
            f"--device {text}: CUDA is not available on this machine (torch "
            f"{torch.__version__}); use --device cpu, or install a CUDA build of torch"
        )
    count = torch.cuda.device_count()
    if index is not None and index >= count:
        raise EvosnnError(
            f"--device {text}: this machine has {count} CUDA device(s) (cuda:0 to cuda:{count - 1})"
        )
    return kind if index is None else f"{kind}:{index}"
