"""ganlib.data offline: every stand-in, load()'s arguments, folders, ImageDataset, BatchLoader.

No test touches the network: the mirror table points at a port where nothing listens.
"""

from __future__ import annotations

import socket
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from PIL import Image
from torch import nn

from ganlib import data
from ganlib.data import (
    BatchLoader,
    ImageDataset,
    data_dir,
    datasets,
    download,
    load,
    standins,
    to_unit,
)


@pytest.fixture(autouse=True)
def _offline(tmp_path, monkeypatch):
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("GANLIB_OFFLINE", raising=False)
    monkeypatch.setattr(download, "RETRY_WAIT", 0.0)
    with socket.socket() as s:  # a port where nothing listens: any download fails at once
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}/"
    for name, files in datasets.REMOTE.items():
        local = [
            datasets.RemoteFile(f.name, (dead + f.name,), f.md5, f.sha256, f.splits) for f in files
        ]
        monkeypatch.setitem(datasets.REMOTE, name, local)


def assert_images(ds: ImageDataset, n: int, shape: tuple[int, int, int]) -> None:
    assert ds.images.dtype == torch.uint8 and tuple(ds.images.shape) == (n, *shape)
    x, _ = ds[0]
    assert x.dtype == torch.float32 and x.shape == shape
    assert -1 <= x.min() and x.max() <= 1 and x.max() - x.min() > 0.5
    assert ds.source == "stand-in" and "STAND-IN" in ds.description


# ----------------------------------------------------------------------------- stand-ins


def test_mnist_stand_in_is_real_digits_split_by_class():
    train, test = load("mnist", source="offline"), load("mnist", split="test", source="offline")
    assert_images(train, 4000, (1, 28, 28))
    assert_images(test, 1000, (1, 28, 28))
    assert train.labels.dtype == torch.int64
    assert torch.bincount(train.labels).tolist() == [400] * 10
    assert torch.bincount(test.labels).tolist() == [100] * 10
    assert train.labels[:20].unique().numel() > 5  # shuffled, not sorted by class
    seen = {bytes(img.numpy()) for img in train.images}
    assert not any(bytes(img.numpy()) in seen for img in test.images)  # disjoint splits
    assert train[3][1] == int(train.labels[3])
    # Real handwriting: mostly black background with a bright stroke, like MNIST.
    assert (train.images == 0).float().mean() > 0.7 and train.images.max() == 255


def test_mnist_stand_in_resizes():
    assert load("mnist", image_size=32, source="offline").images.shape == (4000, 1, 32, 32)


def test_svhn_stand_in_colour_digits_with_labels():
    svhn = load("svhn", source="offline")
    assert_images(svhn, 6000, (3, 32, 32))
    assert set(svhn.labels.tolist()) == set(range(10))
    colour = (svhn.images[:, 0].float() - svhn.images[:, 2].float()).abs().mean()
    assert colour > 10  # coloured, not grey
    assert svhn.images.float().mean(dim=(1, 2, 3)).std() > 15  # varied backgrounds


def test_celeba_stand_in_faces_vary():
    faces = load("celeba", image_size=16, source="offline")
    assert_images(faces, 5000, (3, 16, 16))
    assert faces.labels is None and faces[0][1] == -1
    centre = faces.images[:, :, 6:10, 6:10].float().mean(dim=(2, 3))  # skin at the centre
    assert centre.std(dim=0).min() > 10  # many skin tones and lightings
    assert load("celeba", split="test", image_size=16, source="offline").images.shape[0] == 1000


