"""Checkers for lesson 03, DCGAN on SVHN: output sizes, the conv blocks, D, G, their init and
the DCGAN training step.

The networks are checked by tracing one forward pass (``probes.trace``): which layers ran in which
order, what each one gave, and what the network does when its last layer is blown up. The
training step runs on a toy pair of networks that record every call, under a
``training.StepWatch``: at each optimizer step the gradients are compared with those of the
right loss, recomputed on fresh copies, and with those of the usual mistakes.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ganlib import losses

from . import CheckFailed, call, expect_tensor, passed, seeded
from .probes import (
    LEAKY_SLOPE,
    NORMS,
    LayerCall,
    bce,
    build_and_trace,
    expect_gradients,
    expect_ran,
    expect_raw_scores,
    expect_tanh_output,
    layers,
    leaky_slope,
    ran_after,
    trace,
)
from .training import (
    NO_GRADS,
    StepWatch,
    expect_step_signature,
    expect_step_values,
    expect_trainable,
    expect_updated,
    gradient_mistake,
    grads,
    same_grads,
    verdict_mistakes,
    weights,
)

__all__ = [
    "conv_output_size",
    "deconv_output_size",
    "conv_block",
    "deconv_block",
    "discriminator",
    "generator",
    "weights_init",
    "train_step",
]

INIT_STD = 0.02


def _module(value: Any, what: str, hint: str) -> nn.Module:
    if not isinstance(value, nn.Module):
        raise CheckFailed(
            what,
            expected="an nn.Module (for example nn.Sequential(...))",
            found="None" if value is None else type(value).__name__,
            hint=hint,
        )
    return value


def _int_result(value: Any, what: str) -> int | float:
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        value = value.item()
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise CheckFailed(
            what,
            expected="a number (the output size)",
            found="None" if value is None else type(value).__name__,
            hint="the function must return the size it computes (a missing return gives None)",
        )
    return value


# --------------------------------------------------------------------------- output sizes
#: The usual mistakes in each formula, as (hint, the size that mistake gives) over
#: (size, kernel, stride, padding, output_padding): the first that matches every case names it.
_CONV_MISTAKES: list[tuple[str, Callable[[int, int, int, int, int], float]]] = [
    (
        "the division must round down: the kernel cannot stop part-way, so a leftover pixel "
        "gives no output (floor division, not true division)",
        lambda n, k, s, p, op: (n + 2 * p - k) / s + 1,
    ),
    (
        "padding adds pixels on both sides of the image: 2 * padding in all",
        lambda n, k, s, p, op: (n - k) // s + 1,
    ),
    (
        "padding is added on both sides of the image: count it twice",
        lambda n, k, s, p, op: (n + p - k) // s + 1,
    ),
    (
        "the kernel's first position counts too: add it after dividing",
        lambda n, k, s, p, op: (n + 2 * p - k) // s,
    ),
    (
        "a stride of s moves the kernel s pixels at a time: divide by the stride",
        lambda n, k, s, p, op: n + 2 * p - k + 1,
    ),
]
_DECONV_MISTAKES: list[tuple[str, Callable[[int, int, int, int, int], float]]] = [
    (
        "the padding is taken away from the output: 2 * padding pixels",
        lambda n, k, s, p, op: (n - 1) * s + k + op,
    ),
    (
        "run backwards, padding shrinks the output: subtract 2 * padding, do not add it",
        lambda n, k, s, p, op: (n - 1) * s + 2 * p + k + op,
    ),
    (
        "output_padding adds its pixels to the output: add it at the end",
        lambda n, k, s, p, op: (n - 1) * s - 2 * p + k,
    ),
    (
        "n inputs placed stride pixels apart span n - 1 strides, then the kernel covers the "
        "last one",
        lambda n, k, s, p, op: n * s - 2 * p + k + op,
    ),
]


def _sizes(
    fn: Callable[..., Any],
    what: str,
    cases: list[tuple[int, int, int, int, int]],
    layer: Callable[..., nn.Module],
    mistakes: list[tuple[str, Callable[[int, int, int, int, int], float]]],
    hint: str,
) -> None:
    """Compare ``fn`` with what ``layer(k, s, p, op)`` really does on every case; name the
    mistake whose formula gives all the sizes ``fn`` gave."""
    found, expected = [], []
    for n, k, s, p, op in cases:
        expected.append(layer(k, s, p, op)(torch.zeros(1, 1, n, n)).shape[-1])
        args = (n, k, s, p, op) if op else (n, k, s, p)
        result = call(
            fn,
            *args,
            what=what,
            hint="the function takes output_padding too, the fifth argument (default 0)",
        )
        found.append(_int_result(result, what))
    if found == expected:
        return
    for mistake, formula in mistakes:
        if all(math.isclose(f, formula(*c)) for f, c in zip(found, cases, strict=True)):
            hint = mistake
            break
    i = next(i for i, (f, e) in enumerate(zip(found, expected, strict=True)) if f != e)
    n, k, s, p, op = cases[i]
    extra = f", output_padding={op}" if layer is _deconv_layer else ""
    raise CheckFailed(
        what,
        expected=f"{expected[i]} for size={n}, kernel_size={k}, stride={s}, padding={p}{extra}",
        found=f"{found[i]:g}",
        hint=hint,
    )


def _conv_layer(k: int, s: int, p: int, op: int) -> nn.Module:
    return nn.Conv2d(1, 1, k, s, p)


def _deconv_layer(k: int, s: int, p: int, op: int) -> nn.Module:
    return nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op)


def conv_output_size(fn: Callable[..., Any]) -> None:
    """``fn(size, kernel_size, stride, padding)`` gives nn.Conv2d's output size."""
    cases = [(32, 4, 2, 1), (16, 4, 2, 1), (4, 4, 1, 0), (28, 3, 1, 0), (28, 5, 2, 2), (7, 3, 2, 0)]
    _sizes(
        fn,
        "conv_output_size",
        [(*c, 0) for c in cases],
        _conv_layer,
        _CONV_MISTAKES,
        hint="count the positions the kernel can take: the padded size minus the kernel, in "
        "steps of stride (rounded down), plus the first position",
    )
    passed(
        "conv_output_size", "32 -> 16 -> 8 with kernel 4, stride 2, padding 1 (matches nn.Conv2d)"
    )


