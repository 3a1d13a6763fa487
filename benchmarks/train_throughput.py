"""Training speed: ganlib's trainer vs. the textbook loop, side by side in one run.

The textbook loop is what the original course notebooks do: a torchvision-style dataset that
turns each image into a tensor on its own (``ToTensor`` + ``Normalize`` on a PIL image), a
``DataLoader``, a fresh latent batch from NumPy for each of the D and G steps, ``D(fake)`` without
``detach`` in the D step, default (per-tensor) Adam and two ``.item()`` calls per step.
ganlib's :func:`~ganlib.train.fit_gan` trains the *same* networks at the *same* batch size from a
``BatchLoader`` (whole uint8 batches converted at once), reuses the D step's fakes for the G step,
uses fused Adam and one host sync per step. The DCGAN also runs with ``amp=True`` (bf16 autocast).

Models: the seed MLP GAN (D 784-64-1, G z=32 -> 128 -> 784, LeakyReLU 0.2, dropout 0.3 in D) at
batch 32 and the lessons' default batch 64; the seed DCGAN for 28x28 MNIST (``DCGANGenerator`` /
``DCGANDiscriminator`` with width 32: D 1->32->64->logit, G z=100 -> 64@7 -> 32@14 -> 1@28) at
batch 64. Each measurement alternates the two loops ``--rounds`` times and reports medians.

    python benchmarks/train_throughput.py            # about 2-3 minutes on 2 CPU cores
    python benchmarks/train_throughput.py --quick    # a smoke run, noisy numbers

The last line is ``RESULT {json}`` with ``mlp_ratio`` (batch 32), ``dcgan_ratio`` (fp32, batch 64)
and the other ratios.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ganlib import models, train  # noqa: E402
from ganlib.data import BatchLoader  # noqa: E402


def fake_mnist(n: int = 4096) -> torch.Tensor:
    """Random 28x28 uint8 images: the speed of a step does not depend on what the digits show."""
    return torch.randint(
        0, 256, (n, 1, 28, 28), dtype=torch.uint8, generator=torch.Generator().manual_seed(0)
    )


# ------------------------------------------------------------------------------------------
# The textbook loop
# ------------------------------------------------------------------------------------------


class TorchvisionStyleMNIST(Dataset):
    """Like ``torchvision.datasets.MNIST``: a PIL image per item, then the transform."""

    def __init__(self, images: torch.Tensor) -> None:
        self.data = images[:, 0].numpy()
        self.transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
        )

    def __len__(self) -> int:
        return len(self.data)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        return self.transform(Image.fromarray(self.data[i], mode="L")), 0


def textbook_loop(G, D, images: torch.Tensor, batch_size: int, steps: int, z_dim: int) -> None:
    loader = DataLoader(
        TorchvisionStyleMNIST(images), batch_size=batch_size, shuffle=True, drop_last=True
    )
    d_optimizer = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    g_optimizer = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))

    def real_loss(out, smooth=False):
        labels = torch.ones(out.size(0)) * (0.9 if smooth else 1.0)
        return F.binary_cross_entropy_with_logits(out.squeeze(), labels)

    def fake_loss(out):
        return F.binary_cross_entropy_with_logits(out.squeeze(), torch.zeros(out.size(0)))

    losses, step = [], 0
    while step < steps:
        for real_images, _ in loader:
            d_optimizer.zero_grad()
            d_real_loss = real_loss(D(real_images), smooth=True)
            z = torch.from_numpy(np.random.uniform(-1, 1, size=(batch_size, z_dim))).float()
            fake_images = G(z)
            d_fake_loss = fake_loss(D(fake_images))
            d_loss = d_real_loss + d_fake_loss
            d_loss.backward()
            d_optimizer.step()

            g_optimizer.zero_grad()
            z = torch.from_numpy(np.random.uniform(-1, 1, size=(batch_size, z_dim))).float()
            g_loss = real_loss(D(G(z)))
            g_loss.backward()
            g_optimizer.step()
            losses.append((d_loss.item(), g_loss.item()))
            step += 1
            if step == steps:
                break


# ------------------------------------------------------------------------------------------
# ganlib
# ------------------------------------------------------------------------------------------


def ganlib_loop(G, D, images, batch_size, steps, z_dim, amp=False) -> None:
    loader = BatchLoader(images, batch_size, device="cpu")
    train.fit_gan(
        G, D, loader, z_dim=z_dim, steps=steps, d_loss=lambda r, f: train.losses.d_loss_bce(r, f, 0.9),
        n_fixed=16, sample_every=10**9, device="cpu", amp=amp, progress=False,
    )  # fmt: skip


# ------------------------------------------------------------------------------------------
# Measurement
# ------------------------------------------------------------------------------------------


def mlp_pair():
    return models.MLPGenerator(32, (128,)), models.MLPDiscriminator((64,), dropout=0.3)


def dcgan_pair():
    G = models.DCGANGenerator(100, channels=1, image_size=28, width=32)
    return G, models.DCGANDiscriminator(channels=1, image_size=28, width=32)


def images_per_second(loop, make, images, batch_size, steps, z_dim, **kw) -> float:
    torch.manual_seed(0)
    G, D = make()
    start = time.perf_counter()
    loop(G, D, images, batch_size, steps, z_dim, **kw)
    return steps * batch_size / (time.perf_counter() - start)


def compare(name, make, images, batch_size, steps, z_dim, rounds, amp=False) -> float:
    """Median images/s of each loop over alternating rounds (after one warm-up); the ratio."""
    ours, book = [], []
    for r in range(rounds + 1):
        b = images_per_second(textbook_loop, make, images, batch_size, steps, z_dim)
        o = images_per_second(ganlib_loop, make, images, batch_size, steps, z_dim, amp=amp)
        if r > 0:
            book.append(b)
            ours.append(o)
    ratio = statistics.median(ours) / statistics.median(book)
    print(
        f"{name:<28} batch {batch_size:>3}: textbook {statistics.median(book):8.0f} img/s  "
        f"ganlib {statistics.median(ours):8.0f} img/s  ratio {ratio:4.2f}x"
    )
    return ratio


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps and rounds (smoke test)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for both loops")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    mlp_steps, dcgan_steps, rounds = (40, 10, 1) if args.quick else (300, 40, 5)
    images = fake_mnist()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {rounds} rounds"
    )
    result = {
        "mlp_ratio": compare("MLP GAN", mlp_pair, images, 32, mlp_steps, 32, rounds),
        "mlp_ratio_batch64": compare(
            "MLP GAN (lesson batch)", mlp_pair, images, 64, mlp_steps, 32, rounds
        ),
        "dcgan_ratio": compare("DCGAN 28x28", dcgan_pair, images, 64, dcgan_steps, 100, rounds),
        "dcgan_bf16_ratio": compare(
            "DCGAN 28x28, ganlib amp=bf16",
            dcgan_pair,
            images,
            64,
            dcgan_steps,
            100,
            rounds,
            amp=True,
        ),
    }
    print("RESULT " + json.dumps({k: round(v, 3) for k, v in result.items()}))


if __name__ == "__main__":
    main()