def test_celeba_lfw_option_gives_real_grey_faces_in_disjoint_splits():
    from skimage.data import lfw_subset

    train = load("celeba", image_size=25, source="lfw")
    test = load("celeba", split="test", image_size=25, source="lfw")
    assert_images(train, 80, (3, 25, 25))
    assert_images(test, 20, (3, 25, 25))
    assert torch.equal(train.images[:, 0], train.images[:, 1])  # grey in three channels
    # Only the subset's first 100 images are faces (the other 100 are backgrounds), and no
    # held-out face is also a training face.
    subset = torch.from_numpy(lfw_subset()).float() * 255  # (200, 25, 25)
    ours = torch.cat([train.images[:, 0], test.images[:, 0]]).float()
    assert (ours - subset[:100]).abs().max() <= 1  # same size: bicubic resizing changes nothing
    assert not any(torch.equal(t, x) for t in test.images for x in train.images)
    assert "80 real grey LFW faces" in train.description


def test_summer2winter_stand_in_two_unpaired_domains():
    summer, winter = load("summer2winter", image_size=16, source="offline")
    assert_images(summer, 800, (3, 16, 16))
    assert_images(winter, 800, (3, 16, 16))
    s, w = summer.images.float(), winter.images.float()
    green = lambda x: (x[:, 1] - (x[:, 0] + x[:, 2]) / 2).mean()  # noqa: E731
    assert green(s) > green(w) + 10  # summer is green
    assert w.mean() > s.mean() + 20  # winter is white and grey
    assert summer.labels is None
    test_summer, _ = load("summer2winter", split="test", image_size=16, source="offline")
    assert test_summer.images.shape[0] == 200


@pytest.mark.parametrize(
    "make",
    [
        lambda seed: standins.svhn_standin(n=40, seed=seed),
        lambda seed: standins.celeba_standin(n=20, size=16, seed=seed),
        lambda seed: standins.summer2winter_standin(n=10, size=16, seed=seed),
    ],
)
def test_stand_ins_are_deterministic(make):
    a, b, c = make(3), make(3), make(4)
    assert torch.equal(a[0], b[0]) and (a[1] is None or torch.equal(a[1], b[1]))
    assert not torch.equal(a[0], c[0])


def test_stand_in_is_cached_identically(tmp_path):
    first = load("celeba", image_size=16, source="offline")
    assert list((tmp_path / "cache" / "standins").glob("celeba_train_16_*.pt"))
    assert torch.equal(load("celeba", image_size=16, source="offline").images, first.images)


def test_celeba_faces_are_drawn_at_twice_the_size_then_averaged(monkeypatch):
    drawn = []
    original = standins._faces

    def spy(g, n, res):
        out = original(g, n, res)
        drawn.append(out)
        return out

    monkeypatch.setattr(standins, "_faces", spy)
    images, _ = standins.celeba_standin(n=4, size=16, seed=0)
    assert drawn[0].shape == (4, 3, 32, 32)
    smooth = torch.nn.functional.avg_pool2d(drawn[0], 2).clamp(0, 1) * 255
    diff = (images.float() - smooth).abs()
    assert diff.mean() < 3 and diff.max() < 16  # only the small added noise differs


def test_auto_without_network_falls_back_to_the_stand_in():
    svhn = load("svhn", split="test")
    assert svhn.source == "stand-in" and "could not download" in svhn.description


# ----------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    "kwargs, words",
    [
        ({"name": "cifar"}, ["cifar", "mnist", "svhn", "celeba", "summer2winter"]),
        ({"name": "mnist", "split": "valid"}, ["valid", "train", "test"]),
        ({"name": "mnist", "source": "web"}, ["web", "auto", "download", "offline", "folder"]),
        ({"name": "mnist", "source": "lfw"}, ["lfw", "auto"]),
        ({"name": "mnist", "image_size": 4}, ["image_size", "8"]),
        ({"name": "mnist", "image_size": 32.0}, ["image_size"]),
    ],
)
def test_bad_arguments_name_the_valid_values(kwargs, words):
    with pytest.raises(ValueError) as err:
        load(**kwargs)
    assert all(word in str(err.value) for word in words)


def _write_images(folder: Path, count: int, colour, size=(50, 40)) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        Image.new("RGB", size, colour).save(folder / f"{i}.png")