def deconv_output_size(fn: Callable[..., Any]) -> None:
    """``fn(size, kernel_size, stride, padding, output_padding=0)`` matches nn.ConvTranspose2d."""
    cases = [(4, 4, 2, 1, 0), (1, 4, 1, 0, 0), (2, 3, 2, 0, 0), (16, 4, 2, 1, 0), (7, 3, 2, 1, 1)]
    _sizes(
        fn,
        "deconv_output_size",
        cases,
        _deconv_layer,
        _DECONV_MISTAKES,
        hint="a transposed convolution runs the convolution backwards: solve the conv formula "
        "for the input size, then add output_padding",
    )
    passed(
        "deconv_output_size",
        "4 -> 8 -> 16 -> 32 with kernel 4, stride 2, padding 1 (matches nn.ConvTranspose2d)",
    )


# --------------------------------------------------------------------------- helper blocks
#: torch's words for a layer built with sizes other than the arguments, and what they mean.
_SIZE_ERRORS = ("channels", "running_mean", "size mismatch", "shape", "expected input")


def _block_error(failure: CheckFailed, layer_name: str, case: str) -> CheckFailed:
    """Translate torch's complaint about a block the check built with its own sizes."""
    found = failure.found.lower()
    if "running_mean" in found or "weight should contain" in found:
        mistake = (
            "the batch norm was built for another number of channels than the convolution gives"
        )
        hint = "batch norm normalises each of the convolution's output channels: out_channels"
    elif "expected 2d or 3d input" in found:
        mistake = "a batch norm for vectors (BatchNorm1d) on images"
        hint = "images of shape (N, C, H, W) need the 2-D batch norm, nn.BatchNorm2d"
    elif any(e in found for e in _SIZE_ERRORS):
        mistake = f"the block does not use the sizes it was given ({case})"
        hint = (
            f"build the {layer_name} from the function's arguments (in_channels, out_channels, "
            "kernel_size, stride, padding), not from the numbers of one network"
        )
    else:
        return failure
    return CheckFailed(
        failure.what, expected=failure.expected, found=f"{mistake} ({failure.found})", hint=hint
    )


def _block(fn: Callable[..., Any], kind: type, what: str, shapes: list) -> None:
    layer_name = kind.__name__
    for kwargs, c_in, c_out, size_in, size_out, bn in shapes:
        case = f"{what}({c_in}, {c_out}, {_kw(kwargs)}) on {c_in}x{size_in}x{size_in} inputs"
        with seeded(0):  # the same weights and input on every run
            block = _module(
                call(fn, c_in, c_out, what=what, **kwargs),
                what,
                f"return one module holding the {layer_name} (and its batch norm), e.g. an "
                "nn.Sequential; a Python list is not a module",
            )
            x = torch.randn(4, c_in, size_in, size_in)
            block.train()
            try:
                out, calls = trace(block, x, what=what)
            except CheckFailed as failure:
                raise _block_error(failure, layer_name, case) from None
        convs = layers(calls, (kind,))
        if len(convs) != 1:
            other = "nn.ConvTranspose2d" if kind is nn.Conv2d else "nn.Conv2d"
            raise CheckFailed(
                what,
                expected=f"exactly one nn.{layer_name}",
                found=f"{len(convs)} of them ran",
                hint=f"the block is one nn.{layer_name}, optionally followed by batch norm"
                + (f" ({other} is the other block's layer)" if not convs else ""),
            )
        expect_tensor(
            out,
            f"{what} output",
            shape=(4, c_out, size_out, size_out),
            hint=f"{what}({c_in}, {c_out}, {_kw(kwargs)}) should map "
            f"{size_in}x{size_in} to {size_out}x{size_out}: pass every size argument on to "
            f"the {layer_name}",
        )
        norms = layers(calls, (nn.BatchNorm2d,))
        if bn and not norms:
            raise CheckFailed(
                what,
                expected=f"batch norm after the convolution when batch_norm=True ({_kw(kwargs)})",
                found="no nn.BatchNorm2d ran",
                hint="batch_norm=True asks for a batch norm over the convolution's output channels",
            )
        if not bn and norms:
            raise CheckFailed(
                what,
                expected="no batch norm when batch_norm=False",
                found="an nn.BatchNorm2d ran",
                hint="batch_norm=False asks for the bare layer: add the norm only when asked",
            )
        conv = convs[0]
        reference = conv.output
        if bn:
            if calls.index(norms[0]) < calls.index(conv):
                raise CheckFailed(
                    what,
                    expected="the batch norm after the convolution",
                    found="the batch norm runs first",
                    hint="batch norm normalises what the convolution produced, so it comes after",
                )
            if getattr(conv.module, "bias", None) is not None:
                raise CheckFailed(
                    what,
                    expected="no bias in the convolution when batch norm follows it",
                    found="a convolution with a bias, then batch norm",
                    hint="batch norm subtracts each channel's mean, which cancels any bias: a "
                    "bias there is a wasted parameter (give the layer a bias only without norm)",
                )
            reference = norms[0].output
        if not torch.allclose(out, reference, atol=1e-5):
            raise CheckFailed(
                what,
                expected="the output of the convolution (and batch norm), nothing after it",
                found=f"another operation after it ({', '.join(type(s.module).__name__ for s in calls[-2:])})",
                hint="leave the activation out: the networks add LeakyReLU/ReLU themselves",
            )


