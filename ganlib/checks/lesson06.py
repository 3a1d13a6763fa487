"""Checkers for lesson 06, stable training: the Wasserstein losses, weight clipping, the gradient
penalty, one step of power iteration, the hinge losses and the critic's training step.

The losses are compared with :mod:`ganlib.losses` on fixed scores, through lesson 00's table of
mistakes. Weight clipping runs on a small network whose weights lie inside and outside the box.
The gradient penalty runs on a logging critic whose gradient changes from point to point: the
points it was measured at are read back from the log (the learner draws its own random numbers),
checked to lie between each real sample and its fake, and the penalty is recomputed there. The
training step runs on a toy pair under a ``training.StepWatch``, three times (WGAN-GP, hinge loss,
WGAN with clipping): at each optimizer step the gradients are compared with those of the right
loss, recomputed on fresh copies from the logged inputs, and with those of the usual mistakes.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ganlib import losses

from . import CheckFailed, call, expect_close, expect_tensor, passed, seeded
from .probes import (
    bce,
    call_explained,
    expect_connected,
    expect_scalar,
    random_logits,
)
from .training import (
    NO_GRADS,
    StepWatch,
    as_number,
    expect_step_signature,
    expect_step_values,
    expect_trainable,
    expect_updated,
    gradient_mistake,
    grads,
    loss_grads,
    same_grads,
    weights,
)

__all__ = [
    "critic_loss",
    "generator_loss",
    "clip_weights",
    "gradient_penalty",
    "power_iteration",
    "hinge_critic_loss",
    "hinge_generator_loss",
    "train_step",
]

_SUMMED = "average over the batch, so the loss does not grow with the batch size"
_CONNECTED = "a loss with gradients flowing back to the scores"
_RAW = (
    "a critic's scores are used as they are: a sigmoid squashes them into (0, 1), and the "
    "distance estimate needs the raw scores (they may be any real number)"
)


def _scalar(value: object, what: str) -> Tensor:
    return expect_scalar(
        value,
        what,
        hint="return the loss as a torch tensor: a Python number has no gradient to learn from",
        mean_hint="a loss is one number per batch: average the scores over the batch",
    )


#: torch's complaints about the usual slips in a loss of two batches, and what they mean.
_PAIR_ERRORS = {
    "must match the size of tensor": (
        "the real and fake scores were paired up one by one",
        "average each batch on its own: the two batches need not be the same size (the check "
        "gives 16 real scores and 12 fake ones)",
    ),
    "between 0 and 1": (
        "a cross-entropy was given raw scores",
        "a critic's loss is no cross-entropy: it compares the mean scores of the two batches",
    ),
}


def _backward_reaches(loss: Tensor, *inputs: Tensor, what: str) -> None:
    """Backpropagate ``loss`` and check that every input got a gradient."""
    call(loss.backward, what=what)
    if any(x.grad is None or not x.grad.abs().sum() > 0 for x in inputs):
        raise CheckFailed(
            what,
            expected="gradients flowing back to every batch of scores",
            found="no gradient for one of them",
            hint="compute the loss from the scores with torch operations, keeping them in the "
            "graph",
        )


# --------------------------------------------------------------------------- Wasserstein losses
def critic_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(real_scores, fake_scores)``: mean(fake) - mean(real), each batch averaged alone."""
    what = "critic_loss"
    real, fake = random_logits(16, seed=1) + 0.5, random_logits(12, seed=2) - 0.5
    r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    loss = _scalar(call_explained(fn, r, f, what=what, explain=_PAIR_ERRORS), what)
    reference = losses.d_loss_wasserstein(real, fake)
    mistakes = {
        "the sign is flipped: the critic MINIMISES its loss, so the loss falls as real scores "
        "rise and fake scores fall: the fakes' mean minus the reals' mean": -reference,
        _RAW: torch.sigmoid(fake).mean() - torch.sigmoid(real).mean(),
        "that is the BCE of the original GAN: the critic's loss is the difference of the two "
        "mean scores": losses.d_loss_bce(real, fake),
        "that is the hinge loss of section 6: the Wasserstein loss has no margin": (
            losses.d_loss_hinge(real, fake)
        ),
        _SUMMED: fake.sum() - real.sum(),
        "the critic's loss has two terms, one per batch: the real scores' term is missing": (
            fake.mean()
        ),
        "the critic's loss has two terms, one per batch: the fake scores' term is missing": (
            -real.mean()
        ),
    }
    expect_close(
        loss.detach(),
        reference,
        what,
        hint="the mean score of the fakes minus the mean score of the real samples",
        mistakes=mistakes,
    )
    expect_connected(loss, what, expected=_CONNECTED)
    _backward_reaches(loss, r, f, what=what)
    passed(what, f"mean(D(G(z))) - mean(D(x)) = {loss.item():.4f} on raw scores")


