"""Checkers for lesson 04, CycleGAN summer <-> winter.

The generator translates A -> B (``G_ab``) and back (``G_ba``); ``D_a`` judges A images and
``D_b`` B images. Losses follow Zhu et al. 2017: least-squares adversarial terms, L1 cycle loss
with weight 10 and L1 identity loss with weight 5 (half the cycle weight).
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
from .training import StepWatch, as_number, expect_stepped_with, moved, reached_generator_again

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
            hint="use nn.InstanceNorm2d(channels) instead of nn.BatchNorm2d: CycleGAN trains with batch size 1",
        )
    expect_ran(
        calls,
        (nn.InstanceNorm2d,),
        what,
        expected="nn.InstanceNorm2d after the convolutions",
        found="no instance norm ran",
        hint="follow each hidden convolution with nn.InstanceNorm2d(channels)",
    )


def _expect_reflection(calls: list[LayerCall], what: str) -> None:
    zero = _zero_padded(calls)
    if zero:
        raise CheckFailed(
            what,
            expected="reflection padding before the stride-1 convolutions",
            found=f"zero padding in {', '.join(zero[:3])}",
            hint="put nn.ReflectionPad2d(p) before nn.Conv2d(..., padding=0): zeros make dark borders",
        )


# --------------------------------------------------------------------------- networks
def residual_block(ResidualBlock: Any, channels: int = 8) -> None:
    """``ResidualBlock(channels)``: x + F(x), reflection padding, instance norm, same shape."""
    what = "ResidualBlock"
    keep = "the block must keep the shape: pad by 1 pixel before each 3x3 convolution"
    block, x, out, calls = build_and_trace(
        ResidualBlock, lambda: torch.randn(3, channels, 16, 16), what, args=(channels,), hint=keep
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
            hint="return x + self.block(x), with nothing (no ReLU) after the addition",
        )
    expect_gradients(block, out, what)
    passed(what, f"x + F(x), shape {tuple(x.shape)} kept, reflection padding, instance norm")


def resnet_generator(ResnetGenerator: Any, image_size: int = 32) -> None:
    """``ResnetGenerator(channels=3, width=64, n_blocks=6)``: image to image of the same shape."""
    what = "ResnetGenerator"
    G, x, out, calls = build_and_trace(
        ResnetGenerator,
        lambda: torch.rand(2, 3, image_size, image_size) * 2 - 1,
        what,
        width=8,
        n_blocks=2,
    )
    out = expect_tensor(
        out,
        f"{what} output",
        shape=tuple(x.shape),
        hint="encoder (7x7 conv, two stride-2 convs), residual blocks, decoder (two transposed convs, 7x7 conv)",
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
            hint="two nn.Conv2d(c, 2c, 3, stride=2, padding=1) before the residual blocks",
        )
    _expect_reflection(calls, what)
    _expect_instance_norm(G, calls, x, what)
    expect_tanh_output(G, calls, x, out, what)
    expect_gradients(G, out, what)
    passed(
        what,
        f"{tuple(x.shape)} -> {tuple(out.shape)}, down to {image_size // 4}x{image_size // 4}, reflection padding, instance norm, Tanh",
    )


def patch_discriminator(PatchDiscriminator: Any, image_size: int = 64) -> None:
    """``PatchDiscriminator(channels=3, width=64, n_layers=3)``: image to a map of logits (N, 1, h, w)."""
    what = "PatchDiscriminator"
    D, x, out, calls = build_and_trace(
        PatchDiscriminator, lambda: torch.rand(2, 3, image_size, image_size) * 2 - 1, what, width=8
    )
    out = expect_tensor(
        out, f"{what} output", hint="return the map of logits of the last convolution"
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
            hint=f"nn.LeakyReLU({LEAKY_SLOPE}) after every hidden convolution",
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
        f"{tuple(x.shape)} -> patch logits {tuple(out.shape)}, LeakyReLU({LEAKY_SLOPE}), instance norm",
    )


# --------------------------------------------------------------------------- losses
def _scalar(value: Any, what: str) -> torch.Tensor:
    return expect_scalar(
        value,
        what,
        hint="return the loss as a tensor (no .item()), so it can be backpropagated",
        expected="a single number (a 0-d tensor)",
        mean_hint="average with .mean()",
    )


def lsgan_losses(d_loss: Callable[..., Any], g_loss: Callable[..., Any]) -> None:
    """``d_loss(real_out, fake_out)`` and ``g_loss(fake_out)``, least squares on raw scores."""
    with seeded(1):
        real = torch.randn(4, 1, 6, 6) + 0.5
        fake = torch.randn(4, 1, 6, 6) - 0.5
    what = "LSGAN discriminator loss"
    expected = losses.d_loss_lsgan(real, fake)
    expect_close(
        _scalar(call(d_loss, real, fake, what=what), what),
        expected,
        what,
        hint="0.5 * (mean((real_out - 1)**2) + mean(fake_out**2)); no sigmoid, no log",
        mistakes={
            "halve it: CycleGAN averages the real and the fake term, 0.5 * (real + fake)": 2
            * expected,
            "real outputs go to 1 and fake outputs to 0, not the other way round": losses.d_loss_lsgan(
                fake, real
            ),
        },
    )
    what = "LSGAN generator loss"
    found = _scalar(call(g_loss, fake, what=what), what)
    expect_close(
        found,
        losses.g_loss_lsgan(fake),
        what,
        hint="mean((fake_out - 1)**2): the generator wants its fakes scored 1",
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
            hint="use the absolute difference, (real - x).abs().mean(): L1 keeps images sharper",
        )
    if torch.isclose(found, l1, rtol=1e-4):
        raise CheckFailed(
            what,
            expected=f"{weight:g} * L1 = {weight * l1:.6g} (default weight {weight:g})",
            found=f"{found.item():.6g}: no weight",
            hint=f"multiply by {name}, whose default is {weight:g}",
        )
    ratio = found.item() / l1.item()
    hint = f"{name} * (real - x).abs().mean(), with {name} = {weight:g} by default"
    if abs(ratio / real.numel() - weight) < 1e-3 * weight:
        hint = "average over the pixels with .mean(), not .sum()"
    elif abs(ratio - round(ratio)) < 1e-4:
        hint = f"found {round(ratio)} * L1: the default {name} is {weight:g}"
    expect_close(found, reference(real, other, weight), f"{what} = {weight:g} * L1", hint=hint)
    found = _scalar(call(fn, real, other, 3.0, what=what), what)
    expect_close(
        found,
        reference(real, other, 3.0),
        f"{what} with weight 3",
        hint=f"use the {name} argument instead of a fixed {weight:g}",
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


def _expect_returned(
    out: torch.Tensor, images: torch.Tensor, what: str, expected: str, hint: str
) -> None:
    """The pool's query returned ``images`` themselves."""
    if not torch.equal(out, images):
        raise CheckFailed(what, expected=expected, found="other images", hint=hint)


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
        out = call(pool.query, first, what=what)
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
            "while len(self.images) < size: store the image and return it",
        )
        old = new = refreshed = 0  # refreshed: old images stored after the first fill
        for _ in range(60):
            images = batch(4)
            out = call(pool.query, images.clone().requires_grad_(), what=what)
            out = expect_tensor(out, f"{what}.query output", shape=tuple(images.shape))
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
                    if value > size:
                        refreshed += 1
        zero = _new_pool(ImagePool, 0, what)
        images = batch(4)
        passthrough = expect_tensor(call(zero.query, images, what=what), f"{what}(0).query output")
        _expect_returned(
            passthrough,
            images,
            what,
            "ImagePool(0) returns the new images unchanged",
            "if self.size == 0: return images",
        )
    share = old / (old + new)
    if old == 0:
        raise CheckFailed(
            what,
            expected="about half of the returned images taken from the history",
            found="only the newest images",
            hint="once full, with probability 0.5 return a stored image and store the new one in its place",
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
            hint="when you return a stored image, put the new one in its place: self.images[i] = image",
        )
    passed(
        what,
        f"fills first, then {share:.0%} of the returned images come from the history, "
        "which keeps taking in newer fakes; size 0 passes through",
    )


