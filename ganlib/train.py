"""Training loops for GANs and CycleGAN: plain PyTorch, no framework.

:func:`fit_gan` is the loop of every lesson from 01 on. One step is::

    fake = G(z)                                                   # a batch of fakes
    loss_d = d_loss(D(real), D(fake.detach()))                    # D: tell real from fake
    loss_d.backward(); opt_d.step()
    loss_g = g_loss(D(fake))                                      # G: fool the updated D
    loss_g.backward(); opt_g.step()

Everything else here is bookkeeping a long run needs: a budget in epochs, steps or seconds, a
fixed batch of latents to watch progress, a progress bar, a divergence guard, and checkpoints that
let an interrupted run continue *exactly* where it stopped (bitwise, on CPU): the checkpoint holds
the models, the optimizers, the random generators and the position in the data.
"""

from __future__ import annotations

import contextlib
import itertools
import math
import os
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import nn
from tqdm.auto import tqdm

from . import losses
from .checkpoint import (
    CHECKPOINT_FILE,
    CheckpointError,
    load_checkpoint,
    load_weights,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .data import ImageDataset
from .device import get_device, seed_everything
from .losses import cycle_loss, identity_loss
from .models import ImagePool

__all__ = ["History", "TrainingDiverged", "fit_gan", "fit_cyclegan", "to_uint8"]

Callback = Callable[[int, "History", nn.Module], Any]
#: Steps between moving the step statistics to the CPU: each move waits for the GPU to catch up.
STATS_EVERY = 20


@dataclass
class History:
    """What a run recorded: one entry per step in each list, and snapshots of generated images.

    ``d_real`` / ``d_fake``: the discriminator's mean verdict on real and on generated images
    (``sigmoid`` of the logits for :func:`fit_gan`; the raw least-squares scores for
    :func:`fit_cyclegan`). ``samples``: ``(step, uint8 images (n, C, H, W))`` from the fixed
    latents (for CycleGAN: A->B translations of the fixed A images, then B->A of the fixed B
    images, whose originals are in ``inputs``). ``extra``: further per-step losses by name.
    """

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    samples: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    extra: dict[str, list[float]] = field(default_factory=dict)
    inputs: torch.Tensor | None = None

    def append(
        self, d_loss: float, g_loss: float, d_real: float, d_fake: float, **extra: float
    ) -> None:
        """Record one training step."""
        self.d_loss.append(d_loss)
        self.g_loss.append(g_loss)
        self.d_real.append(d_real)
        self.d_fake.append(d_fake)
        for name, value in extra.items():
            self.extra.setdefault(name, []).append(value)

    @property
    def steps(self) -> int:
        """Number of training steps recorded."""
        return len(self.d_loss)

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and tensors (what checkpoints store; losses are JSON-ready)."""
        return {
            "d_loss": list(self.d_loss),
            "g_loss": list(self.g_loss),
            "d_real": list(self.d_real),
            "d_fake": list(self.d_fake),
            "samples": [[step, images] for step, images in self.samples],
            "extra": {name: list(values) for name, values in self.extra.items()},
            "inputs": self.inputs,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> History:
        return cls(
            d_loss=list(d["d_loss"]),
            g_loss=list(d["g_loss"]),
            d_real=list(d["d_real"]),
            d_fake=list(d["d_fake"]),
            samples=[(int(step), images) for step, images in d["samples"]],
            extra={name: list(values) for name, values in d.get("extra", {}).items()},
            inputs=d.get("inputs"),
        )


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; ``step`` says when. The last good checkpoint is kept."""

    def __init__(self, message: str, step: int, history: History) -> None:
        super().__init__(message)
        self.step, self.history = step, history


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255] on the CPU (compact, ready to plot or save)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


# ------------------------------------------------------------------------------------------
# Small helpers shared by both loops
# ------------------------------------------------------------------------------------------