def _kw(kwargs: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in kwargs.items()) or "defaults"


#: The cases each block is built for: (keyword arguments, in and out channels, in and out size,
#: whether a batch norm must run).
_CONV_CASES = [
    ({}, 3, 8, 32, 16, True),
    ({"batch_norm": False}, 3, 8, 32, 16, False),
    ({"kernel_size": 3, "stride": 1, "padding": 1, "batch_norm": False}, 5, 6, 8, 8, False),
    ({"kernel_size": 4, "stride": 1, "padding": 0}, 8, 1, 4, 1, True),
]
_DECONV_CASES = [
    ({}, 8, 4, 4, 8, True),
    ({"batch_norm": False}, 8, 3, 16, 32, False),
    ({"kernel_size": 4, "stride": 1, "padding": 0}, 10, 8, 1, 4, True),
]


def conv_block(fn: Callable[..., Any]) -> None:
    """``conv(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True)``."""
    _block(fn, nn.Conv2d, "conv", _CONV_CASES)
    passed("conv", "Conv2d (+ BatchNorm2d when asked) halves 32x32 to 16x16")


def deconv_block(fn: Callable[..., Any]) -> None:
    """``deconv(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True)``."""
    _block(fn, nn.ConvTranspose2d, "deconv", _DECONV_CASES)
    passed("deconv", "ConvTranspose2d (+ BatchNorm2d when asked) doubles 4x4 to 8x8")


# --------------------------------------------------------------------------- networks
def _expect_batch_norm(calls: list[LayerCall], what: str, where: str, but: str) -> None:
    """DCGAN normalises every hidden layer: an nn.BatchNorm2d must have run."""
    expect_ran(
        calls,
        (nn.BatchNorm2d,),
        what,
        expected=f"batch norm {where} the hidden layers",
        found="no nn.BatchNorm2d",
        hint=f"batch norm keeps each hidden layer's output at a healthy scale: every layer "
        f"except {but} gets one",
    )


def _network_error(failure: CheckFailed, what: str, given: str) -> CheckFailed:
    """Translate torch's shape complaints for a network the check feeds ``given``."""
    found = failure.found.lower()
    if "expected 3d (unbatched) or 4d (batched) input" in found or "expected 4d" in found:
        mistake = f"a convolution got {given}"
        hint = (
            "convolutions take (N, channels, height, width): the latent z must become a 1x1 "
            "image with z_dim channels before the first transposed convolution"
            if what == "generator"
            else "convolutions take (N, channels, height, width): pass the images as they come"
        )
    elif "channels" in found or "mat1 and mat2" in found or "running_mean" in found:
        mistake = "a layer built for other sizes than the data that reaches it"
        hint = (
            "each layer's in_channels must be the previous layer's out_channels; a layer "
            "after the 4x4 stage must cover the whole grid"
        )
    else:
        return failure
    return CheckFailed(
        failure.what, expected=failure.expected, found=f"{mistake} ({failure.found})", hint=hint
    )


