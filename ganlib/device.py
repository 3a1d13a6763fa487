"""Where networks run, how they run when nobody trains them, and how to make runs repeatable.

``get_device()`` picks the fastest device the machine has, so the same notebook runs on a laptop
CPU, an Apple GPU or a Colab GPU without edits; ``module_device(net)`` says where a network lives.
``eval_mode(G)`` runs a network for pictures or measurements (eval mode, no gradients) and gives
it back in its own mode. ``seed_everything()`` makes a run repeatable.
"""

from __future__ import annotations

import itertools
import os
import random
import sys
from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

DEVICE_ENV = "GANLIB_DEVICE"


def _mps_available() -> bool:
    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def get_device(prefer: str | torch.device | None = None) -> torch.device:
    """Return the device to train on.

    Order: the ``prefer`` argument, then the ``GANLIB_DEVICE`` environment variable, then
    ``cuda``, ``mps`` and finally ``cpu``. Asking for a device the machine lacks is an error that
    says what is available, rather than a crash later inside torch. Under ``torchrun`` a plain
    ``cuda`` means this process's own GPU, ``cuda:<LOCAL_RANK>``.
    """
    choice = prefer if prefer is not None else os.environ.get(DEVICE_ENV) or None
    if choice is None:
        if torch.cuda.is_available():
            return _own_gpu(torch.device("cuda"))
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
    return _own_gpu(device)


def _own_gpu(device: torch.device) -> torch.device:
    """``cuda`` without an index is ``cuda:<LOCAL_RANK>`` in a process that torchrun started."""
    if device.type != "cuda" or device.index is not None:
        return device
    local = os.environ.get("LOCAL_RANK")
    several = int(os.environ.get("WORLD_SIZE", "1")) > 1
    return torch.device("cuda", int(local)) if local is not None and several else device


def module_device(module: nn.Module) -> torch.device:
    """Where ``module``'s first parameter (or buffer) lives; the CPU when it has none."""
    tensor = next(itertools.chain(module.parameters(), module.buffers()), None)
    return tensor.device if tensor is not None else torch.device("cpu")


@contextmanager
def eval_mode(*models: object) -> Iterator[None]:
    """Run ``models`` in eval mode and without gradients; each gets its own mode back afterwards.

    Eval mode matters for sampling: batch norm then uses its running statistics and dropout is
    off. Every submodule's mode is restored as it was (a frozen batch norm inside a training
    model stays frozen). Arguments that are no ``nn.Module`` (a plain function, None) are skipped.
    """
    networks = [model for model in models if isinstance(model, nn.Module)]
    modules = [m for network in networks for m in network.modules()]
    was_training = [m.training for m in modules]
    for network in networks:
        network.eval()
    try:
        with torch.no_grad():
            yield
    finally:
        for m, mode in zip(modules, was_training, strict=True):
            m.training = mode


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
