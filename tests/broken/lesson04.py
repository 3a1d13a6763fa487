"""Lesson 04 (CycleGAN): the reference solutions and a bank of typical mistakes."""

from __future__ import annotations

import random

import torch
import torch.nn.functional as F
from torch import nn


# --------------------------------------------------------------------------- residual block
class ResidualBlock(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x):
        return x + self.block(x)


class ResidualNoSkip(ResidualBlock):
    def forward(self, x):
        return self.block(x)


class ResidualReluAfterSum(ResidualBlock):
    def forward(self, x):
        return F.relu(x + self.block(x))


class ResidualZeroPadding(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.Conv2d(channels, channels, 3, padding=1),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x):
        return x + self.block(x)


class ResidualReflectMode(nn.Module):
    """Correct: padding_mode="reflect" is reflection padding too."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, padding=1, padding_mode="reflect"),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x):
        return x + self.block(x)


class ResidualBatchNorm(nn.Module):
    def __init__(self, channels: int):
        super().__init__()
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.BatchNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.BatchNorm2d(channels),
        )

    def forward(self, x):
        return x + self.block(x)


class ResidualNoPadding(ResidualBlock):
    def __init__(self, channels: int):
        super().__init__(channels)
        self.block[0] = nn.Identity()
        self.block[4] = nn.Identity()


class ResidualFixedChannels(nn.Module):
    """Built for 64 channels whatever it is given (the lesson's full-size width)."""

    def __init__(self, channels: int):
        super().__init__()
        self.block = ResidualBlock(64).block

    def forward(self, x):
        return x + self.block(x)


# --------------------------------------------------------------------------- generator
class ResnetGenerator(nn.Module):
    def __init__(
        self,
        channels: int = 3,
        width: int = 64,
        n_blocks: int = 6,
        norm=nn.InstanceNorm2d,
        pad=nn.ReflectionPad2d,
    ):
        super().__init__()
        w = width
        self.encoder = nn.Sequential(
            pad(3),
            nn.Conv2d(channels, w, 7, padding=3 if pad is nn.Identity else 0),
            norm(w),
            nn.ReLU(True),
            nn.Conv2d(w, 2 * w, 3, 2, 1),
            norm(2 * w),
            nn.ReLU(True),
            nn.Conv2d(2 * w, 4 * w, 3, 2, 1),
            norm(4 * w),
            nn.ReLU(True),
        )
        self.blocks = nn.Sequential(*[ResidualBlock(4 * w) for _ in range(n_blocks)])
        self.decoder = nn.Sequential(
            nn.ConvTranspose2d(4 * w, 2 * w, 3, 2, 1, output_padding=1),
            norm(2 * w),
            nn.ReLU(True),
            nn.ConvTranspose2d(2 * w, w, 3, 2, 1, output_padding=1),
            norm(w),
            nn.ReLU(True),
            pad(3),
            nn.Conv2d(w, channels, 7, padding=3 if pad is nn.Identity else 0),
            nn.Tanh(),
        )

    def forward(self, x):
        return self.decoder(self.blocks(self.encoder(x)))


class GeneratorBatchNorm(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks, norm=nn.BatchNorm2d)


class GeneratorZeroPadding(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks, pad=nn.Identity)


class GeneratorNoTanh(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks)
        self.decoder[-1] = nn.Identity()


class GeneratorSigmoid(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks)
        self.decoder[-1] = nn.Sigmoid()


class GeneratorHardtanh(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks)
        self.decoder[-1] = nn.Hardtanh()


class GeneratorNoTanhSmall(ResnetGenerator):
    """No Tanh, and a small last layer: the outputs stay inside [-1, 1] until it is scaled up."""

    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks)
        self.decoder[-1] = nn.Identity()
        nn.init.normal_(self.decoder[-2].weight, 0.0, 0.02)
        nn.init.zeros_(self.decoder[-2].bias)


