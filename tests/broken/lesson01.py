"""Lesson 01 (MLP GAN on MNIST): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------------------- discriminator
class Discriminator(nn.Module):
    def __init__(self, in_features=784, hidden=512, dropout=0.3, slope=0.2, sigmoid=False, out=1):
        super().__init__()
        layers = [
            nn.Linear(in_features, hidden),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            nn.Linear(hidden, hidden // 2),
            nn.LeakyReLU(slope),
            nn.Dropout(dropout),
            nn.Linear(hidden // 2, out),
        ]
        if sigmoid:
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x.view(len(x), -1))


class DSigmoid(Discriminator):
    def __init__(self):
        super().__init__(sigmoid=True)


class DReLU(Discriminator):
    def __init__(self):
        super().__init__(slope=0.0)


class DDefaultSlope(Discriminator):
    def __init__(self):
        super().__init__(slope=0.01)


class DNoDropout(Discriminator):
    def __init__(self):
        super().__init__(dropout=0.0)


class DTenOutputs(Discriminator):
    def __init__(self):
        super().__init__(out=10)


class DNoFlatten(Discriminator):
    def forward(self, x):
        return self.net(x)


class DFunctionalDropout(Discriminator):
    """F.dropout(training=True) stays on in eval mode."""

    def __init__(self):
        super().__init__(dropout=0.0)

    def forward(self, x):
        h = x.view(len(x), -1)
        layers = [m for m in self.net if isinstance(m, nn.Linear)]
        for layer in layers[:-1]:
            h = F.dropout(F.leaky_relu(layer(h), 0.2), 0.3, training=True)
        return layers[-1](h)


class DUnusedLayer(Discriminator):
    def __init__(self):
        super().__init__()
        self.extra = nn.Linear(4, 4)


class DNoSuper(nn.Module):
    def __init__(self):
        self.net = nn.Linear(784, 1)  # forgot super().__init__()


class NotAModule:
    pass


# --------------------------------------------------------------------------- generator
class Generator(nn.Module):
    def __init__(self, z_dim=100, hidden=256, slope=0.2, out_act="tanh", reshape=True):
        super().__init__()
        self.reshape = reshape
        layers = [
            nn.Linear(z_dim, hidden),
            nn.LeakyReLU(slope),
            nn.Linear(hidden, hidden * 2),
            nn.LeakyReLU(slope),
            nn.Linear(hidden * 2, 784),
        ]
        if out_act == "tanh":
            layers.append(nn.Tanh())
        elif out_act == "sigmoid":
            layers.append(nn.Sigmoid())
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        x = self.net(z)
        return x.view(-1, 1, 28, 28) if self.reshape else x


class GNoTanh(Generator):
    def __init__(self, z_dim=100):
        super().__init__(z_dim, out_act=None)


class GSigmoid(Generator):
    def __init__(self, z_dim=100):
        super().__init__(z_dim, out_act="sigmoid")


class GFlat(Generator):
    def __init__(self, z_dim=100):
        super().__init__(z_dim, reshape=False)


class GReLU(Generator):
    def __init__(self, z_dim=100):
        super().__init__(z_dim, slope=0.0)


class GWrongZ(Generator):
    def __init__(self, z_dim=100):
        super().__init__(64)


class GDetached(Generator):
    def forward(self, z):
        h = self.net[:2](z).detach()
        return self.net[2:](h).view(-1, 1, 28, 28)


# --------------------------------------------------------------------------- losses
def real_loss(d_logits, smooth=False):
    labels = torch.ones_like(d_logits) * (0.9 if smooth else 1.0)
    return F.binary_cross_entropy_with_logits(d_logits, labels)


def fake_loss(d_logits):
    return F.binary_cross_entropy_with_logits(d_logits, torch.zeros_like(d_logits))


def real_loss_ignores_smooth(d_logits, smooth=False):
    return F.binary_cross_entropy_with_logits(d_logits, torch.ones_like(d_logits))


def real_loss_always_smooth(d_logits, smooth=False):
    return F.binary_cross_entropy_with_logits(d_logits, torch.full_like(d_logits, 0.9))


def real_loss_zeros(d_logits, smooth=False):
    return F.binary_cross_entropy_with_logits(d_logits, torch.zeros_like(d_logits))


def real_loss_sigmoid_twice(d_logits, smooth=False):
    return real_loss(torch.sigmoid(d_logits), smooth)


def real_loss_summed(d_logits, smooth=False):
    labels = torch.ones_like(d_logits) * (0.9 if smooth else 1.0)
    return F.binary_cross_entropy_with_logits(d_logits, labels, reduction="sum")


def real_loss_no_smooth_arg(d_logits):
    return F.binary_cross_entropy_with_logits(d_logits, torch.ones_like(d_logits))


def fake_loss_ones(d_logits):
    return F.binary_cross_entropy_with_logits(d_logits, torch.ones_like(d_logits))


def fake_loss_bce_on_logits(d_logits):
    return F.binary_cross_entropy(d_logits, torch.zeros_like(d_logits))  # logits are not in [0, 1]


def fake_loss_detached(d_logits):
    return fake_loss(d_logits.detach())


# --------------------------------------------------------------------------- training step
# The step as train.fit calls it: train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim).
def _result(d_loss, g_loss, d_real_logits, d_fake_logits):
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(d_real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(d_fake_logits.detach()).mean(),
    }


def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """The reference: D frozen while G learns (its gradients are not needed then)."""
    z = torch.randn(len(real_images), z_dim, device=real_images.device)
    fake_images = G(z)

    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()

    D.requires_grad_(False)
    g_loss = real_loss(D(fake_images))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_no_freeze(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Also right: D not frozen in the G step (G's backward leaves gradients in D, cleared by
    D's zero_grad at the next step)."""
    z = torch.randn(len(real_images), z_dim, device=real_images.device)
    fake_images = G(z)
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()

    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_fresh_z(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Also right: new latents for the G step, fakes for D made without a graph."""
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    with torch.no_grad():
        fake_images = G(torch.randn(len(real_images), z_dim))
    d_fake_logits = D(fake_images)
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(G(torch.randn(len(real_images), z_dim))))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_zero_grads_first(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Also right: both optimizers zeroed up front, so G's old gradients are gone at the D step."""
    d_optimizer.zero_grad()
    g_optimizer.zero_grad()
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_returns_floats(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Also accepted: Python floats (.item()), slower on a GPU but right."""
    out = train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim)
    return {k: v.item() for k, v in out.items()}


def train_step_returns_undetached(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Also accepted: the loss tensors themselves (fit detaches them)."""
    z = torch.randn(len(real_images), z_dim)
    fake_images = G(z)
    d_optimizer.zero_grad()
    d_real_logits, d_fake_logits = D(real_images), D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    d_real, d_fake = torch.sigmoid(d_real_logits).mean(), torch.sigmoid(d_fake_logits).mean()
    return {"d_loss": d_loss, "g_loss": g_loss, "d_real": d_real, "d_fake": d_fake}


def train_step_not_detached(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """The most common mistake: no .detach(), and no retain_graph, so the G step crashes."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images)  # no .detach()
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()  # RuntimeError: Trying to backward through the graph a second time
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_not_detached_frozen(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """No .detach(), with D frozen in the G step: the same crash."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images)  # no .detach()
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    g_loss = real_loss(D(fake_images))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_not_detached_retain_graph(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """No .detach(), and retain_graph=True (the error message's suggestion) to silence the crash."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images)  # no .detach()
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward(retain_graph=True)
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_not_detached_zero_grads_first(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    d_optimizer.zero_grad()
    g_optimizer.zero_grad()
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images)  # no .detach(): G gets gradients from the D loss
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward(retain_graph=True)
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_detached_logits(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Detaches D's verdict on the fakes instead of the fakes: D learns nothing from them."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images).detach()
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_detached_in_g(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Detaches the fakes once and uses them for both steps: G gets no gradient."""
    fake_images = G(torch.randn(len(real_images), z_dim)).detach()
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images)
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_detached_in_g_frozen(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """The same with D frozen: now G's backward has nothing to follow and torch raises."""
    fake_images = G(torch.randn(len(real_images), z_dim)).detach()
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images)
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_no_grad_in_g(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """'Freezes' D for the G step with torch.no_grad(): G's loss has no graph at all."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    with torch.no_grad():
        d_verdict = D(fake_images)
    g_loss = real_loss(d_verdict)
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_frozen_too_early(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Freezes D before its own step."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    D.requires_grad_(False)
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_never_unfrozen(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Freezes D for the G step and forgets to unfreeze it."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_freezes_g(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Freezes the wrong network in the G step: G, not D."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    G.requires_grad_(False)
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    G.requires_grad_(True)
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_noise_as_fakes(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(torch.rand_like(real_images))  # random noise, not G's images
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_one_latent(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """One latent for the whole batch: D sees the same fake over and over."""
    z = torch.randn(1, z_dim).expand(len(real_images), z_dim)
    fake_images = G(z)
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_one_fake_repeated(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """One fake image copied over the batch (different latents drawn, only the first used)."""
    fake_images = G(torch.randn(len(real_images), z_dim))[:1].expand_as(real_images)
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_uniform_z(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """torch.rand (uniform in [0, 1)) where torch.randn was meant."""
    fake_images = G(torch.rand(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_hardcoded_z_dim(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """The notebook's latent size written as a number instead of the z_dim argument."""
    fake_images = G(torch.randn(len(real_images), 100))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_hardcoded_batch(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """The notebook's batch size written as a number instead of the real batch's length."""
    fake_images = G(torch.randn(64, z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_scores_latents(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """D given the latents instead of the fakes."""
    z = torch.randn(len(real_images), z_dim)
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(z)
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(G(z)))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_labels_not_flipped(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = fake_loss(D(fake_images))  # should be real_loss
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_minimax_g(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """G minimises minus D's loss on the fakes: the saturating minimax loss of lesson 00."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = -fake_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_smooth_in_g(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images), smooth=True)
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_no_smoothing(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_d_loss_averaged(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """The D loss halved: the mean of the two losses instead of their sum."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = (real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)) / 2
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_d_fake_loss_only(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Backpropagates only the fake half of the D loss."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    fake_loss(d_fake_logits).backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_two_backwards(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Backpropagates the D loss twice (once per half, then the sum)."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_no_d_zero_grad(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_no_g_zero_grad(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_zero_grad_after_backward(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """zero_grad between backward and step: the step finds no gradients."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.zero_grad()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_g_first(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_stale_d(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Reuses D's verdict from before its update for the G step."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_for_g = D(fake_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(d_fake_for_g)
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_reuses_d_fake_logits(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """Reuses the D step's verdict on the (detached) fakes as the G loss."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(d_fake_logits)
    g_loss.backward()
    g_optimizer.step()
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_wrong_optimizer(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_optimizer.zero_grad()
    d_real_logits = D(real_images)
    d_fake_logits = D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    d_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    d_optimizer.step()  # should be g_optimizer
    return _result(d_loss, g_loss, d_real_logits, d_fake_logits)


def train_step_old_signature(D, G, d_optimizer, g_optimizer, real_images, z_dim):
    """The real batch last, as in earlier versions of the lesson: fit passes it first."""
    return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim)


def train_step_renamed(real, D, G, opt_d, opt_g, z_dim):
    """Parameter names other than the ones fit passes by keyword."""
    return train_step(real, D, G, opt_d, opt_g, z_dim)


def train_step_returns_none(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim)


def train_step_returns_tuple(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    out = train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim)
    return out["d_loss"], out["g_loss"]


def train_step_returns_batch_verdicts(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """D's verdicts returned per image instead of their mean."""
    z = torch.randn(len(real_images), z_dim)
    fake_images = G(z)
    d_optimizer.zero_grad()
    d_real_logits, d_fake_logits = D(real_images), D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    out = _result(d_loss, g_loss, d_real_logits, d_fake_logits)
    return {**out, "d_real": torch.sigmoid(d_real_logits.detach())}


def train_step_returns_logits(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    """D's average logit returned as its verdict (no sigmoid)."""
    z = torch.randn(len(real_images), z_dim)
    fake_images = G(z)
    d_optimizer.zero_grad()
    d_real_logits, d_fake_logits = D(real_images), D(fake_images.detach())
    d_loss = real_loss(d_real_logits, smooth=True) + fake_loss(d_fake_logits)
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    g_loss = real_loss(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    out = _result(d_loss, g_loss, d_real_logits, d_fake_logits)
    return {**out, "d_real": d_real_logits.detach().mean()}


def train_step_placeholder(real_images, D, G, d_optimizer, g_optimizer, z_dim):
    raise NotImplementedError
