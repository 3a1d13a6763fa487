"""Checkers for lesson 02, batch normalization: BN written by hand (for vectors and for images),
and a classifier using it.

The hand-written BN is compared with ``nn.BatchNorm1d`` (``nn.BatchNorm2d`` for images) on the
same batches in both modes: outputs, gradients and (through eval mode) the running statistics.
When something is off, the checker replays the usual mistakes (biased variance, momentum the
wrong way round, no epsilon, statistics over the wrong dimensions, ...) to name the one made.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from . import CheckFailed, build, call, expect_close, expect_tensor, passed, seeded
from .probes import call_explained, layers, trace

__all__ = ["batch_norm", "batch_norm_2d", "classifier"]

EPS, MOMENTUM = 1e-5, 0.1  # PyTorch's defaults, and the lesson's
_RUNNING = ("running_mean", "running_var")

#: torch's complaints when per-feature (per-channel) values meet a batch the wrong way.
_SHAPE_ERRORS = {
    "must match the size of tensor": (
        "a per-feature value met the batch along the wrong dimension",
        "the statistics, the scale and the shift hold one value per feature (per channel for "
        "images): they must line up with the feature dimension, dimension 1",
    ),
    "doesn't match the broadcast shape": (
        "batch statistics of a different shape from the running ones",
        "average over every dimension except the features (channels), so each statistic has one "
        "value per feature, shaped like running_mean",
    ),
    "in-place operation": (
        "the input was changed in place",
        "leave the input as it is: compute the normalised output as a new tensor",
    ),
    "expected 2d or 3d input": (
        "the batch norm for vectors given images",
        "images (N, C, H, W) are normalised per channel over N, H and W: every pixel of every "
        "image is one example of its channel",
    ),
    "expected 4d input": (
        "the batch norm for images given vectors",
        "vectors (N, C) are normalised per feature over the batch",
    ),
    "view size is not compatible": (
        "a permuted tensor viewed with a new shape",
        "moving dimensions leaves the data where it is in memory, so a view cannot regroup it: "
        "reshape, which copies when it must",
    ),
}


# --------------------------------------------------------------------------- what BN should do
def _normalise(x: Tensor, mean: Tensor, var: Tensor, eps: float = EPS) -> Tensor:
    """(x - mean) / sqrt(var + eps), the statistics taken per feature (dim 1) of ``x``."""
    shape = (1, -1) + (1,) * (x.dim() - 2)
    return (x - mean.reshape(shape)) / (var.reshape(shape) + eps).sqrt()


def _affine(y: Tensor, scale: Tensor, shift: Tensor) -> Tensor:
    shape = (1, -1) + (1,) * (y.dim() - 2)
    return y * scale.reshape(shape) + shift.reshape(shape)


def _dims(x: Tensor) -> tuple[int, ...]:
    """The dimensions BN averages over: all but the features (channels), dim 1."""
    return (0, *range(2, x.dim()))


def _batch_stats(x: Tensor, *, unbiased: bool = False) -> tuple[Tensor, Tensor]:
    return x.mean(_dims(x)), x.var(_dims(x), unbiased=unbiased)


def _replay(
    batches: list[Tensor],
    *,
    unbiased: bool = True,
    flip: bool = False,
    start_var: float = 1.0,
) -> tuple[Tensor, Tensor]:
    """Running mean/var after ``batches`` under one (possibly wrong) update rule."""
    channels = batches[0].shape[1]
    mean, var = torch.zeros(channels), torch.full((channels,), start_var)
    m = 1 - MOMENTUM if flip else MOMENTUM
    for x in batches:
        batch_mean, batch_var = _batch_stats(x, unbiased=unbiased)
        mean = (1 - m) * mean + m * batch_mean
        var = (1 - m) * var + m * batch_var
    return mean, var


#: Wrong ways to keep the running statistics: (replay settings, the hint naming the mistake).
_RUNNING_MISTAKES = [
    (
        {"unbiased": False},
        "running_var is updated with the biased variance: PyTorch keeps the unbiased one "
        "(divided by n - 1) in running_var, and normalises the batch with the biased one",
    ),
    (
        {"flip": True},
        "momentum weighs the NEW statistic: each update keeps 1 - momentum of the running value "
        "and adds momentum times the batch's",
    ),
    (
        {"flip": True, "unbiased": False},
        "momentum weighs the NEW statistic, and running_var keeps the unbiased variance",
    ),
    (
        {"start_var": 0.0},
        "running_var starts at 1, not 0: before any training the layer should leave its "
        "inputs unscaled",
    ),
]


# --------------------------------------------------------------------------- structure
def _running_buffers(bn: nn.Module, what: str) -> dict[str, Tensor]:
    """The module's running_mean and running_var, which must be buffers."""
    params = dict(bn.named_parameters())
    buffers = dict(bn.named_buffers())
    for name in _RUNNING:
        if name in params:
            raise CheckFailed(
                what + ": running statistics",
                expected=f"{name} registered as a buffer",
                found=f"{name} is a learnable nn.Parameter",
                hint="the running statistics are averages the layer keeps, not weights the "
                "optimizer should change: register them as buffers (saved with the model, moved "
                "by .to(device), never trained)",
            )
        if name not in buffers:
            plain = isinstance(getattr(bn, name, None), Tensor)
            raise CheckFailed(
                what + ": running statistics",
                expected="running_mean and running_var registered as buffers",
                found=f"{name} is a plain tensor attribute" if plain else f"no buffer {name}",
                hint="register them as buffers: a plain attribute is not saved with the model's "
                "state and stays behind when the model moves to another device"
                if plain
                else "eval mode needs running averages of the mean and variance, kept as "
                "buffers named running_mean and running_var (PyTorch's names)",
            )
    return {name: buffers[name] for name in _RUNNING}


