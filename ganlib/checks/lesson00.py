"""Checkers for lesson 00, the GAN game: the losses, their gradients and the optimal D.

Each checker calls the learner's function on fixed inputs and compares it with the reference; a
wrong answer is matched against the usual mistakes (a table of hint -> the value that mistake
gives) so the hint can name the one made, and torch's errors for the usual slips are translated.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
from torch import Tensor

from ganlib import losses

from . import CheckFailed, call, expect_close, passed
from .probes import bce, call_explained, expect_connected, expect_scalar, random_logits

__all__ = [
    "discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "logit_gradient",
    "optimal_discriminator",
]


_STABLE = (
    "for a confident logit the sigmoid rounds to exactly 0 or 1, so log(sigmoid(x)) is -inf (or, "
    "with a small constant added, wrong): compute the BCE from the logits themselves (the "
    "with-logits BCE of PyTorch does it stably)"
)

# Very confident logits. In float32 sigmoid(x) rounds to 1 from x ~ 17 but underflows to 0 only
# below x ~ -90 (-104 with subnormals), so a naive log(sigmoid(x)) or log(sigmoid(-x)) is still
# finite at +-40 and becomes -inf only further out: test at +-200.
_CONFIDENT = 200.0
_ON_CONFIDENT = f" on confident logits (+-{_CONFIDENT:g})"
_CONNECTED = "a loss with gradients flowing back to the logits"
_SIGMOID_TWICE = (
    "the inputs are logits and the with-logits BCE applies the sigmoid itself: a sigmoid before "
    "it makes two"
)
_SUMMED = (
    "the loss is summed over the batch: average it, so its size does not depend on the batch size"
)

#: torch's complaints about the usual slips in a BCE loss, and what they mean.
_LOSS_ERRORS = {
    "between 0 and 1": (
        "the plain BCE was given logits, which can be any real number",
        "the inputs are logits, not probabilities: use the BCE that takes logits and applies "
        "the sigmoid itself",
    ),
    "must be the same as input size": (
        "labels shaped differently from the logits",
        "give every logit its own label: a tensor of labels shaped like the logits",
    ),
    "has no attribute 'size'": (
        "a plain number as the labels",
        "give every logit its own label: a tensor of labels shaped like the logits",
    ),
    "can't be cast": (
        "integer labels",
        "labels are floating-point numbers (1.0 for real, 0.0 for fake), like the logits",
    ),
    "expected float": (
        "integer labels",
        "labels are floating-point numbers (1.0 for real, 0.0 for fake), like the logits",
    ),
    "boolean value of tensor": (
        "a loss module built with the tensors as its settings",
        "a loss module is built once without data and then called on (logits, labels); the "
        "functional BCE takes them directly",
    ),
}


def _scalar(value: object, what: str) -> Tensor:
    return expect_scalar(
        value,
        what,
        hint="return the loss as a torch tensor: a Python number has no gradient to learn from",
        mean_hint="a loss is one number per batch: average over the batch (BCE does by default)",
    )


def _summed(loss_fn: Callable[..., Tensor], *logits: Tensor) -> Tensor:
    """What ``loss_fn`` would give with every batch mean replaced by a sum."""
    return loss_fn(*logits) * logits[0].shape[0]


def discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(real_logits, fake_logits)``: BCE with real labelled 1 and fake labelled 0, summed."""
    what = "discriminator loss"
    real, fake = random_logits(16, seed=1), random_logits(16, seed=2) - 1.0
    real.requires_grad_(True)
    fake.requires_grad_(True)
    loss = _scalar(call_explained(fn, real, fake, what=what, explain=_LOSS_ERRORS), what)
    d = real.detach(), fake.detach()
    reference = losses.d_loss_bce(*d)
    mistakes = {
        "the labels are the wrong way round: D calls real samples real (1) and fakes fake (0)": bce(
            d[0], 0.0
        )
        + bce(d[1], 1.0),
        "the fakes are labelled real (1) too: D must learn to call them fake (0)": bce(d[0], 1.0)
        + bce(d[1], 1.0),
        "the real samples are labelled fake (0) too: D must learn to call them real (1)": bce(
            d[0], 0.0
        )
        + bce(d[1], 0.0),
        _SIGMOID_TWICE: bce(torch.sigmoid(d[0]), 1.0) + bce(torch.sigmoid(d[1]), 0.0),
        "the two batch losses are averaged: D's loss is their sum, one term per kind of sample "
        "(one BCE over both batches together averages them too)": reference / 2,
        _SUMMED: _summed(losses.d_loss_bce, *d),
        "the sign is flipped: D maximises log D(x) + log(1 - D(G(z))), so it MINIMISES the "
        "BCE": -reference,
        "the loss on the fake logits is missing: D learns from both kinds of samples": bce(
            d[0], 1.0
        ),
        "the loss on the real logits is missing: D learns from both kinds of samples": bce(
            d[1], 0.0
        ),
    }
    expect_close(
        loss.detach(),
        reference,
        what,
        hint="BCE of the real logits against 1 plus BCE of the fake logits against 0, each a "
        "batch mean",
        mistakes=mistakes,
    )
    expect_connected(loss, what, expected=_CONNECTED)
    call(loss.backward, what=what)
    if real.grad is None or fake.grad is None:
        raise CheckFailed(
            what,
            expected="gradients flowing back to both the real and the fake logits",
            found="no gradient for "
            + ("the real logits" if real.grad is None else "the fake logits"),
            hint="compute the loss from both inputs with torch operations, keeping them in the "
            "graph",
        )
    # A naive log(sigmoid(x)) gives log(0) = -inf here.
    extreme = torch.tensor([[_CONFIDENT], [-_CONFIDENT]])
    case = what + _ON_CONFIDENT
    big = expect_scalar(
        call_explained(fn, extreme, -extreme, what=case, explain=_LOSS_ERRORS), case, hint=_STABLE
    )
    expect_close(big, losses.d_loss_bce(extreme, -extreme), case, hint=_STABLE)
    passed(what, f"BCE(real, 1) + BCE(fake, 0) = {loss.item():.4f}, stable for large logits")