def discriminator(Discriminator: Any, image_size: int = 32) -> None:
    """A DCGAN discriminator: (N, 3, 32, 32) images to one raw logit each."""
    what = "discriminator"
    try:
        D, x, out, calls = build_and_trace(
            Discriminator, lambda: torch.randn(16, 3, image_size, image_size), what
        )
    except CheckFailed as failure:
        given = f"images of shape (16, 3, {image_size}, {image_size})"
        raise _network_error(failure, what, given) from None
    out = expect_tensor(out, f"{what} output", hint="return one logit per image")
    if tuple(out.shape) not in {(16, 1), (16,)}:
        hint = (
            "the last convolution gives a (16, 1, 1, 1) grid: reshape it to one number per "
            "image, (16, 1)"
            if out.numel() == 16
            else "the last convolution must cover the whole 4x4 grid (kernel 4, stride 1, no "
            "padding) and give one channel: one logit per image"
        )
        raise CheckFailed(
            what,
            expected="one logit per image, shape (16, 1)",
            found=f"shape {tuple(out.shape)}",
            hint=hint,
        )

    pools = layers(calls, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))
    if pools:
        raise CheckFailed(
            what,
            expected="strided convolutions to downsample",
            found=f"{type(pools[0].module).__name__}",
            hint="DCGAN lets the network learn how to shrink the image: a convolution with "
            "stride 2 instead of pooling",
        )

    convs = layers(calls)
    if len(convs) < 2:
        raise CheckFailed(
            what,
            expected="several convolution layers",
            found=f"{len(convs)} learnable layer(s)",
            hint="stack conv blocks 32 -> 16 -> 8 -> 4, then one convolution to the logit",
        )
    first = convs[0]
    after_first = ran_after(calls, first)
    if after_first is not None and isinstance(after_first.module, NORMS):
        raise CheckFailed(
            what,
            expected="no normalisation on the first layer (it sees the raw images)",
            found=f"{type(after_first.module).__name__} right after the first convolution",
            hint="the first layer sees the raw images: build it without batch norm, as in the "
            "DCGAN paper",
        )
    _expect_batch_norm(calls, what, "in", "the first and the last")
    if layers(calls, (nn.ReLU,)):
        raise CheckFailed(
            what,
            expected="LeakyReLU activations in the discriminator",
            found="nn.ReLU",
            hint=f"D uses LeakyReLU with slope {LEAKY_SLOPE}: a ReLU passes no gradient for "
            "negative inputs, so less of D's verdict reaches G",
        )
    slope = leaky_slope(first.output, convs[1].input)
    if slope is None:
        raise CheckFailed(
            what,
            expected="first convolution -> LeakyReLU -> next convolution",
            found="something else between the first two convolutions",
            hint=f"only the activation goes between two conv blocks: LeakyReLU, slope "
            f"{LEAKY_SLOPE}",
        )
    if abs(slope) < 1e-6:
        raise CheckFailed(
            what,
            expected=f"LeakyReLU with slope {LEAKY_SLOPE}",
            found="slope 0: a ReLU",
            hint=f"a slope of 0 is a ReLU; D's LeakyReLU lets negative values through, scaled "
            f"by {LEAKY_SLOPE}",
        )
    if abs(slope - 1) < 1e-3:
        raise CheckFailed(
            what,
            expected=f"LeakyReLU({LEAKY_SLOPE}) between the first two convolutions",
            found="no activation: the first convolution feeds the next one directly",
            hint="two convolutions in a row are still one linear map: put a LeakyReLU "
            f"(slope {LEAKY_SLOPE}) between them",
        )
    if abs(slope - LEAKY_SLOPE) > 1e-3:
        raise CheckFailed(
            what,
            expected=f"LeakyReLU with negative slope {LEAKY_SLOPE}",
            found=f"slope {slope:.3g}",
            hint=f"nn.LeakyReLU's default slope is 0.01; DCGAN uses {LEAKY_SLOPE}",
        )
    for activation in layers(calls, (nn.LeakyReLU,)):
        if abs(activation.module.negative_slope - LEAKY_SLOPE) > 1e-6:
            raise CheckFailed(
                what,
                expected=f"every LeakyReLU with slope {LEAKY_SLOPE}",
                found=f"{activation.name}: slope {activation.module.negative_slope}",
                hint=f"nn.LeakyReLU's default slope is 0.01; every one in D uses {LEAKY_SLOPE}",
            )
    last = layers(calls)[-1]
    if any(isinstance(s.module, NORMS) for s in calls[calls.index(last) + 1 :]):
        raise CheckFailed(
            what,
            expected="no batch norm on the logit",
            found="a norm after the last convolution",
            hint="a batch norm on the logit forces D's verdicts to average 0 over every batch: "
            "the last layer goes without",
        )

    expect_raw_scores(
        D,
        calls,
        x,
        what,
        expected="raw logits (any real number)",
        hint="remove the sigmoid; the loss (BCE with logits) applies it, more accurately",
    )
    expect_gradients(D, out, what)
    passed(
        what,
        f"(16, 3, {image_size}, {image_size}) -> {tuple(out.shape)} logits, no BN on layer 1, LeakyReLU({LEAKY_SLOPE})",
    )


def generator(Generator: Any, z_dim: int = 100, image_size: int = 32) -> None:
    """A DCGAN generator: z of shape (N, z_dim) to (N, 3, 32, 32) images in [-1, 1]."""
    what = "generator"
    try:
        G, z, out, calls = build_and_trace(
            Generator, lambda: torch.randn(16, z_dim), what, z_dim=z_dim
        )
    except CheckFailed as failure:
        raise _network_error(failure, what, f"z of shape (16, {z_dim})") from None
    out = expect_tensor(
        out,
        f"{what} output",
        shape=(16, 3, image_size, image_size),
        hint="reshape z to (N, z_dim, 1, 1) and upsample 1 -> 4 -> 8 -> 16 -> 32",
    )
    sizes = {
        tuple(s.output.shape[-2:])
        for s in calls
        if isinstance(s.output, torch.Tensor) and s.output.dim() == 4
    }
    if (4, 4) not in sizes:
        raise CheckFailed(
            what,
            expected="a 4x4 feature map as the first stage",
            found=f"spatial sizes {sorted(sizes)}",
            hint="the first transposed convolution (kernel 4, stride 1, padding 0) turns 1x1 into 4x4",
        )
    _expect_batch_norm(calls, what, "after", "the output layer")
    expect_ran(
        calls,
        (nn.ReLU,),
        what,
        expected="nn.ReLU activations in the hidden layers",
        found="no nn.ReLU ran",
        hint="G's hidden layers use ReLU (LeakyReLU is the discriminator's)",
    )
    last = layers(calls)[-1]
    tail = calls[calls.index(last) + 1 :]
    if any(isinstance(s.module, NORMS) for s in tail):
        raise CheckFailed(
            what,
            expected="no batch norm on the output layer",
            found="a norm after the last layer",
            hint="a batch norm there would fix the mean and spread of every colour channel: "
            "the output layer must be free to draw any colour",
        )
    # before the output range: a constant image says nothing about the output activation
    if out.std(dim=0).mean() < 1e-4:
        raise CheckFailed(
            what,
            expected="different images for different z",
            found="the same image for every z",
            hint="feed z through the network instead of a constant",
        )
    expect_tanh_output(G, calls, z, out, what)
    expect_gradients(G, out, what)
    passed(what, f"z (16, {z_dim}) -> 4x4 -> {tuple(out.shape)} images in [-1, 1], BN + ReLU, Tanh")