def generator_loss(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(fake_scores)``: -mean(fake): G raises its fakes' scores."""
    what = "generator_loss"
    fake = random_logits(12, seed=3) - 0.5
    f = fake.clone().requires_grad_(True)
    loss = _scalar(call_explained(fn, f, what=what, explain=_PAIR_ERRORS), what)
    reference = losses.g_loss_wasserstein(fake)
    mistakes = {
        "the sign is flipped: G wants the critic to score its fakes HIGH, so it minimises "
        "minus their mean score": -reference,
        _RAW: -torch.sigmoid(fake).mean(),
        "that is the non-saturating BCE of lesson 00: G's Wasserstein loss is minus the mean "
        "score": losses.g_loss_nonsaturating(fake),
        "the hinge belongs to the critic's loss only: G's loss is minus the mean score, with no "
        "margin": F.relu(1 - fake).mean(),
        _SUMMED: -fake.sum(),
    }
    expect_close(
        loss.detach(),
        reference,
        what,
        hint="minus the mean score of the fakes",
        mistakes=mistakes,
    )
    expect_connected(loss, what, expected=_CONNECTED)
    _backward_reaches(loss, f, what=what)
    passed(what, f"-mean(D(G(z))) = {loss.item():.4f}")


# --------------------------------------------------------------------------- weight clipping
_CLIP_ERRORS = {
    "leaf variable that requires grad": (
        "the weights were changed in place while autograd was recording",
        "changing a weight is not part of any loss: do it with gradient recording switched off, "
        "as an optimizer's step does",
    ),
    "has no attribute": (
        "the function was not given what it expected",
        "clip_weights receives the critic (a network) and c (a number): clip every parameter "
        "of the network",
    ),
}
_BOX = 0.05  # not the paper's 0.01: a function that ignores c shows it


def _clip_net() -> nn.Module:
    """A small critic whose weights and biases lie partly inside and partly outside the box."""
    with seeded(0):
        net = nn.Sequential(nn.Linear(2, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        with torch.no_grad():
            for p in net.parameters():
                p.copy_(0.1 * torch.randn_like(p))
                p.view(-1)[0] = 0.02  # one value well inside the box in every tensor
            for p in net.parameters():
                p.grad = torch.randn_like(p)  # as a backward pass leaves them
    return net


def clip_weights(fn: Callable[[nn.Module, float], Any]) -> None:
    """``fn(critic, c)``: every parameter of ``critic`` clamped into [-c, c], in place."""
    what = "clip_weights"
    c = _BOX
    net = _clip_net()
    params = list(net.parameters())
    before = [p.detach().clone() for p in params]
    grads_before = [p.grad.clone() for p in params]
    result = call_explained(fn, net, c, what=what, explain=_CLIP_ERRORS)
    now = list(net.parameters())
    if any(p is not q for p, q in zip(now, params, strict=True)):
        raise CheckFailed(
            what,
            expected="the critic's own parameters, clipped in place",
            found="new parameter tensors in the critic",
            hint="the optimizer holds the critic's parameters: write the clipped values into "
            "them instead of replacing them",
        )
    expected = [b.clamp(-c, c) for b in before]
    if not all(torch.equal(p.detach(), e) for p, e in zip(now, expected, strict=True)):
        raise CheckFailed(
            what,
            expected=f"every weight and bias w in [-{c}, {c}]: min(max(w, -c), c)",
            found=_clip_found(now, before, c),
            hint=_clip_hint(now, before, grads_before, result, net, c),
        )
    if not all(p.requires_grad for p in now):
        raise CheckFailed(
            what,
            expected="the critic still trainable",
            found="parameters that no longer require gradients",
            hint="clipping changes the values only: the critic keeps learning afterwards",
        )
    passed(what, f"every weight and bias of the critic moved into [-{c}, {c}], in place")


def _clip_found(now: list[Tensor], before: list[Tensor], c: float) -> str:
    values = torch.cat([p.detach().flatten() for p in now])
    return f"values in [{values.min():.3g}, {values.max():.3g}]" + (
        " (unchanged)"
        if all(torch.equal(p.detach(), b) for p, b in zip(now, before, strict=True))
        else ""
    )


def _clip_hint(
    now: list[Tensor],
    before: list[Tensor],
    grads_before: list[Tensor],
    result: Any,
    net: nn.Module,
    c: float,
) -> str:
    """The mistake behind weights that are not the clipped ones."""
    unchanged = [torch.equal(p.detach(), b) for p, b in zip(now, before, strict=True)]
    if all(unchanged):
        grads_changed = any(
            p.grad is None or not torch.equal(p.grad, g)
            for p, g in zip(now, grads_before, strict=True)
        )
        if grads_changed:
            return (
                "the gradients were clipped, not the weights: weight clipping keeps the weights "
                "themselves in the box, whatever gradients moved them there"
            )
        if isinstance(result, nn.Module) and result is not net:
            return (
                "a clipped copy was returned: clip the critic you are given, in place (its "
                "optimizer holds its parameters)"
            )
        return (
            "the clipped values must be written into the critic's own parameters, in place: a "
            "clipped tensor given a new name changes nothing"
        )
    values = torch.cat([p.detach().flatten() for p in now])
    biases_kept = [u for p, u in zip(now, unchanged, strict=True) if p.dim() == 1]
    weights_kept = [u for p, u in zip(now, unchanged, strict=True) if p.dim() > 1]
    if biases_kept and all(biases_kept) and not any(weights_kept):
        return "clip every parameter of the critic, the biases too, as the WGAN paper does"
    if values.abs().max() <= 0.02 + 1e-6:
        return f"use the c you are given (the check passes c = {c}), not a number of your own"
    if values.min() >= -c - 1e-6 and values.max() > c + 1e-6:
        return "the box has two sides: values above c come down to c as well"
    if values.max() <= c + 1e-6 and values.min() < -c - 1e-6:
        return "the box has two sides: values below -c come up to -c as well"
    inside = [(b.abs() < c) for b in before]
    if any(
        not torch.equal(p.detach()[m], b[m]) for p, b, m in zip(now, before, inside, strict=True)
    ):
        return (
            "weights already inside the box must stay as they are: clipping only moves the "
            "values outside it to its nearest edge (rescaling changes them all)"
        )
    return "each weight outside [-c, c] moves to the nearest edge of the box; the others stay"


# --------------------------------------------------------------------------- gradient penalty
class _Bowl(nn.Module):
    """A critic f(x) = sum(a * x^2 + b * x) that logs the inputs it scores.

    Its gradient, 2 a x + b, changes from point to point (so where the penalty is measured
    matters) and depends on its weights (so a penalty without a graph shows). Each sample is
    scored on its own, like a critic without batch norm.
    """

    def __init__(self, shape: tuple[int, ...], scale: float) -> None:
        super().__init__()
        n = math.prod(shape)
        self.a = nn.Parameter(scale * torch.linspace(0.5, 1.5, n))
        self.b = nn.Parameter(torch.linspace(-0.4, 0.4, n))
        self.seen: list[tuple[Tensor, bool]] = []  # (input, whether it required gradients)

    def forward(self, x: Tensor) -> Tensor:
        self.seen.append((x.detach().clone(), x.requires_grad))
        flat = x.flatten(1)
        return (self.a * flat**2 + self.b * flat).sum(1, keepdim=True)

    def fresh(self) -> _Bowl:
        """A copy with the same weights that logs nothing of interest."""
        twin = _Bowl((len(self.a),), 1.0)
        twin.load_state_dict(self.state_dict())
        return twin


#: torch's complaints about the usual slips in a gradient penalty, and what they mean.
_GP_ERRORS = {
    "only for scalar outputs": (
        "autograd was asked for the gradient of many scores at once",
        "autograd differentiates one number: take the sum of the scores, whose gradient at "
        "each point is that point's own gradient (the critic scores each point on its own)",
    ),
    "does not require grad": (
        "autograd was asked for a gradient with respect to points it did not track",
        "the interpolated points must be tracked by autograd before the critic scores them: "
        "the penalty differentiates the scores with respect to those points",
    ),
    "must match the size of tensor": (
        "the random mixing weights do not fit the shape of the samples",
        "draw one mixing weight per sample, of size 1 along every other dimension, so it "
        "applies to the whole sample (the check passes images as well as 2-D points)",
    ),
    "second time": (
        "backward ran twice through the same graph",
        "ask autograd for the gradient at the points (one call), building it as a graph of its "
        "own so the penalty can be backpropagated later",
    ),
}
#: (what the check passes, the shape of one sample, the scale of the critic's curvature): 2-D
#: points, where the gradient norms lie on both sides of 1, then images, where the norm must be
#: taken over channels, height and width together.
_GP_CASES = (("2-D points", (2,), 0.5, 8), ("images", (3, 4, 4), 0.1, 6))


def gradient_penalty(fn: Callable[[nn.Module, Tensor, Tensor], Tensor]) -> None:
    """``fn(critic, real, fake)``: mean((||grad critic(x_hat)|| - 1)^2) at x_hat between pairs."""
    what = "gradient_penalty"
    for kind, shape, scale, n in _GP_CASES:
        case = f"{what} on {kind} {(n, *shape)}"
        with seeded(6):
            critic = _Bowl(shape, scale)
            real, fake = torch.randn(n, *shape) + 0.5, torch.randn(n, *shape) - 0.5
        given = real.clone(), fake.clone()
        with seeded(7), warnings.catch_warnings():
            # a backward pass with create_graph=True warns about memory; the check names that
            # mistake itself (gradients left in the critic's weights)
            warnings.filterwarnings("ignore", message="Using backward.. with create_graph=True")
            found = call_explained(fn, critic, *given, what=case, explain=_GP_ERRORS)
        penalty = expect_scalar(
            found,
            case,
            hint="return the penalty as a torch tensor (one number)",
            mean_hint="the penalty is one number: average the per-sample penalties",
        )
        if not (torch.equal(given[0], real) and torch.equal(given[1], fake)):
            raise CheckFailed(
                case,
                expected="the real and fake batches left as they were",
                found="the function changed them in place",
                hint="build the interpolated points as a new tensor",
            )
        x_hat = _interpolates(critic, real, fake, case)
        _expect_penalty(penalty, critic, x_hat, case)
    passed(
        what,
        "mean((||grad D(x_hat)|| - 1)^2) at x_hat = eps real + (1 - eps) fake, one eps ~ U[0, 1] "
        "per sample; differentiable for the critic",
    )


def _interpolates(critic: _Bowl, real: Tensor, fake: Tensor, what: str) -> Tensor:
    """The points the critic's gradient was taken at, checked to lie between each pair."""
    tracked = [x for x, requires_grad in critic.seen if requires_grad]
    if not tracked:
        raise CheckFailed(
            what,
            expected="the critic scoring points that autograd tracks",
            found="the critic never scored such points",
            hint="score the interpolated points with the critic, then differentiate those scores "
            "with respect to the points",
        )
    x_hat = tracked[-1]
    if x_hat.shape != real.shape:
        raise CheckFailed(
            what,
            expected=f"one interpolated point per pair, shape {tuple(real.shape)}",
            found=f"the critic's gradient taken at a batch of shape {tuple(x_hat.shape)}",
            hint="mix each real sample with the fake of the same index: as many points as pairs",
        )
    r, f, x = real.flatten(1), fake.flatten(1), x_hat.flatten(1)
    direction = r - f
    t = ((x - f) * direction).sum(1) / (direction**2).sum(1)
    on_line = f + t[:, None] * direction
    if torch.allclose(x, r, atol=1e-6) or torch.allclose(x, f, atol=1e-6):
        which = "real" if torch.allclose(x, r, atol=1e-6) else "fake"
        raise CheckFailed(
            what,
            expected="the gradient measured between real and fake samples",
            found=f"the gradient measured at the {which} samples themselves",
            hint="the optimal critic has gradient norm 1 on the straight lines between real and "
            "generated samples: penalise it at random points on those lines, not at the ends",
        )
    if not torch.allclose(x, on_line, atol=1e-4):
        raise CheckFailed(
            what,
            expected="each point on the straight line between a real sample and its fake",
            found="points off those lines",
            hint="draw one mixing weight per sample and use it for all of that sample's numbers "
            "(a weight per number leaves the line); mix real sample i with fake sample i",
        )
    if (t < -1e-4).any() or (t > 1 + 1e-4).any():
        raise CheckFailed(
            what,
            expected="mixing weights between 0 and 1 (points between the pair)",
            found=f"weights from {t.min():.3g} to {t.max():.3g}",
            hint="draw the mixing weights uniformly between 0 and 1, not from a normal distribution",
        )
    if t.std() < 1e-4:
        raise CheckFailed(
            what,
            expected="a mixing weight of its own for each sample",
            found=f"the same weight ({t.mean():.3g}) for the whole batch",
            hint="draw one weight per sample, so the penalty is measured at many places along the "
            "lines at once",
        )
    return x_hat


def _expect_penalty(penalty: Tensor, critic: _Bowl, x_hat: Tensor, what: str) -> None:
    """Compare the learner's penalty with the formula at the same points, and its gradient."""
    twin = critic.fresh()
    x = x_hat.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(twin(x).sum(), x, create_graph=True)
    norms = g.flatten(1).norm(dim=1)
    reference = ((norms - 1) ** 2).mean()
    n = len(x)
    gd = g.detach()
    norms_d = norms.detach()
    mistakes = {
        "the penalty pulls each gradient norm towards 1, not towards 0: square (norm - 1)": (
            norms_d**2
        ).mean(),
        "the norm is the square root of the sum of squares: (norm - 1)^2, not (norm^2 - 1)^2": (
            (norms_d**2 - 1) ** 2
        ).mean(),
        "square the distance to 1, so large and small norms are both pulled back smoothly": (
            (norms_d - 1).abs().mean()
        ),
        "the WGAN-GP penalty is two-sided: a gradient norm below 1 is penalised too (the optimal "
        "critic's norm is exactly 1 between the pairs)": (F.relu(norms_d - 1) ** 2).mean(),
        "take one norm per sample over all its other dimensions (channels, height and width "
        "together), not over one of them": ((gd.norm(dim=1) - 1) ** 2).mean(),
        "take one norm per sample, not one for the whole batch": (gd.norm() - 1) ** 2,
        "penalise each sample's norm, then average: not the average norm, penalised once": (
            norms_d.mean() - 1
        )
        ** 2,
        "the gradient of the MEAN of the scores is each point's gradient divided by the batch "
        "size: differentiate their sum": ((norms_d / n - 1) ** 2).mean(),
        _SUMMED: ((norms_d - 1) ** 2).sum(),
        "return the penalty alone: the training step multiplies it by its weight": 10 * reference,
    }
    expect_close(
        penalty.detach(),
        reference.detach(),
        what,
        hint="at each interpolated point: the norm of the critic's gradient there, minus 1, "
        "squared; then the mean over the batch",
        mistakes=mistakes,
    )
    if critic.a.grad is not None or critic.b.grad is not None:
        raise CheckFailed(
            what,
            expected="the critic's weights without gradients after the penalty is computed",
            found="gradients left in the critic's weights",
            hint="ask autograd for the gradient at the points only: a backward pass adds a "
            "gradient to every weight too, which the critic's next step would then apply",
        )
    if not penalty.requires_grad:
        raise CheckFailed(
            what,
            expected="a penalty that can be backpropagated into the critic's weights",
            found="a penalty cut off from the critic (no grad_fn)",
            hint="the gradient at the points must itself be recorded by autograd (a graph of "
            "the gradient computation), or the penalty cannot train the critic",
        )
    params = [critic.a, critic.b]
    expected_grads = loss_grads(reference, [twin.a, twin.b])
    if not same_grads(loss_grads(penalty, params), expected_grads, atol=1e-5):
        raise CheckFailed(
            what,
            expected="the penalty's gradient for the critic's weights",
            found="another gradient",
            hint="compute the penalty from the critic's gradient with torch operations only, "
            "keeping its graph (no .detach() or .item() on the way)",
        )


# --------------------------------------------------------------------------- spectral norm
_POWER_ERRORS = {
    "size mismatch": (
        "u and v were swapped",
        "u has one entry per row of W (its outputs) and v one per column (its inputs): v comes "
        "from W transposed applied to u, and the new u from W applied to v",
    ),
    "cannot be multiplied": (
        "u and v were swapped",
        "u has one entry per row of W (its outputs) and v one per column (its inputs): v comes "
        "from W transposed applied to u, and the new u from W applied to v",
    ),
    "dimension out of range": (
        "a vector was normalised along a dimension it does not have",
        "u and v are vectors (1-D): normalise each one as a whole",
    ),
}


def _power_reference(W: Tensor, u: Tensor) -> tuple[Tensor, Tensor, Tensor]:
    """One step of Miyato et al.'s algorithm 1: v, then u, then sigma = u^T W v."""
    v = F.normalize(W.t() @ u, dim=0)
    u_new = F.normalize(W @ v, dim=0)
    return u_new @ W @ v, u_new, v


def _two(value: Any, what: str, out: int) -> tuple[Tensor, Tensor]:
    """The (sigma, u) pair the function returns, with sigma one number and u a vector."""
    if not isinstance(value, tuple | list) or len(value) != 2:
        raise CheckFailed(
            what,
            expected="two values: (sigma, u)",
            found="None" if value is None else type(value).__name__,
            hint="return the estimate and the new u, which the next step starts from",
        )
    sigma, u = value
    if as_number(u) is not None and isinstance(sigma, Tensor) and sigma.numel() == out:
        raise CheckFailed(
            what,
            expected="(sigma, u): the estimate first",
            found="(u, sigma)",
            hint="return the estimate first, then the new u",
        )
    number = as_number(sigma)
    if number is None:
        raise CheckFailed(
            what,
            expected="sigma as one number",
            found=f"a tensor of shape {tuple(sigma.shape)}"
            if isinstance(sigma, Tensor)
            else type(sigma).__name__,
            hint="the estimate of the largest singular value is one number: u^T W v",
        )
    u = expect_tensor(u, what, shape=(out,), hint="u is a vector with one entry per row of W")
    return torch.tensor(number), u.detach()


def power_iteration(fn: Callable[[Tensor, Tensor], tuple[Tensor, Tensor]]) -> None:
    """``fn(W, u)``: one step v = W^T u / ||.||, u = W v / ||.||; returns (u^T W v, u)."""
    what = "power_iteration"
    with seeded(8):
        W = torch.randn(5, 3)
        u0 = F.normalize(torch.randn(5), dim=0)
    found = call_explained(fn, W.clone(), u0.clone(), what=what, explain=_POWER_ERRORS)
    sigma, u = _two(found, what, 5)
    reference, u_ref, v_ref = _power_reference(W, u0)
    v_raw, exact = W.t() @ u0, torch.linalg.matrix_norm(W, ord=2)
    mistakes = {
        "normalise v before using it: without it the estimate is scaled by the length of "
        "W^T u": F.normalize(W @ v_raw, dim=0) @ W @ v_raw,
        "normalise the new u: the estimate is u^T W v with both vectors of length 1": (
            (W @ v_ref) @ W @ v_ref
        ),
        "normalise u and v at every step: power iteration keeps both at length 1": (W @ v_raw)
        @ W
        @ v_raw,
        "that estimate uses the old u: compute sigma with the new u (u^T W v after both "
        "updates)": u0 @ W @ v_ref,
        "that is the exact largest singular value: the exercise is one cheap step of power "
        "iteration, which becomes exact over training as u is carried from step to step": exact,
        "that is the Frobenius norm, an upper bound of the largest singular value, not an "
        "estimate of it": torch.linalg.matrix_norm(W),
    }
    expect_close(
        sigma,
        reference,
        what,
        atol=1e-4,
        hint="v = W^T u, normalised; u = W v, normalised; sigma = u^T W v",
        mistakes=mistakes,
    )
    if not torch.allclose(u, u_ref, atol=1e-4):
        hint = (
            "return the new u (W v, normalised), the next step's starting point"
            if not torch.allclose(u, u0, atol=1e-6)
            else "return the new u, not the one you were given: the next step starts from it"
        )
        raise CheckFailed(
            what,
            expected="the new u: W v normalised to length 1",
            found=f"u = {u[:3].tolist()} ...",
            hint=hint,
        )
    # Carried from step to step, the estimate converges to the exact value.
    for _ in range(60):
        sigma, u = _two(call(fn, W.clone(), u.clone(), what=what), what, 5)
    expect_close(
        sigma,
        exact,
        f"{what} repeated 60 times",
        atol=1e-3,
        hint="repeated, power iteration converges to the largest singular value: return the "
        "new u so the next step can continue from it",
    )
    passed(
        what,
        f"one step gives {reference.item():.4f}; 60 steps converge to the largest singular value "
        f"{exact.item():.4f}",
    )


# --------------------------------------------------------------------------- hinge losses
def hinge_critic_loss(fn: Callable[[Tensor, Tensor], Tensor]) -> None:
    """``fn(real_scores, fake_scores)``: mean(relu(1 - real)) + mean(relu(1 + fake))."""
    what = "hinge_critic_loss"
    # scores on both sides of the margins, so every place a relu goes (or not) shows
    real = torch.linspace(-2.0, 3.0, 16).reshape(-1, 1)
    fake = torch.linspace(-3.5, 1.0, 12).reshape(-1, 1)
    r, f = real.clone().requires_grad_(True), fake.clone().requires_grad_(True)
    loss = _scalar(call_explained(fn, r, f, what=what, explain=_PAIR_ERRORS), what)
    reference = losses.d_loss_hinge(real, fake)
    mistakes = {
        "the margins are the wrong way round: real scores should end above +1 and fake "
        "scores below -1": F.relu(1 + real).mean() + F.relu(1 - fake).mean(),
        "without the hinge it is the Wasserstein loss plus 2: the hinge stops pushing a score "
        "once it is beyond its margin of 1": (1 - real).mean() + (1 + fake).mean(),
        "the margin is 1: real scores are pushed above +1 and fake ones below -1, not just "
        "past 0": F.relu(-real).mean() + F.relu(fake).mean(),
        "the hinge applies to each score, before the average: a score beyond its margin costs "
        "nothing, whatever the others do": F.relu(1 - real.mean()) + F.relu(1 + fake.mean()),
        "the critic's loss has two terms, one per batch: the fake scores' term is missing": (
            F.relu(1 - real).mean()
        ),
        "the critic's loss has two terms, one per batch: the real scores' term is missing": (
            F.relu(1 + fake).mean()
        ),
        _SUMMED: F.relu(1 - real).sum() + F.relu(1 + fake).sum(),
        _RAW: losses.d_loss_hinge(torch.sigmoid(real), torch.sigmoid(fake)),
        "that is the Wasserstein loss of section 2: the hinge loss adds a margin of 1 on each "
        "side and stops pushing a score once it is beyond it": losses.d_loss_wasserstein(
            real, fake
        ),
    }
    expect_close(
        loss.detach(),
        reference,
        what,
        hint="for each real score, how far it falls short of +1 (0 if above); for each fake, "
        "how far it rises above -1 (0 if below); the mean of each, added",
        mistakes=mistakes,
    )
    expect_connected(loss, what, expected=_CONNECTED)
    _backward_reaches(loss, r, f, what=what)
    passed(what, f"mean(relu(1 - D(x))) + mean(relu(1 + D(G(z)))) = {loss.item():.4f}")


def hinge_generator_loss(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(fake_scores)``: -mean(fake), with no margin."""
    what = "hinge_generator_loss"
    fake = torch.linspace(-3.5, 1.0, 12).reshape(-1, 1)
    f = fake.clone().requires_grad_(True)
    loss = _scalar(call_explained(fn, f, what=what, explain=_PAIR_ERRORS), what)
    reference = losses.g_loss_hinge(fake)
    mistakes = {
        "the generator's loss has no margin: it keeps raising its fakes' scores, minus their "
        "mean": F.relu(1 - fake).mean(),
        "the hinge belongs to the critic's loss: G's loss is minus the mean score of its "
        "fakes": F.relu(1 + fake).mean(),
        "the sign is flipped: G wants its fakes scored HIGH, so it minimises minus their mean": (
            -reference
        ),
        _SUMMED: -fake.sum(),
    }
    expect_close(loss.detach(), reference, what, hint="minus the mean score", mistakes=mistakes)
    expect_connected(loss, what, expected=_CONNECTED)
    _backward_reaches(loss, f, what=what)
    passed(what, f"-mean(D(G(z))) = {loss.item():.4f}, no margin for G")


# --------------------------------------------------------------------------- the training step
#: The toy the step runs on: B = 4 samples of 3x2x2 per critic update and a latent of 4 numbers,
#: sizes unlike the notebook's, so a step that uses the notebook's BATCH_SIZE or Z_DIM shows it.
_TOY_IMAGE = (3, 2, 2)
_TOY_B = 4
_TOY_Z = 4
_STEP = "train_step"
_D_STEP = "train_step ({}): critic update"
_G_STEP = "train_step ({}): G update"
_PARAMS = (
    "D",
    "G",
    "d_optimizer",
    "g_optimizer",
    "z_dim",
    "n_critic",
    "gp_weight",
    "clip",
    "d_loss_fn",
    "g_loss_fn",
)
#: The three calls: WGAN-GP, the hinge loss (as with spectral norm), WGAN with weight clipping
#: (last: clipped weights give scores inside the hinge's margins, where it equals the Wasserstein
#: loss and a hard-coded loss would go unseen).
_TOY_CALLS = (
    ("WGAN-GP", 3, 10.0, None, losses.d_loss_wasserstein, losses.g_loss_wasserstein),
    ("hinge loss", 1, 0.0, None, losses.d_loss_hinge, losses.g_loss_hinge),
    ("WGAN with clipping", 2, 0.0, 0.05, losses.d_loss_wasserstein, losses.g_loss_wasserstein),
)


class _Log:
    """What the toy networks were called on during one call of the step, phase by phase.

    The phase is the number of optimizer steps taken so far in this call: 0 during the first
    critic update, ..., n_critic during G's update.
    """

    def __init__(self) -> None:
        self.phase = 0
        self.d_calls: list[tuple[int, Tensor, bool, list[Tensor]]] = []  # phase, x, grad?, weights
        self.g_calls: list[tuple[int, Tensor, Tensor]] = []  # (phase, z, output)

    def made_from(self, row: Tensor, phase: int | None) -> Tensor | None:
        """The latent G turned into the flattened image ``row`` (in ``phase``, or any)."""
        for p, z, out in self.g_calls:
            if phase is not None and p != phase:
                continue
            gaps = (out.reshape(len(out), -1) - row).abs().amax(dim=1)
            if gaps.numel() and gaps.min() <= 1e-6:
                return z.reshape(len(z), -1)[int(gaps.argmin())]
        return None


class _ToyD(nn.Module):
    """A small smooth critic (Tanh: its gradient depends on where it is taken), which logs."""

    def __init__(self, log: _Log | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.Tanh(), nn.Linear(8, 1))
        self.log = log

    def forward(self, x: Tensor) -> Tensor:
        if self.log is not None:
            now = [p.detach().clone() for p in self.parameters()]
            self.log.d_calls.append((self.log.phase, x.detach().clone(), x.requires_grad, now))
        return 8 * self.net(x)  # scores on both sides of the hinge's margins


class _ToyG(nn.Module):
    """A small generator, z (N, 4) or (N, 4, 1, 1) -> (N, 3, 2, 2), which logs its calls."""

    def __init__(self, log: _Log | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(_TOY_Z, 16), nn.Tanh(), nn.Linear(16, 12))
        self.log = log

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z.reshape(len(z), -1)).view(-1, *_TOY_IMAGE)
        if self.log is not None:
            self.log.g_calls.append((self.log.phase, z.detach().clone(), out.detach().clone()))
        return out


def _penalty_at(D: nn.Module, x_hat: Tensor) -> Tensor:
    """WGAN-GP's penalty at given points (``losses.gradient_penalty`` draws its own points)."""
    x = x_hat.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(D(x).sum(), x, create_graph=True)
    return ((g.flatten(1).norm(dim=1) - 1) ** 2).mean()


class _ToyGAN:
    """The toy pair, their SGD optimizers, and the checks run at each optimizer step."""

    def __init__(self) -> None:
        self.log = _Log()
        self.D, self.G = _ToyD(self.log), _ToyG(self.log)
        self.d_optimizer = torch.optim.SGD(self.D.parameters(), lr=1e-3)
        self.g_optimizer = torch.optim.SGD(self.G.parameters(), lr=0.05)
        self.watch = StepWatch(
            {"d": self.d_optimizer, "g": self.g_optimizer},
            on_step=self._on_step,
            backward_into=self.G,
            on_reused_graph=self._reused_graph,
        )
        self.errors: list[CheckFailed] = []
        self.expected: dict[str, float] = {}
        self.left: dict[str, list[Tensor]] = {}
        self.boxed_at_step: list[bool] = []

    def start(self, name: str, n_critic: int, gp_weight: float, clip: float | None, d_fn, g_fn):
        self.name, self.n_critic, self.gp_weight, self.clip = name, n_critic, gp_weight, clip
        self.d_fn, self.g_fn = d_fn, g_fn
        self.real = torch.rand(n_critic * _TOY_B, *_TOY_IMAGE) * 2 - 1
        self.log.phase, self.log.d_calls, self.log.g_calls = 0, [], []
        self.watch.reset()
        self.errors, self.expected, self.boxed_at_step = [], {}, []
        self.left = {"d": grads(self.D.parameters()), "g": grads(self.G.parameters())}

    def plan(self) -> list[str]:
        return ["d"] * self.n_critic + ["g"]

    def in_box(self) -> bool:
        return all(p.abs().max() <= self.clip + 1e-6 for p in self.D.parameters())

    def _fresh(self, d_weights: list[Tensor] | None = None) -> tuple[_ToyD, _ToyG]:
        """Copies of the networks as they are now (or D with ``d_weights``), without a log."""
        D, G = _ToyD(), _ToyG()
        D.load_state_dict(self.D.state_dict())
        G.load_state_dict(self.G.state_dict())
        if d_weights is not None:
            with torch.no_grad():
                for p, w in zip(D.parameters(), d_weights, strict=True):
                    p.copy_(w)
        return D, G

    def _on_step(self, name: str) -> None:
        try:
            self._check_order()
            self._check_d() if name == "d" else self._check_g()
        except CheckFailed as failure:
            self.errors.append(failure)  # raised after the call: the learner's code runs on
        if name == "d" and self.clip is not None:
            self.boxed_at_step.append(self.in_box())
        self.left[name] = grads((self.D if name == "d" else self.G).parameters())
        self.log.phase += 1

    def _check_order(self) -> None:
        order, plan = self.watch.order, self.plan()
        if order != plan[: len(order)]:
            raise CheckFailed(
                _STEP,
                expected=_plan_text(self.n_critic),
                found="optimizer steps: " + " -> ".join(order),
                hint=_order_hint(order, self.n_critic),
            )

    def _calls(self, phase: int) -> list[tuple[Tensor, bool, list[Tensor]]]:
        return [(x, g, w) for p, x, g, w in self.log.d_calls if p == phase]

    def _check_d(self) -> None:
        k = self.log.phase
        g_now = grads(self.G.parameters())
        if not same_grads(g_now, self.left["g"]) and any(g.abs().sum() > 0 for g in g_now):
            raise CheckFailed(
                _D_STEP.format(self.name),
                expected="the critic's loss to stop at the fakes (no gradient in G)",
                found="the critic's loss sent gradients into G",
                hint="the critic's update must not move G: score detached fakes (and build the "
                "penalty's points from them)",
            )
        calls = self._calls(k)
        if not calls:
            raise CheckFailed(
                _D_STEP.format(self.name),
                expected=f"update {k + 1}: the critic scoring a slice of real images and new fakes",
                found="no call of the critic before this optimizer step",
                hint="each critic update scores its real slice and new fakes, then steps",
            )
        real_rows, fake_z, points, other = [], [], [], 0
        for x, tracked, _ in calls:
            for row in x.reshape(len(x), -1):
                index = _row_index(self.real.reshape(len(self.real), -1), row)
                z = self.log.made_from(row, k)
                if index is not None and not tracked:
                    real_rows.append(index)
                elif z is not None and not tracked:
                    fake_z.append(z)
                elif tracked:
                    points.append(row)
                elif self.log.made_from(row, None) is not None:
                    raise CheckFailed(
                        _D_STEP.format(self.name),
                        expected=f"update {k + 1} on fakes G made for it",
                        found="fakes made for an earlier update",
                        hint="each critic update scores new fakes: draw new z and run G again "
                        "for every update",
                    )
                else:
                    other += 1
        if other:
            raise CheckFailed(
                _D_STEP.format(self.name),
                expected="the critic scoring the real slice and G's fakes",
                found="the critic scored images that are neither",
                hint="score the real images of this update's slice and G's new fakes as they are",
            )
        wanted = list(range(k * _TOY_B, (k + 1) * _TOY_B))
        if sorted(set(real_rows)) != wanted:
            raise CheckFailed(
                _D_STEP.format(self.name),
                expected=f"update {k + 1} of {self.n_critic} on real images {wanted[0]} to "
                f"{wanted[-1]}: the batch holds n_critic slices of {_TOY_B}",
                found=_rows_found(real_rows),
                hint=_slice_hint(real_rows, k, self.n_critic),
            )
        z = _distinct(fake_z)  # in the order G made them: the penalty pairs them with the reals
        if len(z) != _TOY_B:
            raise CheckFailed(
                _D_STEP.format(self.name),
                expected=f"as many new fakes as real images in the slice ({_TOY_B})",
                found=f"{len(z)} fakes",
                hint="the number of fakes comes from the real slice the update uses, not from a "
                "setting of the notebook",
            )
        forward_weights = calls[0][2]
        if self.clip is not None and k > 0:
            if any(w.abs().max() > self.clip + 1e-6 for w in forward_weights):
                raise CheckFailed(
                    _D_STEP.format(self.name),
                    expected=f"update {k + 1} starting from weights in [-{self.clip}, {self.clip}]",
                    found="weights outside the box after the previous update",
                    hint="clip after every critic update, not once at the end: each update "
                    "must start from a critic inside the box",
                )
        if any(
            not torch.equal(p, w) for p, w in zip(self.D.parameters(), forward_weights, strict=True)
        ):
            raise CheckFailed(
                _D_STEP.format(self.name),
                expected="the critic's weights unchanged between its forward pass and its step",
                found="weights changed after the backward pass, before the step",
                hint="clip the weights after the optimizer's step: clipped before it, the step "
                "moves them out of the box again, and the gradients belong to other weights",
            )
        D, G = self._fresh()
        real = self.real[wanted]
        real_scores, fake_scores = D(real), D(G(z))
        loss = self.d_fn(real_scores, fake_scores)
        penalty = torch.zeros(())
        if self.gp_weight:
            if not points:
                raise CheckFailed(
                    _D_STEP.format(self.name),
                    expected=f"the gradient penalty in the critic's loss (gp_weight={self.gp_weight})",
                    found="no penalty: the critic never scored points between real and fake",
                    hint="with gp_weight > 0 the critic's loss adds gp_weight times the gradient "
                    "penalty on this update's real slice and fakes",
                )
            x_hat = torch.stack(points[-_TOY_B:]).reshape(-1, *_TOY_IMAGE)
            _expect_between(x_hat, real, G(z).detach(), self.name)
            penalty = _penalty_at(D, x_hat)
        reference = loss + self.gp_weight * penalty
        self.expected.update(
            d_loss=reference.item(),
            real_score=real_scores.mean().item(),
            fake_score=fake_scores.mean().item(),
        )
        mistakes = {
            "use the loss the step is given, d_loss_fn: the check passes "
            f"{_name(self.d_fn)} here": (
                losses.d_loss_wasserstein(real_scores, fake_scores)
                if self.d_fn is not losses.d_loss_wasserstein
                else losses.d_loss_hinge(real_scores, fake_scores)
            )
            + self.gp_weight * penalty,
            "the critic minimises its loss: do not flip its sign": -loss + self.gp_weight * penalty,
        }
        if self.gp_weight:
            mistakes.update(
                {
                    "the critic's loss adds the penalty times gp_weight: the penalty is "
                    "missing": loss,
                    "multiply the penalty by gp_weight": loss + penalty,
                    "the penalty is added to the critic's loss: the critic pays for gradient "
                    "norms away from 1": loss - self.gp_weight * penalty,
                }
            )
        self._stepped_with("d", reference, D, mistakes)

    def _check_g(self) -> None:
        phase = self.log.phase
        if self.clip is not None and not self.in_box():
            boxed = self.boxed_at_step
            raise CheckFailed(
                _G_STEP.format(self.name),
                expected=f"the critic's weights in [-{self.clip}, {self.clip}] when G learns "
                "from it",
                found="weights outside the box",
                hint="clip after the optimizer's step: clipped before it, the step moves them "
                "out of the box again"
                if boxed and all(boxed)
                else f"with clip={self.clip}, clip the critic's weights after every critic update",
            )
        seen = [x for x, _, _ in self._calls(phase)]
        if not seen:
            raise CheckFailed(
                _G_STEP.format(self.name),
                expected="the critic scoring G's new fakes after its updates",
                found="no call of the critic during G's update",
                hint="G learns from the critic's verdict after all n_critic updates: score new "
                "fakes with it",
            )
        rows = seen[-1].reshape(len(seen[-1]), -1)
        zs = [self.log.made_from(row, phase) for row in rows]
        if any(z is None for z in zs):
            stale = all(self.log.made_from(row, None) is not None for row in rows)
            raise CheckFailed(
                _G_STEP.format(self.name),
                expected="G's update on fakes G makes after the critic's updates",
                found="fakes made during the critic's updates" if stale else "other images",
                hint="G learns from new fakes, made with gradients, scored by the updated critic"
                if stale
                else "G's loss is the critic's score of G's own new fakes",
            )
        z = torch.stack(zs)
        if len(z) != _TOY_B:
            raise CheckFailed(
                _G_STEP.format(self.name),
                expected=f"as many fakes as one slice of real images ({_TOY_B})",
                found=f"{len(z)} fakes",
                hint="G's update draws as many latents as one critic update uses: the batch "
                "holds n_critic slices",
            )
        D, G = self._fresh()
        scores = D(G(z))
        reference = self.g_fn(scores)
        self.expected["g_loss"] = reference.item()
        mistakes = {
            "G wants its fakes scored high: minimise minus their mean score": -reference,
            "the hinge belongs to the critic's loss: G's loss is minus the mean score": (
                F.relu(1 - scores).mean()
            ),
            "G's loss comes from the critic's scores: a BCE belongs to the original GAN": bce(
                scores, 1.0
            ),
        }
        self._stepped_with("g", reference, G, mistakes)

    def _stepped_with(
        self, name: str, loss: Tensor, net: nn.Module, mistakes: dict[str, Tensor]
    ) -> None:
        """The optimizer ``name`` stepped with the gradients of ``loss`` for ``net``, named by
        the mistake they match otherwise (lesson 00's table, on gradients)."""
        what = (_D_STEP if name == "d" else _G_STEP).format(self.name)
        wrong_grads = {}
        if self.clip is not None:
            wrong_grads[
                "the gradients were clipped: weight clipping keeps the WEIGHTS in the box, "
                "after the optimizer's step"
            ] = [e.clamp(-self.clip, self.clip) for e in loss_grads(loss, net.parameters())]
        hint = gradient_mistake(
            self.watch.grads[name][-1],
            loss,
            net.parameters(),
            stale=self.left[name],
            no_grads_hint=NO_GRADS[name],
            wrong_grads=wrong_grads,
            mistakes=mistakes,
            atol=1e-5,
        )
        if hint is None:
            return
        kind = (
            f"{_name(self.d_fn)}(D(real slice), D(fakes))"
            + (f" + {self.gp_weight:g} * penalty" if self.gp_weight else "")
            if name == "d"
            else f"{_name(self.g_fn)}(D(G(z))) with the critic after its updates"
        )
        raise CheckFailed(
            what,
            expected=f"the gradients of {kind} ({self.name})",
            found=f"other gradients at {name}_optimizer.step()",
            hint=hint,
        )

    def _reused_graph(self, failure: CheckFailed) -> CheckFailed:
        """Autograd refused a graph used twice, or changed by an optimizer step: say which."""
        order = self.watch.order
        if "g" in order or self.watch.backward_passes > 0 or "d" not in order:
            hint = (
                "the critic's update must not reach G: score detached fakes, and make G's "
                "fakes for its own update after the critic's updates"
            )
        else:
            hint = (
                "each critic update builds its own graph: new fakes, new scores, new penalty; "
                "G's loss scores new fakes with the updated critic"
            )
        return CheckFailed(
            failure.what,
            expected="each backward through a graph built for it",
            found="a backward through a graph already used, or changed by an optimizer step "
            f"(torch says: {failure.found[:120]} ...)",
            hint=hint,
        )


def _distinct(rows: list[Tensor]) -> Tensor:
    """The rows without repeats (fakes scored twice count once), in their first order."""
    kept: list[Tensor] = []
    for row in rows:
        if not any(torch.equal(row, k) for k in kept):
            kept.append(row)
    return torch.stack(kept) if kept else torch.zeros(0, _TOY_Z)


def _name(fn: Callable[..., Any]) -> str:
    return getattr(fn, "__name__", type(fn).__name__)


def _row_index(rows: Tensor, row: Tensor) -> int | None:
    gaps = (rows - row).abs().amax(dim=1)
    return int(gaps.argmin()) if gaps.min() <= 1e-6 else None


def _rows_found(rows: list[int]) -> str:
    if not rows:
        return "no real image scored"
    unique = sorted(set(rows))
    return f"real images {unique[0]} to {unique[-1]} ({len(unique)} of them)"


def _slice_hint(rows: list[int], k: int, n_critic: int) -> str:
    unique = sorted(set(rows))
    if len(unique) == n_critic * _TOY_B:
        return (
            "the real batch holds n_critic slices, one per critic update: split it and give "
            "each update its own slice (not the whole batch every time)"
        )
    if k > 0 and unique == list(range(_TOY_B)):
        return "each critic update takes its own slice: update k uses the k-th, not the first"
    return "split the real batch into n_critic equal slices, in order, one per critic update"


def _expect_between(x_hat: Tensor, real: Tensor, fake: Tensor, name: str) -> None:
    """The penalty's points lie between the update's real slice and its fakes, pair by pair."""
    r, f, x = real.flatten(1), fake.flatten(1), x_hat.flatten(1)
    direction = r - f
    t = ((x - f) * direction).sum(1) / (direction**2).sum(1)
    if torch.allclose(t, torch.ones_like(t), atol=1e-4) or torch.allclose(
        t, torch.zeros_like(t), atol=1e-4
    ):
        raise CheckFailed(
            _D_STEP.format(name),
            expected="the penalty measured between this update's real slice and its fakes",
            found="the penalty measured at the "
            + ("real" if t.mean() > 0.5 else "fake")
            + " samples themselves",
            hint="the gradient penalty is taken at random points between each real image and "
            "its fake",
        )
    if not torch.allclose(x, f + t[:, None] * direction, atol=1e-4):
        raise CheckFailed(
            _D_STEP.format(name),
            expected="the penalty's points between this update's real slice and its fakes",
            found="points off the lines between them",
            hint="pass the penalty the same real slice and fakes the critic's loss scores",
        )


def _plan_text(n_critic: int) -> str:
    return (
        f"d_optimizer.step() {n_critic} time(s) (n_critic={n_critic}), then g_optimizer.step() once"
    )


def _order_hint(order: list[str], n_critic: int) -> str:
    if order[:1] == ["g"]:
        return "the critic learns first, n_critic times; then G learns once against it"
    if order.count("d") > n_critic:
        return "n_critic critic updates per step, no more: one per slice of the real batch"
    if order.count("g") > 1 or ("g" in order and order.count("d") < n_critic):
        return (
            f"the critic updates n_critic times ({n_critic}), once per slice of the real batch; "
            "G updates once, after the n_critic critic updates"
        )
    return f"the critic updates n_critic times ({n_critic}), then G updates once"


#: torch errors a step makes on the toy, and the mistake behind each.
def _step_error(failure: CheckFailed) -> CheckFailed:
    found = failure.found.lower()
    if "mat1 and mat2" in found or ("shape" in found and "invalid for input" in found):
        mistake = "G got a latent of the wrong size"
        hint = (
            f"draw z with the z_dim the step is given (the toy's is {_TOY_Z}) and as many rows "
            "as real images in a slice, not the notebook's Z_DIM or BATCH_SIZE"
        )
    elif "does not require grad" in found:
        mistake = "a loss with no gradient to follow"
        hint = (
            "each loss must reach its network: G's fakes for its own update must not be "
            "detached, and the critic's scores must not be computed without gradients"
        )
    elif "must match the size of tensor" in found:
        mistake = "tensors of different sizes met"
        hint = (
            "the fakes of each critic update match its real slice in number: one slice of the "
            "batch, n_critic slices in all"
        )
    elif "chunk expects" in found or "must be greater than 0" in found:
        mistake = "the batch could not be split"
        hint = "split the real batch into n_critic slices (n_critic is at least 1)"
    else:
        return failure
    return CheckFailed(
        failure.what, expected=failure.expected, found=f"{mistake} ({failure.found})", hint=hint
    )


def train_step(step: Callable[..., Any]) -> None:
    """``step(real_images, D, G, d_optimizer, g_optimizer, z_dim, n_critic, gp_weight, clip,
    d_loss_fn, g_loss_fn)`` -> dict.

    Runs the step on a toy pair three times, called the way ``train.fit`` calls it: WGAN-GP
    (3 critic updates, penalty weight 10), the hinge loss (1 update) and WGAN with clipping
    (2 updates, c = 0.05). The real batch holds ``n_critic`` slices of 4 images, one per critic update.
    At each optimizer step the gradients are compared with those of the losses the step is given
    (and the penalty at the points the step chose), recomputed on fresh copies.
    """
    expect_step_signature(step, ["real_images"], _PARAMS, what=_STEP)
    with seeded(0):
        gan = _ToyGAN()
        for name, n_critic, gp_weight, clip, d_fn, g_fn in _TOY_CALLS:
            expect_trainable(gan.D, "the critic", _STEP)
            gan.start(name, n_critic, gp_weight, clip, d_fn, g_fn)
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
                    n_critic=n_critic,
                    gp_weight=gp_weight,
                    clip=clip,
                    d_loss_fn=d_fn,
                    g_loss_fn=g_fn,
                )
            except CheckFailed as failure:
                raise gan.errors[0] if gan.errors else _step_error(failure) from None
            if gan.errors:
                raise gan.errors[0]
            if gan.watch.order != gan.plan():
                raise CheckFailed(
                    f"{_STEP} ({name})",
                    expected=_plan_text(n_critic),
                    found="optimizer steps: " + (" -> ".join(gan.watch.order) or "none"),
                    hint=_order_hint(gan.watch.order, n_critic),
                )
            if clip is not None and not gan.in_box():
                raise CheckFailed(
                    f"{_STEP} ({name})",
                    expected=f"the critic's weights in [-{clip}, {clip}] after the step",
                    found="weights outside the box",
                    hint="clip the critic's weights after every critic update when clip is given",
                )
            expect_updated(_STEP, {"D": (gan.D, before_d), "G": (gan.G, before_g)})
            expect_step_values(result, gan.expected, _STEP, keys=_VALUES, hint=_value_hint)
    passed(
        _STEP,
        "n_critic critic updates, each on its own real slice and new detached fakes (+ the "
        "penalty, or clipping after the step), then one G update; values returned",
    )


_VALUES = ("d_loss", "g_loss", "real_score", "fake_score")


def _value_hint(key: str) -> str:
    return (
        "return the values of the last critic update (its loss with the penalty, its mean "
        "scores) and of G's update"
    )
