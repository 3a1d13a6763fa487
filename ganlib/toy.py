"""Toy GANs small enough to train in seconds on a CPU (lesson 00).

A 1-D problem (a Gaussian) shows the classic picture of the game: the data density, the
generator's density and the discriminator's output D(x) moving over training. A 2-D problem (a
ring of Gaussians, :func:`ganlib.metrics.ring_of_gaussians`) shows mode collapse. Everything here
is plain PyTorch on tensors of shape (N, dim); the losses are the course's own, from
:mod:`ganlib.losses`.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch
from torch import Tensor, nn

from ganlib import losses

__all__ = [
    "DATA_MEAN",
    "DATA_STD",
    "data_1d",
    "density_1d",
    "ToyGenerator",
    "ToyDiscriminator",
    "ToyRun",
    "train_toy",
    "sample",
    "kde_1d",
    "plot_1d",
    "plot_2d",
]

#: The 1-D data distribution: a Gaussian N(DATA_MEAN, DATA_STD^2).
DATA_MEAN, DATA_STD = 3.0, 0.5


def data_1d(n: int, *, mean: float = DATA_MEAN, std: float = DATA_STD) -> Tensor:
    """``n`` samples of the 1-D data distribution, shape (n, 1)."""
    return mean + std * torch.randn(n, 1)


def density_1d(
    x: np.ndarray | Tensor, *, mean: float = DATA_MEAN, std: float = DATA_STD
) -> np.ndarray:
    """The exact data density p_data(x) at the points ``x`` (what a GAN never gets to see)."""
    x = np.asarray(x, dtype=np.float64)
    return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))


class ToyGenerator(nn.Module):
    """A small MLP from noise z (z_dim) to a point x (out_dim)."""

    def __init__(self, z_dim: int = 1, hidden: int = 32, out_dim: int = 1) -> None:
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, out_dim),
        )

    def forward(self, z: Tensor) -> Tensor:
        return self.net(z)


class ToyDiscriminator(nn.Module):
    """A small MLP from a point x to one logit (D(x) = sigmoid(logit))."""

    def __init__(self, in_dim: int = 1, hidden: int = 32) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(in_dim, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, hidden),
            nn.LeakyReLU(0.2),
            nn.Linear(hidden, 1),
        )

    def forward(self, x: Tensor) -> Tensor:
        return self.net(x)


@dataclass
class ToyRun:
    """What :func:`train_toy` records: losses per step and (step, G, D) copies at snapshots."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, nn.Module, nn.Module]] = field(default_factory=list)


def train_toy(
    G: nn.Module,
    D: nn.Module,
    sample_data: Callable[[int], Tensor],
    *,
    steps: int,
    z_dim: int,
    batch_size: int = 256,
    lr: float = 1e-3,
    lr_g: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    d_loss_fn: Callable[[Tensor, Tensor], Tensor] = losses.d_loss_bce,
    g_loss_fn: Callable[[Tensor], Tensor] = losses.g_loss_nonsaturating,
    snapshot_steps: tuple[int, ...] | list[int] = (),
    g_steps: int = 1,
) -> ToyRun:
    """Train a toy GAN: one D step then one G step per iteration, both with Adam.

    ``lr`` is the learning rate of both networks unless ``lr_g`` sets the generator's own.
    ``d_loss_fn(real_logits, fake_logits)`` and ``g_loss_fn(fake_logits)`` are the losses: by
    default BCE for D and the non-saturating loss for G (the lesson plugs in the ones the learner
    wrote). Copies of G and D are kept at ``snapshot_steps`` (step 0 is before any update) so the
    game can be drawn afterwards. ``g_steps`` > 1 gives G several updates against each D: it then
    chases wherever D is currently fooled, which is how mode collapse starts.
    """
    if steps < 0 or z_dim < 1 or g_steps < 1:
        raise ValueError(
            f"need steps >= 0, z_dim >= 1, g_steps >= 1; got {steps}, {z_dim}, {g_steps}"
        )
    d_opt = torch.optim.Adam(D.parameters(), lr=lr, betas=betas)
    g_opt = torch.optim.Adam(G.parameters(), lr=lr if lr_g is None else lr_g, betas=betas)
    run = ToyRun()
    snapshot_at = set(snapshot_steps)
    for step in range(steps + 1):
        if step in snapshot_at:
            run.snapshots.append((step, copy.deepcopy(G).eval(), copy.deepcopy(D).eval()))
        if step == steps:
            break
        # D step: real points towards 1, generated points (detached from G) towards 0.
        real = sample_data(batch_size)
        fake = G(torch.randn(batch_size, z_dim))
        d_loss = d_loss_fn(D(real), D(fake.detach()))
        d_opt.zero_grad()
        d_loss.backward()
        d_opt.step()
        # G step(s): make D call the generated points real.
        for i in range(g_steps):
            if i > 0:
                fake = G(torch.randn(batch_size, z_dim))
            g_loss = g_loss_fn(D(fake))
            g_opt.zero_grad()
            g_loss.backward()
            g_opt.step()
        run.d_loss.append(d_loss.item())
        run.g_loss.append(g_loss.item())
    return run