class GeneratorNoDownsampling(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, n_blocks)
        self.encoder[4] = nn.Conv2d(width, 2 * width, 3, 1, 1)
        self.encoder[7] = nn.Conv2d(2 * width, 4 * width, 3, 1, 1)
        self.decoder[0] = nn.Conv2d(4 * width, 2 * width, 3, 1, 1, padding_mode="reflect")
        self.decoder[3] = nn.Conv2d(2 * width, width, 3, 1, 1, padding_mode="reflect")


class GeneratorNoBlocksArg(nn.Module):
    def __init__(self, channels: int = 3, width: int = 64):
        super().__init__()
        self.net = ResnetGenerator(channels, width, 2)

    def forward(self, x):
        return self.net(x)


class GeneratorIgnoresWidth(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, 16, n_blocks)


class GeneratorIgnoresBlocks(ResnetGenerator):
    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6):
        super().__init__(channels, width, 6)


# --------------------------------------------------------------------------- discriminator
class PatchDiscriminator(nn.Module):
    def __init__(
        self,
        channels: int = 3,
        width: int = 64,
        n_layers: int = 3,
        norm=nn.InstanceNorm2d,
        slope: float = 0.2,
        first_norm: bool = False,
    ):
        super().__init__()
        layers = [nn.Conv2d(channels, width, 4, 2, 1)]
        layers += [norm(width)] if first_norm else []
        layers += [nn.LeakyReLU(slope, True)]
        c = width
        for n in range(1, n_layers + 1):
            out = width * min(2**n, 8)
            layers += [
                nn.Conv2d(c, out, 4, 2 if n < n_layers else 1, 1),
                norm(out),
                nn.LeakyReLU(slope, True),
            ]
            c = out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x)


class PatchBatchNorm(PatchDiscriminator):
    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3):
        super().__init__(channels, width, n_layers, norm=nn.BatchNorm2d)


class PatchNormFirst(PatchDiscriminator):
    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3):
        super().__init__(channels, width, n_layers, first_norm=True)


class PatchReLU(PatchDiscriminator):
    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3):
        super().__init__(channels, width, n_layers, slope=0.0)


class PatchSigmoid(PatchDiscriminator):
    def forward(self, x):
        return torch.sigmoid(self.net(x))


class PatchGlobal(PatchDiscriminator):
    def forward(self, x):
        return self.net(x).mean(dim=(2, 3)).view(-1, 1)


class PatchIgnoresWidth(PatchDiscriminator):
    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3):
        super().__init__(channels, 64, n_layers)


class PatchIgnoresLayers(PatchDiscriminator):
    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3):
        super().__init__(channels, width, 3)


# --------------------------------------------------------------------------- losses
def d_loss_lsgan(real_out, fake_out):
    return 0.5 * (((real_out - 1) ** 2).mean() + (fake_out**2).mean())


def g_loss_lsgan(fake_out):
    return ((fake_out - 1) ** 2).mean()


def d_loss_not_halved(real_out, fake_out):
    return ((real_out - 1) ** 2).mean() + (fake_out**2).mean()


def d_loss_swapped(real_out, fake_out):
    return 0.5 * ((real_out**2).mean() + ((fake_out - 1) ** 2).mean())


def d_loss_bce(real_out, fake_out):
    return F.binary_cross_entropy_with_logits(
        real_out, torch.ones_like(real_out)
    ) + F.binary_cross_entropy_with_logits(fake_out, torch.zeros_like(fake_out))


def d_loss_item(real_out, fake_out):
    return d_loss_lsgan(real_out, fake_out).item()


def g_loss_towards_zero(fake_out):
    return (fake_out**2).mean()


def d_loss_mse(real_out, fake_out):
    """Correct: the library's mean squared error against targets 1 and 0."""
    return 0.5 * (
        F.mse_loss(real_out, torch.ones_like(real_out))
        + F.mse_loss(fake_out, torch.zeros_like(fake_out))
    )


def d_loss_sum(real_out, fake_out):
    return 0.5 * (((real_out - 1) ** 2).sum() + (fake_out**2).sum())


def g_loss_halved(fake_out):
    return 0.5 * ((fake_out - 1) ** 2).mean()


