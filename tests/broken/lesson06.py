"""Lesson 06 (stable training): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from ganlib import losses

Z_DIM = 100  # the notebook's globals, which a step must not use instead of its arguments
BATCH_SIZE = 64


# --------------------------------------------------------------------------- Wasserstein losses
def critic_loss(real_scores, fake_scores):
    return fake_scores.mean() - real_scores.mean()


def generator_loss(fake_scores):
    return -fake_scores.mean()


def critic_loss_sign_swapped(real_scores, fake_scores):
    """Maximises instead of minimising: the reals' mean minus the fakes'."""
    return real_scores.mean() - fake_scores.mean()


def critic_loss_sigmoid(real_scores, fake_scores):
    """Squashes the scores into probabilities first."""
    return torch.sigmoid(fake_scores).mean() - torch.sigmoid(real_scores).mean()


def critic_loss_bce(real_scores, fake_scores):
    """Keeps the original GAN's BCE."""
    real = F.binary_cross_entropy_with_logits(real_scores, torch.ones_like(real_scores))
    fake = F.binary_cross_entropy_with_logits(fake_scores, torch.zeros_like(fake_scores))
    return real + fake


def critic_loss_plain_bce(real_scores, fake_scores):
    """The BCE that takes probabilities, given raw scores: torch refuses them."""
    real = F.binary_cross_entropy(real_scores, torch.ones_like(real_scores))
    return real + F.binary_cross_entropy(fake_scores, torch.zeros_like(fake_scores))


def critic_loss_paired(real_scores, fake_scores):
    """Pairs the scores up one by one: only works for batches of the same size."""
    return (fake_scores - real_scores).mean()


def critic_loss_summed(real_scores, fake_scores):
    return fake_scores.sum() - real_scores.sum()


def critic_loss_item(real_scores, fake_scores):
    """A Python number: no gradient."""
    return (fake_scores.mean() - real_scores.mean()).item()


def critic_loss_hinge(real_scores, fake_scores):
    """The hinge loss of section 6 instead."""
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def critic_loss_fake_only(real_scores, fake_scores):
    return fake_scores.mean()


def critic_loss_detached(real_scores, fake_scores):
    """Cuts the graph."""
    return fake_scores.detach().mean() - real_scores.detach().mean()


def generator_loss_sign(fake_scores):
    return fake_scores.mean()


def generator_loss_bce(fake_scores):
    """Lesson 00's non-saturating loss."""
    return F.binary_cross_entropy_with_logits(fake_scores, torch.ones_like(fake_scores))


def generator_loss_hinge(fake_scores):
    """A margin for G too."""
    return F.relu(1 - fake_scores).mean()


def generator_loss_sigmoid(fake_scores):
    return -torch.sigmoid(fake_scores).mean()


# --------------------------------------------------------------------------- weight clipping
def clip_weights(critic, c):
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)


def clip_weights_data(critic, c):
    """The WGAN authors' way: on .data (accepted)."""
    for p in critic.parameters():
        p.data.clamp_(-c, c)


def clip_gradient_values(critic, c):
    """Clips the gradients instead of the weights."""
    nn.utils.clip_grad_value_(critic.parameters(), c)


def clip_gradient_norm(critic, c):
    nn.utils.clip_grad_norm_(critic.parameters(), c)


def clip_while_recording(critic, c):
    """In place on parameters that require grad, with autograd recording: torch refuses."""
    for p in critic.parameters():
        p.clamp_(-c, c)


def clip_rebinds(critic, c):
    """Gives the clipped tensor a name and drops it."""
    for p in critic.parameters():
        p = p.clamp(-c, c)


def clip_weights_only(critic, c):
    """Leaves the biases out."""
    with torch.no_grad():
        for m in critic.modules():
            if isinstance(m, nn.Linear):
                m.weight.clamp_(-c, c)


def clip_lower_only(critic, c):
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(min=-c)


def clip_hard_coded(critic, c):
    """The paper's 0.01 instead of the argument."""
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-0.01, 0.01)


