"""Lesson 07 (conditional GANs): the reference solutions and a bank of typical mistakes.

Each broken variant differs from the reference in one way a learner might get wrong; the checker
tests assert that the checker catches it with the right message.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ganlib import losses

Z_DIM, NUM_CLASSES, EMBED_DIM, WIDTH = 64, 10, 16, 16


# --------------------------------------------------------------------------- given by the lesson
def upsampler(in_features, width, channels=1, image_size=28):
    """A vector (N, in_features) -> images (N, channels, image_size, image_size) in [-1, 1]."""
    s = image_size // 4
    return nn.Sequential(
        nn.Linear(in_features, 2 * width * s * s),
        nn.BatchNorm1d(2 * width * s * s),
        nn.ReLU(),
        nn.Unflatten(1, (2 * width, s, s)),
        nn.ConvTranspose2d(2 * width, width, 4, 2, 1),
        nn.BatchNorm2d(width),
        nn.ReLU(),
        nn.ConvTranspose2d(width, channels, 4, 2, 1),
        nn.Tanh(),
    )


def downsampler(in_channels, width, image_size=28, features=128):
    """Images (N, in_channels, image_size, image_size) -> features phi(x), (N, features)."""
    s = image_size // 4
    return nn.Sequential(
        nn.Conv2d(in_channels, width, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Conv2d(width, 2 * width, 4, 2, 1),
        nn.LeakyReLU(0.2),
        nn.Flatten(),
        nn.Linear(2 * width * s * s, features),
        nn.LeakyReLU(0.2),
    )


FEATURES = 128


# --------------------------------------------------------------------------- one-hot
def one_hot(labels, num_classes):
    return F.one_hot(labels, num_classes).float()


def one_hot_eye(labels, num_classes):
    """Rows of an identity matrix made where the labels live: right too."""
    return torch.eye(num_classes, device=labels.device)[labels]


def one_hot_scatter(labels, num_classes):
    rows = torch.zeros(len(labels), num_classes, device=labels.device)
    return rows.scatter(1, labels[:, None], 1.0)


def one_hot_no_num_classes(labels, num_classes):
    """The width from the largest label in the batch."""
    return F.one_hot(labels).float()


def one_hot_ten(labels, num_classes):
    """Ten classes, hard-coded."""
    return F.one_hot(labels, 10).float()


def one_hot_int(labels, num_classes):
    """Integers, as F.one_hot returns them."""
    return F.one_hot(labels, num_classes)


def one_hot_transposed(labels, num_classes):
    return F.one_hot(labels, num_classes).float().T


def one_hot_unsqueezed(labels, num_classes):
    return F.one_hot(labels[:, None], num_classes).float()


def one_hot_off_by_one(labels, num_classes):
    """Class 1 in the first column (labels counted from 1)."""
    return torch.eye(num_classes)[(labels - 1) % num_classes]


def one_hot_inverted(labels, num_classes):
    return 1 - F.one_hot(labels, num_classes).float()


def one_hot_on_cpu(labels, num_classes):
    """An identity matrix on the CPU, indexed with labels that may live on a GPU."""
    return torch.eye(num_classes)[labels]


def one_hot_zeros_on_cpu(labels, num_classes):
    rows = torch.zeros(len(labels), num_classes)
    rows[torch.arange(len(labels)), labels] = 1.0
    return rows


def one_hot_in_place(labels, num_classes):
    rows = F.one_hot(labels, num_classes).float()
    labels.zero_()
    return rows


# --------------------------------------------------------------------------- the generator
class Generator(nn.Module):
    def __init__(
        self,
        z_dim=Z_DIM,
        num_classes=NUM_CLASSES,
        embed_dim=EMBED_DIM,
        width=WIDTH,
        channels=1,
        image_size=28,
    ):
        super().__init__()
        self.embed = nn.Embedding(num_classes, embed_dim)
        self.body = upsampler(z_dim + embed_dim, width, channels, image_size)

    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels)], dim=1))


class GeneratorOneHot(nn.Module):
    """The label as a one-hot row instead of an embedding: right too."""

    def __init__(
        self, z_dim=Z_DIM, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28
    ):
        super().__init__()
        self.num_classes = num_classes
        self.body = upsampler(z_dim + num_classes, width, channels, image_size)

    def forward(self, z, labels):
        return self.body(torch.cat([z, one_hot(labels, self.num_classes)], dim=1))


class GeneratorIgnoresLabel(Generator):
    def forward(self, z, labels):
        zeros = torch.zeros(len(z), self.embed.embedding_dim)
        return self.body(torch.cat([z, zeros + 0 * self.embed(labels)], dim=1))


class GeneratorIgnoresZ(Generator):
    def forward(self, z, labels):
        return self.body(torch.cat([0 * z, self.embed(labels)], dim=1))


class GeneratorNoLabels(Generator):
    """forward without the labels."""

    def forward(self, z):
        return self.body(torch.cat([z, torch.zeros(len(z), 16)], dim=1))


class GeneratorCatBatch(Generator):
    """z and the embedding stacked along the batch dimension."""

    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels)], dim=0))


class GeneratorCatBatchSameSize(Generator):
    """Along the batch dimension, with an embedding as long as z: no error, twice the images."""

    def __init__(self, z_dim=Z_DIM, num_classes=NUM_CLASSES, width=WIDTH, **kwargs):
        super().__init__(z_dim, num_classes, embed_dim=z_dim, width=width, **kwargs)
        self.body = upsampler(z_dim, width)

    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels)], dim=0))


class GeneratorUnsqueezedLabels(Generator):
    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels[:, None])], dim=1))


class GeneratorTenClasses(Generator):
    """An embedding table for 10 classes whatever num_classes says: fine for labels < 10,
    but a one-hot version breaks."""

    def __init__(self, z_dim=Z_DIM, num_classes=NUM_CLASSES, width=WIDTH, **kwargs):
        super().__init__(z_dim, num_classes, width=width, **kwargs)
        self.num_classes = num_classes
        self.body = upsampler(z_dim + 10, width)

    def forward(self, z, labels):
        return self.body(torch.cat([z, one_hot(labels, self.num_classes)], dim=1))


class GeneratorSmallTable(Generator):
    """An embedding table with too few rows."""

    def __init__(self, z_dim=Z_DIM, num_classes=NUM_CLASSES, width=WIDTH, **kwargs):
        super().__init__(z_dim, num_classes, width=width, **kwargs)
        self.embed = nn.Embedding(num_classes - 3, EMBED_DIM)


class GeneratorBodyForOneHot(Generator):
    """The body built for a one-hot (z_dim + num_classes), fed an embedding of embed_dim."""

    def __init__(self, z_dim=Z_DIM, num_classes=NUM_CLASSES, embed_dim=EMBED_DIM, width=WIDTH):
        super().__init__(z_dim, num_classes, embed_dim, width)
        self.body = upsampler(z_dim + num_classes, width)


class GeneratorOneHotNoWidth(GeneratorOneHot):
    """F.one_hot without num_classes: as wide as the batch's largest label."""

    def forward(self, z, labels):
        return self.body(torch.cat([z, F.one_hot(labels).float()], dim=1))


