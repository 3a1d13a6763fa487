"""Checkpoints: write atomically, read safely, fail with a message that names the file.

* :func:`save_checkpoint` writes to a temporary file and renames it over the old one, so a run
  killed while saving leaves the previous checkpoint intact.
* :func:`load_checkpoint` uses ``torch.load(weights_only=True)``: it only rebuilds tensors and
  plain Python values, never runs code stored in the file. Everything saved here (including the
  random-number generator states) is kept in that form.
"""

from __future__ import annotations

import os
import random
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CHECKPOINT_FILE",
    "CheckpointError",
    "save_checkpoint",
    "load_checkpoint",
    "load_weights",
    "rng_state",
    "set_rng_state",
]

CHECKPOINT_FILE = "checkpoint.pt"


class CheckpointError(RuntimeError):
    """A checkpoint file cannot be used: truncated, not a checkpoint, or for other models."""


def save_checkpoint(path: str | os.PathLike, state: dict[str, Any]) -> Path:
    """Save ``state`` to ``path`` atomically (temporary file, fsync, then ``os.replace``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)
    return path


def load_checkpoint(path: str | os.PathLike, map_location: str | torch.device = "cpu") -> dict:
    """Read a checkpoint written by :func:`save_checkpoint` (``weights_only=True``)."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any unreadable file gets the same clear message
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CheckpointError(
            f"cannot read checkpoint {path}: the file is truncated or not a ganlib checkpoint "
            f"({first[:200]}). Delete it to start afresh."
        ) from None
    if not isinstance(state, dict) or "models" not in state:
        raise CheckpointError(f"{path} is not a ganlib training checkpoint (no 'models' entry)")
    return state


def load_weights(
    module: nn.Module, state_dict: dict, *, name: str, path: str | os.PathLike
) -> None:
    """``module.load_state_dict(state_dict)``, with an error that names the model and the file."""
    try:
        module.load_state_dict(state_dict)
    except RuntimeError as err:
        detail = str(err).strip().splitlines()
        hint = detail[1].strip() if len(detail) > 1 else detail[0] if detail else ""
        raise CheckpointError(
            f"checkpoint {path} holds a {name} that does not fit {type(module).__name__} "
            f"({hint[:200]}). Build the model with the same arguments as the run that wrote it, "
            f"or train into a new out_dir."
        ) from None


def rng_state() -> dict[str, Any]:
    """The states of Python's, NumPy's and torch's (CPU and CUDA) random generators.

    Stored as tensors and plain values so the checkpoint loads with ``weights_only=True``.
    """
    version, internal, gauss = random.getstate()
    name, keys, pos, has_gauss, cached = np.random.get_state()
    return {
        "python": [version, torch.tensor(internal, dtype=torch.int64), gauss],
        "numpy": [name, torch.from_numpy(keys.astype(np.int64)), pos, has_gauss, cached],
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def set_rng_state(state: dict[str, Any]) -> None:
    """Restore the generators saved by :func:`rng_state`."""
    version, internal, gauss = state["python"]
    random.setstate((version, tuple(internal.tolist()), gauss))
    name, keys, pos, has_gauss, cached = state["numpy"]
    np.random.set_state((name, keys.numpy().astype(np.uint32), pos, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
