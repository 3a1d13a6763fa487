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
def _result(d_loss, g_loss, d_real_logits, d_fake_logits):
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(d_real_logits).mean().item(),
        "d_fake": torch.sigmoid(d_fake_logits).mean().item(),
    }


def train_step(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_fresh_z(D, G, d_optimizer, g_optimizer, real_images, z_dim):
    """Also right: new latents for the G step."""
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


def train_step_zero_grads_first(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_not_detached(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_not_detached_zero_grads_first(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_noise_as_fakes(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_labels_not_flipped(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_smooth_in_g(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_no_smoothing(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_no_d_zero_grad(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_no_g_zero_grad(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_g_first(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_stale_d(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_wrong_optimizer(D, G, d_optimizer, g_optimizer, real_images, z_dim):
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


def train_step_returns_none(D, G, d_optimizer, g_optimizer, real_images, z_dim):
    train_step(D, G, d_optimizer, g_optimizer, real_images, z_dim)


def train_step_returns_tensors(D, G, d_optimizer, g_optimizer, real_images, z_dim):
    """Also accepted: one-element tensors instead of floats."""
    out = train_step(D, G, d_optimizer, g_optimizer, real_images, z_dim)
    return {k: torch.tensor(v) for k, v in out.items()}


def train_step_placeholder(D, G, d_optimizer, g_optimizer, real_images, z_dim):
    raise NotImplementedError
