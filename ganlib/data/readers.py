"""Readers of the real datasets' files and of image folders, as uint8 tensors (N, C, S, S).

Each reader of the dataset table (:data:`ganlib.data.datasets.DATASETS`) is called as
``reader(paths, split, size)`` with the local paths of the split's files, in the table's order,
and returns ``(images, labels or None)``, or ``(domain A, domain B)`` for a paired set:

* :func:`read_mnist`: the idx format (gzip, big-endian header, raw bytes);
* :func:`read_svhn`: the MATLAB ``.mat`` files (``X`` is H x W x C x N, label 10 means 0);
* :func:`read_celeba`: ``img_align_celeba.zip``, decoded straight from the zip (no 200,000 small
  files on disk), split by the official partition;
* :func:`read_cyclegan`: a CycleGAN zip such as ``summer2winter_yosemite.zip`` (``<split>A`` and
  ``<split>B`` folders), also read straight from the zip.

Archives and folders are read member by member: only pictures count, so ``__MACOSX/``, hidden
files (``.DS_Store``, ``._*``), text files and, in CelebA, files not named by their number are
skipped. Pictures are centre-cropped to a square, resized, and decoded in threads with a progress
bar (``TQDM_DISABLE=1`` hides it). :func:`read_folder` reads your own images
(``source="folder"``), with a held-out test split when the folder has no ``train/`` and ``test/``.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import logging
import os
import zipfile
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path, PurePosixPath

import numpy as np
import torch
from torch import Tensor

from ganlib.data.images import resize

log = logging.getLogger("ganlib.data")

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
# The official CelebA partition (list_eval_partition.txt): images 1-162770 train, from 182638 test.
CELEBA_LAST_TRAIN, CELEBA_FIRST_TEST = 162_770, 182_638
#: Share of a folder without ``train/`` and ``test/`` subfolders held out as its test split.
HELD_OUT = 0.1
#: Image files read (and decoded in threads) at a time: bounds the memory for raw bytes.
DECODE_CHUNK = 1024


# ----------------------------------------------------------------------------- the real formats


def read_idx(path: Path, magic: int) -> Tensor:
    """MNIST's idx format: a big-endian header (magic, sizes), then raw uint8 values."""
    data = gzip.open(path).read()
    found, count = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if found != magic:
        raise ValueError(f"{path.name} is not an idx file (magic {found}, expected {magic})")
    if magic == 2049:
        return torch.from_numpy(np.frombuffer(data, np.uint8, count, offset=8).copy())
    rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
    array = np.frombuffer(data, np.uint8, count * rows * cols, offset=16)
    return torch.from_numpy(array.reshape(count, rows, cols).copy())


def read_mnist(paths: list[Path], split: str, size: int) -> tuple[Tensor, Tensor]:
    """``paths``: the images file, then the labels file."""
    images, labels = read_idx(paths[0], 2051), read_idx(paths[1], 2049)
    return resize(images[:, None], size), labels.long()


def read_svhn(paths: list[Path], split: str, size: int) -> tuple[Tensor, Tensor]:
    from scipy.io import loadmat

    mat = loadmat(paths[0])
    images = torch.from_numpy(np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1)))  # HWCN -> NCHW
    labels = torch.from_numpy(mat["y"].reshape(-1).astype(np.int64)) % 10  # SVHN writes 0 as 10
    return resize(images, size), labels


def read_celeba(paths: list[Path], split: str, size: int) -> tuple[Tensor, None]:
    """The faces of ``split`` (official partition) from ``img_align_celeba.zip``."""
    with zipfile.ZipFile(paths[0]) as zf:
        numbers = {name: PurePosixPath(name).stem for name in picture_names(zf.namelist())}
        numbered = {name: int(stem) for name, stem in numbers.items() if stem.isdigit()}
        if split == "train":
            names = [n for n, number in numbered.items() if number <= CELEBA_LAST_TRAIN]
        else:
            names = [n for n, number in numbered.items() if number >= CELEBA_FIRST_TEST]
        if not names:
            raise ValueError(
                f"{paths[0].name} holds no {split} images (expected files like 000001.jpg)"
            )
        return decode_images(zf.read, names, size, 3, f"CelebA {split} {size}px"), None


def read_cyclegan(paths: list[Path], split: str, size: int) -> tuple[Tensor, Tensor]:
    """Domains A and B of ``split`` from a CycleGAN zip (``<split>A``, ``<split>B``)."""
    with zipfile.ZipFile(paths[0]) as zf:
        return _read_domains(picture_names(zf.namelist()), zf.read, split, size, paths[0].name)


# ----------------------------------------------------------------------------- pictures


def picture_names(names: Iterable[str]) -> list[str]:
    """The sorted names (paths with ``/``) of pictures, without ``__MACOSX/`` and hidden files."""
    return sorted(
        name
        for name in names
        if name.lower().endswith(IMAGE_EXTENSIONS)
        and not any(part.startswith(".") or part == "__MACOSX" for part in name.split("/"))
    )


