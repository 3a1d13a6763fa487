"""Lesson 00 (the GAN game): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------------------- discriminator loss
def discriminator_loss(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def d_loss_flipped(real_logits, fake_logits):
    return discriminator_loss(fake_logits, real_logits)


def d_loss_sigmoid_twice(real_logits, fake_logits):
    return discriminator_loss(torch.sigmoid(real_logits), torch.sigmoid(fake_logits))


def d_loss_averaged(real_logits, fake_logits):
    return discriminator_loss(real_logits, fake_logits) / 2


def d_loss_real_only(real_logits, fake_logits):
    return F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))


def d_loss_fake_only(real_logits, fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def d_loss_fakes_labelled_real(real_logits, fake_logits):
    """ones_like copied into the second line."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))
    return real + fake


def d_loss_reals_labelled_fake(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(real_logits, torch.zeros_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def d_loss_summed(real_logits, fake_logits):
    """reduction="sum", as for a loss over a whole dataset."""
    real = F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits), reduction="sum"
    )
    fake = F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits), reduction="sum"
    )
    return real + fake


def d_loss_sign_flipped(real_logits, fake_logits):
    """D maximises V, written literally: -BCE."""
    return -discriminator_loss(real_logits, fake_logits)


def d_loss_one_batch(real_logits, fake_logits):
    """Real and fake concatenated into one BCE: the mean of the two, not their sum."""
    logits = torch.cat([real_logits, fake_logits])
    labels = torch.cat([torch.ones_like(real_logits), torch.zeros_like(fake_logits)])
    return F.binary_cross_entropy_with_logits(logits, labels)


def d_loss_plain_bce(real_logits, fake_logits):
    """F.binary_cross_entropy (it wants probabilities) on logits."""
    real = F.binary_cross_entropy(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def d_loss_label_shape(real_logits, fake_logits):
    """Labels of shape (N,) for logits of shape (N, 1)."""
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones(len(real_logits)))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros(len(fake_logits)))
    return real + fake


def d_loss_integer_labels(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits, dtype=torch.long)
    )
    fake = F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits, dtype=torch.long)
    )
    return real + fake


def d_loss_number_labels(real_logits, fake_logits):
    return F.binary_cross_entropy_with_logits(real_logits, 1) + F.binary_cross_entropy_with_logits(
        fake_logits, 0
    )


def d_loss_module_with_data(real_logits, fake_logits):
    """The loss class called like the function."""
    real = nn.BCEWithLogitsLoss(real_logits, torch.ones_like(real_logits))
    fake = nn.BCEWithLogitsLoss(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def d_loss_clamped_log(real_logits, fake_logits):
    """log(sigmoid(x) + eps): no -inf, but wrong for confident logits."""
    eps = 1e-8
    return -(
        torch.log(torch.sigmoid(real_logits) + eps).mean()
        + torch.log(1 - torch.sigmoid(fake_logits) + eps).mean()
    )


def d_loss_naive_log(real_logits, fake_logits):
    return -(
        torch.log(torch.sigmoid(real_logits)).mean()
        + torch.log(1 - torch.sigmoid(fake_logits)).mean()
    )


def d_loss_naive_log_sigmoid(real_logits, fake_logits):
    """1 - sigmoid(x) written as sigmoid(-x): finite up to |x| ~ 90 in float32, -inf beyond."""
    return -(
        torch.log(torch.sigmoid(real_logits)).mean() + torch.log(torch.sigmoid(-fake_logits)).mean()
    )


def d_loss_per_sample(real_logits, fake_logits):
    real = F.binary_cross_entropy_with_logits(
        real_logits, torch.ones_like(real_logits), reduction="none"
    )
    fake = F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits), reduction="none"
    )
    return real + fake


def d_loss_item(real_logits, fake_logits):
    return torch.tensor(discriminator_loss(real_logits, fake_logits).item())


def d_loss_returns_none(real_logits, fake_logits):
    discriminator_loss(real_logits, fake_logits)


# --------------------------------------------------------------------------- generator losses
def minimax_loss(fake_logits):
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def non_saturating_loss(fake_logits):
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def minimax_sign_flipped(fake_logits):
    return -minimax_loss(fake_logits)


def minimax_naive(fake_logits):
    return torch.log(1 - torch.sigmoid(fake_logits)).mean()


def minimax_naive_sigmoid_neg(fake_logits):
    return torch.log(torch.sigmoid(-fake_logits)).mean()


