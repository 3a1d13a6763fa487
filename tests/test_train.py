"""The training loops: budgets, history, pluggable losses, divergence guard and exact resume."""

import functools
import math
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import torch

from ganlib import checkpoint, losses, models, train
from ganlib.data import BatchLoader, ImageDataset

Z = 8


def TinyLoader(images, batch_size, seed=0):  # reads like the class it returns
    return BatchLoader(images, batch_size, seed=seed, device="cpu")


def images(n=32, channels=1, size=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)


def mlp_pair(seed=0):
    torch.manual_seed(seed)
    G = models.MLPGenerator(Z, (16,), batch_norm=True)  # BatchNorm buffers must resume too
    D = models.MLPDiscriminator((16,), dropout=0.3)  # dropout draws random numbers
    return G, D


def state_of(*nets):
    return [t.clone() for net in nets for t in list(net.state_dict().values())]


def assert_bitwise_equal(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b, strict=True):
        assert torch.equal(x, y)


pytestmark = pytest.mark.usefixtures("one_thread")


def fit(out_dir=None, steps=10, seed=0, **kw):
    G, D = mlp_pair(seed=seed + 100)
    kw = {"sample_every": 4, "checkpoint_every": 3, "progress": False, "n_fixed": 6, **kw}
    history = train.fit_gan(
        G, D, TinyLoader(images(), 8), z_dim=Z, steps=steps, out_dir=out_dir, seed=seed, **kw
    )
    return G, D, history


def test_history_records_every_step():
    calls = []
    G, D, h = fit(steps=9, callback=lambda step, history: calls.append((step, history.steps)))
    assert h.steps == 9
    assert len(h.g_loss) == len(h.d_real) == len(h.d_fake) == 9
    assert all(0 <= p <= 1 for p in h.d_real + h.d_fake)
    assert all(math.isfinite(x) for x in h.d_loss + h.g_loss)
    assert [step for step, _ in h.samples] == [0, 4, 8, 9]
    assert h.samples[-1][1].dtype == torch.uint8 and h.samples[-1][1].shape == (6, 1, 28, 28)
    assert calls == [(0, 0), (4, 4), (8, 8), (9, 9)]
    assert h["d_loss"] is h.d_loss and "d_fake" in h and list(h.values) == list(train.GAN_VALUES)
    d = h.as_dict()
    assert d["values"]["d_loss"] == h.d_loss and d["samples"][1][0] == 4
    assert train.History.from_dict(d).d_fake == h.d_fake


def test_budgets():
    G, D = mlp_pair()
    loader = TinyLoader(images(), 8)  # 4 batches per epoch
    h = train.fit_gan(G, D, loader, z_dim=Z, epochs=2, progress=False)
    assert h.steps == 8
    h = train.fit_gan(G, D, loader, z_dim=Z, epochs=2, steps=3, progress=False)
    assert h.steps == 3  # the first limit wins
    h = train.fit_gan(G, D, loader, z_dim=Z, seconds=1e-9, progress=False)
    assert h.steps == 0 and [s for s, _ in h.samples] == [0]
    with pytest.raises(ValueError, match="steps=..., epochs=... or seconds="):
        train.fit_gan(G, D, loader, z_dim=Z)
    with pytest.raises(ValueError, match="resume=True needs out_dir"):
        train.fit_gan(G, D, loader, z_dim=Z, steps=1, resume=True)
    with pytest.raises(ValueError, match="sample_every must be a positive int, got 0"):
        train.fit_gan(G, D, loader, z_dim=Z, steps=1, sample_every=0)
    with pytest.raises(ValueError, match="n_fixed must be a positive int, got 0"):
        train.fit_gan(G, D, loader, z_dim=Z, steps=1, n_fixed=0)
    with pytest.raises(ValueError, match="smaller than one batch"):
        train.fit_gan(G, D, [], z_dim=Z, steps=1)


