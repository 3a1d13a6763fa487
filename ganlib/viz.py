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
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from torch import Tensor

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
Samples = Sequence[tuple[int, Tensor]]


# --------------------------------------------------------------------------- images


def to_numpy_images(images: Tensor | np.ndarray, what: str = "images") -> np.ndarray:
    """Images (N, C, H, W) as float NumPy in [0, 1], channels last: (N, H, W, C).

    A single image (C, H, W) becomes a batch of one. Float input is taken to be in [-1, 1].
    """
    if isinstance(images, Tensor):
        images = images.detach().cpu()
        images = images.numpy() if images.dtype != torch.bfloat16 else images.float().numpy()
    images = np.asarray(images)
    if images.ndim == 3 and images.shape[0] in (1, 3):
        images = images[None]
    if images.ndim != 4:
        raise ValueError(f"{what} must have shape (N, C, H, W) or (C, H, W), got {images.shape}")
    if images.shape[1] not in (1, 3):
        hint = " (channels last? use x.permute(0, 3, 1, 2))" if images.shape[-1] in (1, 3) else ""
        raise ValueError(
            f"{what} must have 1 or 3 channels in dim 1 (N, C, H, W), got shape "
            f"{images.shape}{hint}"
        )
    if images.dtype == np.uint8:
        unit = images.astype(np.float32) / 255
    elif np.issubdtype(images.dtype, np.floating):
        unit = (images.astype(np.float32) + 1) / 2
    else:
        raise TypeError(f"{what} must be float in [-1, 1] or uint8, got dtype {images.dtype}")
    return np.clip(unit, 0, 1).transpose(0, 2, 3, 1)