def _generator_loss(fn: Callable[[Tensor], Tensor], what: str, kind: str) -> Tensor:
    fake = random_logits(16, seed=3) - 1.0
    fake.requires_grad_(True)
    loss = _scalar(call_explained(fn, fake, what=what, explain=_LOSS_ERRORS), what)
    d = fake.detach()
    minimax = kind == "minimax"
    reference = losses.g_loss_minimax if minimax else losses.g_loss_nonsaturating
    other = losses.g_loss_nonsaturating if minimax else losses.g_loss_minimax
    other_name = "non-saturating" if minimax else "minimax"
    expected = reference(d)
    mistakes = {
        f"this is the {other_name} loss; the {kind} one is the other": other(d),
        "the sign is flipped: the generator MINIMISES this loss": -expected,
    }
    if minimax:
        wrong_term = "that is the mean of log D(G(z)); the minimax loss is the value function's "
        wrong_term += "second term, the mean of log(1 - D(G(z)))"
        mistakes[wrong_term] = -bce(d, 1.0)
        sigmoid_twice = torch.log1p(-torch.sigmoid(torch.sigmoid(d))).mean()
    else:
        wrong_label = "the fakes are labelled fake (0): that loss falls as D(G(z)) falls, so G "
        wrong_label += "would help D; the non-saturating loss labels the fakes real (1)"
        mistakes[wrong_label] = bce(d, 0.0)
        sigmoid_twice = -torch.log(torch.sigmoid(torch.sigmoid(d))).mean()
    mistakes[_SIGMOID_TWICE] = sigmoid_twice
    mistakes[_SUMMED] = _summed(reference, d)
    formula = "the mean of log(1 - D(G(z)))" if minimax else "the mean of -log D(G(z))"
    expect_close(loss.detach(), expected, what, hint=formula, mistakes=mistakes)
    expect_connected(loss, what, expected=_CONNECTED)
    call(loss.backward, what=what)
    if fake.grad is None or not fake.grad.abs().sum() > 0:
        raise CheckFailed(
            what,
            expected="a gradient flowing back to the logits",
            found="none",
            hint="compute the loss from the logits with torch operations, keeping it in the graph",
        )
    extreme = torch.tensor([[_CONFIDENT], [-_CONFIDENT]])
    case = what + _ON_CONFIDENT
    big = expect_scalar(
        call_explained(fn, extreme, what=case, explain=_LOSS_ERRORS), case, hint=_STABLE
    )
    expect_close(big, reference(extreme), case, hint=_STABLE)
    return loss


