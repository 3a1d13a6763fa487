"""Lesson 03 (DCGAN on SVHN): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ganlib import losses, train


# --------------------------------------------------------------------------- output sizes
def conv_output_size(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size) // stride + 1


def deconv_output_size(size, kernel_size, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride - 2 * padding + kernel_size + output_padding


def conv_size_true_division(size, kernel_size, stride=1, padding=0):
    return (size + 2 * padding - kernel_size) / stride + 1


def conv_size_no_padding(size, kernel_size, stride=1, padding=0):
    return (size - kernel_size) // stride + 1


def conv_size_returns_nothing(size, kernel_size, stride=1, padding=0):
    (size + 2 * padding - kernel_size) // stride + 1  # forgot the return


def deconv_size_no_padding(size, kernel_size, stride=1, padding=0, output_padding=0):
    return (size - 1) * stride + kernel_size + output_padding


def deconv_size_no_output_padding_arg(size, kernel_size, stride=1, padding=0):
    return (size - 1) * stride - 2 * padding + kernel_size


def conv_size_no_plus_one(size, kernel_size, stride=1, padding=0):
    """Forgets the kernel's first position."""
    return (size + 2 * padding - kernel_size) // stride


def conv_size_no_stride(size, kernel_size, stride=1, padding=0):
    """Ignores the stride."""
    return size + 2 * padding - kernel_size + 1


def conv_size_padding_once(size, kernel_size, stride=1, padding=0):
    """Pads one side only."""
    return (size + padding - kernel_size) // stride + 1


def deconv_size_adds_padding(size, kernel_size, stride=1, padding=0, output_padding=0):
    """Adds the padding, as in the conv formula, instead of taking it away."""
    return (size - 1) * stride + 2 * padding + kernel_size + output_padding


def deconv_size_ignores_output_padding(size, kernel_size, stride=1, padding=0, output_padding=0):
    """Takes output_padding but never adds it."""
    return (size - 1) * stride - 2 * padding + kernel_size


def deconv_size_n_strides(size, kernel_size, stride=1, padding=0, output_padding=0):
    """size * stride: one stride too many."""
    return size * stride - 2 * padding + kernel_size + output_padding


# --------------------------------------------------------------------------- blocks
def conv(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True):
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def deconv(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True):
    layers = [
        nn.ConvTranspose2d(
            in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm
        )
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def conv_always_bn(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True):
    return nn.Sequential(
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False),
        nn.BatchNorm2d(out_channels),
    )


def conv_never_bn(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True):
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding))


