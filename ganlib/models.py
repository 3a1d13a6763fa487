"""The networks of the course: MLP GAN, DCGAN and CycleGAN.

Conventions shared by every model here:

* images are float tensors ``(N, C, H, W)`` in ``[-1, 1]``; generators end in ``Tanh``;
* discriminators return raw scores (logits), never probabilities: the losses in
  :mod:`ganlib.losses` apply the sigmoid themselves, which is numerically safer;
* a wrong input shape raises a ``ValueError`` that says what was expected, before torch fails
  somewhere deep inside a layer.
"""

from __future__ import annotations

import math

import torch
from torch import nn

__all__ = [
    "MLPGenerator",
    "MLPDiscriminator",
    "conv",
    "deconv",
    "dcgan_init",
    "DCGANGenerator",
    "DCGANDiscriminator",
    "ResidualBlock",
    "ResnetGenerator",
    "PatchDiscriminator",
    "ImagePool",
]


def _shape(x: torch.Tensor) -> str:
    return "(" + ", ".join(["N", *map(str, x.shape[1:])]) + ")"


def _expect_latent(model: nn.Module, z: torch.Tensor, z_dim: int) -> torch.Tensor:
    """Accept latents as ``(N, z_dim)`` or ``(N, z_dim, 1, 1)``; return ``(N, z_dim)``."""
    if z.dim() == 4 and z.shape[2:] == (1, 1):
        z = z.flatten(1)
    if z.dim() != 2 or z.shape[1] != z_dim:
        raise ValueError(
            f"{type(model).__name__} expects latents of shape (N, {z_dim}), got {_shape(z)}; "
            f"sample them with torch.randn(n, {z_dim})"
        )
    return z


def _expect_images(model: nn.Module, x: torch.Tensor, channels: int, size: int | None) -> None:
    """Check ``x`` is ``(N, channels, size, size)`` (any size when ``size`` is None)."""
    ok = x.dim() == 4 and x.shape[1] == channels
    if ok and size is not None:
        ok = x.shape[2] == size and x.shape[3] == size
    if not ok:
        hw = f"{size}, {size}" if size is not None else "H, W"
        raise ValueError(
            f"{type(model).__name__} expects images of shape (N, {channels}, {hw}), got {_shape(x)}"
        )


# --------------------------------------------------------------------------------------------
# MLP GAN (lessons 01 and 02)
# --------------------------------------------------------------------------------------------


