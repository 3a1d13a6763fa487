"""BatchLoader: the fast way to feed a GAN from a preloaded uint8 image tensor.

A torch ``DataLoader`` with ``ToTensor`` + ``Normalize`` converts one image at a time in Python.
Here the whole dataset already sits in memory (on the training device) as one uint8 tensor, so a
batch is a single indexing operation followed by ``x.float() / 127.5 - 1``: tens of times faster
(see ``benchmarks/data_throughput.py``). The order of every epoch depends only on
``(seed, epoch)``, so training can resume mid-epoch and see exactly the batches it would have seen.
"""

from __future__ import annotations

from collections.abc import Iterator

import torch
from torch import Tensor

from ganlib.device import get_device


class BatchLoader:
    """Iterate over a dataset in float batches in [-1, 1] on ``device``, normalised per batch.

    ``dataset`` is an :class:`~ganlib.data.ImageDataset` (or any object with a uint8 ``images``
    tensor, and ``labels`` when ``labels=True``) or a uint8 tensor (N, C, H, W). With
    ``labels=True`` each batch is ``(images, labels)``. ``device=None`` picks the best device
    (:func:`ganlib.device.get_device`).

    Iterating gives the next epoch (like a DataLoader); ``epoch_batches(e, start)`` gives the
    batches of epoch ``e`` from batch ``start`` on, for exact resume.

    Under ``torchrun`` (a ``torch.distributed`` process group of ``world_size`` processes) each
    process takes its own share of every epoch's order (every ``world_size``-th image, from its
    ``rank`` on), so ``batch_size`` is per process; ``rank`` and ``world_size`` override that.
    """

    def __init__(
        self,
        dataset,
        batch_size: int,
        *,
        shuffle: bool = True,
        drop_last: bool = True,
        seed: int = 0,
        device: str | torch.device | None = None,
        labels: bool = False,
        rank: int | None = None,
        world_size: int | None = None,
    ) -> None:
        images = dataset if isinstance(dataset, Tensor) else getattr(dataset, "images", None)
        if not isinstance(images, Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
            raise TypeError(
                "BatchLoader needs an ImageDataset (from ganlib.data.load) or a uint8 tensor "
                f"(N, C, H, W); got {type(dataset).__name__}"
                + (
                    f" with images {images.dtype} {tuple(images.shape)}"
                    if isinstance(images, Tensor)
                    else ""
                )
            )
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive int, got {batch_size!r}")
        if drop_last and batch_size > len(images):
            raise ValueError(
                f"batch_size={batch_size} is larger than the dataset ({len(images)} images), so "
                "with drop_last=True there would be no batch at all: use a smaller batch_size"
            )
        label_tensor = getattr(dataset, "labels", None) if labels else None
        if labels and label_tensor is None:
            raise ValueError(
                "labels=True, but this dataset has no labels (e.g. a stand-in without classes or "
                "an image folder): use labels=False"
            )
        self.device = get_device(device)
        self.images = images.to(self.device)  # stays uint8: 4x smaller than float
        self.labels = label_tensor.to(self.device) if label_tensor is not None else None
        self.batch_size, self.shuffle, self.drop_last, self.seed = (
            batch_size,
            shuffle,
            drop_last,
            seed,
        )
        self.epoch = 0  # the epoch the next ``iter()`` yields
        if (rank is None) != (world_size is None) or (
            world_size is not None and not 0 <= rank < world_size
        ):
            raise ValueError(
                f"give rank and world_size together, 0 <= rank < world_size; got {rank}, {world_size}"
            )
        self.rank, self.world_size = rank, world_size

    def shard(self) -> tuple[int, int]:
        """(rank, world_size): given, else those of the torch.distributed process group."""
        if self.world_size is not None:
            return self.rank, self.world_size
        if torch.distributed.is_available() and torch.distributed.is_initialized():
            return torch.distributed.get_rank(), torch.distributed.get_world_size()
        return 0, 1

    def _share(self) -> int:
        """Images per process and epoch: equal shares, so the processes stay in lockstep."""
        return len(self.images) // self.shard()[1]

    def __len__(self) -> int:
        """Batches per epoch (of this process's share)."""
        n = self._share()
        return n // self.batch_size if self.drop_last else -(-n // self.batch_size)

    def order(self, epoch: int) -> Tensor:
        """The image indices of ``epoch``: a permutation fixed by ``(seed, epoch)``."""
        n = len(self.images)
        if not self.shuffle:
            return torch.arange(n)
        generator = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
        return torch.randperm(n, generator=generator)

    def epoch_batches(self, epoch: int, start: int = 0) -> Iterator[Tensor | tuple[Tensor, Tensor]]:
        """The batches of ``epoch`` from batch number ``start`` on (same every time)."""
        if not 0 <= start <= len(self):
            raise ValueError(
                f"start must be between 0 and {len(self)} (batches per epoch), got {start}"
            )
        rank, world_size = self.shard()
        order = self.order(epoch)[: self._share() * world_size][rank::world_size]
        order = order.to(self.device)
        for b in range(start, len(self)):
            index = order[b * self.batch_size : (b + 1) * self.batch_size]
            x = self.images[index].float().div_(127.5).sub_(1)  # uint8 -> [-1, 1], per batch
            yield (x, self.labels[index]) if self.labels is not None else x

    def __iter__(self) -> Iterator[Tensor | tuple[Tensor, Tensor]]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        return self.epoch_batches(epoch)

    def __repr__(self) -> str:
        c, h, w = self.images.shape[1:]
        return (
            f"BatchLoader({len(self.images)} images {c}x{h}x{w}, batch_size={self.batch_size}, "
            f"{len(self)} batches/epoch, shuffle={self.shuffle}, device={self.device})"
        )
