"""Where to run and how to make runs repeatable.

``get_device()`` picks the fastest device the machine has, so the same notebook runs on a laptop
CPU, an Apple GPU or a Colab GPU without edits. ``seed_everything()`` makes a run repeatable.
"""

from __future__ import annotations

import os
import random
import sys

import numpy as np
import torch

DEVICE_ENV = "GANLIB_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the device to train on.

    Order: the ``prefer`` argument, then the ``GANLIB_DEVICE`` environment variable, then
    ``cuda``, ``mps`` and finally ``cpu``. Asking for a device the machine lacks is an error that
    says what is available, rather than a crash later inside torch.
    """
    choice = prefer if prefer is not None else os.environ.get(DEVICE_ENV) or None
    if choice is None:
        if torch.cuda.is_available():
            return torch.device("cuda")
        if _mps_available():
            return torch.device("mps")
        return torch.device("cpu")

    try:
        device = torch.device(choice)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"Unknown device {choice!r}: use 'cpu', 'cuda', 'cuda:0' or 'mps' "
            f"(set by {'argument' if prefer is not None else DEVICE_ENV})."
        ) from err
    if device.type == "cuda" and not torch.cuda.is_available():
        raise RuntimeError(
            f"Device {choice!r} was asked for, but this machine has no CUDA GPU. "
            f"Use 'cpu' (or unset {DEVICE_ENV}); on Colab pick Runtime > Change runtime type > GPU."
        )
    if device.type == "mps" and not _mps_available():
        raise RuntimeError(f"Device {choice!r} was asked for, but MPS is not available here.")
    return device


def seed_everything(seed: int) -> None:
    """Seed Python, NumPy and torch (CPU and every GPU) so a run can be repeated."""
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"seed must be an int, got {type(seed).__name__}")
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    if torch.cuda.is_available():
        torch.cuda.manual_seed_all(seed)


def in_colab() -> bool:
    """True when running inside Google Colab."""
    return "google.colab" in sys.modules
