"""Quality per CPU second: what the command line's defaults and lesson 01's networks learn in time.

Three trainings on the offline MNIST digits, each in its own process, each for the same wall-clock
budgets (60 s, then continued to 300 s in all):

* ``cli mlp``: ``python -m ganlib train mlp --data mnist --source offline`` with its defaults;
* ``cli dcgan``: ``python -m ganlib train dcgan`` likewise (DCGAN on 28x28 digits);
* ``lesson 01``: lesson 01's own networks and the learner's ``train_step`` from
  ``solutions/01_mlp_gan_mnist.ipynb``, trained by ``train.fit`` at the lesson's batch and rate.

After each budget, 1,000 digits are drawn and judged by the course's digit classifier: FID against
held-out real digits (features "mnist") and classes covered (digits with at least 2% of the
samples). So a change of the CLI defaults is checked against both others in one run:

    python benchmarks/quality_per_budget.py                      # about 16 minutes on 2 CPU cores
    python benchmarks/quality_per_budget.py --budgets 30 60      # a quicker look
    python benchmarks/quality_per_budget.py --only "cli mlp" --extra --width 128   # try a setting

The last line is ``RESULT {json}``: per configuration and budget ``steps``, ``fid`` and
``classes_covered``; ``fid_real_vs_real`` is the floor (two halves of the real test digits).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ("cli mlp", "cli dcgan", "lesson 01")


def lesson01_worker(out: Path, seconds: float, n: int) -> None:
    """Train lesson 01's networks with the lesson's step for ``seconds`` more; write samples."""
    sys.path.insert(0, str(ROOT))
    from ganlib import data, train
    from tools.solutions import definitions

    lesson = definitions("01_mlp_gan_mnist")
    torch.manual_seed(0)
    D, G = lesson["Discriminator"](), lesson["Generator"](lesson["Z_DIM"])
    lr = lesson["LR"]
    optimizers = {
        "d_optimizer": torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999)),
        "g_optimizer": torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999)),
    }
    digits = data.load("mnist", source="offline")
    loader = data.BatchLoader(digits, lesson["BATCH_SIZE"], device="cpu")
    history = train.fit(
        lesson["train_step"], loader, models={"D": D, "G": G}, optimizers=optimizers,
        options={"z_dim": lesson["Z_DIM"]}, seconds=seconds, sample_every=10**9,
        checkpoint_every=10**9, out_dir=out, resume=True, device="cpu", progress=False,
    )  # fmt: skip
    G.eval()
    with torch.no_grad():
        z = torch.randn(n, lesson["Z_DIM"], generator=torch.Generator().manual_seed(0))
        images = train.to_uint8(G(z))
    np.savez_compressed(out / "samples.npz", images=images.numpy(), steps=history.steps)


def train_for(config: str, run: Path, seconds: float, n: int, extra: list[str]) -> tuple[Path, int]:
    """Train ``config`` in ``run`` for ``seconds`` more (continuing); the samples file, steps."""
    samples = run / "samples.npz"
    if config == "lesson 01":
        command = [sys.executable, __file__, "--worker", str(run), "--seconds", str(seconds)]
        subprocess.run([*command, "--n", str(n)], check=True)
        return samples, int(np.load(samples)["steps"])
    from ganlib.checkpoint import CHECKPOINT_FILE, load_checkpoint

    model = config.split()[-1]
    command = [sys.executable, "-m", "ganlib", "train", model, "--data", "mnist"]
    command += ["--source", "offline", "--seconds", str(seconds), "--quiet", "--out", str(run)]
    subprocess.run([*command, *extra], check=True, stdout=subprocess.DEVNULL)
    sample = [sys.executable, "-m", "ganlib", "sample", str(run), "--n", str(n), "--out"]
    subprocess.run([*sample, str(samples)], check=True, stdout=subprocess.DEVNULL)
    return samples, int(load_checkpoint(run / CHECKPOINT_FILE)["step"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--budgets", type=float, nargs="+", default=[60.0, 300.0],
                        help="wall-clock seconds in all at which to judge (default 60 300)")  # fmt: skip
    parser.add_argument("--n", type=int, default=1000, help="images to judge")
    parser.add_argument("--only", action="append", choices=CONFIGS, help="run only these")
    parser.add_argument("--extra", nargs=argparse.REMAINDER, default=[],
                        help="further options for the CLI runs, e.g. --extra --width 128")  # fmt: skip
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--seconds", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        lesson01_worker(args.worker, args.seconds, args.n)
        return

    sys.path.insert(0, str(ROOT))
    from ganlib import data, metrics

    real = data.load("mnist", split="test", source="offline").images
    floor = metrics.fid(real[: len(real) // 2], real[len(real) // 2 :], features="mnist")
    result: dict = {"fid_real_vs_real": round(floor, 2)}
    print(f"{'configuration':<12} {'budget':>7} {'steps':>7} {'FID':>8} {'digits':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for config in args.only or CONFIGS:
            run, spent = Path(tmp) / config.replace(" ", "-"), 0.0
            run.mkdir()
            result[config] = {}
            for budget in args.budgets:
                samples, steps = train_for(config, run, budget - spent, args.n, args.extra)
                spent = budget
                fake = torch.from_numpy(np.load(samples)["images"])
                fid = metrics.fid(real, fake, features="mnist")
                covered = metrics.class_coverage(fake, classifier="mnist").classes_covered
                result[config][f"{budget:g}s"] = {
                    "steps": steps, "fid": round(fid, 2), "classes_covered": covered,
                }  # fmt: skip
                print(f"{config:<12} {budget:>6g}s {steps:>7} {fid:>8.2f} {covered:>5}/10")
    print(f"(real vs real digits: FID {floor:.2f}, the floor)")
    print("RESULT " + json.dumps(result))


if __name__ == "__main__":
    main()
