"""Checkers for lesson 02, batch normalization: BN written by hand, and a classifier using it.

The hand-written BN is compared with ``nn.BatchNorm1d`` on the same batches in both modes:
outputs, gradients and (through eval mode) the running statistics. When the running statistics
are off, the checker replays the usual mistakes (biased variance, momentum the wrong way round,
no update at all) to name the one made.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from . import CheckFailed, build, call, expect_close, expect_tensor, passed, seeded
from .probes import layers, trace

__all__ = ["batch_norm", "classifier"]


def _scale_and_shift(bn: nn.Module, features: int, what: str) -> tuple[nn.Parameter, nn.Parameter]:
    """Find the learnable scale (starts at 1) and shift (starts at 0) among the parameters."""
    params = [p for p in bn.parameters() if p.shape == (features,)]
    ones = [p for p in params if torch.equal(p.detach(), torch.ones(features))]
    zeros = [p for p in params if torch.equal(p.detach(), torch.zeros(features))]
    if len(params) != 2 or len(ones) != 1 or len(zeros) != 1:
        raise CheckFailed(
            what + ": learnable parameters",
            expected=f"two nn.Parameters of shape ({features},): a scale of ones and a shift of zeros",
            found=f"{len(params)} parameter(s) of shape ({features},)"
            + (f", {len(ones)} of ones, {len(zeros)} of zeros" if params else ""),
            hint="self.weight = nn.Parameter(torch.ones(num_features)); self.bias = nn.Parameter(torch.zeros(num_features))",
        )
    return ones[0], zeros[0]


def _replay(
    batches: list[Tensor], momentum: float, *, unbiased: bool, flip: bool
) -> tuple[Tensor, Tensor]:
    """Running mean/var after ``batches`` under one (possibly wrong) update rule."""
    mean, var = torch.zeros(batches[0].shape[1]), torch.ones(batches[0].shape[1])
    for x in batches:
        m = momentum if not flip else 1 - momentum
        mean = (1 - m) * mean + m * x.mean(0)
        var = (1 - m) * var + m * x.var(0, unbiased=unbiased)
    return mean, var


def batch_norm(cls_or_module: Any, num_features: int = 6) -> None:
    """Batch norm for (N, C) inputs: batch statistics in train(), running ones in eval()."""
    what = "batch norm"
    bn = build(cls_or_module, num_features, what=what)
    ref = nn.BatchNorm1d(num_features)
    scale, shift = _scale_and_shift(bn, num_features, what)
    with seeded(0), torch.no_grad():
        scale.copy_(torch.rand(num_features) + 0.5)
        shift.copy_(torch.randn(num_features))
        ref.weight.copy_(scale)
        ref.bias.copy_(shift)
        batches = [3 + 2 * torch.randn(16, num_features) for _ in range(3)]

    bn.train()
    ref.train()
    for i, x in enumerate(batches):
        case = f"{what} in train mode (batch {i + 1})"
        xin = x.clone().requires_grad_(True)
        out = expect_tensor(
            call(bn, xin, what=case),
            case,
            shape=tuple(x.shape),
            hint="return a tensor shaped like the input",
        )
        xref = x.clone().requires_grad_(True)
        expected = ref(xref)
        hint = "normalise with the batch mean and biased variance: (x - mean) / sqrt(var + eps), then scale and shift"
        if torch.allclose(
            out, (x - x.mean(0)) / (x.var(0) + ref.eps).sqrt() * scale + shift, atol=1e-5
        ):
            hint = "in the normalisation use the biased variance (unbiased=False); only running_var is unbiased"
        elif torch.allclose(out, x * scale + shift, atol=1e-5) or torch.allclose(out, x, atol=1e-5):
            hint = "in train mode, normalise with the statistics of this batch"
        expect_close(out.detach(), expected.detach(), case, atol=1e-4, hint=hint)
        weights = torch.randn_like(x)
        call((out * weights).sum().backward, what=case)
        (expected * weights).sum().backward()
        if xin.grad is None:
            raise CheckFailed(
                case, expected="gradients reaching the input", found="none", hint="do not detach x"
            )
        expect_close(
            xin.grad,
            xref.grad,
            case + ": gradient to the input",
            atol=1e-4,
            hint="compute mean and var from x with torch ops and keep them in the graph (no .detach(), no torch.no_grad())",
        )
        if scale.grad is None or shift.grad is None:
            raise CheckFailed(
                case,
                expected="gradients for the scale and the shift",
                found="none",
                hint="use both in forward()",
            )

    bn.eval()
    ref.eval()
    with seeded(1):
        probe = 3 + 2 * torch.randn(5, num_features)
    with torch.no_grad():
        out = expect_tensor(
            call(bn, probe, what=what + " in eval mode"),
            what + " in eval mode",
            shape=tuple(probe.shape),
        )
        expected = ref(probe)
    if not torch.allclose(out, expected, atol=1e-4):
        hint = "in eval mode normalise with running_mean and running_var, updated in every train-mode call"
        for (unbiased, flip), mistake in {
            (
                False,
                False,
            ): "update running_var with the unbiased variance x.var(0, unbiased=True), as PyTorch does",
            (
                True,
                True,
            ): "momentum weighs the NEW statistic: running = (1 - momentum) * running + momentum * batch",
            (
                False,
                True,
            ): "momentum weighs the NEW statistic, and running_var uses the unbiased variance",
        }.items():
            mean, var = _replay(batches, ref.momentum, unbiased=unbiased, flip=flip)
            if torch.allclose(
                out,
                (probe - mean) / (var + ref.eps).sqrt() * scale.detach() + shift.detach(),
                atol=1e-4,
            ):
                hint = mistake
        if torch.allclose(
            out,
            (probe - probe.mean(0))
            / (probe.var(0, unbiased=False) + ref.eps).sqrt()
            * scale.detach()
            + shift.detach(),
            atol=1e-4,
        ):
            hint = "eval mode must not use the batch's statistics: check self.training and use the running ones"
        expect_close(
            out, expected, what + " in eval mode (running statistics)", atol=1e-4, hint=hint
        )
    with torch.no_grad():
        single = call(bn, probe[:1], what=what + " in eval mode, batch of one")
    expect_close(single, expected[:1], what + " in eval mode, batch of one", atol=1e-4)
    if len(list(bn.buffers())) < 2:
        raise CheckFailed(
            what + ": running statistics",
            expected="running_mean and running_var registered as buffers",
            found=f"{len(list(bn.buffers()))} buffer(s)",
            hint="self.register_buffer('running_mean', torch.zeros(num_features)) so .to(device) and state_dict() include it",
        )
    passed(what, "matches nn.BatchNorm1d in train and eval mode, running statistics included")


def _standardised(x: Tensor) -> Tensor:
    """``x`` normalised per feature with the batch statistics, as BN does before its affine step."""
    return (x - x.mean(0)) / (x.var(0, unbiased=False) + 1e-5).sqrt()


def _layout_mistake(pre: Tensor, post: Tensor, use_bn: bool) -> tuple[str, str, str] | None:
    """What is wrong between two linear layers, as (expected, found, hint); None if nothing.

    ``pre`` is one linear layer's output, ``post`` the next one's input. Like lesson 00's table of
    mistakes, ``post`` is compared with what each wrong layout would make of ``pre``.
    """
    relu = pre.clamp(min=0)
    if not use_bn:
        if torch.allclose(post, relu, atol=1e-5):
            return None
        return (
            "Linear -> ReLU",
            "something else between the linear layers",
            "with batch_norm=False: nn.Linear, nn.ReLU()",
        )
    wrong_layouts = [  # (what post would be, tolerance, expected, found, hint)
        (
            relu,
            1e-5,
            "Linear -> BN -> ReLU",
            "no batch norm",
            "with batch_norm=True add BN after each hidden nn.Linear",
        ),
        (
            _standardised(relu),
            1e-3,
            "BN before the activation: Linear -> BN -> ReLU",
            "Linear -> ReLU -> BN",
            "normalise the pre-activations, then apply ReLU",
        ),
    ]
    for value, atol, expected, found, hint in wrong_layouts:
        if torch.allclose(post, value, atol=atol):
            return expected, found, hint
    if torch.allclose(post, _standardised(pre).clamp(min=0), atol=1e-3):
        return None
    return (
        "Linear -> BN -> ReLU",
        "a different computation",
        "nn.Linear(..., bias=False), then BN, then nn.ReLU()",
    )


def classifier(cls_or_module: Any) -> None:
    """``Classifier(batch_norm)``: Linear -> [BN] -> ReLU per hidden layer, 10 logits out."""
    what = "classifier"
    with seeded(0):
        x = torch.rand(32, 1, 28, 28) * 2 - 1
        for use_bn in (False, True):
            case = f"{what} (batch_norm={use_bn})"
            model = build(cls_or_module, batch_norm=use_bn, what=case).train()
            out, calls = trace(model, x, what=case)
            records = [(c.input, c.output) for c in layers(calls, (nn.Linear,))]
            expect_tensor(
                out,
                case + " output",
                shape=(32, 10),
                hint="flatten the images and end with nn.Linear(hidden, 10)",
            )
            if len(records) < 2:
                raise CheckFailed(
                    case, expected="at least two nn.Linear layers", found=f"{len(records)}"
                )
            if not torch.allclose(out.detach(), records[-1][1], atol=1e-6):
                raise CheckFailed(
                    case + " output",
                    expected="the last linear layer's logits, unchanged",
                    found="something applied after the last nn.Linear",
                    hint="no BN, activation or softmax after the output layer: CrossEntropyLoss takes logits",
                )
            linears = layers(calls, (nn.Linear,))
            for i, ((_, pre), (post, _)) in enumerate(zip(records, records[1:], strict=False)):
                layer = f"{case}: hidden layer {i + 1}"
                mistake = _layout_mistake(pre, post, use_bn)
                if mistake is not None:
                    expected, found, hint = mistake
                    raise CheckFailed(layer, expected=expected, found=found, hint=hint)
                if use_bn and linears[i].module.bias is not None:
                    raise CheckFailed(
                        layer,
                        expected="no bias in a linear layer followed by BN",
                        found="a bias",
                        hint="nn.Linear(in, out, bias=False): BN subtracts the mean, which cancels any bias, and its shift takes the bias's role",
                    )
    passed(
        what,
        "Linear -> BN -> ReLU (no bias before BN), 10 logits out; plain Linear -> ReLU without BN",
    )