def weights_init(fn: Callable[..., Any]) -> None:
    """``fn(module)`` used as ``net.apply(fn)``: conv weights N(0, 0.02), BN weights N(1, 0.02), BN bias 0."""
    what = "weights_init"
    if not callable(fn):
        call(fn, what=what)  # raises the standard "not callable" message
    with seeded(0):
        net = nn.Sequential(
            nn.Conv2d(8, 256, 3, bias=False),  # small fan-in: default init is far from 0.02
            nn.BatchNorm2d(4096),
            nn.LeakyReLU(0.2),
            nn.ConvTranspose2d(256, 8, 3, bias=False),
            nn.ReLU(),
            nn.Tanh(),
        )
        with torch.no_grad():
            net[1].bias.fill_(0.5)
        try:
            call(
                net.apply,
                fn,
                what=what,
                hint="fn receives one module at a time, of any kind: check its type first",
            )
        except CheckFailed as failure:
            if "nonetype" in failure.found.lower():
                raise CheckFailed(
                    what,
                    expected=failure.expected,
                    found=f"a convolution without a bias ({failure.found})",
                    hint="a convolution followed by batch norm has no bias (its bias is None): "
                    "initialise only the tensors the module has",
                ) from None
            raise
    for name, weight in [("Conv2d", net[0].weight), ("ConvTranspose2d", net[3].weight)]:
        mean, std = weight.mean().item(), weight.std().item()
        if abs(mean) > 2e-3 or abs(std - INIT_STD) > 2e-3:
            hint = f"both kinds of convolution start from N(0, {INIT_STD}): mean 0, std {INIT_STD}"
            if name == "ConvTranspose2d" and _looks_initialised(net[0].weight):
                hint = (
                    "nn.ConvTranspose2d is not a kind of nn.Conv2d: test for both classes, "
                    "or the generator keeps PyTorch's default init"
                )
            elif abs(mean - INIT_STD) < 2e-3 and abs(std - 1) < 0.05:
                hint = (
                    f"the mean and the standard deviation are swapped: N(0, {INIT_STD}) has "
                    f"mean 0 and std {INIT_STD} (normal_ takes the mean first)"
                )
            elif abs(mean) <= 2e-3 and std > 2 * INIT_STD:
                hint = f"the spread is too wide: std {INIT_STD}, keeping the first updates gentle"
            raise CheckFailed(
                what,
                expected=f"{name} weights ~ N(0, {INIT_STD})",
                found=f"mean {mean:.3g}, std {std:.3g}",
                hint=hint,
            )
    bn = net[1]
    mean, std = bn.weight.mean().item(), bn.weight.std().item()
    if abs(mean - 1) > 2e-3 or abs(std - INIT_STD) > 2e-3:
        hint = (
            f"batch norm's scale starts near 1, N(1, {INIT_STD}): a scale near 0 would silence "
            "the layer"
        )
        if abs(mean - 1) <= 2e-3 and std < 1e-6:
            hint = (
                f"the reference implementations add a little noise to the scale: N(1, {INIT_STD})"
            )
        raise CheckFailed(
            what,
            expected=f"BatchNorm2d weights ~ N(1, {INIT_STD})",
            found=f"mean {mean:.3g}, std {std:.3g}",
            hint=hint,
        )
    if bn.bias.abs().max() > 0:
        raise CheckFailed(
            what,
            expected="BatchNorm2d bias = 0",
            found=f"bias values up to {bn.bias.abs().max():.3g}",
            hint="batch norm's shift starts at exactly 0, so each layer starts centred",
        )
    passed(what, f"conv weights N(0, {INIT_STD}), batch-norm weights N(1, {INIT_STD}), bias 0")


def _looks_initialised(weight: Tensor) -> bool:
    return abs(weight.mean().item()) <= 2e-3 and abs(weight.std().item() - INIT_STD) <= 2e-3


# --------------------------------------------------------------------------- the training step
#: The toy the step is tried on: 6 real images of 3x8x8, a latent of 4 numbers. Other sizes than
#: the notebook's, so a step that uses the notebook's BATCH_SIZE or Z_DIM shows it.
_TOY_IMAGE = (3, 8, 8)
_TOY_BATCH = 6
_TOY_Z = 4
#: (smooth, g_steps) of each call: plain, then label smoothing with two G updates.
_TOY_CALLS = ((1.0, 1), (0.9, 2))
_STEP = "train_step"
_D_STEP = "train_step: D update"
_G_STEP = "train_step: G update"
_PARAMS = ("D", "G", "d_optimizer", "g_optimizer", "z_dim", "smooth", "g_steps")


