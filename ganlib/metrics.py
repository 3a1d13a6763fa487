"""How good are the samples? FID, KID, class coverage and the ring-of-Gaussians modes.

A GAN's losses say little about sample quality, so lessons measure the samples directly:

* **FID** (Fréchet Inception Distance): fit a Gaussian to the features of real and of generated
  images and measure the distance between the two Gaussians. 0 means identical statistics;
  lower is better. It needs a few hundred images per set to be stable (more than the feature size).
* **KID** (Kernel Inception Distance): an unbiased estimate of the squared MMD between the two
  feature sets with a cubic polynomial kernel. Unlike FID it is not biased by the sample size, so
  it is the better choice for small sets.
* **class coverage**: classify generated digits; a collapsed generator draws only a few classes.
* **ring modes**: on the 2-D ring of Gaussians, how many modes the samples reach.
* **calibrated score**: where a generator's FID lies, on a log scale, between real data (the
  floor: the FID of real images against other real images) and an untrained generator of the
  same architecture (the ceiling), measured on one's own data and features; 1 is as good as
  real data, 0 no better than untrained.
* **nearest neighbours**: the training image closest to each sample, to look for memorisation.
* **conditional generators** (lesson 07): the **requested-class accuracy** (does the classifier
  read the class each sample was asked for?), the **class confusion** (requested class ->
  class read) and the **label-conditioned FID** (one FID per class, averaged: it sees a generator
  that draws good digits of the wrong class, which the plain FID cannot).

The features come from the small offline networks of :mod:`ganlib.features` (``"mnist"``,
``"svhn"``, ``"celeba"``) or from Inception-v3 when torchmetrics / torch-fidelity is installed
(``features="inception"``). Numbers from different feature nets are not comparable.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from ganlib.features import Extractor, as_float_images, classify, extract

__all__ = [
    "fid",
    "kid",
    "fid_from_features",
    "kid_from_features",
    "Coverage",
    "class_coverage",
    "proxy_note",
    "ring_centers",
    "ring_of_gaussians",
    "ring_modes",
    "calibrated_score",
    "Calibration",
    "calibrate",
    "nearest_neighbours",
    "requested_class_accuracy",
    "class_confusion",
    "class_fids",
    "conditional_fid",
]


# --------------------------------------------------------------------------- FID and KID


def _as_features(f: object, what: str, min_samples: int = 2) -> np.ndarray:
    """Features as a float64 array (N, D), with a clear error for the wrong shape or too few rows."""
    if isinstance(f, Tensor):
        f = f.detach().cpu().double().numpy()
    f = np.asarray(f, dtype=np.float64)
    if f.ndim != 2:
        raise ValueError(f"{what} must be a 2-D array (N samples, D features), got shape {f.shape}")
    if len(f) < min_samples:
        raise ValueError(
            f"{what} has {len(f)} sample(s); at least {min_samples} are needed "
            "(FID and KID need a few hundred to be reliable)."
        )
    if not np.isfinite(f).all():
        raise ValueError(f"{what} contains NaN or inf: check the images (did training diverge?)")
    return f


def _check_pair(f1: np.ndarray, f2: np.ndarray) -> None:
    if f1.shape[1] != f2.shape[1]:
        raise ValueError(
            f"The two feature sets have different sizes ({f1.shape[1]} vs "
            f"{f2.shape[1]}): compute both with the same feature extractor."
        )


def _sqrt_psd(a: np.ndarray) -> np.ndarray:
    """Square root of a symmetric positive semi-definite matrix via its eigen-decomposition."""
    values, vectors = np.linalg.eigh(a)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


def frechet_distance(mu1: np.ndarray, cov1: np.ndarray, mu2: np.ndarray, cov2: np.ndarray) -> float:
    """||mu1 - mu2||^2 + tr(cov1 + cov2 - 2 (cov1 cov2)^(1/2)), the distance between two Gaussians.

    tr((cov1 cov2)^(1/2)) equals tr((s cov2 s)^(1/2)) with s = cov1^(1/2), and s cov2 s is
    symmetric: its eigenvalues are real and >= 0, so no complex parts appear and singular
    covariances (fewer samples than features) need no special care. Round-off below 0 is clipped.
    """
    s1 = _sqrt_psd(cov1)
    middle = s1 @ cov2 @ s1
    tr_covmean = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    diff = mu1 - mu2
    value = diff @ diff + np.trace(cov1) + np.trace(cov2) - 2 * tr_covmean
    return float(max(value, 0.0))


def fid_from_features(f1: Tensor | np.ndarray, f2: Tensor | np.ndarray) -> float:
    """FID between two feature sets of shape (N1, D) and (N2, D)."""
    f1, f2 = _as_features(f1, "f1"), _as_features(f2, "f2")
    _check_pair(f1, f2)
    dim = f1.shape[1]
    if min(len(f1), len(f2)) <= dim:
        warnings.warn(
            f"FID from {min(len(f1), len(f2))} samples of {dim}-d features is strongly "
            f"biased upwards; use more than {dim} samples per set (or KID).",
            stacklevel=2,
        )
    stats = [(f.mean(axis=0), np.atleast_2d(np.cov(f, rowvar=False))) for f in (f1, f2)]
    return frechet_distance(*stats[0], *stats[1])


def _mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased squared MMD with the kernel k(a, b) = (a.b / D + 1)^3 (as in the KID paper)."""
    m, dim = len(x), x.shape[1]
    k_xx = (x @ x.T / dim + 1) ** 3
    k_yy = (y @ y.T / dim + 1) ** 3
    k_xy = (x @ y.T / dim + 1) ** 3
    same = (k_xx.sum() - np.trace(k_xx) + k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
    return float(same - 2 * k_xy.mean())


def kid_from_features(
    f1: Tensor | np.ndarray,
    f2: Tensor | np.ndarray,
    subsets: int = 100,
    subset_size: int = 1000,
    *,
    seed: int = 0,
) -> float:
    """KID: the mean unbiased MMD^2 over ``subsets`` random subsets of ``subset_size`` each.

    ``subset_size`` is capped at the size of the smaller set. Being unbiased, KID can be slightly
    negative when the two sets come from the same distribution.
    """
    f1, f2 = _as_features(f1, "f1"), _as_features(f2, "f2")
    _check_pair(f1, f2)
    if subsets < 1 or subset_size < 2:
        raise ValueError(f"need subsets >= 1 and subset_size >= 2, got {subsets} and {subset_size}")
    size = min(subset_size, len(f1), len(f2))
    rng = np.random.default_rng(seed)
    values = [
        _mmd2_unbiased(
            f1[rng.choice(len(f1), size, replace=False)],
            f2[rng.choice(len(f2), size, replace=False)],
        )
        for _ in range(subsets)
    ]
    return float(np.mean(values))


def _require_images(images: object, what: str, min_samples: int = 2) -> None:
    n = len(getattr(images, "images", images))
    if n < min_samples:
        raise ValueError(
            f"{what} has {n} image(s); FID and KID need at least {min_samples} "
            "(a few hundred for reliable numbers)."
        )


def fid(
    real_images: object,
    fake_images: object,
    features: str | Extractor = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> float:
    """FID between two image sets (N, C, H, W) in [-1, 1] or uint8, e.g. real data vs samples.

    ``features`` names the feature net (see :mod:`ganlib.features`); images are resized to it.
    """
    _require_images(real_images, "real_images")
    _require_images(fake_images, "fake_images")
    f_real = extract(real_images, features, batch_size=batch_size, device=device)
    f_fake = extract(fake_images, features, batch_size=batch_size, device=device)
    return fid_from_features(f_real, f_fake)


def kid(
    real_images: object,
    fake_images: object,
    features: str | Extractor = "mnist",
    *,
    subsets: int = 100,
    subset_size: int = 1000,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> float:
    """KID between two image sets (N, C, H, W) in [-1, 1] or uint8; see :func:`kid_from_features`."""
    _require_images(real_images, "real_images")
    _require_images(fake_images, "fake_images")
    f_real = extract(real_images, features, batch_size=batch_size, device=device)
    f_fake = extract(fake_images, features, batch_size=batch_size, device=device)
    return kid_from_features(f_real, f_fake, subsets, subset_size)


# --------------------------------------------------------------------------- class coverage


@dataclass
class Coverage:
    """Which classes a classifier sees in a set of generated images (the mode-collapse check)."""

    classes_covered: int  # classes predicted for at least ``min_share`` of the images
    num_classes: int
    histogram: list[int]  # how many images were predicted as each class
    coverage: float  # classes_covered / num_classes
    confident: float  # share of images the classifier is sure about (max probability >= threshold)

    def __str__(self) -> str:
        return (
            f"{self.classes_covered}/{self.num_classes} classes covered "
            f"({self.coverage:.0%}), {self.confident:.0%} of images classified confidently"
        )


#: The feature networks trained on an offline stand-in, and the real data they stand in for.
TRAINED_ON_STAND_IN = {"svhn": "SVHN photos"}


def proxy_note(network: str, dataset: object) -> str | None:
    """A note to print when ``network`` (features or classifier) learned from the offline
    stand-in but ``dataset`` is the real data: then FID and class readings are a rough proxy."""
    if network not in TRAINED_ON_STAND_IN or getattr(dataset, "source", None) == "stand-in":
        return None
    return (
        f"note: the {network} features and classifier were trained on the offline stand-in, not on "
        f"{TRAINED_ON_STAND_IN[network]}: on this data their numbers are a rough proxy (compare "
        "your own runs)"
    )


def class_coverage(
    images: object,
    classifier: str | nn.Module = "mnist",
    *,
    min_share: float = 0.02,
    threshold: float = 0.9,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> Coverage:
    """Classify ``images`` (N, C, H, W) in [-1, 1] or uint8 and count the classes they cover.

    A class counts as covered when at least ``min_share`` of the images are predicted as it, so
    a few misclassified images do not make a collapsed generator look diverse. ``confident`` is
    the share of images whose top class has probability >= ``threshold``: blurry or broken digits
    lower it even when many classes appear. It is no realism score: classifiers can be sure of
    pure noise (FID catches that), so read coverage together with FID and the samples.
    """
    logits = classify(images, classifier, batch_size=batch_size, device=device)
    probs = logits.softmax(dim=1)
    num_classes = probs.shape[1]
    histogram = torch.bincount(probs.argmax(dim=1), minlength=num_classes)
    covered = int((histogram >= max(1, min_share * len(probs))).sum())
    return Coverage(
        classes_covered=covered,
        num_classes=num_classes,
        histogram=histogram.tolist(),
        coverage=covered / num_classes,
        confident=float((probs.max(dim=1).values >= threshold).float().mean()),
    )


# --------------------------------------------------------------------------- ring of Gaussians


def ring_centers(modes: int = 8, radius: float = 2.0) -> Tensor:
    """Centres of ``modes`` Gaussians evenly spaced on a circle, (modes, 2) (lesson 00's ring)."""
    angles = torch.arange(modes, dtype=torch.float32) * (2 * math.pi / modes)
    return radius * torch.stack([angles.cos(), angles.sin()], dim=1)


def ring_of_gaussians(
    n: int,
    modes: int = 8,
    radius: float = 2.0,
    std: float = 0.02,
    generator: torch.Generator | None = None,
) -> Tensor:
    """``n`` samples (n, 2) from a mixture of ``modes`` equally likely Gaussians on a ring."""
    which = torch.randint(modes, (n,), generator=generator)
    return ring_centers(modes, radius)[which] + std * torch.randn(n, 2, generator=generator)


def _points(points: Tensor | np.ndarray) -> Tensor:
    """Points as a float32 CPU tensor (from a tensor, an array or a list)."""
    if isinstance(points, Tensor):
        return points.detach().float().cpu()
    return torch.as_tensor(np.asarray(points, dtype=np.float32))


def ring_modes(
    samples: Tensor | np.ndarray,
    centers: Tensor | np.ndarray,
    std: float,
    *,
    min_share: float = 0.01,
) -> tuple[int, float]:
    """(modes covered, share of high-quality samples) for 2-D samples and the true mode centres.

    A sample is *high quality* when it lies within 3 ``std`` of its nearest centre; a mode is
    *covered* when at least ``min_share`` of all samples are high-quality samples next to it.
    A collapsed generator scores few modes even if its samples are all high quality.
    """
    samples, centers = _points(samples), _points(centers)
    if samples.dim() != 2 or samples.shape[1] != 2 or len(samples) == 0:
        raise ValueError(f"samples must have shape (N, 2) with N >= 1, got {tuple(samples.shape)}")
    if centers.dim() != 2 or centers.shape[1] != 2:
        raise ValueError(f"centers must have shape (modes, 2), got {tuple(centers.shape)}")
    if not std > 0:
        raise ValueError(f"std must be > 0, got {std}")
    distance, nearest = torch.cdist(samples, centers).min(dim=1)
    good = distance <= 3 * std
    per_mode = torch.bincount(nearest[good], minlength=len(centers))
    covered = int((per_mode >= max(1, min_share * len(samples))).sum())
    return covered, float(good.float().mean())


# --------------------------------------------------------------------------- calibrated score


def calibrated_score(fid: float, floor: float, ceiling: float) -> float:
    """Where ``fid`` lies between real data (1.0) and an untrained generator (0.0), on a log scale.

    ``floor`` is the FID between two sets of *real* images (e.g. held-out against training
    images), with the same features and numbers of images as ``fid``: what a generator that drew
    real faces would get (not 0: FID from finite sets is biased upwards). ``ceiling`` is the FID
    of an untrained generator of the same architecture. The score is

        log(ceiling / fid) / log(ceiling / floor)

    1 for a generator as good as real data, 0 for one no better than untrained, 0.5 for the
    geometric mean of the two ends. The scale is logarithmic because FIDs span orders of
    magnitude: an untrained generator's near-blank images lie hundreds of units away, while a
    blurry and a sharp generator differ by tens; on a linear scale anything face-coloured would
    look "most of the way there". Each halving of the FID moves the score by the same amount.
    A fixed FID threshold means something else for every dataset, image size, feature network
    and number of samples; the two ends of this scale move with them.
    """
    values = {"fid": fid, "floor": floor, "ceiling": ceiling}
    bad = [f"{k}={v!r}" for k, v in values.items() if not math.isfinite(float(v)) or v < 0]
    if bad:
        raise ValueError(f"calibrated_score needs finite FIDs >= 0, got {', '.join(bad)}")
    if not 0 < floor < ceiling:
        raise ValueError(
            f"the untrained generator's FID (ceiling {ceiling:.3g}) must be above the real-vs-real "
            f"FID (floor {floor:.3g}), and the floor above 0: is the untrained generator really "
            "untrained, and are the two real sets different images of the same data?"
        )
    fid = max(float(fid), floor * 1e-6)  # a FID of 0 (identical sets) is as good as it gets
    return float(math.log(ceiling / fid) / math.log(ceiling / floor))


#: Images per KID subset in :func:`calibrate` (as in the KID paper).
KID_SUBSET = 1000


@dataclass
class Calibration:
    """A generator's FID and KID, with the two ends of the scale measured alongside."""

    fid: float  # samples vs held-out images
    fid_real: float  # the floor: other real images vs held-out images
    fid_untrained: float  # the ceiling: an untrained generator's samples vs held-out images
    kid: float  # KID of the samples (unbiased: near 0 for real images)
    kid_real: float
    kid_untrained: float
    n: int  # images in each set

    @property
    def score(self) -> float:
        """:func:`calibrated_score`: 1 as good as real data, 0 no better than untrained."""
        return calibrated_score(self.fid, self.fid_real, self.fid_untrained)

    def __str__(self) -> str:
        return (
            f"FID {self.fid:.2f} (real faces {self.fid_real:.2f}, untrained {self.fid_untrained:.1f}),"
            f" KID {self.kid:.4f} (real {self.kid_real:.4f}, untrained {self.kid_untrained:.4f}),"
            f" score {self.score:.2f} on {self.n} images"
        )


def calibrate(
    held_out: object,
    samples: object,
    untrained: object,
    other_real: object,
    features: str | Extractor = "celeba",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> Calibration:
    """FID and KID of ``samples`` against ``held_out``, with the floor and the ceiling.

    ``other_real``: real images that are not in ``held_out`` (e.g. training images), for the
    floor; ``untrained``: samples of an untrained generator of the same architecture, for the
    ceiling. All four sets are image batches (N, C, H, W) in [-1, 1] or uint8; use the same
    number of images in each, since FID's bias depends on it. Features are computed once per set.
    """
    sets = {
        "held_out": held_out,
        "samples": samples,
        "untrained": untrained,
        "other_real": other_real,
    }
    for name, images in sets.items():
        _require_images(images, name)
    f = {k: extract(v, features, batch_size=batch_size, device=device) for k, v in sets.items()}
    n = min(len(v) for v in f.values())

    subsets = 1 if n <= KID_SUBSET else 20  # a subset as large as the set is the set itself

    def both(other: str) -> tuple[float, float]:
        return (
            fid_from_features(f["held_out"], f[other]),
            kid_from_features(f["held_out"], f[other], subsets, KID_SUBSET),
        )

    (fid_fake, kid_fake), (fid_real, kid_real), (fid_0, kid_0) = (
        both("samples"),
        both("other_real"),
        both("untrained"),
    )
    return Calibration(fid_fake, fid_real, fid_0, kid_fake, kid_real, kid_0, n)


# --------------------------------------------------------------------------- memorisation


def nearest_neighbours(
    queries: object, candidates: object, *, chunk: int = 1024
) -> tuple[Tensor, Tensor]:
    """For each query image, the closest candidate image in pixels: (distances, indices).

    Both are image batches (N, C, H, W) of the same size, in [-1, 1] or uint8. The distance is
    the root-mean-square pixel difference in [-1, 1] units (0: identical; about 0.5 between
    unrelated faces). A generator that memorised its training set draws samples whose nearest
    training image is almost the same picture; one that generalises draws new faces, as far
    from their nearest training face as real held-out faces are. The candidates are converted
    ``chunk`` at a time, so a large uint8 training set is never copied to float at once.
    """
    q = as_float_images(queries, "queries").flatten(1)
    pool = getattr(candidates, "images", candidates)
    if not isinstance(pool, Tensor):
        pool = torch.as_tensor(np.asarray(pool))
    if len(pool) == 0:
        raise ValueError("no candidate images to compare with")
    if pool[0].numel() != q.shape[1]:
        raise ValueError(
            f"queries and candidates must have the same image size, got {q.shape[1]} and "
            f"{pool[0].numel()} values per image: preprocess both the same way"
        )
    best_d = torch.full((len(q),), math.inf)
    best_i = torch.zeros(len(q), dtype=torch.long)
    for start in range(0, len(pool), chunk):
        part = as_float_images(pool[start : start + chunk], "candidates").flatten(1)
        d, i = torch.cdist(q, part.to(q.device)).min(dim=1)
        better = d < best_d
        best_d[better], best_i[better] = d[better], i[better] + start
    return best_d / math.sqrt(q.shape[1]), best_i


# --------------------------------------------------------------------------- conditional generators

#: :func:`conditional_fid` warns when a class has fewer images than this, or than the features
#: have dimensions (FID is biased upwards and noisy for small sets).
MIN_PER_CLASS = 50


def _class_numbers(labels: object, n: int, what: str = "labels") -> Tensor:
    """``labels`` as an int64 tensor (n,), with a clear error for floats or the wrong shape."""
    if not isinstance(labels, Tensor):
        try:
            labels = torch.as_tensor(np.asarray(labels))
        except (TypeError, ValueError) as err:
            raise TypeError(f"{what} must be a tensor or list of class numbers") from err
    if labels.is_floating_point() or labels.is_complex() or labels.dtype == torch.bool:
        raise TypeError(
            f"{what} must be whole class numbers (int64, e.g. torch.randint(0, 10, (n,))), "
            f"got dtype {labels.dtype}; convert with labels.long() if they are class numbers, "
            "or labels.argmax(dim=1) if they are one-hot rows"
        )
    if labels.dim() != 1 or len(labels) != n:
        hint = " (one-hot rows? use labels.argmax(dim=1))" if labels.dim() == 2 else ""
        raise ValueError(
            f"{what} must hold one class number per image, shape ({n},), got shape "
            f"{tuple(labels.shape)}{hint}"
        )
    return labels.long().cpu()


def _check_range(labels: Tensor, num_classes: int, what: str = "labels") -> None:
    if len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        bad = labels[(labels < 0) | (labels >= num_classes)]
        raise ValueError(
            f"{what} must lie in 0..{num_classes - 1} (the classifier's {num_classes} classes), "
            f"got {int(bad[0])}"
        )


def _requested_and_read(
    images: object,
    labels: object,
    classifier: str | nn.Module,
    batch_size: int,
    device: str | torch.device | None,
) -> tuple[Tensor, Tensor, int]:
    """(requested labels, classes the classifier reads, number of classes)."""
    n = len(getattr(images, "images", images))
    requested = _class_numbers(labels, n)
    logits = classify(images, classifier, batch_size=batch_size, device=device)
    num_classes = logits.shape[1]
    _check_range(requested, num_classes)
    return requested, logits.argmax(dim=1), num_classes


def requested_class_accuracy(
    images: object,
    labels: object,
    classifier: str | nn.Module = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> float:
    """Share of generated ``images`` that the classifier reads as the class they were asked for.

    ``labels[i]`` is the class requested for ``images[i]`` (N, C, H, W in [-1, 1] or uint8).
    About 1 / classes (0.1 for digits) for a generator that ignores its label, near the
    classifier's own accuracy (about 0.98 on real digits) for one that follows it. It says
    nothing about realism (a classifier can be sure of a scribble): read it with the FID.
    """
    requested, read, _ = _requested_and_read(images, labels, classifier, batch_size, device)
    return float((read == requested).float().mean())


def class_confusion(
    images: object,
    labels: object,
    classifier: str | nn.Module = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> Tensor:
    """Counts (classes, classes), int64: row = the class requested, column = the class read.

    A generator that follows its label has its counts on the diagonal; a row spread over many
    columns is a class the label does not control; a column that collects several rows is a
    class the generator draws whatever it is asked.
    """
    requested, read, k = _requested_and_read(images, labels, classifier, batch_size, device)
    return torch.bincount(requested * k + read, minlength=k * k).reshape(k, k)


def class_fids(
    real_images: object,
    real_labels: object,
    fake_images: object,
    fake_labels: object,
    features: str | Extractor = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> dict[int, float]:
    """The FID of each class: generated images asked for class c against real images of class c.

    Every class present among the real labels must be generated too, with at least two images
    each (FID needs a covariance); a class with fewer images than ``MIN_PER_CLASS``, or than the
    features have dimensions (64 for digits), gets a warning, since FID on small sets is biased
    upwards and noisy.
    """
    n_real = len(getattr(real_images, "images", real_images))
    n_fake = len(getattr(fake_images, "images", fake_images))
    real_y = _class_numbers(real_labels, n_real, "real_labels")
    fake_y = _class_numbers(fake_labels, n_fake, "fake_labels")
    for name, y in (("real_labels", real_y), ("fake_labels", fake_y)):
        if len(y) and y.min() < 0:
            raise ValueError(f"{name} must lie in 0..classes-1, got {int(y.min())}")
    classes = sorted(set(real_y.tolist()) | set(fake_y.tolist()))
    counts = {c: (int((real_y == c).sum()), int((fake_y == c).sum())) for c in classes}
    missing = [c for c, (r, f) in counts.items() if min(r, f) < 2]
    if missing:
        c = missing[0]
        r, f = counts[c]
        raise ValueError(
            f"class {c} has {r} real and {f} generated images; the label-conditioned FID needs "
            "at least 2 of each (a few hundred for reliable numbers) in every class: generate "
            "the same classes as the real labels hold, e.g. the labels repeated"
        )
    f_real = extract(real_images, features, batch_size=batch_size, device=device)
    f_fake = extract(fake_images, features, batch_size=batch_size, device=device)
    smallest = min(min(r, f) for r, f in counts.values())
    enough = max(MIN_PER_CLASS, f_real.shape[1] + 1)
    if smallest < enough:
        warnings.warn(
            f"the label-conditioned FID compares classes with as few as {smallest} images; "
            f"FID is biased upwards and noisy below {enough} per class (more than the "
            f"{f_real.shape[1]} feature dimensions): compare only numbers measured on the same "
            "sizes",
            UserWarning,
            stacklevel=3,
        )
    with warnings.catch_warnings():  # said once above, not once per class
        warnings.filterwarnings("ignore", message="FID from", category=UserWarning)
        return {c: fid_from_features(f_real[real_y == c], f_fake[fake_y == c]) for c in classes}


def conditional_fid(
    real_images: object,
    real_labels: object,
    fake_images: object,
    fake_labels: object,
    features: str | Extractor = "mnist",
    *,
    batch_size: int = 256,
    device: str | torch.device | None = None,
) -> float:
    """The label-conditioned FID: the mean over classes of :func:`class_fids`.

    Good digits drawn for the wrong labels score well on the plain FID (the set of images looks
    right) and badly here (the 3s asked for are compared with real 3s). Each class has a tenth
    of the images, so the numbers run higher than the plain FID on the same sets.
    """
    per_class = class_fids(
        real_images,
        real_labels,
        fake_images,
        fake_labels,
        features,
        batch_size=batch_size,
        device=device,
    )
    return float(sum(per_class.values()) / len(per_class))