def test_the_data_itself_is_refused_where_a_loader_belongs():
    G, D = mlp_pair()
    data = images()
    for wrong in (data, ImageDataset(data)):  # easy slips: the dataset or ds.images
        with pytest.raises(
            TypeError, match=r"loader is a .*data\.BatchLoader\(dataset, batch_size\)"
        ):
            train.fit_gan(G, D, wrong, z_dim=Z, steps=1, progress=False)
    nets, _ = cyclegan(steps=1)
    loader = TinyLoader(images(4, 3, 16), 2)
    with pytest.raises(TypeError, match=r"loader_b is a ImageDataset.*BatchLoader"):
        train.fit_cyclegan(*nets, loader, ImageDataset(images(4, 3, 16)), steps=1, progress=False)


def test_batches_must_be_float_images_with_four_dims():
    G, D = mlp_pair()
    cases = [
        ([images(8)], r"torch\.uint8 images \(8, 1, 28, 28\).*x\.float\(\) / 127\.5 - 1"),
        ([torch.zeros(8, 28, 28)], r"shape \(8, 28, 28\); expected 4 dims \(N, C, H, W\)"),
        ([{"image": torch.zeros(8, 1, 28, 28)}], r"yielded a dict; it must yield image tensors"),
    ]
    for loader, message in cases:
        with pytest.raises(TypeError, match=message):
            train.fit_gan(G, D, loader, z_dim=Z, steps=1, progress=False)
    nets, _ = cyclegan(steps=1)
    with pytest.raises(TypeError, match=r"torch\.uint8 images.*BatchLoader"):
        train.fit_cyclegan(*nets, [images(2, 3, 16)], [images(2, 3, 16)], steps=1, progress=False)
    labelled = [(torch.zeros(8, 1, 28, 28), torch.zeros(8, dtype=torch.long))]  # (images, labels)
    assert train.fit_gan(G, D, labelled, z_dim=Z, steps=1, progress=False).steps == 1


def test_training_moves_the_discriminator():
    G, D, h = fit(steps=30, lr=1e-3)
    # a discriminator that learns separates real from fake better than at the start
    assert sum(h.d_real[-5:]) - sum(h.d_fake[-5:]) > sum(h.d_real[:5]) - sum(h.d_fake[:5])


def test_pluggable_losses_g_steps_and_amp(monkeypatch):
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: True)  # bf16 runs wherever tested
    seen = []

    def my_g_loss(fake_logits):
        seen.append(fake_logits.shape)
        return losses.g_loss_hinge(fake_logits)

    _, _, h = fit(steps=3, d_loss=losses.d_loss_hinge, g_loss=my_g_loss, g_steps=2, amp=True)
    assert h.steps == 3 and len(seen) == 6 and seen[0] == (8, 1)
    _, _, smooth = fit(steps=2, d_loss=functools.partial(losses.d_loss_bce, smooth=0.9))
    _, _, plain = fit(steps=2)
    assert smooth.d_loss[0] != plain.d_loss[0]


def test_resume_is_bitwise_exact(tmp_path):
    """Stop at step 6 (mid-epoch), resume to 13 == one run of 13 steps, to the last bit."""
    G, D, h = fit(steps=13)
    fit(tmp_path, steps=6)
    G2, D2, h2 = fit(tmp_path, steps=13, resume=True)  # the initial weights come from the file
    assert_bitwise_equal(state_of(G, D), state_of(G2, D2))
    assert h2.d_loss == h.d_loss and h2.g_loss == h.g_loss and h2.d_fake == h.d_fake
    for (s1, x1), (s2, x2) in zip(h.samples, [s for s in h2.samples if s[0] != 6], strict=True):
        assert s1 == s2 and torch.equal(x1, x2)


def test_crash_then_resume_matches(tmp_path):
    """A run that dies at step 8 restarts from its step-6 checkpoint and ends where it should."""

    def crash(step, history):
        if step == 8:
            raise KeyboardInterrupt

    G, D, _ = fit(steps=12)
    with pytest.raises(KeyboardInterrupt):
        fit(tmp_path, steps=12, callback=crash)
    assert checkpoint.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 6
    G2, D2, h2 = fit(tmp_path, steps=12, resume=True)
    assert h2.steps == 12
    assert_bitwise_equal(state_of(G, D), state_of(G2, D2))


def test_resume_without_checkpoint_starts_fresh(tmp_path):
    G, D, _ = fit(steps=4)
    G2, D2, _ = fit(tmp_path / "new", steps=4, resume=True)
    assert_bitwise_equal(state_of(G, D), state_of(G2, D2))
    assert (tmp_path / "new" / "checkpoint.pt").exists()


