"""Google Colab: keep a lesson's runs and data on Google Drive, and check that a GPU is there.

A Colab runtime is recycled after a while idle (or at most about 12 hours), and its disk goes with
it: checkpoints, downloaded datasets, everything. Each lesson's first cell calls :func:`setup`,
which on Colab mounts Google Drive (Colab asks you to allow it) and moves the notebook's working
folder to ``MyDrive/gan-course``. Every lesson writes to a relative ``OUT_DIR`` (``runs/...``), so
its checkpoints land on Drive, and downloads go to ``MyDrive/gan-course/data``
(``GANLIB_DATA_DIR``): in a new runtime, running the notebook again resumes training where the
checkpoint stopped and finds the data without downloading it again. Anywhere else ``setup`` does
nothing.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .device import in_colab

__all__ = ["setup", "Setup", "in_colab", "GPU_MENU"]

#: Where Colab's menu turns on a GPU.
GPU_MENU = "Runtime > Change runtime type > Hardware accelerator: T4 GPU"
DRIVE_ROOT = "/content/drive"
COURSE_FOLDER = "gan-course"


@dataclass(frozen=True)
class Setup:
    """What :func:`setup` found: ``folder`` (where runs and data are kept; None: the runtime's own
    disk), ``gpu`` (its name, or None) and whether this is Colab at all."""

    colab: bool
    folder: Path | None = None
    gpu: str | None = None


def setup(
    drive: bool = True, *, folder: str = COURSE_FOLDER, drive_root: str = DRIVE_ROOT
) -> Setup:
    """On Colab: mount Google Drive (``drive=True``) and work in ``MyDrive/<folder>``, so runs and
    downloads outlive the runtime; say which GPU this runtime has, or how to get one. Elsewhere:
    nothing (returns ``Setup(colab=False)``)."""
    if not in_colab():
        return Setup(colab=False)
    kept = _use_drive(folder, drive_root) if drive else None
    if kept is None:
        print(
            "Runs and downloads stay on this runtime's disk: they are lost when Colab recycles "
            "the runtime. Call colab.setup(drive=True) and allow Drive to keep them."
        )
    return Setup(colab=True, folder=kept, gpu=_report_gpu())


def _use_drive(folder: str, drive_root: str) -> Path | None:
    """Mount Drive and make ``MyDrive/<folder>`` the working folder and the data cache."""
    try:
        from google.colab import drive  # type: ignore[import-not-found]

        drive.mount(drive_root)
    except Exception as err:  # noqa: BLE001 - declined, timed out, or Drive unavailable
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        print(f"Google Drive was not mounted ({first[:120]}).")
        return None
    course = Path(drive_root) / "MyDrive" / folder
    course.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("GANLIB_DATA_DIR", str(course / "data"))
    os.chdir(course)
    print(
        f"Google Drive mounted: this notebook now works in {course}. OUT_DIR (runs/...) and the "
        f"downloaded data ({os.environ['GANLIB_DATA_DIR']}) are kept there, so in a new runtime "
        "running the notebook again resumes training and does not download again."
    )
    return course


def _report_gpu() -> str | None:
    import torch

    if not torch.cuda.is_available():
        print(
            f"WARNING: this runtime has no GPU, so training runs on a slow CPU. To get one: "
            f"{GPU_MENU}, then run the notebook again from the top."
        )
        return None
    name = torch.cuda.get_device_name(0)
    memory = torch.cuda.get_device_properties(0).total_memory / 2**30
    print(f"GPU: {name} ({memory:.0f} GiB)")
    return name
