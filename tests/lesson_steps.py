"""Training runs with the lessons' OWN step functions (from solutions/), for the resume tests.

``run(lesson, out_dir, steps, callback)`` trains lesson 01's MLP pair with lesson 01's
``train_step``, or lesson 04's CycleGAN (small widths) with lesson 04's ``train_step`` and
``ImagePool``, through ``train.fit``; it returns the networks and the History. Run as a script
(``python tests/lesson_steps.py 01 OUT``) it trains slowly (a pause at every snapshot), so a test
can kill it with SIGKILL after a checkpoint.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ganlib import train  # noqa: E402
from ganlib.data import BatchLoader  # noqa: E402
from tools.solutions import definitions  # noqa: E402


def images(n: int, channels: int, size: int, seed: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.randint(0, 256, (n, channels, size, size), dtype=torch.uint8, generator=g)


def run(lesson: str, out_dir=None, steps: int = 12, callback=None, sample_every: int = 4):
    torch.manual_seed(0)
    if lesson == "01":
        ns = definitions("01_mlp_gan_mnist")
        D, G = ns["Discriminator"](hidden=64), ns["Generator"](8, hidden=32)
        models = {"D": D, "G": G}
        optimizers = {
            "d_optimizer": torch.optim.Adam(D.parameters(), 2e-4, betas=(0.5, 0.999)),
            "g_optimizer": torch.optim.Adam(G.parameters(), 2e-4, betas=(0.5, 0.999)),
        }
        options, schedulers = {"z_dim": 8}, {}
        loaders = [BatchLoader(images(48, 1, 28, 0), 8, device="cpu")]
        fixed = torch.randn(4, 8)
        sample = lambda: G(fixed)  # noqa: E731
    else:
        ns = definitions("04_cyclegan_summer2winter")
        nets = [ns["ResnetGenerator"](width=4, n_blocks=1) for _ in range(2)]
        nets += [ns["PatchDiscriminator"](width=4, n_layers=2) for _ in range(2)]
        models = dict(zip(("G_ab", "G_ba", "D_a", "D_b"), nets, strict=True))
        opt_g = torch.optim.Adam([*nets[0].parameters(), *nets[1].parameters()], 2e-4)
        opt_d = torch.optim.Adam([*nets[2].parameters(), *nets[3].parameters()], 2e-4)
        optimizers = {"opt_g": opt_g, "opt_d": opt_d}
        options = {"pool_a": ns["ImagePool"](3), "pool_b": ns["ImagePool"](3)}
        schedulers = {"g": train.linear_decay(opt_g, 4, 40), "d": train.linear_decay(opt_d, 4, 40)}
        loaders = [BatchLoader(images(8, 3, 16, s), 2, seed=s, device="cpu") for s in (1, 2)]
        fixed = images(2, 3, 16, 3).float() / 127.5 - 1
        sample = lambda: torch.cat([nets[0](fixed), nets[1](fixed)])  # noqa: E731
    history = train.fit(
        ns["train_step"], *loaders, models=models, optimizers=optimizers, options=options,
        schedulers=schedulers, sample=sample, steps=steps, sample_every=sample_every,
        checkpoint_every=2, out_dir=out_dir, resume=out_dir is not None, callback=callback,
        progress=False,
    )  # fmt: skip
    return list(models.values()), history


if __name__ == "__main__":
    torch.set_num_threads(1)
    run(sys.argv[1], sys.argv[2], steps=40, sample_every=1, callback=lambda *_: time.sleep(0.1))