def minimax_generator_loss(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(fake_logits)``: the mean of log(1 - D(G(z))), which the generator minimises."""
    loss = _generator_loss(fn, "minimax generator loss", "minimax")
    passed("minimax generator loss", f"mean log(1 - D(G(z))) = {loss.item():.4f}")


def non_saturating_generator_loss(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(fake_logits)``: the mean of -log D(G(z)) (BCE with the labels flipped to 1)."""
    loss = _generator_loss(fn, "non-saturating generator loss", "non-saturating")
    passed("non-saturating generator loss", f"mean -log D(G(z)) = {loss.item():.4f}")


def _as_float(value: object, what: str) -> float:
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise CheckFailed(
                what,
                expected="one number",
                found=f"a tensor of shape {tuple(value.shape)}",
                hint="the gradient for one sample is one number",
            )
        return float(value.item())
    if isinstance(value, int | float | np.floating):
        return float(value)
    raise CheckFailed(
        what,
        expected="a number (float)",
        found="None" if value is None else type(value).__name__,
        hint="return the gradient of the loss with respect to the logit, as a Python number"
        if value is None
        else "",
    )


#: torch's complaints when the gradient is asked for in the wrong way, and what they mean.
_GRADIENT_ERRORS = {
    "does not require grad": (
        "backward found nothing that requires gradients",
        "make the logit require gradients BEFORE the loss is computed from it: autograd records "
        "only what happens after",
    ),
    "'nonetype' object has no attribute": (
        "no gradient was stored where it was read",
        "autograd stores .grad only on leaf tensors that require gradients: make the logit itself "
        "that leaf (not the probability it was computed from)",
    ),
    "second time": (
        "backward ran twice through the same graph",
        "one loss, one backward pass: compute the loss once and backpropagate once",
    ),
}


def _gradient_at(loss_fn: Callable[[Tensor], Tensor], value: float) -> float:
    """d loss_fn / d input at ``value``: the reference, and the mistakes' values below."""
    x = torch.tensor([[value]], dtype=torch.float32, requires_grad=True)
    loss_fn(x).backward()
    return float(x.grad.item())


def _gradient_wrt_probability(loss_fn: Callable[[Tensor], Tensor], d_value: float) -> float:
    p = torch.tensor([[d_value]], dtype=torch.float32, requires_grad=True)
    loss_fn(torch.logit(p)).backward()
    return float(p.grad.item())


def logit_gradient(fn: Callable[[Callable[[Tensor], Tensor], float], float]) -> None:
    """``fn(loss_fn, d_value)``: d loss / d logit for one fake sample that D scores ``d_value``."""
    what = "gradient of a generator loss"

    def square(logits: Tensor) -> Tensor:
        return (logits**2).mean()

    cases = [
        (losses.g_loss_minimax, 0.1, -0.1, "minimax"),
        (losses.g_loss_minimax, 0.9, -0.9, "minimax"),
        (losses.g_loss_nonsaturating, 0.1, -0.9, "non-saturating"),
        (losses.g_loss_nonsaturating, 0.75, -0.25, "non-saturating"),
        (square, 0.8, 2 * float(np.log(0.8 / 0.2)), "logit**2"),
    ]
    for loss_fn, d_value, expected, name in cases:
        case = f"{what} ({name} loss at D(G(z)) = {d_value})"
        found = _as_float(
            call_explained(fn, loss_fn, d_value, what=case, explain=_GRADIENT_ERRORS), case
        )
        logit = float(np.log(d_value / (1 - d_value)))
        mistakes = {
            "differentiate with respect to the logit, not the probability D: the loss is a "
            "function of the logit": _gradient_wrt_probability(loss_fn, d_value),
            "the sign is flipped: return the gradient itself, not the direction of the step": (
                -expected
            ),
            "that is the loss, not its gradient: backpropagate and read the logit's gradient": (
                loss_fn(torch.tensor([[logit]])).item()
            ),
            "d_value is a probability: turn it into a logit first, log(D / (1 - D)) (the inverse "
            "of the sigmoid)": _gradient_at(loss_fn, d_value),
            "the logit is log(D / (1 - D)), the inverse of the sigmoid, not log D": _gradient_at(
                loss_fn, float(np.log(d_value))
            ),
        }
        expect_close(
            found,
            expected,
            case,
            atol=1e-4,
            hint="the gradient of the loss with respect to the logit log(D / (1 - D)) of one "
            "sample: make that logit require gradients, compute the loss from it, backpropagate",
            mistakes=mistakes,
        )
    passed(what, "minimax -D, non-saturating -(1 - D), any loss works")


def optimal_discriminator(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """``fn(p_data, p_g)``: D*(x) = p_data / (p_data + p_g), elementwise."""
    what = "optimal discriminator"
    rng = np.random.default_rng(0)
    p_data = rng.uniform(0.01, 2.0, size=50)
    p_g = rng.uniform(0.01, 2.0, size=50)
    p_g[-5:] = p_data[-5:]  # D* = 1/2 there; the first values shown differ
    found = call(fn, p_data.copy(), p_g.copy(), what=what)
    if found is None:
        raise CheckFailed(
            what, expected="an array of D*(x) values", found="None", hint="did you forget `return`?"
        )
    found_t = torch.as_tensor(np.asarray(found, dtype=np.float64))
    expected = torch.as_tensor(p_data / (p_data + p_g))  # the formula: ganlib has no D* to reuse
    if tuple(found_t.shape) != tuple(expected.shape):
        raise CheckFailed(
            what,
            expected=f"one value per point, shape {tuple(expected.shape)}",
            found=f"shape {tuple(found_t.shape)}",
            hint="D* is a function of x: work point by point, elementwise on the two arrays",
        )
    expect_close(
        found_t,
        expected,
        what,
        hint="D*(x) = p_data(x) / (p_data(x) + p_g(x)), from maximising "
        "p_data log D + p_g log(1 - D) at each x",
        mistakes={
            "that is 1 - D*: D is the probability that x is REAL, so p_data goes on top": p_g
            / (p_data + p_g),
            "that is the density ratio; D* = p_data / (p_data + p_g) lies between 0 and 1": p_data
            / p_g,
            "division comes before addition: divide p_data by the SUM of the two densities": p_data
            / p_g
            + p_data,
            "D* is 1/2 only where p_g = p_data (at the end of the game); elsewhere it depends on "
            "the two densities": np.full_like(p_data, 0.5),
        },
    )
    passed(what, "D* = p_data / (p_data + p_g), 1/2 where the densities agree")
