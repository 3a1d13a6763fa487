"""Numbers a lesson reports: written to ``OUT_DIR/metrics.json`` for the course runner."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path

METRICS_FILE = "metrics.json"


def _plain(value: object) -> float | int | str | bool | None:
    """Turn tensors and NumPy scalars into JSON numbers; refuse what JSON cannot hold."""
    if hasattr(value, "item"):
        value = value.item()  # type: ignore[union-attr]
    if isinstance(value, bool | int | str) or value is None:
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    raise TypeError(f"metric values must be numbers or strings, got {type(value).__name__}")


def save_metrics(out_dir: str | os.PathLike, **metrics: object) -> dict:
    """Merge ``metrics`` into ``out_dir/metrics.json`` (written atomically) and return them all."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    merged = load_metrics(out)
    merged.update({name: _plain(value) for name, value in metrics.items()})
    tmp = out / (METRICS_FILE + ".tmp")
    tmp.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
    tmp.replace(out / METRICS_FILE)
    return merged


def load_metrics(out_dir: str | os.PathLike) -> dict:
    """The metrics saved so far in ``out_dir`` ({} when there are none)."""
    path = Path(out_dir) / METRICS_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise ValueError(
            f"{path} is not valid JSON ({err}); delete it and run the lesson again."
        ) from err