def cycle_loss_l1_library(real, reconstructed, weight=10.0):
    """Correct: torch's L1 loss."""
    return weight * F.l1_loss(reconstructed, real)


def cycle_loss(real, reconstructed, weight=10.0):
    return weight * (real - reconstructed).abs().mean()


def identity_loss(real, same, weight=5.0):
    return weight * (real - same).abs().mean()


def cycle_loss_l2(real, reconstructed, weight=10.0):
    return weight * F.mse_loss(reconstructed, real)


def cycle_loss_no_weight(real, reconstructed, weight=10.0):
    return (real - reconstructed).abs().mean()


def cycle_loss_weight_one(real, reconstructed, weight=1.0):
    return weight * (real - reconstructed).abs().mean()


def cycle_loss_ignores_weight(real, reconstructed, weight=10.0):
    return 10.0 * (real - reconstructed).abs().mean()


def cycle_loss_sum(real, reconstructed, weight=10.0):
    return weight * (real - reconstructed).abs().sum()


# --------------------------------------------------------------------------- image pool
class ImagePool:
    def __init__(self, size: int = 50):
        self.size = size
        self.images = []

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif random.random() < 0.5:
                i = random.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


class PoolOnlyNew(ImagePool):
    def query(self, images):
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
        return images


class PoolAlwaysOld(ImagePool):
    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            else:
                i = random.randrange(self.size)
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
        return torch.stack(out)


class PoolNeverRefreshed(ImagePool):
    """Returns a stored image but forgets to store the new one: the history is the first fakes forever."""

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif random.random() < 0.5:
                out.append(self.images[random.randrange(self.size)].clone())
            else:
                out.append(image)
        return torch.stack(out)


class PoolNoneWhenEmpty(ImagePool):
    def query(self, images):
        if self.size == 0:
            return None
        return super().query(images)


class PoolReturnsList(ImagePool):
    def query(self, images):
        return list(super().query(images))


class PoolNeedsTwoArgs(ImagePool):
    def __init__(self, size, device):
        super().__init__(size)


class PoolFixedSize(ImagePool):
    """Fills up to 50 whatever size it was built with."""

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < 50:
                self.images.append(image.clone())
                out.append(image)
            elif random.random() < 0.5:
                i = random.randrange(len(self.images))
                out.append(self.images[i].clone())
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


class PoolFixedIndex(ImagePool):
    """Draws the index of the stored image up to 50, whatever the pool's size."""

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(50, ()).item())
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


class PoolNoSizeZero(ImagePool):
    """Forgets that size 0 means no pool: draws an index among no images."""

    def query(self, images):
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(self.size, ()).item())
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


class PoolStoresGraph(ImagePool):
    """Stores the fakes as they come, still attached to the generator's graph."""

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images:
            if len(self.images) < self.size:
                self.images.append(image)
                out.append(image)
            elif random.random() < 0.5:
                i = random.randrange(self.size)
                out.append(self.images[i])
                self.images[i] = image
            else:
                out.append(image)
        return torch.stack(out)


class PoolTorchRandom(ImagePool):
    """Correct: torch's random numbers, list indexing of the stored images (the lesson's)."""

    def query(self, images):
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(()).item() < 0.5:
                i = int(torch.randint(self.size, ()).item())
                out.append(self.images[i])
                self.images[i] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)


# --------------------------------------------------------------------------- training step
# The step is called as train.fit calls it: the two real batches, then by name the networks,
# the optimizers, the pools and the loss weights (the check passes weights of its own).


def _generator_loss(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    g_loss = (
        g_loss_lsgan(D_b(fake_b))
        + g_loss_lsgan(D_a(fake_a))
        + cycle_loss(real_a, G_ba(fake_b), lambda_cycle)
        + cycle_loss(real_b, G_ab(fake_a), lambda_cycle)
        + identity_loss(real_a, G_ba(real_a), lambda_identity)
        + identity_loss(real_b, G_ab(real_b), lambda_identity)
    )
    return g_loss, fake_a, fake_b


def _discriminator_step(real_a, real_b, fake_a, fake_b, D_a, D_b, opt_d, pool_a, pool_b):
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a.detach())))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b.detach())))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return d_a_loss, d_b_loss


