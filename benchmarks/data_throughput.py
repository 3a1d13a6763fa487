"""Images per second: ganlib's BatchLoader vs the usual per-image torchvision pipeline.

Both read the offline MNIST stand-in (4,000 digits) in shuffled batches of 64 and produce the same
float batches in [-1, 1]. The per-image path is what most tutorials write: a Dataset that turns
each uint8 image into a PIL image (as ``torchvision.datasets.MNIST`` does) and applies
``ToTensor()`` + ``Normalize((0.5,), (0.5,))``, batched by a ``DataLoader``. BatchLoader keeps
the whole uint8 tensor in memory and normalises a whole batch in one operation.

The two are measured side by side in one run, alternating, and the medians of 5 are compared;
both use the same number of torch threads (``--threads``, default 1).
Run: ``python benchmarks/data_throughput.py``; the last line is ``RESULT {json}``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset
from torchvision import transforms

from ganlib.data import BatchLoader, load


class PerImageMNIST(Dataset):
    """The classic pipeline: uint8 -> PIL -> ToTensor -> Normalize, one image at a time."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images
        self.transform = transforms.Compose(
            [transforms.ToTensor(), transforms.Normalize((0.5,), (0.5,))]
        )

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> torch.Tensor:
        return self.transform(Image.fromarray(self.images[index, 0].numpy(), mode="L"))


def images_per_second(batches, epochs: int) -> float:
    """Consume ``epochs`` epochs from ``batches()`` and return images per second."""
    count, start = 0, time.perf_counter()
    for _ in range(epochs):
        for batch in batches():
            count += batch.shape[0]
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--device", default="cpu")
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads for both paths (1: small batches gain nothing from more, and on "
        "a busy machine extra threads mostly wait for each other)",
    )
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    mnist = load("mnist", source="offline")
    per_image = DataLoader(
        PerImageMNIST(mnist.images), batch_size=args.batch_size, shuffle=True, drop_last=True
    )
    fast = BatchLoader(mnist, args.batch_size, device=args.device)

    # Same numbers from both paths (ToTensor divides by 255, then (x - 0.5) / 0.5).
    a = next(iter(DataLoader(PerImageMNIST(mnist.images[:8]), batch_size=8)))
    b = next(iter(BatchLoader(mnist.images[:8], 8, shuffle=False, device="cpu")))
    assert torch.allclose(a, b, atol=1e-6), "the two pipelines disagree"

    images_per_second(lambda: fast, 2)  # warm-up
    images_per_second(lambda: per_image, 1)
    slow_runs, fast_runs = [], []
    for _ in range(args.repeats):  # alternate, so both see the same machine load
        slow_runs.append(images_per_second(lambda: per_image, 1))
        fast_runs.append(images_per_second(lambda: fast, 20))
        if fast.device.type == "cuda":
            torch.cuda.synchronize()
    slow, quick = statistics.median(slow_runs), statistics.median(fast_runs)
    print(f"dataset: {mnist.description}")
    print(f"per-image ToTensor+Normalize DataLoader: {slow:>12,.0f} images/s")
    print(f"BatchLoader (preloaded uint8, per batch): {quick:>12,.0f} images/s  on {fast.device}")
    print(f"speed-up: {quick / slow:.1f}x")
    result = {
        "per_image_images_per_s": round(slow),
        "batch_loader_images_per_s": round(quick),
        "ratio": round(quick / slow, 2),
        "images": len(mnist),
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "device": str(fast.device),
        "threads": args.threads,
    }
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