def minimax_log_d(fake_logits):
    """log D(G(z)) instead of log(1 - D(G(z)))."""
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def minimax_summed(fake_logits):
    return -F.binary_cross_entropy_with_logits(
        fake_logits, torch.zeros_like(fake_logits), reduction="sum"
    )


def minimax_sigmoid_twice(fake_logits):
    return minimax_loss(torch.sigmoid(fake_logits))


def non_saturating_label_zero(fake_logits):
    """The discriminator's fake label kept for the generator."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def non_saturating_sign_flipped(fake_logits):
    """Maximise log D(G(z)) written as a loss to minimise without the minus."""
    return -non_saturating_loss(fake_logits)


def non_saturating_summed(fake_logits):
    return F.binary_cross_entropy_with_logits(
        fake_logits, torch.ones_like(fake_logits), reduction="sum"
    )


def non_saturating_per_sample(fake_logits):
    return F.binary_cross_entropy_with_logits(
        fake_logits, torch.ones_like(fake_logits), reduction="none"
    )


def non_saturating_item(fake_logits):
    return non_saturating_loss(fake_logits).item()


def non_saturating_naive(fake_logits):
    return -torch.log(torch.sigmoid(fake_logits)).mean()


def non_saturating_sigmoid_twice(fake_logits):
    return non_saturating_loss(torch.sigmoid(fake_logits))


def non_saturating_not_implemented(fake_logits):
    raise NotImplementedError


# --------------------------------------------------------------------------- gradients
def logit_gradient(loss_fn, d_value):
    logit = torch.logit(torch.tensor(float(d_value))).reshape(1, 1).requires_grad_(True)
    loss_fn(logit).backward()
    return logit.grad.item()


def gradient_wrt_probability(loss_fn, d_value):
    d = torch.tensor([[float(d_value)]], requires_grad=True)
    loss_fn(torch.logit(d)).backward()
    return d.grad.item()


def gradient_negated(loss_fn, d_value):
    return -logit_gradient(loss_fn, d_value)


def gradient_no_return(loss_fn, d_value):
    logit_gradient(loss_fn, d_value)


def gradient_no_requires_grad(loss_fn, d_value):
    logit = torch.logit(torch.tensor(float(d_value))).reshape(1, 1)
    loss_fn(logit).backward()
    return logit.grad.item()


def gradient_requires_grad_too_late(loss_fn, d_value):
    logit = torch.logit(torch.tensor(float(d_value))).reshape(1, 1)
    loss = loss_fn(logit)
    logit.requires_grad_(True)
    loss.backward()
    return logit.grad.item()


def gradient_on_the_probability_leaf(loss_fn, d_value):
    """requires_grad on the probability; .grad read on the logit computed from it."""
    d = torch.tensor([[float(d_value)]], requires_grad=True)
    logit = torch.logit(d)
    loss_fn(logit).backward()
    return logit.grad.item()


def gradient_returns_loss(loss_fn, d_value):
    logit = torch.logit(torch.tensor(float(d_value))).reshape(1, 1).requires_grad_(True)
    loss = loss_fn(logit)
    loss.backward()
    return loss.item()


def gradient_probability_as_logit(loss_fn, d_value):
    logit = torch.tensor([[float(d_value)]], requires_grad=True)
    loss_fn(logit).backward()
    return logit.grad.item()


def gradient_log_d_as_logit(loss_fn, d_value):
    logit = torch.log(torch.tensor([[float(d_value)]])).requires_grad_(True)
    loss_fn(logit).backward()
    return logit.grad.item()


def gradient_tensor(loss_fn, d_value):
    logit = torch.logit(torch.tensor(float(d_value))).reshape(1, 1).requires_grad_(True)
    loss_fn(logit).backward()
    return logit.grad  # a 1-element tensor is fine too


# --------------------------------------------------------------------------- optimal D
def optimal_discriminator(p_data, p_g):
    return p_data / (p_data + p_g)


def optimal_d_flipped(p_data, p_g):
    return p_g / (p_data + p_g)


def optimal_d_ratio(p_data, p_g):
    return p_data / p_g


def optimal_d_mean(p_data, p_g):
    return np.mean(p_data / (p_data + p_g))


def optimal_d_precedence(p_data, p_g):
    return p_data / p_g + p_data


def optimal_d_half(p_data, p_g):
    """The equilibrium value everywhere."""
    return np.full_like(p_data, 0.5)
