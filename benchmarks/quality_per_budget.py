"""Quality per budget: what `python -m ganlib train mlp` reaches in a fixed number of seconds.

Runs the command line exactly as a learner would (offline MNIST digits, default MLP GAN), then
draws 1,000 digits and reports their FID against held-out real digits and their class coverage
(how many of the ten digits the generator produces). The target on a 2-core CPU: all ten digits
after 300 seconds.

    python benchmarks/quality_per_budget.py               # 300 s, as the target says
    python benchmarks/quality_per_budget.py --seconds 60  # a quicker look

The last line is `RESULT {json}`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=300.0, help="training budget")
    parser.add_argument("--n", type=int, default=1000, help="images to evaluate")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", help="run directory (default: a temporary one)")
    args = parser.parse_args()

    from ganlib import data, metrics
    from ganlib.checkpoint import CHECKPOINT_FILE, load_checkpoint

    with tempfile.TemporaryDirectory() as tmp:
        run = Path(args.out or Path(tmp) / "mlp")
        started = time.perf_counter()
        train = [sys.executable, "-m", "ganlib", "train", "mlp", "--data", "mnist"]
        train += ["--source", "offline", "--seconds", str(args.seconds), "--seed", str(args.seed)]
        subprocess.run([*train, "--quiet", "--out", str(run)], check=True)
        wall = time.perf_counter() - started
        samples = run / "bench_samples.npz"
        sample = [sys.executable, "-m", "ganlib", "sample", str(run), "--n", str(args.n)]
        subprocess.run([*sample, "--out", str(samples)], check=True)
        fake = torch.from_numpy(np.load(samples)["images"])
        steps = load_checkpoint(run / CHECKPOINT_FILE)["step"]

    real = data.load("mnist", split="test", source="offline").images
    coverage = metrics.class_coverage(fake, classifier="mnist")
    result = {
        "seconds": args.seconds,
        "wall_seconds": round(wall, 1),
        "steps": steps,
        "fid": round(metrics.fid(real, fake, features="mnist"), 2),
        "fid_real_vs_real": round(metrics.fid(real[: len(real) // 2], real[len(real) // 2 :]), 2),
        "classes_covered": coverage.classes_covered,
        "histogram": [int(c) for c in coverage.histogram],
    }
    print(
        f"{result['classes_covered']}/10 digits covered, FID {result['fid']} after {args.seconds:g} s"
    )
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