def test_divergence_stops_with_a_clear_error_and_keeps_the_checkpoint(tmp_path):
    calls = {"n": 0}

    def exploding(real_logits, fake_logits):
        calls["n"] += 1
        loss = losses.d_loss_bce(real_logits, fake_logits)
        return loss * float("nan") if calls["n"] == 5 else loss

    with pytest.raises(train.TrainingDiverged) as err:
        fit(tmp_path, steps=10, d_loss=exploding, checkpoint_every=2)
    message = str(err.value)
    assert "step 5" in message and "lower the learning rate" in message
    assert "gan_step returned d_loss, g_loss not finite (d_loss=nan" in message
    assert "label smoothing" in message and "[-1, 1]" in message
    assert str(tmp_path / "checkpoint.pt") in message
    assert err.value.step == 5 and err.value.history.steps == 4
    assert checkpoint.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 4


def test_step_stats_reach_the_cpu_in_batches(monkeypatch):
    """One GPU->CPU copy per STATS_EVERY steps, not one per step (each one stalls a CUDA run)."""
    copies = []
    tolist = torch.Tensor.tolist
    monkeypatch.setattr(torch.Tensor, "tolist", lambda t: copies.append(t.shape) or tolist(t))
    _, _, h = fit(steps=40, sample_every=1000, checkpoint_every=1000)
    assert h.steps == 40 and all(math.isfinite(x) for x in h.d_loss + h.d_fake)
    assert len(copies) <= 3  # every 20 steps (20, 40) and at the end: not 40


def test_divergence_between_stat_copies_names_the_first_bad_step(tmp_path):
    def exploding_at(n):
        calls = {"n": 0}

        def d_loss(real_logits, fake_logits):
            calls["n"] += 1
            loss = losses.d_loss_bce(real_logits, fake_logits)
            return loss * float("inf") if calls["n"] >= n else loss

        return d_loss

    # found at the checkpoint of step 9, which is not written: the one of step 6 stays
    with pytest.raises(train.TrainingDiverged) as err:
        fit(tmp_path, steps=30, d_loss=exploding_at(7), checkpoint_every=3, sample_every=1000)
    assert err.value.step == 7 and err.value.history.steps == 6 and "step 7" in str(err.value)
    assert checkpoint.load_checkpoint(tmp_path / "checkpoint.pt")["step"] == 6
    # found at the end of a short run, or at the regular copy of a long one
    for steps in (10, 30):
        with pytest.raises(train.TrainingDiverged, match="step 3") as err:
            fit(steps=steps, d_loss=exploding_at(3), checkpoint_every=1000, sample_every=1000)
        assert err.value.history.steps == 2


def test_dcgan_trains_with_mixed_precision(monkeypatch):
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: True)
    torch.manual_seed(0)
    G = models.DCGANGenerator(Z, channels=3, image_size=32, width=4)
    D = models.DCGANDiscriminator(channels=3, image_size=32, width=4)
    loader = TinyLoader(images(16, channels=3, size=32), 8)
    h = train.fit_gan(G, D, loader, z_dim=Z, steps=3, amp=True, progress=False, n_fixed=4)
    assert h.steps == 3 and h.samples[-1][1].shape == (4, 3, 32, 32)


def cyclegan(out_dir=None, steps=4, batch_size=2, **kw):
    torch.manual_seed(0)
    nets = [models.ResnetGenerator(3, 4, 1) for _ in range(2)]
    nets += [models.PatchDiscriminator(3, 4, n_layers=2) for _ in range(2)]
    a = TinyLoader(images(8, 3, 16, seed=1), batch_size)
    b = TinyLoader(images(8, 3, 16, seed=2), batch_size, seed=1)
    kw = {"pool_size": 3, "decay_start": 2, "n_fixed": 2, "progress": False, **kw}
    h = train.fit_cyclegan(*nets, a, b, steps=steps, out_dir=out_dir, checkpoint_every=2, **kw)
    return nets, h


