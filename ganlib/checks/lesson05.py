"""Project checks for lesson 05, face generation: a rubric the learner runs on their own design.

The project leaves the architecture, the loss and the hyperparameters to the learner, so these
checks test what every working solution must do, and they are at least as strict as the lesson
checks for the same part:

* ``preprocess``: a centre crop of the share asked for, resized with antialiasing, uint8 pixels,
  for several sizes and crops (not only the notebook's own);
* ``data_pipeline``: batches of float faces in [-1, 1] that use the whole range;
* ``discriminator``: one raw score per image, nonlinear hidden layers that pass gradient for
  negative inputs, gradients in every layer;
* ``generator``: images in [-1, 1] from a Tanh, each image a function of its own z and of every
  coordinate of it;
* ``losses``: the chosen loss (``"bce"``, ``"lsgan"`` or ``"hinge"``) against ``ganlib.losses``;
* ``training_step``: the step run for several steps on small recording networks with losses and a
  z size the check chooses (gradients compared with the right ones at every optimizer step), then
  for several steps on the learner's own networks and losses;
* ``results``: the FID of the samples placed between the FID of real faces (the floor) and of an
  untrained generator of the same architecture (the ceiling), measured now on the learner's own
  data (``ganlib.metrics.calibrate``), plus a spread test that catches collapse.
"""

from __future__ import annotations

import copy
import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlib import losses as library
from ganlib import metrics
from ganlib.device import eval_mode

from . import CheckFailed, build, call, expect_close, expect_tensor, passed, seeded
from .probes import (
    LEARNABLE,
    LayerCall,
    build_and_trace,
    call_explained,
    expect_connected,
    expect_gradients,
    expect_scalar,
    expect_tanh_output,
    layers,
    leaky_slope,
    random_logits,
)
from .training import (
    StepWatch,
    as_number,
    expect_stepped_with,
    expect_updated,
    grads,
    same_grads,
    weights,
)

__all__ = [
    "LOSSES",
    "PASS_SCORE",
    "MIN_SPREAD",
    "preprocess",
    "data_pipeline",
    "discriminator",
    "generator",
    "losses",
    "training_step",
    "Results",
    "results",
]

#: The losses a project may choose, each (D's loss, G's loss) from ganlib.losses. BCE's D loss
#: takes the target for real images (label smoothing) as ``smooth``.
LOSSES: dict[str, tuple[Callable[..., Tensor], Callable[[Tensor], Tensor]]] = {
    "bce": (library.d_loss_bce, library.g_loss_nonsaturating),
    "lsgan": (library.d_loss_lsgan, library.g_loss_lsgan),
    "hinge": (library.d_loss_hinge, library.g_loss_hinge),
}
#: The calibrated score (``ganlib.metrics.calibrated_score``: 0 for an untrained generator, 1 for
#: real faces, on a log scale of FID) the samples must reach: 0.5 is an FID at the geometric mean
#: of the untrained generator's and the real faces'. On the stand-in faces the reference design
#: scores about 0.73 after the quick run (500 samples) and 0.78 from the FID of its full run
#: (1,000 samples); real faces score about 0.95, while an untrained generator (0, and no spread),
#: one collapsed onto one face (no spread) or onto four (0.37) and real faces with their lower
#: half blanked out (0.29) fail (tests/test_checks_lesson05.py).
PASS_SCORE = 0.5
#: Samples whose mean pairwise distance is below this share of the real faces' have collapsed.
MIN_SPREAD = 0.25
#: The negative slopes of a leaky activation that keep D's gradients alive for negative inputs.
LEAKY_RANGE = (0.05, 0.5)


# --------------------------------------------------------------------------- part 1: data
_PHOTO_SIDE = 90  # not a multiple of the output sizes: a resize without antialiasing aliases
_CASES = ((32, 0.8), (16, 0.6), (64, 1.0))  # (image_size, crop): the notebook's and others
_GEOMETRY_TOLERANCE = 8.0  # mean |difference| in 0..255 levels: a crop one pixel off passes
_ALIASING = 1.6  # a resize without antialiasing keeps this much more of fine noise's contrast


def _photos(seed: int, smooth: bool) -> Tensor:
    """Four square uint8 test photos: smooth colour fields (where the crop is easy to see), or
    pixel noise (whose fine detail an antialiased resize averages away)."""
    with seeded(seed):
        if not smooth:
            return torch.randint(0, 256, (4, 3, _PHOTO_SIDE, _PHOTO_SIDE), dtype=torch.uint8)
        coarse = torch.rand(4, 3, 4, 4) * 255
    field = F.interpolate(coarse, size=(_PHOTO_SIDE, _PHOTO_SIDE), mode="bicubic")
    return field.round().clamp(0, 255).to(torch.uint8)


