"""Checkers for lesson 04, CycleGAN summer <-> winter.

The generator translates A -> B (``G_ab``) and back (``G_ba``); ``D_a`` judges A images and
``D_b`` B images. Losses follow Zhu et al. 2017: least-squares adversarial terms, L1 cycle loss
with weight 10 and L1 identity loss with weight 5 (half the cycle weight).

The networks are built with sizes the check chooses (8 channels, 2 blocks, ...), so a layer
built with a fixed size shows up; the training step is called as ``train.fit`` calls it (the
two real batches, then the networks, optimizers, pools and loss weights by name), with weights
the check chooses and pools that hand back older fakes of their own, so a step that ignores
its weights or what its pools return is seen.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from ganlib import losses

from . import CheckFailed, call, expect_close, expect_tensor, passed, seeded
from .probes import (
    LEAKY_SLOPE,
    LayerCall,
    build_and_trace,
    expect_gradients,
    expect_ran,
    expect_raw_scores,
    expect_scalar,
    expect_tanh_output,
    layers,
    leaky_slope,
    ran_after,
)
from .training import (
    StepWatch,
    as_number,
    expect_stepped_with,
    expect_updated,
    reached_generator_again,
)

__all__ = [
    "residual_block",
    "resnet_generator",
    "patch_discriminator",
    "lsgan_losses",
    "cycle_loss",
    "identity_loss",
    "image_pool",
    "train_step",
]

CYCLE_WEIGHT = 10.0
IDENTITY_WEIGHT = 5.0

#: What torch says when a layer gets another number of channels than it was built for.
_SIZE_ERRORS = (
    "channels, but got",
    "should contain",
    "size mismatch",
    "shapes cannot be multiplied",
)


# --------------------------------------------------------------------------- probes
def _zero_padded(calls: list[LayerCall]) -> list[str]:
    """Names of stride-1 convolutions that pad with zeros (CycleGAN pads by reflection there)."""
    bad = []
    for s in layers(calls, (nn.Conv2d,)):
        conv = s.module
        pads = conv.padding if isinstance(conv.padding, tuple) else (conv.padding,)
        if (
            conv.stride in ((1, 1), 1)
            and any(p for p in pads if isinstance(p, int))
            and conv.padding_mode == "zeros"
        ):
            bad.append(s.name)
    return bad


def _mixes_batch(net: nn.Module, x: torch.Tensor, what: str) -> bool:
    """True when image 0's output depends on the other images in the batch (batch norm does that)."""
    other = x.clone()
    with seeded(5):
        other[1:] = torch.randn_like(other[1:]) * 3 + 1
        net.train()
        a = call(net, x, what=what)
        b = call(net, other, what=what)
    return not torch.allclose(a[0], b[0], atol=1e-5)


def _expect_instance_norm(
    net: nn.Module, calls: list[LayerCall], x: torch.Tensor, what: str
) -> None:
    if _mixes_batch(net, x, what):
        raise CheckFailed(
            what,
            expected="each image normalised on its own (instance norm)",
            found="an image's output changes when the other images in the batch change (batch norm)",
            hint="use instance norm instead of batch norm: CycleGAN trains on batches of one "
            "image, and each image's own contrast is the style to change",
        )
    expect_ran(
        calls,
        (nn.InstanceNorm2d,),
        what,
        expected="instance normalisation after the convolutions",
        found="no instance norm ran",
        hint="follow each hidden convolution with an instance norm over its channels",
    )


def _expect_reflection(calls: list[LayerCall], what: str) -> None:
    zero = _zero_padded(calls)
    if zero:
        raise CheckFailed(
            what,
            expected="reflection padding before the stride-1 convolutions",
            found=f"zero padding in {', '.join(zero[:3])}",
            hint="pad with a mirror image of the border (reflection padding) and let the "
            "convolution itself add none: zeros make dark frames",
        )


def _built(
    cls: Any, make_input: Callable[[], torch.Tensor], what: str, sizes: str, **kwargs: Any
) -> tuple[nn.Module, torch.Tensor, Any, list[LayerCall]]:
    """``build_and_trace`` that names a layer built with a fixed size instead of the size the
    check chose (``sizes`` says which, e.g. ``"channels=8"``)."""
    try:
        return build_and_trace(cls, make_input, what, **kwargs)
    except CheckFailed as failure:
        if any(e in failure.found for e in _SIZE_ERRORS):
            raise CheckFailed(
                what,
                expected=f"layers built from the sizes the network is given (the check built it with {sizes})",
                found=f"a layer got another number of channels than it was built for ({failure.found})",
                hint="build every layer from the constructor's arguments, never from a fixed "
                "number: the lesson builds these networks at several sizes",
            ) from None
        raise


def _first_conv_width(calls: list[LayerCall], width: int, what: str, arg: str) -> None:
    """The first convolution must give ``width`` channels: the network uses its ``width``."""
    convs = layers(calls, (nn.Conv2d,))
    found = convs[0].module.out_channels if convs else None
    if found != width:
        raise CheckFailed(
            what,
            expected=f"the first convolution gives {arg} channels (the check asked for {arg}={width})",
            found=f"{found} channels",
            hint=f"use the {arg} argument for the first layer's channels, and multiples of it after",
        )