def _adam(
    params: Iterable[nn.Parameter], lr: float, betas: tuple[float, float]
) -> torch.optim.Adam:
    """Adam with the fused kernel (one call for all parameters) where torch offers it."""
    params = list(params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch or an unsupported device
        return torch.optim.Adam(params, lr=lr, betas=betas)


def _mixed_precision(amp: bool, device: torch.device) -> tuple[Callable[[], Any], Any]:
    """(autocast context factory, GradScaler or None): bf16 on CPU, fp16 + scaler on CUDA."""
    if not amp or device.type not in ("cpu", "cuda"):
        return contextlib.nullcontext, None
    if device.type == "cuda":
        scaler = torch.amp.GradScaler("cuda")
        return lambda: torch.autocast("cuda", dtype=torch.float16), scaler
    return lambda: torch.autocast("cpu", dtype=torch.bfloat16), None


def _update(loss: torch.Tensor, optimizer: torch.optim.Optimizer, scaler: Any) -> None:
    """One optimizer step on ``loss`` (through the GradScaler when mixed precision needs it)."""
    optimizer.zero_grad(set_to_none=True)
    if scaler is None:
        loss.backward()
        optimizer.step()
    else:
        scaler.scale(loss).backward()
        scaler.step(optimizer)
        scaler.update()


@contextlib.contextmanager
def _frozen(params: list[nn.Parameter]) -> Iterator[None]:
    """No gradients for ``params`` inside the block (the other network's step): less work."""
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _check_loader(loader: Any, name: str = "loader") -> None:
    """Refuse the data itself where a loader of batches belongs."""
    if isinstance(loader, torch.Tensor | ImageDataset):
        raise TypeError(
            f"{name} is a {type(loader).__name__}, not a loader of batches: wrap it in "
            "data.BatchLoader(dataset, batch_size), which yields float batches in [-1, 1]"
        )


def _images(batch: Any, device: torch.device) -> torch.Tensor:
    """The image tensor of a batch (``images`` or ``(images, labels)``), on ``device``.

    Only attributes are read to check it (no copy, no GPU sync): float images (N, C, H, W).
    """
    if isinstance(batch, tuple | list) and batch:
        batch = batch[0]
    if not isinstance(batch, torch.Tensor):
        raise TypeError(
            f"the loader yielded a {type(batch).__name__}; it must yield image tensors "
            "(N, C, H, W) or (images, labels) pairs, like data.BatchLoader(dataset, batch_size)"
        )
    if not batch.is_floating_point():
        raise TypeError(
            f"the loader yielded {batch.dtype} images {tuple(batch.shape)}; the networks need "
            "float images in [-1, 1]: use data.BatchLoader(dataset, batch_size), or convert "
            "each batch with x.float() / 127.5 - 1"
        )
    if batch.dim() != 4:
        raise TypeError(
            f"the loader yielded a batch of shape {tuple(batch.shape)}; expected 4 dims "
            "(N, C, H, W): use data.BatchLoader(dataset, batch_size) (a dataset yields single "
            "images), or add the channel dim of grey images with x.unsqueeze(1)"
        )
    return batch.to(device, non_blocking=True)


def _first_images(loader: Any, n: int, device: torch.device, name: str) -> torch.Tensor:
    """The first ``n`` images of epoch 0, over as many batches as needed (CycleGAN's inputs)."""
    taken: list[torch.Tensor] = []
    for batch in _epoch(loader, 0, 0):  # a BatchLoader's epoch 0: no random numbers drawn
        taken.append(_images(batch, device))
        if sum(map(len, taken)) >= n:
            return torch.cat(taken)[:n]
    raise ValueError(
        f"n_fixed={n}, but the first epoch of {name} holds only {sum(map(len, taken))} "
        "images: use a smaller n_fixed"
    )


def _epoch(loader: Any, epoch: int, start: int) -> Iterator[Any]:
    """Batches ``start, start+1, ...`` of ``epoch``: exact with a BatchLoader (epoch_batches)."""
    if hasattr(loader, "epoch_batches"):
        return iter(loader.epoch_batches(epoch, start))
    return itertools.islice(iter(loader), start, None)  # e.g. a DataLoader: order not restored


def _steps_per_epoch(*loaders: Any) -> int | None:
    sizes = []
    for loader in loaders:
        try:
            sizes.append(len(loader))
        except TypeError:
            return None
    n = min(sizes)
    if n == 0:
        raise ValueError(
            "the loader yields no batches: the dataset is smaller than one batch "
            "(use a smaller batch_size or drop_last=False)"
        )
    return n


def _total_steps(
    steps: int | None, epochs: int | None, seconds: float | None, per_epoch: int | None
) -> int | None:
    """The step at which to stop (None: only the clock decides)."""
    if steps is None and epochs is None and seconds is None:
        raise ValueError("give a training budget: steps=..., epochs=... or seconds=...")
    limits = [] if steps is None else [steps]
    if epochs is not None:
        if per_epoch is None:
            raise ValueError("epochs= needs a loader with len(); give steps= or seconds= instead")
        limits.append(epochs * per_epoch)
    return min(limits) if limits else None


def _check_options(out_dir: Any, resume: bool, **every: int) -> None:
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir=<the folder that holds checkpoint.pt>")
    for name, value in every.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")


def _diverged(
    step: int, stats: list[float], history: History, ckpt: Path | None
) -> TrainingDiverged:
    kept = (
        f"The last good checkpoint is kept in {ckpt}. "
        if ckpt is not None and ckpt.exists()
        else ""
    )
    names = ", ".join(f"{n}={v:.4g}" for n, v in zip(("d_loss", "g_loss"), stats, strict=False))
    return TrainingDiverged(
        f"training diverged at step {step}: a loss is not finite ({names}). {kept}"
        "Remedies: lower the learning rate (e.g. lr=1e-4), use label smoothing "
        "(d_loss=functools.partial(losses.d_loss_bce, smooth=0.9)), check the data is scaled to "
        "[-1, 1], or turn off amp.",
        step,
        history,
    )


def _record_stats(
    pending: list[torch.Tensor],
    step: int,
    history: History,
    record: Callable[[list[float]], None],
    ckpt: Path | None,
) -> None:
    """Move the stats of steps ``step - len(pending) + 1 .. step`` to the CPU in one go.

    One copy (one GPU sync) for many steps; each row is checked, then ``record``-ed in History.
    """
    if not pending:
        return
    rows, first = torch.stack(pending).tolist(), step - len(pending) + 1
    pending.clear()
    for i, stats in enumerate(rows):
        if not all(map(math.isfinite, stats)):
            raise _diverged(first + i, stats, history, ckpt)
        record(stats)


def _snapshot(
    kind: str,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    position: tuple[int, int, int],
    fixed: dict[str, torch.Tensor],
    history: History,
    *,
    scaler: Any = None,
    schedulers: dict[str, Any] | None = None,
    pools: dict[str, ImagePool] | None = None,
) -> dict[str, Any]:
    """Everything needed to continue a run exactly (tensors and plain values only)."""
    step, epoch, index = position
    return {
        "format": 1,
        "kind": kind,
        "models": {name: m.state_dict() for name, m in models.items()},
        "optimizers": {name: o.state_dict() for name, o in optimizers.items()},
        "schedulers": {name: s.state_dict() for name, s in (schedulers or {}).items()},
        "scaler": scaler.state_dict() if scaler is not None else None,
        "pools": {name: p.state_dict() for name, p in (pools or {}).items()},
        "rng": rng_state(),
        "step": step,
        "epoch": epoch,
        "index": index,
        "fixed": {name: t.cpu() for name, t in fixed.items()},
        "history": history.as_dict(),
    }


def _restore(
    path: Path,
    kind: str,
    models: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    device: torch.device,
    *,
    scaler: Any = None,
    schedulers: dict[str, Any] | None = None,
    pools: dict[str, ImagePool] | None = None,
) -> tuple[tuple[int, int, int], dict[str, torch.Tensor], History]:
    """Load a checkpoint into the run's objects; return (position, fixed inputs, history)."""
    state = load_checkpoint(path)
    if state.get("kind") != kind or set(state["models"]) != set(models):
        raise CheckpointError(
            f"checkpoint {path} was written by a {state.get('kind')!r} run with models "
            f"{sorted(state['models'])}, not a {kind!r} run; use another out_dir"
        )
    for name, model in models.items():
        load_weights(model, state["models"][name], name=name, path=path)
    try:
        for name, opt in optimizers.items():
            opt.load_state_dict(state["optimizers"][name])
        for name, sched in (schedulers or {}).items():
            sched.load_state_dict(state["schedulers"][name])
        if scaler is not None and state["scaler"] is not None:
            scaler.load_state_dict(state["scaler"])
        for name, pool in (pools or {}).items():
            pool.load_state_dict(state["pools"][name], device)
    except (KeyError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"checkpoint {path} does not match this run: {err}") from None
    set_rng_state(state["rng"])
    fixed = {name: t.to(device) for name, t in state["fixed"].items()}
    return (
        (state["step"], state["epoch"], state["index"]),
        fixed,
        History.from_dict(state["history"]),
    )


# ------------------------------------------------------------------------------------------
# GAN
# ------------------------------------------------------------------------------------------


def fit_gan(
    G: nn.Module,
    D: nn.Module,
    loader: Iterable,
    *,
    z_dim: int,
    steps: int | None = None,
    epochs: int | None = None,
    seconds: float | None = None,
    lr: float = 2e-4,
    lr_g: float | None = None,
    lr_d: float | None = None,
    betas: tuple[float, float] = (0.5, 0.999),
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = losses.d_loss_bce,
    g_loss: Callable[[torch.Tensor], torch.Tensor] = losses.g_loss_nonsaturating,
    g_steps: int = 1,
    n_fixed: int = 64,
    sample_every: int = 100,
    checkpoint_every: int = 500,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    device: str | torch.device | None = None,
    amp: bool = False,
    callback: Callback | None = None,
    progress: bool = True,
) -> History:
    """Train generator ``G`` against discriminator ``D`` on real batches from ``loader``.

    Budget: ``steps`` (total steps, counting those of a resumed run), ``epochs`` or ``seconds``
    (this call's wall clock); the first limit reached stops. ``D`` must return logits for the
    default BCE losses; pass your own ``d_loss(real_logits, fake_logits)`` and
    ``g_loss(fake_logits)`` to try others. Every ``sample_every`` steps ``G`` draws the fixed
    latents into ``History.samples`` and ``callback(step, history, G)`` runs. With ``out_dir``, a
    checkpoint is written every ``checkpoint_every`` steps and at the end; ``resume=True``
    continues from ``out_dir/checkpoint.pt`` when there is one. ``amp`` turns on mixed precision
    (bf16 on CPU, fp16 on CUDA). A NaN/Inf loss raises :class:`TrainingDiverged` (the losses are
    checked every ``STATS_EVERY`` steps and before each sample and checkpoint).
    """
    _check_options(
        out_dir,
        resume,
        sample_every=sample_every,
        checkpoint_every=checkpoint_every,
        g_steps=g_steps,
        n_fixed=n_fixed,
    )
    _check_loader(loader)
    device = get_device(device)
    G.to(device).train()
    D.to(device).train()
    opt_g = _adam(G.parameters(), lr if lr_g is None else lr_g, betas)
    opt_d = _adam(D.parameters(), lr if lr_d is None else lr_d, betas)
    autocast, scaler = _mixed_precision(amp, device)
    total = _total_steps(steps, epochs, seconds, _steps_per_epoch(loader))
    deadline = time.perf_counter() + seconds if seconds is not None else math.inf

    models, optimizers = {"G": G, "D": D}, {"G": opt_g, "D": opt_d}
    d_params = [p for p in D.parameters() if p.requires_grad]
    ckpt = Path(out_dir) / CHECKPOINT_FILE if out_dir is not None else None
    if resume and ckpt is not None and ckpt.exists():
        position, fixed, history = _restore(ckpt, "gan", models, optimizers, device, scaler=scaler)
        step, epoch, index = position
        fixed_z = fixed["z"]
    else:
        seed_everything(seed)
        step, epoch, index, history = 0, 0, 0, History()
        fixed_z = torch.randn(n_fixed, z_dim, generator=torch.Generator().manual_seed(seed))
        fixed_z = fixed_z.to(device)
    pending: list[torch.Tensor] = []  # stats of the latest steps, on the device until flush()

    def flush() -> None:  # before sampling and checkpoints: History complete, losses finite
        _record_stats(pending, step, history, lambda stats: history.append(*stats), ckpt)

    def sample() -> None:
        flush()
        G.eval()
        with torch.no_grad(), autocast():
            history.samples.append((step, to_uint8(G(fixed_z))))
        G.train()
        if callback is not None:
            callback(step, history, G)

    def checkpoint() -> None:
        flush()
        if ckpt is not None:
            position = (step, epoch, index)
            state = _snapshot(
                "gan", models, optimizers, position, {"z": fixed_z}, history, scaler=scaler
            )
            save_checkpoint(ckpt, state)

    if step == 0:
        sample()
    bar = tqdm(total=total, initial=step, desc="GAN", unit="step", disable=not progress)
    try:
        while (total is None or step < total) and time.perf_counter() < deadline:
            batch = None
            for batch in _epoch(loader, epoch, index):
                real = _images(batch, device)
                z = torch.randn(real.shape[0], z_dim, device=device)

                # Discriminator step: real images should score high, fakes low.
                with autocast():
                    fake = G(z)
                    real_logits, fake_logits = D(real), D(fake.detach())
                    loss_d = d_loss(real_logits.float(), fake_logits.float())
                _update(loss_d, opt_d, scaler)

                # Generator step(s): make the (just updated) discriminator call the fakes real.
                with _frozen(d_params):  # only G learns here: no gradients for D's weights
                    for i in range(g_steps):
                        with autocast():
                            if i > 0:  # extra G steps draw fresh latents
                                fake = G(torch.randn(real.shape[0], z_dim, device=device))
                            loss_g = g_loss(D(fake).float())
                        _update(loss_g, opt_g, scaler)

                step, index = step + 1, index + 1
                with torch.no_grad():  # stays on the device: no waiting for the GPU here
                    pending.append(torch.stack([
                        loss_d.detach(), loss_g.detach(),
                        torch.sigmoid(real_logits.float()).mean(), torch.sigmoid(fake_logits.float()).mean(),
                    ]))  # fmt: skip

                bar.update(1)
                if step % STATS_EVERY == 0:
                    flush()
                    bar.set_postfix(
                        d_loss=f"{history.d_loss[-1]:.3f}",
                        g_loss=f"{history.g_loss[-1]:.3f}",
                        refresh=False,
                    )
                if step % sample_every == 0:
                    sample()
                if step % checkpoint_every == 0:
                    checkpoint()
                if (total is not None and step >= total) or time.perf_counter() >= deadline:
                    break
            else:  # the epoch is complete
                if batch is None and index == 0:
                    raise ValueError(f"epoch {epoch} of the loader yielded no batches")
                epoch, index = epoch + 1, 0
    finally:
        bar.close()
    if not history.samples or history.samples[-1][0] != step:
        sample()
    checkpoint()  # also records the last steps' stats (without out_dir too)
    return history


# ------------------------------------------------------------------------------------------
# CycleGAN
# ------------------------------------------------------------------------------------------


def fit_cyclegan(
    G_ab: nn.Module,
    G_ba: nn.Module,
    D_a: nn.Module,
    D_b: nn.Module,
    loader_a: Iterable,
    loader_b: Iterable,
    *,
    steps: int | None = None,
    epochs: int | None = None,
    seconds: float | None = None,
    lr: float = 2e-4,
    betas: tuple[float, float] = (0.5, 0.999),
    lambda_cycle: float = 10.0,
    lambda_identity: float = 0.5,
    pool_size: int = 50,
    decay_start: int | None = None,
    d_loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = losses.d_loss_lsgan,
    g_loss: Callable[[torch.Tensor], torch.Tensor] = losses.g_loss_lsgan,
    n_fixed: int = 4,
    sample_every: int = 100,
    checkpoint_every: int = 500,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    device: str | torch.device | None = None,
    amp: bool = False,
    callback: Callback | None = None,
    progress: bool = True,
) -> History:
    """Train a CycleGAN: ``G_ab`` maps domain A to B, ``G_ba`` B to A; ``D_a``, ``D_b`` judge.

    Generator loss = adversarial (least squares) + ``lambda_cycle`` * cycle L1 +
    ``lambda_identity * lambda_cycle`` * identity L1. The discriminators see fakes drawn from an
    :class:`ImagePool` of ``pool_size`` past fakes. ``decay_start``: the step from which the
    learning rate falls linearly to 0 at the last step (needs ``steps`` or ``epochs``). Budget,
    sampling (translations of ``n_fixed`` fixed images of each domain), checkpoints, ``resume``
    and ``amp`` work as in :func:`fit_gan`; ``callback(step, history, G_ab)``.
    """
    _check_options(
        out_dir,
        resume,
        sample_every=sample_every,
        checkpoint_every=checkpoint_every,
        n_fixed=n_fixed,
    )
    _check_loader(loader_a, "loader_a")
    _check_loader(loader_b, "loader_b")
    device = get_device(device)
    models = {"G_ab": G_ab, "G_ba": G_ba, "D_a": D_a, "D_b": D_b}
    for model in models.values():
        model.to(device).train()
    opt_g = _adam(itertools.chain(G_ab.parameters(), G_ba.parameters()), lr, betas)
    d_params = [p for p in itertools.chain(D_a.parameters(), D_b.parameters()) if p.requires_grad]
    opt_d = _adam(d_params, lr, betas)
    autocast, scaler = _mixed_precision(amp, device)
    per_epoch = _steps_per_epoch(loader_a, loader_b)
    total = _total_steps(steps, epochs, seconds, per_epoch)
    deadline = time.perf_counter() + seconds if seconds is not None else math.inf

    schedulers = {}
    if decay_start is not None:
        if total is None:
            raise ValueError("decay_start needs a step budget: give steps= or epochs=")
        span = max(1, total - decay_start)

        def factor(s: int) -> float:  # 1 until decay_start, then linearly down to 0 at `total`
            return 1.0 if s < decay_start else max(0.0, 1.0 - (s - decay_start) / span)

        schedulers = {
            "G": torch.optim.lr_scheduler.LambdaLR(opt_g, factor),
            "D": torch.optim.lr_scheduler.LambdaLR(opt_d, factor),
        }
    pool_a, pool_b = ImagePool(pool_size), ImagePool(pool_size)
    pools = {"a": pool_a, "b": pool_b}
    optimizers = {"G": opt_g, "D": opt_d}

    ckpt = Path(out_dir) / CHECKPOINT_FILE if out_dir is not None else None
    if resume and ckpt is not None and ckpt.exists():
        position, fixed, history = _restore(
            ckpt, "cyclegan", models, optimizers, device,
            scaler=scaler, schedulers=schedulers, pools=pools,
        )  # fmt: skip
        step, epoch, index = position
    else:
        seed_everything(seed)
        step, epoch, index, history = 0, 0, 0, History()
        fixed = {
            "a": _first_images(loader_a, n_fixed, device, "loader_a"),
            "b": _first_images(loader_b, n_fixed, device, "loader_b"),
        }
        history.inputs = to_uint8(torch.cat([fixed["a"], fixed["b"]]))
    pending: list[torch.Tensor] = []  # stats of the latest steps, on the device until flush()

    def record(stats: list[float]) -> None:
        history.append(*stats[:4], g_gan=stats[4], cycle=stats[5], identity=stats[6])

    def flush() -> None:  # before sampling and checkpoints: History complete, losses finite
        _record_stats(pending, step, history, record, ckpt)

    def sample() -> None:
        flush()
        G_ab.eval(), G_ba.eval()
        with torch.no_grad(), autocast():
            images = torch.cat([G_ab(fixed["a"]), G_ba(fixed["b"])])
        history.samples.append((step, to_uint8(images)))
        G_ab.train(), G_ba.train()
        if callback is not None:
            callback(step, history, G_ab)

    def checkpoint() -> None:
        flush()
        if ckpt is not None:
            position = (step, epoch, index)
            state = _snapshot(
                "cyclegan", models, optimizers, position, fixed, history,
                scaler=scaler, schedulers=schedulers, pools=pools,
            )  # fmt: skip
            save_checkpoint(ckpt, state)

    if step == 0:
        sample()
    bar = tqdm(total=total, initial=step, desc="CycleGAN", unit="step", disable=not progress)
    try:
        while (total is None or step < total) and time.perf_counter() < deadline:
            pair = None
            batches = zip(
                _epoch(loader_a, epoch, index), _epoch(loader_b, epoch, index), strict=False
            )
            for pair in batches:
                real_a, real_b = _images(pair[0], device), _images(pair[1], device)

                # Generator step: fool both discriminators, and come back after a round trip.
                with _frozen(d_params):  # only the generators learn here
                    with autocast():
                        fake_b, fake_a = G_ab(real_a), G_ba(real_b)
                        loss_gan = g_loss(D_b(fake_b).float()) + g_loss(D_a(fake_a).float())
                        rec_a, rec_b = G_ba(fake_b).float(), G_ab(fake_a).float()
                        loss_cycle = cycle_loss(real_a, rec_a, lambda_cycle) + cycle_loss(
                            real_b, rec_b, lambda_cycle
                        )
                        loss_id = torch.zeros((), device=device)
                        if lambda_identity > 0:  # a generator fed its own target domain: no change
                            same_a, same_b = G_ba(real_a).float(), G_ab(real_b).float()
                            w = lambda_identity * lambda_cycle
                            loss_id = identity_loss(real_a, same_a, w) + identity_loss(
                                real_b, same_b, w
                            )
                        loss_g = loss_gan + loss_cycle + loss_id
                    _update(loss_g, opt_g, scaler)

                # Discriminator step: real images vs. fakes from the pools of past fakes.
                with autocast():
                    real_a_scores, real_b_scores = D_a(real_a).float(), D_b(real_b).float()
                    fake_a_scores = D_a(pool_a.query(fake_a.detach())).float()
                    fake_b_scores = D_b(pool_b.query(fake_b.detach())).float()
                    loss_d_a = d_loss(real_a_scores, fake_a_scores)
                    loss_d = loss_d_a + d_loss(real_b_scores, fake_b_scores)
                _update(loss_d, opt_d, scaler)
                for sched in schedulers.values():
                    sched.step()

                step, index = step + 1, index + 1
                with torch.no_grad():  # stays on the device: no waiting for the GPU here
                    pending.append(torch.stack([
                        loss_d.detach(), loss_g.detach(),
                        (real_a_scores.mean() + real_b_scores.mean()) / 2,
                        (fake_a_scores.mean() + fake_b_scores.mean()) / 2,
                        loss_gan.detach(), loss_cycle.detach(), loss_id.detach(),
                    ]))  # fmt: skip

                bar.update(1)
                if step % STATS_EVERY == 0:
                    flush()
                    bar.set_postfix(
                        d_loss=f"{history.d_loss[-1]:.3f}",
                        g_loss=f"{history.g_loss[-1]:.3f}",
                        refresh=False,
                    )
                if step % sample_every == 0:
                    sample()
                if step % checkpoint_every == 0:
                    checkpoint()
                if (total is not None and step >= total) or time.perf_counter() >= deadline:
                    break
            else:  # the epoch is complete
                if pair is None and index == 0:
                    raise ValueError(f"epoch {epoch} of the loaders yielded no batches")
                epoch, index = epoch + 1, 0
    finally:
        bar.close()
    if not history.samples or history.samples[-1][0] != step:
        sample()
    checkpoint()  # also records the last steps' stats (without out_dir too)
    return history
