"""The lesson step-time benchmark: its models are the lessons' and its numbers are sane.

Only correctness is tested here; the timings themselves belong to the benchmark's own output.
"""

from __future__ import annotations

import ast
import importlib.util
import sys
from pathlib import Path

import nbformat
import pytest

from tools.solutions import definitions

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bench():
    spec = importlib.util.spec_from_file_location(
        "lesson_step_times", ROOT / "benchmarks" / "lesson_step_times.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def solution_definitions(notebook: str) -> dict:
    """The functions and classes a solution notebook defines, built on its parameters cell."""
    return definitions(notebook)


def lesson_networks(lesson: str) -> list:
    """The reference solution's networks at the lesson's full defaults, built from solutions/."""
    if lesson == "01":
        ns = solution_definitions("01_mlp_gan_mnist.ipynb")
        return [ns["Generator"](ns["Z_DIM"]), ns["Discriminator"]()]
    if lesson == "03":
        ns = solution_definitions("03_dcgan_svhn.ipynb")
        return [ns["Generator"](ns["Z_DIM"]), ns["Discriminator"]()]
    if lesson == "04":  # WIDTH = N_BLOCKS = None: 64 channels and 6 blocks at 128 px
        ns = solution_definitions("04_cyclegan_summer2winter.ipynb")
        gs = [ns["ResnetGenerator"](width=64, n_blocks=6) for _ in range(2)]
        return [*gs, *(ns["PatchDiscriminator"](width=64) for _ in range(2))]
    ns = solution_definitions("05_face_generation_project.ipynb")
    return [ns["Generator"](), ns["Discriminator"]()]


def test_benchmark_models_are_the_lessons_reference_networks(bench):
    for run in bench.FULL_RUNS:
        nets, cycle = bench.build(run)
        counts = [sum(p.numel() for p in net.parameters()) for net in nets]
        lesson = [sum(p.numel() for p in net.parameters()) for net in lesson_networks(run.lesson)]
        assert counts == lesson, run.lesson
        assert cycle == (run.lesson == "04")


def default(notebook: str, name: str) -> object:
    """A value that the solution notebook's parameters cell assigns."""
    nb = nbformat.read(ROOT / "solutions" / notebook, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    for node in ast.parse(cell.source).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return ast.literal_eval(node.value)
    raise KeyError(name)


def test_full_run_step_counts_are_the_lessons_defaults(bench):
    runs = {run.lesson: run for run in bench.FULL_RUNS}
    assert runs["01"].full_steps == default("01_mlp_gan_mnist.ipynb", "STEPS")
    svhn_epoch = 73_257 // default("03_dcgan_svhn.ipynb", "BATCH_SIZE")
    assert runs["03"].full_steps == (
        default("03_dcgan_svhn.ipynb", "EPOCHS") * svhn_epoch
        + 4 * default("03_dcgan_svhn.ipynb", "EXPERIMENT_STEPS")
    )
    assert runs["04"].full_steps == default("04_cyclegan_summer2winter.ipynb", "EPOCHS") * 962
    assert runs["05"].full_steps == default("05_face_generation_project.ipynb", "STEPS")


def test_measure_gives_a_time_and_flops_per_step(bench, one_thread):
    mlp = next(run for run in bench.FULL_RUNS if run.lesson == "01")
    result = bench.measure(mlp, steps=5, device=bench.get_device("cpu"))
    assert result["ms_per_step"] > 0 and result["full_steps"] == 25_000
    assert 0.5 < result["gflop_per_step"] < 1.0  # ~2 FLOPs per weight and image in each pass
    assert result["full_run_min"] == pytest.approx(result["ms_per_step"] * 25_000 / 60_000, abs=0.1)