# --------------------------------------------------------------------------- networks
def residual_block(ResidualBlock: Any, channels: int = 8) -> None:
    """``ResidualBlock(channels)``: x + F(x), reflection padding, instance norm, same shape."""
    what = "ResidualBlock"
    keep = "the block must keep the shape: pad the input by 1 pixel before each 3x3 convolution"
    block, x, out, calls = _built(
        ResidualBlock,
        lambda: torch.randn(3, channels, 16, 16),
        what,
        f"channels={channels}",
        args=(channels,),
        hint=keep,
    )
    expect_tensor(
        out,
        f"{what} output",
        shape=tuple(x.shape),
        hint="3x3 convolutions with one pixel of padding keep the shape",
    )
    _expect_reflection(calls, what)
    _expect_instance_norm(block, calls, x, what)
    silent = call(copy.deepcopy, block, what=what)
    with torch.no_grad():
        for p in silent.parameters():
            if p.dim() > 1:
                p.zero_()
        for m in silent.modules():
            if isinstance(m, nn.Conv2d) and m.bias is not None:
                m.bias.zero_()
    through = call(silent, x, what=what)
    if not torch.allclose(through, x, atol=1e-5):
        raise CheckFailed(
            what,
            expected="the input passes through unchanged when the convolutions are zero (x + F(x))",
            found="the output differs from the input: no skip connection, or something after the sum",
            hint="return the input plus the change F(x), with nothing (no ReLU) after the addition",
        )
    expect_gradients(block, out, what)
    passed(what, f"x + F(x), shape {tuple(x.shape)} kept, reflection padding, instance norm")


def _learnable_count(cls: Any, image_size: int, what: str, **kwargs: Any) -> int:
    _, _, _, calls = build_and_trace(
        cls, lambda: torch.rand(1, 3, image_size, image_size) * 2 - 1, what, **kwargs
    )
    return len(layers(calls))


def resnet_generator(ResnetGenerator: Any, image_size: int = 32) -> None:
    """``ResnetGenerator(channels=3, width=64, n_blocks=6)``: image to image of the same shape."""
    what = "ResnetGenerator"
    G, x, out, calls = _built(
        ResnetGenerator,
        lambda: torch.rand(2, 3, image_size, image_size) * 2 - 1,
        what,
        "width=8, n_blocks=2",
        width=8,
        n_blocks=2,
    )
    out = expect_tensor(
        out,
        f"{what} output",
        shape=tuple(x.shape),
        hint="the encoder halves the size twice and the decoder doubles it twice, so the "
        "translation has the shape of the input",
    )
    sizes = [
        s.output.shape[-1]
        for s in calls
        if isinstance(s.output, torch.Tensor) and s.output.dim() == 4
    ]
    if min(sizes) != image_size // 4:
        raise CheckFailed(
            what,
            expected=f"the encoder downsamples twice ({image_size} -> {image_size // 4})",
            found=f"smallest feature map {min(sizes)}x{min(sizes)}",
            hint="two stride-2 convolutions before the residual blocks, each halving the size "
            "and doubling the channels",
        )
    _first_conv_width(calls, 8, what, "width")
    more = _learnable_count(ResnetGenerator, image_size, what, width=8, n_blocks=3)
    if more <= len(layers(calls)):
        raise CheckFailed(
            what,
            expected="one more residual block for n_blocks=3 than for n_blocks=2",
            found="the same layers ran for n_blocks=2 and n_blocks=3",
            hint="make n_blocks residual blocks: the lesson chooses their number from the image size",
        )
    _expect_reflection(calls, what)
    _expect_instance_norm(G, calls, x, what)
    expect_tanh_output(G, calls, x, out, what)
    expect_gradients(G, out, what)
    passed(
        what,
        f"{tuple(x.shape)} -> {tuple(out.shape)}, down to {image_size // 4}x{image_size // 4}, "
        "width and n_blocks used, reflection padding, instance norm, Tanh",
    )


