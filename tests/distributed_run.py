"""One training process of tests/test_distributed.py, started by torchrun (or alone).

Trains lesson-sized MLP GAN on the offline MNIST digits with ``train.fit`` and ``gan_step``; after
every step it gathers every process's weights and records whether they are identical. Rank 0
writes ``<out>/result.json``: steps, the processes' largest weight difference, FID.
``--die-at K``: rank 1 kills itself (SIGKILL) during step K, as a crashed machine would.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
from pathlib import Path

import torch
import torch.distributed as dist

from ganlib import data, metrics, models, train
from ganlib.distributed import Group


def weights(*nets: torch.nn.Module) -> torch.Tensor:
    """Every parameter in one vector (buffers such as batch norm statistics are synced by DDP at
    the start of each forward, and a process updates them with its own batch)."""
    return torch.cat([p.detach().flatten() for n in nets for p in n.parameters()])


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--batch-size", type=int, default=16, help="per process")
    parser.add_argument("--die-at", type=int)
    parser.add_argument("--lr", type=float, default=2e-4)
    parser.add_argument("--fid", action="store_true", help="measure FID at the end (rank 0)")
    parser.add_argument("--no-check", action="store_true", help="skip the per-step weight check")
    args = parser.parse_args()
    torch.set_num_threads(1)

    torch.manual_seed(0)  # the same initial weights everywhere (DDP also copies rank 0's)
    G = models.MLPGenerator(16, (64, 128), batch_norm=True)  # batch norm buffers must agree too
    D = models.MLPDiscriminator((128, 64), dropout=0.3)
    digits = data.load("mnist", source="offline")
    loader = data.BatchLoader(digits, args.batch_size, device="cpu")
    biggest, calls = [0.0], [0]

    def checked_step(real, G, D, opt_g, opt_d, **options):
        values = train.gan_step(real, G, D, opt_g, opt_d, **options)
        calls[0] += 1
        if dist.is_initialized() and not args.no_check:
            group = Group(dist.get_rank(), dist.get_world_size())
            if args.die_at is not None and group.rank == 1 and calls[0] == args.die_at:
                os.kill(os.getpid(), signal.SIGKILL)
            everyone = group.gather(weights(G, D))
            biggest[0] = max(
                biggest[0], max((w - everyone[0]).abs().max().item() for w in everyone)
            )
        return values

    history = train.fit(
        checked_step, loader,
        models={"G": G, "D": D},
        optimizers={"opt_g": train.adam(G, args.lr, (0.5, 0.999)), "opt_d": train.adam(D, args.lr, (0.5, 0.999))},
        options={"z_dim": 16},
        steps=args.steps, checkpoint_every=2, sample_every=10**9, out_dir=args.out, resume=True,
        device="cpu", progress=False,
    )  # fmt: skip
    group = Group(dist.get_rank(), dist.get_world_size()) if dist.is_initialized() else Group()
    if group.main:
        result = {"steps": history.steps, "world_size": group.world_size, "biggest": biggest[0]}
        result["d_loss"] = history.d_loss
        if args.fid:
            test = data.load("mnist", "test", source="offline").images[:500]
            with torch.no_grad():
                G.eval()
                fakes = G(torch.randn(500, 16, generator=torch.Generator().manual_seed(1)))
            result["fid"] = metrics.fid(test, fakes, features="mnist")
            untrained = models.MLPGenerator(16, (64, 128), batch_norm=True).eval()
            with torch.no_grad():
                result["fid_untrained"] = metrics.fid(
                    test, untrained(torch.randn(500, 16)), "mnist"
                )
        Path(args.out, "result.json").write_text(json.dumps(result))
        torch.save(weights(G, D), Path(args.out, "weights.pt"))


if __name__ == "__main__":
    main()
