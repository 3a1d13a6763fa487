"""Explore a trained generator's latent space with sliders.

``latent_explorer(G, z_dim)`` shows a row of generated images and a few sliders:

* one slider per latent *direction* (random orthonormal vectors in z-space): moving it adds
  ``alpha * direction`` to every latent, so you see which features that direction controls;
* an interpolation slider ``t`` that walks from latent batch A (t = 0) to batch B (t = 1) along a
  great circle (slerp), which keeps the latents at the typical norm of a Gaussian sample;
* a "New endpoints" button that draws fresh A and B.

The latent shown is ``z = slerp(z_a, z_b, t) + sum_i alpha_i * d_i``.

``conditional_explorer(G, z_dim, num_classes)`` does the same for a class-conditional generator
``G(z, labels)`` (lesson 07), with a class picker on top: pick a digit and move in latent space,
or pick "every class" to see one latent drawn as each class (the latent keeps the style, the
label sets the class).

Only ipywidgets APIs shared by versions 7 (Colab) and 8 (JupyterLab 4) are used.
"""

from __future__ import annotations

import io

import torch
from torch import nn

from ganlib.device import eval_mode, module_device
from ganlib.images import make_grid, to_pil

__all__ = [
    "LatentExplorer",
    "latent_explorer",
    "ConditionalExplorer",
    "conditional_explorer",
    "EVERY_CLASS",
    "random_directions",
    "slerp",
]

SLIDER_RANGE = 3.0  # a unit direction of N(0, I) has standard deviation 1: +-3 covers 99.7%
TILE_PIXELS = 96  # small images (MNIST's 28 px) are enlarged to about this size


def random_directions(z_dim: int, n: int, seed: int = 0) -> torch.Tensor:
    """``n`` random orthonormal directions in R^z_dim, as the rows of an (n, z_dim) tensor."""
    if not 1 <= n <= z_dim:
        raise ValueError(f"n_directions must be between 1 and z_dim={z_dim}, got {n}")
    gaussian = torch.randn(z_dim, n, generator=torch.Generator().manual_seed(seed))
    q, _ = torch.linalg.qr(gaussian)  # QR of a Gaussian matrix: uniformly random orthonormal
    return q.T.contiguous()


def slerp(a: torch.Tensor, b: torch.Tensor, t: float | torch.Tensor) -> torch.Tensor:
    """Spherical interpolation between the rows of ``a`` and ``b`` (t = 0 gives a, t = 1 gives b).

    Each row (one latent, of any shape) moves along the great circle from ``a[i]`` to ``b[i]``,
    which keeps the norm typical of Gaussian latents, where the straight line would pass close to
    the origin. ``t`` is one number for every row or a tensor with one value per row. Rows that
    point (almost) the same or opposite ways have no single great circle: they take the straight
    line.
    """
    if a.shape != b.shape or a.dim() < 2:
        raise ValueError(
            "a and b must be batches of latents (N, ...) of the same shape, got "
            f"{tuple(a.shape)} and {tuple(b.shape)}; for a single latent z use z[None]"
        )
    per_row = (-1, *[1] * (a.dim() - 1))  # broadcasts a value per row over the latent's shape
    t = torch.as_tensor(t, dtype=a.dtype, device=a.device).reshape(per_row)
    a_flat, b_flat = a.flatten(1), b.flatten(1)
    cos = (a_flat * b_flat).sum(dim=1) / (a_flat.norm(dim=1) * b_flat.norm(dim=1)).clamp_min(1e-12)
    omega = torch.arccos(cos.clamp(-1, 1)).reshape(per_row)
    sin_omega = torch.sin(omega)
    parallel = sin_omega < 1e-4
    curved = (torch.sin((1 - t) * omega) * a + torch.sin(t * omega) * b) / torch.where(
        parallel, 1.0, sin_omega
    )
    path = torch.where(parallel, torch.lerp(a, b, t), curved)
    return torch.where(t == 0, a, torch.where(t == 1, b, path))  # the ends exactly


