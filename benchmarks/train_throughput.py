"""Training speed, measured side by side in one run: ganlib's loop against the textbook loop, the
learner's own step against the library's, mixed precision against float32, 1 thread against 2.

1. **ganlib vs the textbook loop.** The textbook loop is what the original course notebooks do:
   a torchvision-style dataset that turns each image into a tensor on its own (``ToTensor`` +
   ``Normalize`` on a PIL image), a ``DataLoader``, fresh NumPy latents for each of the D and G
   steps, ``D(fake)`` without ``detach`` in the D step, per-tensor Adam and two ``.item()`` per
   step. ganlib's ``fit_gan`` trains the *same* networks at the *same* batch size from a
   ``BatchLoader``, with ``gan_step`` (fakes reused for G, D frozen during G's update), fused Adam
   and one host sync per 20 steps. Targets: at least 3x (MLP, batch 32) and 1.3x (DCGAN, 64).
2. **The learner's step.** ``train.fit`` running lesson 01's own ``train_step`` (from
   solutions/) against ``train.fit`` running ``gan_step``, on lesson 01's networks (D 784-512-
   256-1 with dropout, G 100-256-512-784), batch 64, the same fused Adam: target at least 0.9.
3. **Mixed precision on the CPU.** ``fit_gan(amp=True)`` against ``amp=False`` on the DCGAN at
   batch 64. ``amp`` uses bfloat16 only where the CPU computes it natively (AVX512-BF16, AMX, Arm
   BF16): there the target is at least 1.3x. Elsewhere ``amp=True`` trains in float32 (ratio about
   1 by design), and the forced-bfloat16 row shows what emulated bfloat16 would cost.
4. **Threads.** Lesson 01's and lesson 03's own steps through ``fit`` with 1 and with 2 torch
   threads: small models can lose to thread overhead.

Each comparison alternates its two sides ``--rounds`` times after a warm-up and reports medians.

    python benchmarks/train_throughput.py            # under 5 minutes on 2 idle CPU cores
    python benchmarks/train_throughput.py --quick    # a smoke run, noisy numbers

The last line is ``RESULT {json}`` with every ratio (``mlp_ratio``, ``dcgan_ratio``,
``learner_step_ratio``, ``amp_ratio``, ``forced_bf16_ratio``, ``lesson01_one_thread_ratio``,
``lesson03_one_thread_ratio``) and ``cpu_native_bf16``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from ganlib import losses, models, train  # noqa: E402
from ganlib.data import BatchLoader  # noqa: E402
from tools.solutions import definitions  # noqa: E402


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
    smoothed = lambda r, f: losses.d_loss_bce(r, f, 0.9)  # noqa: E731 - the textbook's loss
    train.fit_gan(
        G, D, loader, z_dim=z_dim, steps=steps, d_loss=smoothed, n_fixed=16,
        sample_every=10**9, checkpoint_every=10**9, device="cpu", amp=amp, progress=False,
    )  # fmt: skip


def fit_with(
    step: Callable, names: tuple[str, str, str, str], make, images, batch_size, steps, z_dim
):
    """``train.fit`` running ``step`` on ``make()``'s networks; ``names``: how the step calls
    (D, G, D's optimizer, G's optimizer)."""
    torch.manual_seed(0)
    G, D = make()
    optimizers = {
        names[2]: train.adam(D, 2e-4, (0.5, 0.999)),
        names[3]: train.adam(G, 2e-4, (0.5, 0.999)),
    }
    loader = BatchLoader(images, batch_size, device="cpu")
    start = time.perf_counter()
    train.fit(
        step, loader, models={names[0]: D, names[1]: G}, optimizers=optimizers,
        options={"z_dim": z_dim}, steps=steps, sample_every=10**9, checkpoint_every=10**9,
        device="cpu", progress=False,
    )  # fmt: skip
    return steps * batch_size / (time.perf_counter() - start)


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


def alternate(name: str, first: Callable[[], float], second: Callable[[], float], rounds: int,
              labels: tuple[str, str]) -> float:  # fmt: skip
    """Median images/s of ``second`` over ``first``, alternating them after one warm-up round."""
    a, b = [], []
    for r in range(rounds + 1):
        x, y = first(), second()
        if r > 0:
            a.append(x)
            b.append(y)
    ratio = statistics.median(b) / statistics.median(a)
    print(
        f"{name:<34} {labels[0]} {statistics.median(a):8.0f} img/s  "
        f"{labels[1]} {statistics.median(b):8.0f} img/s  ratio {ratio:4.2f}x"
    )
    return ratio


def with_threads(n: int, measure: Callable[[], float]) -> Callable[[], float]:
    def run() -> float:
        before = torch.get_num_threads()
        torch.set_num_threads(n)
        try:
            return measure()
        finally:
            torch.set_num_threads(before)

    return run


def forced_bf16(measure: Callable[[], float]) -> Callable[[], float]:
    """``measure`` with amp allowed to use bfloat16 whatever the CPU (to show its cost)."""

    def run() -> float:
        native, train.cpu_has_native_bf16 = train.cpu_has_native_bf16, lambda: True
        try:
            return measure()
        finally:
            train.cpu_has_native_bf16 = native

    return run


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="few steps and rounds (smoke test)")
    parser.add_argument("--threads", type=int, help="torch.set_num_threads for sections 1-3")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    scale, rounds = (0.15, 1) if args.quick else (1.0, 3)
    steps = {
        k: max(2, int(v * scale))
        for k, v in {"mlp": 200, "dcgan": 30, "lesson": 120, "l03": 12}.items()
    }
    images = fake_mnist()
    native = train.cpu_has_native_bf16()
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, medians of {rounds} "
          f"rounds; native bfloat16 on this CPU: {native}")  # fmt: skip

    def book(make, batch, n, z):
        return lambda: images_per_second(textbook_loop, make, images, batch, n, z)

    def ours(make, batch, n, z, amp=False):
        return lambda: images_per_second(ganlib_loop, make, images, batch, n, z, amp=amp)

    lesson01 = definitions("01_mlp_gan_mnist")
    lesson03 = definitions("03_dcgan_svhn")

    def lesson01_pair():
        return lesson01["Generator"](lesson01["Z_DIM"]), lesson01["Discriminator"]()

    def lesson03_pair():
        return lesson03["Generator"](lesson03["Z_DIM"]), lesson03["Discriminator"]()

    names = ("D", "G", "d_optimizer", "g_optimizer")
    gan_names = ("D", "G", "opt_d", "opt_g")
    colour = torch.randint(0, 256, (2048, 3, 32, 32), dtype=torch.uint8)

    def lesson_step(ns, make, data, batch, n):
        return lambda: fit_with(ns["train_step"], names, make, data, batch, n, ns["Z_DIM"])

    result = {
        "mlp_ratio": alternate("MLP GAN, batch 32", book(mlp_pair, 32, steps["mlp"], 32),
                               ours(mlp_pair, 32, steps["mlp"], 32), rounds, ("textbook", "ganlib")),
        "mlp_ratio_batch64": alternate("MLP GAN, batch 64", book(mlp_pair, 64, steps["mlp"], 32),
                                       ours(mlp_pair, 64, steps["mlp"], 32), rounds,
                                       ("textbook", "ganlib")),
        "dcgan_ratio": alternate("DCGAN 28x28, batch 64", book(dcgan_pair, 64, steps["dcgan"], 100),
                                 ours(dcgan_pair, 64, steps["dcgan"], 100), rounds,
                                 ("textbook", "ganlib")),
        "learner_step_ratio": alternate(
            "lesson 01 networks: step in fit",
            lambda: fit_with(train.gan_step, gan_names, lesson01_pair, images, 64, steps["lesson"], 100),
            lesson_step(lesson01, lesson01_pair, images, 64, steps["lesson"]),
            rounds, ("gan_step", "learner"),
        ),
        "amp_ratio": alternate("DCGAN 28x28, batch 64: amp", ours(dcgan_pair, 64, steps["dcgan"], 100),
                               ours(dcgan_pair, 64, steps["dcgan"], 100, amp=True), rounds,
                               ("fp32", "amp=True")),
        "forced_bf16_ratio": alternate(
            "DCGAN 28x28, batch 64: bf16 forced", ours(dcgan_pair, 64, steps["dcgan"], 100),
            forced_bf16(ours(dcgan_pair, 64, max(2, steps["dcgan"] // 5), 100, amp=True)),
            max(1, rounds // 2), ("fp32", "bf16"),
        ),
        "lesson01_one_thread_ratio": alternate(
            "lesson 01 step, threads",
            with_threads(2, lesson_step(lesson01, lesson01_pair, images, 64, steps["lesson"])),
            with_threads(1, lesson_step(lesson01, lesson01_pair, images, 64, steps["lesson"])),
            rounds, ("2 threads", "1 thread"),
        ),
        "lesson03_one_thread_ratio": alternate(
            "lesson 03 step, threads",
            with_threads(2, lesson_step(lesson03, lesson03_pair, colour, 128, steps["l03"])),
            with_threads(1, lesson_step(lesson03, lesson03_pair, colour, 128, steps["l03"])),
            rounds, ("2 threads", "1 thread"),
        ),
        "cpu_native_bf16": native,
    }  # fmt: skip
    if not native:
        print("amp=True on this CPU trains in float32 (no native bfloat16): its ratio is ~1 by "
              "design; the forced row is what emulated bfloat16 would cost.")  # fmt: skip
    print(
        "RESULT "
        + json.dumps({k: round(v, 3) if isinstance(v, float) else v for k, v in result.items()})
    )


if __name__ == "__main__":
    main()