def test_folder_source(tmp_path):
    _write_images(tmp_path / "faces" / "nested", 5, (255, 0, 0))
    faces = load("celeba", image_size=24, source="folder", root=tmp_path / "faces")
    assert faces.images.shape == (4, 3, 24, 24) and faces.source == "folder"  # 1 of 5 held out
    assert faces.images[:, 0].min() == 255 and faces.images[:, 1].max() == 0
    digits = load("mnist", source="folder", root=tmp_path / "faces")
    assert digits.images.shape == (4, 1, 28, 28)

    _write_images(tmp_path / "s2w" / "trainA", 3, (0, 200, 0))
    _write_images(tmp_path / "s2w" / "trainB", 2, (250, 250, 250))
    summer, winter = load("summer2winter", image_size=16, source="folder", root=tmp_path / "s2w")
    assert len(summer) == 3 and len(winter) == 2


def test_folder_without_train_and_test_holds_out_a_fixed_test_split(tmp_path, caplog):
    for i in range(20):  # one colour per image, to tell them apart
        folder = tmp_path / "faces" / ("a" if i % 2 else "b")
        folder.mkdir(parents=True, exist_ok=True)
        Image.new("RGB", (30, 40), (i * 10, 0, 0)).save(folder / f"{i}.png")
    with caplog.at_level("WARNING", logger="ganlib.data"):
        train = load("celeba", image_size=8, source="folder", root=tmp_path / "faces")
    test = load("celeba", split="test", image_size=8, source="folder", root=tmp_path / "faces")
    reds = lambda d: sorted(d.images[:, 0, 0, 0].tolist())  # noqa: E731
    assert len(train) == 18 and len(test) == 2  # a tenth held out
    assert sorted(reds(train) + reds(test)) == [i * 10 for i in range(20)]  # disjoint, complete
    assert "held out as the test split" in test.description and "held out" in caplog.text
    again = load("celeba", split="test", image_size=8, source="folder", root=tmp_path / "faces")
    assert reds(again) == reds(test)  # the same images every time

    _write_images(
        tmp_path / "split" / "train", 3, (255, 0, 0)
    )  # train/ and test/: used as they are
    _write_images(tmp_path / "split" / "test", 2, (0, 0, 255))
    test = load("celeba", split="test", image_size=8, source="folder", root=tmp_path / "split")
    assert len(test) == 2 and test.images[:, 2].min() == 255 and "held out" not in test.description

    _write_images(tmp_path / "one", 1, (0, 255, 0))
    assert len(load("celeba", image_size=8, source="folder", root=tmp_path / "one")) == 1
    with pytest.raises(ValueError, match="too few"):
        load("celeba", split="test", image_size=8, source="folder", root=tmp_path / "one")


def test_folder_source_errors(tmp_path):
    with pytest.raises(ValueError, match="root="):
        load("celeba", source="folder")
    with pytest.raises(ValueError, match="not a folder"):
        load("celeba", source="folder", root=tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValueError, match="No images"):
        load("celeba", source="folder", root=tmp_path / "empty")
    with pytest.raises(ValueError, match="trainA"):
        load("summer2winter", source="folder", root=tmp_path / "empty")


