"""Images per second of the same training with 1 and with 2 processes (torchrun, DDP), side by side.

Each configuration is started with ``torchrun --standalone --nproc_per_node=N`` on this machine's
CPU (gloo) or GPUs (NCCL, with ``--device cuda`` and as many GPUs), trains the lesson-03 DCGAN
pair (width 32, 32x32 colour images, ``train.fit_gan``) for ``--steps`` steps after a warm-up,
and reports images per second over all processes (batch ``--batch-size`` per process; the CPU's
cores are shared out: each of N processes gets cores/N torch threads).

On a CPU, expect little or no gain: two processes split the same cores and add an all-reduce of
the gradients per step; the point of running DDP on a CPU is correctness (tests/
test_distributed.py). On N GPUs each process has its own GPU and throughput grows nearly N-fold.

    python benchmarks/distributed_throughput.py                 # about a minute on 2 CPU cores
    python benchmarks/distributed_throughput.py --device cuda --processes 1 2 4

The last line is ``RESULT {json}``: images/s per number of processes and the ratio to one.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def worker(args: argparse.Namespace) -> None:
    """One process of a run (started by torchrun): time ``args.steps`` steps after a warm-up."""
    sys.path.insert(0, str(ROOT))
    import torch

    from ganlib import models, train
    from ganlib.data import BatchLoader
    from ganlib.distributed import Group

    world = int(os.environ.get("WORLD_SIZE", "1"))
    if args.device == "cpu":
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // world))
    images = torch.randint(0, 256, (8192, 3, 32, 32), dtype=torch.uint8)
    torch.manual_seed(0)
    G = models.DCGANGenerator(100, 3, 32, 32)
    D = models.DCGANDiscriminator(3, 32, 32)
    loader = BatchLoader(images, args.batch_size, device=args.device)
    options = {"z_dim": 100, "n_fixed": 4, "sample_every": 10**9, "progress": False}
    train.fit_gan(G, D, loader, steps=args.warmup, device=args.device, **options)
    start = time.perf_counter()
    history = train.fit_gan(G, D, loader, steps=args.steps, device=args.device, **options)
    seconds = time.perf_counter() - start
    group = Group.join(torch.device(args.device))
    if group.main:
        rate = world * args.batch_size * args.steps / seconds
        print(f"WORKER {json.dumps({'processes': world, 'images_per_s': rate})}", flush=True)
    assert history.steps == args.steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--steps", type=int, default=60)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64, help="per process")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    torchrun = Path(sys.executable).parent / "torchrun"
    rates = {}
    for n in args.processes:
        command = [str(torchrun), "--standalone", f"--nproc_per_node={n}", __file__, "--worker"]
        command += ["--steps", str(args.steps), "--warmup", str(args.warmup)]
        command += ["--batch-size", str(args.batch_size), "--device", args.device]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        line = next((x for x in done.stdout.splitlines() if x.startswith("WORKER ")), None)
        if line is None:
            sys.exit(f"{n} process(es) failed:\n{done.stderr[-3000:]}")
        rates[n] = json.loads(line.removeprefix("WORKER "))["images_per_s"]
        print(
            f"{n} process(es): {rates[n]:8.0f} images/s  ({rates[n] / rates[args.processes[0]]:.2f}x)"
        )
    print(
        "RESULT "
        + json.dumps(
            {
                "images_per_s": rates,
                "ratio": {n: r / rates[args.processes[0]] for n, r in rates.items()},
            }
        )
    )


if __name__ == "__main__":
    main()
