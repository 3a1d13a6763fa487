"""Command line: train a model or draw samples from a trained one, outside a notebook.

    python -m ganlib train mlp --data mnist --steps 2000 --out runs/mlp
    python -m ganlib train mlp --data mnist --steps 4000 --out runs/mlp     # continues to 4000
    python -m ganlib sample runs/mlp --n 64 --out samples.npz

A run directory holds ``config.json`` (how to rebuild the models) and ``checkpoint.pt`` (the full
training state), so training the same directory again continues exactly where it stopped.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

if TYPE_CHECKING:  # torch is imported only when a command runs: --help stays instant
    from torch import nn

CONFIG_FILE = "config.json"
MODELS = ("mlp", "dcgan", "cyclegan")
# Per-model defaults: batch size (CycleGAN trains on single images), latent size, width, and the
# target of real images in the BCE loss (label smoothing; CycleGAN's least-squares loss has none).
# Chosen by quality reached per CPU second on the offline data (benchmarks/quality_per_budget.py):
# the mlp is lesson 01's pair (G z-256-512-784, D 784-512-256-1 with dropout 0.3, smoothing 0.9).
DEFAULTS = {
    "mlp": {"batch_size": 64, "z_dim": 100, "width": 256, "smooth": 0.9},
    "dcgan": {"batch_size": 64, "z_dim": 100, "width": 64, "smooth": 0.9},
    "cyclegan": {"batch_size": 1, "z_dim": 0, "width": 64, "smooth": None},
}
# Options that fix the model or the data: a resumed run must keep them (--source may change, but
# the data it loads must be the same: the config records the source and size of what was loaded).
FIXED = ("model", "data", "source", "image_size", "batch_size", "z_dim", "width", "smooth", "seed")


class UsageError(Exception):
    """A mistake on the command line or in the run directory: shown as one line, exit code 2."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line instead of usage + error
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


# ------------------------------------------------------------------------------------------
# Models from a small JSON config
# ------------------------------------------------------------------------------------------


def build_models(config: dict[str, Any]) -> dict[str, nn.Module]:
    """The networks a config describes: {"G", "D"} or {"G_ab", "G_ba", "D_a", "D_b"}."""
    from . import models

    shape = (config["channels"], config["image_size"], config["image_size"])
    w = config["width"]
    if config["model"] == "mlp":  # runs of course versions before 0.2 had three hidden layers
        g_hidden = config.get("g_hidden", (w, 2 * w, 4 * w))
        return {
            "G": models.MLPGenerator(config["z_dim"], tuple(g_hidden), shape),
            "D": models.MLPDiscriminator(tuple(reversed(g_hidden)), shape, dropout=0.3),
        }
    if config["model"] == "dcgan":
        return {
            "G": models.DCGANGenerator(config["z_dim"], shape[0], shape[1], w),
            "D": models.DCGANDiscriminator(shape[0], shape[1], w),
        }
    n_blocks = 6 if shape[1] <= 128 else 9
    return {
        "G_ab": models.ResnetGenerator(shape[0], w, n_blocks),
        "G_ba": models.ResnetGenerator(shape[0], w, n_blocks),
        "D_a": models.PatchDiscriminator(shape[0], w),
        "D_b": models.PatchDiscriminator(shape[0], w),
    }


def _load_data(config: dict[str, Any]) -> Any:
    from . import data

    return data.load(
        config["data"], "train", image_size=config["image_size"], source=config["source"],
        root=config.get("root"),
    )  # fmt: skip


def _loaded(dataset: Any) -> dict[str, Any]:
    """What was actually loaded: the source (``stand-in``, ``cache``...) and images per domain."""
    parts = dataset if isinstance(dataset, tuple) else (dataset,)
    return {"source": parts[0].source, "images": [len(d) for d in parts]}


