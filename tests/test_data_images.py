"""ganlib.data.images (map_images, resize) and the progress bars of long data work.

A progress bar is checked through a stand-in for ``tqdm.auto.tqdm`` that records how it was made:
tqdm reads ``TQDM_DISABLE`` when it is imported, so the bar must never be given ``disable=``
unless the caller asked for no bar.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import replace

import pytest
import torch
import torch.nn.functional as F
import tqdm.auto
from PIL import Image

from ganlib import data
from ganlib.data import datasets, images


class BarSpy:
    """Records the options of every bar made and the progress reported."""

    made: list[dict] = []

    def __init__(self, *args, **kwargs) -> None:
        BarSpy.made.append(kwargs)
        self.done = 0
        kwargs["bar"] = self

    def __enter__(self) -> BarSpy:
        return self

    def __exit__(self, *exc) -> None:
        return None

    def update(self, n: int) -> None:
        self.done += n


@pytest.fixture
def bars(monkeypatch) -> list[dict]:
    BarSpy.made = []
    monkeypatch.setattr(tqdm.auto, "tqdm", BarSpy)
    return BarSpy.made


def preprocess(images: torch.Tensor, image_size: int, crop: float = 0.8) -> torch.Tensor:
    """Like lesson 05's: a crop shrunk on float, back to uint8."""
    side = int(images.shape[-1] * crop)
    shrunk = F.interpolate(
        images[..., :side, :side].float(), size=(image_size, image_size), mode="area"
    )
    return shrunk.round().to(torch.uint8)


PHOTOS = torch.randint(0, 256, (23, 3, 20, 20), generator=torch.Generator().manual_seed(0)).to(
    torch.uint8
)


@pytest.mark.parametrize("chunk", [1, 5, 23, 100, None])
def test_map_images_gives_the_whole_array_result_chunk_by_chunk(chunk, bars):
    seen = []

    def spy(x, size, crop=0.8):
        seen.append(len(x))
        return preprocess(x, size, crop=crop)

    out = data.map_images(spy, PHOTOS, 8, crop=0.5, chunk=chunk, desc="preprocess")
    assert out.dtype == torch.uint8 and torch.equal(out, preprocess(PHOTOS, 8, crop=0.5))
    assert sum(seen) == 23 and max(seen) == min(chunk or 23, 23)  # never more than a chunk
    assert bars == [{"total": 23, "desc": "preprocess", "unit": "img", "bar": bars[0]["bar"]}]
    assert bars[0]["bar"].done == 23  # no disable=: TQDM_DISABLE decides


def test_map_images_default_chunk_is_a_few_mb_of_input(bars):
    per_chunk = images.CHUNK_BYTES // (3 * 64 * 64)
    assert 100 < per_chunk < 2000  # 4 MB: 341 images of 3x64x64
    seen = []
    data.map_images(
        lambda x: seen.append(len(x)) or x, torch.zeros(3000, 3, 64, 64, dtype=torch.uint8)
    )
    assert seen == [per_chunk] * (3000 // per_chunk) + [3000 % per_chunk]


def test_map_images_without_a_bar_and_on_no_images(bars):
    data.map_images(preprocess, PHOTOS, 8, progress=False)
    assert bars[0]["disable"] is True
    empty = data.map_images(preprocess, PHOTOS[:0], 8)
    assert empty.shape == (0, 3, 8, 8) and empty.dtype == torch.uint8


def float_result(x):
    return x.float()


def drop_one(x):
    return x[1:]


def one_image(x):
    return x[0]


def not_a_tensor(x):
    return x.numpy()


def shape_varies(x):  # a learner who resizes to the chunk's own size
    return x[:, :, : len(x), : len(x)]


@pytest.mark.parametrize(
    "fn, error, words",
    [
        (float_result, TypeError, ["float_result", "torch.float32", "uint8", ".to(torch.uint8)"]),
        (drop_one, ValueError, ["drop_one", "returned 4 images for 5 input images"]),
        (one_image, TypeError, ["one_image", "(n, C, H, W)", "(3, 20, 20)"]),
        (not_a_tensor, TypeError, ["not_a_tensor", "ndarray"]),
        (shape_varies, ValueError, ["shape_varies", "(3, 3, 3)", "images 20 to 22", "(3, 5, 5)"]),
    ],
)
def test_map_images_names_what_fn_got_wrong(fn, error, words, bars):
    with pytest.raises(error) as raised:
        data.map_images(fn, PHOTOS, chunk=5)
    assert all(word in str(raised.value) for word in words), str(raised.value)


def test_map_images_checks_its_arguments():
    faces = data.ImageDataset(PHOTOS)
    with pytest.raises(TypeError, match="dataset.images"):
        data.map_images(preprocess, faces, 8)
    with pytest.raises(TypeError, match="uint8"):
        data.map_images(preprocess, PHOTOS.float(), 8)
    with pytest.raises(ValueError, match="chunk"):
        data.map_images(preprocess, PHOTOS, 8, chunk=0)


def test_resize_is_antialiased_and_a_no_op_at_the_same_size():
    stripes = torch.zeros(1, 1, 16, 16, dtype=torch.uint8)
    stripes[..., ::2] = 255
    assert images.resize(stripes, 16) is stripes
    small = images.resize(stripes, 4)
    assert (
        small.dtype == torch.uint8 and (small.float() - 127.5).abs().max() < 20
    )  # grey, not 0 or 255


def _celeba_zip(count: int) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        for n in range(1, count + 1):
            photo = io.BytesIO()
            Image.new("RGB", (178, 218), (200, 150, 120)).save(photo, format="JPEG")
            zf.writestr(f"img_align_celeba/{n:06d}.jpg", photo.getvalue())
    return buffer.getvalue()


def test_decoding_celeba_shows_a_progress_bar_and_is_cached_once(tmp_path, monkeypatch, bars):
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path))
    body = _celeba_zip(5)
    (tmp_path / "celeba").mkdir()
    (tmp_path / "celeba" / "img_align_celeba.zip").write_bytes(body)  # as if downloaded
    spec = datasets.DATASETS["celeba"]
    remote = datasets.RemoteFile("img_align_celeba.zip", ("http://127.0.0.1:9/",),
                                 sha256=hashlib.sha256(body).hexdigest(), size=len(body))  # fmt: skip
    decoded = []

    def reader(paths, split, size):
        decoded.append(split)
        return spec.reader(paths, split, size)

    monkeypatch.setitem(datasets.DATASETS, "celeba", replace(spec, files=(remote,), reader=reader))
    first = data.load("celeba", image_size=16, source="download")
    assert first.source == "cache" and len(first) == 5  # the zip was there: no network
    assert bars[0]["desc"] == "CelebA train 16px" and bars[0]["total"] == 5
    assert "disable" not in bars[0] and bars[0]["bar"].done == 5
    again = data.load("celeba", image_size=16)
    assert torch.equal(again.images, first.images) and decoded == ["train"]  # decoded once
