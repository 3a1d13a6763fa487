"""Training on several GPUs or machines: PyTorch's DistributedDataParallel under ``torchrun``.

``torchrun`` starts one process per GPU (``--nproc_per_node``) on one or more machines
(``--nnodes``, ``--rdzv-endpoint``) and tells each its place in environment variables
(``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``, ``MASTER_ADDR``...). :func:`ganlib.train.fit` reads them
through :class:`Group`: it joins the process group (NCCL on CUDA, gloo on a CPU), wraps the
networks the step trains in ``DistributedDataParallel`` (gradients are averaged over the processes
at every ``backward``, so all of them keep identical weights), lets every ``BatchLoader`` take its
own share of each epoch, averages the step's values over the processes, and leaves the progress
bar, the snapshots, the callback and the checkpoint to rank 0. Started without torchrun, nothing
of this happens: one process, as before.

    torchrun --nproc_per_node=2 -m ganlib train dcgan --data celeba --steps 6000 --out runs/faces
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

__all__ = ["Group", "launched_by_torchrun"]


def launched_by_torchrun() -> bool:
    """True in a process that torchrun started as one of several (WORLD_SIZE > 1)."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


@dataclass(frozen=True)
class Group:
    """This process's place among the training processes: ``rank`` of ``world_size``."""

    rank: int = 0
    world_size: int = 1

    @classmethod
    def join(cls, device: torch.device) -> Group:
        """Join torchrun's process group (once per process); one process alone: ``Group()``."""
        if not launched_by_torchrun():
            return cls()
        if not dist.is_initialized():
            if device.type == "cuda":
                torch.cuda.set_device(device)
            dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        return cls(dist.get_rank(), dist.get_world_size())

    @property
    def main(self) -> bool:
        """Rank 0: the process that shows progress and writes snapshots and checkpoints."""
        return self.rank == 0

    @property
    def several(self) -> bool:
        return self.world_size > 1

    def wrap(
        self, models: Mapping[str, nn.Module], *, sync_batchnorm: bool = False
    ) -> dict[str, nn.Module]:
        """The models as the step sees them: each one that learns in DistributedDataParallel.

        DDP copies rank 0's weights to every process when it wraps a model, and from then on
        averages the gradients in every ``backward``. ``sync_batchnorm``: batch norm layers use
        the statistics of the whole batch over all processes (their state stays shared).
        """
        if not self.several:
            return dict(models)
        wrapped = {}
        for name, model in models.items():
            if sync_batchnorm:
                _convert_batchnorm(model)
            learns = any(p.requires_grad for p in model.parameters())
            wrapped[name] = DistributedDataParallel(model) if learns else model
        return wrapped

    def mean(self, values: torch.Tensor) -> torch.Tensor:
        """The average of ``values`` over the processes (every process gets it)."""
        if self.several:
            values = values.clone()
            dist.all_reduce(values)
            values /= self.world_size
        return values

    def any(self, flag: bool, device: torch.device) -> bool:
        """Whether ``flag`` is true in any process: all stop at the same step."""
        if not self.several:
            return flag
        value = torch.tensor([float(flag)], device=device)
        dist.all_reduce(value, op=dist.ReduceOp.MAX)
        return bool(value.item())

    def gather(self, obj: Any) -> list[Any]:
        """``obj`` from every process, in rank order (e.g. the random states for a checkpoint)."""
        if not self.several:
            return [obj]
        objects: list[Any] = [None] * self.world_size
        dist.all_gather_object(objects, obj)
        return objects

    def barrier(self) -> None:
        if self.several:
            dist.barrier()


def _convert_batchnorm(model: nn.Module) -> None:
    """Swap the batch norm layers inside ``model`` for SyncBatchNorm, keeping their parameters."""
    for name, child in model.named_children():
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and not isinstance(
            child, nn.SyncBatchNorm
        ):
            setattr(model, name, nn.SyncBatchNorm.convert_sync_batchnorm(child))
        else:
            _convert_batchnorm(child)
