"""Training on several processes with torchrun (gloo on the CPU): the same loop, unchanged.

Each test starts real processes with torchrun (tests/distributed_run.py trains a small MLP GAN on
the offline digits with ``train.fit``); nothing is simulated.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from ganlib import checkpoint

ROOT = Path(__file__).resolve().parents[1]
TORCHRUN = Path(sys.executable).parent / "torchrun"
SCRIPT = ROOT / "tests" / "distributed_run.py"

pytestmark = pytest.mark.skipif(
    not torch.distributed.is_available(), reason="this torch has no torch.distributed"
)


ENV = {**os.environ, "OMP_NUM_THREADS": "1", "PYTHONPATH": str(ROOT), "TQDM_DISABLE": "1"}


def torchrun(processes: int, *args: object, module: bool = False) -> subprocess.CompletedProcess:
    target = ["-m", "ganlib"] if module else [str(SCRIPT)]
    command = [str(TORCHRUN), "--standalone", f"--nproc_per_node={processes}", *target]
    return subprocess.run(
        [*command, *map(str, args)], cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300
    )


def alone(*args: object) -> subprocess.CompletedProcess:
    """The same script in one plain process, without torchrun."""
    return subprocess.run(
        [sys.executable, str(SCRIPT), *map(str, args)],
        cwd=ROOT, env=ENV, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def result(out: Path) -> dict:
    return json.loads((out / "result.json").read_text())


def test_two_processes_train_in_lockstep_with_identical_weights(tmp_path):
    done = torchrun(2, "--out", tmp_path, "--steps", 8)
    assert done.returncode == 0, done.stderr[-2000:]
    run = result(tmp_path)
    assert run["steps"] == 8 and run["world_size"] == 2
    assert run["biggest"] == 0.0  # every parameter equal in both processes after every step
    state = checkpoint.load_checkpoint(tmp_path / "checkpoint.pt")
    assert state["step"] == 8 and state["world_size"] == 2 and len(state["rng"]) == 2
    assert not (tmp_path / "checkpoint.pt.tmp").exists()


def test_a_killed_run_resumes_to_the_weights_of_an_uninterrupted_one(tmp_path):
    whole, killed = tmp_path / "whole", tmp_path / "killed"
    assert torchrun(2, "--out", whole, "--steps", 12).returncode == 0
    crashed = torchrun(2, "--out", killed, "--steps", 12, "--die-at", 7)  # rank 1 dies in step 7
    assert crashed.returncode != 0
    assert checkpoint.load_checkpoint(killed / "checkpoint.pt")["step"] == 6
    resumed = torchrun(2, "--out", killed, "--steps", 12)
    assert resumed.returncode == 0, resumed.stderr[-2000:]
    assert torch.equal(torch.load(killed / "weights.pt"), torch.load(whole / "weights.pt"))
    assert result(killed)["d_loss"] == result(whole)["d_loss"]

    # the same checkpoint continues in one process, too (new random draws, same place in the data)
    one = alone("--out", killed, "--steps", 16)
    assert one.returncode == 0, one.stderr[-2000:]
    assert result(killed)["steps"] == 16 and result(killed)["world_size"] == 1


def test_two_processes_learn_as_well_as_one_with_the_same_total_batch(tmp_path):
    """300 steps of batch 2 x 16 against 300 steps of batch 32 in one process (FID, digits)."""
    two, one = tmp_path / "two", tmp_path / "one"
    common = ["--steps", 300, "--lr", 1e-3, "--no-check", "--fid"]
    assert torchrun(2, "--out", two, "--batch-size", 16, *common).returncode == 0
    single = alone("--out", one, "--batch-size", 32, *common)
    assert single.returncode == 0, single.stderr[-2000:]
    fid_two, fid_one = result(two)["fid"], result(one)["fid"]
    untrained = result(one)["fid_untrained"]
    print(f"FID after 300 steps: 2 processes {fid_two:.1f}, 1 process {fid_one:.1f}, "
          f"untrained {untrained:.1f}")  # fmt: skip
    assert fid_two < 0.5 * untrained and fid_one < 0.5 * untrained  # both learned
    assert fid_two < 1.5 * fid_one  # and comparably well


def test_the_command_line_trains_under_torchrun(tmp_path):
    out = tmp_path / "cli"
    args = ["train", "mlp", "--data", "mnist", "--source", "offline", "--steps", 6,
            "--width", 16, "--checkpoint-every", 3, "--out", out, "--quiet"]  # fmt: skip
    done = torchrun(2, *args, module=True)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.count("mlp: 6 steps on 2 processes") == 1  # rank 0 speaks for both
    assert checkpoint.load_checkpoint(out / "checkpoint.pt")["world_size"] == 2
    again = torchrun(2, *[a if a != 6 else 9 for a in args], module=True)
    assert again.returncode == 0 and "mlp: 9 steps on 2 processes" in again.stdout