def patch_discriminator(PatchDiscriminator: Any, image_size: int = 64) -> None:
    """``PatchDiscriminator(channels=3, width=64, n_layers=3)``: image to a map of logits (N, 1, h, w)."""
    what = "PatchDiscriminator"

    def image() -> torch.Tensor:
        return torch.rand(2, 3, image_size, image_size) * 2 - 1

    D, x, out, calls = _built(PatchDiscriminator, image, what, "width=8", width=8)
    out = expect_tensor(
        out, f"{what} output", hint="return the map of scores of the last convolution"
    )
    if out.dim() != 4 or out.shape[:2] != (2, 1) or min(out.shape[2:]) < 2:
        raise CheckFailed(
            what,
            expected="a map of logits, shape (2, 1, h, w) with h, w > 1",
            found=f"shape {tuple(out.shape)}",
            hint="no flatten or global pooling: each output judges one patch",
        )
    convs = layers(calls, (nn.Conv2d,))
    after_first = ran_after(calls, convs[0])
    if after_first is not None and isinstance(
        after_first.module, nn.InstanceNorm2d | nn.BatchNorm2d
    ):
        raise CheckFailed(
            what,
            expected="no normalisation on the first layer",
            found=f"{type(after_first.module).__name__} after the first convolution",
            hint="the first convolution goes straight into LeakyReLU",
        )
    slope = leaky_slope(convs[0].output, convs[1].input) if len(convs) > 1 else None
    if slope is None or abs(slope - LEAKY_SLOPE) > 1e-3:
        found = "not a LeakyReLU" if slope is None else f"slope {slope:.3g}"
        raise CheckFailed(
            what,
            expected=f"LeakyReLU({LEAKY_SLOPE}) after the first convolution",
            found=found,
            hint=f"a leaky ReLU with slope {LEAKY_SLOPE} after every hidden convolution, so "
            "negative activations still pass a gradient",
        )
    _first_conv_width(calls, 8, what, "width")
    _, _, fewer, _ = _built(PatchDiscriminator, image, what, "n_layers=2", width=8, n_layers=2)
    if isinstance(fewer, torch.Tensor) and fewer.shape == out.shape:
        raise CheckFailed(
            what,
            expected="a larger map of smaller patches for n_layers=2 than for n_layers=3",
            found=f"the same map {tuple(out.shape)} for both",
            hint="make n_layers layers after the first (the last with stride 1): the lesson "
            "uses fewer on small images",
        )
    _expect_instance_norm(D, calls, x, what)
    expect_raw_scores(
        D,
        calls,
        x,
        what,
        expected="raw scores (any real number)",
        hint="remove the sigmoid: the least-squares loss works on raw scores",
    )
    expect_gradients(D, out, what)
    passed(
        what,
        f"{tuple(x.shape)} -> patch logits {tuple(out.shape)}, LeakyReLU({LEAKY_SLOPE}), "
        "instance norm, width and n_layers used",
    )


# --------------------------------------------------------------------------- losses
def _scalar(value: Any, what: str) -> torch.Tensor:
    return expect_scalar(
        value,
        what,
        hint="return the loss as a tensor (no .item()), so it can be backpropagated",
        expected="a single number (a 0-d tensor)",
        mean_hint="average over every score (and pixel): a loss is one number",
    )


def lsgan_losses(d_loss: Callable[..., Any], g_loss: Callable[..., Any]) -> None:
    """``d_loss(real_out, fake_out)`` and ``g_loss(fake_out)``, least squares on raw scores."""
    with seeded(1):
        real = torch.randn(4, 1, 6, 6) + 0.5
        fake = torch.randn(4, 1, 6, 6) - 0.5
    what = "LSGAN discriminator loss"
    expected = losses.d_loss_lsgan(real, fake)
    summed = 0.5 * (((real - 1) ** 2).sum() + (fake**2).sum())
    expect_close(
        _scalar(call(d_loss, real, fake, what=what), what),
        expected,
        what,
        hint="least squares on the raw scores: the mean squared distance of the real scores "
        "to 1 and of the fake scores to 0, averaged; no sigmoid, no log",
        mistakes={
            "halve it: CycleGAN averages the real and the fake term, so D learns more slowly": 2
            * expected,
            "real outputs go to 1 and fake outputs to 0, not the other way round": losses.d_loss_lsgan(
                fake, real
            ),
            "average over every score of the patch map (a mean, not a sum)": summed,
            "the least-squares loss uses no logarithm: measure squared distances to the "
            "targets 1 and 0 (no sigmoid, no log)": F.binary_cross_entropy_with_logits(
                real, torch.ones_like(real)
            )
            + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)),
        },
    )
    what = "LSGAN generator loss"
    found = _scalar(call(g_loss, fake, what=what), what)
    expect_close(
        found,
        losses.g_loss_lsgan(fake),
        what,
        hint="the mean squared distance of the fakes' scores to 1: the generator wants its "
        "fakes scored 1",
        mistakes={
            "the generator pushes its fakes' scores towards 1 (real), not 0: it wants its "
            "fakes scored 1": (fake**2).mean(),
            "no one-half for the generator: only the discriminator's loss is halved": 0.5
            * losses.g_loss_lsgan(fake),
        },
    )
    passed("LSGAN losses", "least squares towards 1 (real) and 0 (fake); the generator aims for 1")


def _l1_loss(
    fn: Callable[..., Any],
    what: str,
    reference: Callable[..., torch.Tensor],
    weight: float,
    name: str,
) -> None:
    """Check ``fn(real, other)`` against ``reference(real, other, weight)``, a weighted L1.

    A wrong value is matched against an L2 error, a missing weight, a sum instead of a mean and
    another weight; then ``fn(real, other, 3.0)`` must use the weight it is given.
    """
    with seeded(2):
        real = torch.rand(2, 3, 8, 8) * 2 - 1
        other = torch.rand(2, 3, 8, 8) * 2 - 1
    l1 = reference(real, other, 1.0)
    found = _scalar(call(fn, real, other, what=what), what)
    if torch.isclose(found, weight * F.mse_loss(other, real), rtol=1e-4) or torch.isclose(
        found, F.mse_loss(other, real), rtol=1e-4
    ):
        raise CheckFailed(
            what,
            expected=f"{weight:g} * L1 = {weight * l1:.6g}",
            found=f"{found.item():.6g}: a squared (L2) error",
            hint="use the mean absolute difference (L1): L2 tolerates many small errors, "
            "which shows as blur",
        )
    if torch.isclose(found, l1, rtol=1e-4):
        raise CheckFailed(
            what,
            expected=f"{weight:g} * L1 = {weight * l1:.6g} (default weight {weight:g})",
            found=f"{found.item():.6g}: no weight",
            hint=f"multiply by {name}, whose default is {weight:g}",
        )
    ratio = found.item() / l1.item()
    hint = f"{name} times the mean absolute difference, with {name} = {weight:g} by default"
    if abs(ratio / real.numel() - weight) < 1e-3 * weight:
        hint = "average over the pixels (a mean, not a sum), so the weight means the same at every image size"
    elif abs(ratio - round(ratio)) < 1e-4:
        hint = f"found {round(ratio)} * L1: the default {name} is {weight:g}"
    expect_close(found, reference(real, other, weight), f"{what} = {weight:g} * L1", hint=hint)
    found = _scalar(call(fn, real, other, 3.0, what=what), what)
    expect_close(
        found,
        reference(real, other, 3.0),
        f"{what} with weight 3",
        hint=f"use the {name} argument instead of a fixed {weight:g}: the training step "
        "passes its own weights",
    )


