"""Pictures of a GAN at work: image grids, training curves, progress over time, interpolations.

Every plotting function returns its matplotlib ``Figure`` and accepts ``save=path`` to also
write it as PNG. Figures are made with ``plt.subplots`` but drawn only through the object API
(``ax.plot``, ``fig.suptitle``), so nothing depends on pyplot's "current figure". In a notebook a
figure appears once when the cell ends; write ``fig = viz.show_images(x)`` (or end the line with
``;``) so that Jupyter does not show it a second time as the cell's value. In a script call
``plt.show()``, or ``plt.close(fig)`` once a saved figure is no longer needed.

Images are tensors or arrays (N, C, H, W) with C = 1 (grey) or 3 (colour): float in [-1, 1]
(what generators produce) or uint8 in [0, 255] (what ``History.samples`` stores).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor, nn

from ganlib.curves import curves, loss_names, snapshots
from ganlib.device import eval_mode, module_device
from ganlib.explorer import slerp as slerp_path
from ganlib.images import image_batch, make_grid, to_numpy_images, to_pil

__all__ = [
    "to_numpy_images",
    "make_grid",
    "show_images",
    "smooth_curve",
    "plot_losses",
    "plot_d_outputs",
    "progression_grid",
    "animate_samples",
    "save_gif",
    "show_triplets",
    "interpolate",
    "show_interpolation",
    "save_figure",
]

DPI = 120


# --------------------------------------------------------------------------- images
# to_numpy_images and make_grid come from ganlib.images (their home, shared with live and
# explorer); viz lists them in __all__ so that notebooks find them here too.


def _axes(ax: Axes | None, figsize: tuple[float, float]) -> tuple[Figure, Axes]:
    if ax is not None:
        return ax.figure, ax
    return plt.subplots(figsize=figsize)


def _finish(fig: Figure, save: str | os.PathLike | None) -> Figure:
    if save is not None:
        path = Path(save)
        path.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(path, dpi=DPI, bbox_inches="tight")
    return fig


def _no_ticks(ax: Axes) -> None:
    ax.set_xticks([])
    ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_visible(False)


def show_images(
    images: Tensor | np.ndarray,
    nrow: int = 8,
    title: str | None = None,
    ax: Axes | None = None,
    *,
    save: str | os.PathLike | None = None,
) -> Figure:
    """Show a batch of images as a grid with ``nrow`` images per row."""
    grid = make_grid(images, nrow=nrow)
    n = len(image_batch(images))
    fig, ax = _axes(
        ax, figsize=(min(12, 0.1 + grid.shape[1] / 40), min(12, 0.4 + grid.shape[0] / 40))
    )
    ax.imshow(grid, interpolation="nearest")
    ax.set_title(title or f"{n} images")
    _no_ticks(ax)
    ax.set_xlabel(f"{min(nrow, n)} per row")
    return _finish(fig, save)


# --------------------------------------------------------------------------- curves


def smooth_curve(values: Sequence[float], window: int) -> np.ndarray:
    """Moving average over ``window`` steps (shorter windows at the start: no lag, no padding)."""
    values = np.asarray(values, dtype=np.float64)
    if window <= 1 or len(values) < 2:
        return values
    cumsum = np.cumsum(np.insert(values, 0, 0.0))
    ends = np.arange(1, len(values) + 1)
    starts = np.maximum(0, ends - window)
    return (cumsum[ends] - cumsum[starts]) / (ends - starts)


def _plot_curves(
    curves: dict[str, list[float]],
    keys: Sequence[str],
    smooth: int | None,
    ax: Axes | None,
    title: str,
    ylabel: str,
) -> tuple[Figure, Axes]:
    fig, ax = _axes(ax, figsize=(7, 4))
    longest = max(len(curves[k]) for k in keys)
    window = smooth if smooth is not None else max(1, longest // 50)
    for key in keys:
        values = curves[key]
        (line,) = ax.plot(values, alpha=0.25 if window > 1 else 1.0, linewidth=1)
        if window > 1:
            ax.plot(smooth_curve(values, window), color=line.get_color(), linewidth=2, label=key)
        else:
            line.set_label(key)
    ax.set_title(title + (f" (moving average over {window} steps)" if window > 1 else ""))
    ax.set_xlabel("training step")
    ax.set_ylabel(ylabel)
    ax.legend()
    ax.grid(alpha=0.3)
    return fig, ax


def plot_losses(
    history_or_dict: object,
    smooth: int | None = None,
    keys: Sequence[str] | None = None,
    *,
    title: str = "Losses",
    ax: Axes | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """Loss curves: faint raw values and a moving average over ``smooth`` steps.

    Takes a ``ganlib.train.History`` or a dict of per-step lists (see :mod:`ganlib.curves`).
    ``smooth=None`` picks about 1/50 of the run; ``smooth=1`` shows raw values only. ``keys``
    defaults to every value whose name ends in "loss" (d_loss, g_loss, d_a_loss, ...) plus
    CycleGAN's g_gan, cycle and identity when the history has them.
    """
    found = curves(history_or_dict)
    keys = loss_names(found) if keys is None else list(keys)
    missing = [k for k in keys if k not in found]
    if not keys or missing:
        raise ValueError(
            f"no loss curves {missing or ''} to plot: the history has "
            f"{', '.join(found) or 'no per-step number lists'}. Values named '..._loss' (and "
            "g_gan, cycle, identity) are plotted; pick others with keys=[...]"
        )
    fig, _ = _plot_curves(found, keys, smooth, ax, title, "loss")
    return _finish(fig, save)


def plot_d_outputs(
    history_or_dict: object,
    smooth: int | None = None,
    *,
    title: str = "Discriminator outputs",
    ax: Axes | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """D(x) on real and D(G(z)) on fake images over training (``d_real`` and ``d_fake``).

    The dashed line at 0.5 is where a perfectly fooled discriminator sits.
    """
    found = curves(history_or_dict)
    labels = {"d_real": "D(x), real", "d_fake": "D(G(z)), fake"}
    outputs = {label: found[name] for name, label in labels.items() if name in found}
    if not outputs:
        raise ValueError(
            "the history has no discriminator outputs to plot (no 'd_real' or 'd_fake'; it has "
            f"{', '.join(found) or 'no per-step number lists'}). Have the step function return "
            "them, e.g. d_real=torch.sigmoid(real_logits).mean()."
        )
    fig, ax = _plot_curves(outputs, list(outputs), smooth, ax, title, "discriminator output")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    return _finish(fig, save)


# --------------------------------------------------------------------------- samples over training


def _snapshots(samples: object) -> list[tuple[int, Tensor | np.ndarray]]:
    """The (step, images) list of a History or of a plain list, checked."""
    if not isinstance(samples, Sequence):  # a History or its dict, not the list itself
        samples = snapshots(samples)
    if not isinstance(samples, Sequence) or len(samples) == 0:
        raise ValueError(
            "samples must be a non-empty list of (step, images) pairs "
            "(History.samples); did training run past the first sample_every steps?"
        )
    for item in samples:
        if not (isinstance(item, tuple | list) and len(item) == 2):
            raise ValueError(
                f"each entry of samples must be a (step, images) pair, got {type(item).__name__}"
            )
    return [(int(step), images) for step, images in samples]


def _pick_rows(snapshots: list, max_rows: int) -> list:
    """At most ``max_rows`` snapshots, evenly spaced, always keeping the first and the last."""
    if len(snapshots) <= max_rows:
        return snapshots
    idx = np.unique(np.linspace(0, len(snapshots) - 1, max_rows).round().astype(int))
    return [snapshots[i] for i in idx]


def progression_grid(
    samples: object,
    n_images: int = 8,
    max_rows: int = 10,
    *,
    title: str = "Fixed-latent samples during training",
    save: str | os.PathLike | None = None,
) -> Figure:
    """One row per snapshot (labelled with its step), the same ``n_images`` latents in each row."""
    rows = _pick_rows(_snapshots(samples), max_rows)
    grids = [make_grid(images[:n_images], nrow=n_images) for _, images in rows]
    if len({g.shape for g in grids}) > 1:
        raise ValueError(
            f"all snapshots must have the same image size, got {sorted({g.shape for g in grids})}"
        )
    picture = np.concatenate(grids, axis=0)
    height = grids[0].shape[0]
    fig, ax = plt.subplots(
        figsize=(min(12, 1 + picture.shape[1] / 40), min(14, 0.5 + picture.shape[0] / 40))
    )
    ax.imshow(picture, interpolation="nearest")
    ax.set_yticks([height * (i + 0.5) for i in range(len(rows))])
    ax.set_yticklabels([str(step) for step, _ in rows])
    ax.set_xticks([])
    ax.set_ylabel("training step")
    ax.set_xlabel("the same fixed latent vectors in every row")
    ax.set_title(title)
    return _finish(fig, save)


def _frames(samples: object, nrow: int) -> list[tuple[int, np.ndarray]]:
    frames = [(step, make_grid(images, nrow=nrow)) for step, images in _snapshots(samples)]
    if len({f.shape for _, f in frames}) > 1:
        raise ValueError("all snapshots must have the same number and size of images")
    return frames


def animate_samples(
    samples: object, nrow: int = 8, interval: int = 300, title: str = "Samples at step {step}"
):
    """An animation of the fixed-latent samples over training, as notebook HTML (jshtml).

    Returns ``IPython.display.HTML``: make it the last line of a cell to play it.
    """
    from IPython.display import HTML
    from matplotlib.animation import FuncAnimation

    frames = _frames(samples, nrow)
    fig, ax = plt.subplots(figsize=(min(8, 1 + frames[0][1].shape[1] / 40),) * 2)
    image = ax.imshow(frames[0][1], interpolation="nearest")
    _no_ticks(ax)
    ax.set_xlabel("fixed latent vectors")

    def draw(i: int):
        image.set_data(frames[i][1])
        ax.set_title(title.format(step=frames[i][0]))
        return (image,)

    animation = FuncAnimation(fig, draw, frames=len(frames), interval=interval, blit=False)
    html = animation.to_jshtml()
    plt.close(fig)  # the HTML player replaces the still figure
    return HTML(html)


def save_gif(
    samples: object,
    path: str | os.PathLike,
    nrow: int = 8,
    duration: int = 300,
    scale: int | None = None,
) -> Path:
    """Write the fixed-latent samples over training as an animated GIF (Pillow; no ffmpeg).

    ``scale`` enlarges each frame by an integer factor (default: to at least 256 pixels wide).
    """
    frames = _frames(samples, nrow)
    width = frames[0][1].shape[1]
    scale = scale or max(1, math.ceil(256 / width))
    pictures = [to_pil(grid, scale) for _, grid in frames]
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=duration, loop=0)
    return path


# --------------------------------------------------------------------------- CycleGAN


def show_triplets(
    real: Tensor | np.ndarray,
    translated: Tensor | np.ndarray,
    reconstructed: Tensor | np.ndarray,
    titles: Sequence[str] = ("real", "translated", "reconstructed"),
    n: int = 4,
    *,
    title: str = "CycleGAN: real -> translated -> reconstructed",
    save: str | os.PathLike | None = None,
) -> Figure:
    """One row per example: real image, its translation, and the translation mapped back."""
    columns = [
        to_numpy_images(x, name)
        for x, name in zip(
            (real, translated, reconstructed), ("real", "translated", "reconstructed"), strict=True
        )
    ]
    if len({len(c) for c in columns}) != 1:
        raise ValueError(
            "real, translated and reconstructed must hold the same number of images, "
            f"got {[len(c) for c in columns]}"
        )
    if len(titles) != 3:
        raise ValueError(f"titles needs 3 names, got {len(titles)}")
    rows = min(n, len(columns[0]))
    fig, axes = plt.subplots(rows, 3, figsize=(6, 2 * rows + 0.5), squeeze=False)
    for r in range(rows):
        for c in range(3):
            ax = axes[r, c]
            image = columns[c][r]
            ax.imshow(image[..., 0] if image.shape[-1] == 1 else image, cmap="gray", vmin=0, vmax=1)
            _no_ticks(ax)
            if r == 0:
                ax.set_title(titles[c])
        axes[r, 0].set_ylabel(f"example {r + 1}")
    fig.suptitle(title)
    fig.tight_layout()
    return _finish(fig, save)


# --------------------------------------------------------------------------- latent interpolation


def interpolate(
    generator: Callable[[Tensor], Tensor],
    z0: Tensor,
    z1: Tensor,
    steps: int = 8,
    slerp: bool = False,
) -> Tensor:
    """Generate the images along the path from latent ``z0`` to ``z1`` (``steps`` points).

    ``z0`` and ``z1`` are single latents of any shape the generator takes per sample (e.g.
    (z_dim,) or (z_dim, 1, 1)); a leading batch dimension of 1 is dropped. ``slerp=True`` moves
    along the sphere instead of the straight line. The generator runs in eval mode.
    """
    if not isinstance(z0, Tensor) or not isinstance(z1, Tensor):
        raise TypeError("z0 and z1 must be tensors, e.g. torch.randn(z_dim)")
    if z0.shape != z1.shape:
        raise ValueError(
            f"z0 and z1 must have the same shape, got {tuple(z0.shape)} and {tuple(z1.shape)}"
        )
    if z0.dim() > 1 and z0.shape[0] == 1:
        z0, z1 = z0[0], z1[0]
    if steps < 2:
        raise ValueError(f"steps must be >= 2 (the two ends), got {steps}")
    t = torch.linspace(0, 1, steps, device=z0.device)
    ends = [z.float()[None].expand(steps, *z.shape) for z in (z0, z1)]  # (steps, *latent shape)
    if slerp:
        path = slerp_path(*ends, t)
    else:
        path = torch.lerp(*ends, t.view(-1, *[1] * z0.dim()))
    if isinstance(generator, nn.Module):
        path = path.to(module_device(generator))
    with eval_mode(generator):
        images = generator(path)
    return images.detach().cpu()


def show_interpolation(
    images: Tensor | np.ndarray,
    *,
    title: str = "Latent interpolation",
    ax: Axes | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """One row of images from :func:`interpolate`, from t = 0 (z0) to t = 1 (z1)."""
    n = len(image_batch(images))
    grid = make_grid(images, nrow=n)
    fig, ax = _axes(ax, figsize=(min(14, 1.2 * n), 2))
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([])
    cell = (grid.shape[1] - 2) / n
    ax.set_xticks([2 + cell * (i + 0.5) for i in range(n)])
    ax.set_xticklabels([f"{t:.2f}" for t in np.linspace(0, 1, n)])
    ax.set_xlabel("t (0 = z0, 1 = z1)")
    ax.set_title(title)
    return _finish(fig, save)


# --------------------------------------------------------------------------- files


def save_figure(
    fig: Figure, out_dir: str | os.PathLike, name: str, dpi: int = DPI, close: bool = False
) -> Path:
    """Save ``fig`` as ``out_dir/name.png`` (folders made as needed); return the path."""
    if not isinstance(fig, Figure):
        raise TypeError(
            f"save_figure needs a matplotlib Figure, got {type(fig).__name__} "
            "(the viz functions return one: fig = viz.show_images(...))"
        )
    path = Path(out_dir) / (name if name.lower().endswith(".png") else f"{name}.png")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi, bbox_inches="tight")
    if close:
        plt.close(fig)
    return path
