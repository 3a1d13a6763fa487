"""Probes the lessons share: what a learner's network does when it runs, and what a loss returns.

Network probes run a module once under forward hooks (:func:`trace`) and read the record: which
layers ran and in which order (:func:`layers`), the slope of the activation between two of them
(:func:`leaky_slope`), whether the output ends in a Tanh or in raw scores
(:func:`expect_tanh_output`, :func:`expect_raw_scores`, both by blowing up the last layer with
:func:`scaled_copy`), and whether every parameter gets a gradient (:func:`expect_gradients`).

Loss probes give a loss checker its inputs (:func:`random_logits`), the binary cross-entropy its
mistakes are made of (:func:`bce`), and the checks every loss must pass: one number
(:func:`expect_scalar`) still connected to its inputs (:func:`expect_connected`).

A probe that words a failure differently in different lessons takes the lesson's words as
arguments (``expected=``, ``hint=``); the mechanism stays here.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import CheckFailed, build, call, expect_tensor, seeded

__all__ = [
    "LEAKY_SLOPE",
    "LEARNABLE",
    "NORMS",
    "LayerCall",
    "trace",
    "build_and_trace",
    "layers",
    "ran_after",
    "expect_ran",
    "scaled_copy",
    "leaky_slope",
    "expect_gradients",
    "expect_pixel_range",
    "expect_tanh_output",
    "expect_raw_scores",
    "bce",
    "random_logits",
    "expect_scalar",
    "expect_connected",
    "call_explained",
]

#: The negative slope of every LeakyReLU in the course (DCGAN, CycleGAN, the MLP GAN).
LEAKY_SLOPE = 0.2
#: The layers with learnable weights whose order a trace reads.
LEARNABLE = (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
#: The normalisation layers a learner might put where none belongs.
NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.InstanceNorm2d, nn.GroupNorm, nn.LayerNorm)


# --------------------------------------------------------------------------- tracing a network
@dataclass(eq=False)  # found again in a trace by identity (list.index), not by value
class LayerCall:
    """One leaf module that ran during a forward pass, with copies of what went in and came out."""

    name: str
    module: nn.Module
    input: Any
    output: Any


def trace(
    net: nn.Module, *inputs: Tensor, what: str, hint: str = ""
) -> tuple[Any, list[LayerCall]]:
    """Run ``net`` once and return its output and the leaf modules in the order they ran."""
    calls: list[LayerCall] = []
    handles = [
        module.register_forward_hook(_recorder(calls, name))
        for name, module in net.named_modules()
        if not list(module.children())
    ]
    try:
        out = call(net, *inputs, what=what, hint=hint)
    finally:
        for handle in handles:
            handle.remove()
    return out, calls


def build_and_trace(
    cls_or_module: Any,
    make_input: Callable[[], Tensor],
    what: str,
    *,
    args: tuple = (),
    hint: str = "",
    **kwargs: Any,
) -> tuple[nn.Module, Tensor, Any, list[LayerCall]]:
    """Build the learner's network (``args``, ``kwargs``) and trace it once in train mode.

    Under a fixed seed, so the weights and the input (``make_input()``) are the same on every
    run: a verdict must not be luck. Returns the network, the input, the output and the trace.
    """
    with seeded(0):
        net = build(cls_or_module, *args, what=what, **kwargs)
        net.train()
        x = make_input()
        out, calls = trace(net, x, what=what, hint=hint)
    return net, x, out, calls


def _recorder(calls: list[LayerCall], name: str) -> Callable[..., None]:
    def hook(module: nn.Module, args: tuple, output: Any) -> None:
        # copies, because an in-place activation (inplace=True) would overwrite what we saw
        calls.append(LayerCall(name, module, _copy(args[0] if args else None), _copy(output)))

    return hook


def _copy(value: Any) -> Any:
    return value.detach().clone() if isinstance(value, Tensor) else value


def layers(calls: list[LayerCall], kinds: tuple[type, ...] = LEARNABLE) -> list[LayerCall]:
    """The calls whose module is one of ``kinds`` (by default the learnable layers)."""
    return [c for c in calls if isinstance(c.module, kinds)]


def ran_after(calls: list[LayerCall], call: LayerCall) -> LayerCall | None:
    """The leaf module that ran right after ``call`` (None if it was the last)."""
    i = calls.index(call) + 1
    return calls[i] if i < len(calls) else None


def expect_ran(
    calls: list[LayerCall],
    kinds: tuple[type, ...],
    what: str,
    *,
    expected: str,
    found: str,
    hint: str,
) -> None:
    """Check that a layer of one of ``kinds`` ran in the traced forward pass."""
    if not layers(calls, kinds):
        raise CheckFailed(what, expected=expected, found=found, hint=hint)


def scaled_copy(net: nn.Module, calls: list[LayerCall], factor: float, what: str) -> nn.Module:
    """A copy of ``net`` whose last learnable layer is ``factor`` times larger.

    Blowing up the last layer shows what the network does to large values: a final Tanh keeps
    them in [-1, 1], a Sigmoid keeps them in [0, 1], a plain logit lets them through.
    """
    last = layers(calls)
    if not last:
        raise CheckFailed(
            what,
            expected="convolution (or linear) layers as nn.Module attributes",
            found="no nn.Conv2d, nn.ConvTranspose2d or nn.Linear ran in forward",
            hint="build the layers in __init__ (e.g. inside nn.Sequential) and use them in forward",
        )
    twin = call(copy.deepcopy, net, what=what)
    layer = twin.get_submodule(last[-1].name)
    with torch.no_grad():
        layer.weight.mul_(factor)
        if getattr(layer, "bias", None) is not None:
            layer.bias.mul_(factor)
    return twin


def leaky_slope(before: Tensor, after: Tensor) -> float | None:
    """The slope an elementwise activation applied to negative values (None if not elementwise)."""
    if not isinstance(after, Tensor) or before.shape != after.shape:
        return None
    before, after = before.detach(), after.detach()
    positive = before > 1e-3
    negative = before < -1e-3
    if positive.sum() < 10 or negative.sum() < 10:
        return None
    if not torch.allclose(after[positive], before[positive], atol=1e-4, rtol=1e-3):
        return None  # positive values changed: not a (leaky) ReLU straight after the layer
    ratios = after[negative] / before[negative]
    slope = ratios.median().item()
    if not torch.allclose(ratios, torch.full_like(ratios, slope), atol=1e-3):
        return None
    return slope


# --------------------------------------------------------------------------- what comes out
def expect_gradients(
    net: nn.Module,
    out: Tensor,
    what: str,
    *,
    expected: str = "a gradient for every parameter",
    hint: str = "every layer built in __init__ must be used in forward (no .detach() inside)",
) -> None:
    """Backpropagate from ``out = net(x)`` and check that every parameter received a gradient.

    A parameter whose gradient is missing or exactly zero everywhere took no part in ``out``.
    """
    loss = out.float().pow(2).mean()
    net.zero_grad(set_to_none=True)
    call(loss.backward, what=what, hint="keep the output connected to the layers")
    missing = [
        name
        for name, p in net.named_parameters()
        if p.requires_grad and (p.grad is None or not p.grad.abs().sum() > 0)
    ]
    net.zero_grad(set_to_none=True)
    if missing:
        raise CheckFailed(
            what,
            expected=expected,
            found=f"no gradient for {', '.join(missing[:4])}"
            + (" ..." if len(missing) > 4 else ""),
            hint=hint,
        )


def expect_pixel_range(
    out: Tensor,
    what: str,
    *,
    expected: str = "pixels in [-1, 1]",
    hint: str = "finish with nn.Tanh()",
) -> None:
    """Check that a generator's images stay in [-1, 1], the range of the scaled training images."""
    if out.min() < -1 - 1e-5 or out.max() > 1 + 1e-5:
        found = f"range [{out.min():.3g}, {out.max():.3g}]"
        raise CheckFailed(what, expected=expected, found=found, hint=hint)


