"""The one training loop, ``train.fit``, running a learner's own step: the step contract, clear
errors for a step that fails, and resume that refuses a run whose settings changed."""

import functools
import os
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganlib import checkpoint, losses, models, train
from ganlib.data import BatchLoader

pytestmark = pytest.mark.usefixtures("one_thread")

Z = 8


def images(n=32, size=28, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, 1, size, size), dtype=torch.uint8, generator=g)


# A learner's step as lesson 01 teaches it: real_loss / fake_loss, then D step, then G step.
def real_loss(logits, smooth=False):
    labels = torch.ones_like(logits) * (0.9 if smooth else 1.0)
    return F.binary_cross_entropy_with_logits(logits, labels)


def fake_loss(logits):
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    z = torch.randn(len(real_images), z_dim, device=real_images.device)
    fake_images = G(z)

    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()

    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss, "g_loss": g_loss.item()}  # a tensor and a float: both allowed


def run(step=train_step, out_dir=None, steps=6, lr=2e-4, width=16, data=None, **kw):
    torch.manual_seed(0)
    G, D = models.MLPGenerator(Z, (width,)), models.MLPDiscriminator((width,), dropout=0.3)
    opts = {
        "d_optimizer": torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)),
        "g_optimizer": torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)),
    }
    fixed_z = torch.randn(4, Z)
    kw = {"options": {"z_dim": Z}, "progress": False, "checkpoint_every": 2, **kw}
    loader = BatchLoader(images() if data is None else data, 8, device="cpu")
    history = train.fit(
        step, loader, models={"D": D, "G": G}, optimizers=opts, sample=lambda: G(fixed_z),
        steps=steps, out_dir=out_dir, **kw,
    )  # fmt: skip
    return G, D, history


def weights(*nets):
    return [t.clone() for net in nets for t in net.state_dict().values()]


def test_the_learners_step_trains_the_model_and_resumes_exactly(tmp_path):
    G, D, h = run(steps=7)
    assert h.steps == 7 and list(h.values) == ["d_loss", "g_loss"]
    assert [s for s, _ in h.samples] == [0, 7] and h.samples[0][1].dtype == torch.uint8
    run(out_dir=tmp_path, steps=3)
    G2, D2, h2 = run(out_dir=tmp_path, steps=7, resume=True)
    assert all(torch.equal(a, b) for a, b in zip(weights(G, D), weights(G2, D2), strict=True))
    assert h2.d_loss == h.d_loss and h2.g_loss == h.g_loss
    # finished: running it again loads the result at once and trains nothing more
    G3, _, h3 = run(out_dir=tmp_path, steps=7, resume=True)
    assert h3.steps == 7 and all(
        torch.equal(a, b) for a, b in zip(weights(G), weights(G3), strict=True)
    )


def test_a_step_that_raises_gets_one_line_naming_the_step_and_the_line():
    def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
        z = real_images.view(-1, z_dim * 10)  # a slip: latents made from the images
        return {"d_loss": D(G(z)).mean()}

    with pytest.raises(train.StepError) as err:
        run(train_step)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith("train_step raised RuntimeError at step 1 (in train_step, line")
    assert "z = real_images.view(-1, z_dim * 10)" in message and "is invalid for input" in message
    assert isinstance(err.value.original, RuntimeError)


@pytest.mark.parametrize(
    ("returned", "fragment"),
    [
        (None, "train_step returned None at step 1; a step function returns a dict"),
        ((1.0, 2.0), "returned a tuple at step 1"),
        ({"d_loss": torch.ones(3)}, "returned d_loss=a tensor of shape (3,) at step 1"),
        ({"d_loss": "0.5"}, "returned d_loss=a str at step 1; each value must be one number"),
    ],
)
def test_a_step_that_returns_the_wrong_thing_is_named(returned, fragment):
    def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
        return returned

    with pytest.raises(train.StepError, match=None) as err:
        run(train_step)
    assert fragment in str(err.value) and "\n" not in str(err.value)


