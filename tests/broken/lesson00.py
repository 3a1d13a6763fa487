"""Lesson 00 (the GAN game): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F


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
