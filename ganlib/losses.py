"""GAN losses, each a few lines with its formula.

Discriminators output logits ``l`` (raw scores); ``D(x) = sigmoid(l)``. The BCE losses work on
the logits directly (``binary_cross_entropy_with_logits`` computes ``log(sigmoid(l))`` as
``-softplus(-l)``), which stays finite where ``torch.log(torch.sigmoid(l))`` would give ``-inf``.

Every loss here is a function you can swap into the trainers::

    fit_gan(G, D, loader, z_dim=100, d_loss=losses.d_loss_hinge, g_loss=losses.g_loss_hinge)

The Wasserstein losses (lesson 06) score with a *critic* instead: raw scores, no sigmoid, and the
critic must be kept 1-Lipschitz by something else, e.g. :func:`gradient_penalty`.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable

import numpy as np
import torch
import torch.nn.functional as F

__all__ = [
    "real_loss",
    "fake_loss",
    "d_loss_bce",
    "g_loss_nonsaturating",
    "g_loss_minimax",
    "d_loss_lsgan",
    "g_loss_lsgan",
    "d_loss_hinge",
    "g_loss_hinge",
    "d_loss_wasserstein",
    "g_loss_wasserstein",
    "gradient_penalty",
    "cycle_loss",
    "identity_loss",
]


def _check_smooth(smooth: object) -> float:
    """The target label as a float in (0, 1]; a bool is refused, not read as 1.0 or 0.0.

    Lesson 01's own ``real_loss`` takes ``smooth=True``; here ``smooth`` is the target itself, so
    ``smooth=True`` would silently mean "no smoothing" (True == 1.0).
    """
    if isinstance(smooth, bool | np.bool_) or getattr(smooth, "dtype", None) == torch.bool:
        raise ValueError(
            f"smooth is the target label for real images, not a switch: got smooth={smooth}. "
            "Pass the target, e.g. smooth=0.9 for label smoothing (smooth=1.0: none)."
        )
    one_number = isinstance(smooth, torch.Tensor) and smooth.numel() == 1
    if not (isinstance(smooth, numbers.Real) or one_number):  # numpy scalars are Real too
        raise ValueError(
            f"smooth must be a number in (0, 1], got {type(smooth).__name__}; "
            "pass the target label, e.g. smooth=0.9"
        )
    value = float(smooth)
    if not 0 < value <= 1:
        raise ValueError(
            f"smooth must be a target label in (0, 1], got {smooth}; "
            "use e.g. smooth=0.9 for label smoothing (smooth=1.0: none)."
        )
    return value


def real_loss(logits: torch.Tensor, smooth: float = 1.0) -> torch.Tensor:
    """BCE against the label "real": ``mean(-[s log D(x) + (1 - s) log(1 - D(x))])``.

    ``smooth`` is the target label s (a number, not a bool); one-sided label smoothing uses
    ``smooth=0.9`` so the discriminator is never pushed to be fully certain.
    """
    target = _check_smooth(smooth)
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def fake_loss(logits: torch.Tensor) -> torch.Tensor:
    """BCE against the label "fake": ``mean(-log(1 - D(x)))``."""
    return F.binary_cross_entropy_with_logits(logits, torch.zeros_like(logits))


def d_loss_bce(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, smooth: float = 1.0
) -> torch.Tensor:
    """Discriminator loss of the original GAN: ``-log D(x) - log(1 - D(G(z)))`` (batch means).

    ``smooth`` is the target for real images, as in :func:`real_loss` (e.g. 0.9, never a bool).
    """
    return real_loss(real_logits, smooth) + fake_loss(fake_logits)


def g_loss_nonsaturating(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``-log D(G(z))``.

    Its gradient is large exactly when D confidently rejects the fakes (early training), which is
    why practice uses it instead of the minimax form.
    """
    return real_loss(fake_logits)