def make_grid(
    images: Tensor | np.ndarray, nrow: int = 8, padding: int = 2, pad_value: float = 1.0
) -> np.ndarray:
    """One picture (H, W, 3) in [0, 1] of the images laid out ``nrow`` per row."""
    x = to_numpy_images(images)
    if nrow < 1:
        raise ValueError(f"nrow must be >= 1, got {nrow}")
    n, h, w, c = x.shape
    if c == 1:
        x = np.repeat(x, 3, axis=3)
    cols = min(nrow, n)
    rows = math.ceil(n / cols)
    grid = np.full(
        (rows * (h + padding) + padding, cols * (w + padding) + padding, 3),
        pad_value,
        dtype=np.float32,
    )
    for i, image in enumerate(x):
        top, left = padding + (i // cols) * (h + padding), padding + (i % cols) * (w + padding)
        grid[top : top + h, left : left + w] = image
    return grid


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
    n = len(to_numpy_images(images))
    fig, ax = _axes(
        ax, figsize=(min(12, 0.1 + grid.shape[1] / 40), min(12, 0.4 + grid.shape[0] / 40))
    )
    ax.imshow(grid, interpolation="nearest")
    ax.set_title(title or f"{n} images")
    _no_ticks(ax)
    ax.set_xlabel(f"{min(nrow, n)} per row")
    return _finish(fig, save)


# --------------------------------------------------------------------------- curves


def _as_mapping(history: object) -> Mapping:
    """A ganlib.train.History as its dict; a dict as it is."""
    if hasattr(history, "as_dict"):
        history = history.as_dict()
    if not isinstance(history, Mapping):
        raise TypeError(
            f"expected a ganlib.train.History or a dict of lists, got {type(history).__name__}"
        )
    return history


def _curves(history: object) -> dict[str, list[float]]:
    """The per-step number lists of a ganlib.train.History or a dict of lists."""
    history = _as_mapping(history)
    items = {**history, **history.get("extra", {})}  # History keeps further losses in "extra"
    curves = {}
    for key, values in items.items():
        if isinstance(values, Tensor):
            values = values.detach().cpu().flatten().tolist()
        if (
            isinstance(values, Sequence | np.ndarray)
            and len(values) > 0
            and all(isinstance(v, int | float | np.number) for v in values)
        ):
            curves[key] = [float(v) for v in values]
    return curves


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

    ``smooth=None`` picks about 1/50 of the run; ``smooth=1`` shows raw values only. ``keys``
    defaults to every curve whose name contains "loss" plus every entry of ``History.extra``
    (further losses by name): for :func:`ganlib.train.fit_cyclegan` that is d_loss, g_loss and
    its parts g_gan, cycle and identity.
    """
    history = _as_mapping(history_or_dict)
    curves = _curves(history)
    if keys is None:
        keys = [k for k in curves if "loss" in k or k in history.get("extra", {})]
    keys = list(keys)
    missing = [k for k in keys if k not in curves]
    if not keys or missing:
        raise ValueError(
            f"no loss curves {missing or ''} to plot: the history has "
            f"{sorted(curves) or 'no number lists'}; pick some with keys=[...]"
        )
    fig, _ = _plot_curves(curves, keys, smooth, ax, title, "loss")
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
    curves = _curves(history_or_dict)
    if "d_real" not in curves or "d_fake" not in curves:
        raise ValueError(f"need 'd_real' and 'd_fake' curves, the history has {sorted(curves)}")
    renamed = {"D(x), real": curves["d_real"], "D(G(z)), fake": curves["d_fake"]}
    fig, ax = _plot_curves(renamed, list(renamed), smooth, ax, title, "discriminator output")
    ax.axhline(0.5, color="grey", linestyle="--", linewidth=1)
    return _finish(fig, save)


# --------------------------------------------------------------------------- samples over training


def _snapshots(samples: object) -> list[tuple[int, Tensor | np.ndarray]]:
    """The (step, images) list of a History or of a plain list, checked."""
    samples = getattr(samples, "samples", samples)
    if isinstance(samples, Mapping):  # History.as_dict()
        samples = samples.get("samples", [])
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
    from PIL import Image

    frames = _frames(samples, nrow)
    width = frames[0][1].shape[1]
    scale = scale or max(1, math.ceil(256 / width))
    pictures = []
    for _, grid in frames:
        picture = Image.fromarray((grid * 255).round().astype(np.uint8))
        pictures.append(
            picture.resize((picture.width * scale, picture.height * scale), Image.NEAREST)
        )
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


def _slerp(z0: Tensor, z1: Tensor, t: Tensor) -> Tensor:
    """Spherical interpolation: keeps the norm typical of Gaussian latents along the path."""
    a, b = z0.flatten(), z1.flatten()
    cos = torch.dot(a, b) / (a.norm() * b.norm()).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1))
    if omega.abs() < 1e-4:  # (nearly) parallel: the straight line is the same path
        return torch.lerp(z0[None], z1[None], t.view(-1, *[1] * z0.dim()))
    t = t.view(-1, *[1] * z0.dim())
    return (torch.sin((1 - t) * omega) * z0 + torch.sin(t * omega) * z1) / torch.sin(omega)


@torch.no_grad()
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
    if slerp:
        path = _slerp(z0.float(), z1.float(), t)
    else:
        path = torch.lerp(z0[None].float(), z1[None].float(), t.view(-1, *[1] * z0.dim()))
    was_training = getattr(generator, "training", None)
    params = list(generator.parameters()) if hasattr(generator, "parameters") else []
    if params:
        path = path.to(params[0].device)
    if was_training is not None:
        generator.eval()
    try:
        images = generator(path)
    finally:
        if was_training:
            generator.train()
    return images.detach().cpu()


def show_interpolation(
    images: Tensor | np.ndarray,
    *,
    title: str = "Latent interpolation",
    ax: Axes | None = None,
    save: str | os.PathLike | None = None,
) -> Figure:
    """One row of images from :func:`interpolate`, from t = 0 (z0) to t = 1 (z1)."""
    x = to_numpy_images(images)
    grid = make_grid(images, nrow=len(x))
    fig, ax = _axes(ax, figsize=(min(14, 1.2 * len(x)), 2))
    ax.imshow(grid, interpolation="nearest")
    ax.set_yticks([])
    cell = (grid.shape[1] - 2) / len(x)
    ax.set_xticks([2 + cell * (i + 0.5) for i in range(len(x))])
    ax.set_xticklabels([f"{t:.2f}" for t in np.linspace(0, 1, len(x))])
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