class MLPGenerator(nn.Module):
    """Fully connected generator: latent ``(N, z_dim)`` -> images ``(N, *image_shape)`` in [-1, 1].

    Each hidden layer is ``Linear -> [BatchNorm1d] -> LeakyReLU(slope) -> [Dropout]``; the output
    layer is ``Linear -> Tanh`` so the images match data scaled to [-1, 1]. The defaults are the
    classic small MNIST GAN (hidden 32-64-128); ``batch_norm=True`` is lesson 02's variant.
    """

    def __init__(
        self,
        z_dim: int = 100,
        hidden: tuple[int, ...] = (32, 64, 128),
        image_shape: tuple[int, int, int] = (1, 28, 28),
        *,
        slope: float = 0.2,
        dropout: float = 0.0,
        batch_norm: bool = False,
    ) -> None:
        super().__init__()
        self.z_dim, self.image_shape = z_dim, tuple(image_shape)
        layers: list[nn.Module] = []
        width = z_dim
        for size in hidden:
            layers.append(nn.Linear(width, size, bias=not batch_norm))
            if batch_norm:
                layers.append(nn.BatchNorm1d(size))
            layers.append(nn.LeakyReLU(slope))
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers += [nn.Linear(width, math.prod(self.image_shape)), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = _expect_latent(self, z, self.z_dim)
        return self.net(z).view(z.shape[0], *self.image_shape)


class MLPDiscriminator(nn.Module):
    """Fully connected discriminator: images -> one logit per image, shape ``(N, 1)``.

    Accepts ``(N, *image_shape)`` or already flattened ``(N, C*H*W)``. Hidden layers are
    ``Linear -> LeakyReLU(slope) -> [Dropout]``; the last layer is a bare ``Linear`` (a logit, no
    sigmoid). Defaults: the classic small MNIST discriminator (hidden 128-64-32, dropout 0.3).
    """

    def __init__(
        self,
        hidden: tuple[int, ...] = (128, 64, 32),
        image_shape: tuple[int, int, int] = (1, 28, 28),
        *,
        slope: float = 0.2,
        dropout: float = 0.3,
    ) -> None:
        super().__init__()
        self.image_shape = tuple(image_shape)
        layers: list[nn.Module] = []
        width = math.prod(self.image_shape)
        for size in hidden:
            layers += [nn.Linear(width, size), nn.LeakyReLU(slope)]
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = size
        layers.append(nn.Linear(width, 1))
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        flat = math.prod(self.image_shape)
        if not (tuple(x.shape[1:]) == self.image_shape or (x.dim() == 2 and x.shape[1] == flat)):
            shape = ", ".join(map(str, self.image_shape))
            raise ValueError(
                f"{type(self).__name__} expects images of shape (N, {shape}) or (N, {flat}), "
                f"got {_shape(x)}"
            )
        return self.net(x.flatten(1))


# --------------------------------------------------------------------------------------------
# DCGAN (lessons 03 and 05), Radford et al. 2016
# --------------------------------------------------------------------------------------------


def conv(
    in_c: int,
    out_c: int,
    kernel_size: int = 4,
    stride: int = 2,
    padding: int = 1,
    batch_norm: bool = True,
) -> nn.Sequential:
    """A strided convolution, optionally followed by BatchNorm (activation left to the caller).

    With the defaults it halves height and width. The convolution has no bias when BatchNorm
    follows: BatchNorm subtracts the mean, so a bias would be cancelled anyway.
    """
    layers: list[nn.Module] = [
        nn.Conv2d(in_c, out_c, kernel_size, stride, padding, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_c))
    return nn.Sequential(*layers)


def deconv(
    in_c: int,
    out_c: int,
    kernel_size: int = 4,
    stride: int = 2,
    padding: int = 1,
    batch_norm: bool = True,
) -> nn.Sequential:
    """A transposed convolution (doubles height and width by default), optionally with BatchNorm."""
    layers: list[nn.Module] = [
        nn.ConvTranspose2d(in_c, out_c, kernel_size, stride, padding, bias=not batch_norm)
    ]
    if batch_norm:
        layers.append(nn.BatchNorm2d(out_c))
    return nn.Sequential(*layers)


def dcgan_init(module: nn.Module) -> nn.Module:
    """DCGAN initialisation of ``module`` and all its submodules; returns ``module``.

    Convolution and linear weights ~ N(0, 0.02), BatchNorm weights ~ N(1, 0.02), biases 0
    (Radford et al. 2016). ``G.apply(dcgan_init)`` works too.
    """
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.ConvTranspose2d | nn.Linear):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)
    return module


def _dcgan_plan(image_size: int, name: str) -> tuple[int, int]:
    """Split ``image_size`` into a base grid (4 or 7) and the number of 2x up/down steps."""
    for base in (4, 7):
        steps = math.log2(image_size / base) if image_size >= base else -1
        if steps >= 1 and steps == int(steps):
            return base, int(steps)
    raise ValueError(
        f"{name} supports image sizes 4*2^k or 7*2^k (28, 32, 64, 128, ...), got {image_size}"
    )