def g_loss_minimax(fake_logits: torch.Tensor) -> torch.Tensor:
    """Minimax generator loss: ``log(1 - D(G(z)))``, the game's value as G sees it.

    It saturates: when D rejects the fakes, ``D(G(z))`` is near 0 and the gradient vanishes.
    """
    return -fake_loss(fake_logits)


def d_loss_lsgan(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss (Mao et al.): ``½ mean((D(x) - 1)²) + ½ mean(D(G(z))²)``.

    The scores are used as they are (no sigmoid).
    """
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores**2).mean()


def g_loss_lsgan(fake_scores: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss: ``mean((D(G(z)) - 1)²)`` (the CycleGAN convention)."""
    return ((fake_scores - 1) ** 2).mean()


def d_loss_hinge(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge discriminator loss: ``mean(relu(1 - D(x))) + mean(relu(1 + D(G(z))))``."""
    return F.relu(1 - real_logits).mean() + F.relu(1 + fake_logits).mean()


def g_loss_hinge(fake_logits: torch.Tensor) -> torch.Tensor:
    """Hinge generator loss: ``-mean(D(G(z)))``."""
    return -fake_logits.mean()


def d_loss_wasserstein(real_scores: torch.Tensor, fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein critic loss (Arjovsky et al. 2017): ``mean(D(G(z))) - mean(D(x))``.

    Minimising it widens the gap ``mean(D(x)) - mean(D(G(z)))``; for a 1-Lipschitz critic the
    widest gap is the Earth-Mover distance between the data and the generator's samples. The
    scores are used as they are (no sigmoid), and each batch is averaged on its own.
    """
    return fake_scores.mean() - real_scores.mean()


def g_loss_wasserstein(fake_scores: torch.Tensor) -> torch.Tensor:
    """Wasserstein generator loss: ``-mean(D(G(z)))``: raise the critic's scores of the fakes."""
    return -fake_scores.mean()


def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor], real: torch.Tensor, fake: torch.Tensor
) -> torch.Tensor:
    """WGAN-GP's penalty (Gulrajani et al. 2017): ``mean((||grad D(x_hat)|| - 1)^2)``.

    ``x_hat = eps * real + (1 - eps) * fake`` with one ``eps ~ U[0, 1]`` per sample: points on
    the straight lines between real and generated samples, where the optimal critic's gradient
    has norm 1. The norm is taken per sample over all its other dimensions. The gradient is built
    with ``create_graph=True`` so that the penalty can itself be backpropagated into the critic's
    weights. Add ``lambda * gradient_penalty(...)`` (lambda = 10 in the paper) to the critic's loss.
    The critic must score each sample on its own (no batch norm): the gradient of the summed
    scores at a sample is then that sample's own gradient.
    """
    _same_shape("gradient_penalty", real, fake)
    real, fake = real.detach(), fake.detach()  # the penalty constrains the critic, not G
    eps = torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device, dtype=real.dtype)
    between = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(between).sum(), between, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def _same_shape(name: str, a: torch.Tensor, b: torch.Tensor) -> None:
    if a.shape != b.shape:
        raise ValueError(
            f"{name} compares two image batches of the same shape, got {tuple(a.shape)} and "
            f"{tuple(b.shape)}"
        )


def cycle_loss(
    real: torch.Tensor, reconstructed: torch.Tensor, weight: float = 10.0
) -> torch.Tensor:
    """Cycle-consistency loss: ``weight * mean(|x - F(G(x))|)`` (L1, lambda = 10 in CycleGAN)."""
    _same_shape("cycle_loss", real, reconstructed)
    return weight * (real - reconstructed).abs().mean()


def identity_loss(real: torch.Tensor, same: torch.Tensor, weight: float = 5.0) -> torch.Tensor:
    """Identity loss: ``weight * mean(|y - G(y)|)``: a generator fed its target domain keeps it.

    CycleGAN uses ``weight = 0.5 * lambda_cycle``; it keeps the colours of a scene stable.
    """
    _same_shape("identity_loss", real, same)
    return weight * (real - same).abs().mean()
