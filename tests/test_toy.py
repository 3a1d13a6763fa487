"""ganlib.toy: the 1-D and 2-D toy GANs of lesson 00 (densities, losses, training, plots)."""

import io
import math

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from ganlib import losses, toy


def integral(values: np.ndarray, xs: np.ndarray) -> float:
    """Trapezoid rule (numpy renamed trapz to trapezoid; this works with both)."""
    return float(((values[1:] + values[:-1]) / 2 * np.diff(xs)).sum())


def parameters(module: torch.nn.Module) -> torch.Tensor:
    return torch.cat([p.detach().flatten() for p in module.parameters()]).clone()


# --- data and densities -------------------------------------------------------------------------


def test_data_1d_has_the_requested_shape_mean_and_spread():
    torch.manual_seed(0)
    x = toy.data_1d(20_000)
    assert x.shape == (20_000, 1) and x.dtype == torch.float32
    assert x.mean().item() == pytest.approx(toy.DATA_MEAN, abs=0.02)
    assert x.std().item() == pytest.approx(toy.DATA_STD, abs=0.02)
    y = toy.data_1d(20_000, mean=-1.0, std=2.0)
    assert y.mean().item() == pytest.approx(-1.0, abs=0.08)
    assert y.std().item() == pytest.approx(2.0, abs=0.05)


@pytest.mark.parametrize(("mean", "std"), [(toy.DATA_MEAN, toy.DATA_STD), (-2.0, 1.5)])
def test_density_1d_is_the_gaussian_and_integrates_to_one(mean, std):
    xs = np.linspace(mean - 10 * std, mean + 10 * std, 4001)
    p = toy.density_1d(xs, mean=mean, std=std)
    assert integral(p, xs) == pytest.approx(1.0, abs=1e-6)
    assert xs[p.argmax()] == pytest.approx(mean)
    assert p.max() == pytest.approx(1 / (std * math.sqrt(2 * math.pi)))
    # one standard deviation out, the density has dropped by exp(-1/2)
    assert toy.density_1d(mean + std, mean=mean, std=std) == pytest.approx(p.max() * math.exp(-0.5))


def test_density_1d_accepts_tensors():
    x = torch.tensor([[2.5], [3.0]])
    assert np.allclose(toy.density_1d(x), toy.density_1d(np.array([[2.5], [3.0]])))
    assert toy.density_1d(x).shape == (2, 1)


def test_kde_1d_integrates_to_one_and_approaches_the_true_density():
    torch.manual_seed(0)
    samples = toy.data_1d(5000)  # (n, 1) tensors are fine
    xs = np.linspace(-1, 7, 801)
    estimate = toy.kde_1d(samples, xs)
    assert integral(estimate, xs) == pytest.approx(1.0, abs=0.01)
    assert np.abs(estimate - toy.density_1d(xs)).max() < 0.06
    assert xs[estimate.argmax()] == pytest.approx(toy.DATA_MEAN, abs=0.15)


def test_kde_1d_of_one_point_is_a_kernel_of_the_given_bandwidth():
    xs = np.linspace(-3, 3, 7)
    assert np.allclose(
        toy.kde_1d(np.array([0.0]), xs, bandwidth=1.0), toy.density_1d(xs, mean=0, std=1)
    )
    assert np.allclose(
        toy.kde_1d(np.array([1.0]), xs, bandwidth=0.5), toy.density_1d(xs, mean=1, std=0.5)
    )


def test_kde_1d_default_bandwidth_is_silvermans_rule():
    rng = np.random.default_rng(1)
    samples, xs = rng.normal(2.0, 0.5, size=800), np.linspace(0, 4, 41)
    silverman = 1.06 * samples.std() * len(samples) ** (-1 / 5)
    assert np.allclose(toy.kde_1d(samples, xs), toy.kde_1d(samples, xs, bandwidth=silverman))