class DCGANGenerator(nn.Module):
    """DCGAN generator: latent ``(N, z_dim)`` -> images ``(N, channels, image_size, image_size)``.

    A transposed convolution turns z into a small grid (4x4, or 7x7 for 28 px), then each
    ``deconv`` doubles the size and halves the channels: 64 px is ``z -> 8w@4 -> 4w@8 -> 2w@16 ->
    w@32 -> channels@64``; 32 px starts at ``4w@4``; 28 px (MNIST, as in the TensorFlow DCGAN
    tutorial) is ``z -> 2w@7 -> w@14 -> 1@28``. BatchNorm + ReLU everywhere except the output,
    which is ``Tanh`` (range [-1, 1]). Weights use :func:`dcgan_init`.
    """

    def __init__(
        self, z_dim: int = 100, channels: int = 3, image_size: int = 32, width: int = 64
    ) -> None:
        super().__init__()
        self.z_dim, self.channels, self.image_size = z_dim, channels, image_size
        base, steps = _dcgan_plan(image_size, type(self).__name__)
        c = width * 2 ** (steps - 1)
        layers: list[nn.Module] = [deconv(z_dim, c, base, 1, 0), nn.ReLU(True)]
        for _ in range(steps - 1):
            layers += [deconv(c, c // 2), nn.ReLU(True)]
            c //= 2
        layers += [deconv(c, channels, batch_norm=False), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        z = _expect_latent(self, z, self.z_dim)
        return self.net(z[:, :, None, None])


class DCGANDiscriminator(nn.Module):
    """DCGAN discriminator: images ``(N, channels, image_size, image_size)`` -> logits ``(N, 1)``.

    The mirror of :class:`DCGANGenerator`: strided ``conv`` blocks halve the size and double the
    channels (``channels -> w -> 2w -> ...``) down to a 4x4 (or 7x7) grid, then one convolution
    covering that grid gives the logit. LeakyReLU(0.2) throughout, BatchNorm everywhere except the
    first layer, no sigmoid (use the losses in :mod:`ganlib.losses`).
    """

    def __init__(self, channels: int = 3, image_size: int = 32, width: int = 64) -> None:
        super().__init__()
        self.channels, self.image_size = channels, image_size
        base, steps = _dcgan_plan(image_size, type(self).__name__)
        layers: list[nn.Module] = [conv(channels, width, batch_norm=False), nn.LeakyReLU(0.2, True)]
        c = width
        for _ in range(steps - 1):
            layers += [conv(c, c * 2), nn.LeakyReLU(0.2, True)]
            c *= 2
        layers += [conv(c, 1, base, 1, 0, batch_norm=False), nn.Flatten()]
        self.net = nn.Sequential(*layers)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _expect_images(self, x, self.channels, self.image_size)
        return self.net(x)


# --------------------------------------------------------------------------------------------
# CycleGAN (lesson 04), Zhu et al. 2017
# --------------------------------------------------------------------------------------------


class ResidualBlock(nn.Module):
    """``x + F(x)`` with F = reflect-pad, 3x3 conv, InstanceNorm, ReLU, reflect-pad, 3x3 conv, IN.

    Shape-preserving: ``(N, channels, H, W)`` in and out. The skip connection lets the generator
    keep what it need not change (the layout of a landscape) and learn only the difference.
    """

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.channels = channels
        self.block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
            nn.ReLU(True),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3),
            nn.InstanceNorm2d(channels),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _expect_images(self, x, self.channels, None)
        return x + self.block(x)


class ResnetGenerator(nn.Module):
    """CycleGAN generator: images ``(N, channels, H, W)`` -> images of the same shape in [-1, 1].

    7x7 conv, two stride-2 downsamplings (w -> 2w -> 4w), ``n_blocks`` residual blocks, two
    transposed-conv upsamplings and a 7x7 conv with ``Tanh``. Reflection padding and
    InstanceNorm as in Zhu et al.; use 6 blocks for 128 px images, 9 for 256 px. H and W must be
    multiples of 4.
    """

    def __init__(self, channels: int = 3, width: int = 64, n_blocks: int = 6) -> None:
        super().__init__()
        self.channels = channels
        w = width
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(channels, w, 7),
            nn.InstanceNorm2d(w),
            nn.ReLU(True),
        ]
        for c in (w, 2 * w):  # downsample: w -> 2w -> 4w
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1), nn.InstanceNorm2d(2 * c), nn.ReLU(True)]
        layers += [ResidualBlock(4 * w) for _ in range(n_blocks)]
        for c in (4 * w, 2 * w):  # upsample: 4w -> 2w -> w
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1),
                nn.InstanceNorm2d(c // 2),
                nn.ReLU(True),
            ]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(w, channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _expect_images(self, x, self.channels, None)
        if x.shape[2] % 4 or x.shape[3] % 4 or min(x.shape[2:]) < 8:
            raise ValueError(
                f"{type(self).__name__} needs height and width that are multiples of 4 and at "
                f"least 8, got {_shape(x)}; resize the images (e.g. image_size=128)"
            )
        return self.net(x)


class PatchDiscriminator(nn.Module):
    """PatchGAN discriminator: images ``(N, channels, H, W)`` -> a map of logits ``(N, 1, h, w)``.

    With ``n_layers=3`` each output logit judges one 70x70 patch of the input (the CycleGAN
    discriminator): 4x4 convs with stride 2 (``channels -> w -> 2w -> 4w``), one with stride 1
    (``8w``), then a 4x4 conv to one channel. InstanceNorm everywhere but the first layer,
    LeakyReLU(0.2). For 128 px inputs the map is 14x14.
    """

    def __init__(self, channels: int = 3, width: int = 64, n_layers: int = 3) -> None:
        super().__init__()
        self.channels, self.n_layers = channels, n_layers
        layers: list[nn.Module] = [nn.Conv2d(channels, width, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        c = width
        for n in range(1, n_layers + 1):
            out = width * min(2**n, 8)
            stride = 2 if n < n_layers else 1
            layers += [
                nn.Conv2d(c, out, 4, stride, 1),
                nn.InstanceNorm2d(out),
                nn.LeakyReLU(0.2, True),
            ]
            c = out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)

    def min_size(self) -> int:
        """The smallest input height/width that still leaves a 1x1 map of logits."""
        # each stride-2 conv halves the size, the two stride-1 convs remove one pixel each
        return 3 * 2**self.n_layers

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _expect_images(self, x, self.channels, None)
        if min(x.shape[2:]) < self.min_size():
            raise ValueError(
                f"{type(self).__name__} with n_layers={self.n_layers} needs images of at least "
                f"{self.min_size()}x{self.min_size()} pixels, got {_shape(x)}"
            )
        return self.net(x)


class ImagePool:
    """A history of generated images, to show the discriminator older fakes too (Shrivastava et al.).

    ``query(fakes)`` returns a batch of the same shape: while the pool is filling, the new fakes
    themselves; afterwards each image is, with probability 1/2, swapped for a random stored one
    (which the new image replaces). This keeps the discriminator from forgetting what earlier
    generators produced. Random draws come from torch's global RNG, so a resumed run repeats them;
    ``state_dict()``/``load_state_dict()`` let checkpoints hold the pool. ``size=0`` disables it.
    """

    def __init__(self, size: int = 50) -> None:
        if size < 0:
            raise ValueError(f"ImagePool size must be >= 0, got {size}")
        self.size = size
        self.images: list[torch.Tensor] = []

    def __len__(self) -> int:
        return len(self.images)

    @torch.no_grad()
    def query(self, fakes: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return fakes
        out = []
        for image in fakes.detach():
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

    def state_dict(self) -> dict:
        stored = torch.stack(self.images).cpu() if self.images else torch.empty(0)
        return {"size": self.size, "images": stored}

    def load_state_dict(self, state: dict, device: torch.device | str | None = None) -> None:
        if state["size"] != self.size:
            raise ValueError(
                f"ImagePool of size {self.size} cannot load a pool of size {state['size']}"
            )
        self.images = [image.to(device) if device else image for image in state["images"]]
