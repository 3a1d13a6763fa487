"""Lesson 05 (face project): a small reference design and a bank of typical mistakes."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

Z_DIM = 16


class Generator(nn.Module):
    def __init__(self, z_dim: int = Z_DIM, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.ConvTranspose2d(z_dim, width * 4, 4, 1, 0, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 4, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.ReLU(True),
            nn.ConvTranspose2d(width * 2, width, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width),
            nn.ReLU(True),
            nn.ConvTranspose2d(width, 3, 4, 2, 1),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.size(0), -1, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, width: int = 8):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 4, 2, 1),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 2),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width * 2, width * 4, 4, 2, 1, bias=False),
            nn.BatchNorm2d(width * 4),
            nn.LeakyReLU(0.2, True),
            nn.Conv2d(width * 4, 1, 4, 1, 0),
        )

    def forward(self, x):
        return self.net(x).view(-1, 1)


class GeneratorNoTanh(Generator):
    def forward(self, z):
        return self.net[:-1](z.view(z.size(0), -1, 1, 1)) * 5


class GeneratorConstant(Generator):
    def forward(self, z):
        return super().forward(torch.ones_like(z))


class GeneratorSmall(Generator):
    def forward(self, z):
        return F.avg_pool2d(super().forward(z), 2)


class DiscriminatorMap(Discriminator):
    def forward(self, x):
        return self.net[:-1](x)


class DiscriminatorConstant(Discriminator):
    def forward(self, x):
        return self.net(torch.zeros_like(x)).view(-1, 1)


def bce(logits, target):
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def train_step(real, G, D, opt_g, opt_d, z_dim):
    z = torch.randn(real.size(0), z_dim)
    fake = G(z)
    d_loss = bce(D(real), 0.9) + bce(D(fake.detach()), 0.0)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(fake), 1.0)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def step_not_detached(real, G, D, opt_g, opt_d, z_dim):
    fake = G(torch.randn(real.size(0), z_dim))
    d_loss = bce(D(real), 1.0) + bce(D(fake), 0.0)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(fake), 1.0)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def step_not_detached_fresh_fake(real, G, D, opt_g, opt_d, z_dim):
    fake = G(torch.randn(real.size(0), z_dim))
    d_loss = bce(D(real), 1.0) + bce(D(fake), 0.0)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(G(torch.randn(real.size(0), z_dim))), 1.0)
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return d_loss.item(), g_loss.item()


def step_no_g_update(real, G, D, opt_g, opt_d, z_dim):
    fake = G(torch.randn(real.size(0), z_dim))
    d_loss = bce(D(real), 1.0) + bce(D(fake.detach()), 0.0)
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    g_loss = bce(D(fake), 1.0)
    return d_loss.item(), g_loss.item()


def step_returns_tensors_dict(real, G, D, opt_g, opt_d, z_dim):
    d, g = train_step(real, G, D, opt_g, opt_d, z_dim)
    return {"d": d, "g": g}


def step_nan(real, G, D, opt_g, opt_d, z_dim):
    train_step(real, G, D, opt_g, opt_d, z_dim)
    return float("nan"), 0.0


def step_wrong_signature(real, G, D):
    return 0.0, 0.0
