"""How long the lessons' full runs take on this machine: time per step, measured, times the steps.

Each lesson's full defaults train a fixed architecture for a known number of steps on the real
dataset. This measures the time per step of exactly that training (ganlib's ``fit_gan`` /
``fit_cyclegan`` on random images of the right shape: speed does not depend on the pixels) and
multiplies by the full run's steps. Run it on a GPU to replace the lessons' GPU estimates:

    python benchmarks/lesson_step_times.py                  # this machine's best device
    python benchmarks/lesson_step_times.py --device cuda    # e.g. on Colab or a lab GPU
    python benchmarks/lesson_step_times.py --only 05 --steps 20

The models are ganlib's versions of the lessons' reference solutions, with the same parameter
counts (lesson 05's pair, for instance: G 1,068,931 and D 663,361 at 32 px). Lessons 00 and 02
are cheap enough to time whole (``python tools/run_course.py --full --only 00``). The last line
is ``RESULT {json}``: per lesson ``ms_per_step``, ``gflop_per_step`` and ``full_run_min``.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch.utils.flop_counter import FlopCounterMode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from ganlib import data, models, train
from ganlib.device import get_device


@dataclass(frozen=True)
class FullRun:
    """One lesson's full-default training: its models, batch shape and number of steps."""

    lesson: str
    what: str
    batch: int
    image: tuple[int, int, int]  # (C, H, W)
    full_steps: int
    how: str  # where full_steps comes from


FULL_RUNS = (
    FullRun("01", "MLP GAN, G 100-256-512-784, D 784-512-256-1", 64, (1, 28, 28), 25_000,
            "STEPS = 25,000; the lesson's own loop adds about 30%"),
    FullRun("03", "DCGAN width 32, 32 px", 128, (3, 32, 32), 5_720 + 4 * 1_500,
            "10 epochs of 572 steps (73,257 SVHN digits) + 4 experiments of 1,500 steps"),
    FullRun("04", "CycleGAN, 2 ResNet G (64 ch, 6 blocks) + 2 PatchGAN D, 128 px", 1,
            (3, 128, 128), 40 * 962, "40 epochs of 962 steps (the smaller, winter domain)"),
    FullRun("05", "DCGAN width 64, 32 px", 128, (3, 32, 32), 6_000,
            "STEPS = 6,000: 4.7 epochs of 162,770 CelebA training faces"),
)  # fmt: skip


def build(run: FullRun) -> tuple[list[torch.nn.Module], bool]:
    """The lesson's networks, and whether they form a CycleGAN (two G, two D)."""
    c, size = run.image[0], run.image[1]
    if run.lesson == "01":
        g = models.MLPGenerator(100, hidden=(256, 512), image_shape=run.image)
        return [g, models.MLPDiscriminator((512, 256), run.image, dropout=0.3)], False
    if run.lesson == "04":
        gs = [models.ResnetGenerator(c, width=64, n_blocks=6) for _ in range(2)]
        return [*gs, *(models.PatchDiscriminator(c, width=64) for _ in range(2))], True
    width = 32 if run.lesson == "03" else 64
    g = models.dcgan_init(models.DCGANGenerator(100, c, size, width))
    return [g, models.dcgan_init(models.DCGANDiscriminator(c, size, width))], False


def train_steps(run: FullRun, steps: int, device: torch.device, every: int = 0) -> list[float]:
    """Train ``steps`` steps; with ``every``, the clock times at every ``every``-th step."""
    torch.manual_seed(0)
    nets, cycle = build(run)
    n = max(run.batch * 4, 8)
    loaders = [
        data.BatchLoader(torch.randint(0, 256, (n, *run.image), dtype=torch.uint8), run.batch,
                         seed=i, device=device)
        for i in range(2 if cycle else 1)
    ]  # fmt: skip
    times: list[float] = []

    def tick(*_: object) -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter())

    options = dict(steps=steps, n_fixed=1, device=device, progress=False)
    if every:
        options.update(sample_every=every, callback=tick)
    else:
        options.update(sample_every=steps)
    if cycle:
        train.fit_cyclegan(*nets, *loaders, **options)
    else:
        train.fit_gan(*nets, loaders[0], z_dim=100, **options)
    return times


def measure(run: FullRun, steps: int, device: torch.device) -> dict[str, float]:
    with FlopCounterMode(display=False) as counter:
        train_steps(run, 1, device)  # one step (plus one sample of one image)
    every = max(1, steps // 5)
    times = train_steps(run, every * 6, device, every=every)  # the first interval is warm-up
    per_step = statistics.median(b - a for a, b in zip(times[1:], times[2:], strict=False)) / every
    return {
        "ms_per_step": round(1000 * per_step, 2),
        "gflop_per_step": round(counter.get_total_flops() / 1e9, 2),
        "full_steps": run.full_steps,
        "full_run_min": round(per_step * run.full_steps / 60, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default=None, help="cpu, cuda, mps (default: the best)")
    parser.add_argument("--steps", type=int, default=30, help="timed steps per lesson")
    parser.add_argument("--only", action="append", default=[], help="a lesson number, e.g. 05")
    args = parser.parse_args()
    device = get_device(args.device)
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU"
    print(f"device: {device} ({name}), torch {torch.__version__}, {torch.get_num_threads()} "
          "CPU threads")  # fmt: skip
    results = {}
    for run in FULL_RUNS:
        if args.only and run.lesson not in {s.zfill(2) for s in args.only}:
            continue
        r = results[run.lesson] = measure(run, args.steps, device)
        print(
            f"lesson {run.lesson}: {run.what}, batch {run.batch}: {r['ms_per_step']:.1f} ms per "
            f"step, {r['gflop_per_step']:.1f} GFLOP per step -> full run {run.full_steps:,} steps "
            f"({run.how}): {r['full_run_min']:.1f} min"
        )
    print("RESULT " + json.dumps({"device": str(device), "name": name, "lessons": results}))


if __name__ == "__main__":
    main()