class GeneratorFloatLabels(Generator):
    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels.float())], dim=1))


class GeneratorBatchMean(Generator):
    """The batch's mean embedding for every sample."""

    def forward(self, z, labels):
        e = self.embed(labels).mean(dim=0, keepdim=True).expand(len(z), -1)
        return self.body(torch.cat([z, e], dim=1))


class GeneratorShiftedLabels(Generator):
    """Each sample gets the next sample's label."""

    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels.roll(1))], dim=1))


class GeneratorOneHotOnCPU(GeneratorOneHot):
    """A one-hot made on the CPU."""

    def forward(self, z, labels):
        return self.body(torch.cat([z, one_hot_on_cpu(labels, self.num_classes)], dim=1))


class GeneratorNoTanh(Generator):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.body[-1] = nn.Identity()


class GeneratorDetachedEmbedding(Generator):
    def forward(self, z, labels):
        return self.body(torch.cat([z, self.embed(labels).detach()], dim=1))


# --------------------------------------------------------------------------- the concat discriminator
class ConcatDiscriminator(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__()
        self.image_size = image_size
        self.embed = nn.Embedding(num_classes, image_size * image_size)
        self.body = downsampler(channels + 1, width, image_size)
        self.head = nn.Linear(FEATURES, 1)

    def forward(self, images, labels):
        plane = self.embed(labels).view(-1, 1, self.image_size, self.image_size)
        return self.head(self.body(torch.cat([images, plane], dim=1)))


class ConcatDiscriminatorOneHotPlanes(nn.Module):
    """The one-hot spread over num_classes constant planes: right too."""

    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__()
        self.num_classes = num_classes
        self.body = downsampler(channels + num_classes, width, image_size)
        self.head = nn.Linear(FEATURES, 1)

    def forward(self, images, labels):
        planes = one_hot(labels, self.num_classes)[:, :, None, None]
        planes = planes.expand(-1, -1, *images.shape[2:])
        return self.head(self.body(torch.cat([images, planes], dim=1)))


class ConcatDiscriminatorBatchDim(ConcatDiscriminator):
    """The label plane stacked along the batch dimension."""

    def forward(self, images, labels):
        plane = self.embed(labels).view(-1, 1, self.image_size, self.image_size)
        return self.head(self.body(torch.cat([images, plane], dim=0)))


class ConcatDiscriminatorHeightDim(ConcatDiscriminator):
    def forward(self, images, labels):
        plane = self.embed(labels).view(-1, 1, self.image_size, self.image_size)
        return self.head(self.body(torch.cat([images, plane], dim=2)))


class ConcatDiscriminatorIgnoresLabel(ConcatDiscriminator):
    def forward(self, images, labels):
        plane = 0 * self.embed(labels).view(-1, 1, self.image_size, self.image_size)
        return self.head(self.body(torch.cat([images, plane], dim=1)))


class ConcatDiscriminatorNoLabels(ConcatDiscriminator):
    def forward(self, images):
        return self.head(self.body(torch.cat([images, images], dim=1)))


class ConcatDiscriminatorSigmoid(ConcatDiscriminator):
    def forward(self, images, labels):
        return torch.sigmoid(super().forward(images, labels))


class ConcatDiscriminatorOneBodyChannel(ConcatDiscriminator):
    """The body built for the image's channels only."""

    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__(num_classes, width, channels, image_size)
        self.body = downsampler(channels, width, image_size)


class ConcatDiscriminatorPlaneOnCPU(ConcatDiscriminatorOneHotPlanes):
    def forward(self, images, labels):
        planes = one_hot_on_cpu(labels, self.num_classes)[:, :, None, None]
        planes = planes.expand(-1, -1, *images.shape[2:])
        return self.head(self.body(torch.cat([images, planes], dim=1)))


# --------------------------------------------------------------------------- the projection discriminator
class ProjectionDiscriminator(nn.Module):
    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__()
        self.phi = downsampler(channels, width, image_size)
        self.head = nn.Linear(FEATURES, 1)
        self.embed = nn.Embedding(num_classes, FEATURES)

    def forward(self, images, labels):
        phi = self.phi(images)
        return self.head(phi) + (self.embed(labels) * phi).sum(dim=1, keepdim=True)


class ProjectionNoInnerProduct(ProjectionDiscriminator):
    """The elementwise product without its sum."""

    def forward(self, images, labels):
        phi = self.phi(images)
        return self.head(phi) + self.embed(labels) * phi


class ProjectionSumsEverything(ProjectionDiscriminator):
    """The sum over the whole batch: one number added to every verdict."""

    def forward(self, images, labels):
        phi = self.phi(images)
        return self.head(phi) + (self.embed(labels) * phi).sum()


class ProjectionMean(ProjectionDiscriminator):
    def forward(self, images, labels):
        phi = self.phi(images)
        return self.head(phi) + (self.embed(labels) * phi).mean(dim=1, keepdim=True)


class ProjectionEmbeddingOnly(ProjectionDiscriminator):
    """The class vector summed on its own: a bias per class."""

    def forward(self, images, labels):
        return self.head(self.phi(images)) + self.embed(labels).sum(dim=1, keepdim=True)


class ProjectionOnPixels(ProjectionDiscriminator):
    """The inner product with the pixels instead of the features."""

    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__(num_classes, width, channels, image_size)
        self.embed = nn.Embedding(num_classes, channels * image_size * image_size)

    def forward(self, images, labels):
        pixels = images.flatten(1)
        return self.head(self.phi(images)) + (self.embed(labels) * pixels).sum(1, keepdim=True)


class ProjectionWrongSize(ProjectionDiscriminator):
    """An embedding of EMBED_DIM numbers, as in the generator."""

    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__(num_classes, width, channels, image_size)
        self.embed = nn.Embedding(num_classes, EMBED_DIM)


class ProjectionMissing(ProjectionDiscriminator):
    def forward(self, images, labels):
        return self.head(self.phi(images))


class ProjectionTwoEmbeddings(ProjectionDiscriminator):
    """A second embedding, of the generator kind, that also joins the image: not a projection."""

    def __init__(self, num_classes=NUM_CLASSES, width=WIDTH, channels=1, image_size=28):
        super().__init__(num_classes, width, channels, image_size)
        self.other = nn.Embedding(num_classes, 1)

    def forward(self, images, labels):
        return super().forward(images, labels) + self.other(labels)


class ProjectionIntoHead(ProjectionDiscriminator):
    """The class vector multiplied into the features before the head: no inner product added."""

    def forward(self, images, labels):
        return self.head(self.phi(images) * self.embed(labels))


# --------------------------------------------------------------------------- the training step
def train_step(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    n, device = len(real_images), real_images.device
    z = torch.randn(n, z_dim, device=device)
    fake_labels = torch.randint(num_classes, (n,), device=device)
    fake_images = G(z, fake_labels)

    real_logits = D(real_images, labels)
    fake_logits = D(fake_images.detach(), fake_labels)
    d_loss = losses.d_loss_bce(real_logits, fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()

    D.requires_grad_(False)
    g_loss = losses.g_loss_nonsaturating(D(fake_images, fake_labels))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def _step(
    real_images,
    labels,
    D,
    G,
    d_optimizer,
    g_optimizer,
    z_dim,
    num_classes,
    *,
    fake_labels=None,
    d_fake_labels=None,
    d_real_labels=None,
    g_fake_labels=None,
    detach=True,
    new_fakes=False,
    d_loss_fn=losses.d_loss_bce,
    g_loss_fn=losses.g_loss_nonsaturating,
    z=None,
):
    """The reference step with one thing changed, for the variants below."""
    n, device = len(real_images), real_images.device
    if z is None:
        z = torch.randn(n, z_dim, device=device)
    if fake_labels is None:
        fake_labels = torch.randint(num_classes, (n,), device=device)
    fake_images = G(z, fake_labels)
    real_logits = D(real_images, labels if d_real_labels is None else d_real_labels)
    fake_logits = D(
        fake_images.detach() if detach else fake_images,
        fake_labels if d_fake_labels is None else d_fake_labels,
    )
    d_loss = d_loss_fn(real_logits, fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    if new_fakes:
        fake_images = G(torch.randn(n, z_dim, device=device), fake_labels)
    g_loss = g_loss_fn(D(fake_images, fake_labels if g_fake_labels is None else g_fake_labels))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }


def step_real_labels_for_fakes(
    real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes
):
    """The fakes are drawn for the real batch's labels: right too (each class as often as in
    the data)."""
    return _step(
        real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes, fake_labels=labels
    )


def step_new_fakes_for_g(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """New fakes (same labels) for G's update: right too."""
    return _step(
        real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes, new_fakes=True
    )


def step_fakes_scored_with_real_labels(
    real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes
):
    """D judges the fakes against the real batch's labels, not their own."""
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        d_fake_labels=labels,
    )


def step_g_scored_with_real_labels(
    real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes
):
    """Right for D, but G's verdict uses the real batch's labels."""
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        g_fake_labels=labels,
    )


def step_real_scored_with_fake_labels(
    real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes
):
    n = len(real_images)
    fake_labels = torch.randint(num_classes, (n,), device=real_images.device)
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        fake_labels=fake_labels,
        d_real_labels=fake_labels,
    )


def step_labels_on_cpu(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """The fakes' labels drawn without saying where: on the CPU."""
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        fake_labels=torch.randint(num_classes, (len(real_images),)),
    )


def step_z_on_cpu(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        z=torch.randn(len(real_images), z_dim),
    )


def step_global_batch_labels(
    real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes
):
    """Labels for the notebook's BATCH_SIZE, latents for the real batch."""
    fake_labels = torch.randint(num_classes, (64,), device=real_images.device)
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        fake_labels=fake_labels,
    )