def _check_same_data(out: Path, before: dict[str, Any], now: dict[str, Any]) -> None:
    """A resumed run must train on the data it started on (``auto`` may pick another source)."""

    def kind(source: str) -> str:  # the cached copy of a download is the same data
        return "real" if source in ("cache", "download") else source

    if kind(before["source"]) == kind(now["source"]) and before["images"] == now["images"]:
        return
    how = {
        "stand-in": "pass --source offline to continue on the stand-in",
        "folder": "put the same images back in its --root folder",
    }.get(before["source"], "pass --source download to get the real data (or see why it fails)")

    def data(d: dict[str, Any]) -> str:
        return f"{d['source']} data ({' + '.join(map(str, d['images']))} images)"

    raise UsageError(
        f"{out} was trained on {data(before)}, but this time {data(now)} was loaded; to continue "
        f"the run, {how}, or train into a new --out directory"
    )


def _read_config(run: Path) -> dict[str, Any]:
    path = run / CONFIG_FILE
    if not path.is_file():
        raise UsageError(f"{run} is not a ganlib run directory (no {CONFIG_FILE}); train one first")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as err:
        raise UsageError(f"{path} is not valid JSON ({err})") from None


# ------------------------------------------------------------------------------------------
# train
# ------------------------------------------------------------------------------------------


def _train(args: argparse.Namespace) -> int:
    from . import data, distributed, losses, train
    from .checkpoint import CHECKPOINT_FILE
    from .device import get_device, seed_everything

    out = Path(args.out)
    given = {k: getattr(args, k) for k in FIXED if getattr(args, k) is not None}
    resuming = (out / CHECKPOINT_FILE).exists()
    if resuming:
        config = _read_config(out)
        # --source may change (e.g. to offline, to stay on the stand-in): the data loaded must not
        changed = [k for k, v in given.items() if k != "source" and config.get(k) != v]
        if changed:
            were = ", ".join(f"--{k.replace('_', '-')} {config.get(k)}" for k in changed)
            raise UsageError(
                f"{out} holds a run with {were}; keep those options to continue it, "
                "or train into a new --out directory"
            )
        if args.root is not None and args.root != config.get("root"):
            before = config.get("root")
            were = f"the images in --root {before}" if before else "data found without --root"
            raise UsageError(
                f"{out} holds a run trained on {were}; to train on other images, use a new "
                "--out directory"
            )
        config["source"] = given.get("source", config["source"])
    else:
        config = {**DEFAULTS[args.model], "seed": 0, "source": "auto", "image_size": None, **given}
        config["root"] = args.root
        if config["model"] == "mlp":
            config["g_hidden"] = [config["width"], 2 * config["width"]]

    device = get_device(args.device)
    group = distributed.Group.join(device)  # several processes under torchrun, else one
    if not group.main:
        group.barrier()  # rank 0 downloads and caches the data first; the others then read it
    dataset = _load_data(config)
    if group.main:
        group.barrier()
    paired = isinstance(dataset, tuple)
    if config["model"] == "cyclegan" and not paired:
        raise UsageError(
            f"model cyclegan needs a two-domain dataset (summer2winter), not {config['data']}"
        )
    if paired and config["model"] != "cyclegan":
        raise UsageError(f"dataset {config['data']} has two domains: train it with model cyclegan")
    loaded = _loaded(dataset)
    if "loaded" in config:  # runs of older versions did not record it
        _check_same_data(out, config["loaded"], loaded)
    config["loaded"] = loaded
    first = dataset[0] if paired else dataset
    config["channels"], config["image_size"] = (
        int(first.images.shape[1]),
        int(first.images.shape[2]),
    )

    seed_everything(config["seed"])  # the models' initial weights depend on the seed
    nets = build_models(config)
    if group.main:
        out.mkdir(parents=True, exist_ok=True)
        (out / CONFIG_FILE).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")

    def loader(ds: Any, offset: int = 0) -> Any:
        return data.BatchLoader(
            ds, config["batch_size"], seed=config["seed"] + offset, device=device
        )

    budget = {"steps": args.steps, "epochs": args.epochs, "seconds": args.seconds}
    common = {
        **budget, "lr": args.lr, "out_dir": out, "resume": True, "seed": config["seed"],
        "device": device, "amp": args.amp, "progress": not args.quiet,
        "sample_every": args.sample_every, "checkpoint_every": args.checkpoint_every,
        "sync_batchnorm": args.sync_batchnorm,
    }  # fmt: skip
    if paired:
        history = train.fit_cyclegan(
            nets["G_ab"], nets["G_ba"], nets["D_a"], nets["D_b"],
            loader(dataset[0]), loader(dataset[1], offset=1), **common,
        )  # fmt: skip
    else:
        smooth = config.get("smooth") or 1.0  # target of real images (1.0: no label smoothing)
        d_loss = functools.partial(losses.d_loss_bce, smooth=smooth)
        history = train.fit_gan(
            nets["G"], nets["D"], loader(dataset), z_dim=config["z_dim"], d_loss=d_loss, **common
        )
    last = (
        f"d_loss {history.d_loss[-1]:.3f}, g_loss {history.g_loss[-1]:.3f}"
        if history.steps
        else "no steps"
    )
    if group.main:
        processes = f" on {group.world_size} processes" if group.several else ""
        print(
            f"{config['model']}: {history.steps} steps{processes} ({last}); "
            f"checkpoint in {out / CHECKPOINT_FILE}"
        )
    return 0