def clip_copy(critic, c):
    """Clips and returns a copy; the critic itself is unchanged."""
    twin = copy.deepcopy(critic)
    with torch.no_grad():
        for p in twin.parameters():
            p.clamp_(-c, c)
    return twin


def clip_rescales(critic, c):
    """Scales each tensor so its largest value is c: moves the values inside the box too."""
    with torch.no_grad():
        for p in critic.parameters():
            largest = p.abs().max()
            if largest > c:
                p.mul_(c / largest)


def clip_freezes(critic, c):
    with torch.no_grad():
        for p in critic.parameters():
            p.clamp_(-c, c)
    critic.requires_grad_(False)


def clip_replaces(critic, c):
    """Puts new Parameters in the module: the optimizer still holds the old ones."""
    for m in critic.modules():
        if isinstance(m, nn.Linear):
            m.weight = nn.Parameter(m.weight.detach().clamp(-c, c))
            m.bias = nn.Parameter(m.bias.detach().clamp(-c, c))


# --------------------------------------------------------------------------- gradient penalty
def _eps(real):
    return torch.rand(len(real), *[1] * (real.dim() - 1), device=real.device)


def _finish(critic, x_hat, *, create_graph=True):
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=create_graph)
    return grad


def gradient_penalty(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_ones_outputs(critic, real, fake):
    """grad_outputs of ones instead of a sum, and a view instead of flatten (accepted)."""
    eps = torch.rand(real.shape[0], *([1] * (real.dim() - 1)))
    x_hat = eps * real + (1 - eps) * fake
    x_hat.requires_grad_(True)
    scores = critic(x_hat)
    (grad,) = torch.autograd.grad(
        outputs=scores,
        inputs=x_hat,
        grad_outputs=torch.ones_like(scores),
        create_graph=True,
        retain_graph=True,
    )
    return ((grad.view(len(grad), -1).norm(2, dim=1) - 1) ** 2).mean()


def gp_no_create_graph(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat, create_graph=False)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_real_points(critic, real, fake):
    x_hat = real.clone().requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_fake_points(critic, real, fake):
    x_hat = fake.clone().requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_one_eps(critic, real, fake):
    """One mixing weight for the whole batch."""
    eps = torch.rand(1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_eps_per_number(critic, real, fake):
    """A mixing weight for every coordinate: the point leaves the line."""
    eps = torch.rand_like(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_eps_normal(critic, real, fake):
    eps = torch.randn(len(real), *[1] * (real.dim() - 1))
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_eps_flat(critic, real, fake):
    """eps of shape (N, 1): right for 2-D points, a broadcasting error for images."""
    eps = torch.rand(len(real), 1)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_norm_dim1(critic, real, fake):
    """The norm over the channels only: (N, H, W) norms for images."""
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.norm(2, dim=1) - 1) ** 2).mean()


def gp_norm_of_batch(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return (grad.norm() - 1) ** 2


def gp_squared_norm(critic, real, fake):
    """Sum of squares without the square root."""
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).pow(2).sum(1) - 1) ** 2).mean()


def gp_towards_zero(critic, real, fake):
    """norm^2: pulls the gradient towards 0."""
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return (grad.flatten(1).norm(dim=1) ** 2).mean()