def _scale_and_shift(bn: nn.Module, features: int, what: str) -> tuple[nn.Parameter, nn.Parameter]:
    """Find the learnable scale (starts at 1) and shift (starts at 0) among the parameters."""
    params = [p for p in bn.parameters() if p.shape == (features,)]
    ones = [p for p in params if torch.equal(p.detach(), torch.ones(features))]
    zeros = [p for p in params if torch.equal(p.detach(), torch.zeros(features))]
    if len(params) == 2 and len(ones) == 1 and len(zeros) == 1:
        return ones[0], zeros[0]
    other_shapes = sorted({tuple(p.shape) for p in bn.parameters()} - {(features,)})
    if len(params) < 2 and other_shapes:
        found = f"parameters of shape {', '.join(map(str, other_shapes))}"
        hint = f"one scale and one shift per feature: two vectors of shape ({features},)"
    elif len(params) == 2:
        found = f"{len(ones)} starting at ones, {len(zeros)} at zeros"
        hint = "the scale starts at 1 and the shift at 0, so that a new BN layer only normalises"
    else:
        found = f"{len(params)} parameter(s) of shape ({features},)"
        hint = "exactly two learnable vectors, one value per feature: a scale and a shift"
    raise CheckFailed(
        what + ": learnable parameters",
        expected=f"two nn.Parameters of shape ({features},): a scale of ones and a shift of zeros",
        found=found,
        hint=hint,
    )


def _no_history(running: dict[str, Tensor], what: str) -> None:
    """Running statistics must not keep autograd history (the no_grad / detach mistake)."""
    kept = [name for name, t in running.items() if t.requires_grad or t.grad_fn is not None]
    if kept:
        raise CheckFailed(
            what + ": running statistics",
            expected="running averages with no autograd history",
            found=f"{' and '.join(kept)} require gradients: each update links them to the "
            "batch's graph",
            hint="the running averages are bookkeeping, not part of the computation to "
            "differentiate: update them with gradient tracking off. Otherwise every batch's "
            "graph stays alive (memory grows), copying the model fails, and backward in eval "
            "mode runs into freed graphs",
        )


