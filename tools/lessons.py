"""The course manifest: the lessons, in order, and the ONE place for their quick parameters.

Quick parameters make a lesson run in about a minute on a laptop CPU (CI, ``make course``); the
notebooks themselves keep the full-lesson defaults in their ``parameters`` cell. Only names that
the notebook's parameters cell defines are passed (papermill would warn about the others), so a
renamed parameter shows up in ``tests/test_notebooks.py`` instead of silently running full size.
The runners add ``OUT_DIR``, ``DATA_SOURCE`` (``offline`` unless asked) and ``DEVICE``.

How CI validates each solution notebook, so that none is executed twice:

| lesson                      | validated by | why                                                  |
|-----------------------------|--------------|------------------------------------------------------|
| 00_gan_game                 | nbval        | small deterministic toys: outputs worth comparing     |
| 01_mlp_gan_mnist            | papermill    | executed notebook inspected (checker lines, errors)   |
| 02_batch_norm               | nbval        | batch-norm statistics are deterministic numbers       |
| 03_dcgan_svhn               | papermill    | executed notebook inspected                           |
| 04_cyclegan_summer2winter   | papermill    | executed notebook inspected                           |
| 05_face_generation_project  | papermill    | executed notebook inspected                           |
| 06_stable_training          | papermill    | executed notebook inspected                           |
| 07_conditional_gan          | papermill    | executed notebook inspected                           |

nbval runs (``--nbval-lax``, current env) on a quick-parameterised copy made with papermill's
``parameterize_notebook`` (not executed by papermill); it compares the cells tagged
``nbval-check-output`` with the text kept in their ``metadata.nbval.expected`` (no outputs are
committed; docs/DESIGN.md). Both kinds then check OUT_DIR: metrics.json and the figures.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import nbformat

ROOT = Path(__file__).resolve().parent.parent

Validator = Literal["papermill", "nbval"]


@dataclass(frozen=True)
class Lesson:
    """One lesson of the course: ``solutions/<stem>.ipynb`` and ``notebooks/<stem>.ipynb``."""

    stem: str
    title: str
    dataset: str
    quick: dict[str, object] = field(default_factory=dict)
    validator: Validator = "papermill"
    figures: tuple[str, ...] = ("samples.png", "losses.png")  # what OUT_DIR must hold afterwards
    budget_s: float = 60.0  # a quick run should finish within this on a 2-core laptop CPU
    final: str = "samples.png"  # the picture that shows what the lesson achieved (index.html)

    @property
    def number(self) -> str:
        return self.stem[:2]

    @property
    def filename(self) -> str:
        return f"{self.stem}.ipynb"

    def solution(self, solutions_dir: Path = ROOT / "solutions") -> Path:
        return Path(solutions_dir) / self.filename

    def exercise(self, notebooks_dir: Path = ROOT / "notebooks") -> Path:
        return Path(notebooks_dir) / self.filename


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        "00_gan_game",
        "Generative models and the GAN game",
        "synthetic",
        {"STEPS": 1000, "BATCH_SIZE": 128},
        validator="nbval",
    ),
    Lesson(
        "01_mlp_gan_mnist",
        "MLP GAN on MNIST",
        "mnist",
        # lr 2e-3: ten times the full run's, so 1,100 steps cover 9 of the 10 digits
        {"STEPS": 1100, "LR": 2e-3, "BATCH_SIZE": 64, "SAMPLE_EVERY": 220, "N_EVAL": 500},
    ),
    Lesson(
        "02_batch_norm",
        "Batch normalization",
        "mnist",
        {"EPOCHS": 1, "STEPS": 600, "BATCH_SIZE": 64, "N_EVAL": 500},
        validator="nbval",
        figures=("samples.png", "losses.png", "diversity.png"),
    ),
    Lesson(
        "03_dcgan_svhn",
        "DCGAN on SVHN",
        "svhn",
        # half the width, batches of 32, lr 1e-3 (five times the full run's): digits, many of
        # them readable, after 2,400 steps (13 passes over the stand-in); experiments kept short
        {
            "EPOCHS": 13,
            "STEPS": 2400,
            "BATCH_SIZE": 32,
            "LR": 1e-3,
            "WIDTH": 16,
            "EXPERIMENT_STEPS": 25,
            "N_EVAL": 200,
        },
        budget_s=90.0,
        figures=("samples.png", "progression.png", "losses.png", "experiments.png"),
    ),
    Lesson(
        "04_cyclegan_summer2winter",
        "CycleGAN summer <-> winter",
        "summer2winter",
        {"EPOCHS": 1, "STEPS": 400, "BATCH_SIZE": 1, "IMAGE_SIZE": 32, "LR": 1e-3},
        budget_s=90.0,
        figures=("samples.png", "losses.png", "triplets.png"),
        final="triplets.png",
    ),
    Lesson(
        "05_face_generation_project",
        "Face-generation project",
        "celeba",
        {"STEPS": 850, "BATCH_SIZE": 16, "IMAGE_SIZE": 32, "N_EVAL": 500, "WIDTH": 32},
        budget_s=90.0,
        figures=("samples.png", "losses.png", "real_vs_fake.png", "neighbours.png"),
        final="real_vs_fake.png",
    ),
    Lesson(
        "06_stable_training",
        "Stable training: Wasserstein loss, gradient penalty, spectral norm",
        "synthetic",
        {"STEPS": 400, "SAMPLE_EVERY": 40},
        budget_s=90.0,
        figures=("samples.png", "losses.png", "critic_signal.png", "js_vs_em.png", "critic_1d.png"),
    ),
    Lesson(
        "07_conditional_gan",
        "Conditional GANs",
        "mnist",
        # lr 2e-3, beta1 0 and half the width: 78% of the digits show their label after 300
        # steps, a third of the colour digits after 450 (chance: 10%)
        {
            "STEPS": 300,
            "COLOUR_STEPS": 450,
            "BATCH_SIZE": 64,
            "LR": 2e-3,
            "BETA1": 0.0,
            "WIDTH": 16,
            "N_EVAL": 1000,
            "SAMPLE_EVERY": 100,
        },
        budget_s=90.0,
        figures=(
            "samples.png",
            "losses.png",
            "label_grid.png",
            "interpolation.png",
            "confusion.png",
            "label_grid_colour.png",
        ),
        final="label_grid.png",
    ),
)


def find(key: str, lessons: tuple[Lesson, ...] = LESSONS) -> Lesson:
    """A lesson by number (``"01"``, ``"1"``) or stem (``"01_mlp_gan_mnist"``)."""
    key = key.strip().removesuffix(".ipynb")
    for lesson in lessons:
        if key in (lesson.stem, lesson.number) or (
            key.isdigit() and int(key) == int(lesson.number)
        ):
            return lesson
    known = ", ".join(lesson.stem for lesson in lessons)
    raise KeyError(f"no lesson {key!r} in tools/lessons.py; known lessons: {known}")


def existing(folder: Path, lessons: tuple[Lesson, ...] = LESSONS) -> list[Lesson]:
    """The lessons whose notebook exists in ``folder`` (solutions/ or notebooks/), in order."""
    return [lesson for lesson in lessons if (Path(folder) / lesson.filename).exists()]


def unlisted(folder: Path, lessons: tuple[Lesson, ...] = LESSONS) -> list[Path]:
    """Lesson-like notebooks (``NN_*.ipynb``) in ``folder`` that the manifest does not list."""
    stems = {lesson.stem for lesson in lessons}
    return [p for p in sorted(Path(folder).glob("[0-9][0-9]_*.ipynb")) if p.stem not in stems]


def notebook_parameters(path: Path) -> set[str]:
    """The names the notebook's ``parameters`` cell assigns.

    Read with ``ast`` rather than papermill's inspect_notebook, whose line parser skips a line
    with a second ``=`` (``DEVICE = None  # None = best available``).
    """
    nb = nbformat.read(path, as_version=4)
    cells = [c for c in nb.cells if "parameters" in c.get("metadata", {}).get("tags", [])]
    if not cells:
        raise ValueError(
            f"{path} has no cell tagged `parameters`: tag the cell that sets EPOCHS, OUT_DIR, ... "
            "(docs/DESIGN.md, notebook conventions)"
        )
    try:
        tree = ast.parse(cells[0].source)
    except SyntaxError as err:
        raise ValueError(f"{path}: the parameters cell is not plain Python ({err})") from err
    names = set()
    for node in tree.body:
        targets = node.targets if isinstance(node, ast.Assign) else [getattr(node, "target", None)]
        for target in targets:
            for leaf in target.elts if isinstance(target, ast.Tuple) else [target]:
                if isinstance(leaf, ast.Name):
                    names.add(leaf.id)
    return names


def run_parameters(
    lesson: Lesson, path: Path, *, quick: bool = True, **extra: object
) -> tuple[dict[str, object], list[str]]:
    """Parameters to pass when running ``path``, and the names left out (not in the notebook).

    ``extra`` (OUT_DIR, DATA_SOURCE, DEVICE, ...) comes on top of the quick parameters; a value of
    None in ``extra`` means "leave the notebook's default".
    """
    wanted = {
        **(lesson.quick if quick else {}),
        **{k: v for k, v in extra.items() if v is not None},
    }
    names = notebook_parameters(path)
    kept = {name: value for name, value in wanted.items() if name in names}
    return kept, sorted(wanted.keys() - kept.keys())
