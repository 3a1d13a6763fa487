"""Checkers for lesson 03, DCGAN on SVHN: output sizes, the conv blocks, D, G and their init.

The networks are checked by tracing one forward pass (``probes.trace``): which layers ran in which
order, what each one gave, and what the network does when its last layer is blown up.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from . import CheckFailed, call, expect_tensor, passed, seeded
from .probes import (
    LEAKY_SLOPE,
    NORMS,
    LayerCall,
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

__all__ = [
    "conv_output_size",
    "deconv_output_size",
    "conv_block",
    "deconv_block",
    "discriminator",
    "generator",
    "weights_init",
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
            hint="return the size, e.g. `return (size + 2 * padding - kernel_size) // stride + 1`",
        )
    return value


# --------------------------------------------------------------------------- output sizes
def conv_output_size(fn: Callable[..., Any]) -> None:
    """``fn(size, kernel_size, stride, padding)`` gives nn.Conv2d's output size."""
    what = "conv_output_size"
    cases = [(32, 4, 2, 1), (16, 4, 2, 1), (4, 4, 1, 0), (28, 3, 1, 0), (28, 5, 2, 2), (7, 3, 2, 0)]
    for size, k, s, p in cases:
        expected = torch.nn.Conv2d(1, 1, k, s, p)(torch.zeros(1, 1, size, size)).shape[-1]
        found = _int_result(call(fn, size, k, s, p, what=what), what)
        if found != expected:
            hint = "divide with floor division (//), then add 1"
            if math.isclose(found, (size + 2 * p - k) / s + 1):
                hint = "the division must round down: use // instead of /"
            elif found == (size - k) // s + 1:
                hint = "the padding adds 2 * padding pixels (one band on each side)"
            raise CheckFailed(
                what,
                expected=f"{expected} for size={size}, kernel_size={k}, stride={s}, padding={p}",
                found=str(found),
                hint=hint,
            )
    passed(what, "32 -> 16 -> 8 with kernel 4, stride 2, padding 1 (matches nn.Conv2d)")


def deconv_output_size(fn: Callable[..., Any]) -> None:
    """``fn(size, kernel_size, stride, padding, output_padding=0)`` matches nn.ConvTranspose2d."""
    what = "deconv_output_size"
    cases = [(4, 4, 2, 1, 0), (1, 4, 1, 0, 0), (2, 3, 2, 0, 0), (16, 4, 2, 1, 0), (7, 3, 2, 1, 1)]
    for size, k, s, p, op in cases:
        layer = torch.nn.ConvTranspose2d(1, 1, k, s, p, output_padding=op)
        expected = layer(torch.zeros(1, 1, size, size)).shape[-1]
        if op:
            found = call(fn, size, k, s, p, op, what=what)
        else:
            found = call(fn, size, k, s, p, what=what)
        found = _int_result(found, what)
        if found != expected:
            hint = "a transposed convolution runs the size formula backwards: (size - 1) * stride - 2 * padding + kernel_size + output_padding"
            if found == (size - 1) * s + k + op:
                hint = "the padding removes 2 * padding pixels from the output"
            raise CheckFailed(
                what,
                expected=f"{expected} for size={size}, kernel_size={k}, stride={s}, padding={p}, output_padding={op}",
                found=str(found),
                hint=hint,
            )
    passed(
        what, "4 -> 8 -> 16 -> 32 with kernel 4, stride 2, padding 1 (matches nn.ConvTranspose2d)"
    )