# ------------------------------------------------------------------------------------------
# sample
# ------------------------------------------------------------------------------------------


def _sample(args: argparse.Namespace) -> int:
    import numpy as np
    import torch

    from .checkpoint import CHECKPOINT_FILE, load_checkpoint, load_weights
    from .device import get_device
    from .train import to_uint8

    run = Path(args.run)
    config = _read_config(run)
    if args.n < 1:
        raise UsageError(f"--n must be at least 1, got {args.n}")
    device = get_device(args.device)
    state = load_checkpoint(run / CHECKPOINT_FILE)
    nets = build_models(config)
    name = "G_ab" if config["model"] == "cyclegan" else "G"
    G = nets[name]
    load_weights(G, state["models"][name], name=name, path=run / CHECKPOINT_FILE)
    G.to(device).eval()
    g = torch.Generator().manual_seed(args.seed)

    arrays: dict[str, np.ndarray] = {}
    if config["model"] == "cyclegan":
        domain_a = _load_data(config)[0].images
        if args.n > len(domain_a):
            raise UsageError(f"--n {args.n} is more than the {len(domain_a)} images of domain A")
        inputs = domain_a[torch.randperm(len(domain_a), generator=g)[: args.n]]
        arrays["inputs"] = inputs.numpy()
        batches = (inputs[i : i + 16].to(device).float() / 127.5 - 1 for i in range(0, args.n, 16))
    else:
        z = torch.randn(args.n, config["z_dim"], generator=g)
        batches = (z[i : i + 256].to(device) for i in range(0, args.n, 256))
    with torch.no_grad():
        arrays["images"] = torch.cat([to_uint8(G(batch)) for batch in batches]).numpy()

    out = Path(args.out) if args.out else run / "samples.npz"
    out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(out, **arrays)
    print(f"wrote {args.n} images {tuple(arrays['images'].shape[1:])} to {out}")
    return 0


# ------------------------------------------------------------------------------------------
# The parser and the entry point
# ------------------------------------------------------------------------------------------


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def _unit_interval(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"must be in (0, 1], got {text}")
    return value