# --------------------------------------------------------------------------- training step
class _RecordingPool:
    """A pool that returns what it is given (a real pool would hide a missing detach) and records
    each query, to see which fakes reach which pool."""

    def __init__(self) -> None:
        self.queries: list[tuple[Any, bool]] = []  # (images, whether they still required grad)

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if isinstance(images, torch.Tensor):
            self.queries.append((images.detach().clone(), images.requires_grad))
        else:
            self.queries.append((images, False))
        return images


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
        pool, fake, D = f"pool_{domain}", f"fake_{domain}", f"D_{domain}"
        use = f"{D}(pool_{domain}.query({fake}.detach()))"
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
                hint=f"pass the fakes through the pool once, in the discriminator step: {use}",
            )
        images, needs_grad = queries[0]
        if needs_grad:
            raise CheckFailed(
                what,
                expected=f"{pool}.query({fake}.detach())",
                found=f"{pool} got fakes still attached to the generator's graph",
                hint=f"detach before the pool: it stores the fakes, and {D}'s loss must not reach the generators",
            )
        if _same_images(images, fakes[other]):
            raise CheckFailed(
                what,
                expected=f"{pool} queried with the {domain.upper()}-domain fakes {source[domain]}",
                found=f"{pool} got the {other.upper()}-domain fakes {source[other]}: the pools are swapped",
                hint=f"{D} judges {domain.upper()} images: {use}",
            )
        if not _same_images(images, fakes[domain]):
            raise CheckFailed(
                what,
                expected=f"{pool} queried with the {domain.upper()}-domain fakes {source[domain]}",
                found="other images" if isinstance(images, torch.Tensor) else type(images).__name__,
                hint=f"pass the whole batch of fakes, detached: {use}",
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


def _reference_losses(
    nets: dict, a: torch.Tensor, b: torch.Tensor, cycle_w: float, identity_w: float
) -> dict:
    G_ab, G_ba, D_a, D_b = (nets[k] for k in ("G_ab", "G_ba", "D_a", "D_b"))
    fake_b, fake_a = G_ab(a), G_ba(b)
    g = (
        losses.g_loss_lsgan(D_b(fake_b))
        + losses.g_loss_lsgan(D_a(fake_a))
        + losses.cycle_loss(a, G_ba(fake_b), cycle_w)
        + losses.cycle_loss(b, G_ab(fake_a), cycle_w)
        + losses.identity_loss(a, G_ba(a), identity_w)
        + losses.identity_loss(b, G_ab(b), identity_w)
    )
    d_a = losses.d_loss_lsgan(D_a(a), D_a(fake_a.detach()))
    d_b = losses.d_loss_lsgan(D_b(b), D_b(fake_b.detach()))
    return {"g": g, "d_a": d_a, "d_b": d_b}


def _loss_value(result: dict, key: str, what: str) -> float:
    value = as_number(result.get(key))
    if value is None:
        raise CheckFailed(
            what,
            expected=f'losses["{key}"] as a number',
            found=f"{type(result.get(key)).__name__}",
            hint='return {"g_loss": ..., "d_a_loss": ..., "d_b_loss": ...} with .item() values',
        )
    return value


def _expect_own_grads(
    stepped: list[torch.Tensor],
    loss: torch.Tensor,
    nets: list[nn.Module],
    what: str,
    name: str,
    hint: str,
) -> None:
    """The gradients ``nets``' optimizer stepped with are those of ``loss`` (their own loss) only."""
    expect_stepped_with(
        stepped,
        loss,
        [p for net in nets for p in net.parameters()],
        what,
        expected=f"the {name}' gradients of their own loss only",
        found="different gradients when their optimizer stepped",
        hint=hint,
        atol=1e-5,
        rtol=1e-3,
    )


_UNDETACHED = reached_generator_again(
    expected="the discriminator step to stop at the fakes",
    hint="feed the discriminators fake.detach(): their loss must not reach the generators",
)


def train_step(step: Callable[..., Any]) -> None:
    """``step(real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b)`` -> dict of losses.

    One CycleGAN iteration: the generators' step (adversarial + cycle + identity, both directions)
    with the current discriminators, then the discriminators' step on detached fakes, each domain's
    fakes through its own pool (``pool_a`` for the A-domain fakes ``G_ba(real_b)``, which ``D_a`` judges).
    """
    what = "CycleGAN training step"
    nets = _tiny_cyclegan()
    G_ab, G_ba, D_a, D_b = (nets[k] for k in ("G_ab", "G_ba", "D_a", "D_b"))
    before = {k: copy.deepcopy(v) for k, v in nets.items()}
    with seeded(4):
        a = torch.rand(2, 3, 24, 24) * 2 - 1
        b = torch.rand(2, 3, 24, 24) * 2 - 1
    opt_g = torch.optim.SGD([*G_ab.parameters(), *G_ba.parameters()], lr=0.01)
    opt_d = torch.optim.SGD([*D_a.parameters(), *D_b.parameters()], lr=0.01)
    watch = StepWatch({"g": opt_g, "d": opt_d}, backward_into=G_ab, on_reused_graph=_UNDETACHED)
    pool_a, pool_b = _RecordingPool(), _RecordingPool()
    result = watch.call(step, a, b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b, what=what)
    if watch.backward_passes > 1:
        raise CheckFailed(
            what,
            expected="gradients reach the generators once (from the generator loss)",
            found=f"{watch.backward_passes} backward passes reached G_ab: the discriminator loss flowed into the generator",
            hint="feed the discriminators fake.detach() in their step",
        )
    if not isinstance(result, dict):
        raise CheckFailed(
            what,
            expected="a dict of losses",
            found="None" if result is None else type(result).__name__,
            hint='return {"g_loss": g_loss.item(), "d_a_loss": ..., "d_b_loss": ...}',
        )
    for key, name, nets_name in (("g", "opt_g", "generator"), ("d", "opt_d", "discriminator")):
        if len(watch.grads[key]) != 1:
            raise CheckFailed(
                what,
                expected=f"{name}.step() called once",
                found=f"{len(watch.grads[key])} calls",
                hint=f"zero the gradients, backpropagate the {nets_name} losses, then {name}.step() once",
            )

    reference = _reference_losses(before, a, b, CYCLE_WEIGHT, IDENTITY_WEIGHT)
    expect_close(
        _loss_value(result, "g_loss", what),
        reference["g"].item(),
        f"{what}: generator loss",
        rtol=1e-3,
        hint="both directions: LSGAN(D_b(G_ab(a))) + LSGAN(D_a(G_ba(b))) + cycle (weight 10) + identity (weight 5), "
        "computed with the discriminators before their update",
    )
    # the gradients each optimizer used must be those of its own loss only
    _expect_own_grads(
        watch.grads["g"][0],
        reference["g"],
        [before["G_ab"], before["G_ba"]],
        what,
        "generators",
        "call opt_g.zero_grad() before the generator's backward",
    )
    found_d = {name: _loss_value(result, name, what) for name in ("d_a_loss", "d_b_loss")}
    # the fakes may come from the generators before their update (usual) or after it
    variants = [
        reference,
        _reference_losses({**before, "G_ab": G_ab, "G_ba": G_ba}, a, b, 0, 0),
    ]
    match = next(
        (
            v
            for v in variants
            if all(
                abs(found_d[f"{k}_loss"] - v[k].item()) <= 1e-3 * abs(v[k].item()) + 1e-5
                for k in ("d_a", "d_b")
            )
        ),
        None,
    )
    if match is None:
        for key in ("d_a", "d_b"):
            expect_close(
                found_d[f"{key}_loss"],
                reference[key].item(),
                f"{what}: {key}_loss",
                rtol=1e-3,
                hint="0.5 * (LSGAN(D(real), 1) + LSGAN(D(fake.detach()), 0)) with the fakes of the generator step",
            )
    _expect_own_grads(
        watch.grads["d"][0],
        match["d_a"] + match["d_b"],
        [before["D_a"], before["D_b"]],
        what,
        "discriminators",
        "call opt_d.zero_grad() after the generator step: its backward also filled D's gradients",
    )
    for k, net in nets.items():
        if not moved(net, before[k].parameters()):
            raise CheckFailed(
                what,
                expected=f"{k} updated",
                found=f"{k}'s weights unchanged",
                hint="call opt_g.step() and opt_d.step()",
            )
    with torch.no_grad():  # the fakes, from the generators before or after their update
        fakes = {
            "a": [before["G_ba"](b), G_ba(b)],
            "b": [before["G_ab"](a), G_ab(a)],
        }
    _expect_pool_use({"a": pool_a, "b": pool_b}, fakes, what)
    passed(
        what,
        f"G loss {reference['g'].item():.4f} and D losses match the reference; D step detached; "
        "each pool queried once with its own domain's fakes; all four networks updated",
    )
