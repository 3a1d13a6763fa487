"""Atomic saves, safe loads, RNG round trips and clear errors for bad checkpoints."""

import random

import numpy as np
import pytest
import torch

from ganlib import checkpoint, models, train
from ganlib.checkpoint import CheckpointError

pytestmark = pytest.mark.usefixtures("one_thread")


class Loader:
    def __len__(self):
        return 2

    def epoch_batches(self, epoch, start=0):
        for i in range(start, 2):
            yield torch.full((4, 1, 28, 28), (i + epoch) / 10)


def test_save_is_atomic_and_round_trips(tmp_path):
    path = tmp_path / "sub" / "checkpoint.pt"
    state = {"models": {"w": torch.arange(3.0)}, "step": 7, "rng": checkpoint.rng_state()}
    assert checkpoint.save_checkpoint(path, state) == path
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]  # no temporary file left
    loaded = checkpoint.load_checkpoint(path)
    assert loaded["step"] == 7 and torch.equal(loaded["models"]["w"], torch.arange(3.0))
    checkpoint.save_checkpoint(path, {**state, "step": 8})  # overwrite in place
    assert checkpoint.load_checkpoint(path)["step"] == 8


def test_rng_state_round_trip():
    saved = checkpoint.rng_state()
    first = (random.random(), np.random.rand(), torch.rand(2))
    random.random(), np.random.rand(), torch.rand(5)  # move every generator on
    checkpoint.set_rng_state(saved)
    again = (random.random(), np.random.rand(), torch.rand(2))
    assert first[0] == again[0] and first[1] == again[1] and torch.equal(first[2], again[2])


def test_missing_truncated_and_foreign_files_are_named(tmp_path):
    with pytest.raises(CheckpointError, match="no checkpoint at .*nothing.pt"):
        checkpoint.load_checkpoint(tmp_path / "nothing.pt")
    path = tmp_path / "checkpoint.pt"
    checkpoint.save_checkpoint(path, {"models": {"w": torch.randn(1000)}})
    path.write_bytes(path.read_bytes()[:500])  # a run killed by a full disk, say
    with pytest.raises(CheckpointError) as err:
        checkpoint.load_checkpoint(path)
    assert str(path) in str(err.value) and "truncated" in str(err.value)
    other = tmp_path / "weights.pt"
    torch.save({"w": torch.zeros(1)}, other)
    with pytest.raises(CheckpointError, match="not a ganlib training checkpoint"):
        checkpoint.load_checkpoint(other)


def test_unsafe_pickles_are_refused(tmp_path):
    path = tmp_path / "evil.pt"
    torch.save({"models": {}, "payload": print}, path)  # arbitrary objects need weights_only=False
    with pytest.raises(CheckpointError, match="evil.pt"):
        checkpoint.load_checkpoint(path)


def test_resume_with_a_different_model_names_file_and_model(tmp_path):
    torch.manual_seed(0)
    G, D = models.MLPGenerator(4, (8,)), models.MLPDiscriminator((8,))
    train.fit_gan(G, D, Loader(), z_dim=4, steps=2, out_dir=tmp_path, progress=False)
    bigger = models.MLPGenerator(4, (16,))
    with pytest.raises(train.RunChanged) as err:
        train.fit_gan(bigger, D, Loader(), z_dim=4, steps=4, out_dir=tmp_path, resume=True)
    message = str(err.value)
    assert str(tmp_path / "checkpoint.pt") in message
    assert "G parameters net.0.weight: [8, 4] -> [16, 4]" in message
    assert "new out_dir" in message and "resume=False" in message


def test_resume_a_checkpoint_of_another_kind_of_run_fails_clearly(tmp_path):
    G, D = models.MLPGenerator(4, (8,)), models.MLPDiscriminator((8,))
    train.fit_gan(G, D, Loader(), z_dim=4, steps=1, out_dir=tmp_path, progress=False)
    state = checkpoint.load_checkpoint(tmp_path / "checkpoint.pt")
    checkpoint.save_checkpoint(tmp_path / "checkpoint.pt", {**state, "format": 1})
    with pytest.raises(CheckpointError, match="older version of ganlib"):
        train.fit_gan(G, D, Loader(), z_dim=4, steps=2, out_dir=tmp_path, resume=True)


def test_load_weights_names_the_model(tmp_path):
    with pytest.raises(CheckpointError, match=r"holds a D that does not fit Linear"):
        checkpoint.load_weights(
            torch.nn.Linear(2, 3), {"weight": torch.zeros(1)}, name="D", path="x.pt"
        )
