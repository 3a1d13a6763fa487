"""Training GANs: the two training steps, and the one loop that runs any step.

A *step function* trains on one batch and says how it went. It is called as::

    values = step(*real_batches, **models, **optimizers, **options)

with one real batch per loader (on the training device), then the networks, the optimizers and
whatever else it needs, by name; it returns a dict of per-step numbers (losses, D's verdicts) as
Python floats or 0-d tensors. :func:`gan_step` and :func:`cyclegan_step` below are the two steps
of this course, and the step you write in a lesson follows the same contract, so :func:`fit`
trains the model with *your* step.

:func:`fit` does everything else a long run needs: the budget (steps, epochs or seconds), a
progress bar, snapshots of fixed inputs, a callback for the live view, a guard against NaN
losses, and checkpoints from which an interrupted run continues *exactly* (bitwise on a CPU).
A checkpoint also records the run's settings, so a run resumed with other settings stops and
says what changed instead of showing old results. :func:`fit_gan` and :func:`fit_cyclegan` set up
the optimizers and fixed inputs for the library's steps and call :func:`fit`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import linecache
import math
import os
import time
import traceback
import warnings
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from torch import Tensor, nn
from tqdm.auto import tqdm

from . import distributed, losses, runconfig
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
from .device import eval_mode, get_device, seed_everything
from .losses import cycle_loss, identity_loss
from .models import ImagePool

__all__ = [
    "gan_step",
    "cyclegan_step",
    "fit",
    "fit_gan",
    "fit_cyclegan",
    "History",
    "TrainingDiverged",
    "StepError",
    "RunChanged",
    "adam",
    "linear_decay",
    "use_amp",
    "to_uint8",
]

#: A GradScaler that does nothing: float32 and bfloat16 need no loss scaling (only float16 does).
NO_SCALER = torch.amp.GradScaler("cpu", enabled=False)


# ------------------------------------------------------------------------------------------
# The two training steps
# ------------------------------------------------------------------------------------------


def gan_step(
    real: Tensor,
    G: nn.Module,
    D: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    *,
    z_dim: int,
    d_loss: Callable[[Tensor, Tensor], Tensor] = losses.d_loss_bce,
    g_loss: Callable[[Tensor], Tensor] = losses.g_loss_nonsaturating,
    g_steps: int = 1,
    amp: bool = False,
    scaler: torch.amp.GradScaler = NO_SCALER,
) -> dict[str, Tensor]:
    """One GAN step: D learns to tell ``real`` from G's fakes, then G learns to fool the new D.

    ``amp``: the networks run in mixed precision (bfloat16 on a CPU, float16 on a GPU, whose
    small gradients the ``scaler`` keeps from rounding to zero); the losses stay in float32.
    """
    device = real.device.type
    with torch.autocast(device, enabled=amp):
        fake = G(torch.randn(len(real), z_dim, device=real.device))
        # D: real images should score high, fakes low. detach(): D's loss must not reach G.
        real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = d_loss(real_logits.float(), fake_logits.float())
    opt_d.zero_grad()
    scaler.scale(loss_d).backward()
    scaler.step(opt_d)
    scaler.update()

    # G: make the updated D call the fakes real. D is frozen: G's loss must only move G.
    D.requires_grad_(False)
    for i in range(g_steps):
        with torch.autocast(device, enabled=amp):
            if i > 0:  # further G steps draw new fakes
                fake = G(torch.randn(len(real), z_dim, device=real.device))
            fake_logits_g = D(fake)
        loss_g = g_loss(fake_logits_g.float())
        opt_g.zero_grad()
        scaler.scale(loss_g).backward()
        scaler.step(opt_g)
        scaler.update()
    D.requires_grad_(True)
    return {
        "d_loss": loss_d.detach(),
        "g_loss": loss_g.detach(),
        "d_real": torch.sigmoid(real_logits.detach().float()).mean(),  # D(x), D's verdict on real
        "d_fake": torch.sigmoid(fake_logits.detach().float()).mean(),  # D(G(z)), on fakes
    }


def cyclegan_step(
    real_a: Tensor,
    real_b: Tensor,
    G_ab: nn.Module,
    G_ba: nn.Module,
    D_a: nn.Module,
    D_b: nn.Module,
    opt_g: torch.optim.Optimizer,
    opt_d: torch.optim.Optimizer,
    *,
    pool_a: ImagePool,
    pool_b: ImagePool,
    lambda_cycle: float = 10.0,
    lambda_identity: float = 0.5,
    d_loss: Callable[[Tensor, Tensor], Tensor] = losses.d_loss_lsgan,
    g_loss: Callable[[Tensor], Tensor] = losses.g_loss_lsgan,
    amp: bool = False,
    scaler: torch.amp.GradScaler = NO_SCALER,
) -> dict[str, Tensor]:
    """One CycleGAN step (Zhu et al., 2017): both generators, then both discriminators.

    ``G_ab`` translates domain A to B, ``G_ba`` B to A. ``lambda_identity`` is a share of
    ``lambda_cycle``, as in the authors' code (0.5 x 10: the identity loss weighs 5).
    """
    device = real_a.device.type
    # Generators: fool both discriminators (frozen here), and come back after a round trip.
    for D in (D_a, D_b):
        D.requires_grad_(False)
    with torch.autocast(device, enabled=amp):
        fake_b, fake_a = G_ab(real_a), G_ba(real_b)  # translate both ways
        rec_a, rec_b = G_ba(fake_b), G_ab(fake_a)  # and back again
        same_a, same_b = G_ba(real_a), G_ab(real_b)  # a generator fed its own target domain
        fake_b_scores, fake_a_scores = D_b(fake_b), D_a(fake_a)
    loss_gan = g_loss(fake_b_scores.float()) + g_loss(fake_a_scores.float())
    loss_cycle = cycle_loss(real_a, rec_a.float(), lambda_cycle)
    loss_cycle = loss_cycle + cycle_loss(real_b, rec_b.float(), lambda_cycle)
    w = lambda_identity * lambda_cycle  # should change nothing
    loss_id = identity_loss(real_a, same_a.float(), w) + identity_loss(real_b, same_b.float(), w)
    loss_g = loss_gan + loss_cycle + loss_id
    opt_g.zero_grad()
    scaler.scale(loss_g).backward()
    scaler.step(opt_g)
    scaler.update()
    for D in (D_a, D_b):
        D.requires_grad_(True)

    # Discriminators: real images against fakes from the pools of past fakes (detached).
    with torch.autocast(device, enabled=amp):
        real_a_scores, real_b_scores = D_a(real_a), D_b(real_b)
        pooled_a_scores = D_a(pool_a.query(fake_a.detach()))
        pooled_b_scores = D_b(pool_b.query(fake_b.detach()))
    loss_d = d_loss(real_a_scores.float(), pooled_a_scores.float())
    loss_d = loss_d + d_loss(real_b_scores.float(), pooled_b_scores.float())
    opt_d.zero_grad()
    scaler.scale(loss_d).backward()
    scaler.step(opt_d)
    scaler.update()
    return {
        "d_loss": loss_d.detach(),
        "g_loss": loss_g.detach(),
        "d_real": (real_a_scores.detach().float().mean() + real_b_scores.detach().float().mean()) / 2,
        "d_fake": (pooled_a_scores.detach().float().mean() + pooled_b_scores.detach().float().mean()) / 2,
        "g_gan": loss_gan.detach(),
        "cycle": loss_cycle.detach(),
        "identity": loss_id.detach(),
    }  # fmt: skip


# ------------------------------------------------------------------------------------------
# The loop
# ------------------------------------------------------------------------------------------

#: Steps between moving the step values to the CPU: each move waits for the GPU to catch up.
STATS_EVERY = 20

StepFunction = Callable[..., Mapping[str, Any]]
Callback = Callable[[int, "History"], Any]


def fit(
    step: StepFunction,
    *loaders: Iterable,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    options: Mapping[str, Any] | None = None,
    schedulers: Mapping[str, Any] | None = None,
    sample: Callable[[], Tensor] | None = None,
    steps: int | None = None,
    epochs: int | None = None,
    seconds: float | None = None,
    sample_every: int = 100,
    checkpoint_every: int = 500,
    out_dir: str | os.PathLike | None = None,
    resume: bool = False,
    seed: int = 0,
    device: str | torch.device | None = None,
    config: Mapping[str, Any] | None = None,
    callback: Callback | None = None,
    progress: bool = True,
    sync_batchnorm: bool = False,
) -> History:
    """Train by calling ``step(*batches, **models, **optimizers, **options)`` once per batch.

    ``loaders``: one or more loaders of real batches, read in lockstep (a ``BatchLoader`` gives
    exact resume). Budget: ``steps`` (in all, counting a resumed run's), ``epochs`` or
    ``seconds`` (of this call); the first limit reached stops. ``schedulers`` step after every
    step. Every ``sample_every`` steps ``sample()`` (run in eval mode, without gradients) adds a
    snapshot of fixed inputs to ``History.samples``, then ``callback(step, history)`` runs. With
    ``out_dir``, a checkpoint is written every ``checkpoint_every`` steps and at the end, and
    ``resume=True`` continues from it: the run must have the same settings (the models, the
    optimizers' hyperparameters, the options, the data, the step's source code, ``seed`` and
    ``config``), or :class:`RunChanged` says what differs. Options with a ``state_dict`` (an
    image pool, a GradScaler) are saved in checkpoints too. A non-finite value returned by the
    step raises :class:`TrainingDiverged` (values are checked every ``STATS_EVERY`` steps).

    Started by ``torchrun`` as one of several processes, ``fit`` trains with all of them
    (:mod:`ganlib.distributed`): the models the step gets are wrapped in DistributedDataParallel
    (``sync_batchnorm``: batch norm over the whole batch of all processes), each process reads
    its own share of the data, the values are averaged over the processes, and only rank 0 shows
    progress and writes snapshots and checkpoints (resume works with another number of them).
    """
    options, schedulers = dict(options or {}), dict(schedulers or {})
    _check_options(out_dir, resume, sample_every=sample_every, checkpoint_every=checkpoint_every)
    name = _check_step(step, loaders, {**models, **optimizers, **options})
    device = get_device(device)
    group = distributed.Group.join(device)  # one process, or one of several under torchrun
    for model in models.values():
        model.to(device).train()
    nets = group.wrap(models, sync_batchnorm=sync_batchnorm)  # what the step trains
    total = _total_steps(steps, epochs, seconds, _steps_per_epoch(loaders))
    deadline = time.perf_counter() + seconds if seconds is not None else math.inf
    settings = runconfig.describe_run(
        step, loaders, models, optimizers, options, schedulers, seed=seed, config=config
    )
    saved = {"models": models, "optimizers": optimizers, "schedulers": schedulers}
    saved["options"] = {k: v for k, v in options.items() if hasattr(v, "state_dict")}
    ckpt = Path(out_dir) / CHECKPOINT_FILE if out_dir is not None else None

    resumed = resume and ckpt is not None and ckpt.exists()
    if resumed:
        (done, epoch, index), history = _restore(ckpt, saved, settings, device, group, seed)
        index = min(index, _steps_per_epoch(loaders) or index)  # another number of processes
    else:
        seed_everything(seed + group.rank)  # each process draws its own latents
        done, epoch, index, history = 0, 0, 0, History()
    start, snapped, pending = done, -1, []  # pending: the latest steps' values, on the device

    def flush() -> None:  # before snapshots and checkpoints: History complete, values finite
        _record(pending, done, history, name, ckpt, group)

    def snapshot() -> None:
        nonlocal snapped
        flush()
        snapped = done
        if sample is not None and group.main:
            history.samples.append((done, _sample(sample, models)))
        if callback is not None and group.main:
            callback(done, history)

    def checkpoint() -> None:
        flush()
        if ckpt is not None:
            state = _state(saved, settings, (done, epoch, index), history, group)
            if group.main:
                save_checkpoint(ckpt, state)

    def finished() -> bool:
        over = total is not None and done >= total
        return over or group.any(time.perf_counter() >= deadline, device)  # all stop together

    if done == 0:
        snapshot()
    progress = progress and group.main
    bar = tqdm(total=total, initial=done, desc=name, unit="step", **_bar_switch(progress))
    frozen = _requires_grad(models)  # restored even if the run is interrupted mid-step
    try:
        while not finished():
            batches = None
            for batches in _epoch(loaders, epoch, index, device):
                values = _call_step(step, name, batches, nets, optimizers, options, done + 1)
                for scheduler in schedulers.values():
                    scheduler.step()
                done, index = done + 1, index + 1
                pending.append(values)
                bar.update(1)
                if done % STATS_EVERY == 0:
                    flush()
                    bar.set_postfix(history.latest(), refresh=False)
                if done % sample_every == 0:
                    snapshot()
                if done % checkpoint_every == 0:
                    checkpoint()
                if finished():
                    break
            else:  # the epoch is complete
                if batches is None and index == 0:
                    raise ValueError(f"epoch {epoch} of the loader yielded no batches")
                epoch, index = epoch + 1, 0
    finally:
        bar.close()
        _restore_requires_grad(frozen)
    if snapped != done and (done != start or not history.samples):
        snapshot()
    if done != start or not resumed:
        checkpoint()  # also records the last steps' values (without out_dir too)
    group.barrier()  # no process leaves before rank 0 has written the last checkpoint
    return history


# ------------------------------------------------------------------------------------------
# The library's runs: optimizers, fixed inputs and options for the two steps
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
    d_loss: Callable[[Tensor, Tensor], Tensor] = losses.d_loss_bce,
    g_loss: Callable[[Tensor], Tensor] = losses.g_loss_nonsaturating,
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
    sync_batchnorm: bool = False,
) -> History:
    """Train generator ``G`` against discriminator ``D`` with :func:`gan_step` and :func:`fit`.

    Adam (``lr``, or ``lr_g`` / ``lr_d`` for each network, ``betas``) for both networks. ``D``
    returns logits for the default BCE losses; pass ``d_loss(real_logits, fake_logits)`` and
    ``g_loss(fake_logits)`` to try others. ``n_fixed`` fixed latents (drawn from ``seed``) show
    progress in ``History.samples``. ``amp``: see :func:`use_amp`. The other arguments are
    :func:`fit`'s.
    """
    _check_options(out_dir, resume, n_fixed=n_fixed, g_steps=g_steps)
    device = get_device(device)
    G.to(device), D.to(device)
    amp = use_amp(amp, device)
    fixed_z = torch.randn(n_fixed, z_dim, generator=torch.Generator().manual_seed(seed))
    fixed_z = fixed_z.to(device)
    return fit(
        gan_step,
        _ImagesOnly(loader),
        models={"G": G, "D": D},
        optimizers={"opt_g": adam(G, lr_g or lr, betas), "opt_d": adam(D, lr_d or lr, betas)},
        options={
            "z_dim": z_dim, "d_loss": d_loss, "g_loss": g_loss, "g_steps": g_steps,
            "amp": amp, "scaler": _grad_scaler(amp, device),
        },  # fmt: skip
        sample=lambda: G(fixed_z),
        config={"n_fixed": n_fixed},
        steps=steps, epochs=epochs, seconds=seconds, sample_every=sample_every,
        checkpoint_every=checkpoint_every, out_dir=out_dir, resume=resume, seed=seed,
        device=device, callback=callback, progress=progress, sync_batchnorm=sync_batchnorm,
    )  # fmt: skip


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
    d_loss: Callable[[Tensor, Tensor], Tensor] = losses.d_loss_lsgan,
    g_loss: Callable[[Tensor], Tensor] = losses.g_loss_lsgan,
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
    sync_batchnorm: bool = False,
) -> History:
    """Train a CycleGAN with :func:`cyclegan_step` and :func:`fit`.

    One Adam for both generators and one for both discriminators; the discriminators see fakes
    from an :class:`ImagePool` of ``pool_size`` past fakes. ``decay_start``: the step from which
    the learning rate falls linearly to 0 at the last step (needs ``steps`` or ``epochs``).
    Snapshots: translations of the first ``n_fixed`` images of each domain (A->B, then B->A;
    the originals are ``History.inputs``). The other arguments are :func:`fit`'s.
    """
    _check_options(out_dir, resume, n_fixed=n_fixed)
    _check_loaders((loader_a, loader_b), names=("loader_a", "loader_b"))
    loaders = (_ImagesOnly(loader_a), _ImagesOnly(loader_b))
    device = get_device(device)
    G_ab.to(device), G_ba.to(device), D_a.to(device), D_b.to(device)
    amp = use_amp(amp, device)
    opt_g = adam([*G_ab.parameters(), *G_ba.parameters()], lr, betas)
    opt_d = adam([*D_a.parameters(), *D_b.parameters()], lr, betas)
    total = _total_steps(steps, epochs, seconds, _steps_per_epoch(loaders))
    schedulers = {}
    if decay_start is not None:
        if total is None:
            raise ValueError("decay_start needs a step budget: give steps= or epochs=")
        schedulers = {
            "G": linear_decay(opt_g, decay_start, total),
            "D": linear_decay(opt_d, decay_start, total),
        }
    fixed_a = _first_images(loader_a, n_fixed, device, "loader_a")
    fixed_b = _first_images(loader_b, n_fixed, device, "loader_b")
    history = fit(
        cyclegan_step,
        *loaders,
        models={"G_ab": G_ab, "G_ba": G_ba, "D_a": D_a, "D_b": D_b},
        optimizers={"opt_g": opt_g, "opt_d": opt_d},
        options={
            "pool_a": ImagePool(pool_size), "pool_b": ImagePool(pool_size),
            "lambda_cycle": lambda_cycle, "lambda_identity": lambda_identity,
            "d_loss": d_loss, "g_loss": g_loss, "amp": amp, "scaler": _grad_scaler(amp, device),
        },  # fmt: skip
        schedulers=schedulers,
        sample=lambda: torch.cat([G_ab(fixed_a), G_ba(fixed_b)]),
        config={"n_fixed": n_fixed, "decay": None if decay_start is None else [decay_start, total]},
        steps=steps, epochs=epochs, seconds=seconds, sample_every=sample_every,
        checkpoint_every=checkpoint_every, out_dir=out_dir, resume=resume, seed=seed,
        device=device, callback=callback, progress=progress, sync_batchnorm=sync_batchnorm,
    )  # fmt: skip
    history.inputs = to_uint8(torch.cat([fixed_a, fixed_b]))
    return history


def adam(
    params: nn.Module | Iterable[nn.Parameter], lr: float, betas: tuple[float, float]
) -> torch.optim.Adam:
    """Adam with the fused kernel (one call updates every parameter) where torch offers it."""
    params = list(params.parameters() if isinstance(params, nn.Module) else params)
    try:
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    except (RuntimeError, TypeError, ValueError):  # older torch or an unsupported device
        return torch.optim.Adam(params, lr=lr, betas=betas)


def linear_decay(
    optimizer: torch.optim.Optimizer, start: int, end: int
) -> torch.optim.lr_scheduler.LambdaLR:
    """The CycleGAN schedule: the learning rate stays until step ``start``, then falls linearly
    to 0 at step ``end``. Step it once per training step (``fit`` does, given ``schedulers``)."""
    span = max(1, end - start)
    return torch.optim.lr_scheduler.LambdaLR(
        optimizer, functools.partial(_decay_factor, start=start, span=span)
    )


def _decay_factor(step: int, *, start: int, span: int) -> float:
    return 1.0 if step < start else max(0.0, 1.0 - (step - start) / span)


def use_amp(amp: bool, device: torch.device) -> bool:
    """Whether mixed precision pays off here: ``amp`` on a GPU, or on a CPU with native bfloat16.

    On a CUDA GPU, float16 (with a GradScaler) is faster. On a CPU, bfloat16 is faster only
    where the processor computes in bfloat16 natively (AVX512-BF16 or AMX on x86, BF16 on Arm);
    elsewhere it is emulated and about ten times slower than float32, so ``amp=True`` says so
    once and trains in float32. Other devices train in float32.
    """
    if not amp:
        return False
    if device.type == "cuda":
        return True
    if device.type == "cpu" and cpu_has_native_bf16():
        return True
    why = (
        "this CPU has no native bfloat16 arithmetic, where bfloat16 runs about ten times "
        "slower than float32"
        if device.type == "cpu"
        else f"mixed precision is not supported on {device.type} by this course"
    )
    warnings.warn(f"amp=True: {why}; training in float32 instead", AmpFallback, stacklevel=3)
    return False


class AmpFallback(UserWarning):
    """amp=True was asked for where it would not be faster; the run trains in float32."""


def cpu_has_native_bf16() -> bool:
    """Whether this CPU computes in bfloat16 natively (then autocast to bfloat16 is faster)."""
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    if any(getattr(torch.cpu, check, lambda: False)() for check in checks):
        return True
    arm = os.uname().machine in ("aarch64", "arm64")
    return arm and bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())


def _grad_scaler(amp: bool, device: torch.device) -> torch.amp.GradScaler:
    """Loss scaling for float16 on a GPU; a scaler that does nothing everywhere else."""
    return torch.amp.GradScaler(device.type, enabled=amp and device.type == "cuda")


def to_uint8(images: Tensor) -> Tensor:
    """Images in [-1, 1] -> uint8 in [0, 255] on the CPU (compact, ready to plot or save)."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


# ------------------------------------------------------------------------------------------
# What a run records, and how it fails
# ------------------------------------------------------------------------------------------

#: The values a GAN step returns by convention; a History's ``extra`` holds the others.
GAN_VALUES = ("d_loss", "g_loss", "d_real", "d_fake")


@dataclass
class History:
    """What a run recorded: each value the step returned, one entry per step, and snapshots.

    ``values[name]`` (also ``history.name`` and ``history[name]``): one float per step, e.g.
    ``d_loss``, ``g_loss`` and D's mean verdicts ``d_real`` / ``d_fake`` (``sigmoid`` of the
    logits for :func:`gan_step`; the raw least-squares scores for :func:`cyclegan_step`).
    ``samples``: ``(step, uint8 images (n, C, H, W))`` of the fixed inputs. ``inputs``: the
    fixed input images of a translation model (CycleGAN), or None.
    """

    values: dict[str, list[float]] = field(default_factory=dict)
    samples: list[tuple[int, Tensor]] = field(default_factory=list)
    inputs: Tensor | None = None

    def append(self, **values: float) -> None:
        """Record one training step."""
        for key, value in values.items():
            self.values.setdefault(key, []).append(value)

    def __getattr__(self, key: str) -> list[float]:
        values = self.__dict__.get("values")
        if values is None or key.startswith("__") or key not in values:
            known = ", ".join(values or ()) or "none yet"
            raise AttributeError(f"History has no values named {key!r} (it has: {known})")
        return values[key]

    def __getitem__(self, key: str) -> list[float]:
        return self.__getattr__(key)

    def __contains__(self, key: object) -> bool:
        return key in self.values

    @property
    def steps(self) -> int:
        """Number of training steps recorded."""
        return max(map(len, self.values.values()), default=0)

    @property
    def extra(self) -> dict[str, list[float]]:
        """The values other than d_loss, g_loss, d_real and d_fake (e.g. CycleGAN's cycle)."""
        return {k: v for k, v in self.values.items() if k not in GAN_VALUES}

    def latest(self) -> dict[str, str]:
        """The last step's losses, formatted for a progress bar."""
        return {k: f"{v[-1]:.3f}" for k, v in self.values.items() if "loss" in k and v}

    def as_dict(self) -> dict[str, Any]:
        """Plain lists and tensors (what checkpoints store; the values are JSON-ready)."""
        return {
            "values": {key: list(v) for key, v in self.values.items()},
            "samples": [[step, images] for step, images in self.samples],
            "inputs": self.inputs,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> History:
        return cls(
            values={key: list(v) for key, v in d["values"].items()},
            samples=[(int(step), images) for step, images in d["samples"]],
            inputs=d.get("inputs"),
        )


class TrainingDiverged(RuntimeError):
    """A value returned by the step became NaN or infinite; ``step`` says when. The last good
    checkpoint is kept."""

    def __init__(self, message: str, step: int, history: History) -> None:
        super().__init__(message)
        self.step, self.history = step, history


class StepError(RuntimeError):
    """The step function raised, or returned something other than a dict of numbers.

    The message is one line that names the step function and the problem; the original
    exception, if any, is ``original``.
    """

    def __init__(self, message: str, original: BaseException | None = None) -> None:
        super().__init__(message)
        self.original = original


class RunChanged(CheckpointError):
    """``resume=True`` found a checkpoint of a run with other settings; ``changes`` lists them."""

    def __init__(self, message: str, changes: list[str]) -> None:
        super().__init__(message)
        self.changes = changes


# ------------------------------------------------------------------------------------------
# The loop's plumbing
# ------------------------------------------------------------------------------------------


def _check_options(out_dir: Any, resume: bool, **positive: int) -> None:
    if resume and out_dir is None:
        raise ValueError("resume=True needs out_dir=<the folder that holds checkpoint.pt>")
    for key, value in positive.items():
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise ValueError(f"{key} must be a positive int, got {value!r}")


def _check_loaders(loaders: tuple, names: tuple[str, ...] | None = None) -> None:
    """Refuse the data itself where a loader of batches belongs."""
    if not loaders:
        raise ValueError("give at least one loader of real batches, e.g. fit(step, loader, ...)")
    names = names or (
        ("loader",) if len(loaders) == 1 else [f"loader {i}" for i in range(len(loaders))]
    )
    for loader, name in zip(loaders, names, strict=True):
        if isinstance(loader, Tensor | ImageDataset):
            raise TypeError(
                f"{name} is a {type(loader).__name__}, not a loader of batches: wrap it in "
                "data.BatchLoader(dataset, batch_size), which yields float batches in [-1, 1]"
            )


def _check_step(step: Any, loaders: tuple, named: Mapping[str, Any]) -> str:
    """The step's name, once its signature accepts the batches and the named arguments."""
    _check_loaders(loaders)
    name = getattr(step, "__name__", None) or type(step).__name__
    if not callable(step):
        raise TypeError(f"the step function must be callable, got {type(step).__name__}")
    try:
        signature = _signature(step)
    except (TypeError, ValueError):  # a builtin or an object without a signature: just call it
        return name
    if signature is None:
        return name
    batches = [_batch_parts(loader) for loader in loaders]
    known = sum(len(parts) for parts in batches)
    # another kind of loader (a DataLoader) may yield images or (images, labels): either count
    other = sum(not hasattr(loader, "epoch_batches") for loader in loaders)
    first_error = None
    for count in range(known, known + other + 1):
        try:
            signature.bind(*[None] * count, **named)
            return name
        except TypeError as err:
            first_error = first_error or err  # the error for the batch parts that are known
    params = ", ".join(signature.parameters)
    given = ", ".join(part for parts in batches for part in parts)
    raise StepError(
        f"{name}({params}) cannot be called as {name}({given}, "
        f"{', '.join(f'{k}=...' for k in named)}): {first_error}. A step function takes the real "
        "batch first (one per loader; images and labels from a loader with labels=True), "
        "then the models, optimizers and options by the names given to fit()"
    )


def _batch_parts(loader: Any) -> tuple[str, ...]:
    """What one batch of ``loader`` gives the step: the images, and the labels of a
    ``BatchLoader(..., labels=True)``."""
    if getattr(loader, "labels", None) is not None:
        return ("<real images>", "<their labels>")
    return ("<real batch>",)


def _signature(fn: Callable[..., Any]) -> Any:
    """``inspect.signature(fn)``, or None for a callable whose signature hides behind *args."""
    signature = inspect.signature(fn)
    kinds = {p.kind for p in signature.parameters.values()}
    if inspect.Parameter.VAR_POSITIONAL in kinds and inspect.Parameter.VAR_KEYWORD in kinds:
        return None
    return signature


def _steps_per_epoch(loaders: tuple) -> int | None:
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


def _epoch(loaders: tuple, epoch: int, start: int, device: torch.device) -> Iterable[tuple]:
    """The batches ``start, start+1, ...`` of ``epoch`` of every loader, in lockstep, on the
    device; a loader yielding (images, labels) gives both. Exact with BatchLoaders."""

    def batches(loader: Any) -> Iterable[Any]:
        if hasattr(loader, "epoch_batches"):
            return loader.epoch_batches(epoch, start)
        return itertools.islice(iter(loader), start, None)  # a DataLoader: order not restored

    for parts in zip(*map(batches, loaders), strict=False):
        yield tuple(t for part in parts for t in _on_device(part, device))


def _on_device(batch: Any, device: torch.device) -> tuple[Tensor, ...]:
    """A batch (images, or (images, labels)) as a tuple of tensors on ``device``; the images
    are checked by their attributes only (no copy, no GPU sync): float (N, C, H, W)."""
    parts = tuple(batch) if isinstance(batch, tuple | list) and batch else (batch,)
    images = parts[0]
    if not isinstance(images, Tensor):
        raise TypeError(
            f"the loader yielded a {type(images).__name__}; it must yield image tensors "
            "(N, C, H, W) or (images, labels) pairs, like data.BatchLoader(dataset, batch_size)"
        )
    if not images.is_floating_point():
        raise TypeError(
            f"the loader yielded {images.dtype} images {tuple(images.shape)}; the networks need "
            "float images in [-1, 1]: use data.BatchLoader(dataset, batch_size), or convert "
            "each batch with x.float() / 127.5 - 1"
        )
    if images.dim() != 4:
        raise TypeError(
            f"the loader yielded a batch of shape {tuple(images.shape)}; expected 4 dims "
            "(N, C, H, W): use data.BatchLoader(dataset, batch_size) (a dataset yields single "
            "images), or add the channel dim of grey images with x.unsqueeze(1)"
        )
    return tuple(p.to(device, non_blocking=True) if isinstance(p, Tensor) else p for p in parts)


class _ImagesOnly:
    """A loader's batches without their labels, for the library's unconditional steps."""

    def __init__(self, loader: Iterable) -> None:
        _check_loaders((loader,))
        self.loader = loader
        self.images = getattr(loader, "images", None)  # what runconfig fingerprints
        self.batch_size, self.seed = (
            getattr(loader, "batch_size", None),
            getattr(loader, "seed", None),
        )

    def __len__(self) -> int:
        return len(self.loader)  # a TypeError for a loader without len(), as fit expects

    def __iter__(self) -> Iterator[Any]:
        return map(self._images, iter(self.loader))

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[Any]:
        if not hasattr(self.loader, "epoch_batches"):
            return itertools.islice(iter(self), start, None)
        return map(self._images, self.loader.epoch_batches(epoch, start))

    @staticmethod
    def _images(batch: Any) -> Any:
        return batch[0] if isinstance(batch, tuple | list) and batch else batch


def _first_images(loader: Any, n: int, device: torch.device, name: str) -> Tensor:
    """The first ``n`` images of epoch 0, over as many batches as needed (fixed inputs)."""
    taken: list[Tensor] = []
    for images, *_ in _epoch((loader,), 0, 0, device):  # epoch 0: no random numbers drawn
        taken.append(images)
        if sum(map(len, taken)) >= n:
            return torch.cat(taken)[:n]
    raise ValueError(
        f"n_fixed={n}, but the first epoch of {name} holds only {sum(map(len, taken))} "
        "images: use a smaller n_fixed"
    )


def _call_step(
    step: StepFunction,
    name: str,
    batches: tuple,
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, Any],
    options: Mapping[str, Any],
    number: int,
) -> dict[str, Any]:
    """Run the step once; its errors and wrong results become one-line :class:`StepError`\\ s."""
    try:
        values = step(*batches, **models, **optimizers, **options)
    except (StepError, KeyboardInterrupt):
        raise
    except Exception as err:  # noqa: BLE001 - any error in the step gets a one-line message
        raise StepError(
            f"{name} raised {type(err).__name__} at step {number}{_where(err, step)}: "
            f"{_first_line(err)}",
            err,
        ) from None
    if not isinstance(values, Mapping) or not all(isinstance(k, str) for k in values):
        raise StepError(
            f"{name} returned {_kind(values)} at step {number}; a step function returns a dict "
            "of named numbers, e.g. {'d_loss': d_loss.detach(), 'g_loss': g_loss.detach()}"
        )
    checked = {}
    for key, value in values.items():
        if isinstance(value, Tensor) and value.numel() == 1:
            checked[key] = value.detach().reshape(())  # no graph kept alive until the next copy
        elif isinstance(value, int | float) and not isinstance(value, bool):
            checked[key] = float(value)
        else:
            raise StepError(
                f"{name} returned {key}={_kind(value)} at step {number}; each value must be one "
                "number: a Python float or a tensor with one element (e.g. loss.detach())"
            )
    return checked


def _kind(value: Any) -> str:
    if isinstance(value, Tensor):
        return f"a tensor of shape {tuple(value.shape)}"
    return "None" if value is None else f"a {type(value).__name__}"


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return (text.splitlines()[0] if text else type(err).__name__)[:300]


def _where(err: BaseException, step: Any) -> str:
    """' (in <function>, line N: <code>)' for the innermost frame of the learner's own code."""
    here = Path(__file__).resolve().parent  # ganlib: the library's frames are not the learner's
    frames = [
        f
        for f in traceback.extract_tb(err.__traceback__)
        if not Path(f.filename).resolve().is_relative_to(here)
        and "site-packages" not in f.filename
        and "/torch/" not in f.filename
    ]
    if not frames:
        return ""
    f = frames[-1]
    code = (f.line or linecache.getline(f.filename, f.lineno)).strip()
    return f" (in {f.name}, line {f.lineno}: {code[:80]})" if code else f" (in {f.name})"


def _record(
    pending: list[dict[str, Any]],
    done: int,
    history: History,
    name: str,
    ckpt: Path | None,
    group: distributed.Group,
) -> None:
    """Move the values of steps ``done - len(pending) + 1 .. done`` to the CPU in one copy (one
    GPU sync for many steps), check that each is finite, and append them to ``history``. With
    several processes each records the average over all of them (one all-reduce)."""
    if not pending:
        return
    tensors = [v for row in pending for v in row.values() if isinstance(v, Tensor)]
    floats = [v for row in pending for v in row.values() if not isinstance(v, Tensor)]
    device = tensors[0].device if tensors else None
    packed = [torch.stack([t.float().to(device) for t in tensors])] if tensors else []
    if group.several:  # the Python floats travel too, so every process sees the same numbers
        packed.append(torch.tensor(floats, dtype=torch.float32, device=device))
        numbers = iter(group.mean(torch.cat(packed)).tolist())
        values = [next(numbers) for _ in range(len(tensors) + len(floats))]
    else:
        values = torch.cat(packed).tolist() if packed else []
        values += floats
    from_tensors, from_floats = iter(values[: len(tensors)]), iter(values[len(tensors) :])
    first = done - len(pending) + 1
    rows = [
        {
            k: next(from_tensors) if isinstance(v, Tensor) else next(from_floats)
            for k, v in r.items()
        }
        for r in pending
    ]
    pending.clear()
    for i, row in enumerate(rows):
        bad = {k: v for k, v in row.items() if not math.isfinite(v)}
        if bad:
            raise _diverged(name, first + i, row, bad, history, ckpt)
        history.append(**row)


def _diverged(
    name: str, step: int, row: dict, bad: dict, history: History, ckpt: Path | None
) -> TrainingDiverged:
    kept = (
        f"The last good checkpoint is kept in {ckpt}. "
        if ckpt is not None and ckpt.exists()
        else ""
    )
    values = ", ".join(f"{k}={v:.4g}" for k, v in row.items())
    return TrainingDiverged(
        f"training diverged at step {step}: {name} returned {', '.join(bad)} not finite "
        f"({values}). {kept}Remedies: lower the learning rate (e.g. lr=1e-4), use label "
        "smoothing (d_loss=functools.partial(losses.d_loss_bce, smooth=0.9)), check the data "
        "is scaled to [-1, 1], check the losses for log(0), or turn off amp.",
        step,
        history,
    )


def _sample(sample: Callable[[], Tensor], models: Mapping[str, nn.Module]) -> Tensor:
    """``sample()`` with every model in eval mode and no gradients, as uint8 on the CPU."""
    with eval_mode(*models.values()):
        return to_uint8(sample())


def _bar_switch(progress: bool) -> dict[str, bool]:
    """tqdm's ``disable``, passed only to turn the bar off, so TQDM_DISABLE=1 also works."""
    return {} if progress else {"disable": True}


def _requires_grad(models: Mapping[str, nn.Module]) -> list[tuple[nn.Parameter, bool]]:
    return [(p, p.requires_grad) for m in models.values() for p in m.parameters()]


def _restore_requires_grad(flags: list[tuple[nn.Parameter, bool]]) -> None:
    """Undo what an interrupted step left frozen (a step freezes D while G learns)."""
    for p, flag in flags:
        p.requires_grad_(flag)


# ------------------------------------------------------------------------------------------
# Checkpoints: everything needed to continue a run exactly (tensors and plain values only)
# ------------------------------------------------------------------------------------------

CHECKPOINT_FORMAT = 2


def _state(
    saved: dict[str, Mapping[str, Any]],
    settings: dict[str, Any],
    position: tuple[int, int, int],
    history: History,
    group: distributed.Group,
) -> dict[str, Any]:
    step, epoch, index = position
    return {
        "format": CHECKPOINT_FORMAT,
        "settings": runconfig.dumps(settings),
        **{part: {k: obj.state_dict() for k, obj in objs.items()} for part, objs in saved.items()},
        "rng": group.gather(rng_state()),  # every process's random states, in rank order
        "world_size": group.world_size,
        "step": step,
        "epoch": epoch,
        "index": index,
        "history": history.as_dict(),
    }


def _restore(
    path: Path,
    saved: dict[str, Mapping[str, Any]],
    settings: dict[str, Any],
    device: torch.device,
    group: distributed.Group,
    seed: int,
) -> tuple[tuple[int, int, int], History]:
    """Load a checkpoint into the run's objects; return (position, history)."""
    state = load_checkpoint(path)
    if state.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"checkpoint {path} was written by an older version of ganlib and cannot be "
            "continued: train into a new out_dir, or pass resume=False to start afresh"
        )
    changes = runconfig.differences(runconfig.loads(state["settings"]), settings)
    if changes:
        shown = "".join(f"\n  - {c}" for c in changes[:8])
        more = f"\n  - ... and {len(changes) - 8} more" if len(changes) > 8 else ""
        raise RunChanged(
            f"{path} holds a run with other settings, so continuing it would show you the old "
            f"run's results. What changed:{shown}{more}\nTo keep both runs, train into a new "
            "out_dir; to start this one from scratch, pass resume=False (the old checkpoint "
            "is replaced).",
            changes,
        )
    for key, model in saved["models"].items():
        load_weights(model, state["models"][key], name=key, path=path)
    try:
        for part in ("optimizers", "schedulers"):
            for key, obj in saved[part].items():
                obj.load_state_dict(state[part][key])
        for key, obj in saved["options"].items():
            _load_option(obj, state["options"][key], device)
    except (KeyError, ValueError, RuntimeError) as err:
        raise CheckpointError(f"checkpoint {path} does not match this run: {err}") from None
    step, epoch, index = state["step"], state["epoch"], state["index"]
    if state["world_size"] == group.world_size:  # exact: each process continues its own draws
        set_rng_state(state["rng"][group.rank])
    else:  # another number of processes: the same place in the epoch, new random draws
        seed_everything(seed + group.rank + step * 1_000_003)
        index = index * state["world_size"] // group.world_size
    return (step, epoch, index), History.from_dict(state["history"])


def _load_option(obj: Any, state: Any, device: torch.device) -> None:
    """``load_state_dict`` of an option; an image pool also takes the device of its images."""
    if "device" in inspect.signature(obj.load_state_dict).parameters:
        obj.load_state_dict(state, device=device)
    else:
        obj.load_state_dict(state)