def cycle_loss(fn: Callable[..., Any]) -> None:
    """``cycle_loss(real, reconstructed, weight=10.0)``: weight * mean |real - reconstructed|."""
    _l1_loss(fn, "cycle_loss", losses.cycle_loss, CYCLE_WEIGHT, "weight")
    passed("cycle_loss", f"{CYCLE_WEIGHT:g} * L1 between an image and its round trip")


def identity_loss(fn: Callable[..., Any]) -> None:
    """``identity_loss(real, same, weight=5.0)``: weight * mean |real - G(real)|."""
    _l1_loss(fn, "identity_loss", losses.identity_loss, IDENTITY_WEIGHT, "weight")
    passed(
        "identity_loss",
        f"{IDENTITY_WEIGHT:g} * L1 between an image and its translation into its own domain",
    )


# --------------------------------------------------------------------------- image pool
def _new_pool(ImagePool: Any, size: int, what: str) -> Any:
    cls = ImagePool if inspect.isclass(ImagePool) else type(ImagePool)
    if ImagePool is None or not hasattr(cls, "query"):
        raise CheckFailed(
            what,
            expected="the ImagePool class, with a query(images) method",
            found="None" if ImagePool is None else f"{cls.__name__} without query()",
            hint="pass the class itself: check.image_pool(ImagePool)",
        )
    return call(
        cls, size, what=what, hint="ImagePool(size) must work with the size as its only argument"
    )


def _query(pool: Any, images: torch.Tensor, size: int, what: str) -> Any:
    """``pool.query(images)``; an index outside the history or a failing empty pool is named."""
    try:
        return call(pool.query, images, what=what)
    except CheckFailed as failure:
        if size == 0:
            raise CheckFailed(
                what,
                expected="ImagePool(0) returns the new images unchanged (no pool)",
                found=f"ImagePool(0).query failed: {failure.found}",
                hint="size 0 means no pool (the POOL_SIZE = 0 switch): hand the new images "
                "back before drawing any random index",
            ) from None
        if failure.found.startswith("IndexError"):
            raise CheckFailed(
                what,
                expected=f"stored images picked among the {size} the pool holds",
                found=f"an index outside the history ({failure.found})",
                hint="draw the index among the images the pool holds, up to its own size "
                f"(the check built it with size {size}), never up to a fixed number",
            ) from None
        raise


def _expect_returned(
    out: torch.Tensor, images: torch.Tensor, what: str, expected: str, hint: str
) -> None:
    """The pool's query returned ``images`` themselves."""
    if not torch.equal(out, images):
        raise CheckFailed(what, expected=expected, found="other images", hint=hint)


def _expect_detached_history(pool: Any, what: str) -> None:
    """The stored images hold no graph: else D's loss on an old fake runs into a freed graph."""
    stored = getattr(pool, "images", None)
    if isinstance(stored, list | tuple) and any(
        isinstance(t, torch.Tensor) and t.requires_grad for t in stored
    ):
        raise CheckFailed(
            what,
            expected="stored images detached from the generator's graph",
            found="the pool stored images that still require gradients",
            hint="store detached copies: an attached fake keeps its whole graph alive, and a "
            "discriminator loss on it would run backward into a graph already used",
        )