# --------------------------------------------------------------------------- the shared check
def _train_hint(x: Tensor, out: Tensor, scale: Tensor, shift: Tensor) -> str:
    """Name the mistake a wrong train-mode output matches (the default hint if none)."""

    def per_feature(t: Tensor) -> Tensor:  # (C,) lined up with the features of x
        return t.reshape((1, -1) + (1,) * (x.dim() - 2))

    mean, var = _batch_stats(x)
    x_hat = _normalise(x, mean, var)
    eps_outside = (x - per_feature(mean)) / (per_feature(var).sqrt() + EPS)
    example_mean = x.mean(1, keepdim=True)
    example_var = x.var(1, keepdim=True, unbiased=False)
    candidates = [
        (
            _affine(_normalise(x, mean, _batch_stats(x, unbiased=True)[1]), scale, shift),
            "normalise with the biased variance (divided by n); only running_var keeps the "
            "unbiased one",
        ),
        (
            _affine(eps_outside, scale, shift),
            "eps goes under the square root, added to the variance",
        ),
        (x_hat, "after normalising, scale by the learnable scale and add the learnable shift"),
        (_affine(x_hat, scale, torch.zeros_like(shift)), "after scaling, add the learnable shift"),
        (
            (x_hat + per_feature(shift)) * per_feature(scale),
            "scale first, then shift: y = scale * x_hat + shift",
        ),
        (
            _affine((x - example_mean) / (example_var + EPS).sqrt(), scale, shift),
            "the statistics are per feature, over the examples of the batch (dimension 0), not "
            "per example over its features",
        ),
        (_affine(x, scale, shift), "in train mode, normalise with the statistics of this batch"),
        (x, "in train mode, normalise with the statistics of this batch"),
    ]
    for value, hint in candidates:
        if value.shape == out.shape and torch.allclose(out, value, atol=1e-4, rtol=1e-4):
            return hint
    return (
        "normalise with the batch mean and biased variance, (x - mean) / sqrt(var + eps), then "
        "scale and shift"
    )


