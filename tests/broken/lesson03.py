"""Lesson 03 (DCGAN on SVHN): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import torch
from torch import nn


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
        nn.Conv2d(in_channels, out_channels, kernel_size, stride, padding),
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