def test_a_step_that_leaves_a_loss_at_nan_is_stopped_with_its_name():
    def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
        return {"d_loss": torch.log(torch.tensor(-1.0)), "g_loss": 0.5}

    with pytest.raises(train.TrainingDiverged, match=r"step 1: train_step returned d_loss not"):
        run(train_step)


def test_a_step_whose_parameters_do_not_match_is_refused_before_training():
    def old_style(D, G, d_optimizer, g_optimizer, real_images, z_dim):  # real batch not first
        raise AssertionError("never called")

    with pytest.raises(train.StepError) as err:
        run(old_style)
    message = str(err.value)
    assert message.startswith("old_style(D, G, d_optimizer, g_optimizer, real_images, z_dim)")
    assert "takes the real batch first" in message and "multiple values for argument 'D'" in message


def test_a_loader_with_labels_gives_the_step_images_then_labels():
    labels = torch.arange(32) % 10
    dataset = type("Digits", (), {"images": images(), "labels": labels})()
    seen = []

    def conditional_step(real_images, real_labels, D, G, d_optimizer, g_optimizer, z_dim):
        seen.append(real_labels)
        return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim)

    torch.manual_seed(0)
    G, D = models.MLPGenerator(Z, (16,)), models.MLPDiscriminator((16,))
    opts = {
        "d_optimizer": torch.optim.Adam(D.parameters()),
        "g_optimizer": torch.optim.Adam(G.parameters()),
    }
    loader = BatchLoader(dataset, 8, device="cpu", labels=True)
    kw = {"models": {"D": D, "G": G}, "optimizers": opts, "options": {"z_dim": Z}, "steps": 2}
    train.fit(conditional_step, loader, progress=False, **kw)
    assert len(seen) == 2 and all(y.dtype == torch.long and y.shape == (8,) for y in seen)

    with pytest.raises(train.StepError, match=r"<real images>, <their labels>, D=\.\.\."):
        train.fit(train_step, loader, progress=False, **kw)  # a step without the labels


def test_an_interrupted_step_leaves_no_network_frozen():
    def interrupted(real_images, D, G, d_optimizer, g_optimizer, z_dim):
        D.requires_grad_(False)  # as gan_step does for the G update
        raise KeyboardInterrupt

    torch.manual_seed(0)
    with pytest.raises(KeyboardInterrupt):
        run(interrupted)
    G, D, _ = run(steps=1)
    assert all(p.requires_grad for p in D.parameters())


def checkpoint_then(tmp_path, **changed):
    """Train 2 steps into tmp_path, then resume with one setting changed: the RunChanged text."""
    run(out_dir=tmp_path, steps=2)
    with pytest.raises(train.RunChanged) as err:
        run(out_dir=tmp_path, steps=4, resume=True, **changed)
    return str(err.value)


def real_loss_unsmoothed(logits, smooth=False):
    return F.binary_cross_entropy_with_logits(logits, torch.ones_like(logits))


@pytest.mark.parametrize(
    ("changed", "fragment"),
    [
        ({"lr": 1e-3}, "d_optimizer lr: 0.0002 -> 0.001"),
        ({"width": 32}, "D parameters net.0.weight: [32, 784] -> [64, 784]"),
        ({"options": {"z_dim": Z, "unused": 1}}, "unused: (not given) -> 1"),
        ({"seed": 3}, "seed: 0 -> 3"),
        ({"config": {"crop": 0.7}}, "crop: (not given) -> 0.7"),
        ({"data": images(seed=1)}, "data sample:"),
        ({"data": images(n=40)}, "data images: 32 -> 40"),
    ],
)
def test_resuming_with_other_settings_says_what_changed(tmp_path, changed, fragment):
    if "unused" in changed.get("options", {}):

        def step(real_images, D, G, d_optimizer, g_optimizer, z_dim, unused=0):
            return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim)

        run(step, out_dir=tmp_path, steps=2)
        with pytest.raises(train.RunChanged) as err:
            run(step, out_dir=tmp_path, steps=4, resume=True, **changed)
        message = str(err.value)
    else:
        message = checkpoint_then(tmp_path, **changed)
    assert fragment.replace("[32, 784] -> [64, 784]", "[16, 784] -> [32, 784]") in message
    assert "To keep both runs, train into a new out_dir" in message
    assert "pass resume=False" in message