def expect_tanh_output(
    net: nn.Module, calls: list[LayerCall], inputs: Tensor, out: Tensor, what: str
) -> None:
    """Check that a generator's output is in [-1, 1] from a Tanh, whatever the size of its inputs.

    ``out`` is ``net(inputs)`` and ``calls`` its trace. A copy with the last layer scaled up
    shows the activation: a Sigmoid or ReLU gives no negative values, no activation lets values
    past 1 through, and a Hardtanh (or a clamp) equals the last layer's output cut at -1 and 1.
    """
    expect_pixel_range(out, what)
    with seeded(0):
        big = call(scaled_copy(net, calls, 1000.0, what), inputs, what=what)
    if not isinstance(big, Tensor):
        return
    if big.min() >= -1e-6:
        raise CheckFailed(
            what,
            expected="pixels in [-1, 1] (Tanh)",
            found="no negative values: a sigmoid or ReLU at the end",
            hint="finish with nn.Tanh(), like the real images scaled to [-1, 1]",
        )
    if big.abs().max() > 1 + 1e-5:
        raise CheckFailed(
            what,
            expected="a Tanh that keeps every pixel in [-1, 1]",
            found=f"values up to {big.abs().max():.3g} when the last layer is scaled up",
            hint="finish with nn.Tanh()",
        )
    before = layers(calls)[-1].output
    if (
        isinstance(before, Tensor)
        and before.shape == out.shape
        and torch.allclose(out, before.clamp(-1, 1), atol=1e-6)
        and not torch.allclose(out, torch.tanh(before), atol=1e-4)
    ):
        raise CheckFailed(
            what,
            expected="a Tanh: a smooth squash into [-1, 1]",
            found="the last layer's output cut off at -1 and 1 (nn.Hardtanh or clamp)",
            hint="finish with nn.Tanh(): a clipped pixel passes no gradient back to the generator",
        )