def _crop_resize(
    images: Tensor, size: int, share: float, *, corner: bool = False, antialias: bool = True
) -> Tensor:
    """The reference: the central (or top-left) square of side ``share`` x the photo's, resized
    to ``size`` (bilinear, antialiased unless told), rounded back to uint8."""
    h, w = images.shape[-2:]
    side = max(1, int(min(h, w) * share))
    top, left = (0, 0) if corner else ((h - side) // 2, (w - side) // 2)
    square = images[:, :, top : top + side, left : left + side].float()
    out = F.interpolate(
        square, size=(size, size), mode="bilinear", antialias=antialias, align_corners=False
    )
    return out.round().clamp(0, 255).to(torch.uint8)


def _mean_difference(a: Tensor, b: Tensor) -> float:
    return (a.float() - b.float()).abs().mean().item()


def _preprocess_mistakes(photos: Tensor, size: int, crop: float) -> dict[str, Tensor]:
    """What the usual mistakes return for these photos: the hint for each, and its images."""
    mistakes = {
        "the photo was resized whole: crop the central square first, then resize it": (
            _crop_resize(photos, size, 1.0)
        ),
        "the crop was taken from the top-left corner: centre it (equal margins on each side)": (
            _crop_resize(photos, size, crop, corner=True)
        ),
        "crop is the share of the side to KEEP around the face, not the share to cut away": (
            _crop_resize(photos, size, 1 - crop)
        ),
        "crop is the share of the side (a crop of 0.8 keeps 80% of the width and height), "
        "not of the area": _crop_resize(photos, size, math.sqrt(crop)),
    }
    fixed = _CASES[0][1]
    if crop != fixed:
        mistakes[
            f"use the crop argument: this kept the share of the notebook's crop ({fixed}) "
            f"instead of {crop}"
        ] = _crop_resize(photos, size, fixed)
    reference = _crop_resize(photos, size, crop).float()
    mistakes[
        "the pixels were scaled to [0, 1] before the conversion to uint8: keep 0..255, the "
        "loader scales them"
    ] = (reference / 255).to(torch.uint8)
    return {hint: im for hint, im in mistakes.items() if crop < 1 or "[0, 1]" in hint}


def _expect_uint8_faces(out: Any, n: int, size: int, side: int, what: str) -> Tensor:
    """The output of ``preprocess``: a uint8 tensor (n, 3, size, size), or the mistake named."""
    out = expect_tensor(out, what, hint="return the cropped, resized images as one tensor")
    if out.is_floating_point():
        lo, hi = out.min().item(), out.max().item()
        scaled = hi <= 1 + 1e-4 and lo >= -1 - 1e-4
        raise CheckFailed(
            what,
            expected="uint8 pixels 0..255 (the loader scales them to [-1, 1] batch by batch)",
            found=f"{out.dtype} values in [{lo:.3g}, {hi:.3g}]",
            hint=(
                "leave the scaling to the loader: a float copy of all of CelebA takes 4x the "
                "memory of uint8"
                if scaled
                else "round the resized pixels, keep them within 0..255, then convert to uint8"
            ),
        )
    if out.dtype != torch.uint8:
        raise CheckFailed(
            what,
            expected="uint8 pixels 0..255",
            found=f"dtype {out.dtype}",
            hint="round, keep within 0..255, then convert to uint8",
        )
    shape = tuple(out.shape)
    if out.dim() == 4 and shape[-1] == 3 and shape[1] != 3:
        raise CheckFailed(
            what,
            expected=f"channels first, (N, 3, {size}, {size})",
            found=f"shape {shape}: channels last",
            hint="keep the images as (N, C, H, W), the layout torch's layers and resize expect",
        )
    if shape != (n, 3, size, size):
        hint = f"crop to a square, then resize it to image_size = {size}"
        if out.dim() == 4 and shape[-2:] == (side, side) and side != size:
            hint = f"the crop is right ({side}x{side}) but it was not resized to image_size"
        elif out.dim() == 4 and shape[-2:] == (_PHOTO_SIDE, _PHOTO_SIDE):
            hint = "the images came back at their loaded size: crop and resize them"
        raise CheckFailed(
            what,
            expected=f"shape ({n}, 3, {size}, {size}) for image_size={size}",
            found=f"shape {shape}",
            hint=hint,
        )
    return out


def preprocess(fn: Callable[..., Tensor]) -> None:
    """``fn(images, image_size, crop)``: uint8 photos (N, 3, H, W) -> uint8 (N, 3, S, S) faces.

    Tried with several image sizes and crops (not only the notebook's): the central square of side
    ``crop`` x H, resized to ``image_size`` with antialiasing, pixels 0..255.
    """
    for size, crop in _CASES:
        what = f"preprocess(images, image_size={size}, crop={crop})"
        photos = _photos(50, smooth=True)
        given = photos.clone()
        out = call(fn, given, size, crop, what=what)
        if not torch.equal(given, photos):
            raise CheckFailed(
                what,
                expected="the input photos left as they were",
                found="the input tensor changed",
                hint="work on a copy: the loaded dataset must stay intact for the next run",
            )
        out = _expect_uint8_faces(out, len(photos), size, int(_PHOTO_SIDE * crop), what)
        reference = _crop_resize(photos, size, crop)
        if _mean_difference(out, reference) > _GEOMETRY_TOLERANCE:
            hint = (
                "take the central square whose side is crop x the photo's side, then resize it "
                "to image_size (bilinear or bicubic, with antialiasing)"
            )
            gaps = {
                mistake: _mean_difference(out, images)
                for mistake, images in _preprocess_mistakes(photos, size, crop).items()
            }
            nearest = min(gaps, key=gaps.get)
            if gaps[nearest] <= _GEOMETRY_TOLERANCE:  # the mistake this output looks most like
                hint = nearest
            raise CheckFailed(
                what,
                expected=f"the central {crop:.0%} of each photo, resized to {size}x{size}",
                found=f"other pixels (mean difference {_mean_difference(out, reference):.1f} "
                "levels of 255)",
                hint=hint,
            )
        if size < _PHOTO_SIDE * crop / 2:  # shrunk more than twofold: aliasing shows
            noise = _photos(51, smooth=False)
            found = _expect_uint8_faces(
                call(fn, noise.clone(), size, crop, what=what),
                4,
                size,
                int(_PHOTO_SIDE * crop),
                what,
            )
            contrast = found.float().std().item() / _crop_resize(noise, size, crop).float().std()
            if contrast > _ALIASING:
                raise CheckFailed(
                    what,
                    expected="a resize that averages the pixels it merges (antialiasing)",
                    found=f"fine detail kept at {contrast:.1f}x the contrast of an antialiased "
                    "resize: the resize picks pixels instead of averaging them (aliasing)",
                    hint="shrink with antialiasing (or area averaging): without it, hair and "
                    "backgrounds turn into moire patterns at 32 px",
                )
    passed(
        "preprocess",
        "central crops of the share asked for, antialiased resize, uint8; "
        + ", ".join(f"{s} px at crop {c}" for s, c in _CASES),
    )


def _first_batch(data: Any, what: str) -> Tensor:
    """A tensor batch from a tensor, a (images, labels) pair, or anything iterable (a loader)."""
    if isinstance(data, Tensor):
        return data
    if data is None:
        raise CheckFailed(
            what,
            expected="a batch of images or a loader",
            found="None",
            hint="pass your loader, or one batch from it",
        )
    batch = data
    pair = (
        isinstance(data, tuple | list)
        and len(data) == 2
        and isinstance(data[1], Tensor)
        and data[1].dim() == 1
    )
    if not pair:
        iterator = call(iter, data, what=what, hint="pass your loader or one batch (a tensor)")
        batch = call(
            next, iterator, what=what, hint="the loader gave no batch: is the dataset empty?"
        )
    if isinstance(batch, tuple | list) and batch and isinstance(batch[0], Tensor):
        batch = batch[0]  # (images, labels)
    return expect_tensor(batch, what, hint="a batch is one tensor of images (N, 3, H, W)")


def data_pipeline(data: Any, image_size: int = 32) -> None:
    """A batch (or a loader's first batch): float (N, 3, S, S) faces in [-1, 1], not all alike."""
    what = "data pipeline"
    x = _first_batch(data, what)
    if not x.is_floating_point():
        raise CheckFailed(
            what,
            expected="float images",
            found=f"dtype {x.dtype}",
            hint="the networks take float pixels in [-1, 1]: batch the uint8 faces with "
            "data.BatchLoader, which scales each batch",
        )
    if x.dim() != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (image_size, image_size):
        raise CheckFailed(
            what,
            expected=f"a batch of colour images (N, 3, {image_size}, {image_size})",
            found=f"shape {tuple(x.shape)}",
            hint=f"crop to the face, then resize to {image_size}x{image_size}; channels first",
        )
    if x.shape[0] < 2:
        raise CheckFailed(
            what,
            expected="a batch of several images",
            found=f"{x.shape[0]} image",
            hint="a GAN trains on batches (e.g. 64)",
        )
    lo, hi = x.min().item(), x.max().item()
    if lo < -1 - 1e-4 or hi > 1 + 1e-4:
        raise CheckFailed(
            what,
            expected="pixels in [-1, 1]",
            found=f"range [{lo:.3g}, {hi:.3g}]",
            hint="map pixel 0 to -1 and pixel 255 to +1",
        )
    if lo >= -1e-6:
        raise CheckFailed(
            what,
            expected="pixels in [-1, 1] (the generator's Tanh range)",
            found=f"range [{lo:.3g}, {hi:.3g}]: looks like [0, 1]",
            hint="map [0, 1] onto [-1, 1]: black must be -1",
        )
    if x.flatten(1).std(dim=0).mean() < 1e-3 or hi - lo < 0.5:
        raise CheckFailed(
            what,
            expected="varied images",
            found="nearly constant pixels or identical images",
            hint="shuffle the data and check the crop",
        )
    if hi - lo < 1.2:
        raise CheckFailed(
            what,
            expected="pixels spread over [-1, 1], as the generator's Tanh draws them",
            found=f"range [{lo:.3g}, {hi:.3g}]: squeezed into a narrow band",
            hint="pixel 0 must become -1 and pixel 255 +1 (scale by 2/255, not 1/255)",
        )
    passed(what, f"batch {tuple(x.shape)}, range [{lo:.2f}, {hi:.2f}]")


# --------------------------------------------------------------------------- part 2: models
def _hidden_links(calls: list) -> list[tuple[Tensor, Tensor]]:
    """(output of learnable layer i, input of learnable layer i + 1) where the shapes match."""
    learnable = layers(calls, LEARNABLE)
    return [
        (a.output, b.input)
        for a, b in zip(learnable, learnable[1:], strict=False)
        if isinstance(a.output, Tensor)
        and isinstance(b.input, Tensor)
        and a.output.shape == b.input.shape
    ]


def _affine_per_channel(before: Tensor, after: Tensor) -> bool:
    """Whether ``after`` is ``a * before + b`` in every channel: no nonlinearity in between (at
    most a batch norm, which is affine once its statistics are fixed)."""
    x = before.detach().transpose(0, 1).flatten(1).double()  # (C, everything else)
    y = after.detach().transpose(0, 1).flatten(1).double()
    xc, yc = x - x.mean(1, keepdim=True), y - y.mean(1, keepdim=True)
    slope = (xc * yc).sum(1) / xc.pow(2).sum(1).clamp_min(1e-12)
    residual = (yc - slope[:, None] * xc).pow(2).mean(1)
    return bool((residual <= 1e-8 * yc.pow(2).mean(1).clamp_min(1e-12)).all())


def _expect_leaky_hidden_layers(calls: list, what: str) -> None:
    """Between D's layers: a nonlinearity that keeps a gradient for negative inputs."""
    links = _hidden_links(calls)
    if not links:
        raise CheckFailed(
            what,
            expected="several layers (e.g. strided convolutions) with activations between them",
            found=f"{len(layers(calls, LEARNABLE))} learnable layer(s)",
            hint="a single layer cannot tell faces from fakes: stack convolutions that halve "
            "the image, with an activation after each",
        )
    for i, (before, after) in enumerate(links, start=1):
        if _affine_per_channel(before, after):
            raise CheckFailed(
                what,
                expected=f"a nonlinearity between learnable layers {i} and {i + 1}",
                found="none: the second layer gets a linear function of the first's output",
                hint="layers without activations in between collapse into one linear map; put "
                "a leaky activation after every hidden layer",
            )
        if after.min() >= 0 and before.min() < 0:
            raise CheckFailed(
                what,
                expected=f"an activation that lets negative values through after layer {i}",
                found="every negative value cut to zero (a ReLU)",
                hint="a ReLU passes no gradient for negative inputs, so G learns nothing from "
                "fakes D rejects confidently: use a leaky activation in D (slope 0.2)",
            )
        slope = leaky_slope(before, after)
        if slope is not None and not LEAKY_RANGE[0] <= slope <= LEAKY_RANGE[1]:
            raise CheckFailed(
                what,
                expected=f"a leaky activation with a negative slope in {list(LEAKY_RANGE)} "
                "(DCGAN: 0.2)",
                found=f"slope {slope:.3g} after layer {i}",
                hint="LeakyReLU's default slope 0.01 makes it almost a ReLU; pass 0.2"
                if slope < LEAKY_RANGE[0]
                else "a slope near 1 makes the layer almost linear; use 0.2",
            )


def _build(cls_or_module: Any, what: str, **sizes: int) -> nn.Module:
    """Build the learner's network, passing the sizes its constructor takes (by name)."""
    if inspect.isclass(cls_or_module):
        try:
            accepted = inspect.signature(cls_or_module).parameters
        except (TypeError, ValueError):
            accepted = {}
        sizes = {k: v for k, v in sizes.items() if k in accepted}
        return build(cls_or_module, what=what, **sizes)
    return build(cls_or_module, what=what)


def _trace_layers(net: nn.Module, x: Tensor, what: str, hint: str) -> tuple[Any, list[LayerCall]]:
    """Like ``probes.trace``, but a layer with a parametrization (spectral norm) counts as one
    layer: every learnable layer and every other leaf module, in the order they ran."""
    calls: list[LayerCall] = []

    def recorder(name: str) -> Callable[..., None]:
        def hook(module: nn.Module, args: tuple, output: Any) -> None:
            first = args[0] if args else None
            copied = [v.detach().clone() if isinstance(v, Tensor) else v for v in (first, output)]
            calls.append(LayerCall(name, module, *copied))

        return hook

    handles = [
        module.register_forward_hook(recorder(name))
        for name, module in net.named_modules()
        if "parametrizations" not in name.split(".")
        and (isinstance(module, LEARNABLE) or not list(module.children()))
    ]
    try:
        out = call(net, x, what=what, hint=hint)
    finally:
        for handle in handles:
            handle.remove()
    return out, calls


def _blown_up(net: nn.Module, layer: str, x: Tensor, what: str) -> Any:
    """``net(x)`` on a copy whose ``layer`` returns 1000 times its output: what the network does
    to large values after that layer (a sigmoid or tanh keeps them bounded)."""
    twin = call(copy.deepcopy, net, what=what)
    twin.get_submodule(layer).register_forward_hook(lambda m, args, out: out * 1000.0)
    with seeded(0):
        return call(twin, x, what=what)


def discriminator(Discriminator: Any, image_size: int = 32) -> None:
    """Your D: (N, 3, S, S) images -> one raw score per image, leaky hidden layers, all trained."""
    what = "discriminator"
    with seeded(0):
        D = _build(Discriminator, what, image_size=image_size)
        D.train()
        x = torch.rand(8, 3, image_size, image_size) * 2 - 1
        out, calls = _trace_layers(
            D,
            x,
            what,
            hint=f"D takes images of shape (N, 3, {image_size}, {image_size}): are the layers "
            f"built for image_size={image_size}?",
        )
    out = expect_tensor(out, f"{what} output")
    if tuple(out.shape) not in {(8, 1), (8,)}:
        raise CheckFailed(
            what,
            expected="one score per image, shape (8, 1)",
            found=f"shape {tuple(out.shape)}",
            hint="the last layer must shrink each image to a single number; flatten that "
            "number per image (keep the batch dimension)",
        )
    if out.std() < 1e-6:
        raise CheckFailed(
            what,
            expected="different scores for different images",
            found="the same score for all",
            hint="the score must be computed from the image",
        )
    _expect_leaky_hidden_layers(calls, what)
    big = _blown_up(D, layers(calls, LEARNABLE)[-1].name, x, what)
    if isinstance(big, Tensor) and big.abs().max() <= 1 + 1e-4:
        squash = "a sigmoid" if big.min() >= 0 else "a tanh"
        raise CheckFailed(
            what,
            expected="raw scores (any real number), which every loss here takes",
            found=f"scores that stay in [{big.min():.2g}, {big.max():.2g}] however large the "
            f"last layer's output: {squash} at the end",
            hint="end D with its last layer: the BCE loss applies the sigmoid itself "
            "(more accurately), and the least-squares and hinge losses want unbounded scores",
        )
    expect_gradients(D, out, what)
    passed(
        what,
        f"(8, 3, {image_size}, {image_size}) -> raw scores {tuple(out.shape)}, leaky hidden "
        "layers, gradients reach every layer",
    )


def generator(Generator: Any, z_dim: int = 100, image_size: int = 32) -> None:
    """Your G: z (N, z_dim) -> (N, 3, S, S) images in [-1, 1] from a Tanh; each image depends on
    its own z, on every coordinate of it, and only on it."""
    what = "generator"
    with seeded(0):
        G = _build(Generator, what, z_dim=z_dim, image_size=image_size)
    G, z, out, calls = build_and_trace(
        G,
        lambda: torch.randn(8, z_dim),
        what,
        hint=f"G takes z of shape (N, {z_dim}): is z_dim={z_dim} what the first layer expects?",
    )
    out = expect_tensor(
        out,
        f"{what} output",
        shape=(8, 3, image_size, image_size),
        hint=f"G must draw colour images of {image_size}x{image_size}: count the doublings from "
        f"the first feature map to {image_size}",
    )
    if out.std(dim=0).mean() < 1e-4:  # first: a constant image says nothing about the range
        raise CheckFailed(
            what,
            expected="different images for different z",
            found="the same image for every z",
            hint="the image must be computed from z",
        )
    expect_tanh_output(G, calls, z, out, what)
    _expect_function_of_z(G, z, what)
    expect_gradients(G, out, what)
    passed(
        what,
        f"z (8, {z_dim}) -> {tuple(out.shape)} in [-1, 1] (Tanh), each image a function of its "
        "own z",
    )


def _expect_function_of_z(G: nn.Module, z: Tensor, what: str) -> None:
    """In eval mode: the same z gives the same image, image i depends only on z[i], and every
    coordinate of z changes it."""
    twin = call(copy.deepcopy, G, what=what)
    twin.eval()
    with torch.no_grad(), seeded(1):
        first = call(twin, z, what=what)
    with torch.no_grad(), seeded(2):
        again, alone = call(twin, z, what=what), call(twin, z[:2], what=what)
    if not torch.allclose(first, again, atol=1e-5):
        raise CheckFailed(
            what,
            expected="the same image for the same z (in eval mode)",
            found="other images each time: G draws random numbers of its own",
            hint="all the randomness must come in through z, or fixed latents cannot show "
            "progress and the latent space cannot be explored",
        )
    if isinstance(alone, Tensor) and alone.shape == first[:2].shape:
        if not torch.allclose(alone, first[:2], atol=1e-4):
            raise CheckFailed(
                what,
                expected="each image to depend only on its own z (in eval mode)",
                found="an image changes when the other z's in the batch change",
                hint="reshape z per sample, keeping the batch dimension first",
            )
    probe = z.clone().requires_grad_(True)
    images = call(twin, probe, what=what)
    call(images.float().pow(2).sum().backward, what=what)
    unused = (probe.grad is None) or (probe.grad.abs().sum(0) == 0)
    if isinstance(unused, Tensor) and unused.any():
        n = int(unused.sum())
        raise CheckFailed(
            what,
            expected="every coordinate of z to shape the image",
            found=f"{n} of the {z.shape[1]} coordinates of z have no effect",
            hint="feed the whole z into the first layer: z_dim sets how many numbers describe "
            "a face",
        )


# --------------------------------------------------------------------------- part 3: losses
def _scores(n: int, seed: int, scale: float = 2.0, shape: tuple[int, ...] = (1,)) -> Tensor:
    return random_logits(n, seed, scale).reshape(n, *shape)


#: torch's errors for the usual slips in a loss: (the mistake, the idea that fixes it).
_LOSS_ERRORS = {
    "between 0 and 1": (
        "the BCE for probabilities was given raw scores",
        "D returns raw scores (logits): use the BCE that takes logits, which applies the "
        "sigmoid itself, stably",
    ),
}


def _loss_value(
    fn: Callable[..., Any], what: str, *scores: Tensor, names: tuple[str, ...]
) -> Tensor:
    """The loss for these scores: one finite number, with gradients reaching every input;
    torch's errors named."""
    inputs = [x.clone().requires_grad_(True) for x in scores]
    value = call_explained(fn, *inputs, what=what, explain=_LOSS_ERRORS)
    if isinstance(value, Tensor) and value.is_floating_point():
        _expect_finite(value, what)
    if not isinstance(value, Tensor) and as_number(value) is not None:
        raise CheckFailed(
            what,
            expected="the loss as a tensor, connected to the scores",
            found=f"a Python {type(value).__name__}",
            hint="return the loss tensor itself: turning it into a number cuts it off from the "
            "scores, so no gradient can flow back",
        )
    loss = expect_scalar(
        value,
        what,
        hint="return the loss as a tensor",
        expected="one number, the mean over the batch",
        mean_hint="average over the batch",
    )
    expect_connected(loss, what, expected="a loss the scores' gradients flow back from")
    found = call(torch.autograd.grad, loss, inputs, allow_unused=True, what=what)
    for name, g in zip(names, found, strict=True):
        if g is None or not g.abs().sum() > 0:
            raise CheckFailed(
                what,
                expected=f"a loss that depends on the {name}",
                found=f"no gradient reaches the {name}",
                hint=f"use the {name} in the loss, without detaching them",
            )
    return loss.detach()


def _expect_loss(found: Tensor, reference: Tensor, what: str, hint: str, mistakes: dict) -> None:
    """``found`` equals ``reference``, or half or twice it (a constant factor Adam ignores)."""
    for factor in (1.0, 0.5, 2.0):
        if torch.allclose(found, reference * factor, rtol=1e-4, atol=1e-5):
            return
    expect_close(found, reference, what, hint=hint, mistakes=mistakes)


def _loss_mistakes(loss: str, smooth: float, real: Tensor, fake: Tensor) -> tuple[dict, dict]:
    """The usual mistakes of each loss: {hint: value} for D's loss and for G's loss."""
    bce = library.real_loss

    def logits_bce(x: Tensor, target: float) -> Tensor:
        return F.binary_cross_entropy_with_logits(x, torch.full_like(x, target))

    if loss == "bce":
        d = {
            "real images are labelled real (1, or the smoothed target) and fakes 0; "
            "the two are swapped": logits_bce(real, 0.0) + logits_bce(fake, smooth),
            f"smooth only the real images' target ({smooth:g}); the fakes' stays 0 "
            "(one-sided label smoothing)": logits_bce(real, smooth) + logits_bce(fake, 1 - smooth),
            f"the real images' target is the smoothed label {smooth:g}, not 1": (
                logits_bce(real, 1.0) + logits_bce(fake, 0.0)
            ),
            "the scores are logits: the loss applies the sigmoid, do not apply it first": (
                logits_bce(torch.sigmoid(real), smooth) + logits_bce(torch.sigmoid(fake), 0.0)
            ),
            "average over the batch, do not sum": (logits_bce(real, smooth) + logits_bce(fake, 0.0))
            * len(real),
        }
        g = {
            "that is the minimax loss log(1 - D(G(z))), which saturates when D rejects the "
            "fakes: G's loss is -log D(G(z)), the fakes labelled real": -library.fake_loss(fake),
            "G wants its fakes called real: label them 1, not 0": library.fake_loss(fake),
            "no label smoothing in G's loss: its target is 1": logits_bce(fake, smooth),
            "the scores are logits: the loss applies the sigmoid, do not apply it first": bce(
                torch.sigmoid(fake)
            ),
        }
    elif loss == "lsgan":
        d = {
            "real images are pushed to 1 and fakes to 0; the two are swapped": 0.5
            * (real.pow(2).mean() + (fake - 1).pow(2).mean()),
            "least squares: square the differences, do not take their absolute value": 0.5
            * ((real - 1).abs().mean() + fake.abs().mean()),
            "the scores are used as they are, without a sigmoid": 0.5
            * ((torch.sigmoid(real) - 1).pow(2).mean() + torch.sigmoid(fake).pow(2).mean()),
        }
        g = {
            "G wants its fakes scored 1 (real), not 0": fake.pow(2).mean(),
            "the scores are used as they are, without a sigmoid": (torch.sigmoid(fake) - 1)
            .pow(2)
            .mean(),
        }
    else:
        d = {
            "without the ReLUs this is the Wasserstein critic's loss, which rewards pushing "
            "scores without bound: clip each term at 0": (1 - real).mean() + (1 + fake).mean(),
            "real scores should rise above +1 and fake ones fall below -1; the signs are "
            "swapped": F.relu(1 + real).mean() + F.relu(1 - fake).mean(),
        }
        g = {
            "G's hinge loss is minus the mean fake score, without a ReLU: G keeps pushing even "
            "past the margin": F.relu(1 - fake).mean(),
            "G wants the fake scores high: minimise minus their mean": fake.mean(),
        }
    return d, g


def losses(
    d_loss_fn: Callable[[Tensor, Tensor], Tensor],
    g_loss_fn: Callable[[Tensor], Tensor],
    loss: str = "bce",
    smooth: float = 1.0,
) -> None:
    """Your ``d_loss_fn(real_scores, fake_scores)`` and ``g_loss_fn(fake_scores)`` for ``loss``.

    Compared with ``ganlib.losses`` on scores of several shapes and sizes, including confident
    ones (where ``log(sigmoid(x))`` overflows). A constant factor of 1/2 or 2 is also fine
    (Adam's steps do not depend on it).
    """
    if loss not in LOSSES:
        raise CheckFailed(
            "losses",
            expected=f"LOSS one of {', '.join(map(repr, LOSSES))}",
            found=repr(loss),
            hint="choose the loss in the parameters cell",
        )
    reference_d, reference_g = LOSSES[loss]
    if loss == "bce" and (
        isinstance(smooth, bool) or not isinstance(smooth, int | float) or not 0 < smooth <= 1
    ):
        raise CheckFailed(
            "losses",
            expected="with LOSS = 'bce', LABEL_SMOOTHING the target for real images in (0, 1]",
            found=repr(smooth),
            hint="choose it in the parameters cell: 0.9 is one-sided label smoothing, 1.0 none",
        )
    if loss == "bce":
        reference_d = partial(reference_d, smooth=smooth)
    shapes = [(32, (1,), 2.0, "scores (32, 1)"), (7, (), 3.0, "scores (7,)")]
    shapes.append((16, (1,), 60.0, "confident scores, up to +-200"))
    for n, shape, scale, case in shapes:
        real, fake = _scores(n, 21, scale, shape), _scores(n, 22, scale, shape)
        d_mistakes, g_mistakes = _loss_mistakes(loss, smooth, real, fake)
        what = f"d_loss_fn ({loss}, {case})"
        found = _loss_value(d_loss_fn, what, real, fake, names=("real scores", "fake scores"))
        _expect_loss(found, reference_d(real, fake), what, _FORMULAS[loss][0], d_mistakes)
        what = f"g_loss_fn ({loss}, {case})"
        found = _loss_value(g_loss_fn, what, fake, names=("fake scores",))
        _expect_loss(found, reference_g(fake), what, _FORMULAS[loss][1], g_mistakes)
    detail = f"{loss}" + (f" with real target {smooth:g}" if loss == "bce" else "")
    passed("losses", f"D and G losses match ganlib.losses ({detail}), confident scores included")


_FORMULAS = {
    "bce": (
        "D's loss is the BCE of the real scores against the real target plus the BCE of the fake "
        "scores against 0, each a batch mean",
        "G's loss is the BCE of the fake scores against 1 (non-saturating: -log D(G(z)))",
    ),
    "lsgan": (
        "D's loss is half the mean of (real score - 1)^2 plus half the mean of fake score^2",
        "G's loss is the mean of (fake score - 1)^2",
    ),
    "hinge": (
        "D's loss is mean(relu(1 - real score)) + mean(relu(1 + fake score))",
        "G's loss is minus the mean fake score",
    ),
}


def _expect_finite(loss: Tensor, what: str) -> None:
    if not torch.isfinite(loss).all():
        raise CheckFailed(
            what,
            expected="a finite loss, also for confident scores",
            found=f"{loss.item()}",
            hint="log(sigmoid(x)) underflows to log(0) for confident scores: use the BCE that "
            "takes logits, which computes it stably",
        )


# --------------------------------------------------------------------------- part 3: the step
_TINY = (3, 4, 4)  # the recording networks' images
_TINY_Z = 3  # a z size unlike the notebook's, so a step that ignores z_dim shows
_SPY_LOSSES = (  # one pair per step, none the default: a step must use the losses it is given
    (
        "bce with real target 0.8",
        partial(library.d_loss_bce, smooth=0.8),
        library.g_loss_nonsaturating,
    ),
    ("lsgan", library.d_loss_lsgan, library.g_loss_lsgan),
    ("hinge", library.d_loss_hinge, library.g_loss_hinge),
)
#: Losses a step might use instead of those it is given: the notebook's own choice, probably.
_OTHER_LOSSES = (
    *_SPY_LOSSES,
    (
        "bce with real target 0.9",
        partial(library.d_loss_bce, smooth=0.9),
        library.g_loss_nonsaturating,
    ),
    ("bce", library.d_loss_bce, library.g_loss_nonsaturating),
)
_OWN_STEPS = 3  # steps on the learner's own networks


class _Recorder:
    """What the recording networks saw during one training step, phase by phase."""

    def __init__(self) -> None:
        self.start(None)

    def start(self, G: nn.Module | None) -> None:
        self.phase = "d"  # "g" once d_optimizer has stepped
        self.d_calls: list[tuple[str, Tensor, Tensor]] = []  # (phase, input, output)
        self.g_calls: list[tuple[str, Tensor, Tensor]] = []  # (phase, z, images)
        self.errors: list[CheckFailed] = []
        self.expected: dict[str, float] = {}
        self.g_grads = grads(G.parameters()) if G is not None else []
        self.d_before: dict[str, Tensor] = {}


class _SpyD(nn.Module):
    def __init__(self, recorder: _Recorder | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(48, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        self.recorder = recorder

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        if self.recorder is not None:
            self.recorder.d_calls.append((self.recorder.phase, x.detach().clone(), out))
        return out


class _SpyG(nn.Module):
    def __init__(self, recorder: _Recorder | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(_TINY_Z, 8), nn.LeakyReLU(0.2), nn.Linear(8, 48), nn.Tanh()
        )
        self.recorder = recorder

    def forward(self, z: Tensor) -> Tensor:
        if z.dim() != 2 or z.shape[1] != _TINY_Z:
            raise CheckFailed(
                "training step",
                expected=f"z of shape (N, z_dim) with the z_dim the step is given ({_TINY_Z} here)",
                found=f"z of shape {tuple(z.shape)}",
                hint="draw z with the step's own z_dim argument, not the notebook's Z_DIM: the "
                "step must work for any generator it is given",
            )
        out = self.net(z).view(-1, *_TINY)
        if self.recorder is not None:
            self.recorder.g_calls.append(
                (self.recorder.phase, z.detach().clone(), out.detach().clone())
            )
        return out


def _made_by_g(x: Tensor, made: list[Tensor]) -> bool:
    """Whether every image in ``x`` is one of the images G produced in this step."""
    if not made or x.dim() != 4 or tuple(x.shape[1:]) != _TINY:
        return False
    pool = torch.cat([m.flatten(1) for m in made])
    gap = (x.flatten(1)[:, None] - pool[None]).abs().amax(dim=-1)
    return bool((gap.amin(dim=1) <= 1e-5).all())


_WHAT = {"d": "training step: D's update", "g": "training step: G's update"}


class _SpyGAN:
    """Recording networks and SGD optimizers, watched: at each optimizer step the gradients are
    compared with those of the loss the step was given, recomputed on fresh copies."""

    def __init__(self) -> None:
        self.recorder = _Recorder()
        self.D, self.G = _SpyD(self.recorder), _SpyG(self.recorder)
        self.real = torch.rand(8, *_TINY) * 2 - 1
        self.d_optimizer = torch.optim.SGD(self.D.parameters(), lr=0.05)
        self.g_optimizer = torch.optim.SGD(self.G.parameters(), lr=0.05)
        self.loss: tuple[str, Callable, Callable] = _SPY_LOSSES[0]
        self.steps_done = 0
        self.watch = StepWatch(
            {"d": self.d_optimizer, "g": self.g_optimizer},
            on_step=self._on_step,
            backward_into=self.G,
            on_reused_graph=self._reused_graph,
        )

    def _reused_graph(self, failure: CheckFailed) -> CheckFailed:
        """Autograd refused a graph used twice: which mistake depends on where D was called."""
        scored_in_g = any(phase == "g" for phase, _, _ in self.recorder.d_calls)
        if scored_in_g:
            found = "backward ran into G's graph a second time: D's loss reached G"
            hint = "detach the fakes before D scores them for its own loss, so D's loss stops there"
        else:
            found = "backward ran through D's verdict from before its update"
            hint = "score the fakes with D again after D's update: G must learn from the new D"
        return CheckFailed(
            failure.what, expected="one backward pass per loss", found=found, hint=hint
        )

    def _on_step(self, name: str) -> None:
        try:
            self._check_order(name)
            self._check_d() if name == "d" else self._check_g()
        except CheckFailed as failure:  # raised after the step: the learner's code runs on
            self.recorder.errors.append(failure)
        if name == "d":
            self.recorder.phase = "g"

    def _check_order(self, name: str) -> None:
        steps = self.watch.order
        wrong = (
            (steps.count("d") > 1 or "g" in steps)
            if name == "d"
            else ("d" not in steps or steps.count("g") > 1)
        )
        if wrong:
            raise CheckFailed(
                _WHAT[name],
                expected="one update of D, then one of G",
                found="order of the updates: " + " -> ".join(steps),
                hint="D learns first (on real images and fakes), then G learns against the "
                "updated D; each optimizer steps once per call",
            )

    def _fresh(self) -> tuple[_SpyD, _SpyG]:
        D, G = _SpyD(), _SpyG()
        D.load_state_dict(self.D.state_dict())
        G.load_state_dict(self.G.state_dict())
        return D, G

    def _check_d(self) -> None:
        rec, what = self.recorder, _WHAT["d"]
        rec.d_before = {k: v.clone() for k, v in self.D.state_dict().items()}
        g_grads = grads(self.G.parameters())
        if not same_grads(g_grads, rec.g_grads) and any(g.abs().sum() > 0 for g in g_grads):
            raise CheckFailed(
                what,
                expected="no gradients in G from D's loss",
                found="D's loss sent gradients into G",
                hint="detach the fakes before D scores them for its own loss",
            )
        calls = [(x, out) for phase, x, out in rec.d_calls if phase == "d"]
        is_real = [x.shape == self.real.shape and torch.equal(x, self.real) for x, _ in calls]
        fakes = [x for (x, _), r in zip(calls, is_real, strict=True) if not r]
        if not any(is_real) or not fakes:
            raise CheckFailed(
                what,
                expected="D scoring the real batch and, separately, a batch of G's fakes",
                found=f"D ran {len(calls)} time(s): "
                + ("no real batch" if not any(is_real) else "no fakes"),
                hint="D's loss compares its scores on the real batch with its scores on fakes "
                "drawn in this step",
            )
        made = [out for _, _, out in rec.g_calls]
        if not all(_made_by_g(x, made) for x in fakes):
            raise CheckFailed(
                what,
                expected="the fakes D scores to be images G drew in this step",
                found="D scored images G did not draw",
                hint="draw z, let G make the fakes, and score exactly those",
            )
        zs = [z for _, z, _ in rec.g_calls]
        if any(len(z) != len(self.real) for z in zs):
            raise CheckFailed(
                what,
                expected=f"as many fakes as real images ({len(self.real)})",
                found=f"z for {', '.join(str(len(z)) for z in zs)} fakes",
                hint="draw one z per real image in the batch (the last batch may be smaller "
                "than the batch size)",
            )
        D, _ = self._fresh()
        name, d_loss, _ = self.loss
        real_scores, fake_scores = D(self.real), D(torch.cat(fakes))
        mistakes = {
            "D's loss takes the real scores first, then the fake ones": d_loss(
                fake_scores, real_scores
            )
        }
        for other, other_d, _ in _OTHER_LOSSES:
            if other != name:
                mistakes[_OTHER_LOSS.format(net="D", other=other)] = other_d(
                    real_scores, fake_scores
                )
        self._expect_stepped_with("d", d_loss(real_scores, fake_scores), D, mistakes)

    def _check_g(self) -> None:
        rec, what = self.recorder, _WHAT["g"]
        calls = [x for phase, x, _ in rec.d_calls if phase == "g"]
        if not calls:
            raise CheckFailed(
                what,
                expected="D scoring G's fakes again after D's update",
                found="no call of D in G's part of the step",
                hint="G learns through the verdict of the updated D on its fakes",
            )
        x = calls[-1]
        z = next(
            (
                z
                for _, z, out in reversed(rec.g_calls)
                if out.shape == x.shape and torch.equal(out, x)
            ),
            None,
        )
        if z is None:
            raise CheckFailed(
                what,
                expected="D scoring images that G drew",
                found="D scored something else in G's part of the step",
                hint="G's loss is computed from D's scores on G's own fakes",
            )
        D, G = self._fresh()
        name, _, g_loss = self.loss
        scores = D(G(z))
        mistakes = {}
        if rec.d_before:
            old = _SpyD()
            old.load_state_dict(rec.d_before)
            mistakes[
                "G must learn against the updated D: score the fakes again after D's update"
            ] = g_loss(old(G(z)))
        for other, _, other_g in _OTHER_LOSSES:
            if other != name:
                mistakes[_OTHER_LOSS.format(net="G", other=other)] = other_g(scores)
        d_loss = self.loss[1]
        mistakes[
            "G's loss is g_loss_fn of D's scores on the fakes, not minus D's loss: G has "
            "its own loss"
        ] = -d_loss(D(self.real), scores)
        self._expect_stepped_with("g", g_loss(scores), G, mistakes)

    def _expect_stepped_with(
        self, name: str, loss: Tensor, net: nn.Module, mistakes: dict[str, Tensor]
    ) -> None:
        self.recorder.expected[f"{name}_loss"] = loss.item()
        loss_name = self.loss[0]
        expect_stepped_with(
            self.watch.grads[name][-1],
            loss,
            net.parameters(),
            _WHAT[name],
            expected=f"{name.upper()}'s gradients of the {name}_loss_fn it was given "
            f"({loss_name} here)",
            found=f"other gradients at {name}_optimizer's step (step {self.steps_done + 1})",
            hint=f"zero {name.upper()}'s gradients before each backward pass: they add up "
            "otherwise, across steps too",
            mistakes=mistakes,
            no_grads_hint=_NO_GRADS[name],
        )


_OTHER_LOSS = (
    "{net} stepped with another loss ({other}) than the one the step was given: use the "
    "d_loss_fn and g_loss_fn arguments, not the notebook's own functions, so the step works "
    "with any loss"
)
_NO_GRADS = {
    "d": "D got no gradient: run backward on D's loss before its optimizer steps (and check "
    "that D's parameters still require gradients after G's update)",
    "g": "G got no gradient: its loss must come from D's scores on fakes that are still "
    "connected to G (not detached), backward before the step",
}


def _run_step(
    watch: StepWatch, step: Callable[..., Any], real: Tensor, what: str, **named: Any
) -> Any:
    """The one place the learner's step is called, with the course's step contract: the real
    batch first, then networks, optimizers and options by name."""
    try:
        return watch.call(step, real, what=what, **named)
    except CheckFailed as failure:
        if failure.found.startswith("TypeError") and "argument" in failure.found:
            raise CheckFailed(
                what,
                expected=f"a step called as step(real, {', '.join(f'{k}=...' for k in named)})",
                found=failure.found,
                hint="keep the signature of the exercise cell: train.fit passes the real batch "
                "first, then the networks, optimizers and options by these names",
            ) from None
        if "does not require grad" in failure.found:
            raise CheckFailed(
                what,
                expected="a loss that backpropagates into the network being updated",
                found=failure.found,
                hint="the network's parameters no longer require gradients: if G's update "
                "freezes D, switch them back on afterwards",
            ) from None
        raise


def _expect_values(result: Any, what: str, expected: Mapping[str, float] | None = None) -> dict:
    """The step's dict of numbers, with finite d_loss and g_loss (equal to ``expected``)."""
    if not isinstance(result, Mapping) or not {"d_loss", "g_loss"} <= set(result):
        found = "None" if result is None else f"{type(result).__name__} {result!r:.60}"
        raise CheckFailed(
            what,
            expected="a dict of named numbers with at least 'd_loss' and 'g_loss'",
            found=found,
            hint="a step returns its numbers by name, the contract train.fit reads (tensors "
            "detached from the graph, or floats)",
        )
    numbers = {}
    for key in ("d_loss", "g_loss"):
        value = as_number(result[key])
        if value is None:
            raise CheckFailed(
                f"{what}: {key}",
                expected="one number (a float or a one-element tensor)",
                found=type(result[key]).__name__,
                hint=f"return the {key.replace('_', ' ')} the step computed",
            )
        if not math.isfinite(value):
            raise CheckFailed(
                f"{what}: {key}",
                expected="a finite number",
                found=str(value),
                hint="a loss that is NaN or inf from the first steps: check the losses and that "
                "the images are in [-1, 1]",
            )
        if expected is not None and key in expected:
            expect_close(
                value,
                expected[key],
                f"{what}: {key}",
                atol=1e-5,
                hint=f"return the {key.replace('_', ' ')} the update used, computed before the "
                "optimizer step",
            )
        numbers[key] = value
    return numbers


def _spy_steps(step: Callable[..., Any]) -> None:
    """Several steps on recording networks, each with another loss and z_dim = 3."""
    with seeded(0):
        gan = _SpyGAN()
        for number, loss in enumerate(_SPY_LOSSES, start=1):
            gan.loss, gan.steps_done = loss, number - 1
            gan.recorder.start(gan.G)
            gan.watch.reset()
            d_before = weights(gan.D)
            result = _run_step(
                gan.watch,
                step,
                gan.real,
                f"training step (step {number}, {loss[0]} loss, z_dim={_TINY_Z})",
                G=gan.G,
                D=gan.D,
                g_optimizer=gan.g_optimizer,
                d_optimizer=gan.d_optimizer,
                z_dim=_TINY_Z,
                d_loss_fn=loss[1],
                g_loss_fn=loss[2],
            )
            if gan.recorder.errors:
                raise gan.recorder.errors[0]
            if gan.watch.order != ["d", "g"]:
                raise CheckFailed(
                    f"training step (step {number})",
                    expected="one update of D, then one of G",
                    found="updates: " + (" -> ".join(gan.watch.order) or "none"),
                    hint="each call trains D once on this batch, then G once; an optimizer "
                    "changes the weights only when its step is called",
                )
            expect_updated(
                f"training step (step {number})", {"D": (gan.D, d_before)}, hint=_NO_GRADS["d"]
            )
            _expect_values(result, f"training step (step {number}) result", gan.recorder.expected)


def _own_steps(
    step: Callable[..., Any],
    Generator: Any,
    Discriminator: Any,
    *,
    z_dim: int,
    image_size: int,
    d_loss_fn: Callable[..., Tensor],
    g_loss_fn: Callable[..., Tensor],
) -> dict[str, float]:
    """Several steps on copies of the learner's own networks, with their own losses."""
    what = "training step (your networks)"
    with seeded(0):
        G = _build(Generator, "generator", z_dim=z_dim, image_size=image_size)
        D = _build(Discriminator, "discriminator", image_size=image_size)
        G, D = call(copy.deepcopy, G, what=what), call(copy.deepcopy, D, what=what)
        G.train(), D.train()
        g_optimizer = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
        d_optimizer = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
        real = torch.rand(16, 3, image_size, image_size) * 2 - 1
        watch = StepWatch({"g": g_optimizer, "d": d_optimizer}, backward_into=G)
        numbers: dict[str, float] = {}
        for number in range(1, _OWN_STEPS + 1):
            watch.reset()
            before_g, before_d = weights(G), weights(D)
            try:
                result = _run_step(
                    watch,
                    step,
                    real,
                    f"{what}, step {number}",
                    G=G,
                    D=D,
                    g_optimizer=g_optimizer,
                    d_optimizer=d_optimizer,
                    z_dim=z_dim,
                    d_loss_fn=d_loss_fn,
                    g_loss_fn=g_loss_fn,
                )
            except CheckFailed as failure:
                if "shape" in failure.found or "size" in failure.found:
                    raise CheckFailed(
                        failure.what,
                        expected=f"your G and D to work together at image_size={image_size}, "
                        f"z_dim={z_dim}",
                        found=failure.found,
                        hint="run check.generator and check.discriminator with the same "
                        "image_size and z_dim: G's images must be the size D takes",
                    ) from None
                raise
            numbers = _expect_values(result, f"{what}, step {number} result")
            if watch.backward_passes > 1:
                raise CheckFailed(
                    f"{what}, step {number}",
                    expected="one backward pass into G, from G's loss",
                    found=f"{watch.backward_passes} backward passes reached G: D's loss "
                    "flowed into it",
                    hint="detach the fakes before D scores them for its own loss",
                )
            expect_updated(
                f"{what}, step {number}",
                {"G": (G, before_g), "D": (D, before_d)},
                hint={"G": _NO_GRADS["g"], "D": _NO_GRADS["d"]},
            )
    return numbers


def training_step(
    step: Callable[..., Any],
    Generator: Any,
    Discriminator: Any,
    *,
    d_loss_fn: Callable[[Tensor, Tensor], Tensor],
    g_loss_fn: Callable[[Tensor], Tensor],
    z_dim: int = 100,
    image_size: int = 32,
) -> None:
    """``step(real, G=, D=, g_optimizer=, d_optimizer=, z_dim=, d_loss_fn=, g_loss_fn=)`` -> dict.

    First three steps on small recording networks with z_dim = 3 and a different loss each step
    (BCE with target 0.8, least squares, hinge): at every optimizer step the gradients must be
    those of the loss the step was given, D's with detached fakes, G's against the updated D.
    Then three steps on copies of your own networks with your own losses: finite numbers, both
    networks move every step. Your networks are left untouched.
    """
    _spy_steps(step)
    numbers = _own_steps(
        step,
        Generator,
        Discriminator,
        z_dim=z_dim,
        image_size=image_size,
        d_loss_fn=d_loss_fn,
        g_loss_fn=g_loss_fn,
    )
    passed(
        "training step",
        "the given losses and z_dim on 3 steps (D on real + detached fakes, then G against the "
        f"new D); 3 steps of your networks: d_loss {numbers['d_loss']:.3f}, g_loss "
        f"{numbers['g_loss']:.3f}, both moved",
    )


# --------------------------------------------------------------------------- part 4: results
@dataclass
class Results:
    """What :func:`results` measured (``calibration``: see ``ganlib.metrics.Calibration``)."""

    calibration: Any
    spread: float  # mean pairwise distance of the samples / that of the held-out faces

    @property
    def fid(self) -> float:
        return self.calibration.fid

    @property
    def score(self) -> float:
        return self.calibration.score

    def as_metrics(self) -> dict[str, float]:
        """The numbers for metrics.json."""
        c = self.calibration
        return {
            "fid": c.fid,
            "fid_untrained": c.fid_untrained,
            "fid_real": c.fid_real,
            "fid_score": c.score,
            "kid": c.kid,
            "kid_untrained": c.kid_untrained,
            "kid_real": c.kid_real,
            "spread": self.spread,
        }


def _spread(images: Tensor) -> float:
    """Mean distance between pairs of images: near 0 when a generator draws the same face."""
    flat = images.flatten(1).float()
    return torch.cdist(flat, flat).mean().item()


def _images(value: Any, what: str, name: str) -> Tensor:
    images = getattr(value, "images", value)
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise CheckFailed(
            what,
            expected=f"the {name} (a dataset or an image tensor (N, 3, H, W))",
            found=type(value).__name__,
            hint=f"pass the preprocessed {name}",
        )
    return images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.float()


def _samples(G: nn.Module, n: int, z_dim: int, device: Any, what: str) -> Tensor:
    with torch.no_grad(), seeded(0):
        z = torch.randn(n, z_dim, device=device)
        out = call(G, z, what=what)
    return expect_tensor(out, f"{what}: samples", hint="G must return images").float().cpu()


def results(
    G: nn.Module,
    held_out: Any,
    training: Any,
    z_dim: int = 100,
    *,
    untrained: Any,
    n: int = 500,
    features: Any = "celeba",
    device: str | torch.device | None = None,
) -> Results:
    """Sample ``n`` faces and place their FID between real faces and an untrained generator.

    ``held_out``: the preprocessed held-out faces; ``training``: the preprocessed training faces
    (the floor: FID of ``n`` training faces against the held-out ones); ``untrained``: your
    Generator class (built under a fixed seed) or an untrained instance (the ceiling). The score
    ``(ceiling - FID) / (ceiling - floor)`` must reach ``PASS_SCORE``, and the samples must spread
    at least ``MIN_SPREAD`` as much as the real faces (a collapsed generator fails however good
    its faces). KID is measured alongside.
    """
    what = "results"
    if not isinstance(G, nn.Module):
        raise CheckFailed(
            what,
            expected="your trained generator (an nn.Module instance)",
            found="None" if G is None else f"{type(G).__name__}, not a network instance",
            hint="pass the trained G itself, not its class",
        )
    real = _images(held_out, what, "held-out faces")[:n]
    others = _images(training, what, "training faces")
    with seeded(0):
        others = others[torch.randperm(len(others))[: len(real)]]
    device = device if device is not None else next(G.parameters()).device
    with seeded(0):
        G0 = build(untrained, what=f"{what}: untrained generator")
    G0 = G0.to(device)
    with eval_mode(G, G0):
        fake = _samples(G, len(real), z_dim, device, what)
        fake_0 = _samples(G0, len(real), z_dim, device, f"{what}: untrained generator")
    for images, who in ((fake, "your generator"), (fake_0, "the untrained generator")):
        if tuple(images.shape) != tuple(real.shape):
            raise CheckFailed(
                what,
                expected=f"samples like the held-out faces, shape {tuple(real.shape)}",
                found=f"{who} drew {tuple(images.shape)}",
                hint="generate at the image size the faces were preprocessed to",
            )
    spread = _spread(fake) / max(_spread(real), 1e-8)
    calibration = call(metrics.calibrate, real, fake, fake_0, others, features, what=what)
    score = calibration.score
    if spread < MIN_SPREAD:
        raise CheckFailed(
            what,
            expected=f"varied faces (spread at least {MIN_SPREAD:.0%} of the real faces')",
            found=f"spread {spread:.0%}: the samples are (nearly) all the same image; "
            f"{calibration}",
            hint="an untrained or collapsed generator: train it (longer), or fight collapse "
            "with a lower learning rate, label smoothing or another loss",
        )
    if not score >= PASS_SCORE:
        c = calibration
        pass_fid = c.fid_untrained ** (1 - PASS_SCORE) * c.fid_real**PASS_SCORE
        raise CheckFailed(
            what,
            expected=f"a score of at least {PASS_SCORE:.2f}: FID at most {pass_fid:.2f}",
            found=str(calibration),
            hint="the samples are still far from the held-out faces: train longer, check the "
            "data range, or revisit the architecture and the learning rate",
        )
    passed(
        what,
        f"{calibration}; spread {spread:.0%} of the real faces' (pass: score >= {PASS_SCORE:.2f})",
    )
    return Results(calibration, spread)