def test_kde_1d_chunks_give_the_same_answer_as_one_pass():
    """More than 2000 samples are summed in chunks: the result must not depend on that."""
    rng = np.random.default_rng(0)
    samples, xs = rng.normal(size=4500), np.linspace(-4, 4, 50)
    h = 0.3
    direct = np.exp(-0.5 * ((xs[:, None] - samples[None, :]) / h) ** 2).sum(1)
    direct /= len(samples) * h * math.sqrt(2 * math.pi)
    assert np.allclose(toy.kde_1d(samples, xs, bandwidth=h), direct)


# --- networks and losses ------------------------------------------------------------------------


def test_networks_map_points_to_points_and_logits():
    G, D = toy.ToyGenerator(z_dim=3, hidden=8, out_dim=2), toy.ToyDiscriminator(in_dim=2, hidden=8)
    assert G.z_dim == 3
    x = G(torch.randn(5, 3))
    assert x.shape == (5, 2)
    assert D(x).shape == (5, 1)
    points = toy.sample(G, 7, 3)
    assert points.shape == (7, 2) and not points.requires_grad


# The losses are ganlib.losses' (formulas, stability and gradients: tests/test_losses.py).


# --- training -----------------------------------------------------------------------------------


def test_train_toy_moves_the_generator_onto_the_data(one_thread):
    torch.manual_seed(0)
    G, D = toy.ToyGenerator(), toy.ToyDiscriminator()
    start = toy.sample(G, 4000, 1).mean().item()
    assert abs(start - toy.DATA_MEAN) > 2.5, "an untrained generator starts near 0"
    run = toy.train_toy(G, D, toy.data_1d, steps=300, z_dim=1, batch_size=64)
    end = toy.sample(G, 4000, 1).mean().item()
    assert abs(end - toy.DATA_MEAN) < 0.5, f"sample mean went from {start:.2f} to {end:.2f}"
    assert len(run.d_loss) == len(run.g_loss) == 300
    assert all(math.isfinite(v) for v in run.d_loss + run.g_loss)


def test_train_toy_records_snapshots_at_the_requested_steps(one_thread):
    torch.manual_seed(0)
    G, D = toy.ToyGenerator(hidden=8), toy.ToyDiscriminator(hidden=8)
    before = parameters(G)
    run = toy.train_toy(
        G, D, toy.data_1d, steps=20, z_dim=1, batch_size=16, snapshot_steps=[20, 0, 5]
    )
    assert [step for step, _, _ in run.snapshots] == [0, 5, 20]
    (_, G0, D0), _, (_, G_last, D_last) = run.snapshots
    assert torch.equal(parameters(G0), before), "step 0 is before any update"
    assert not torch.equal(parameters(G0), parameters(G))
    assert torch.equal(parameters(G_last), parameters(G)) and torch.equal(
        parameters(D_last), parameters(D)
    )
    assert G_last is not G and D_last is not D, "snapshots are copies, not the live networks"
    assert not G0.training and not D0.training, "snapshots are kept in eval mode"


def test_train_toy_with_no_steps_changes_nothing(one_thread):
    G, D = toy.ToyGenerator(hidden=8), toy.ToyDiscriminator(hidden=8)
    before = parameters(G)
    run = toy.train_toy(G, D, toy.data_1d, steps=0, z_dim=1, snapshot_steps=(0,))
    assert run.d_loss == [] and run.g_loss == [] and len(run.snapshots) == 1
    assert torch.equal(parameters(G), before)


def test_train_toy_uses_the_given_losses_and_g_steps(one_thread):
    calls = {"d": 0, "g": 0}

    def d_loss(real_logits, fake_logits):
        calls["d"] += 1
        return losses.d_loss_bce(real_logits, fake_logits)

    def g_loss(fake_logits):
        calls["g"] += 1
        return losses.g_loss_nonsaturating(fake_logits)

    torch.manual_seed(0)
    G, D = toy.ToyGenerator(z_dim=2, hidden=8, out_dim=2), toy.ToyDiscriminator(in_dim=2, hidden=8)
    run = toy.train_toy(
        G,
        D,
        lambda n: torch.randn(n, 2),
        steps=4,
        z_dim=2,
        batch_size=8,
        d_loss_fn=d_loss,
        g_loss_fn=g_loss,
        g_steps=3,
    )
    assert calls == {"d": 4, "g": 12}
    assert len(run.g_loss) == 4