def _check_batch_norm(
    bn: nn.Module,
    ref: nn.Module,
    batches: list[Tensor],
    flat_batch: Tensor,
    probe: Tensor,
    what: str,
    extra_hint: Callable[[Tensor, Tensor, Tensor, Tensor], str | None] | None = None,
) -> None:
    """Compare ``bn`` with the reference ``ref`` in train mode on ``batches``, then on the
    ``flat_batch`` (a constant feature and a tiny spread: eps must be there), then in eval mode
    on ``probe``. ``extra_hint(x, out, scale, shift)`` may name a mistake of its own for a wrong
    train-mode output."""
    features = ref.num_features
    _running_buffers(bn, what)
    scale, shift = _scale_and_shift(bn, features, what)
    with seeded(0), torch.no_grad():
        scale.copy_(torch.rand(features) + 0.5)
        shift.copy_(torch.randn(features))
        ref.weight.copy_(scale)
        ref.bias.copy_(shift)
        upstream = [torch.randn_like(x) for x in batches]  # the gradient arriving from above
    bn.train()
    ref.train()
    for i, (x, weights) in enumerate(zip(batches, upstream, strict=True)):
        case = f"{what} in train mode (batch {i + 1})"
        xin = x.clone().requires_grad_(True)
        out = expect_tensor(
            call_explained(bn, xin, what=case, explain=_SHAPE_ERRORS),
            case,
            shape=tuple(x.shape),
            hint="return the normalised batch, shaped like the input",
        )
        xref = x.clone().requires_grad_(True)
        expected = ref(xref)
        if not torch.allclose(out.detach(), expected.detach(), atol=1e-4, rtol=1e-4):
            found, s, b = out.detach(), scale.detach(), shift.detach()
            hint = (extra_hint and extra_hint(x, found, s, b)) or _train_hint(x, found, s, b)
            expect_close(out.detach(), expected.detach(), case, atol=1e-4, hint=hint)
        call((out * weights).sum().backward, what=case)
        (expected * weights).sum().backward()
        if xin.grad is None:
            raise CheckFailed(
                case,
                expected="gradients reaching the input",
                found="none",
                hint="keep the computation from the input to the output in the graph",
            )
        expect_close(
            xin.grad,
            xref.grad,
            case + ": gradient to the input",
            atol=1e-4,
            hint="the batch mean and variance depend on the input, and the gradient flows "
            "through them too: compute them from the input inside the graph",
        )
        if scale.grad is None or shift.grad is None:
            raise CheckFailed(
                case,
                expected="gradients for the scale and the shift",
                found="none",
                hint="the output is scale * x_hat + shift: both take part in it",
            )
    running = _running_buffers(bn, what)  # again: an update may have put new tensors there
    _no_history(running, what)
    if all(torch.equal(t, getattr(nn.BatchNorm1d(features), name)) for name, t in running.items()):
        raise CheckFailed(
            what + ": running statistics",
            expected="running averages that follow the training batches",
            found="running_mean and running_var still at their starting values after "
            f"{len(batches)} training batches",
            hint="in eval mode the layer normalises with running_mean and running_var: update "
            "them in every train-mode call",
        )

    case = f"{what} in train mode, a batch with a constant feature and a tiny spread"
    with torch.no_grad():
        out = expect_tensor(
            call_explained(bn, flat_batch, what=case, explain=_SHAPE_ERRORS),
            case,
            shape=tuple(flat_batch.shape),
            finite=False,
        )
        expected = ref(flat_batch)
    eps_hint = "eps goes under the square root, added to the variance: it keeps the division "
    eps_hint += "finite when a feature's variance is 0, and tames a tiny one"
    if not torch.isfinite(out).all():
        raise CheckFailed(
            case,
            expected="finite values: a constant feature normalises to 0, then gets the shift",
            found="NaN or Inf values: a division by zero",
            hint=eps_hint,
        )
    expect_close(out, expected, case, atol=1e-4, hint=eps_hint)
    batches = [*batches, flat_batch]

    bn.eval()
    ref.eval()
    case = what + " in eval mode (running statistics)"
    before = {name: t.detach().clone() for name, t in _running_buffers(bn, what).items()}
    with torch.no_grad():
        out = expect_tensor(
            call_explained(bn, probe, what=case, explain=_SHAPE_ERRORS),
            case,
            shape=tuple(probe.shape),
        )
        expected = ref(probe)
    after = _running_buffers(bn, what)
    changed = any(not torch.equal(before[name], t) for name, t in after.items())
    eval_updates = "eval mode must leave the running statistics alone: only training batches "
    eval_updates += "update them"
    if not torch.allclose(out, expected, atol=1e-4, rtol=1e-4):
        hint = "in eval mode normalise with running_mean and running_var, updated in every "
        hint += "train-mode call"
        s, b = scale.detach(), shift.detach()
        if torch.allclose(out, _affine(_normalise(probe, *_batch_stats(probe)), s, b), atol=1e-4):
            hint = "eval mode must not use the batch's statistics: check whether the module is "
            hint += "training, and use the running ones when it is not"
        elif changed:
            hint = eval_updates
        else:
            for settings, mistake in _RUNNING_MISTAKES:
                mean, var = _replay(batches, **settings)
                if torch.allclose(out, _affine(_normalise(probe, mean, var), s, b), atol=1e-4):
                    hint = mistake
                    break
        expect_close(out, expected, case, atol=1e-4, hint=hint)
    if changed:
        raise CheckFailed(
            case,
            expected="running statistics unchanged by an eval-mode call",
            found="they changed",
            hint=eval_updates,
        )
    with torch.no_grad():
        single = call(bn, probe[:1], what=what + " in eval mode, batch of one")
    expect_close(single, expected[:1], what + " in eval mode, batch of one", atol=1e-4)

    # eps in eval mode too: a feature that never varied in training has a running variance of 0.
    case = what + " in eval mode, a running variance of 0"
    with torch.no_grad():
        ref.running_var[0] = 0.0
        for name, t in _running_buffers(bn, what).items():
            t.copy_(getattr(ref, name))
        out = expect_tensor(call(bn, probe, what=case), case, finite=False)
        expected = ref(probe)
    if not torch.isfinite(out).all():
        raise CheckFailed(
            case,
            expected="finite values",
            found="NaN or Inf values: a division by zero",
            hint="eps belongs in eval mode too: a running variance can be 0 (a feature that "
            "never varied in training)",
        )
    expect_close(out, expected, case, atol=1e-3, rtol=1e-3, hint=eps_hint)


def _build(cls_or_module: Any, features: int, what: str) -> nn.Module:
    try:
        return build(cls_or_module, features, what=what)
    except CheckFailed as failure:
        if "no parameters" not in failure.found:
            raise
        raise CheckFailed(
            what + ": learnable parameters",
            expected="a learnable scale and shift",
            found="no parameters at all",
            hint="the scale and the shift are learned like weights: make them nn.Parameters (a "
            "plain tensor or a buffer is never trained)",
        ) from None


