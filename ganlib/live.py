"""A live view of training: one output area that refreshes while a GAN learns.

Watching the losses and the samples change is the best way to *see* a GAN train (and to stop a
run that has collapsed). ``LiveView`` keeps a single notebook output up to date through an
IPython display handle, so an executed notebook holds one picture per view (the final one), not
hundreds. Outside a notebook it prints a short line instead::

    view = LiveView(every=50, title="MLP GAN")
    history = train.fit(train_step, loader, ..., callback=view.callback)
    view.close()

or, in a loop of your own, ``view.update(step, d_loss=..., g_loss=..., images=fake)``.
"""

from __future__ import annotations

import io
import math
import sys
from collections.abc import Callable, Sequence

import torch

from ganlib.curves import loss_names, named_lists, snapshots
from ganlib.images import make_grid

__all__ = ["LiveView", "in_notebook"]

#: How the summary line and the legend name the two classic losses; others keep their own names.
LABELS = {"d_loss": "D loss", "g_loss": "G loss"}


def in_notebook() -> bool:
    """True inside a Jupyter kernel (JupyterLab, Colab, papermill), where images can be shown."""
    ipython = sys.modules.get("IPython")
    if ipython is None:
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


def _is_per_step_list(values: object) -> bool:
    """A list, tuple, 1-D tensor or 1-D array (of one number per step)."""
    if hasattr(values, "ndim"):
        return values.ndim == 1
    return isinstance(values, Sequence) and not isinstance(values, str)


def _number(name: str, value: object) -> float:
    """A loss as a float: a Python number or a 0-d tensor (anything else is a clear error)."""
    try:
        return float(value)
    except (TypeError, ValueError, RuntimeError) as err:
        raise TypeError(
            f"{name} must be a number (a float or a 0-d tensor), got {type(value).__name__}"
            + (f" of shape {tuple(value.shape)}" if isinstance(value, torch.Tensor) else "")
        ) from err


class LiveView:
    """Loss curves and the latest samples, redrawn every ``every`` steps in one output area.

    ``update`` records the losses at every step (cheap) and redraws only when the step reaches a
    new multiple of ``every``. ``close`` draws the final state. In a terminal the redraw is a
    one-line summary, printed through tqdm so an active progress bar stays intact. ``steps`` and
    ``values`` (name -> one number per recorded step) hold what the view has seen.
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
        self.values: dict[str, list[float]] = {}  # NaN where a step did not give that value
        self.images: torch.Tensor | None = None
        self.images_step: int | None = None
        self.frames = 0  # how many times the view was drawn
        self.closed = False
        self._last_bucket = 0  # step // every at the last redraw: redraw at every, 2 * every, ...
        self._handle = None  # the IPython display handle, created on the first frame
        self._latest: tuple[torch.Tensor, int] | None = None  # images passed since the last frame

    # --- recording --------------------------------------------------------------------------
    def update(
        self, step: int, *, images: torch.Tensor | None = None, **losses: float | None
    ) -> bool:
        """Record one step's losses (``d_loss=..., g_loss=...``, any names); redraw when due.

        The view redraws when ``step`` reaches a new multiple of ``every`` and then returns True.
        A loss may be a float or a 0-d tensor; None is skipped. ``images`` (uint8, or float in
        [-1, 1]) are only copied when drawn, so passing them at every step costs nothing; the
        latest ones are shown.
        """
        if self.closed:
            raise RuntimeError("this LiveView is closed; create a new one for a new run")
        given = {name: _number(name, value) for name, value in losses.items() if value is not None}
        if given:
            self._record(int(step), given)
        if images is not None:
            self._latest = (images, int(step))  # a reference: copied only when drawn
        if step // self.every <= self._last_bucket:
            return False
        self._last_bucket = step // self.every
        self._draw()
        return True

    def _record(self, step: int, given: dict[str, float]) -> None:
        self.steps.append(step)
        for name in [name for name in given if name not in self.values]:
            self.values[name] = [math.nan] * (len(self.steps) - 1)  # a new name: NaN before
        for name, curve in self.values.items():
            curve.append(given.get(name, math.nan))

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
    def callback(self) -> Callable[..., None]:
        """``callback(step, history)`` for ``ganlib.train``: feeds the view from the History.

        The view copies the history's losses it has not seen yet (every value whose name ends in
        "loss", and CycleGAN's g_gan, cycle, identity) and shows the latest of
        ``history.samples``, then redraws when due. Trainers of earlier course versions called
        ``callback(step, history, G)``; the extra argument is accepted and not needed.
        """

        def callback(step: int, history: object, *unused: object) -> None:
            self.record_history(history)
            samples = snapshots(history)
            self.update(step, images=samples[-1][1] if samples else None)

        return callback

    def record_history(self, history: object) -> None:
        """Copy the losses that ``history`` has and this view has not seen yet.

        ``history`` is a ``ganlib.train.History`` or a dict of per-step lists; entry i of each
        list is the value of step i + 1.
        """
        lists = named_lists(history)
        losses = {name: lists[name] for name in loss_names(lists)}
        for name, values in losses.items():
            if not _is_per_step_list(values):
                raise TypeError(
                    f"the history's {name!r} must be a list with one number per step, "
                    f"got {type(values).__name__}"
                )
        if not losses and any(_is_per_step_list(v) and len(v) > 0 for v in lists.values()):
            raise ValueError(
                f"the history has no losses to show (it has {', '.join(lists)}): the live view "
                "shows the values whose names end in 'loss' (d_loss, g_loss, ...) and g_gan, "
                "cycle, identity; name your step function's losses that way"
            )
        total = max((len(values) for values in losses.values()), default=0)
        for i in range(len(self.steps), total):
            given = {n: _number(n, values[i]) for n, values in losses.items() if i < len(values)}
            self._record(i + 1, given)

    # --- drawing ----------------------------------------------------------------------------
    def summary(self) -> str:
        """One line: the step and the latest losses."""
        if not self.steps:
            return f"{self.title}: no steps yet"
        latest = " | ".join(
            f"{LABELS.get(name, name)} {curve[-1]:.3f}" for name, curve in self.values.items()
        )
        return f"{self.title} | step {self.steps[-1]} | {latest}"

    def _draw(self, final: bool = False) -> None:
        if self._latest is not None:
            images, self.images_step = self._latest
            self.images = images[: self.max_images].detach().cpu().clone()
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
        for name, curve in self.values.items():
            ax.plot(self.steps, curve, label=LABELS.get(name, name), linewidth=1)
        if self.values:
            ax.legend(loc="upper right")
        ax.set_xlabel("step")
        ax.set_title("losses")
        ax.grid(alpha=0.3)
        if has_images:
            ax_img = fig.add_subplot(1, 2, 2)
            ax_img.imshow(make_grid(self.images, self.nrow))
            ax_img.set_title(f"fixed-latent samples (step {self.images_step})")
            ax_img.axis("off")
        fig.suptitle(self.summary())
        # Fixed margins: much cheaper than tight_layout at every redraw.
        fig.subplots_adjust(left=0.07, right=0.98, bottom=0.14, top=0.8, wspace=0.12)
        buffer = io.BytesIO()
        fig.savefig(buffer, format="png")
        return buffer.getvalue()

    def __repr__(self) -> str:
        return f"LiveView(every={self.every}, title={self.title!r}, frames={self.frames})"
