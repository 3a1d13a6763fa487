"""Checkers for lesson 00, the GAN game: the losses, their gradients and the optimal D.

Each checker calls the learner's function on fixed inputs and compares it with the reference; a
wrong answer is matched against the usual mistakes so the hint can name the one made.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganlib import losses

from . import CheckFailed, call, expect_close, passed
from .probes import bce, expect_connected, expect_scalar, random_logits

__all__ = [
    "discriminator_loss",
    "minimax_generator_loss",
    "non_saturating_generator_loss",
    "logit_gradient",
    "optimal_discriminator",
]


_STABLE = "use F.binary_cross_entropy_with_logits (numerically stable), not log(sigmoid(x))"

# Very confident logits. In float32 sigmoid(x) rounds to 1 from x ~ 17 but underflows to 0 only
# below x ~ -90 (-104 with subnormals), so a naive log(sigmoid(x)) or log(sigmoid(-x)) is still
# finite at +-40 and becomes -inf only further out: test at +-200.
_CONFIDENT = 200.0
_ON_CONFIDENT = f" on confident logits (+-{_CONFIDENT:g})"
_CONNECTED = "a loss with gradients flowing back to the logits"


def _scalar(value: object, what: str, hint: str) -> Tensor:
    return expect_scalar(
        value,
        what,
        hint=hint,
        mean_hint="average over the batch: F.binary_cross_entropy_with_logits does it for you",
    )


def discriminator_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(real_logits, fake_logits)``: BCE with real labelled 1 and fake labelled 0, summed."""
    what = "discriminator loss"
    real, fake = random_logits(16, seed=1), random_logits(16, seed=2) - 1.0
    real.requires_grad_(True)
    fake.requires_grad_(True)
    loss = _scalar(call(fn, real, fake, what=what), what, "return the loss, a tensor")
    d = real.detach(), fake.detach()
    mistakes = {
        "the labels are the wrong way round: real images are labelled 1, fakes 0": bce(d[0], 0.0)
        + bce(d[1], 1.0),
        "the inputs are logits: the loss applies the sigmoid itself, do not apply it first": F.binary_cross_entropy(
            torch.sigmoid(torch.sigmoid(d[0])), torch.ones_like(d[0])
        )
        + F.binary_cross_entropy(torch.sigmoid(torch.sigmoid(d[1])), torch.zeros_like(d[1])),
        "add the two losses (real + fake) rather than averaging them": losses.d_loss_bce(*d) / 2,
        "the loss on the fake logits is missing": bce(d[0], 1.0),
        "the loss on the real logits is missing": bce(d[1], 0.0),
    }
    expect_close(
        loss.detach(),
        losses.d_loss_bce(*d),
        what,
        hint="loss = BCE(real, 1) + BCE(fake, 0)",
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
            hint="compute the loss with torch operations on the inputs, without .detach()",
        )
    # A naive log(sigmoid(x)) gives log(0) = -inf here.
    extreme = torch.tensor([[_CONFIDENT], [-_CONFIDENT]])
    big = _scalar(call(fn, extreme, -extreme, what=what), what + _ON_CONFIDENT, _STABLE)
    expect_close(big, losses.d_loss_bce(extreme, -extreme), what + _ON_CONFIDENT, hint=_STABLE)
    passed(what, f"BCE(real, 1) + BCE(fake, 0) = {loss.item():.4f}, stable for large logits")


def _generator_loss(fn: Callable[[Tensor], Tensor], what: str, kind: str) -> Tensor:
    fake = random_logits(16, seed=3) - 1.0
    fake.requires_grad_(True)
    loss = _scalar(call(fn, fake, what=what), what, "return the loss, a tensor")
    d = fake.detach()
    reference = losses.g_loss_minimax if kind == "minimax" else losses.g_loss_nonsaturating
    other = losses.g_loss_nonsaturating if kind == "minimax" else losses.g_loss_minimax
    other_name = "non-saturating" if kind == "minimax" else "minimax"
    expected = reference(d)
    mistakes = {
        f"this is the {other_name} loss; the {kind} one is the other": other(d),
        "the sign is flipped: the generator minimises this loss": -expected,
        "the inputs are logits: apply the sigmoid once (or use the *_with_logits loss)": (
            torch.log1p(-torch.sigmoid(torch.sigmoid(d))).mean()
            if kind == "minimax"
            else -torch.log(torch.sigmoid(torch.sigmoid(d))).mean()
        ),
    }
    formula = "mean of log(1 - D(G(z)))" if kind == "minimax" else "mean of -log D(G(z))"
    expect_close(loss.detach(), expected, what, hint=formula, mistakes=mistakes)
    expect_connected(loss, what, expected=_CONNECTED)
    call(loss.backward, what=what)
    if fake.grad is None or not fake.grad.abs().sum() > 0:
        raise CheckFailed(
            what,
            expected="a gradient flowing back to the logits",
            found="none",
            hint="compute the loss with torch operations, without .detach()",
        )
    extreme = torch.tensor([[_CONFIDENT], [-_CONFIDENT]])
    big = _scalar(call(fn, extreme, what=what), what + _ON_CONFIDENT, _STABLE)
    expect_close(big, reference(extreme), what + _ON_CONFIDENT, hint=_STABLE)
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
                what, expected="one number", found=f"a tensor of shape {tuple(value.shape)}"
            )
        return float(value.item())
    if isinstance(value, int | float | np.floating):
        return float(value)
    raise CheckFailed(
        what,
        expected="a number (float)",
        found="None" if value is None else type(value).__name__,
        hint="return logit.grad.item()" if value is None else "",
    )


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
        found = _as_float(call(fn, loss_fn, d_value, what=what), what)
        mistakes = {
            "the sign is flipped: return the gradient itself, not the step direction": -expected
        }
        if name == "minimax":  # d loss / d D = -1 / (1 - D)
            mistakes = {
                "differentiate with respect to the logit, not the probability D: logit = log(D / (1 - D))": -1.0
                / (1.0 - d_value),
                **mistakes,
            }
        expect_close(
            found,
            expected,
            f"{what} ({name} loss at D(G(z)) = {d_value})",
            atol=1e-4,
            hint="logit = torch.logit(torch.tensor(d)).requires_grad_(); loss_fn(logit.reshape(1, 1)).backward()",
            mistakes=mistakes,
        )
    passed(what, "minimax -D, non-saturating -(1 - D), any loss works")


def optimal_discriminator(fn: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> None:
    """``fn(p_data, p_g)``: D*(x) = p_data / (p_data + p_g), elementwise."""
    what = "optimal discriminator"
    rng = np.random.default_rng(0)
    p_data = rng.uniform(0.01, 2.0, size=50)
    p_g = rng.uniform(0.01, 2.0, size=50)
    p_g[:5] = p_data[:5]
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
            hint="work elementwise: p_data / (p_data + p_g)",
        )
    expect_close(
        found_t,
        expected,
        what,
        hint="D*(x) = p_data(x) / (p_data(x) + p_g(x))",
        mistakes={
            "that is 1 - D*: D is the probability that x is REAL, so p_data goes on top": p_g
            / (p_data + p_g),
            "that is the density ratio; D* = p_data / (p_data + p_g) lies between 0 and 1": p_data
            / p_g,
        },
    )
    passed(what, "D* = p_data / (p_data + p_g), 1/2 where the densities agree")
