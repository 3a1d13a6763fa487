"""Operations on whole uint8 image tensors (N, C, H, W) that keep memory small.

* :func:`resize`: an antialiased resize of a uint8 batch, back to uint8.
* :func:`map_images`: apply a uint8 -> uint8 function (a learner's ``preprocess``) chunk by chunk
  into one preallocated output, with a progress bar. On CelebA (162,770 photos) a whole-array
  ``preprocess`` makes a float copy of every image (many GB); chunk by chunk, the memory above the
  input is the uint8 output plus one chunk's working copies (``benchmarks/data_memory.py``).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F
from torch import Tensor

#: Input bytes per chunk when ``chunk=None``: each float copy a function makes of it is 16 MB.
CHUNK_BYTES = 4 << 20


def resize(images: Tensor, size: int) -> Tensor:
    """Resize a uint8 batch to ``size`` x ``size`` (antialiased when shrinking); a no-op at the same
    size."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = F.interpolate(
        images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return out.round().clamp(0, 255).to(torch.uint8)


def _describe(x: object) -> str:
    return f"{x.dtype} {tuple(x.shape)}" if isinstance(x, Tensor) else type(x).__name__


def _checked(out: object, fn_name: str, count: int) -> Tensor:
    """``out`` if it is what ``fn`` must return for ``count`` images, else a clear error."""
    if not isinstance(out, Tensor) or out.dim() != 4:
        raise TypeError(
            f"{fn_name} must return images as a tensor (n, C, H, W), but it returned "
            f"{_describe(out)}"
        )
    if out.dtype != torch.uint8:
        raise TypeError(
            f"{fn_name} returned {out.dtype} images; it must return uint8 (0..255): end it with "
            "`.round().clamp(0, 255).to(torch.uint8)`"
        )
    if len(out) != count:
        raise ValueError(
            f"{fn_name} returned {len(out)} images for {count} input images: it must turn each "
            "image into exactly one image"
        )
    return out


def map_images(
    fn: Callable[..., Tensor],
    images: Tensor,
    *args,
    chunk: int | None = None,
    desc: str | None = None,
    progress: bool = True,
    **kwargs,
) -> Tensor:
    """``fn(images, *args, **kwargs)`` computed chunk by chunk: the same result, a fraction of the
    memory.

    ``fn`` maps uint8 images (n, C, H, W) to uint8 images (n, C', H', W'), one output per input
    image (e.g. lesson 05's ``preprocess``). ``images`` is a uint8 tensor (N, C, H, W). ``chunk``
    images go through ``fn`` at a time (default: about 4 MB of input) and land in one
    preallocated output tensor. A progress bar (``desc``) shows the way; ``progress=False`` hides
    it, and so does the environment variable ``TQDM_DISABLE=1``.

        faces = data.map_images(preprocess, train_set.images, 32, desc="preprocess")
    """
    from tqdm.auto import tqdm

    if not isinstance(images, Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
        hint = " (for a dataset, pass dataset.images)" if hasattr(images, "images") else ""
        raise TypeError(
            f"map_images needs a uint8 tensor (N, C, H, W){hint}, got {_describe(images)}"
        )
    if chunk is not None and (not isinstance(chunk, int) or isinstance(chunk, bool) or chunk < 1):
        raise ValueError(f"chunk must be a positive number of images (or None), got {chunk!r}")
    name = getattr(fn, "__name__", "the function")
    if len(images) == 0:
        return _checked(fn(images, *args, **kwargs), name, 0)
    chunk = chunk or max(1, CHUNK_BYTES // images[0].numel())
    bar_options = {} if progress else {"disable": True}  # never override TQDM_DISABLE otherwise
    out: Tensor | None = None
    with tqdm(total=len(images), desc=desc or name, unit="img", **bar_options) as bar:
        for start in range(0, len(images), chunk):
            part = images[start : start + chunk]
            result = _checked(fn(part, *args, **kwargs), name, len(part))
            if out is None:
                out = torch.empty((len(images), *result.shape[1:]), dtype=torch.uint8,
                                  device=result.device)  # fmt: skip
            elif result.shape[1:] != out.shape[1:]:
                raise ValueError(
                    f"{name} returned images of shape {tuple(result.shape[1:])} for images "
                    f"{start} to {start + len(part) - 1}, but {tuple(out.shape[1:])} before: it "
                    "must give every image the same shape"
                )
            out[start : start + len(part)] = result
            bar.update(len(part))
    return out