class _Log:
    """What the toy networks were called on during one call of the step, phase by phase.

    The phase is the number of optimizer steps taken so far in this call: 0 while D learns,
    1 during the first G update, 2 during the second, ...
    """

    def __init__(self) -> None:
        self.phase = 0
        self.d_calls: list[tuple[int, Tensor]] = []  # (phase, input)
        self.g_calls: list[tuple[int, Tensor, Tensor]] = []  # (phase, z, output)

    def fakes(self, x: Tensor, phase: int | None = None) -> Tensor | None:
        """The latents G turned into the images ``x`` (in ``phase``, or any), or None."""
        rows = []
        for image in x.reshape(len(x), -1):
            z = self.made_from(image, phase)
            if z is None:
                return None
            rows.append(z)
        return torch.stack(rows)

    def made_from(self, image: Tensor, phase: int | None) -> Tensor | None:
        for p, z, out in self.g_calls:
            if phase is not None and p != phase:
                continue
            gaps = (out.reshape(len(out), -1) - image).abs().amax(dim=1)
            if gaps.numel() and gaps.min() <= 1e-6:
                return z.reshape(len(z), -1)[int(gaps.argmin())]
        return None


class _ToyD(nn.Module):
    """A small convolutional discriminator (no batch norm: a verdict per image, whatever the
    batch), which logs its inputs."""

    def __init__(self, log: _Log | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, 4, 4, 2, 1), nn.LeakyReLU(LEAKY_SLOPE), nn.Flatten(), nn.Linear(64, 1)
        )
        self.log = log

    def forward(self, x: Tensor) -> Tensor:
        if self.log is not None:
            self.log.d_calls.append((self.log.phase, x.detach().clone()))
        return self.net(x)


class _ToyG(nn.Module):
    """A small generator, z (N, 4) or (N, 4, 1, 1) -> (N, 3, 8, 8) in [-1, 1], which logs."""

    def __init__(self, log: _Log | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(_TOY_Z, 32), nn.ReLU(), nn.Linear(32, 192), nn.Tanh())
        self.log = log

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z.reshape(len(z), -1)).view(-1, *_TOY_IMAGE)
        if self.log is not None:
            self.log.g_calls.append((self.log.phase, z.detach().clone(), out.detach().clone()))
        return out