def test_load_reads_everything_from_the_dataset_table(monkeypatch, tmp_path):
    """A new row is a new dataset: load needs no other change."""
    assert data.NAMES == tuple(datasets.DATASETS) and data.SOURCES[-1] == "lfw"
    assert data.DEFAULT_SIZE["celeba"] == 64 and data.CHANNELS["mnist"] == 1
    raw = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).reshape(2, 3, 4, 4)
    (tmp_path / "cache" / "tiny").mkdir(parents=True)
    (tmp_path / "cache" / "tiny" / "tiny.pt").write_bytes(b"x")

    def read(paths, split, size):
        assert [p.name for p in paths] == ["tiny.pt"]
        return raw, torch.tensor([3, 4])

    def make(split, size):
        return raw[:1], None

    tiny = datasets.DatasetSpec(
        "tiny", "Tiny", channels=3, size=4, native=(4, 4),
        files=(datasets.RemoteFile("tiny.pt", ("http://127.0.0.1:9/tiny.pt",)),),
        reader=read, standins={"offline": datasets.StandIn(make, "tiny squares")},
    )  # fmt: skip
    monkeypatch.setitem(datasets.DATASETS, "tiny", tiny)
    real = load("tiny", source="download")
    assert torch.equal(real.images, raw) and real.labels.tolist() == [3, 4]
    assert real.description.startswith("Tiny train: 2 real images 3x4x4")
    assert "1 tiny squares" in load("tiny", source="offline").description
    paired = replace(tiny, domains=("day", "night"), reader=lambda p, s, n: (raw, raw[:1]))
    monkeypatch.setitem(datasets.DATASETS, "tiny", paired)
    datasets.REMOTE["tiny"] = [datasets.RemoteFile("tiny.pt", ("http://127.0.0.1:9/x",))]
    assert datasets.DATASETS["tiny"].files[0].urls == ("http://127.0.0.1:9/x",)  # REMOTE is a view
    (tmp_path / "cache" / "tiny" / "train_4.pt").unlink()
    day, night = load("tiny", source="download")
    assert (len(day), len(night)) == (2, 1) and day.name == "tiny/day"
    assert night.description.startswith("Tiny train (night): 1 real images")


def test_data_dir(monkeypatch, tmp_path):
    assert data_dir() == tmp_path / "cache"
    monkeypatch.delenv("GANLIB_DATA_DIR")
    repo = Path(datasets.__file__).resolve().parents[2]
    assert data_dir() == repo / "data"  # this checkout has a pyproject.toml


def test_to_unit_and_dataset_checks():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    assert to_unit(x).tolist() == [0.0, 0.5, 1.0, 1.0]
    with pytest.raises(TypeError, match="uint8"):
        ImageDataset(torch.zeros(2, 1, 4, 4))
    with pytest.raises(TypeError, match="labels"):
        ImageDataset(torch.zeros(2, 1, 4, 4, dtype=torch.uint8), torch.zeros(3, dtype=torch.int64))


# ----------------------------------------------------------------------------- BatchLoader


def small_dataset(n: int = 10) -> ImageDataset:
    images = torch.arange(n * 4, dtype=torch.uint8).reshape(n, 1, 2, 2) * 6
    return ImageDataset(images, torch.arange(n) % 3, name="toy")


def test_batch_loader_normalises_in_the_documented_order():
    ds = small_dataset()
    loader = BatchLoader(ds, 4, seed=7, device="cpu")
    assert len(loader) == 2 and len(BatchLoader(ds, 4, drop_last=False, device="cpu")) == 3
    order = torch.randperm(10, generator=torch.Generator().manual_seed(7 * 1_000_003 + 5))
    batches = list(loader.epoch_batches(5))
    for b, batch in enumerate(batches):
        expected = ds.images[order[b * 4 : (b + 1) * 4]].float() / 127.5 - 1
        assert batch.dtype == torch.float32 and torch.equal(batch, expected)


def test_batch_loader_epochs_and_exact_resume():
    ds = small_dataset(12)
    loader = BatchLoader(ds, 3, seed=1, device="cpu", drop_last=False)
    first, second = list(loader), list(loader)  # iterating walks through epochs 0, 1, ...
    assert all(torch.equal(a, b) for a, b in zip(first, loader.epoch_batches(0), strict=True))
    assert all(torch.equal(a, b) for a, b in zip(second, loader.epoch_batches(1), strict=True))
    assert not all(torch.equal(a, b) for a, b in zip(first, second, strict=True))
    seen = torch.cat(first).flatten(1)
    assert len(torch.unique(seen, dim=0)) == 12  # every image once per epoch
    resumed = list(BatchLoader(ds, 3, seed=1, device="cpu").epoch_batches(4, start=2))
    full = list(loader.epoch_batches(4))
    assert len(resumed) == 2 and all(
        torch.equal(a, b) for a, b in zip(resumed, full[2:], strict=True)
    )
    unshuffled = next(iter(BatchLoader(ds, 3, shuffle=False, device="cpu")))
    assert torch.equal(unshuffled, ds.images[:3].float() / 127.5 - 1)


