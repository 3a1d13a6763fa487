"""Stand-ins for the two shapes of ``ganlib.train.History`` that the plots and the live view read.

``History`` is shaped like the training loop's History (``values`` by name, attribute and item
access, ``samples``); ``old_history()`` like the one of earlier course versions (fixed loss
lists and an ``extra`` dict). The tests use these rather than ``ganlib.train`` so that they say what
``viz`` and ``live`` rely on, whichever trainer is current.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType, SimpleNamespace

import torch

CLASSIC = ("d_loss", "g_loss", "d_real", "d_fake")


@dataclass
class History:
    """``values``: name -> one number per step, in first-seen order; ``samples``: snapshots."""

    values: dict[str, list[float]] = field(default_factory=dict)
    samples: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    inputs: torch.Tensor | None = None

    def __getattr__(self, name: str) -> list[float]:
        values = self.__dict__.get("values", {})
        if name in values:
            return values[name]
        raise AttributeError(name)

    def __getitem__(self, name: str) -> list[float]:
        return self.values[name]

    @property
    def steps(self) -> int:
        return max((len(v) for v in self.values.values()), default=0)

    @property
    def extra(self) -> MappingProxyType:
        return MappingProxyType({k: v for k, v in self.values.items() if k not in CLASSIC})

    def append(self, **step_values: float) -> None:
        for name, value in step_values.items():
            self.values.setdefault(name, []).append(float(value))

    def as_dict(self) -> dict:
        return {
            "values": {name: list(v) for name, v in self.values.items()},
            "samples": [[step, images] for step, images in self.samples],
            "inputs": self.inputs,
        }


def old_history(
    *, samples: list | None = None, extra: dict | None = None, **lists: list[float]
) -> SimpleNamespace:
    """The History of earlier course versions: four loss lists, ``extra`` for further losses."""
    return SimpleNamespace(
        **{name: list(lists.get(name, [])) for name in CLASSIC},
        samples=list(samples or []),
        extra=dict(extra or {}),
    )