# --------------------------------------------------------------------------- helper blocks
def _block(fn: Callable[..., Any], kind: type, what: str, shapes: list) -> None:
    layer_name = kind.__name__
    for kwargs, c_in, c_out, size_in, size_out, bn in shapes:
        with seeded(0):  # the same weights and input on every run
            block = _module(
                call(fn, c_in, c_out, what=what, **kwargs),
                what,
                f"return nn.Sequential(nn.{layer_name}(...), nn.BatchNorm2d(...)) or just the layer",
            )
            x = torch.randn(4, c_in, size_in, size_in)
            block.train()
            out, calls = trace(block, x, what=what)
        expect_tensor(
            out,
            f"{what} output",
            shape=(4, c_out, size_out, size_out),
            hint=f"{what}({c_in}, {c_out}, {_kw(kwargs)}) should map "
            f"{size_in}x{size_in} to {size_out}x{size_out}",
        )
        convs = layers(calls, (kind,))
        if len(convs) != 1:
            raise CheckFailed(
                what,
                expected=f"exactly one nn.{layer_name}",
                found=f"{len(convs)} of them ran",
                hint=f"the block is one nn.{layer_name}, optionally followed by batch norm",
            )
        norms = layers(calls, (nn.BatchNorm2d,))
        if bn and not norms:
            raise CheckFailed(
                what,
                expected=f"batch norm after the convolution when batch_norm=True ({_kw(kwargs)})",
                found="no nn.BatchNorm2d ran",
                hint=f"append nn.BatchNorm2d({c_out}) when batch_norm is true",
            )
        if not bn and norms:
            raise CheckFailed(
                what,
                expected="no batch norm when batch_norm=False",
                found="an nn.BatchNorm2d ran",
                hint="add the batch norm only `if batch_norm:`",
            )
        conv = convs[0]
        reference = conv.output
        if bn:
            if calls.index(norms[0]) < calls.index(conv):
                raise CheckFailed(
                    what,
                    expected="the batch norm after the convolution",
                    found="the batch norm runs first",
                    hint="order: layer, then nn.BatchNorm2d",
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
def _expect_batch_norm(calls: list[LayerCall], what: str, where: str, block: str, but: str) -> None:
    """DCGAN normalises every hidden layer: an nn.BatchNorm2d must have run."""
    expect_ran(
        calls,
        (nn.BatchNorm2d,),
        what,
        expected=f"batch norm {where} the hidden layers",
        found="no nn.BatchNorm2d",
        hint=f"use {block}(..., batch_norm=True) for every layer except {but}",
    )


def discriminator(Discriminator: Any, image_size: int = 32) -> None:
    """A DCGAN discriminator: (N, 3, 32, 32) images to one raw logit each."""
    what = "discriminator"
    D, x, out, calls = build_and_trace(
        Discriminator, lambda: torch.randn(16, 3, image_size, image_size), what
    )
    out = expect_tensor(out, f"{what} output", hint="return one logit per image: x.view(-1, 1)")
    if tuple(out.shape) not in {(16, 1), (16,)}:
        raise CheckFailed(
            what,
            expected="one logit per image, shape (16, 1)",
            found=f"shape {tuple(out.shape)}",
            hint="the last convolution gives (16, 1, 1, 1); flatten it with .view(-1, 1)",
        )

    pools = layers(calls, (nn.MaxPool2d, nn.AvgPool2d, nn.AdaptiveAvgPool2d, nn.AdaptiveMaxPool2d))
    if pools:
        raise CheckFailed(
            what,
            expected="strided convolutions to downsample",
            found=f"{type(pools[0].module).__name__}",
            hint="drop the pooling layers and use nn.Conv2d(..., stride=2)",
        )

    convs = layers(calls)
    if len(convs) < 2:
        raise CheckFailed(
            what, expected="several convolution layers", found=f"{len(convs)} learnable layer(s)"
        )
    first = convs[0]
    after_first = ran_after(calls, first)
    if after_first is not None and isinstance(after_first.module, NORMS):
        raise CheckFailed(
            what,
            expected="no normalisation on the first layer (it sees the raw images)",
            found=f"{type(after_first.module).__name__} right after the first convolution",
            hint="build the first block with batch_norm=False, as in the DCGAN paper",
        )
    _expect_batch_norm(calls, what, "in", "conv", "the first and the last")
    if layers(calls, (nn.ReLU,)):
        raise CheckFailed(
            what,
            expected="LeakyReLU activations in the discriminator",
            found="nn.ReLU",
            hint=f"use nn.LeakyReLU({LEAKY_SLOPE}): a ReLU passes no gradient for negative inputs",
        )
    slope = leaky_slope(first.output, convs[1].input)
    if slope is None:
        raise CheckFailed(
            what,
            expected="first convolution -> LeakyReLU -> next convolution",
            found="something else between the first two convolutions",
            hint=f"put only nn.LeakyReLU({LEAKY_SLOPE}) after the first convolution",
        )
    if abs(slope) < 1e-6:
        raise CheckFailed(
            what,
            expected=f"LeakyReLU with slope {LEAKY_SLOPE}",
            found="slope 0: a ReLU",
            hint=f"use nn.LeakyReLU({LEAKY_SLOPE}) or F.leaky_relu(x, {LEAKY_SLOPE})",
        )
    if abs(slope - 1) < 1e-3:
        raise CheckFailed(
            what,
            expected=f"LeakyReLU({LEAKY_SLOPE}) between the first two convolutions",
            found="no activation: the first convolution feeds the next one directly",
            hint=f"put nn.LeakyReLU({LEAKY_SLOPE}) after the first convolution",
        )
    if abs(slope - LEAKY_SLOPE) > 1e-3:
        raise CheckFailed(
            what,
            expected=f"LeakyReLU with negative slope {LEAKY_SLOPE}",
            found=f"slope {slope:.3g}",
            hint=f"nn.LeakyReLU's default slope is 0.01; pass {LEAKY_SLOPE}",
        )
    for activation in layers(calls, (nn.LeakyReLU,)):
        if abs(activation.module.negative_slope - LEAKY_SLOPE) > 1e-6:
            raise CheckFailed(
                what,
                expected=f"every LeakyReLU with slope {LEAKY_SLOPE}",
                found=f"{activation.name}: slope {activation.module.negative_slope}",
                hint=f"nn.LeakyReLU({LEAKY_SLOPE})",
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
    G, z, out, calls = build_and_trace(Generator, lambda: torch.randn(16, z_dim), what, z_dim=z_dim)
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
    _expect_batch_norm(calls, what, "after", "deconv", "the last")
    expect_ran(
        calls,
        (nn.ReLU,),
        what,
        expected="nn.ReLU activations in the hidden layers",
        found="no nn.ReLU ran",
        hint="put nn.ReLU() after each hidden block (the discriminator is the one with LeakyReLU)",
    )
    last = layers(calls)[-1]
    tail = calls[calls.index(last) + 1 :]
    if any(isinstance(s.module, NORMS) for s in tail):
        raise CheckFailed(
            what,
            expected="no batch norm on the output layer",
            found="a norm after the last layer",
            hint="build the last block with batch_norm=False: the images' colours must stay free",
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
        call(
            net.apply,
            fn,
            what=what,
            hint="fn receives one module at a time; check its type with isinstance",
        )
    for name, weight in [("Conv2d", net[0].weight), ("ConvTranspose2d", net[3].weight)]:
        mean, std = weight.mean().item(), weight.std().item()
        if abs(mean) > 2e-3 or abs(std - INIT_STD) > 2e-3:
            raise CheckFailed(
                what,
                expected=f"{name} weights ~ N(0, {INIT_STD})",
                found=f"mean {mean:.3g}, std {std:.3g}",
                hint="nn.init.normal_(m.weight, 0.0, 0.02) for nn.Conv2d and nn.ConvTranspose2d",
            )
    bn = net[1]
    mean, std = bn.weight.mean().item(), bn.weight.std().item()
    if abs(mean - 1) > 2e-3 or abs(std - INIT_STD) > 2e-3:
        raise CheckFailed(
            what,
            expected=f"BatchNorm2d weights ~ N(1, {INIT_STD})",
            found=f"mean {mean:.3g}, std {std:.3g}",
            hint="nn.init.normal_(m.weight, 1.0, 0.02): the scale starts near 1, not 0",
        )
    if bn.bias.abs().max() > 0:
        raise CheckFailed(
            what,
            expected="BatchNorm2d bias = 0",
            found=f"bias values up to {bn.bias.abs().max():.3g}",
            hint="nn.init.zeros_(m.bias)",
        )
    passed(what, f"conv weights N(0, {INIT_STD}), batch-norm weights N(1, {INIT_STD}), bias 0")
