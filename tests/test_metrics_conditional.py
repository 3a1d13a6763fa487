"""ganlib.metrics for conditional generators: requested-class accuracy, class confusion, and the
label-conditioned FID, on real digits with their own labels and with labels they do not show."""

from __future__ import annotations

import pytest
import torch

from ganlib import data, metrics


@pytest.fixture(scope="module")
def digits() -> tuple[torch.Tensor, torch.Tensor]:
    """1,000 real test digits (100 of each class) and their labels (the offline stand-in)."""
    test = data.load("mnist", split="test", source="offline")
    return test.images, test.labels


@pytest.fixture(scope="module")
def train_digits() -> tuple[torch.Tensor, torch.Tensor]:
    train = data.load("mnist", split="train", source="offline")
    return train.images[:2000], train.labels[:2000]


def unrelated(labels: torch.Tensor, seed: int = 0) -> torch.Tensor:
    """The same labels in another order: what a generator that ignores its label delivers."""
    return labels[torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))]


def test_digits_drawn_as_requested_score_high(digits):
    images, labels = digits
    accuracy = metrics.requested_class_accuracy(images, labels, "mnist")
    assert 0.9 <= accuracy <= 1.0
    as_float = metrics.requested_class_accuracy(images.float() / 127.5 - 1, labels.tolist())
    assert as_float == pytest.approx(accuracy)


def test_a_generator_that_ignores_the_label_scores_about_chance(digits):
    images, labels = digits
    accuracy = metrics.requested_class_accuracy(images, unrelated(labels))
    assert 0.05 <= accuracy <= 0.16, accuracy  # 1 in 10 by chance
    assert not accuracy >= 0.5  # a threshold for "the label controls the class" must fail


def test_class_confusion_counts_requested_rows_and_read_columns(digits):
    images, labels = digits
    confusion = metrics.class_confusion(images, labels)
    assert confusion.shape == (10, 10) and confusion.dtype == torch.long
    assert confusion.sum(dim=1).tolist() == [100] * 10  # one row per requested class
    assert (confusion.diagonal() >= 80).all()
    one_class = metrics.class_confusion(images[labels == 3], torch.full((100,), 7))
    assert one_class[7].sum() == 100 and one_class[7, 3] >= 80  # asked for 7, drew 3s
    assert metrics.requested_class_accuracy(images[labels == 3], torch.full((100,), 7)) < 0.05


def test_conditional_fid_sees_wrong_classes_that_the_plain_fid_misses(digits, train_digits):
    images, labels = digits
    real, real_labels = train_digits
    right = metrics.conditional_fid(real, real_labels, images, labels, "mnist")
    wrong = metrics.conditional_fid(real, real_labels, images, unrelated(labels), "mnist")
    plain = metrics.fid(real, images, "mnist")  # the same images either way
    assert right < 3 * plain + 1  # real digits of the right class: close
    assert wrong > 5 * right, (right, wrong)
    per_class = metrics.class_fids(real, real_labels, images, labels)
    assert sorted(per_class) == list(range(10))
    assert sum(per_class.values()) / 10 == pytest.approx(right)


def test_conditional_fid_warns_about_small_classes(digits, train_digits):
    images, labels = digits
    real, real_labels = train_digits
    few = torch.cat([torch.nonzero(labels == y)[:30, 0] for y in range(10)])
    with pytest.warns(UserWarning, match="as few as 30 images"):
        metrics.conditional_fid(real, real_labels, images[few], labels[few])


@pytest.mark.parametrize(
    ("labels", "error", "match"),
    [
        (torch.zeros(1000), TypeError, "whole class numbers"),
        (
            torch.zeros(999, dtype=torch.long),
            ValueError,
            r"one class number per image, shape \(1000,\)",
        ),
        (torch.zeros(1000, 10, dtype=torch.long), ValueError, "one class number per image"),
        (torch.full((1000,), 10), ValueError, r"must lie in 0\.\.9"),
        (torch.full((1000,), -1), ValueError, r"must lie in 0\.\.9"),
    ],
)
def test_bad_labels_get_clear_errors(digits, labels, error, match):
    images, _ = digits
    with pytest.raises(error, match=match):
        metrics.requested_class_accuracy(images, labels)


def test_conditional_fid_needs_every_real_class_generated(digits, train_digits):
    images, labels = digits
    real, real_labels = train_digits
    no_nines = labels.clone()
    no_nines[no_nines == 9] = 8
    with pytest.raises(ValueError, match=r"class 9 has \d+ real and 0 generated"):
        metrics.conditional_fid(real, real_labels, images, no_nines)