class _ToyGAN:
    """The toy pair, their SGD optimizers, a real batch, and the checks run at each step."""

    def __init__(self) -> None:
        self.log = _Log()
        self.D, self.G = _ToyD(self.log), _ToyG(self.log)
        self.real = torch.rand(_TOY_BATCH, *_TOY_IMAGE) * 2 - 1
        self.d_optimizer = torch.optim.SGD(self.D.parameters(), lr=0.05)
        self.g_optimizer = torch.optim.SGD(self.G.parameters(), lr=0.05)
        self.watch = StepWatch(
            {"d": self.d_optimizer, "g": self.g_optimizer},
            on_step=self._on_step,
            backward_into=self.G,
            on_reused_graph=self._reused_graph,
        )
        self.smooth, self.g_steps = 1.0, 1
        self.errors: list[CheckFailed] = []
        self.expected: dict[str, float] = {}
        self.left: dict[str, list[Tensor]] = {}  # each network's gradients before its update

    def start(self, smooth: float, g_steps: int) -> None:
        self.smooth, self.g_steps = smooth, g_steps
        self.log.phase, self.log.d_calls, self.log.g_calls = 0, [], []
        self.watch.reset()
        self.errors, self.expected = [], {}
        self.left = {"d": grads(self.D.parameters()), "g": grads(self.G.parameters())}

    def plan(self) -> list[str]:
        return ["d"] + ["g"] * self.g_steps

    def _fresh(self) -> tuple[_ToyD, _ToyG]:
        """Copies of the networks as they are now (before the optimizer step), without a log."""
        D, G = _ToyD(), _ToyG()
        D.load_state_dict(self.D.state_dict())
        G.load_state_dict(self.G.state_dict())
        return D, G

    def _on_step(self, name: str) -> None:
        try:
            self._check_order()
            self._check_d() if name == "d" else self._check_g()
        except CheckFailed as failure:
            self.errors.append(failure)  # raised after the call: the learner's code runs on
        self.left[name] = grads((self.D if name == "d" else self.G).parameters())
        self.log.phase += 1

    def _check_order(self) -> None:
        order, plan = self.watch.order, self.plan()
        if order != plan[: len(order)]:
            raise CheckFailed(
                _STEP,
                expected=_plan_text(self.g_steps),
                found="optimizer steps: " + " -> ".join(order),
                hint=_order_hint(order),
            )

    def _check_d(self) -> None:
        phase = self.log.phase
        # The D loss must leave G alone: G's gradients are those from before the step, or zero.
        g_now = grads(self.G.parameters())
        if not same_grads(g_now, self.left["g"]) and any(g.abs().sum() > 0 for g in g_now):
            raise CheckFailed(
                _D_STEP,
                expected="D's loss to stop at the fakes (no gradient in G)",
                found="D's loss sent gradients into G",
                hint="D's update must not move G: score detached fakes in D's loss",
            )
        real_rows, fake_z, other = 0, [], 0
        real_flat = self.real.reshape(len(self.real), -1)
        for p, x in self.log.d_calls:
            if p != phase:
                continue
            for image in x.reshape(len(x), -1):
                z = self.log.made_from(image, phase)
                if z is not None:
                    fake_z.append(z)
                elif (real_flat - image).abs().amax(dim=1).min() <= 1e-6:
                    real_rows += 1
                else:
                    other += 1
        if other or not real_rows or not fake_z:
            found = (
                "D scored images that are neither the real batch nor G's fakes"
                if other
                else "D never scored the real batch"
                if not real_rows
                else "D never scored images G made in this step"
            )
            raise CheckFailed(
                _D_STEP,
                expected="D scoring the real batch and fakes G made in this step",
                found=found,
                hint="D learns from both kinds of images: its verdict on this real batch and "
                "on as many new fakes from G",
            )
        z = torch.unique(torch.stack(fake_z), dim=0)  # the same fakes scored twice count once
        if len(z) != len(self.real):
            raise CheckFailed(
                _D_STEP,
                expected=f"as many fakes as real images ({len(self.real)})",
                found=f"{len(z)} fakes",
                hint="the batch size comes from the real batch the step is given, not from a "
                "setting of the notebook (the last batch, or a check, may be smaller)",
            )
        D, G = self._fresh()
        real_logits, fake_logits = D(self.real), D(G(z))
        s = self.smooth
        reference = losses.d_loss_bce(real_logits, fake_logits, smooth=s)
        self.expected["d_loss"] = reference.item()
        self.expected["d_real"] = torch.sigmoid(real_logits).mean().item()
        self.expected["d_fake"] = torch.sigmoid(fake_logits).mean().item()
        self.expected["d_real_logit"] = real_logits.mean().item()
        self.expected["d_fake_logit"] = fake_logits.mean().item()
        mistakes = {
            "real images are D's label 1 (or `smooth`) and fakes 0: the two images or the two "
            "targets are swapped": losses.real_loss(fake_logits, s) + losses.fake_loss(real_logits),
            "D returns logits and the course's losses apply the sigmoid themselves: a sigmoid "
            "before the loss squashes twice": losses.d_loss_bce(
                torch.sigmoid(real_logits), torch.sigmoid(fake_logits), smooth=s
            ),
            "D's loss has two halves, one on the real batch and one on the fakes: the fakes' "
            "half is missing": losses.real_loss(real_logits, s),
            "D's loss has two halves, one on the real batch and one on the fakes: the real "
            "half is missing": losses.fake_loss(fake_logits),
        }
        if s != 1.0:
            mistakes = {
                f"label smoothing: D's target for real images is `smooth` ({s}) instead of 1, "
                "so pass smooth on to D's loss": losses.d_loss_bce(real_logits, fake_logits),
                "label smoothing is one-sided: only the real images' target moves to `smooth`, "
                "the fakes keep 0": losses.real_loss(real_logits, s) + bce(fake_logits, 1 - s),
                **mistakes,
            }
        self._stepped_with("d", reference, D, mistakes)

    def _check_g(self) -> None:
        phase = self.log.phase
        seen = [x for p, x in self.log.d_calls if p == phase]
        if not seen:
            raise CheckFailed(
                _G_STEP,
                expected="D scoring G's fakes again after D's update",
                found="no call of D during G's update",
                hint="G learns from the verdict of the updated D: score the fakes with D again "
                "after D's update (the verdict from D's update is out of date)",
            )
        z = self.log.fakes(seen[-1])
        if z is None:
            raise CheckFailed(
                _G_STEP,
                expected="D scoring images that G generated",
                found="D was called on something else during G's update",
                hint="G's loss is D's verdict on G's own fakes",
            )
        D, G = self._fresh()
        logits = D(G(z))
        reference = losses.g_loss_nonsaturating(logits)
        self.expected["g_loss"] = reference.item()
        mistakes = {
            "G wants its fakes called real: its target is 1, the label of real images, not 0": (
                bce(logits, 0.0)
            ),
            "the minimax loss log(1 - D(G(z))) barely moves G while D rejects its fakes: use "
            "the non-saturating loss, -log D(G(z))": losses.g_loss_minimax(logits),
            "D returns logits and the course's losses apply the sigmoid themselves: a sigmoid "
            "before the loss squashes twice": losses.g_loss_nonsaturating(torch.sigmoid(logits)),
        }
        if self.smooth != 1.0:
            mistakes[
                "label smoothing only softens D's target for real images: G's target stays 1"
            ] = bce(logits, self.smooth)
        if phase > 1 and self.log.fakes(seen[-1], phase) is None:
            raise CheckFailed(
                _G_STEP,
                expected=f"G update {phase} on fakes G made after its previous update",
                found="fakes made before G's previous update",
                hint=_FRESH_FAKES,
            )
        self._stepped_with("g", reference, G, mistakes)

    def _stepped_with(
        self, name: str, loss: Tensor, net: nn.Module, mistakes: dict[str, Tensor]
    ) -> None:
        """The optimizer ``name`` stepped with the gradients of ``loss`` for ``net``, named by
        the mistake they match otherwise (lesson 00's table, on gradients)."""
        what = _D_STEP if name == "d" else _G_STEP
        hint = gradient_mistake(
            self.watch.grads[name][-1],
            loss,
            net.parameters(),
            stale=self.left[name],
            no_grads_hint=NO_GRADS[name],
            mistakes=mistakes,
        )
        if hint is None:
            return
        kind = (
            f"d_loss_bce(D(real), D(fake), smooth={self.smooth})"
            if name == "d"
            else "g_loss_nonsaturating(D(fake)) with D after its update"
        )
        raise CheckFailed(
            what,
            expected=f"the gradients of {kind}",
            found=f"other gradients at {name}_optimizer.step()",
            hint=hint,
        )

    def _reused_graph(self, failure: CheckFailed) -> CheckFailed:
        """Autograd refused a graph used twice, or changed by an optimizer step: say which."""
        order = self.watch.order
        if "g" in order:
            hint = _FRESH_FAKES
        elif "d" not in order or self.watch.backward_passes > 0:
            hint = "D's update must not reach G: score detached fakes in D's loss"
        else:
            hint = (
                "D's verdict from before its update was reused for G's loss: score the fakes "
                "with D again after D's update"
            )
        return CheckFailed(
            failure.what,
            expected="each backward through a graph built for it",
            found="a backward through a graph already used, or changed by an optimizer step "
            f"(torch says: {failure.found[:120]} ...)",
            hint=hint,
        )