def test_batch_loader_labels_and_errors():
    ds = small_dataset()
    x, y = next(iter(BatchLoader(ds, 5, seed=2, device="cpu", labels=True)))
    order = torch.randperm(10, generator=torch.Generator().manual_seed(2 * 1_000_003))
    assert torch.equal(y, ds.labels[order[:5]]) and x.shape == (5, 1, 2, 2)
    with pytest.raises(ValueError, match="no labels"):
        BatchLoader(ImageDataset(ds.images), 2, device="cpu", labels=True)
    with pytest.raises(ValueError, match="larger than the dataset"):
        BatchLoader(ds, 11, device="cpu")
    with pytest.raises(TypeError, match="uint8"):
        BatchLoader(torch.rand(4, 1, 2, 2), 2, device="cpu")
    with pytest.raises(ValueError, match="start"):
        list(BatchLoader(ds, 5, device="cpu").epoch_batches(0, start=3))


def test_dataset_works_with_a_plain_dataloader():
    ds = load("mnist", split="test", source="offline")
    x, y = next(iter(torch.utils.data.DataLoader(ds, batch_size=8)))
    assert (
        x.shape == (8, 1, 28, 28)
        and y.dtype == torch.int64
        and y.tolist() == ds.labels[:8].tolist()
    )


def test_gan_trains_on_the_stand_in_batches():
    """A GAN-ready loader: a tiny GAN's discriminator step on real batches gets the loss down."""
    torch.manual_seed(0)
    loader = BatchLoader(load("mnist", split="test", source="offline"), 64, device="cpu")
    G = nn.Sequential(nn.Linear(8, 784), nn.Tanh())
    D = nn.Sequential(nn.Flatten(), nn.Linear(784, 1))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3)
    bce = nn.BCEWithLogitsLoss()
    losses = []
    for real in loader:
        assert real.shape == (64, 1, 28, 28) and real.device.type == "cpu"
        fake = G(torch.randn(64, 8)).view(64, 1, 28, 28).detach()
        loss = bce(D(real), torch.ones(64, 1)) + bce(D(fake), torch.zeros(64, 1))
        opt_d.zero_grad()
        loss.backward()
        opt_d.step()
        losses.append(loss.item())
    assert len(losses) == 15 and losses[-1] < losses[0] / 2


def test_batch_loader_shares_each_epoch_between_processes():
    """Under torchrun every process takes every world_size-th image of the epoch's order."""
    images = torch.arange(10, dtype=torch.uint8).view(10, 1, 1, 1).expand(10, 1, 2, 2).contiguous()
    whole = BatchLoader(images, 2, device="cpu", seed=3)
    parts = [BatchLoader(images, 2, device="cpu", seed=3, rank=r, world_size=2) for r in (0, 1)]
    assert len(whole) == 5 and [len(p) for p in parts] == [2, 2]  # 5 images each, batches of 2
    order = whole.order(1)
    for rank, part in enumerate(parts):
        seen = torch.cat([b[:, 0, 0, 0] for b in part.epoch_batches(1)])
        expected = images[order[rank::2][:4], 0, 0, 0].float() / 127.5 - 1
        assert torch.equal(seen, expected)
    with pytest.raises(ValueError, match="give rank and world_size together"):
        BatchLoader(images, 2, device="cpu", rank=1)
    with pytest.raises(ValueError, match="0 <= rank < world_size"):
        BatchLoader(images, 2, device="cpu", rank=2, world_size=2)