TARGET = 1.0  # D's target for real images in target_step: a module constant a learner may edit


def target_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    z = torch.randn(len(real_images), z_dim)
    real_logits = D(real_images)
    d_loss = F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, TARGET))
    d_loss = d_loss + fake_loss(D(G(z).detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    return {"d_loss": d_loss}


def test_editing_a_constant_the_step_uses_is_a_changed_run(tmp_path, monkeypatch):
    run(target_step, out_dir=tmp_path, steps=2)
    run(target_step, out_dir=tmp_path, steps=3, resume=True)  # unchanged: resumes
    monkeypatch.setattr(sys.modules[__name__], "TARGET", 0.9)
    with pytest.raises(train.RunChanged, match="target_step changed: its source code, or a fun"):
        run(target_step, out_dir=tmp_path, steps=4, resume=True)


def test_editing_the_step_or_a_loss_it_calls_is_a_changed_run(tmp_path):
    run(out_dir=tmp_path, steps=2)

    def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
        z = torch.randn(len(real_images), z_dim)
        d_loss = real_loss(D(real_images)) + fake_loss(D(G(z).detach()))  # smoothing removed
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        return {"d_loss": d_loss}

    with pytest.raises(
        train.RunChanged, match="step function: train_step changed: its source code"
    ):
        run(train_step, out_dir=tmp_path, steps=4, resume=True)

    # the same step, but a loss function it calls was edited
    global real_loss
    original = real_loss
    try:
        real_loss = real_loss_unsmoothed
        with pytest.raises(
            train.RunChanged, match="train_step changed: its source code, or a function"
        ):
            run(out_dir=tmp_path, steps=4, resume=True)
    finally:
        real_loss = original


def test_library_runs_refuse_a_changed_loss_smoothing_or_switch(tmp_path):
    def gan(d_loss=losses.d_loss_bce, n_fixed=4, **kw):
        torch.manual_seed(0)
        G, D = models.MLPGenerator(Z, (8,)), models.MLPDiscriminator((8,))
        loader = BatchLoader(images(), 8, device="cpu")
        return train.fit_gan(G, D, loader, z_dim=Z, out_dir=tmp_path, d_loss=d_loss,
                             progress=False, n_fixed=n_fixed, **kw)  # fmt: skip

    gan(steps=2, d_loss=functools.partial(losses.d_loss_bce, smooth=0.9))
    with pytest.raises(train.RunChanged) as err:
        gan(steps=3, resume=True, d_loss=functools.partial(losses.d_loss_bce, smooth=0.8))
    assert "d_loss: ganlib.losses.d_loss_bce(smooth=0.9) -> " in str(err.value)
    with pytest.raises(train.RunChanged, match="d_loss: .* -> ganlib.losses.d_loss_hinge"):
        gan(steps=3, resume=True, d_loss=losses.d_loss_hinge)
    with pytest.raises(train.RunChanged, match="n_fixed: 4 -> 5"):
        gan(steps=3, resume=True, d_loss=functools.partial(losses.d_loss_bce, smooth=0.9),
            n_fixed=5)  # fmt: skip

    def cyclegan(**kw):
        torch.manual_seed(0)
        nets = [models.ResnetGenerator(3, 4, 1) for _ in range(2)]
        nets += [models.PatchDiscriminator(3, 4, n_layers=2) for _ in range(2)]
        data = torch.randint(0, 256, (4, 3, 16, 16), dtype=torch.uint8)
        a, b = BatchLoader(data, 2, device="cpu"), BatchLoader(data, 2, seed=1, device="cpu")
        return train.fit_cyclegan(*nets, a, b, out_dir=tmp_path / "cycle", progress=False,
                                  n_fixed=2, **kw)  # fmt: skip

    cyclegan(steps=1)
    with pytest.raises(train.RunChanged, match="lambda_identity: 0.5 -> 0.0"):
        cyclegan(steps=2, resume=True, lambda_identity=0.0)
    with pytest.raises(train.RunChanged, match="pool_a size: 50 -> 0"):
        cyclegan(steps=2, resume=True, pool_size=0)
    with pytest.raises(train.RunChanged, match="decay: null -> \\[1, 2\\]"):
        cyclegan(steps=2, resume=True, decay_start=1)
    assert cyclegan(steps=2, resume=True).steps == 2  # unchanged: it continues


def test_amp_on_a_cpu_without_native_bfloat16_says_so_and_trains_in_float32(monkeypatch):
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: False)
    with pytest.warns(train.AmpFallback, match="no native bfloat16.*training in float32"):
        assert train.use_amp(True, torch.device("cpu")) is False
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert train.use_amp(False, torch.device("cpu")) is False
    monkeypatch.setattr(train, "cpu_has_native_bf16", lambda: True)
    assert train.use_amp(True, torch.device("cpu")) is True


LESSON_STEPS = Path(__file__).parent / "lesson_steps.py"


@pytest.mark.parametrize("lesson", ["01", "04"])
def test_a_run_of_the_lessons_own_step_killed_and_resumed_is_exact(tmp_path, lesson):
    """kill -9 a process training with lesson 01's (or 04's CycleGAN) train_step from solutions/
    after a checkpoint; the resumed run ends with the weights of an uninterrupted one."""
    sys.path.insert(0, str(LESSON_STEPS.parent))
    from lesson_steps import run as lesson_run

    out = tmp_path / "killed"
    env = {**os.environ, "PYTHONPATH": str(LESSON_STEPS.parents[1]), "OMP_NUM_THREADS": "1"}
    proc = subprocess.Popen([sys.executable, str(LESSON_STEPS), lesson, str(out)], env=env)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and proc.poll() is None:
            ckpt = out / "checkpoint.pt"
            if ckpt.exists() and checkpoint.load_checkpoint(ckpt)["step"] >= 4:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait()
    assert proc.returncode == -signal.SIGKILL, f"ended on its own (rc={proc.returncode})"
    killed_at = checkpoint.load_checkpoint(out / "checkpoint.pt")["step"]
    assert 4 <= killed_at < 40
    nets, history = lesson_run(lesson, steps=40)
    nets2, history2 = lesson_run(lesson, out, steps=40)
    assert all(torch.equal(a, b) for a, b in zip(weights(*nets), weights(*nets2), strict=True))
    assert history2.values == history.values


def test_a_dataloader_step_may_take_labels_but_a_wrong_signature_is_refused():
    from torch.utils.data import DataLoader, TensorDataset

    G = torch.nn.Linear(2, 2)
    opts = {"opt": torch.optim.SGD(G.parameters(), 0.1)}
    x, y = torch.rand(16, 1, 4, 4) * 2 - 1, torch.arange(16) % 10

    def step(real, G, opt):
        loss = G(torch.randn(len(real), 2)).pow(2).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        return {"loss": loss.detach()}

    def labelled_step(real, labels, G, opt):
        return step(real, G, opt)

    def models_first(G, opt, real):
        raise AssertionError("never called")

    kw = {"models": {"G": G}, "optimizers": opts, "steps": 2, "progress": False}
    assert train.fit(step, DataLoader(x, 4), **kw).steps == 2
    assert train.fit(labelled_step, DataLoader(TensorDataset(x, y), 4), **kw).steps == 2
    with pytest.raises(train.StepError, match="multiple values for argument 'G'"):
        train.fit(models_first, DataLoader(x, 4), **kw)
