"""The ground the course stands on: device choice, seeding, packaging metadata, git hygiene."""

from __future__ import annotations

import json
import random
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from ganlib import device as dev
from ganlib import report

ROOT = Path(__file__).resolve().parents[1]


# --- ganlib.device -----------------------------------------------------------------------------


def test_get_device_defaults_to_best_available(monkeypatch):
    monkeypatch.delenv(dev.DEVICE_ENV, raising=False)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    assert dev.get_device() == torch.device("cpu")
    monkeypatch.setattr(dev, "_mps_available", lambda: True)
    assert dev.get_device() == torch.device("mps")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.get_device() == torch.device("cuda")


def test_get_device_argument_beats_environment(monkeypatch):
    monkeypatch.setenv(dev.DEVICE_ENV, "cuda")
    assert dev.get_device("cpu") == torch.device("cpu")


def test_get_device_environment_override(monkeypatch):
    monkeypatch.setenv(dev.DEVICE_ENV, "cpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert dev.get_device() == torch.device("cpu")


def test_get_device_missing_gpu_is_a_clear_error(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(RuntimeError, match="no CUDA GPU"):
        dev.get_device("cuda")
    monkeypatch.setattr(dev, "_mps_available", lambda: False)
    with pytest.raises(RuntimeError, match="MPS is not available"):
        dev.get_device("mps")


def test_get_device_unknown_name(monkeypatch):
    monkeypatch.setenv(dev.DEVICE_ENV, "gpu-please")
    with pytest.raises(ValueError, match="GANLIB_DEVICE"):
        dev.get_device()


def test_seed_everything_repeats_all_generators():
    def draw():
        return random.random(), np.random.rand(), torch.rand(3)

    dev.seed_everything(123)
    first = draw()
    dev.seed_everything(123)
    second = draw()
    assert first[0] == second[0] and first[1] == second[1]
    assert torch.equal(first[2], second[2])
    dev.seed_everything(124)
    assert draw()[0] != first[0]
    with pytest.raises(TypeError):
        dev.seed_everything("123")  # type: ignore[arg-type]


def test_in_colab(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert dev.in_colab() is False
    monkeypatch.setitem(sys.modules, "google.colab", object())
    assert dev.in_colab() is True


# --- ganlib.report -----------------------------------------------------------------------------


def test_save_metrics_merges_and_converts(tmp_path):
    report.save_metrics(tmp_path, fid=torch.tensor(12.5), steps=np.int64(3))
    merged = report.save_metrics(tmp_path, coverage=0.9, bad=float("nan"))
    assert merged == {"fid": 12.5, "steps": 3, "coverage": 0.9, "bad": None}
    assert json.loads((tmp_path / "metrics.json").read_text()) == merged
    with pytest.raises(TypeError, match="numbers or strings"):
        report.save_metrics(tmp_path, losses=[1.0, 2.0])


def test_load_metrics_names_a_corrupt_file(tmp_path):
    assert report.load_metrics(tmp_path) == {}
    (tmp_path / "metrics.json").write_text("{not json")
    with pytest.raises(ValueError, match="metrics.json"):
        report.load_metrics(tmp_path)


# --- packaging ---------------------------------------------------------------------------------


def _pyproject() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~ \[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


CONDA_TO_PYPI = {"pytorch": "torch"}


def test_environment_yml_names_the_same_packages_as_pyproject():
    project = _pyproject()["project"]
    pyproject_names = {_name(r) for r in project["dependencies"]}
    for extra in ("offline", "dev"):
        pyproject_names |= {_name(r) for r in project["optional-dependencies"][extra]}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    conda_names = {
        CONDA_TO_PYPI.get(_name(dep), _name(dep))
        for dep in env["dependencies"]
        if isinstance(dep, str) and _name(dep) not in {"python", "pip"}
    }
    assert conda_names == pyproject_names, (
        f"only in environment.yml: {sorted(conda_names - pyproject_names)}; "
        f"only in pyproject.toml: {sorted(pyproject_names - conda_names)}"
    )


# What Google Colab ships: the package's own requirements must admit it, so installing the course
# there never replaces the learner's torch.
COLAB = {"torch": "2.11.0", "torchvision": "0.26.0", "ipywidgets": "7.7.1", "matplotlib": "3.10.0"}


def test_runtime_requirements_admit_colab_and_the_lock():
    from packaging.requirements import Requirement

    project = _pyproject()["project"]
    requirements = {Requirement(r).name.lower(): Requirement(r) for r in project["dependencies"]}
    for name, version in COLAB.items():
        assert version in requirements[name].specifier, f"{name} {version} (Colab) is excluded"
    assert all(r.specifier and "==" not in str(r.specifier) for r in requirements.values()), (
        "runtime requirements must be ranges, not pins"
    )
    from packaging.specifiers import SpecifierSet

    assert "3.13" in SpecifierSet(project["requires-python"])
    locked = dict(
        line.split("==", 1)
        for line in (ROOT / "constraints.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    )
    assert locked["torch"] == "2.14.1" and locked["torchvision"] == "0.29.1"
    for name, requirement in requirements.items():
        assert name in locked, f"{name} is not pinned in constraints.txt"
        assert locked[name] in requirement.specifier, f"the lock's {name} breaks pyproject's range"


# --- repository hygiene ------------------------------------------------------------------------


def _tracked(pattern: str) -> list[Path]:
    out = subprocess.run(
        ["git", "ls-files", pattern], cwd=ROOT, capture_output=True, text=True, check=False
    )
    if out.returncode != 0:
        pytest.skip("not a git checkout")
    return [ROOT / p for p in out.stdout.split()]


def test_committed_notebooks_carry_no_outputs():
    dirty = []
    for path in _tracked("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code" and (cell.get("outputs") or cell.get("execution_count")):
                dirty.append(path.relative_to(ROOT))
                break
        assert nb["metadata"]["kernelspec"]["name"] == "python3", f"{path}: kernelspec"
    assert not dirty, f"notebooks committed with outputs (run nbstripout): {dirty}"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in readme.split("##")[0] + readme.split("##")[1]
    assert re.search(r"^make test$", ci, flags=re.M)
    assert "TQDM_DISABLE=1" in ci


def test_cuda_means_this_process_gpu_under_torchrun(monkeypatch):
    monkeypatch.setenv("LOCAL_RANK", "3")
    monkeypatch.setenv("WORLD_SIZE", "4")
    assert dev._own_gpu(torch.device("cuda")) == torch.device("cuda", 3)
    assert dev._own_gpu(torch.device("cuda", 1)) == torch.device("cuda", 1)  # asked for: kept
    assert dev._own_gpu(torch.device("cpu")) == torch.device("cpu")
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert dev._own_gpu(torch.device("cuda")) == torch.device("cuda")