def expect_raw_scores(
    net: nn.Module, calls: list[LayerCall], inputs: Tensor, what: str, expected: str, hint: str
) -> None:
    """Check that a discriminator ends without a sigmoid: scaled up, its scores leave [0, 1]."""
    with seeded(0):
        big = call(scaled_copy(net, calls, 1000.0, what), inputs, what=what)
    if isinstance(big, Tensor) and big.min() >= 0 and big.max() <= 1:
        raise CheckFailed(
            what, expected=expected, found="outputs stay in [0, 1]: a sigmoid at the end", hint=hint
        )


# --------------------------------------------------------------------------- losses
def bce(logits: Tensor, label: float) -> Tensor:
    """Binary cross-entropy of ``logits`` against one ``label`` for all (the batch mean)."""
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, label))


def random_logits(n: int, seed: int, scale: float = 2.0) -> Tensor:
    """``n`` logits of shape (n, 1), spread like a discriminator's, the same for a given seed."""
    with seeded(seed):
        return scale * torch.randn(n, 1)


def expect_scalar(
    value: Any,
    what: str,
    *,
    hint: str,
    expected: str = "one number (a 0-d tensor)",
    mean_hint: str = "",
) -> Tensor:
    """Check that a loss function returned one number as a tensor, and return it as a 0-d tensor.

    ``hint`` is shown when ``value`` is not a tensor, ``mean_hint`` when it holds several numbers.
    """
    loss = expect_tensor(value, what, hint=hint)
    if loss.numel() != 1:
        raise CheckFailed(
            what, expected=expected, found=f"shape {tuple(loss.shape)}", hint=mean_hint
        )
    return loss.reshape(())


def expect_connected(loss: Tensor, what: str, *, expected: str) -> None:
    """Check that ``loss`` still has a graph back to its inputs (no .item(), .detach(), numpy)."""
    if not loss.requires_grad:
        raise CheckFailed(
            what,
            expected=expected,
            found="a loss cut off from its inputs (no grad_fn)",
            hint="compute it with torch operations on the logits: no .item(), .detach() or numpy",
        )


# --------------------------------------------------------------------------- torch's errors
def call_explained(
    fn: Callable[..., Any],
    *args: Any,
    what: str,
    explain: dict[str, tuple[str, str]],
    **kwargs: Any,
) -> Any:
    """Run learner code like :func:`call`, and translate torch's error for a known mistake.

    ``explain`` maps a fragment of torch's message (any case) to ``(mistake, hint)``: the mistake
    that makes torch say it, and the idea that fixes it. The first fragment found in the error
    gives the failure's ``found`` (the mistake, then torch's words, so the learner can match it
    with the traceback) and its ``hint``; an error no fragment matches fails as in :func:`call`.
    """
    try:
        return call(fn, *args, what=what, **kwargs)
    except CheckFailed as failure:
        for fragment, (mistake, hint) in explain.items():
            if fragment.lower() in failure.found.lower():
                raise CheckFailed(
                    what,
                    expected=failure.expected,
                    found=f"{mistake} (torch says: {failure.found})",
                    hint=hint,
                ) from None
        raise