def _losses(g_loss, d_a_loss, d_b_loss):
    return {"g_loss": g_loss.detach(), "d_a_loss": d_a_loss.detach(), "d_b_loss": d_b_loss.detach()}


def train_step(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    g_loss = (
        g_loss_lsgan(D_b(fake_b))
        + g_loss_lsgan(D_a(fake_a))
        + cycle_loss(real_a, G_ba(fake_b), lambda_cycle)
        + cycle_loss(real_b, G_ab(fake_a), lambda_cycle)
        + identity_loss(real_a, G_ba(real_a), lambda_identity)
        + identity_loss(real_b, G_ab(real_b), lambda_identity)
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()

    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a.detach())))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b.detach())))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return {"g_loss": g_loss.detach(), "d_a_loss": d_a_loss.detach(), "d_b_loss": d_b_loss.detach()}


def step_keyword_only(
    real_a, real_b, *, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Correct: everything after the batches by name only, in another order, with .item()."""
    out = train_step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
        lambda_cycle, lambda_identity,
    )  # fmt: skip
    return {k: v.item() for k, v in out.items()}


def step_freezes_d(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Correct: clears every gradient first and freezes D while the generators learn (the
    library's way), fakes recomputed after the generators' update."""
    opt_g.zero_grad()
    opt_d.zero_grad()
    D_a.requires_grad_(False)
    D_b.requires_grad_(False)
    g_loss, _, _ = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    g_loss.backward()
    opt_g.step()
    D_a.requires_grad_(True)
    D_b.requires_grad_(True)
    with torch.no_grad():
        fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a)))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b)))
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_not_detached(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """D first, fakes not detached: D's backward frees the generators' graph."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a)))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b)))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    g_loss = (
        g_loss_lsgan(D_b(fake_b)) + g_loss_lsgan(D_a(fake_a)) + cycle_loss(real_a, G_ba(fake_b))
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_not_detached_retained(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """D first with retain_graph=True: the undetached D loss runs back into the generators."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a)))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b)))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward(retain_graph=True)
    g_loss = (
        g_loss_lsgan(D_b(fake_b)) + g_loss_lsgan(D_a(fake_a)) + cycle_loss(real_a, G_ba(fake_b))
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_d.step()
    opt_g.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_not_detached_g_first(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """G first, then D on the same undetached fakes: backward runs into the freed G graph."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a))) + d_loss_lsgan(
        D_b(real_b), D_b(pool_b.query(fake_b))
    )
    opt_d.zero_grad()
    d_loss.backward()
    opt_d.step()
    return {"g_loss": g_loss.detach()}


def step_d_first(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """The discriminators' step first (as in lesson 01), on detached fakes."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    d_a_loss, d_b_loss = _discriminator_step(
        real_a, real_b, fake_a, fake_b, D_a, D_b, opt_d, pool_a, pool_b
    )
    g_loss, _, _ = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def _g_then_d(g_loss_fn):
    """A step whose generator loss is ``g_loss_fn(...)``, otherwise the reference."""

    def step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
        lambda_cycle=10.0, lambda_identity=5.0,
    ):  # fmt: skip
        g_loss, fake_a, fake_b = g_loss_fn(
            real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
        )
        opt_g.zero_grad()
        g_loss.backward()
        opt_g.step()
        d_a_loss, d_b_loss = _discriminator_step(
            real_a, real_b, fake_a, fake_b, D_a, D_b, opt_d, pool_a, pool_b
        )
        return _losses(g_loss, d_a_loss, d_b_loss)

    step.__name__ = g_loss_fn.__name__
    return step


@_g_then_d
def step_one_direction(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    """Only A -> B -> A: G_ab's adversarial and identity terms, the cycle from A."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    g_loss = (
        g_loss_lsgan(D_b(fake_b))
        + cycle_loss(real_a, G_ba(fake_b), lambda_cycle)
        + identity_loss(real_b, G_ab(real_b), lambda_identity)
    )
    return g_loss, fake_a, fake_b


@_g_then_d
def step_ignores_weights(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    """Calls the losses with their default weights: the step's lambdas do nothing."""
    return _generator_loss(real_a, real_b, G_ab, G_ba, D_a, D_b, 10.0, 5.0)


@_g_then_d
def step_ignores_identity_weight(
    real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
):
    """Passes lambda_cycle on, but not lambda_identity: USE_IDENTITY_LOSS = False does nothing."""
    return _generator_loss(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, 5.0)


@_g_then_d
def step_identity_as_share(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    """The CycleGAN code's convention: the identity weight as a share of the cycle weight."""
    return _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity * lambda_cycle
    )


@_g_then_d
def step_no_identity(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    return _generator_loss(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, 0.0)


@_g_then_d
def step_no_cycle(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    return _generator_loss(real_a, real_b, G_ab, G_ba, D_a, D_b, 0.0, lambda_identity)


@_g_then_d
def step_identity_wrong_generator(
    real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
):
    """Feeds each generator its input domain for the identity term: G_ab(real_a)."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    g_loss = (
        g_loss_lsgan(D_b(fake_b))
        + g_loss_lsgan(D_a(fake_a))
        + cycle_loss(real_a, G_ba(fake_b), lambda_cycle)
        + cycle_loss(real_b, G_ab(fake_a), lambda_cycle)
        + identity_loss(real_a, G_ab(real_a), lambda_identity)
        + identity_loss(real_b, G_ba(real_b), lambda_identity)
    )
    return g_loss, fake_a, fake_b


@_g_then_d
def step_swapped_discriminators(
    real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
):
    """G_ab's winter fakes shown to the summer discriminator D_a."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    g_loss = (
        g_loss_lsgan(D_a(fake_b))
        + g_loss_lsgan(D_b(fake_a))
        + cycle_loss(real_a, G_ba(fake_b), lambda_cycle)
        + cycle_loss(real_b, G_ab(fake_a), lambda_cycle)
        + identity_loss(real_a, G_ba(real_a), lambda_identity)
        + identity_loss(real_b, G_ab(real_b), lambda_identity)
    )
    return g_loss, fake_a, fake_b


@_g_then_d
def step_cycle_one_way(real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity):
    """The "cycle" term compares the original with its translation, not its round trip."""
    fake_b, fake_a = G_ab(real_a), G_ba(real_b)
    g_loss = (
        g_loss_lsgan(D_b(fake_b))
        + g_loss_lsgan(D_a(fake_a))
        + cycle_loss(real_a, fake_b, lambda_cycle)
        + cycle_loss(real_b, fake_a, lambda_cycle)
        + identity_loss(real_a, G_ba(real_a), lambda_identity)
        + identity_loss(real_b, G_ab(real_b), lambda_identity)
    )
    return g_loss, fake_a, fake_b


def step_g_on_detached(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Detaches the fakes once for everything: the generators' loss no longer reaches them."""
    fake_b, fake_a = G_ab(real_a).detach(), G_ba(real_b).detach()
    g_loss = (
        g_loss_lsgan(D_b(fake_b))
        + g_loss_lsgan(D_a(fake_a))
        + cycle_loss(real_a, G_ba(fake_b), lambda_cycle)
        + cycle_loss(real_b, G_ab(fake_a), lambda_cycle)
        + identity_loss(real_a, G_ba(real_a), lambda_identity)
        + identity_loss(real_b, G_ab(real_b), lambda_identity)
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_a_loss, d_b_loss = _discriminator_step(
        real_a, real_b, fake_a, fake_b, D_a, D_b, opt_d, pool_a, pool_b
    )
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_no_g_backward(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Clears the generators' gradients and steps, but never backpropagates their loss."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    opt_g.step()
    d_a_loss, d_b_loss = _discriminator_step(
        real_a, real_b, fake_a, fake_b, D_a, D_b, opt_d, pool_a, pool_b
    )
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_no_d_backward(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Clears D's gradients and steps, but never backpropagates D's loss."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a.detach())))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b.detach())))
    opt_d.zero_grad()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_no_g_zero_grad(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Never clears the generators' gradients: the last step's are added to this one's."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    g_loss.backward()
    opt_g.step()
    d_a_loss, d_b_loss = _discriminator_step(
        real_a, real_b, fake_a, fake_b, D_a, D_b, opt_d, pool_a, pool_b
    )
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_no_d_zero_grad(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Never clears D's gradients: the last step's and the generator loss's stay in them."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a.detach())))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b.detach())))
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_zero_grads_first(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Clears both optimizers at the start only: the generators' backward then fills D's."""
    opt_g.zero_grad()
    opt_d.zero_grad()
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    g_loss.backward()
    opt_g.step()
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a.detach())))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b.detach())))
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_ignores_pool_result(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Asks the pools, then shows the discriminators the new fakes anyway."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    fake_a, fake_b = fake_a.detach(), fake_b.detach()
    pool_a.query(fake_a)
    pool_b.query(fake_b)
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(fake_a))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(fake_b))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_judges_attached_fakes(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Detaches for the pools, but shows D the attached fakes: D's loss runs into G's graph."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    pool_a.query(fake_a.detach())
    pool_b.query(fake_b.detach())
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(fake_a))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(fake_b))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_bypasses_pools(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Right losses, but the discriminators only ever see the newest fakes."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(fake_a.detach()))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(fake_b.detach()))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_swaps_pools(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Each domain's fakes go through the other domain's pool: their histories get mixed up."""
    return train_step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_b, pool_a,
        lambda_cycle, lambda_identity,
    )  # fmt: skip


def step_pools_twice(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Queries the pool once more for a log: every query swaps images in and out of the history."""
    losses = train_step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
        lambda_cycle, lambda_identity,
    )  # fmt: skip
    with torch.no_grad():
        losses["d_a_fake"] = D_a(pool_a.query(G_ba(real_b))).mean()
    return losses


def step_pools_undetached(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Detaches after the pool: a real pool would store the fakes with the generators' graph."""
    g_loss, fake_a, fake_b = _generator_loss(
        real_a, real_b, G_ab, G_ba, D_a, D_b, lambda_cycle, lambda_identity
    )
    opt_g.zero_grad()
    g_loss.backward()
    opt_g.step()
    d_a_loss = d_loss_lsgan(D_a(real_a), D_a(pool_a.query(fake_a).detach()))
    d_b_loss = d_loss_lsgan(D_b(real_b), D_b(pool_b.query(fake_b).detach()))
    opt_d.zero_grad()
    (d_a_loss + d_b_loss).backward()
    opt_d.step()
    return _losses(g_loss, d_a_loss, d_b_loss)


def step_no_d_update(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    return train_step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, _NoStep(opt_d), pool_a, pool_b,
        lambda_cycle, lambda_identity,
    )  # fmt: skip


class _NoStep:
    """Wraps an optimizer and forgets to step it."""

    def __init__(self, opt):
        self.opt = opt

    def zero_grad(self):
        self.opt.zero_grad()

    def step(self):
        pass


def step_returns_nothing(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    train_step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
        lambda_cycle, lambda_identity,
    )  # fmt: skip


def step_one_d_loss(
    real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Returns the two discriminators' losses as one sum."""
    out = train_step(
        real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b,
        lambda_cycle, lambda_identity,
    )  # fmt: skip
    return {"g_loss": out["g_loss"], "d_loss": out["d_a_loss"] + out["d_b_loss"]}


def step_old_signature(real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b):
    """Takes no loss weights: fit passes lambda_cycle and lambda_identity as options."""
    return train_step(real_a, real_b, G_ab, G_ba, D_a, D_b, opt_g, opt_d, pool_a, pool_b)


def step_other_names(
    real_a, real_b, gen_ab, gen_ba, disc_a, disc_b, opt_g, opt_d, pool_a, pool_b,
    lambda_cycle=10.0, lambda_identity=5.0,
):  # fmt: skip
    """Renames the networks: fit passes them by the names of its models dict."""
    return {}


def step_wrong_signature(real_a, real_b, models):
    return {}