def batch_norm(cls_or_module: Any, num_features: int = 6) -> None:
    """Batch norm for (N, C) inputs: batch statistics in train(), running ones in eval()."""
    what = "batch norm"
    bn = _build(cls_or_module, num_features, what)
    with seeded(0):
        batches = [3 + 2 * torch.randn(16, num_features) for _ in range(3)]
        probe = 3 + 2 * torch.randn(5, num_features)
        flat = 1e-3 * torch.randn(16, num_features)  # a tiny spread: eps matters
        flat[:, 0] = 3.0  # a constant feature: variance 0
    _check_batch_norm(bn, nn.BatchNorm1d(num_features), batches, flat, probe, what)
    passed(what, "matches nn.BatchNorm1d in train and eval mode, running statistics included")


def _channels_mixed(x: Tensor, out: Tensor, scale: Tensor, shift: Tensor) -> str | None:
    """Name the usual mistakes of going from (N, C, H, W) to rows of C values and back."""
    n, c, h, w = x.shape

    def bn_rows(rows: Tensor) -> Tensor:  # what a correct BN for vectors makes of (rows, C)
        return _affine(_normalise(rows, *_batch_stats(rows)), scale, shift)

    per_position = _affine((x - x.mean(0)) / (x.var(0, unbiased=False) + EPS).sqrt(), scale, shift)
    mistakes = [
        (
            bn_rows(x.reshape(-1, c)).reshape(n, c, h, w),
            "reshaping (N, C, H, W) straight into rows of C values mixes the channels: move the "
            "channels to the last dimension first, so each row is one pixel's C channel values",
        ),
        (
            bn_rows(x.permute(0, 2, 3, 1).reshape(-1, c)).reshape(n, c, h, w),
            "undo the moves in reverse order: rows back to (N, H, W, C), then the channels back "
            "to dimension 1",
        ),
        (
            per_position,
            "the statistics are per channel over the batch AND every position (N, H, W): each "
            "pixel of each image is one example of its channel",
        ),
    ]
    for value, hint in mistakes:
        if value.shape == out.shape and torch.allclose(out, value, atol=1e-4, rtol=1e-4):
            return hint
    return None


def batch_norm_2d(cls_or_module: Any, channels: int = 3) -> None:
    """Batch norm for images (N, C, H, W): per channel, over N, H and W, like nn.BatchNorm2d."""
    what = "batch norm for images"
    bn = _build(cls_or_module, channels, what)
    with seeded(0):  # channels with different means and spreads: mixing them shows
        offsets = torch.arange(channels, dtype=torch.float32).reshape(1, -1, 1, 1)
        batches = [3 * offsets + (1 + offsets) * torch.randn(4, channels, 5, 6) for _ in range(3)]
        probe = 3 * offsets + (1 + offsets) * torch.randn(2, channels, 5, 6)
        flat = 1e-3 * torch.randn(4, channels, 5, 6)
        flat[:, 0] = 3.0
    ref = nn.BatchNorm2d(channels)
    _check_batch_norm(bn, ref, batches, flat, probe, what, extra_hint=_channels_mixed)
    passed(what, "per channel over (N, H, W): matches nn.BatchNorm2d in train and eval mode")


# --------------------------------------------------------------------------- the classifier
def _standardised(x: Tensor) -> Tensor:
    """``x`` normalised per feature with the batch statistics, as BN does before its affine step."""
    return (x - x.mean(0)) / (x.var(0, unbiased=False) + EPS).sqrt()