@torch.no_grad()
def sample(G: nn.Module, n: int, z_dim: int) -> Tensor:
    """``n`` points from the generator (no gradients), shape (n, out_dim)."""
    return G(torch.randn(n, z_dim))


def kde_1d(
    samples: Tensor | np.ndarray, xs: np.ndarray, bandwidth: float | None = None
) -> np.ndarray:
    """A Gaussian kernel density estimate of 1-D ``samples`` at the points ``xs``.

    The generator has no formula for its density, only samples; a KDE turns them into a curve.
    ``bandwidth`` defaults to Silverman's rule of thumb, ``1.06 * std * n^(-1/5)``.
    """
    s = np.asarray(samples, dtype=np.float64).reshape(-1)
    xs = np.asarray(xs, dtype=np.float64)
    if bandwidth is None:
        bandwidth = max(1.06 * s.std() * len(s) ** (-1 / 5), 1e-3)
    # Average the kernels in chunks so memory stays small for many samples.
    density = np.zeros_like(xs)
    for chunk in np.array_split(s, max(1, len(s) // 2000)):
        density += np.exp(-0.5 * ((xs[:, None] - chunk[None, :]) / bandwidth) ** 2).sum(axis=1)
    return density / (len(s) * bandwidth * math.sqrt(2 * math.pi))


def plot_1d(
    ax, G: nn.Module, D: nn.Module, *, z_dim: int, xs: np.ndarray, title: str = "", n: int = 5000
):
    """Draw the 1-D game on ``ax``: p_data, the generator's density and D(x)."""
    fake = sample(G, n, z_dim).numpy()
    with torch.no_grad():
        d_of_x = torch.sigmoid(D(torch.as_tensor(xs, dtype=torch.float32).reshape(-1, 1))).numpy()
    p_data, p_g = density_1d(xs), kde_1d(fake, xs)
    ax.plot(xs, p_data, color="black", label="data $p_{data}(x)$")
    ax.fill_between(xs, p_g, color="tab:green", alpha=0.4, label="generator $p_g(x)$")
    ax.plot(xs, d_of_x.ravel(), color="tab:blue", linestyle="--", label="discriminator $D(x)$")
    ax.set_ylim(0, 1.05 * max(1.0, p_data.max(), min(p_g.max(), 4.0)))
    ax.set_xlabel("x")
    ax.set_ylabel("density / probability")
    if title:
        ax.set_title(title)
    return ax


def plot_2d(
    ax, points: Tensor, centers: Tensor | None = None, *, title: str = "", lim: float = 3.0
):
    """Scatter 2-D ``points`` on ``ax`` with the ring's ``centers`` marked."""
    p = torch.as_tensor(points).detach().cpu()
    ax.scatter(p[:, 0], p[:, 1], s=3, alpha=0.4, color="tab:green", label="generated")
    if centers is not None:
        c = torch.as_tensor(centers)
        ax.scatter(c[:, 0], c[:, 1], s=60, marker="x", color="black", label="modes")
    ax.set_xlim(-lim, lim)
    ax.set_ylim(-lim, lim)
    ax.set_aspect("equal")
    ax.set_xlabel("$x_1$")
    ax.set_ylabel("$x_2$")
    if title:
        ax.set_title(title)
    return ax