def _to_images(out: torch.Tensor) -> torch.Tensor:
    """Generator output as (N, C, H, W): flat MLP outputs of C * s * s features are reshaped."""
    if out.dim() == 4:
        return out
    if out.dim() == 2:
        for channels in (1, 3):
            side = round((out.shape[1] / channels) ** 0.5)
            if channels * side * side == out.shape[1]:
                return out.view(out.shape[0], channels, side, side)
    raise ValueError(
        f"the generator returned shape {tuple(out.shape)}; the explorer expects images "
        "(N, C, H, W) or flat (N, C*H*W) square images with C = 1 or 3"
    )


def _png(images: torch.Tensor, nrow: int) -> bytes:
    """PNG bytes of a grid of images in [-1, 1], enlarged so that small images stay visible."""
    picture = to_pil(make_grid(images, nrow=nrow), scale=max(1, TILE_PIXELS // images.shape[-1]))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()


class LatentExplorer:
    """The state and callbacks behind the explorer; ``.widget`` is what the notebook shows.

    Tests (and curious learners) can drive it from Python: set ``direction_sliders[i].value`` or
    ``mix_slider.value`` and read ``png`` (the current image bytes) or ``z`` (the latents).
    """

    def __init__(
        self,
        generator: nn.Module,
        z_dim: int,
        *,
        n_directions: int = 4,
        seed: int = 0,
        device: str | torch.device | None = None,
        nrow: int = 8,
    ) -> None:
        import ipywidgets as widgets

        if not isinstance(generator, nn.Module):
            raise TypeError(
                f"generator must be a torch.nn.Module (an instance, e.g. G), "
                f"got {type(generator).__name__}"
            )
        if not isinstance(z_dim, int) or isinstance(z_dim, bool) or z_dim < 1:
            raise ValueError(f"z_dim must be a positive int, got {z_dim!r}")
        if not isinstance(nrow, int) or nrow < 1:
            raise ValueError(f"nrow must be a positive int (images per row), got {nrow!r}")
        self.generator = generator
        self.z_dim = z_dim
        self.nrow = nrow
        self.device = torch.device(device) if device is not None else module_device(generator)
        self.directions = random_directions(z_dim, n_directions, seed).to(self.device)
        self._rng = torch.Generator().manual_seed(seed)  # on the CPU: same latents on any device
        self.z_a = self._sample()
        self.z_b = self._sample()
        self._latent_shape = self._find_latent_shape()
        self.redraws = 0

        def slider(description: str, low: float, high: float, step: float) -> widgets.FloatSlider:
            return widgets.FloatSlider(
                value=0.0,
                min=low,
                max=high,
                step=step,
                description=description,
                continuous_update=True,
                readout_format=".2f",
                style={"description_width": "90px"},
                layout=widgets.Layout(width="420px"),
            )

        self.direction_sliders = [
            slider(f"direction {i + 1}", -SLIDER_RANGE, SLIDER_RANGE, 0.1)
            for i in range(n_directions)
        ]
        self.mix_slider = slider("A → B (t)", 0.0, 1.0, 0.05)
        self.new_button = widgets.Button(description="New endpoints")
        self.image = widgets.Image(format="png", value=self.render())
        for control in [*self.direction_sliders, self.mix_slider]:
            control.observe(self._redraw, names="value")
        self.new_button.on_click(self.new_endpoints)
        caption = widgets.HTML(
            "<b>z = slerp(z<sub>A</sub>, z<sub>B</sub>, t) + Σ α<sub>i</sub> d<sub>i</sub></b>"
            " &nbsp; (d<sub>i</sub>: random orthonormal directions)"
        )
        self.widget = widgets.VBox(
            [
                caption,
                self.image,
                widgets.HBox([self.mix_slider, self.new_button]),
                *self.direction_sliders,
            ]
        )
        self.widget.explorer = self  # reach the sliders from the widget that the notebook shows

    # --- latents ----------------------------------------------------------------------------
    def _sample(self) -> torch.Tensor:
        return torch.randn(self.nrow, self.z_dim, generator=self._rng).to(self.device)

    def _find_latent_shape(self) -> tuple[int, ...]:
        """(z_dim,) for MLP generators, (z_dim, 1, 1) for convolutional ones that need it."""
        errors = []
        for shape in [(self.z_dim,), (self.z_dim, 1, 1)]:
            try:
                with eval_mode(self.generator):
                    _to_images(self._generate(self.z_a[:1].view(1, *shape)))
                return shape
            except (RuntimeError, ValueError) as err:
                errors.append(f"{shape}: {str(err).splitlines()[0]}")
            except TypeError as err:
                raise TypeError(self._call_error(err)) from None
        raise ValueError(
            f"the generator accepts neither (N, {self.z_dim}) nor (N, {self.z_dim}, 1, 1) latents "
            f"on {self.device} ({'; '.join(errors)}). Check z_dim and that the generator is on "
            "the explorer's device."
        )

    def _generate(self, z: torch.Tensor) -> torch.Tensor:
        """The generator's output for the latents ``z`` (a conditional explorer adds labels)."""
        return self.generator(z)

    def _call_error(self, err: TypeError) -> str:
        return (
            f"the explorer calls generator(z), and the generator refused: {err}. A generator "
            "that also takes class labels, G(z, labels), goes to conditional_explorer"
        )

    @property
    def z(self) -> torch.Tensor:
        """The latents shown now: the interpolation point plus the direction offsets."""
        z = slerp(self.z_a, self.z_b, float(self.mix_slider.value))
        alphas = torch.tensor([float(s.value) for s in self.direction_sliders], device=self.device)
        return z + alphas @ self.directions

    # --- drawing ----------------------------------------------------------------------------
    def render(self, z: torch.Tensor | None = None) -> bytes:
        """PNG bytes of the generator's images for ``z`` (default: the sliders' latents)."""
        columns = self._columns(sliders=z is None)
        if z is None:
            z = self.z
        with eval_mode(self.generator):
            images = _to_images(self._generate(z.view(z.shape[0], *self._latent_shape)))
        return _png(images.cpu(), columns)

    def _columns(self, sliders: bool) -> int:
        """Images per row of the picture (``sliders``: the picture of the sliders' latents)."""
        return self.nrow

    @property
    def png(self) -> bytes:
        """The image bytes the widget shows now."""
        return bytes(self.image.value)

    def _redraw(self, change: object = None) -> None:
        self.image.value = self.render()
        self.redraws += 1

    def new_endpoints(self, button: object = None) -> None:
        """Draw new latents A and B and redraw (the "New endpoints" button)."""
        self.z_a = self._sample()
        self.z_b = self._sample()
        self._redraw()


def latent_explorer(generator: nn.Module, z_dim: int, **options: object):
    """The explorer widget for ``generator``: display it as a cell's last expression.

    ``options`` are those of :class:`LatentExplorer`: ``n_directions=4``, ``seed=0``,
    ``device=None`` (the generator's own) and ``nrow=8``. The returned ``ipywidgets.VBox`` has an
    ``explorer`` attribute (the ``LatentExplorer``) with the sliders, the current PNG bytes and
    the latents, for tests and for driving it in code.
    """
    return LatentExplorer(generator, z_dim, **options).widget


#: The class picker's choice that shows one latent drawn as every class.
EVERY_CLASS = -1


class ConditionalExplorer(LatentExplorer):
    """The explorer for a class-conditional generator ``G(z, labels)``: a class picker on top.

    With a class picked, every image is drawn for that class: the sliders move the latents, so
    you see what z controls within one class (slant, thickness, style). With "every class"
    (:data:`EVERY_CLASS`), the first latent is drawn once for each class: the same z in every
    digit. ``class_picker.value`` is the class (or ``EVERY_CLASS``); ``labels`` the labels the
    generator got for the picture shown.
    """

    def __init__(
        self,
        generator: nn.Module,
        z_dim: int,
        num_classes: int,
        *,
        label: int = 0,
        class_names: list[str] | None = None,
        **options: object,
    ) -> None:
        import ipywidgets as widgets

        if not isinstance(num_classes, int) or isinstance(num_classes, bool) or num_classes < 1:
            raise ValueError(f"num_classes must be a positive int, got {num_classes!r}")
        names = [str(c) for c in range(num_classes)] if class_names is None else list(class_names)
        if len(names) != num_classes:
            raise ValueError(f"class_names has {len(names)} names for {num_classes} classes")
        self._check_label(label, num_classes)
        self.num_classes, self.label = num_classes, label
        super().__init__(generator, z_dim, **options)  # draws the first picture for `label`
        self.class_picker = widgets.Dropdown(
            options=[(name, c) for c, name in enumerate(names)] + [("every class", EVERY_CLASS)],
            value=label,
            description="class",
            style={"description_width": "90px"},
            layout=widgets.Layout(width="260px"),
        )
        self.class_picker.observe(self._pick, names="value")
        caption = widgets.HTML(
            "<b>G(z, y)</b>: pick the class y, move z with the sliders"
            " &nbsp; (z = slerp(z<sub>A</sub>, z<sub>B</sub>, t) + Σ α<sub>i</sub> d<sub>i</sub>)"
        )
        self.widget.children = (caption, self.class_picker, *self.widget.children[1:])

    @staticmethod
    def _check_label(label: object, num_classes: int) -> None:
        if not isinstance(label, int) or not (0 <= label < num_classes or label == EVERY_CLASS):
            raise ValueError(
                f"label must be a class 0..{num_classes - 1} (or EVERY_CLASS), got {label!r}"
            )

    def labels_for(self, n: int) -> torch.Tensor:
        """The labels of ``n`` images: the picked class, or 0, 1, 2, ... for every class."""
        if self.label == EVERY_CLASS:
            return torch.arange(n, device=self.device) % self.num_classes
        return torch.full((n,), self.label, dtype=torch.long, device=self.device)

    def _generate(self, z: torch.Tensor) -> torch.Tensor:
        self.labels = self.labels_for(len(z))
        return self.generator(z, self.labels)

    def _call_error(self, err: TypeError) -> str:
        return (
            f"the conditional explorer calls generator(z, labels), and the generator refused: "
            f"{err}. A generator of z alone goes to latent_explorer"
        )

    @property
    def z(self) -> torch.Tensor:
        """The latents shown now; with every class, the first latent once per class."""
        z = super().z
        if self.label == EVERY_CLASS:
            return z[:1].expand(self.num_classes, *z.shape[1:])
        return z

    def _columns(self, sliders: bool) -> int:
        """One latent drawn as every class fills a row of up to ten classes."""
        if sliders and self.label == EVERY_CLASS:
            return min(self.num_classes, 10)
        return self.nrow

    def _pick(self, change: object = None) -> None:
        self.label = int(self.class_picker.value)
        self._redraw()


def conditional_explorer(generator: nn.Module, z_dim: int, num_classes: int, **options: object):
    """The explorer widget for a class-conditional ``generator(z, labels)``: pick a class, then
    move in latent space. Display it as a cell's last expression.

    ``options``: ``label=0`` (the class shown first, or ``EVERY_CLASS``), ``class_names`` (the
    picker's names; default "0", "1", ...), and those of :func:`latent_explorer`. The returned
    ``ipywidgets.VBox`` has an ``explorer`` attribute (the :class:`ConditionalExplorer`).
    """
    return ConditionalExplorer(generator, z_dim, num_classes, **options).widget