def _layout_mistake(pre: Tensor, post: Tensor, use_bn: bool) -> tuple[str, str, str] | None:
    """What is wrong between two linear layers, as (expected, found, hint); None if nothing.

    ``pre`` is one linear layer's output, ``post`` the next one's input. Like lesson 00's table of
    mistakes, ``post`` is compared with what each wrong layout would make of ``pre``.
    """
    relu = pre.clamp(min=0)
    no_activation = (
        "an activation between the linear layers",
        "none: the hidden layer's output goes on as it is",
        "stacked linear layers without a nonlinearity between them are one linear map: ReLU "
        "after each hidden layer (after its BN)",
    )
    if not use_bn:
        if torch.allclose(post, relu, atol=1e-5):
            return None
        if torch.allclose(post, pre, atol=1e-5):
            return no_activation
        return (
            "Linear -> ReLU",
            "something else between the linear layers",
            "without batch norm each hidden layer is a linear layer followed by ReLU",
        )
    wrong_layouts = [  # (what post would be, tolerance, expected, found, hint)
        (
            relu,
            1e-5,
            "Linear -> BN -> ReLU",
            "no batch norm",
            "with batch_norm=True every hidden linear layer is followed by batch norm",
        ),
        (
            _standardised(relu),
            1e-3,
            "BN before the activation: Linear -> BN -> ReLU",
            "Linear -> ReLU -> BN",
            "normalise the pre-activations, then apply ReLU",
        ),
        (_standardised(pre), 1e-3, *no_activation),
    ]
    for value, atol, expected, found, hint in wrong_layouts:
        if torch.allclose(post, value, atol=atol):
            return expected, found, hint
    if torch.allclose(post, _standardised(pre).clamp(min=0), atol=1e-3):
        return None
    return (
        "Linear -> BN -> ReLU",
        "a different computation",
        "each hidden layer: a linear layer without bias, batch norm over its outputs, then ReLU",
    )


#: torch's complaints about a classifier put together with the wrong sizes, and what they mean.
_LAYER_ERRORS = {
    "mat1 and mat2": (
        "a linear layer got inputs of another size than it was built for",
        "flatten each image into a vector of 28 * 28 = 784 values first; each linear layer then "
        "takes the previous layer's output size",
    ),
    "running_mean should contain": (
        "a BN layer sized for a different number of features",
        "a BN layer holds one scale and shift per feature of the layer before it: its size is "
        "that layer's output size",
    ),
    "expected 4d input": (
        "the image BN (for (N, C, H, W) feature maps) on vectors",
        "after a linear layer the features are (N, C) vectors: use the batch norm for vectors",
    ),
    "expected 2d or 3d input": (
        "the vector BN on images",
        "flatten the images before the first linear layer",
    ),
}


def classifier(cls_or_module: Any) -> None:
    """``Classifier(batch_norm)``: Linear -> [BN] -> ReLU per hidden layer, 10 logits out."""
    what = "classifier"
    with seeded(0):
        x = torch.rand(32, 1, 28, 28) * 2 - 1
        for use_bn in (False, True):
            case = f"{what} (batch_norm={use_bn})"
            model = build(cls_or_module, batch_norm=use_bn, what=case).train()
            out, calls = call_explained(
                lambda m=model, c=case: trace(m, x, what=c), what=case, explain=_LAYER_ERRORS
            )
            records = [(c.input, c.output) for c in layers(calls, (nn.Linear,))]
            expect_tensor(
                out,
                case + " output",
                shape=(32, 10),
                hint="flatten the images; the last layer gives 10 logits, one per digit",
            )
            if len(records) < 2:
                raise CheckFailed(
                    case, expected="at least two nn.Linear layers", found=f"{len(records)}"
                )
            if not torch.allclose(records[0][0], x.flatten(1), atol=1e-6):
                raise CheckFailed(
                    case + ": first layer",
                    expected="the flattened images as they are",
                    found="something changed them before the first linear layer",
                    hint="BN normalises a layer's outputs: it comes after a linear layer, not "
                    "before the first one",
                )
            if not torch.allclose(out.detach(), records[-1][1], atol=1e-6):
                raise CheckFailed(
                    case + " output",
                    expected="the last linear layer's logits, unchanged",
                    found="something applied after the last nn.Linear",
                    hint="nothing after the output layer: the cross-entropy loss takes raw logits "
                    "(it applies the softmax itself), and BN there would fix their scale",
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
                        hint="BN subtracts the batch mean, which cancels any bias the layer adds, "
                        "and BN's shift takes the bias's role: build the layer without one",
                    )
    passed(
        what,
        "Linear -> BN -> ReLU (no bias before BN), 10 logits out; plain Linear -> ReLU without BN",
    )