def image_pool(ImagePool: Any) -> None:
    """``ImagePool(size)``: ``query(images)`` returns a batch mixing new and stored older fakes."""
    what = "ImagePool"
    seen: list[torch.Tensor] = []
    counter = [0.0]

    def batch(n: int) -> torch.Tensor:
        images = []
        for _ in range(n):
            counter[0] += 1
            images.append(torch.full((3, 4, 4), counter[0]))
        seen.extend(images)
        return torch.stack(images)

    size = 20
    with seeded(0):
        pool = _new_pool(ImagePool, size, what)
        first = batch(size)
        out = _query(pool, first, size, what)
        expect_tensor(
            out,
            f"{what}.query output",
            shape=tuple(first.shape),
            hint="return a batch shaped like the input",
        )
        _expect_returned(
            out,
            first,
            what,
            "the new images themselves while the pool is still filling",
            "while the pool is not full, store each new image and return it unchanged",
        )
        old = new = refreshed = early_old = 0  # refreshed: old images stored after the first fill
        for i in range(60):
            images = batch(4)
            out = _query(pool, images.clone().requires_grad_(), size, what)
            out = expect_tensor(out, f"{what}.query output", shape=tuple(images.shape))
            _expect_detached_history(pool, what)
            for image in out.detach():
                value = image.flatten()[0].item()
                if (
                    not torch.all(image == value)
                    or value != int(value)
                    or not 1 <= value <= counter[0]
                ):
                    raise CheckFailed(
                        what,
                        expected="only images that were put into the pool",
                        found="an image that was never generated",
                        hint="return stored images unchanged",
                    )
                if value > counter[0] - 4:
                    new += 1
                else:
                    old += 1
                    early_old += i < 7
                    if value > size:
                        refreshed += 1
        zero = _new_pool(ImagePool, 0, what)
        images = batch(4)
        passthrough = expect_tensor(_query(zero, images, 0, what), f"{what}(0).query output")
        _expect_returned(
            passthrough,
            images,
            what,
            "ImagePool(0) returns the new images unchanged",
            "size 0 means no pool (the POOL_SIZE = 0 switch): return the new images as they are",
        )
    share = old / (old + new)
    if old == 0:
        raise CheckFailed(
            what,
            expected="about half of the returned images taken from the history",
            found="only the newest images",
            hint="once full, with probability 0.5 return a stored image and store the new one in its place",
        )
    if early_old == 0:
        raise CheckFailed(
            what,
            expected=f"a pool full at the size it was built with ({size}, the size the check chose)",
            found=f"only new images for the 28 fakes after the first {size}: the pool kept "
            "filling past its size",
            hint="the pool is full once it holds as many images as its size; use the size it "
            "was given, never a fixed number",
        )
    if share > 0.75:
        raise CheckFailed(
            what,
            expected="about half of the returned images taken from the history",
            found=f"{share:.0%} old images",
            hint="swap with probability 0.5, keep the new image otherwise",
        )
    if refreshed == 0:
        raise CheckFailed(
            what,
            expected="a history that keeps taking in newer fakes once it is full",
            found=f"every old image returned was one of the first {size}: the pool never stores the new images",
            hint="when you hand back a stored image, put the new one in its place",
        )
    passed(
        what,
        f"fills first, then {share:.0%} of the returned images come from the history, "
        "which keeps taking in newer fakes; size 0 passes through",
    )


# --------------------------------------------------------------------------- training step
#: How train.fit passes the networks, optimizers and options: the step's parameter names.
STEP_NAMES = (
    "G_ab", "G_ba", "D_a", "D_b", "opt_g", "opt_d", "pool_a", "pool_b",
    "lambda_cycle", "lambda_identity",
)  # fmt: skip
#: The loss weights the check passes: not the defaults, so a step that ignores them is seen.
CHECK_CYCLE, CHECK_IDENTITY = (
    7.0,
    4.0,
)  # each 1 and 3 away from the defaults, so each wrong one shows


class _RecordingPool:
    """A pool that records each query and hands back older fakes of its own (random images).

    A real pool detaches what it stores, which would hide a missing detach, and returns the new
    fakes half the time, which would hide a step that ignores what it returns; this one does
    neither.
    """

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.queries: list[tuple[Any, bool]] = []  # (images, whether they still required grad)
        self.returned: torch.Tensor | None = None

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if not isinstance(images, torch.Tensor):
            self.queries.append((images, False))
            return images
        self.queries.append((images.detach().clone(), images.requires_grad))
        with seeded(self.seed + len(self.queries)):
            self.returned = torch.rand_like(images.detach()) * 2 - 1
        return self.returned.clone()


def _same_images(images: Any, candidates: list[torch.Tensor]) -> bool:
    return isinstance(images, torch.Tensor) and any(
        images.shape == c.shape and torch.allclose(images, c, atol=1e-5) for c in candidates
    )


def _expect_pool_use(
    pools: dict[str, _RecordingPool], fakes: dict[str, list[torch.Tensor]], what: str
) -> None:
    """Each pool queried once per step, with the detached fakes of its own domain.

    ``fakes["a"]`` holds the A-domain fakes G_ba(real_b) (from the generators before or after
    their update), ``fakes["b"]`` the B-domain fakes G_ab(real_a).
    """
    source = {"a": "G_ba(real_b)", "b": "G_ab(real_a)"}
    for domain, other in (("a", "b"), ("b", "a")):
        pool, D = f"pool_{domain}", f"D_{domain}"
        queries = pools[domain].queries
        if len(queries) != 1:
            found = (
                f"{pool}.query was never called: the fakes bypassed the pool"
                if not queries
                else f"{pool}.query called {len(queries)} times"
            )
            raise CheckFailed(
                what,
                expected=f"{pool}.query(...) called once per step",
                found=found,
                hint="in the discriminators' part, pass each domain's fakes through its own "
                "pool once, and let the discriminator judge what the pool hands back: each "
                "query swaps images in and out of the history",
            )
        images, needs_grad = queries[0]
        if needs_grad:
            raise CheckFailed(
                what,
                expected=f"{pool} queried with detached fakes",
                found=f"{pool} got fakes still attached to the generator's graph",
                hint=f"detach the fakes before the pool: it stores them, and {D}'s loss must "
                "not reach the generators",
            )
        if _same_images(images, fakes[other]):
            raise CheckFailed(
                what,
                expected=f"{pool} queried with the {domain.upper()}-domain fakes {source[domain]}",
                found=f"{pool} got the {other.upper()}-domain fakes {source[other]}: the pools are swapped",
                hint=f"{D} judges {domain.upper()} images, so {pool} keeps the history of the "
                f"translations into {domain.upper()}",
            )
        if not _same_images(images, fakes[domain]):
            raise CheckFailed(
                what,
                expected=f"{pool} queried with the {domain.upper()}-domain fakes {source[domain]}",
                found="other images" if isinstance(images, torch.Tensor) else type(images).__name__,
                hint="pass the whole batch of this step's fakes of that domain, detached",
            )