def _decode(data: bytes, size: int, mode: str) -> np.ndarray:
    """One image file -> centre square crop -> size x size uint8 array (C, H, W)."""
    from PIL import Image

    with Image.open(io.BytesIO(data)) as img:
        img.draft(mode, (size, size))  # JPEG: decode at a reduced scale when that is enough
        img = img.convert(mode)
        w, h = img.size
        side = min(w, h)
        left, top = (w - side) // 2, (h - side) // 2
        img = img.resize(
            (size, size), Image.Resampling.LANCZOS, box=(left, top, left + side, top + side)
        )
        array = np.asarray(img, dtype=np.uint8)
    return array[None] if array.ndim == 2 else array.transpose(2, 0, 1)


def decode_images(
    read: Callable[[str], bytes], names: list[str], size: int, channels: int, desc: str
) -> Tensor:
    """Decode the pictures ``read(name)`` gives into one uint8 tensor, in threads (PIL releases the
    GIL), with a progress bar; only ``DECODE_CHUNK`` files' bytes are held at a time."""
    from tqdm.auto import tqdm

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((len(names), channels, size, size), np.uint8)
    with (
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
        tqdm(total=len(names), desc=desc, unit="img") as bar,
    ):
        for start in range(0, len(names), DECODE_CHUNK):
            blobs = [read(name) for name in names[start : start + DECODE_CHUNK]]
            for i, array in enumerate(pool.map(lambda b: _decode(b, size, mode), blobs)):
                out[start + i] = array
            bar.update(len(blobs))
    return torch.from_numpy(out)


def _read_domains(names: list[str], read, split: str, size: int, where) -> tuple[Tensor, Tensor]:
    """Find ``<split>A`` and ``<split>B`` (the shallowest pair) among ``names`` and decode both."""
    folders: dict[str, list[str]] = {}
    for name in names:
        folders.setdefault(str(PurePosixPath(name).parent), []).append(name)
    pairs = sorted(
        (base.count("/"), base)
        for base in {str(PurePosixPath(f).parent) for f in folders}
        if str(PurePosixPath(base) / f"{split}A") in folders
        and str(PurePosixPath(base) / f"{split}B") in folders
    )
    if not pairs:
        raise ValueError(
            f"Expected the CycleGAN layout under {where}: folders {split}A and {split}B of "
            f"images, one per domain (summer2winter_yosemite.zip: A summer, B winter)"
        )
    base = PurePosixPath(pairs[0][1])
    return tuple(
        decode_images(read, folders[str(base / f"{split}{d}")], size, 3, f"{split}{d} {size}px")
        for d in "AB"
    )


# ----------------------------------------------------------------------------- your folders


def _files_under(folder: Path) -> list[str]:
    """The files anywhere under ``folder``, as names relative to it."""
    return [p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()]


def _pictures_under(folder: Path) -> list[str]:
    """The pictures anywhere under ``folder``, as names relative to it; an error if none."""
    names = picture_names(_files_under(folder))
    if not names:
        raise ValueError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) found under {folder}: check the path"
        )
    return names


def held_out(names: list[str]) -> set[str]:
    """The ``HELD_OUT`` share of ``names`` (at least one of two or more) kept for the test split:
    those with the smallest hash of their name, so the choice is the same on every machine and
    adding images moves few of them."""
    count = max(1, round(len(names) * HELD_OUT)) if len(names) >= 2 else 0
    return set(sorted(names, key=lambda n: hashlib.sha1(n.encode()).hexdigest())[:count])


def read_folder(root: Path, split: str, size: int, channels: int) -> tuple[Tensor, str]:
    """Your images of ``split`` and a phrase that says where they came from.

    ``root/train`` and ``root/test`` when both exist; otherwise all the images under ``root``, of
    which a deterministic share (:func:`held_out`) is the test split and the rest the train split.
    """
    if (root / "train").is_dir() and (root / "test").is_dir():
        folder = root / split
        names, where = _pictures_under(folder), f"your folder {folder}"
    else:
        folder, everything = root, _pictures_under(root)
        test = held_out(everything)
        names = [n for n in everything if (n in test) == (split == "test")]
        if not names:
            raise ValueError(
                f"{root} holds only {len(everything)} image(s): too few to hold one out as the "
                "test split; add more, or put your images in train/ and test/ subfolders"
            )
        where = (
            f"your folder {root}; it has no train/ and test/ subfolders, so {len(test)} of its "
            f"{len(everything):,} images, chosen by file name, are held out as the test split"
        )
        log.warning("%s has no train/ and test/ subfolders: %d of its %d images (chosen by file "
                    "name, the same every time) are held out as the test split", root, len(test),
                    len(everything))  # fmt: skip
    return decode_images(lambda n: (folder / n).read_bytes(), names, size, channels,
                         f"{folder.name} {size}px"), where  # fmt: skip


def read_domain_folders(root: Path, split: str, size: int) -> tuple[Tensor, Tensor]:
    """Your images of a paired set, in the CycleGAN layout (``<split>A``, ``<split>B``)."""
    names = picture_names(_files_under(root))
    return _read_domains(names, lambda n: (root / n).read_bytes(), split, size, root)