def gp_absolute(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return (grad.flatten(1).norm(dim=1) - 1).abs().mean()


def gp_one_sided(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return (F.relu(grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_mean_of_scores(critic, real, fake):
    """Differentiates the mean of the scores: every gradient divided by N."""
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat).mean(), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_many_outputs(critic, real, fake):
    """Asks for the gradient of the scores without summing them."""
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    (grad,) = torch.autograd.grad(critic(x_hat), x_hat, create_graph=True)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_untracked(critic, real, fake):
    """Forgets to make the points require gradients."""
    eps = _eps(real)
    x_hat = eps * real + (1 - eps) * fake
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_by_backward(critic, real, fake):
    """backward() instead of autograd.grad: leaves gradients in the critic's weights."""
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    critic(x_hat).sum().backward(create_graph=True)
    return ((x_hat.grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


def gp_weighted(critic, real, fake):
    return 10 * gradient_penalty(critic, real, fake)


def gp_summed(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).sum()


def gp_mean_norm(critic, real, fake):
    eps = _eps(real)
    x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return (grad.flatten(1).norm(dim=1).mean() - 1) ** 2


def gp_in_place(critic, real, fake):
    """Mixes into the real batch itself."""
    eps = _eps(real)
    x_hat = real.mul_(eps).add_((1 - eps) * fake).requires_grad_(True)
    grad = _finish(critic, x_hat)
    return ((grad.flatten(1).norm(dim=1) - 1) ** 2).mean()


# --------------------------------------------------------------------------- spectral norm
def power_iteration(W, u):
    v = F.normalize(W.t() @ u, dim=0)
    u = F.normalize(W @ v, dim=0)
    return u @ W @ v, u


def power_iteration_norm(W, u):
    """sigma as the length of W v, which equals u^T W v (accepted)."""
    v = W.T @ u
    v = v / v.norm()
    wv = W @ v
    return wv.norm(), wv / wv.norm()


def power_no_normalised_v(W, u):
    v = W.t() @ u
    u = F.normalize(W @ v, dim=0)
    return u @ W @ v, u


def power_no_normalised_u(W, u):
    v = F.normalize(W.t() @ u, dim=0)
    u = W @ v
    return u @ W @ v, u


def power_no_normalisation(W, u):
    v = W.t() @ u
    u = W @ v
    return u @ W @ v, u


def power_swapped(W, u):
    """v from W u instead of W^T u."""
    v = F.normalize(W @ u, dim=0)
    u = F.normalize(W.t() @ v, dim=0)
    return u @ W @ v, u


def power_old_u(W, u):
    v = F.normalize(W.t() @ u, dim=0)
    sigma = u @ W @ v
    return sigma, F.normalize(W @ v, dim=0)


def power_exact(W, u):
    """The exact value by a singular value decomposition."""
    return torch.linalg.svdvals(W)[0], u


def power_frobenius(W, u):
    v = F.normalize(W.t() @ u, dim=0)
    return W.norm(), F.normalize(W @ v, dim=0)


def power_returns_old_u(W, u):
    v = F.normalize(W.t() @ u, dim=0)
    u_new = F.normalize(W @ v, dim=0)
    return u_new @ W @ v, u


def power_swapped_returns(W, u):
    sigma, u = power_iteration(W, u)
    return u, sigma


def power_normalise_dim1(W, u):
    v = F.normalize(W.t() @ u, dim=1)
    u = F.normalize(W @ v, dim=1)
    return u @ W @ v, u


def power_sigma_vector(W, u):
    v = F.normalize(W.t() @ u, dim=0)
    u = F.normalize(W @ v, dim=0)
    return W @ v, u


# --------------------------------------------------------------------------- hinge losses
def hinge_critic_loss(real_scores, fake_scores):
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def hinge_generator_loss(fake_scores):
    return -fake_scores.mean()


def hinge_swapped(real_scores, fake_scores):
    return F.relu(1 + real_scores).mean() + F.relu(1 - fake_scores).mean()


def hinge_no_relu(real_scores, fake_scores):
    return (1 - real_scores).mean() + (1 + fake_scores).mean()


def hinge_margin_zero(real_scores, fake_scores):
    return F.relu(-real_scores).mean() + F.relu(fake_scores).mean()


def hinge_relu_after_mean(real_scores, fake_scores):
    return F.relu(1 - real_scores.mean()) + F.relu(1 + fake_scores.mean())


def hinge_summed(real_scores, fake_scores):
    return F.relu(1 - real_scores).sum() + F.relu(1 + fake_scores).sum()


def hinge_min_instead_of_max(real_scores, fake_scores):
    """torch.min(0, ...) as in the paper's notation min(0, -1 + D(x)), with the sign lost."""
    return torch.clamp(1 - real_scores, max=0).mean() + torch.clamp(1 + fake_scores, max=0).mean()


def hinge_generator_margin(fake_scores):
    return F.relu(1 - fake_scores).mean()


def hinge_generator_sign(fake_scores):
    return fake_scores.mean()


def hinge_generator_critic_side(fake_scores):
    return F.relu(1 + fake_scores).mean()


# --------------------------------------------------------------------------- the training step
def train_step(
    real_images,
    D,
    G,
    d_optimizer,
    g_optimizer,
    z_dim,
    n_critic=5,
    gp_weight=10.0,
    clip=None,
    d_loss_fn=critic_loss,
    g_loss_fn=generator_loss,
):
    for real in real_images.chunk(n_critic):
        fake = G(torch.randn(len(real), z_dim, device=real.device)).detach()
        real_scores, fake_scores = D(real), D(fake)
        d_loss = d_loss_fn(real_scores, fake_scores)
        if gp_weight:
            d_loss = d_loss + gp_weight * gradient_penalty(D, real, fake)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        if clip is not None:
            clip_weights(D, clip)

    g_loss = g_loss_fn(D(G(torch.randn(len(real), z_dim, device=real.device))))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "real_score": real_scores.detach().mean(),
        "fake_score": fake_scores.detach().mean(),
    }


def _values(d_loss, g_loss, real_scores, fake_scores):
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "real_score": real_scores.detach().mean(),
        "fake_score": fake_scores.detach().mean(),
    }


def step_library_like(
    real_images,
    D,
    G,
    d_optimizer,
    g_optimizer,
    z_dim,
    n_critic=5,
    gp_weight=10.0,
    clip=None,
    d_loss_fn=losses.d_loss_wasserstein,
    g_loss_fn=losses.g_loss_wasserstein,
):
    """The library's penalty, fakes made without gradients, the critic frozen for G (accepted)."""
    batch = len(real_images) // n_critic
    for i in range(n_critic):
        real = real_images[i * batch : (i + 1) * batch]
        with torch.no_grad():
            fake = G(torch.randn(batch, z_dim))
        scores = D(torch.cat([real, fake]))
        real_scores, fake_scores = scores[:batch], scores[batch:]
        d_loss = d_loss_fn(real_scores, fake_scores)
        if gp_weight > 0:
            d_loss = d_loss + gp_weight * losses.gradient_penalty(D, real, fake)
        d_optimizer.zero_grad(set_to_none=True)
        d_loss.backward()
        d_optimizer.step()
        if clip:
            for p in D.parameters():
                p.data.clamp_(-clip, clip)
    D.requires_grad_(False)
    g_loss = g_loss_fn(D(G(torch.randn(batch, z_dim))))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return _values(d_loss, g_loss, real_scores, fake_scores)


def _broken_step(**changes):
    """The reference step with some of its moves replaced (keyword flags below)."""

    def step(
        real_images,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        n_critic=5,
        gp_weight=10.0,
        clip=None,
        d_loss_fn=critic_loss,
        g_loss_fn=generator_loss,
    ):
        slices = real_images.chunk(n_critic)
        made_once = G(torch.randn(len(slices[0]), z_dim)).detach()
        for real in slices:
            if changes.get("whole_batch"):
                real = real_images
            if changes.get("first_slice"):
                real = slices[0]
            n = changes.get("n", len(real))
            fake = G(torch.randn(n, changes.get("z_dim", z_dim)))
            if changes.get("fakes_once"):
                fake = made_once
            elif not changes.get("not_detached"):
                fake = fake.detach()
            real_scores, fake_scores = D(real), D(fake)
            loss_fn = changes.get("d_loss", d_loss_fn)
            d_loss = loss_fn(real_scores, fake_scores)
            if changes.get("flip_d"):
                d_loss = -d_loss
            if gp_weight and not changes.get("no_penalty"):
                penalty = gradient_penalty(D, real, fake)
                weight = 1.0 if changes.get("unweighted") else gp_weight
                sign = -1 if changes.get("penalty_subtracted") else 1
                d_loss = d_loss + sign * weight * penalty
            if not changes.get("keep_d_grads"):
                d_optimizer.zero_grad()
            d_loss.backward()
            if clip is not None and changes.get("clip") == "before":
                clip_weights(D, clip)
            if clip is not None and changes.get("clip") == "grads":
                nn.utils.clip_grad_value_(D.parameters(), clip)
            d_optimizer.step()
            if clip is not None and changes.get("clip") in (None, "after"):
                clip_weights(D, clip)
            if changes.get("g_inside"):
                g_loss = g_loss_fn(D(G(torch.randn(len(real), z_dim))))
                g_optimizer.zero_grad()
                g_loss.backward()
                g_optimizer.step()
            if changes.get("once"):
                break
        if clip is not None and changes.get("clip") == "end":
            clip_weights(D, clip)
        if changes.get("freeze"):
            D.requires_grad_(False)
        if not changes.get("g_inside"):
            fake = fake if changes.get("reuse_fakes") else G(torch.randn(len(real), z_dim))
            g_loss = g_loss_fn(D(fake))
            if changes.get("flip_g"):
                g_loss = -g_loss
            g_optimizer.zero_grad()
            g_loss.backward()
            g_optimizer.step()
        result = _values(d_loss, g_loss, real_scores, fake_scores)
        return tuple(result.values()) if changes.get("tuple") else result

    return step


step_whole_batch = _broken_step(whole_batch=True)
step_first_slice = _broken_step(first_slice=True)
step_not_detached = _broken_step(not_detached=True)
step_fakes_once = _broken_step(fakes_once=True)
step_no_penalty = _broken_step(no_penalty=True)
step_penalty_unweighted = _broken_step(unweighted=True)
step_penalty_subtracted = _broken_step(penalty_subtracted=True)
step_hard_coded_loss = _broken_step(d_loss=losses.d_loss_wasserstein)
step_flipped_critic = _broken_step(flip_d=True)
step_clip_before = _broken_step(clip="before")
step_clip_gradients = _broken_step(clip="grads")
step_clip_at_end = _broken_step(clip="end")
step_no_clip = _broken_step(clip="never")
step_g_inside = _broken_step(g_inside=True)
step_one_update = _broken_step(once=True)
step_reuses_fakes = _broken_step(reuse_fakes=True)
step_no_zero_grad = _broken_step(keep_d_grads=True)
step_global_z_dim = _broken_step(z_dim=Z_DIM)
step_global_batch = _broken_step(n=BATCH_SIZE)
step_flipped_g = _broken_step(flip_g=True)
step_frozen_d = _broken_step(freeze=True)
step_returns_tuple = _broken_step(tuple=True)


def step_g_first(
    real_images,
    D,
    G,
    d_optimizer,
    g_optimizer,
    z_dim,
    n_critic=5,
    gp_weight=10.0,
    clip=None,
    d_loss_fn=critic_loss,
    g_loss_fn=generator_loss,
):
    """G learns before the critic."""
    slices = real_images.chunk(n_critic)
    g_loss = g_loss_fn(D(G(torch.randn(len(slices[0]), z_dim))))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    for real in slices:
        fake = G(torch.randn(len(real), z_dim)).detach()
        real_scores, fake_scores = D(real), D(fake)
        d_loss = d_loss_fn(real_scores, fake_scores)
        if gp_weight:
            d_loss = d_loss + gp_weight * gradient_penalty(D, real, fake)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
    return _values(d_loss, g_loss, real_scores, fake_scores)


def step_old_order(real_images, G, D, g_optimizer, d_optimizer, z_dim, n_critic=5):
    """Another signature: takes fewer options than train.fit passes."""
    return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, n_critic)


def step_not_written(
    real_images,
    D,
    G,
    d_optimizer,
    g_optimizer,
    z_dim,
    n_critic=5,
    gp_weight=10.0,
    clip=None,
    d_loss_fn=critic_loss,
    g_loss_fn=generator_loss,
):
    raise NotImplementedError("Exercise: write your code here (see the TODO above).")