_FRESH_FAKES = (
    "each of the g_steps updates needs fakes from the G it updates: draw new z and run G "
    "(and D) again for every update"
)


def _order_hint(order: list[str]) -> str:
    if order[:1] == ["g"]:
        return (
            "D learns first: its update ends with a step of D's optimizer, before any of G's "
            "(G then learns against the updated D)"
        )
    if order.count("d") > 1:
        return "D updates once per step; only G's update is repeated, g_steps times"
    return "one step: D learns first (one update), then G takes g_steps updates against it"


def _plan_text(g_steps: int) -> str:
    return "d_optimizer.step() once, then g_optimizer.step() " + (
        "once" if g_steps == 1 else f"{g_steps} times (g_steps={g_steps})"
    )


#: torch errors a step makes on the toy, and the mistake behind each.
def _step_error(failure: CheckFailed, gan: _ToyGAN) -> CheckFailed:
    found = failure.found.lower()
    if "mat1 and mat2" in found or ("shape" in found and "invalid for input" in found):
        mistake = "G got a latent of the wrong size"
        hint = (
            f"draw z with the z_dim the step is given (the toy's is {_TOY_Z}) and as many rows "
            "as real images, not the notebook's Z_DIM or BATCH_SIZE"
        )
    elif "does not require grad" in found:
        mistake = "a loss with no gradient to follow"
        hint = (
            "G's loss must reach G: the fakes of G's update must not be detached or made "
            "under torch.no_grad()"
            if "d" in gan.watch.order
            else "D's loss must reach D: do not detach D's verdicts or compute them under "
            "torch.no_grad()"
        )
    elif "target size" in found or "same size" in found:
        mistake = "a loss given tensors of different shapes"
        hint = "pass the logits D returned straight to the losses of ganlib.losses"
    else:
        return failure
    return CheckFailed(
        failure.what, expected=failure.expected, found=f"{mistake} ({failure.found})", hint=hint
    )


def train_step(step: Callable[..., Any]) -> None:
    """``step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth, g_steps)`` -> dict.

    Runs the step on a toy pair (6 real images of 3x8x8, z_dim 4), first plain, then with label
    smoothing (``smooth=0.9``) and two G updates (``g_steps=2``), called the way ``train.fit``
    calls it. At each optimizer step it checks the gradients against the DCGAN losses of
    ``ganlib.losses``: D learns on the real batch and detached fakes (real target ``smooth``),
    then G takes ``g_steps`` non-saturating updates against the updated D.
    """
    expect_step_signature(step, ["real_images"], _PARAMS, what=_STEP)
    with seeded(0):
        gan = _ToyGAN()
        for smooth, g_steps in _TOY_CALLS:
            expect_trainable(gan.D, "D", _STEP)
            gan.start(smooth, g_steps)
            before_d, before_g = weights(gan.D), weights(gan.G)
            try:
                result = gan.watch.call(
                    step,
                    gan.real,
                    what=_STEP,
                    D=gan.D,
                    G=gan.G,
                    d_optimizer=gan.d_optimizer,
                    g_optimizer=gan.g_optimizer,
                    z_dim=_TOY_Z,
                    smooth=smooth,
                    g_steps=g_steps,
                )
            except CheckFailed as failure:
                raise gan.errors[0] if gan.errors else _step_error(failure, gan) from None
            if gan.errors:
                raise gan.errors[0]
            if gan.watch.order != gan.plan():
                raise CheckFailed(
                    _STEP,
                    expected=_plan_text(g_steps),
                    found="optimizer steps: " + (" -> ".join(gan.watch.order) or "none"),
                    hint="g_steps says how many times G updates after D's one update: repeat "
                    "G's update that many times"
                    if gan.watch.order[:1] == ["d"] and gan.watch.order.count("d") == 1
                    else _order_hint(gan.watch.order),
                )
            expect_updated(_STEP, {"D": (gan.D, before_d), "G": (gan.G, before_g)})
            expect_step_values(
                result,
                gan.expected,
                _STEP,
                hint=_value_hint,
                mistakes=verdict_mistakes(gan.expected),
            )
    passed(
        _STEP,
        "D learns on real + detached fakes (smooth real target), then G takes g_steps "
        "non-saturating updates; values returned",
    )


def _value_hint(key: str) -> str:
    if key.endswith("loss"):
        return "return the value of the loss you stepped with"
    return "return D's mean verdict from D's update"