def test_train_toy_defaults_to_bce_and_the_non_saturating_loss(one_thread):
    def run(**loss_fns) -> torch.Tensor:
        torch.manual_seed(0)
        G, D = toy.ToyGenerator(hidden=8), toy.ToyDiscriminator(hidden=8)
        toy.train_toy(G, D, toy.data_1d, steps=3, z_dim=1, batch_size=16, **loss_fns)
        return parameters(G)

    default = run()
    assert torch.equal(
        default, run(d_loss_fn=losses.d_loss_bce, g_loss_fn=losses.g_loss_nonsaturating)
    )
    assert not torch.equal(default, run(g_loss_fn=losses.g_loss_minimax))


def test_train_toy_lr_g_zero_freezes_the_generator_only(one_thread):
    torch.manual_seed(0)
    G, D = toy.ToyGenerator(hidden=8), toy.ToyDiscriminator(hidden=8)
    g_before, d_before = parameters(G), parameters(D)
    toy.train_toy(G, D, toy.data_1d, steps=5, z_dim=1, batch_size=16, lr=1e-2, lr_g=0.0)
    assert torch.equal(parameters(G), g_before)
    assert not torch.equal(parameters(D), d_before)


@pytest.mark.parametrize(
    "bad",
    [{"steps": -1}, {"z_dim": 0}, {"g_steps": 0}],
    ids=["negative steps", "zero z_dim", "zero g_steps"],
)
def test_train_toy_rejects_bad_settings(bad):
    settings = {"steps": 3, "z_dim": 1, "g_steps": 1, **bad}
    G, D = toy.ToyGenerator(hidden=4), toy.ToyDiscriminator(hidden=4)
    with pytest.raises(ValueError, match=r"need steps >= 0, z_dim >= 1, g_steps >= 1; got"):
        toy.train_toy(G, D, toy.data_1d, **settings)


# --- plots --------------------------------------------------------------------------------------


def rendered(fig: Figure) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def test_plot_1d_draws_data_generator_and_discriminator():
    torch.manual_seed(0)
    fig = Figure()
    ax = fig.subplots()
    G, D = toy.ToyGenerator(hidden=8), toy.ToyDiscriminator(hidden=8)
    xs = np.linspace(-2, 6, 100)
    assert toy.plot_1d(ax, G, D, z_dim=1, xs=xs, title="step 0", n=500) is ax
    assert ax.get_title() == "step 0"
    labels = ax.get_legend_handles_labels()[1]
    assert sorted(label.split(" ")[0] for label in labels) == ["data", "discriminator", "generator"]
    data_line, d_line = ax.get_lines()
    assert np.allclose(data_line.get_ydata(), toy.density_1d(xs))
    with torch.no_grad():
        d_of_x = torch.sigmoid(D(torch.tensor(xs, dtype=torch.float32).reshape(-1, 1))).ravel()
    assert np.allclose(d_line.get_ydata(), d_of_x.numpy())
    assert ax.get_ylim()[0] == 0 and ax.get_ylim()[1] >= 1.0
    assert rendered(fig).startswith(b"\x89PNG")


def test_plot_2d_scatters_points_and_marks_the_modes():
    fig = Figure()
    left, right = fig.subplots(1, 2)
    points = torch.randn(50, 2, requires_grad=True)  # straight from a generator: no .detach()
    centers = torch.tensor([[2.0, 0.0], [0.0, 2.0]])
    assert toy.plot_2d(left, points, centers, title="step 10", lim=2.5) is left
    assert left.get_title() == "step 10"
    assert left.get_xlim() == (-2.5, 2.5) and left.get_ylim() == (-2.5, 2.5)
    generated, modes = left.collections
    assert np.allclose(generated.get_offsets(), points.detach().numpy())
    assert np.allclose(modes.get_offsets(), centers.numpy())
    toy.plot_2d(right, points)
    assert len(right.collections) == 1 and right.get_title() == ""
    assert rendered(fig).startswith(b"\x89PNG")