def step_ten_classes(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """Labels drawn from 10 classes, whatever num_classes says."""
    fake_labels = torch.randint(10, (len(real_images),), device=real_images.device)
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        fake_labels=fake_labels,
    )


def step_one_class(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """Every fake drawn for the class 0."""
    fake_labels = torch.zeros(len(real_images), dtype=torch.long, device=real_images.device)
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        fake_labels=fake_labels,
    )


def step_float_labels(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """Labels drawn as floats."""
    fake_labels = torch.randint(num_classes, (len(real_images),), device=real_images.device)
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        fake_labels=fake_labels.float(),
    )


def step_g_without_labels(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """G called as in lesson 03, with z alone."""
    fake_images = G(torch.randn(len(real_images), z_dim))
    d_loss = losses.d_loss_bce(D(real_images, labels), D(fake_images.detach(), labels))
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    return {}


def step_not_detached(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    return _step(
        real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes, detach=False
    )


def step_swapped(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        d_loss_fn=lambda r, f: losses.d_loss_bce(f, r),
    )


def step_smoothed(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        d_loss_fn=lambda r, f: losses.d_loss_bce(r, f, smooth=0.9),
    )


def step_minimax(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    return _step(
        real_images,
        labels,
        D,
        G,
        d_optimizer,
        g_optimizer,
        z_dim,
        num_classes,
        g_loss_fn=losses.g_loss_minimax,
    )


def step_old_signature(real_images, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    """Lesson 03's signature: no labels after the real batch."""
    return {}


def step_frozen_d(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    values = train_step(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes)
    D.requires_grad_(False)
    return values


def step_returns_logits(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    n, device = len(real_images), real_images.device
    fake_labels = torch.randint(num_classes, (n,), device=device)
    fake_images = G(torch.randn(n, z_dim, device=device), fake_labels)
    real_logits = D(real_images, labels)
    fake_logits = D(fake_images.detach(), fake_labels)
    d_loss = losses.d_loss_bce(real_logits, fake_logits)
    d_optimizer.zero_grad()
    d_loss.backward()
    d_optimizer.step()
    g_loss = losses.g_loss_nonsaturating(D(fake_images, fake_labels))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": real_logits.detach().mean(),
        "d_fake": fake_logits.detach().mean(),
    }


def step_no_zero_grad_d(real_images, labels, D, G, d_optimizer, g_optimizer, z_dim, num_classes):
    n, device = len(real_images), real_images.device
    fake_labels = torch.randint(num_classes, (n,), device=device)
    fake_images = G(torch.randn(n, z_dim, device=device), fake_labels)
    real_logits = D(real_images, labels)
    fake_logits = D(fake_images.detach(), fake_labels)
    d_loss = losses.d_loss_bce(real_logits, fake_logits)
    d_loss.backward()
    d_optimizer.step()
    D.requires_grad_(False)
    g_loss = losses.g_loss_nonsaturating(D(fake_images, fake_labels))
    g_optimizer.zero_grad()
    g_loss.backward()
    g_optimizer.step()
    D.requires_grad_(True)
    return {
        "d_loss": d_loss.detach(),
        "g_loss": g_loss.detach(),
        "d_real": torch.sigmoid(real_logits.detach()).mean(),
        "d_fake": torch.sigmoid(fake_logits.detach()).mean(),
    }