def _tiny_cyclegan() -> dict[str, nn.Module]:
    from ganlib.models import PatchDiscriminator, ResnetGenerator

    with seeded(3):
        return {
            "G_ab": ResnetGenerator(width=4, n_blocks=1),
            "G_ba": ResnetGenerator(width=4, n_blocks=1),
            "D_a": PatchDiscriminator(width=4, n_layers=2),
            "D_b": PatchDiscriminator(width=4, n_layers=2),
        }


def _generator_terms(nets: dict, a: torch.Tensor, b: torch.Tensor) -> dict[str, torch.Tensor]:
    """The unweighted terms of the generators' loss, one per direction, and those of the usual
    mistakes: each discriminator judging the other domain, the identity term through the
    generator that leaves the domain, the "cycle" compared with the one-way translation."""
    G_ab, G_ba, D_a, D_b = (nets[k] for k in ("G_ab", "G_ba", "D_a", "D_b"))
    fake_b, fake_a = G_ab(a), G_ba(b)
    lsgan, l1 = losses.g_loss_lsgan, losses.cycle_loss
    return {
        "gan_ab": lsgan(D_b(fake_b)),
        "gan_ba": lsgan(D_a(fake_a)),
        "cycle_a": l1(a, G_ba(fake_b), 1.0),
        "cycle_b": l1(b, G_ab(fake_a), 1.0),
        "identity_a": l1(a, G_ba(a), 1.0),
        "identity_b": l1(b, G_ab(b), 1.0),
        "gan_swapped": lsgan(D_a(fake_b)) + lsgan(D_b(fake_a)),
        "identity_swapped": l1(a, G_ab(a), 1.0) + l1(b, G_ba(b), 1.0),
        "cycle_one_way": l1(a, fake_b, 1.0) + l1(b, fake_a, 1.0),
        # the fakes detached before the generators' loss: it reaches them only through the
        # second translation of the cycle
        "gan_detached": lsgan(D_b(fake_b.detach())) + lsgan(D_a(fake_a.detach())),
        "cycle_detached": l1(a, G_ba(fake_b.detach()), 1.0) + l1(b, G_ab(fake_a.detach()), 1.0),
    }


def _generator_loss(
    t: dict[str, torch.Tensor], cycle: float = CHECK_CYCLE, identity: float = CHECK_IDENTITY
) -> torch.Tensor:
    return (
        t["gan_ab"]
        + t["gan_ba"]
        + cycle * (t["cycle_a"] + t["cycle_b"])
        + identity * (t["identity_a"] + t["identity_b"])
    )