def _positive_float(text: str) -> float:
    value = float(text)
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``ganlib`` parser: the ``train`` and ``sample`` subcommands."""
    parser = _Parser(prog="python -m ganlib", description="Train GANs and sample from them.")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    t = sub.add_parser("train", help="train a model (continues a run found in --out)",
                       description="Train a GAN; training an --out directory that holds a "
                       "checkpoint continues that run exactly where it stopped.")  # fmt: skip
    t.add_argument("model", choices=MODELS, metavar="MODEL", help="one of: mlp, dcgan, cyclegan")
    t.add_argument("--data", required=True, help="dataset name: mnist, svhn, celeba, summer2winter")
    t.add_argument("--source", choices=("auto", "download", "offline", "folder", "lfw"),
                   help="where the data comes from (default auto: cache, network, stand-in)")  # fmt: skip
    t.add_argument("--root", help="image folder for --source folder")
    budget = t.add_mutually_exclusive_group(required=True)
    budget.add_argument("--epochs", type=_positive_int, help="train for N epochs in all")
    budget.add_argument(
        "--steps",
        type=_positive_int,
        help="train up to step N in all (a resumed run counts its earlier steps)",
    )
    budget.add_argument("--seconds", type=_positive_float, help="train for S more seconds")
    t.add_argument(
        "--seed", type=int, help="random seed of weights, batches and latents (default 0)"
    )
    t.add_argument(
        "--batch-size", type=_positive_int, help="images per batch (default 64; cyclegan 1)"
    )
    t.add_argument(
        "--image-size",
        type=_positive_int,
        help="resize images to N x N (default: the dataset's size)",
    )
    t.add_argument("--z-dim", type=_positive_int, help="latent size of mlp/dcgan (default 100)")
    t.add_argument(
        "--width",
        type=_positive_int,
        help="network width (default: mlp 256, i.e. G z-256-512 and D 512-256 as in lesson 01; "
        "dcgan 64; cyclegan 64)",
    )
    t.add_argument(
        "--smooth",
        type=_unit_interval,
        help="target of real images in the BCE loss, label smoothing (default 0.9; 1 = none)",
    )
    t.add_argument("--lr", type=float, default=2e-4, help="Adam learning rate (default 2e-4)")
    t.add_argument(
        "--amp",
        action="store_true",
        help="mixed precision: float16 with loss scaling on a CUDA GPU; bfloat16 on a CPU with "
        "native bfloat16 (AVX512-BF16/AMX, Arm BF16); elsewhere it says so and trains in "
        "float32, since emulated bfloat16 is about ten times slower",
    )
    t.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    t.add_argument(
        "--sample-every",
        type=_positive_int,
        default=100,
        help="steps between fixed-latent samples (default 100)",
    )
    t.add_argument(
        "--checkpoint-every",
        type=_positive_int,
        default=500,
        help="steps between checkpoints (default 500)",
    )
    t.add_argument(
        "--sync-batchnorm",
        action="store_true",
        help="under torchrun: batch norm over the whole batch of all processes",
    )
    t.add_argument("--quiet", action="store_true", help="no progress bar")
    t.add_argument(
        "--out", required=True, help="run directory: config.json and checkpoint.pt go here"
    )
    t.set_defaults(handler=_train)

    s = sub.add_parser("sample", help="draw images from a trained run into an .npz file",
                       description="Write N generated images as a uint8 array `images` (N, C, H, W) "
                       "to an .npz file; for cyclegan, N images of domain A translated to B "
                       "(the originals are stored as `inputs`).")  # fmt: skip
    s.add_argument("run", metavar="DIR", help="a run directory written by `train`")
    s.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    s.add_argument(
        "--seed", type=int, default=0, help="seed of the latents / chosen images (default 0)"
    )
    s.add_argument("--out", help="output .npz file (default DIR/samples.npz)")
    s.add_argument("--device", help="cpu, cuda or mps (default: the best available)")
    s.set_defaults(handler=_sample)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m ganlib`` and the ``ganlib`` script; returns the exit code."""
    args = build_parser().parse_args(argv)
    from .checkpoint import CheckpointError  # after parsing: --help needs no torch
    from .train import TrainingDiverged

    try:
        return args.handler(args)
    except UsageError as err:
        print(f"ganlib {args.command}: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("ganlib: interrupted; run the same command again to continue", file=sys.stderr)
        return 130
    except (CheckpointError, TrainingDiverged, ValueError, RuntimeError, OSError, KeyError) as err:
        if os.environ.get("GANLIB_DEBUG"):
            raise
        message = " ".join(str(err).split()) or type(err).__name__
        print(f"ganlib {args.command}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
