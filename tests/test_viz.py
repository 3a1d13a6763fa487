"""ganlib.viz: every plot returns a Figure with a title, saves when asked, and rejects bad shapes."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure
from PIL import Image

from ganlib import viz
from tests.history_standins import History, old_history


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def grey(n=6, size=8):
    return torch.rand(n, 1, size, size) * 2 - 1


def colour(n=6, size=8):
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8)


def history_dict(steps=120):
    t = np.arange(steps)
    return {
        "d_loss": list(1.4 - 0.3 * np.tanh(t / 30) + 0.1 * np.sin(t)),
        "g_loss": list(0.7 + 0.3 * np.tanh(t / 30)),
        "d_real": list(0.9 - 0.4 * t / steps),
        "d_fake": list(0.1 + 0.35 * t / steps),
    }


def snapshots(count=5, n=8, c=1):
    return [(100 * i, torch.randint(0, 256, (n, c, 8, 8), dtype=torch.uint8)) for i in range(count)]


# --------------------------------------------------------------------------- images


def test_to_numpy_images_denormalises_float_and_uint8():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0]).view(1, 1, 2, 2)
    assert np.allclose(viz.to_numpy_images(x)[0, ..., 0], [[0, 0.5], [1, 1]])
    u = torch.tensor([0, 255, 51, 102], dtype=torch.uint8).view(1, 1, 2, 2)
    assert np.allclose(viz.to_numpy_images(u)[0, ..., 0], [[0, 1], [0.2, 0.4]])
    assert viz.to_numpy_images(torch.zeros(3, 5, 7)).shape == (1, 5, 7, 3)  # a single image


def test_make_grid_layout():
    grid = viz.make_grid(colour(n=10, size=8), nrow=4, padding=2)
    assert grid.shape == (3 * 10 + 2, 4 * 10 + 2, 3)  # 3 rows of 4, 2-pixel padding
    assert grid.min() >= 0 and grid.max() <= 1
    one_row = viz.make_grid(grey(n=3), nrow=8)
    assert one_row.shape == (12, 3 * 10 + 2, 3)  # fewer images than nrow: no empty columns


@pytest.mark.parametrize("images", [grey(), colour(), grey().numpy(), colour()[0]])
def test_show_images_returns_titled_figure_and_saves(images, tmp_path):
    path = tmp_path / "sub" / "grid.png"
    fig = viz.show_images(images, nrow=3, title="some digits", save=path)
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_title() == "some digits"
    assert fig.axes[0].get_xlabel()
    assert Image.open(path).size[0] > 50


def test_show_images_draws_into_given_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert viz.show_images(grey(), ax=right) is fig
    assert right.images and not left.images


@pytest.mark.parametrize(
    "bad, message",
    [
        (torch.zeros(8, 8), "shape"),
        (torch.zeros(2, 2, 4, 8, 8), "shape"),
        (torch.zeros(4, 8, 8, 3), "channels last"),
        (torch.zeros(4, 2, 8, 8), "1 or 3 channels"),
        (torch.zeros(4, 1, 8, 8, dtype=torch.int64), "dtype"),
    ],
)
def test_bad_images_give_clear_errors(bad, message):
    with pytest.raises((ValueError, TypeError), match=message):
        viz.show_images(bad)


# --------------------------------------------------------------------------- curves


def test_smooth_curve_is_a_moving_average():
    values = [0.0, 2.0, 4.0, 6.0]
    assert np.allclose(viz.smooth_curve(values, 2), [0, 1, 3, 5])
    assert np.allclose(viz.smooth_curve(values, 1), values)


def legend(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_legend().get_texts()]


def test_plot_losses_from_a_dict(tmp_path):
    fig = viz.plot_losses(history_dict(), smooth=10, save=tmp_path / "losses.png")
    ax = fig.axes[0]
    assert "Losses" in ax.get_title() and ax.get_xlabel() == "training step"
    assert ax.get_ylabel() == "loss"
    assert legend(fig) == ["d_loss", "g_loss"]  # d_real / d_fake are no losses
    assert len(ax.lines) == 4  # raw + smoothed per curve
    assert (tmp_path / "losses.png").exists()


def test_plot_losses_from_the_history_and_its_dict():
    history = History(values=history_dict(), samples=snapshots())
    assert legend(viz.plot_losses(history)) == ["d_loss", "g_loss"]
    fig = viz.plot_losses(history.as_dict(), smooth=1)  # what a checkpoint stores
    assert legend(fig) == ["d_loss", "g_loss"]
    assert len(fig.axes[0].lines) == 2  # smooth=1: raw curves only


def test_plot_losses_shows_every_loss_a_cyclegan_step_returns():
    library, learner = History(), History()
    for step in range(30):  # train.cyclegan_step's values, and a learner's own CycleGAN step
        library.append(d_loss=1.0, g_loss=3.0, d_real=0.5, d_fake=0.4, g_gan=0.9,
                       cycle=1.5 - step / 30, identity=0.6)  # fmt: skip
        learner.append(g_loss=3.0, d_a_loss=0.4, d_b_loss=0.5, cycle=1.0, identity=0.6)
    assert legend(viz.plot_losses(library, smooth=1)) == [
        "d_loss",
        "g_loss",
        "g_gan",
        "cycle",
        "identity",
    ]
    assert legend(viz.plot_losses(learner, smooth=1)) == [
        "g_loss",
        "d_a_loss",
        "d_b_loss",
        "cycle",
        "identity",
    ]


def test_plot_losses_reads_the_old_history_and_its_dict():
    old = old_history(**history_dict(30), extra={"cycle": [1.0] * 30, "g_gan": [0.5] * 30})
    assert legend(viz.plot_losses(old, smooth=1)) == ["d_loss", "g_loss", "cycle", "g_gan"]
    as_dict = {**history_dict(30), "samples": snapshots(), "extra": {"cycle_loss": [1.0] * 30}}
    assert legend(viz.plot_losses(as_dict, smooth=1)) == ["d_loss", "g_loss", "cycle_loss"]


def test_plot_losses_bad_input():
    with pytest.raises(ValueError, match=r"no loss curves.*has errD, errG.*'\.\.\._loss'"):
        viz.plot_losses(History(values={"errD": [1.0, 2.0], "errG": [1.0, 0.5]}))
    assert legend(viz.plot_losses({"errD": [1.0, 2.0]}, keys=["errD"])) == ["errD"]
    with pytest.raises(ValueError, match=r"\['nope'\].*keys"):
        viz.plot_losses(history_dict(), keys=["nope"])
    with pytest.raises(TypeError, match="History or a dict"):
        viz.plot_losses([1.0, 2.0])
    with pytest.raises(TypeError, match="got Linear"):
        viz.plot_losses(torch.nn.Linear(2, 1))  # the model, not the history


def test_plot_d_outputs(tmp_path):
    fig = viz.plot_d_outputs(history_dict(), save=tmp_path / "d.png")
    ax = fig.axes[0]
    assert ax.get_title().startswith("Discriminator outputs") and ax.get_ylabel()
    assert set(legend(fig)) == {"D(x), real", "D(G(z)), fake"}
    assert any(np.allclose(line.get_ydata(), 0.5) for line in ax.lines)  # the 0.5 reference
    assert len(legend(viz.plot_d_outputs(History(values=history_dict())))) == 2
    assert legend(viz.plot_d_outputs({"d_fake": [0.2, 0.3]}, smooth=1)) == ["D(G(z)), fake"]


def test_plot_d_outputs_says_when_the_history_has_none():
    history = History(values={"g_loss": [1.0, 2.0], "d_a_loss": [0.5, 0.4]})
    with pytest.raises(ValueError, match=r"no discriminator outputs.*d_real.*g_loss, d_a_loss"):
        viz.plot_d_outputs(history)
    with pytest.raises(ValueError, match="return them"):
        viz.plot_d_outputs({"d_loss": [1.0]})


# --------------------------------------------------------------------------- samples over training


def test_progression_grid_one_row_per_snapshot(tmp_path):
    fig = viz.progression_grid(snapshots(count=4, n=8), n_images=5, save=tmp_path / "p.png")
    ax = fig.axes[0]
    assert [t.get_text() for t in ax.get_yticklabels()] == ["0", "100", "200", "300"]
    assert ax.get_ylabel() == "training step" and ax.get_title()
    height, width, _ = ax.images[0].get_array().shape
    assert (height, width) == (4 * 12, 5 * 10 + 2)
    assert (tmp_path / "p.png").exists()


def test_progression_grid_subsamples_long_runs_keeping_ends():
    fig = viz.progression_grid(snapshots(count=30), max_rows=6)
    steps = [int(t.get_text()) for t in fig.axes[0].get_yticklabels()]
    assert len(steps) <= 6 and steps[0] == 0 and steps[-1] == 2900


def test_progression_accepts_history_like_objects():
    class H:
        samples = snapshots(count=3, c=3)

    assert isinstance(viz.progression_grid(H()), Figure)
    assert isinstance(viz.progression_grid({"samples": [[0, grey()], [5, grey()]]}), Figure)


def test_progression_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        viz.progression_grid([])
    with pytest.raises(ValueError, match="same image size"):
        viz.progression_grid([(0, grey(size=8)), (1, grey(size=10))])
    with pytest.raises(ValueError, match="pair"):
        viz.progression_grid([grey()])


def test_animate_samples_gives_jshtml():
    html = viz.animate_samples(snapshots(count=3), nrow=4)
    assert "<script" in html.data and "animation" in html.data.lower()
    assert plt.get_fignums() == []  # the still figure is closed


def test_save_gif_writes_all_frames(tmp_path):
    path = viz.save_gif(snapshots(count=4, c=3), tmp_path / "anim" / "train.gif", nrow=4)
    gif = Image.open(path)
    assert gif.n_frames == 4
    assert gif.size[0] >= 256  # small grids are enlarged


# --------------------------------------------------------------------------- CycleGAN and latents


def test_show_triplets(tmp_path):
    fig = viz.show_triplets(
        colour(5),
        grey(5),
        colour(5),
        n=3,
        titles=("summer", "winter", "back"),
        save=tmp_path / "t.png",
    )
    axes = fig.axes
    assert len(axes) == 9
    assert [ax.get_title() for ax in axes[:3]] == ["summer", "winter", "back"]
    assert axes[0].get_ylabel() == "example 1"
    assert fig._suptitle is not None
    with pytest.raises(ValueError, match="same number"):
        viz.show_triplets(colour(5), colour(4), colour(5))


class TinyGenerator(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.net = torch.nn.Linear(4, 3 * 6 * 6)

    def forward(self, z):
        assert not self.training, "interpolate should run the generator in eval mode"
        return torch.tanh(self.net(z.view(len(z), -1))).view(-1, 3, 6, 6)


def test_interpolate_endpoints_and_modes():
    g = TinyGenerator().train()
    z0, z1 = torch.randn(4), torch.randn(4)
    images = viz.interpolate(g, z0, z1, steps=5)
    assert images.shape == (5, 3, 6, 6)
    assert g.training  # restored
    with torch.no_grad():
        g.eval()
        assert torch.allclose(images[0], g(z0[None])[0], atol=1e-6)
        assert torch.allclose(images[-1], g(z1[None])[0], atol=1e-6)
    sl = viz.interpolate(g, z0[None], z1[None], steps=5, slerp=True)  # batch dim of 1 is fine
    assert sl.shape == (5, 3, 6, 6)
    assert torch.allclose(sl[0], images[0], atol=1e-6) and not torch.allclose(sl[2], images[2])


def test_slerp_interpolation_keeps_the_norm_of_orthogonal_latents():
    z0, z1 = torch.tensor([3.0, 0.0]), torch.tensor([0.0, 3.0])
    path = viz.interpolate(torch.nn.Identity(), z0, z1, steps=7, slerp=True)
    assert torch.allclose(path.norm(dim=1), torch.full((7,), 3.0), atol=1e-5)
    assert torch.equal(path[0], z0) and torch.equal(path[-1], z1)
    straight = viz.interpolate(lambda z: z, z0, z1, steps=7)  # any function works as generator
    assert straight[3].norm() < 2.2  # the straight line passes closer to the origin


def test_interpolate_bad_input():
    g = TinyGenerator()
    with pytest.raises(ValueError, match="same shape"):
        viz.interpolate(g, torch.randn(4), torch.randn(5))
    with pytest.raises(ValueError, match="steps"):
        viz.interpolate(g, torch.randn(4), torch.randn(4), steps=1)


def test_show_interpolation(tmp_path):
    images = viz.interpolate(TinyGenerator(), torch.randn(4), torch.randn(4), steps=6)
    fig = viz.show_interpolation(images, save=tmp_path / "i.png")
    ax = fig.axes[0]
    assert ax.get_title() and ax.get_xlabel().startswith("t")
    assert [t.get_text() for t in ax.get_xticklabels()][::5] == ["0.00", "1.00"]


def test_save_figure(tmp_path):
    fig = viz.show_images(grey())
    path = viz.save_figure(fig, tmp_path / "out", "samples")
    assert path == tmp_path / "out" / "samples.png"
    assert Image.open(path).format == "PNG"
    assert viz.save_figure(fig, tmp_path, "again.png", close=True).name == "again.png"
    assert fig.number not in plt.get_fignums()
    with pytest.raises(TypeError, match="Figure"):
        viz.save_figure(grey(), tmp_path, "x")
