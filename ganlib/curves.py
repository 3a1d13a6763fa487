"""What a training run recorded (per-step curves, sample snapshots), read from whatever holds it.

A run's history comes in three shapes, and the plots and the live view take all of them:

* a ``ganlib.train.History``: ``history.values`` maps each name the step function returned
  (``d_loss``, ``g_loss``, ``cycle``, ...) to one number per step;
* the History of earlier course versions: lists ``d_loss``, ``g_loss``, ``d_real``, ``d_fake``
  and a dict ``extra`` of further losses;
* a plain dict of lists, e.g. ``History.as_dict()`` from a checkpoint, or your own.

:func:`loss_names` picks the curves that are losses: names that end in "loss" (``d_loss``,
``d_a_loss``, ...) and CycleGAN's parts of the generator loss, ``g_gan``, ``cycle`` and
``identity``. :func:`snapshots` gives the ``(step, images)`` pairs of ``history.samples``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import numpy as np
from torch import Tensor

__all__ = ["named_lists", "curves", "loss_names", "snapshots", "LOSS_PARTS"]

#: CycleGAN's parts of the generator loss: plotted with the losses, though not named "..._loss".
LOSS_PARTS = ("g_gan", "cycle", "identity")
#: What the History of earlier course versions held as attributes (further losses in ``extra``).
OLD_HISTORY_FIELDS = ("d_loss", "g_loss", "d_real", "d_fake")


def named_lists(history: object) -> Mapping[str, object]:
    """The history's per-step values by name, as stored (not copied, not checked).

    Raises TypeError for something that is no history, naming what was passed.
    """
    values = getattr(history, "values", None)  # a dict's .values is a method, not a Mapping
    if isinstance(values, Mapping):
        return values
    if not isinstance(history, Mapping) and any(hasattr(history, f) for f in OLD_HISTORY_FIELDS):
        lists = {f: getattr(history, f) for f in OLD_HISTORY_FIELDS if hasattr(history, f)}
        history = {**lists, "extra": getattr(history, "extra", {})}
    if not isinstance(history, Mapping):
        raise TypeError(
            "expected a ganlib.train.History or a dict of per-step lists (name -> one number "
            f"per step), got {type(history).__name__}"
        )
    if isinstance(history.get("values"), Mapping):  # the dict of a History (as_dict)
        return history["values"]
    extra = history.get("extra")
    return {**history, **extra} if isinstance(extra, Mapping) else history


def _number_list(values: object) -> list[float] | None:
    """``values`` as a list of floats, or None when it is no non-empty list of numbers."""
    if isinstance(values, Tensor):
        values = values.detach().cpu().flatten().tolist()
    if not isinstance(values, Sequence | np.ndarray) or isinstance(values, str) or len(values) == 0:
        return None
    numbers = []
    for value in values:
        if isinstance(value, Tensor) and value.numel() == 1:
            value = value.item()
        if not isinstance(value, int | float | np.number):
            return None
        numbers.append(float(value))
    return numbers


def curves(history: object) -> dict[str, list[float]]:
    """Every per-step number list of ``history`` by name, as floats, in the history's order."""
    found = {name: _number_list(values) for name, values in named_lists(history).items()}
    return {name: values for name, values in found.items() if values is not None}


def loss_names(names: Iterable[str]) -> list[str]:
    """The names that are losses, in the given order (see the module's docstring)."""
    return [name for name in names if name.lower().endswith("loss") or name in LOSS_PARTS]


def snapshots(history: object) -> Sequence:
    """The ``(step, images)`` snapshots of ``history.samples`` (a History or its dict); [] if none."""
    samples = history.get("samples") if isinstance(history, Mapping) else None
    if samples is None:
        samples = getattr(history, "samples", None)
    return samples if samples is not None else []