def test_cyclegan_history_and_lr_decay():
    nets, h = cyclegan(steps=5, sample_every=2)
    assert h.steps == 5 and set(h.extra) == {"g_gan", "cycle", "identity"}
    assert all(len(v) == 5 for v in h.extra.values())
    for total, parts in zip(h.g_loss, zip(*h.extra.values(), strict=True), strict=True):
        assert total == pytest.approx(sum(parts), rel=1e-5)
    assert h.inputs.shape == (4, 3, 16, 16) and h.inputs.dtype == torch.uint8
    assert [s for s, _ in h.samples] == [0, 2, 4, 5] and h.samples[-1][1].shape == (4, 3, 16, 16)
    _, no_identity = cyclegan(steps=2, lambda_identity=0.0)
    assert no_identity.extra["identity"] == [0.0, 0.0]
    with pytest.raises(ValueError, match="decay_start needs a step budget"):
        loader = TinyLoader(images(4, 3, 16), 2)
        train.fit_cyclegan(*nets, loader, loader, seconds=1, decay_start=1)


def test_cyclegan_resume_is_bitwise_exact(tmp_path):
    nets, h = cyclegan(steps=6)
    cyclegan(tmp_path, steps=6, callback=None, sample_every=100)
    state = checkpoint.load_checkpoint(tmp_path / "checkpoint.pt")
    assert len(state["options"]["pool_a"]["images"]) == 3
    assert state["schedulers"]["G"]["last_epoch"] == 6
    # interrupted at step 3 (checkpoint at 2), then resumed
    path = tmp_path / "again"

    def crash(step, history):
        if step == 3:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        cyclegan(path, steps=6, callback=crash, sample_every=1)
    nets2, h2 = cyclegan(path, steps=6, resume=True)
    assert_bitwise_equal(state_of(*nets), state_of(*nets2))
    assert h2.extra == h.extra


def test_cyclegan_fixed_images_span_batches_and_resume(tmp_path):
    """batch_size=1, n_fixed=3: the first 3 images of each domain's epoch 0, not 1 of each."""
    nets, h = cyclegan(steps=4, batch_size=1, n_fixed=3, decay_start=None)
    order_a, order_b = (TinyLoader(images(8, 3, 16), 1, seed=s).order(0) for s in (0, 1))
    first = [images(8, 3, 16, seed=1)[order_a[:3]], images(8, 3, 16, seed=2)[order_b[:3]]]
    assert torch.equal(h.inputs, torch.cat(first))
    assert h.samples[-1][1].shape == (6, 3, 16, 16)
    cyclegan(tmp_path, steps=2, batch_size=1, n_fixed=3, decay_start=None)
    nets2, h2 = cyclegan(tmp_path, steps=4, batch_size=1, n_fixed=3, decay_start=None, resume=True)
    assert_bitwise_equal(state_of(*nets), state_of(*nets2))
    assert torch.equal(h2.inputs, h.inputs) and h2.extra == h.extra
    with pytest.raises(
        ValueError, match=r"n_fixed=9, but the first epoch of loader_a holds only 8"
    ):
        cyclegan(steps=1, batch_size=1, n_fixed=9)
    with pytest.raises(ValueError, match="n_fixed must be a positive int, got 0"):
        cyclegan(steps=1, n_fixed=0)


KILL_SCRIPT = """
import sys, time, torch
sys.path.insert(0, {tests!r})
from test_train import fit
torch.set_num_threads(1)
fit({out!r}, steps=40, checkpoint_every=2, sample_every=1,
    callback=lambda step, history: time.sleep(0.1))
"""


def test_resume_after_sigkill(tmp_path):
    """Kill a real training process after it wrote a checkpoint; the resumed run is exact."""
    out = tmp_path / "killed"
    script = KILL_SCRIPT.format(tests=str(Path(__file__).parent), out=str(out))
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(script)], env=env)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            if (out / "checkpoint.pt").exists() and checkpoint.load_checkpoint(
                out / "checkpoint.pt"
            )["step"] >= 4:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, (
        f"the training process ended on its own (rc={proc.returncode}) before it was killed"
    )
    killed_at = checkpoint.load_checkpoint(out / "checkpoint.pt")["step"]
    assert 4 <= killed_at < 40
    G, D, h = fit(steps=40)
    G2, D2, h2 = fit(out, steps=40, resume=True)
    assert h2.d_loss == h.d_loss
    assert_bitwise_equal(state_of(G, D), state_of(G2, D2))
