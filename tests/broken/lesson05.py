"""Lesson 05 (face project): a small reference design, correct variants and a bank of mistakes.

Each broken function or class differs from the reference in one way a learner would write it; its
docstring says which.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

Z_DIM = 16
BATCH_SIZE = 64  # the notebook's own batch size, which a step must not assume
SMOOTH = 0.9


# --------------------------------------------------------------------------- preprocess
def preprocess(images, image_size, crop):
    h, w = images.shape[-2:]
    side = int(min(h, w) * crop)
    top, left = (h - side) // 2, (w - side) // 2
    faces = images[:, :, top : top + side, left : left + side].float()
    faces = F.interpolate(
        faces, size=(image_size, image_size), mode="bilinear", antialias=True, align_corners=False
    )
    return faces.round().clamp(0, 255).to(torch.uint8)


def preprocess_bicubic_rounded_side(images, image_size, crop):
    """Correct: bicubic with antialiasing, the side rounded instead of truncated."""
    h = images.shape[-1]
    side = round(h * crop)
    top = round((h - side) / 2)
    faces = images[:, :, top : top + side, top : top + side].float()
    faces = F.interpolate(faces, size=(image_size, image_size), mode="bicubic", antialias=True)
    return faces.round().clamp(0, 255).to(torch.uint8)


def preprocess_area(images, image_size, crop):
    """Correct: area averaging (antialiased by nature); truncates instead of rounding."""
    h = images.shape[-1]
    side = int(h * crop)
    top = (h - side) // 2
    faces = images[:, :, top : top + side, top : top + side].float()
    return F.interpolate(faces, size=(image_size, image_size), mode="area").to(torch.uint8)


def preprocess_torchvision(images, image_size, crop):
    """Correct: torchvision's centre crop and (antialiased) resize on uint8 tensors."""
    from torchvision.transforms.v2 import functional as TF

    side = int(images.shape[-1] * crop)
    return TF.resize(TF.center_crop(images, [side, side]), [image_size, image_size], antialias=True)


def preprocess_no_crop(images, image_size, crop):
    """Resizes the whole photo."""
    faces = F.interpolate(
        images.float(), size=(image_size, image_size), mode="bilinear", antialias=True
    )
    return faces.round().clamp(0, 255).to(torch.uint8)


def preprocess_corner(images, image_size, crop):
    """Crops the top-left square."""
    side = int(images.shape[-1] * crop)
    faces = images[:, :, :side, :side].float()
    faces = F.interpolate(faces, size=(image_size, image_size), mode="bilinear", antialias=True)
    return faces.round().clamp(0, 255).to(torch.uint8)


def preprocess_cuts_share(images, image_size, crop):
    """Reads crop as the share to cut away."""
    return preprocess(images, image_size, 1 - crop)


def preprocess_area_share(images, image_size, crop):
    """Keeps crop of the area, not of the side."""
    return preprocess(images, image_size, math.sqrt(crop))


def preprocess_fixed_crop(images, image_size, crop):
    """Ignores its crop argument (uses the notebook's 0.8)."""
    return preprocess(images, image_size, 0.8)


def preprocess_no_antialias(images, image_size, crop):
    """F.interpolate's default: no antialiasing when shrinking."""
    h = images.shape[-1]
    side = int(h * crop)
    top = (h - side) // 2
    faces = images[:, :, top : top + side, top : top + side].float()
    faces = F.interpolate(faces, size=(image_size, image_size), mode="bilinear")
    return faces.round().clamp(0, 255).to(torch.uint8)


def preprocess_nearest(images, image_size, crop):
    """F.interpolate's default mode: nearest neighbour."""
    h = images.shape[-1]
    side = int(h * crop)
    top = (h - side) // 2
    faces = images[:, :, top : top + side, top : top + side].float()
    return F.interpolate(faces, size=(image_size, image_size)).round().to(torch.uint8)


def preprocess_float(images, image_size, crop):
    """Scales to [-1, 1] itself and returns floats."""
    return preprocess(images, image_size, crop).float() / 127.5 - 1


def preprocess_float_pixels(images, image_size, crop):
    """Forgets to convert back to uint8."""
    return preprocess(images, image_size, crop).float()


def preprocess_unit_uint8(images, image_size, crop):
    """Scales to [0, 1] before the conversion to uint8."""
    return (preprocess(images, image_size, crop).float() / 255).to(torch.uint8)