def conv_with_activation(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    block = conv(in_channels, out_channels, kernel_size, stride, padding, batch_norm)
    return nn.Sequential(*block, nn.LeakyReLU(0.2))


def conv_fixed_stride(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    return conv(in_channels, out_channels, kernel_size, 2, padding, batch_norm)


def conv_returns_list(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    return [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)]


def deconv_uses_conv(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    return conv(in_channels, out_channels, kernel_size, stride, padding, batch_norm)


def conv_bias_and_bn(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    """Keeps the default bias=True before the batch norm."""
    layers = [nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def conv_bn_in_channels(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    """The batch norm built over the input channels."""
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(in_channels))
    return nn.Sequential(*layers)


def conv_bn_1d(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True):
    """BatchNorm1d, the one of lesson 02's MLP, on images."""
    layers = [
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm1d(out_channels))
    return nn.Sequential(*layers)


def conv_fixed_channels(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    """Input channels fixed to 3, those of the images."""
    layers = [nn.Conv2d(3, out_channels, kernel_size, stride, padding, bias=not batch_norm)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


def conv_bn_first(in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True):
    """Batch norm before the convolution, over its input."""
    layers = [nn.BatchNorm2d(in_channels)] if batch_norm else []
    layers.append(nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding, bias=False))
    return nn.Sequential(*layers)


def deconv_ignores_padding(
    in_channels, out_channels, kernel_size=4, stride=2, padding=1, batch_norm=True
):
    """Passes kernel and stride but not the padding."""
    layers = [nn.ConvTranspose2d(in_channels, out_channels, kernel_size, stride, bias=False)]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_channels))
    return nn.Sequential(*layers)


# --------------------------------------------------------------------------- discriminator
class Discriminator(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            conv(3, width, batch_norm=False),
            nn.LeakyReLU(0.2),
            conv(width, width * 2),
            nn.LeakyReLU(0.2),
            conv(width * 2, width * 4),
            nn.LeakyReLU(0.2),
            conv(width * 4, 1, 4, 1, 0, batch_norm=False),
        )

    def forward(self, x):
        return self.net(x).view(-1, 1)


class DiscriminatorInplace(Discriminator):
    """Correct: in-place activations must not fool the slope probe."""

    def __init__(self, width: int = 16):
        super().__init__(width)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.LeakyReLU):
                self.net[i] = nn.LeakyReLU(0.2, inplace=True)


class DiscriminatorBNFirst(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[0] = conv(3, width, batch_norm=True)


class DiscriminatorReLU(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.LeakyReLU):
                self.net[i] = nn.ReLU()


class DiscriminatorSlope(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.LeakyReLU):
                self.net[i] = nn.LeakyReLU()  # default slope 0.01


class DiscriminatorFunctionalSlope(Discriminator):
    def forward(self, x):
        x = self.net[0](x)
        x = torch.nn.functional.leaky_relu(x, 0.1)
        for layer in self.net[2:]:
            x = layer(x)
        return x.view(-1, 1)


class DiscriminatorFunctionalReLU(Discriminator):
    def forward(self, x):
        x = torch.relu(self.net[0](x))  # a ReLU the module probe cannot see
        for layer in self.net[2:]:
            x = layer(x)
        return x.view(-1, 1)


class DiscriminatorELU(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[1] = nn.ELU()


class DiscriminatorNoActivation(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[1] = nn.Identity()


class DiscriminatorLaterSlope(Discriminator):
    """The first LeakyReLU is right; a later one keeps the default slope."""

    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[3] = nn.LeakyReLU()


class DiscriminatorSigmoid(Discriminator):
    def forward(self, x):
        return torch.sigmoid(super().forward(x))


class DiscriminatorNoBN(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[2] = conv(width, width * 2, batch_norm=False)
        self.net[4] = conv(width * 2, width * 4, batch_norm=False)


class DiscriminatorPooling(nn.Module):
    def __init__(self, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            nn.Conv2d(3, width, 3, 1, 1),
            nn.LeakyReLU(0.2),
            nn.MaxPool2d(2),
            nn.Conv2d(width, width, 3, 1, 1),
            nn.BatchNorm2d(width),
            nn.LeakyReLU(0.2),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 1, 8),
        )

    def forward(self, x):
        return self.net(x).view(-1, 1)


class DiscriminatorWrongShape(Discriminator):
    def forward(self, x):
        return self.net(x)  # (N, 1, 1, 1)


class DiscriminatorUnusedLayer(Discriminator):
    def __init__(self, width: int = 16):
        super().__init__(width)
        self.extra = nn.Linear(10, 1)


class DiscriminatorBNOnLogit(Discriminator):
    """A batch norm on the one-channel logit."""

    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[6] = conv(width * 4, 1, 4, 1, 0, batch_norm=True)


class DiscriminatorLastConvPadded(Discriminator):
    """The last convolution keeps the default stride and padding: a 2x2 grid, not one logit."""

    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[6] = conv(width * 4, 1, batch_norm=False)


class DiscriminatorChannelsMismatch(Discriminator):
    """The third block expects width * 2 channels twice over: built for another network."""

    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[4] = conv(width * 4, width * 4)


class DiscriminatorLinearHead(Discriminator):
    """Correct: flatten the 4x4 grid and a linear layer to the logit."""

    def __init__(self, width: int = 16):
        super().__init__(width)
        self.net[6] = nn.Sequential(nn.Flatten(), nn.Linear(width * 4 * 16, 1))


class DiscriminatorNeedsArg(Discriminator):
    def __init__(self, width):  # no default: the checker cannot build it
        super().__init__(width)


class NotAModule:
    def __init__(self, width: int = 16):
        self.width = width


# --------------------------------------------------------------------------- generator
class Generator(nn.Module):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__()
        self.net = nn.Sequential(
            deconv(z_dim, width * 4, 4, 1, 0),
            nn.ReLU(),
            deconv(width * 4, width * 2),
            nn.ReLU(),
            deconv(width * 2, width),
            nn.ReLU(),
            deconv(width, 3, batch_norm=False),
            nn.Tanh(),
        )

    def forward(self, z):
        return self.net(z.view(z.size(0), -1, 1, 1))


class GeneratorNoTanh(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[-1] = nn.Identity()


class GeneratorSigmoid(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[-1] = nn.Sigmoid()


class GeneratorHardtanh(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[-1] = nn.Hardtanh()


class GeneratorNoTanhSmallInit(Generator):
    """No Tanh, but the DCGAN init keeps the outputs small enough to stay inside [-1, 1]."""

    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[-1] = nn.Identity()
        self.apply(weights_init)


class GeneratorStartsAt8(Generator):
    """One stage short: the first transposed convolution jumps from 1x1 straight to 8x8."""

    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net = nn.Sequential(
            deconv(z_dim, width * 2, 8, 1, 0),
            nn.ReLU(),
            deconv(width * 2, width),
            nn.ReLU(),
            deconv(width, 3, batch_norm=False),
            nn.Tanh(),
        )


class GeneratorBNOutput(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[6] = deconv(width, 3, batch_norm=True)


class GeneratorNoBN(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[0] = deconv(z_dim, width * 4, 4, 1, 0, batch_norm=False)
        self.net[2] = deconv(width * 4, width * 2, batch_norm=False)
        self.net[4] = deconv(width * 2, width, batch_norm=False)


class GeneratorLeaky(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        for i, m in enumerate(self.net):
            if isinstance(m, nn.ReLU):
                self.net[i] = nn.LeakyReLU(0.2)


class GeneratorWrongSize(Generator):
    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        self.net[6] = nn.Sequential(nn.ConvTranspose2d(width, 3, 3, 1, 1))  # stays 16x16


class GeneratorIgnoresZ(Generator):
    def forward(self, z):
        return super().forward(torch.zeros_like(z))


class GeneratorIgnoresZPositive(GeneratorIgnoresZ):
    """Ignores z, and its one image is all positive (as if it ended in a sigmoid)."""

    def __init__(self, z_dim: int = 100, width: int = 16):
        super().__init__(z_dim, width)
        with torch.no_grad():
            self.net[6][0].bias.fill_(0.5)


class GeneratorFlatZ(Generator):
    def forward(self, z):
        return self.net(z)  # forgot to reshape z to (N, z_dim, 1, 1)


# --------------------------------------------------------------------------- init
def weights_init(m):
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_only_conv2d(m):
    if type(m) is nn.Conv2d:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_bn_zero_mean(m):
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)


def init_bn_bias_kept(m):
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)


def init_std_too_big(m):
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.2)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_crashes_on_relu(m):
    nn.init.normal_(m.weight, 0.0, 0.02)  # ReLU has no weight


def init_mean_std_swapped(m):
    """normal_(weight, 0.02): the 0.02 lands on the mean, the std stays 1."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_bn_constant_one(m):
    """BatchNorm scale set to exactly 1 (PyTorch's default), without the reference's noise."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.ones_(m.weight)
        nn.init.zeros_(m.bias)


def init_conv_bias_crash(m):
    """Zeroes every convolution's bias, but a convolution before batch norm has none."""
    if isinstance(m, nn.Conv2d | nn.ConvTranspose2d):
        nn.init.normal_(m.weight, 0.0, 0.02)
        nn.init.zeros_(m.bias)
    elif isinstance(m, nn.BatchNorm2d):
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.zeros_(m.bias)


def init_by_class_name(m):
    """Correct: the PyTorch DCGAN tutorial's test on the class name catches both convolutions."""
    name = type(m).__name__
    if "Conv" in name:
        nn.init.normal_(m.weight, 0.0, 0.02)
    elif "BatchNorm" in name:
        nn.init.normal_(m.weight, 1.0, 0.02)
        nn.init.constant_(m.bias, 0)


# --------------------------------------------------------------------------- the training step
def _z(real, z_dim):
    return torch.randn(len(real), z_dim, device=real.device)


def _verdicts(d_loss, g_loss, real_logits, fake_logits):
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()

    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_like_the_library(
    real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1
):
    """Correct: ganlib.train.gan_step (D frozen for G, the first G update reuses the fakes)."""
    return train.gan_step(
        real_images,
        G,
        D,
        g_optimizer,
        d_optimizer,
        z_dim=z_dim,
        d_loss=partial(losses.d_loss_bce, smooth=smooth),
        g_steps=g_steps,
    )


def step_one_d_call(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """Correct: real and fake images scored in one batch, floats returned, D frozen for G."""
    n = len(real_images)
    fake_images = G(torch.randn(n, z_dim, 1, 1))
    logits = D(torch.cat([real_images, fake_images.detach()]))
    real_logits, fake_logits = logits[:n], logits[n:]
    d_loss = losses.real_loss(real_logits, smooth) + losses.fake_loss(fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    for i in range(g_steps):
        if i > 0:
            fake_images = G(torch.randn(n, z_dim, 1, 1))
        g_loss = losses.g_loss_nonsaturating(D(fake_images))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    D.requires_grad_(True)
    values = _verdicts(d_loss, g_loss, real_logits, fake_logits)
    return {k: v.item() for k, v in values.items()}


def step_not_detached(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """D's loss on fakes that still carry G's graph; new fakes for G, so no autograd error."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images)
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_not_detached_reused(
    real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1
):
    """Not detached, and the same fakes reused for G: autograd meets G's freed graph."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images)
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    g_optimizer.zero_grad()
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = losses.g_loss_nonsaturating(D(fake_images))
    g_loss.backward()
    g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_stale_verdict(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """G's loss from D's verdict computed before D's update (D's weights changed since)."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    g_logits = D(fake_images)
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = losses.g_loss_nonsaturating(g_logits)
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_ignores_smooth(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, 1.0, g_steps)


def step_smooths_both(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """Two-sided smoothing: the fakes' target becomes 1 - smooth."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = F.binary_cross_entropy_with_logits(
        real_logits, torch.full_like(real_logits, smooth)
    ) + F.binary_cross_entropy_with_logits(fake_logits, torch.full_like(fake_logits, 1 - smooth))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_smooths_g(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """Smoothing applied to G's target as well."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.real_loss(D(G(_z(real_images, z_dim))), smooth)
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def _with_losses(d_loss_fn, g_loss_fn):
    """The reference step with other loss functions: d_loss_fn(real, fake, smooth), g_loss_fn."""

    def step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
        fake_images = G(_z(real_images, z_dim))
        real_logits, fake_logits = D(real_images), D(fake_images.detach())
        d_loss = d_loss_fn(real_logits, fake_logits, smooth)
        d_optimizer.zero_grad()
        d_loss.backward()
        d_optimizer.step()
        for _ in range(g_steps):
            g_loss = g_loss_fn(D(G(_z(real_images, z_dim))))
            g_optimizer.zero_grad()
            g_loss.backward()
            g_optimizer.step()
        return _verdicts(d_loss, g_loss, real_logits, fake_logits)

    return step


step_minimax = _with_losses(
    lambda r, f, s: losses.d_loss_bce(r, f, smooth=s), losses.g_loss_minimax
)
step_g_label_zero = _with_losses(
    lambda r, f, s: losses.d_loss_bce(r, f, smooth=s), losses.fake_loss
)
step_d_swapped = _with_losses(
    lambda r, f, s: losses.d_loss_bce(f, r, smooth=s), losses.g_loss_nonsaturating
)
step_sigmoid_first = _with_losses(
    lambda r, f, s: losses.d_loss_bce(torch.sigmoid(r), torch.sigmoid(f), smooth=s),
    lambda f: losses.g_loss_nonsaturating(torch.sigmoid(f)),
)
step_d_real_only = _with_losses(lambda r, f, s: losses.real_loss(r, s), losses.g_loss_nonsaturating)


def step_no_d_zero_grad(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """D's gradients never cleared: they add up from one step to the next."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_zero_grad_once(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """G's gradients cleared once before the loop, so its g_steps updates add up."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_optimizer.zero_grad()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_ignores_g_steps(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth, 1)


def step_repeats_d(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """The whole step repeated g_steps times: D updates as often as G."""
    for _ in range(g_steps):
        values = train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth, 1)
    return values


def step_g_first(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """G updated before D."""
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_reuses_fakes(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """The D step's fakes reused for every G update: the second backward meets a freed graph."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(fake_images))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_reuses_fakes_retained(
    real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1
):
    """Fakes reused with retain_graph=True: G's weights changed under the kept graph."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(fake_images))
        g_optimizer.zero_grad()
        g_loss.backward(retain_graph=True)
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_detached_g(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """G's update scores detached fakes: no gradient reaches G."""
    fake_images = G(_z(real_images, z_dim)).detach()
    real_logits, fake_logits = D(real_images), D(fake_images)
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(fake_images))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_global_z_dim(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """z drawn with the notebook's Z_DIM instead of the z_dim it is given."""
    return train_step(real_images, D, G, d_optimizer, g_optimizer, Z_DIM, smooth, g_steps)


def step_global_batch(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """Fakes drawn with the notebook's BATCH_SIZE instead of the real batch's size."""
    fake_images = G(torch.randn(BATCH_SIZE, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(torch.randn(BATCH_SIZE, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_frozen_d(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """D frozen for G's updates and never unfrozen."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_returns_logits(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """D's verdicts returned as mean logits instead of probabilities."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": real_logits.detach().mean(),
        "d_fake": fake_logits.detach().mean(),
    }


def step_returns_tuple(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    values = train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth, g_steps)
    return values["d_loss"], values["g_loss"]


def step_old_order(D, G, d_optimizer, g_optimizer, real_images, z_dim, smooth=1.0, g_steps=1):
    """Lesson 01's old parameter order: the real batch last."""
    return train_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth, g_steps)


def step_no_d_step(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    """D's loss computed and backpropagated, but d_optimizer.step() forgotten."""
    fake_images = G(_z(real_images, z_dim))
    real_logits, fake_logits = D(real_images), D(fake_images.detach())
    d_loss = losses.d_loss_bce(real_logits, fake_logits, smooth=smooth)
    d_optimizer.zero_grad()
    d_loss.backward()
    for _ in range(g_steps):
        g_loss = losses.g_loss_nonsaturating(D(G(_z(real_images, z_dim))))
        g_optimizer.zero_grad()
        g_loss.backward()
        g_optimizer.step()
    return _verdicts(d_loss, g_loss, real_logits, fake_logits)


def step_not_written(real_images, D, G, d_optimizer, g_optimizer, z_dim, smooth=1.0, g_steps=1):
    raise NotImplementedError("write the training step")


Z_DIM, BATCH_SIZE = 100, 128  # the notebook's settings, which a step must not use
