"""A live view of training: one output area that refreshes while a GAN learns.

Watching the losses and the samples change is the best way to *see* a GAN train (and to stop a
run that has collapsed). ``LiveView`` keeps a single notebook output up to date through an
IPython display handle, so an executed notebook holds one picture per view (the final one), not
hundreds. Outside a notebook it prints a short line instead::

    view = LiveView(every=50, title="MLP GAN")
    history = fit_gan(G, D, loader, z_dim=64, steps=2000, callback=view.callback)
    view.close()
"""

from __future__ import annotations

import io
import sys
from collections.abc import Callable, Sequence

import torch

__all__ = ["LiveView", "in_notebook"]


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, papermill), where images can be shown."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _as_grid(images: torch.Tensor, nrow: int) -> torch.Tensor:
    """A (H, W, C) float grid in [0, 1] from uint8 images or float images in [-1, 1]."""
    from torchvision.utils import make_grid

    images = images.detach().cpu()
    if images.dim() == 3:
        images = images.unsqueeze(0)
    if images.dim() != 4 or images.shape[1] not in (1, 3):
        raise ValueError(
            f"images must have shape (N, C, H, W) or (C, H, W) with C = 1 or 3, got "
            f"{tuple(images.shape)}; pass the generator's output reshaped to image form."
        )
    if images.dtype == torch.uint8:
        images = images.float() / 255
    else:
        images = (images.float().clamp(-1, 1) + 1) / 2  # the course's images live in [-1, 1]
    grid = make_grid(images, nrow=nrow, padding=2, pad_value=1.0)
    return grid.permute(1, 2, 0)


class LiveView:
    """Loss curves and the latest samples, redrawn every ``every`` steps in one output area.

    ``update`` records the losses at every step (cheap) and redraws only when the step reaches a
    new multiple of ``every``. ``close`` draws the final state. In a terminal the redraw is a
    one-line summary, printed through tqdm so an active progress bar stays intact.
    """

    def __init__(
        self,
        every: int = 50,
        title: str = "GAN training",
        *,
        max_images: int = 32,
        nrow: int = 8,
        figsize: tuple[float, float] = (10.0, 3.6),
        notebook: bool | None = None,
    ) -> None:
        if not isinstance(every, int) or isinstance(every, bool) or every < 1:
            raise ValueError(f"every must be a positive int (redraw every N steps), got {every!r}")
        self.every = every
        self.title = title
        self.max_images = max_images
        self.nrow = nrow
        self.figsize = figsize
        self.notebook = in_notebook() if notebook is None else notebook
        self.steps: list[int] = []
        self.d_loss: list[float] = []
        self.g_loss: list[float] = []
        self.images: torch.Tensor | None = None
        self.images_step: int | None = None
        self.frames = 0  # how many times the view was drawn
        self.closed = False
        self._last_bucket = 0  # step // every at the last redraw: redraw at every, 2 * every, ...
        self._handle = None  # the IPython display handle, created on the first frame
        self._latest: tuple[torch.Tensor, int] | None = None  # images passed since the last frame

    # --- recording --------------------------------------------------------------------------
    def update(
        self,
        step: int,
        *,
        d_loss: float | None = None,
        g_loss: float | None = None,
        images: torch.Tensor | None = None,
    ) -> bool:
        """Record one step; redraw when ``step`` reaches a new multiple of ``every``.

        Returns True when the view was redrawn. ``images`` (uint8, or float in [-1, 1]) are only
        copied when drawn, so passing them at every step costs nothing; the latest ones are shown.
        """
        if self.closed:
            raise RuntimeError("this LiveView is closed; create a new one for a new run")
        if d_loss is not None or g_loss is not None:
            self.steps.append(int(step))
            self.d_loss.append(float("nan") if d_loss is None else float(d_loss))
            self.g_loss.append(float("nan") if g_loss is None else float(g_loss))
        if images is not None:
            self._latest = (images, int(step))  # a reference: copied only when drawn
        if step // self.every <= self._last_bucket:
            return False
        self._last_bucket = step // self.every
        self._draw()
        return True

    def close(self) -> None:
        """Draw the final state (once); later calls do nothing."""
        if self.closed:
            return
        self._draw(final=True)
        self.closed = True

    def __enter__(self) -> LiveView:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # --- the trainer's hook -----------------------------------------------------------------
    @property
    def callback(self) -> Callable[[int, object, torch.nn.Module], None]:
        """``callback(step, history, G)`` for ``ganlib.train``: feeds the view from the History.

        The history holds every step's losses and the fixed-latent samples as
        ``(step, uint8 images)``; the view copies what is new and redraws when due.
        """

        def callback(step: int, history: object, G: torch.nn.Module | None = None) -> None:
            self.record_history(history)
            samples: Sequence = getattr(history, "samples", None) or []
            self.update(step, images=samples[-1][1] if samples else None)

        return callback

    def record_history(self, history: object) -> None:
        """Copy the losses that ``history`` has and this view has not seen yet."""
        d_all, g_all = getattr(history, "d_loss", None), getattr(history, "g_loss", None)
        if d_all is None or g_all is None:
            raise TypeError(
                "the live view expects a ganlib.train.History (with d_loss and g_loss lists), "
                f"got {type(history).__name__}"
            )
        start = len(self.d_loss)
        for i in range(start, min(len(d_all), len(g_all))):
            self.steps.append(i + 1)  # history entry i is the loss of step i + 1
            self.d_loss.append(float(d_all[i]))
            self.g_loss.append(float(g_all[i]))

    # --- drawing ----------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: the step and the latest losses."""
        if not self.steps:
            return f"{self.title}: no steps yet"
        return (
            f"{self.title} | step {self.steps[-1]} | "
            f"D loss {self.d_loss[-1]:.3f} | G loss {self.g_loss[-1]:.3f}"
        )

    def _draw(self, final: bool = False) -> None:
        if self._latest is not None:
            images, self.images_step = self._latest
            self.images = images[: self.max_images].detach().cpu()
            self._latest = None
        self.frames += 1
        if not self.notebook:
            from tqdm.auto import tqdm

            tqdm.write(("done: " if final else "") + self.summary())
            return
        from IPython.display import Image, display

        picture = Image(data=self.render_png())
        if self._handle is None:
            self._handle = display(picture, display_id=True)
        else:
            self._handle.update(picture)

    def render_png(self) -> bytes:
        """The current view as PNG bytes: loss curves on the left, latest samples on the right."""
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure

        # A bare Figure (not pyplot) so the inline backend never shows a second copy.
        fig = Figure(figsize=self.figsize, dpi=90)
        FigureCanvasAgg(fig)
        has_images = self.images is not None
        ax = fig.add_subplot(1, 2 if has_images else 1, 1)
        if self.steps:
            ax.plot(self.steps, self.d_loss, label="D loss", linewidth=1)
            ax.plot(self.steps, self.g_loss, label="G loss", linewidth=1)
            ax.legend(loc="upper right")
        ax.set_xlabel("step")
        ax.set_title("losses")
        ax.grid(alpha=0.3)
        if has_images:
            ax_img = fig.add_subplot(1, 2, 2)
            ax_img.imshow(_as_grid(self.images, self.nrow).numpy())
            ax_img.set_title(f"fixed-latent samples (step {self.images_step})")
            ax_img.axis("off")
        fig.suptitle(self.summary())
        fig.subplots_adjust(
            left=0.07, right=0.98, bottom=0.14, top=0.8, wspace=0.12
        )  # cheaper than tight_layout
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"LiveView(every={self.every}, title={self.title!r}, frames={self.frames})"