def preprocess_channels_last(images, image_size, crop):
    """Returns (N, H, W, C), as PIL and NumPy lay images out."""
    return preprocess(images, image_size, crop).permute(0, 2, 3, 1)


def preprocess_not_resized(images, image_size, crop):
    """Crops but never resizes."""
    h = images.shape[-1]
    side = int(h * crop)
    top = (h - side) // 2
    return images[:, :, top : top + side, top : top + side].clone()


def preprocess_in_place(images, image_size, crop):
    """Darkens the loaded photos in place before cropping."""
    images //= 2
    return preprocess(images * 2, image_size, crop)


# --------------------------------------------------------------------------- networks
class Generator(nn.Module):
    def __init__(self, z_dim: int = Z_DIM, image_size: int = 32, width: int = 8):
        super().__init__()
        c = width * 4
        layers = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU()]
        for _ in range(int(math.log2(image_size)) - 3):
            layers += [nn.ConvTranspose2d(c, c // 2, 4, 2, 1, bias=False), nn.BatchNorm2d(c // 2)]
            layers.append(nn.ReLU())
            c //= 2
        layers += [nn.ConvTranspose2d(c, 3, 4, 2, 1), nn.Tanh()]
        self.net = nn.Sequential(*layers)

    def forward(self, z):
        return self.net(z.view(z.size(0), -1, 1, 1))


class Discriminator(nn.Module):
    def __init__(self, image_size: int = 32, width: int = 8):
        super().__init__()
        layers = [nn.Conv2d(3, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for _ in range(int(math.log2(image_size)) - 3):
            layers += [nn.Conv2d(c, 2 * c, 4, 2, 1, bias=False), nn.BatchNorm2d(2 * c)]
            layers.append(nn.LeakyReLU(0.2))
            c *= 2
        layers.append(nn.Conv2d(c, 1, 4, 1, 0))
        self.net = nn.Sequential(*layers)

    def forward(self, x):
        return self.net(x).view(-1, 1)


class DiscriminatorSpectral(nn.Module):
    """Correct: spectral norm, no batch norm, functional leaky ReLU, scores of shape (N,)."""

    def __init__(self, image_size: int = 32, width: int = 8):
        super().__init__()
        sn = nn.utils.parametrizations.spectral_norm
        self.convs = nn.ModuleList(
            [sn(nn.Conv2d(3, width, 4, 2, 1)), sn(nn.Conv2d(width, 2 * width, 4, 2, 1))]
        )
        self.head = sn(nn.Linear(2 * width * (image_size // 4) ** 2, 1))

    def forward(self, x):
        for conv in self.convs:
            x = F.leaky_relu(conv(x), 0.2)
        return self.head(x.flatten(1)).squeeze(1)


class DiscriminatorMap(Discriminator):
    """Forgets the last layer: a map of features, not one score."""

    def forward(self, x):
        return self.net[:-1](x)


class DiscriminatorConstant(Discriminator):
    """Scores a blank image instead of its input."""

    def forward(self, x):
        return self.net(torch.zeros_like(x)).view(-1, 1)


class DiscriminatorMean(Discriminator):
    """Averages the scores over the batch."""

    def forward(self, x):
        return self.net(x).mean()


class DiscriminatorSigmoid(Discriminator):
    """Ends with a sigmoid, as the BCE loss of lesson 01's first version wanted."""

    def forward(self, x):
        return torch.sigmoid(super().forward(x))


class DiscriminatorTanh(Discriminator):
    """Ends with a tanh."""

    def forward(self, x):
        return torch.tanh(super().forward(x))


class DiscriminatorReLU(Discriminator):
    """ReLU instead of LeakyReLU (the generator's activation)."""

    def __init__(self, image_size: int = 32, width: int = 8):
        super().__init__(image_size, width)
        for i, layer in enumerate(self.net):
            if isinstance(layer, nn.LeakyReLU):
                self.net[i] = nn.ReLU()


class DiscriminatorFunctionalReLU(Discriminator):
    """F.relu between the layers, written in forward."""

    def forward(self, x):
        for layer in self.net:
            x = F.relu(x) if isinstance(layer, nn.LeakyReLU) else layer(x)
        return x.view(-1, 1)


class DiscriminatorDefaultSlope(Discriminator):
    """nn.LeakyReLU() with its default slope, 0.01."""

    def __init__(self, image_size: int = 32, width: int = 8):
        super().__init__(image_size, width)
        for i, layer in enumerate(self.net):
            if isinstance(layer, nn.LeakyReLU):
                self.net[i] = nn.LeakyReLU()


class DiscriminatorNoActivation(Discriminator):
    """Convolutions (and batch norm) without activations in between."""

    def forward(self, x):
        for layer in self.net:
            if not isinstance(layer, nn.LeakyReLU):
                x = layer(x)
        return x.view(-1, 1)


class DiscriminatorUnusedLayer(Discriminator):
    """Builds a layer that forward never uses."""

    def __init__(self, image_size: int = 32, width: int = 8):
        super().__init__(image_size, width)
        self.extra = nn.Conv2d(3, 3, 1)


class DiscriminatorFor64(Discriminator):
    """Built for 64 px images whatever image_size says."""

    def __init__(self, image_size: int = 32, width: int = 8):
        super().__init__(64, width)


class GeneratorNoTanh(Generator):
    """No output activation (and the values run past 1)."""

    def forward(self, z):
        return self.net[:-1](z.view(z.size(0), -1, 1, 1)) * 5


class GeneratorSigmoid(Generator):
    """Sigmoid at the end: images in [0, 1]."""

    def forward(self, z):
        return torch.sigmoid(self.net[:-1](z.view(z.size(0), -1, 1, 1)))


class GeneratorClamp(Generator):
    """Clamps instead of a Tanh."""

    def forward(self, z):
        return self.net[:-1](z.view(z.size(0), -1, 1, 1)).clamp(-1, 1)


class GeneratorConstant(Generator):
    """Ignores z."""

    def forward(self, z):
        return super().forward(torch.ones_like(z))


class GeneratorOwnNoise(Generator):
    """Draws its own noise instead of using z."""

    def forward(self, z):
        return super().forward(torch.randn_like(z))


class GeneratorPartOfZ(Generator):
    """Uses only the first half of z (the rest stays zero)."""

    def forward(self, z):
        half = z.clone()
        half[:, z.size(1) // 2 :] = 0
        return super().forward(half)


class GeneratorMixesBatch(Generator):
    """Reshapes z across the batch: each image depends on other samples' z."""

    def forward(self, z):
        return self.net(z.t().reshape(z.size(0), -1, 1, 1))


class GeneratorSmall(Generator):
    """Draws 16 px images for 32 px data."""

    def forward(self, z):
        return F.avg_pool2d(super().forward(z), 2)


class GeneratorFixedZ(nn.Module):
    """Its first layer takes 100 inputs whatever z_dim is."""

    def __init__(self, z_dim: int = Z_DIM, image_size: int = 32):
        super().__init__()
        self.inner = Generator(100, image_size)

    def forward(self, z):
        return self.inner(z)


# --------------------------------------------------------------------------- losses
def bce(scores, target):
    return F.binary_cross_entropy_with_logits(scores, torch.full_like(scores, target))


def d_loss_bce(real_scores, fake_scores):
    return bce(real_scores, SMOOTH) + bce(fake_scores, 0.0)


def g_loss_bce(fake_scores):
    return bce(fake_scores, 1.0)


def d_loss_bce_halved(real_scores, fake_scores):
    """Correct: the average of the two terms (Adam does not mind the factor)."""
    return (bce(real_scores, SMOOTH) + bce(fake_scores, 0.0)) / 2


def d_loss_bce_swapped(real_scores, fake_scores):
    """Labels real images 0 and fakes real."""
    return bce(real_scores, 0.0) + bce(fake_scores, SMOOTH)


def d_loss_bce_two_sided(real_scores, fake_scores):
    """Smooths the fakes' label too (0.1)."""
    return bce(real_scores, SMOOTH) + bce(fake_scores, 1 - SMOOTH)


def d_loss_bce_unsmoothed(real_scores, fake_scores):
    """Forgets the label smoothing the parameters ask for."""
    return bce(real_scores, 1.0) + bce(fake_scores, 0.0)


def d_loss_bce_sigmoid_first(real_scores, fake_scores):
    """Applies a sigmoid before the BCE with logits."""
    return bce(torch.sigmoid(real_scores), SMOOTH) + bce(torch.sigmoid(fake_scores), 0.0)


def d_loss_bce_summed(real_scores, fake_scores):
    """Sums over the batch instead of averaging."""
    r = F.binary_cross_entropy_with_logits(
        real_scores, torch.full_like(real_scores, SMOOTH), reduction="sum"
    )
    return r + F.binary_cross_entropy_with_logits(
        fake_scores, torch.zeros_like(fake_scores), reduction="sum"
    )


def d_loss_bce_probabilities(real_scores, fake_scores):
    """F.binary_cross_entropy (for probabilities) on raw scores."""
    return F.binary_cross_entropy(
        real_scores, torch.full_like(real_scores, SMOOTH)
    ) + F.binary_cross_entropy(fake_scores, torch.zeros_like(fake_scores))


def d_loss_bce_log_sigmoid(real_scores, fake_scores):
    """The formula written out with log(sigmoid): infinite for confident scores."""
    p_real, p_fake = torch.sigmoid(real_scores), torch.sigmoid(fake_scores)
    real = -(SMOOTH * torch.log(p_real) + (1 - SMOOTH) * torch.log(1 - p_real)).mean()
    return real - torch.log(1 - p_fake).mean()


def d_loss_bce_item(real_scores, fake_scores):
    """Returns a Python number: no gradient can flow."""
    return d_loss_bce(real_scores, fake_scores).item()


def d_loss_bce_per_sample(real_scores, fake_scores):
    """reduction="none": one loss per image."""
    target = torch.full_like(real_scores, SMOOTH)
    return F.binary_cross_entropy_with_logits(
        real_scores, target, reduction="none"
    ) + F.binary_cross_entropy_with_logits(
        fake_scores, torch.zeros_like(fake_scores), reduction="none"
    )


def g_loss_bce_minimax(fake_scores):
    """The minimax form log(1 - D(G(z))), which saturates."""
    return -bce(fake_scores, 0.0)


def g_loss_bce_zeros(fake_scores):
    """Labels the fakes 0 in G's loss."""
    return bce(fake_scores, 0.0)


def g_loss_bce_smoothed(fake_scores):
    """Smooths G's target too."""
    return bce(fake_scores, SMOOTH)


def g_loss_bce_log_sigmoid(fake_scores):
    """-log(sigmoid(x)) written out: infinite when D rejects a fake confidently."""
    return -torch.log(torch.sigmoid(fake_scores)).mean()


def d_loss_lsgan(real_scores, fake_scores):
    return 0.5 * ((real_scores - 1) ** 2).mean() + 0.5 * (fake_scores**2).mean()


def g_loss_lsgan(fake_scores):
    return ((fake_scores - 1) ** 2).mean()


def g_loss_lsgan_half(fake_scores):
    """Correct: with the factor 1/2 of Mao et al."""
    return 0.5 * ((fake_scores - 1) ** 2).mean()


def d_loss_lsgan_swapped(real_scores, fake_scores):
    """Pushes real scores to 0 and fakes to 1."""
    return 0.5 * (real_scores**2).mean() + 0.5 * ((fake_scores - 1) ** 2).mean()


def d_loss_lsgan_abs(real_scores, fake_scores):
    """Absolute differences instead of squares."""
    return 0.5 * (real_scores - 1).abs().mean() + 0.5 * fake_scores.abs().mean()


def g_loss_lsgan_zero(fake_scores):
    """G pushes its fakes to 0, D's target for fakes."""
    return (fake_scores**2).mean()


def d_loss_hinge(real_scores, fake_scores):
    return F.relu(1 - real_scores).mean() + F.relu(1 + fake_scores).mean()


def g_loss_hinge(fake_scores):
    return -fake_scores.mean()


def d_loss_hinge_no_relu(real_scores, fake_scores):
    """Forgets the ReLUs: the Wasserstein critic's loss."""
    return (1 - real_scores).mean() + (1 + fake_scores).mean()


def d_loss_hinge_swapped(real_scores, fake_scores):
    """Signs swapped."""
    return F.relu(1 + real_scores).mean() + F.relu(1 - fake_scores).mean()


def g_loss_hinge_relu(fake_scores):
    """A hinge on G's side too."""
    return F.relu(1 - fake_scores).mean()


def g_loss_hinge_sign(fake_scores):
    """Minimises the fake scores."""
    return fake_scores.mean()


# --------------------------------------------------------------------------- the step
def train_step(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    z = torch.randn(len(real), z_dim, device=real.device)
    fake = G(z)
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()

    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_frozen_d_floats(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Correct: D frozen during G's update (and unfrozen after), floats returned, extra values."""
    fake = G(torch.randn(real.size(0), z_dim))
    real_scores, fake_scores = D(real), D(fake.detach())
    d_loss = d_loss_fn(real_scores, fake_scores)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "real_score": real_scores.mean().item(),
        "fake_score": fake_scores.mean().item(),
    }


def step_not_detached(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """D scores the fakes without detaching them; the same fakes serve G."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(real), D(fake))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_not_detached_fresh_fakes(
    real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn
):
    """D's fakes are not detached; G draws new fakes (no error, but D's loss reaches G)."""
    d_loss = d_loss_fn(D(real), D(G(torch.randn(len(real), z_dim))))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(G(torch.randn(len(real), z_dim))))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_stale_verdict(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Scores the fakes once, before D's update, and reuses that verdict for G."""
    fake = G(torch.randn(len(real), z_dim))
    fake_scores = D(fake)
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(fake_scores)
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_detached_for_g(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Detaches the fakes in G's update too: G gets no gradient."""
    fake = G(torch.randn(len(real), z_dim)).detach()
    d_loss = d_loss_fn(D(real), D(fake))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    if g_loss.requires_grad:
        g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_no_g_update(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Computes G's loss but never steps G's optimizer."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_g_first(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Updates G before D."""
    fake = G(torch.randn(len(real), z_dim))
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_no_d_zero_grad(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Never zeroes D's gradients: G's backward and earlier steps pile up in them."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_swapped_scores(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Passes the fake scores first to D's loss."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(fake.detach()), D(real))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_notebook_losses(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Uses the notebook's own BCE losses instead of the ones it is given."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_bce(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_bce(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_minus_d_loss_for_g(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """G maximises D's loss instead of minimising its own."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = -d_loss_fn(D(real), D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_notebook_z_dim(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Draws z with the notebook's Z_DIM instead of its z_dim argument."""
    return train_step(real, G, D, g_optimizer, d_optimizer, Z_DIM, d_loss_fn, g_loss_fn)


def step_batch_size_z(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Draws BATCH_SIZE latents, whatever the size of the real batch."""
    fake = G(torch.randn(BATCH_SIZE, z_dim))
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_d_frozen_for_good(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Freezes D for G's update and never unfreezes it."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {"d_loss": d_loss.detach(), "g_loss": g_loss.detach()}


def step_returns_tuple(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Returns (d_loss, g_loss) as before the step contract."""
    values = train_step(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn)
    return values["d_loss"].item(), values["g_loss"].item()


def step_loss_after_update(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Reports D's loss recomputed after D's update, not the one it stepped with."""
    fake = G(torch.randn(len(real), z_dim))
    d_loss = d_loss_fn(D(real), D(fake.detach()))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = g_loss_fn(D(fake))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    with torch.no_grad():
        d_loss = d_loss_fn(D(real), D(fake))
    return {"d_loss": d_loss, "g_loss": g_loss.detach()}


def step_nan(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn):
    """Returns a NaN loss."""
    train_step(real, G, D, g_optimizer, d_optimizer, z_dim, d_loss_fn, g_loss_fn)
    return {"d_loss": float("nan"), "g_loss": 0.0}


def step_old_signature(real, G, D, opt_g, opt_d, z_dim):
    """The old calling convention: optimizers named opt_g and opt_d, no losses given."""
    return {"d_loss": 0.0, "g_loss": 0.0}


# --------------------------------------------------------------------------- results
class Lookup(nn.Module):
    """A "generator" that returns stored images, one picked by each z: real faces give the best
    FID any generator could reach."""

    def __init__(self, images: torch.Tensor):
        super().__init__()
        self.register_buffer(
            "images", images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images
        )
        self.scale = nn.Parameter(torch.ones(()))

    def forward(self, z):
        index = (z[:, 0].abs() * 1e4).long() % len(self.images)
        return self.images[index] * self.scale


def collapsed(images: torch.Tensor, faces: int = 1) -> Lookup:
    """A collapsed generator: only ``faces`` different (real) faces, whatever z."""
    return Lookup(images[:faces])


def half_broken(images: torch.Tensor) -> Lookup:
    """Real faces whose lower half (mouth, chin, shoulders) is a flat grey."""
    broken = images.float() / 127.5 - 1 if images.dtype == torch.uint8 else images.clone()
    broken[:, :, broken.shape[-2] // 2 :] = 0.0
    return Lookup(broken)