def _generator_mistakes(t: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The hint for each usual mistake in the generators' loss, and the loss it gives."""
    c, i = CHECK_CYCLE, CHECK_IDENTITY
    gan = t["gan_ab"] + t["gan_ba"]
    cycle, identity = t["cycle_a"] + t["cycle_b"], t["identity_a"] + t["identity_b"]
    given = f"(the check passed lambda_cycle={c:g}, lambda_identity={i:g})"
    both = (
        "train both directions: the adversarial, cycle and identity terms of A -> B and of B -> A"
    )
    return {
        "weigh the terms with the lambda_cycle and lambda_identity the step is given, not "
        f"the defaults {given}: the switches of the parameters cell pass them": _generator_loss(
            t, CYCLE_WEIGHT, IDENTITY_WEIGHT
        ),
        f"the cycle terms use the lambda_cycle the step is given {given}": _generator_loss(
            t, CYCLE_WEIGHT, i
        ),
        f"the identity terms use the lambda_identity the step is given {given}": _generator_loss(
            t, c, IDENTITY_WEIGHT
        ),
        "lambda_identity is the identity term's own weight (5 by default), not a share of "
        "lambda_cycle": _generator_loss(t, c, c * i),
        "add the identity terms: a generator fed an image already in its output domain should "
        "leave it unchanged": gan + c * cycle,
        "add the cycle terms: translating there and back must give the original": gan
        + i * identity,
        "the identity term feeds each generator an image of its own output domain (G_ba gets "
        "a summer image, G_ab a winter one)": gan + c * cycle + i * t["identity_swapped"],
        "each discriminator judges the translations into its own domain (D_b the fakes of "
        "G_ab, D_a those of G_ba)": t["gan_swapped"] + c * cycle + i * identity,
        "the cycle term compares the original with its round trip (translated and translated "
        "back), not with the one-way translation": gan + c * t["cycle_one_way"] + i * identity,
        "compute the generators' loss on the fakes as the generators made them, not "
        "detached: detach only what the discriminators learn from": t["gan_detached"]
        + c * t["cycle_detached"]
        + i * identity,
        f"{both} (found only A -> B)": t["gan_ab"] + c * t["cycle_a"] + i * t["identity_b"],
        f"{both} (found only B -> A)": t["gan_ba"] + c * t["cycle_b"] + i * t["identity_a"],
    }


def _stale_gradients(nets: dict[str, nn.Module]) -> dict[str, list[torch.Tensor]]:
    """Fill every gradient with leftovers, as the previous step leaves them; return them."""
    stale = {}
    with seeded(6):
        for name, net in nets.items():
            stale[name] = [0.1 * torch.randn_like(p) for p in net.parameters()]
            for p, g in zip(net.parameters(), stale[name], strict=True):
                p.grad = g.clone()
    return stale


def _plus_stale(loss: torch.Tensor, params: list[torch.Tensor], stale: list[torch.Tensor]):
    """A loss whose gradients are ``loss``'s plus the leftovers: what a missing zero_grad gives."""
    return loss + sum((p * g).sum() for p, g in zip(params, stale, strict=True))


def _expect_signature(step: Callable[..., Any], what: str) -> None:
    """The step can be called as ``train.fit`` calls it: two batches, then the rest by name."""
    try:
        signature = inspect.signature(step)
    except (TypeError, ValueError):  # not callable, or no signature: call() says more
        return
    try:
        signature.bind(None, None, **dict.fromkeys(STEP_NAMES))
    except TypeError as err:
        raise CheckFailed(
            what,
            expected="a step callable as train.fit calls it: the real batches real_a, real_b "
            f"first, then {', '.join(STEP_NAMES)} by name",
            found=f"{getattr(step, '__name__', 'step')}{signature}: {err}",
            hint="keep the parameter names of the exercise: fit passes the networks, "
            "optimizers and options by the names they have in its dicts",
        ) from None


def _loss_value(result: dict, key: str, what: str) -> float:
    value = as_number(result.get(key))
    if value is None:
        found = (
            f"no {key!r} among the returned names ({', '.join(map(str, result)) or 'none'})"
            if key not in result
            else f"{key}: {type(result[key]).__name__}"
        )
        raise CheckFailed(
            what,
            expected=f"{key!r} as one number (g_loss, d_a_loss and d_b_loss, each detached)",
            found=found,
            hint="return a dict of named losses, each a detached one-number tensor: the "
            "training loop records them and plots every name ending in loss",
        )
    return value


_UNDETACHED = reached_generator_again(
    expected="the discriminators' part to stop at the fakes",
    hint="detach the fakes the discriminators learn from: their loss must not reach the generators",
)


def train_step(step: Callable[..., Any]) -> None:
    """``step(real_a, real_b, *, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle, lambda_identity)`` -> dict of losses, called as ``train.fit`` calls it.

    One CycleGAN iteration: the generators' step (adversarial + cycle + identity, both
    directions, with the weights it is given) with the current discriminators, then the
    discriminators' step on what their pools return for the detached fakes, each domain's fakes
    through its own pool (``pool_a`` for the A-domain fakes ``G_ba(real_b)``, which ``D_a``
    judges). Gradients are left over from a "previous step", so a missing ``zero_grad`` shows.
    """
    what = "CycleGAN training step"
    _expect_signature(step, what)
    nets = _tiny_cyclegan()
    G_ab, G_ba, D_a, D_b = (nets[k] for k in ("G_ab", "G_ba", "D_a", "D_b"))
    before = {k: copy.deepcopy(v) for k, v in nets.items()}
    stale = _stale_gradients(nets)
    with seeded(4):
        a = torch.rand(2, 3, 24, 24) * 2 - 1
        b = torch.rand(2, 3, 24, 24) * 2 - 1
    opt_g = torch.optim.SGD([*G_ab.parameters(), *G_ba.parameters()], lr=0.01)
    opt_d = torch.optim.SGD([*D_a.parameters(), *D_b.parameters()], lr=0.01)
    watch = StepWatch({"g": opt_g, "d": opt_d}, backward_into=G_ab, on_reused_graph=_UNDETACHED)
    pools = {"a": _RecordingPool(seed=10), "b": _RecordingPool(seed=20)}
    result = watch.call(
        step, a, b, what=what, **nets, opt_g=opt_g, opt_d=opt_d,
        pool_a=pools["a"], pool_b=pools["b"],
        lambda_cycle=CHECK_CYCLE, lambda_identity=CHECK_IDENTITY,
    )  # fmt: skip
    if watch.backward_passes > 1:
        raise CheckFailed(
            what,
            expected="gradients reach the generators once (from the generator loss)",
            found=f"{watch.backward_passes} backward passes reached G_ab: the discriminator loss flowed into the generator",
            hint="detach the fakes the discriminators learn from: their loss must not reach the generators",
        )
    if not isinstance(result, dict):
        raise CheckFailed(
            what,
            expected="a dict of losses",
            found="None" if result is None else type(result).__name__,
            hint="return the losses by name (g_loss, d_a_loss, d_b_loss), each a detached tensor",
        )
    for key, name, nets_name in (("g", "opt_g", "generators"), ("d", "opt_d", "discriminators")):
        if len(watch.grads[key]) != 1:
            raise CheckFailed(
                what,
                expected=f"{name}.step() called once",
                found=f"{len(watch.grads[key])} calls",
                hint=f"clear the {nets_name}' gradients, backpropagate their loss, then take "
                "one optimizer step",
            )
    with torch.no_grad():  # the fakes, from the generators before or after their update
        fakes = {"a": [before["G_ba"](b), G_ba(b)], "b": [before["G_ab"](a), G_ab(a)]}
    _expect_pool_use(pools, fakes, what)
    if watch.order != ["g", "d"]:
        raise CheckFailed(
            what,
            expected="the generators' step first, then the discriminators'",
            found="the discriminators stepped first",
            hint="the generators learn against the current discriminators; then the "
            "discriminators learn from this step's fakes (through the pools)",
        )

    terms = _generator_terms(before, a, b)
    reference = _generator_loss(terms)
    expect_close(
        _loss_value(result, "g_loss", what),
        reference.item(),
        f"{what}: generator loss",
        rtol=1e-3,
        hint="both directions: the adversarial terms against D_b and D_a, the cycle terms "
        "(weight lambda_cycle) and the identity terms (weight lambda_identity), computed with "
        "the discriminators before their update",
        mistakes={k: v.item() for k, v in _generator_mistakes(terms).items()},
    )
    g_params = [p for k in ("G_ab", "G_ba") for p in before[k].parameters()]
    g_stale = stale["G_ab"] + stale["G_ba"]
    expect_stepped_with(
        watch.grads["g"][0],
        reference,
        g_params,
        what,
        expected="the generators' gradients of their own loss only",
        found="different gradients when opt_g stepped",
        hint="the generators' optimizer must step with the gradients of the generator loss alone",
        no_grads_hint="the generators got no gradient: compute their loss on the fakes as the "
        "generators made them (not detached) and backpropagate it before their optimizer steps",
        mistakes={
            **_generator_mistakes(terms),
            "clear the generators' gradients before their backward: gradients add up, so the "
            "last step's were added to this one's": _plus_stale(reference, g_params, g_stale),
        },
        atol=1e-5,
        rtol=1e-3,
    )

    found_d = {k: _loss_value(result, f"d_{k}_loss", what) for k in ("a", "b")}
    d_ref = {}
    for k, real in (("a", a), ("b", b)):
        D = before[f"D_{k}"]
        d_ref[k] = losses.d_loss_lsgan(D(real), D(pools[k].returned))
        with torch.no_grad():
            ignored = [losses.d_loss_lsgan(D(real), D(f)).item() for f in fakes[k]]
        if any(abs(found_d[k] - v) <= 1e-3 * abs(v) + 1e-5 for v in ignored):
            raise CheckFailed(
                what,
                expected=f"D_{k} judges the images pool_{k} hands back",
                found=f"D_{k} judged this step's new fakes: the pool was asked, and its answer ignored",
                hint="the pool's answer (new fakes mixed with older ones) is what the "
                "discriminator learns from: use the images the query returns",
            )
        expect_close(
            found_d[k],
            d_ref[k].item(),
            f"{what}: d_{k}_loss",
            rtol=1e-3,
            hint=f"the least-squares discriminator loss of D_{k}: real {k.upper()} images "
            f"towards 1, the images pool_{k} returns towards 0",
        )
    d_loss = d_ref["a"] + d_ref["b"]
    d_params = [p for k in ("D_a", "D_b") for p in before[k].parameters()]
    d_stale = stale["D_a"] + stale["D_b"]
    g_on_d = reference  # the generators' loss also reaches the discriminators' weights
    expect_stepped_with(
        watch.grads["d"][0],
        d_loss,
        d_params,
        what,
        expected="the discriminators' gradients of their own loss only",
        found="different gradients when opt_d stepped",
        hint="the discriminators' optimizer must step with the gradients of their loss alone",
        no_grads_hint="the discriminators got no gradient: backpropagate their loss after "
        "clearing their gradients and before their optimizer steps",
        mistakes={
            "clear the discriminators' gradients after the generators' backward: it filled "
            "them too (or freeze the discriminators during the generators' part)": d_loss + g_on_d,
            "clear the discriminators' gradients before their backward: gradients add up, "
            "and neither the last step's nor the generators' backward's belong to this "
            "update": _plus_stale(d_loss + g_on_d, d_params, d_stale),
            "clear the discriminators' gradients before their backward: gradients add up, "
            "so the last step's were added to this one's": _plus_stale(d_loss, d_params, d_stale),
        },
        atol=1e-5,
        rtol=1e-3,
    )
    expect_updated(
        what,
        {k: (net, list(before[k].parameters())) for k, net in nets.items()},
        hint="both optimizers take their step, the generators' and the discriminators'",
    )
    passed(
        what,
        f"G loss {reference.item():.4f} (weights {CHECK_CYCLE:g} and {CHECK_IDENTITY:g} as "
        "given) and D losses match the reference; gradients cleared; D step detached, on what "
        "each domain's own pool returned; all four networks updated",
    )
