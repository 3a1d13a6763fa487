"""Lesson 07 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch

from ganlib.checks import lesson07 as check
from tools.solutions import definitions

try:
    from tests.broken import fails, fails_with
    from tests.broken import lesson07 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails, fails_with
    from broken import lesson07 as bank


# --------------------------------------------------------------------------- the notebook
def test_the_solution_notebook_passes_every_check(capsys):
    """What solutions/07_conditional_gan.ipynb defines passes the checks it calls."""
    ns = definitions("07_conditional_gan")
    ns["FEATURES"] = 128  # a constant of the notebook's cell, which definitions() leaves out
    check.one_hot(ns["one_hot"])
    check.generator(ns["Generator"])
    check.concat_discriminator(ns["ConcatDiscriminator"])
    check.projection_discriminator(ns["ProjectionDiscriminator"])
    check.train_step(ns["train_step"])
    check.label_control(ns["Generator"], ns["ProjectionDiscriminator"], ns["train_step"])
    assert capsys.readouterr().out.count("\u2714") == 6


# --------------------------------------------------------------------------- one-hot
@pytest.mark.parametrize("good", [bank.one_hot, bank.one_hot_eye, bank.one_hot_scatter])
def test_one_hot_passes(good, capsys):
    check.one_hot(good)
    assert "\u2714 one_hot" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (
            bank.one_hot_no_num_classes,
            ["shape (4, 5)", "found:    shape (4, 3)", "not from the largest label"],
        ),
        (bank.one_hot_ten, ["shape (4, 10)", "the number of classes is an argument"]),
        (bank.one_hot_int, ["float numbers", "dtype torch.int64"]),
        (bank.one_hot_transposed, ["found:    shape (5, 4)", "one row per label"]),
        (bank.one_hot_unsqueezed, ["shape (4, 1, 5)", "shape (N, num_classes)"]),
        (bank.one_hot_off_by_one, ["class 0 is the first column"]),
        (bank.one_hot_inverted, ["the 1 marks the label's column"]),
        (bank.one_hot_on_cpu, ["one_hot on a GPU", "rows made on the CPU", "on the device"]),
        (bank.one_hot_zeros_on_cpu, ["one_hot on a GPU", "on the device of the data"]),
        (bank.one_hot_in_place, ["changed the labels"]),
        ("one_hot", ["without calling it"]),
    ],
)
def test_one_hot_catches_mistakes(broken, fragments):
    fails(check.one_hot, broken, *fragments)


# --------------------------------------------------------------------------- the generator
@pytest.mark.parametrize("good", [bank.Generator, bank.GeneratorOneHot])
def test_generator_passes(good, capsys):
    check.generator(good)
    assert "\u2714 generator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (
            bank.GeneratorIgnoresLabel,
            ["the image to change with the label", "the label is ignored"],
        ),
        (bank.GeneratorIgnoresZ, ["different images for different z", "z is ignored"]),
        (bank.GeneratorNoLabels, ["forward() does not take the labels", "forward(z, labels)"]),
        (
            bank.GeneratorCatBatch,
            ["joined along the batch dimension", "along the feature dimension"],
        ),
        (
            bank.GeneratorCatBatchSameSize,
            ["shape (28, 1, 28, 28)", "stacked along the batch dimension"],
        ),
        (bank.GeneratorUnsqueezedLabels, ["different numbers of dims", "flat batch of N labels"]),
        (bank.GeneratorTenClasses, ["built for 10 classes", "the check uses 7"]),
        (bank.GeneratorSmallTable, ["beyond the end of the embedding table", "num_classes rows"]),
        (
            bank.GeneratorBodyForOneHot,
            [
                "takes 19 numbers per sample but gets 28",
                "a one-hot of num_classes",
                "embed_dim numbers",
            ],
        ),
        (
            bank.GeneratorOneHotNoWidth,
            ["any batch of labels to work", "must not come from the largest label"],
        ),
        (bank.GeneratorFloatLabels, ["not whole numbers", "integer labels"]),
        (bank.GeneratorBatchMean, ["changed other samples", "no mean or sum over the batch"]),
        (bank.GeneratorShiftedLabels, ["its own label only"]),
        (bank.GeneratorOneHotOnCPU, ["generator on a GPU", "made on the CPU"]),
        (bank.GeneratorNoTanh, ["pixels in [-1, 1]", "Tanh"]),
        (bank.GeneratorDetachedEmbedding, ["no gradient for embed.weight"]),
        (bank.ProjectionDiscriminator, ["a network built for any number of classes"]),
    ],
)
def test_generator_catches_mistakes(broken, fragments):
    fails(check.generator, broken, *fragments)


# --------------------------------------------------------------------------- the discriminators
@pytest.mark.parametrize("good", [bank.ConcatDiscriminator, bank.ConcatDiscriminatorOneHotPlanes])
def test_concat_discriminator_passes(good, capsys):
    check.concat_discriminator(good)
    assert "\u2714 concat discriminator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (
            bank.ConcatDiscriminatorBatchDim,
            ["takes 2 channels but gets 1", "along the channel dimension"],
        ),
        (
            bank.ConcatDiscriminatorHeightDim,
            ["takes 2 channels but gets 1", "not the batch, height or width"],
        ),
        (bank.ConcatDiscriminatorIgnoresLabel, ["the verdict to change with the label", "ignored"]),
        (
            bank.ConcatDiscriminatorNoLabels,
            ["forward() does not take the labels", "forward(image, labels)"],
        ),
        (bank.ConcatDiscriminatorSigmoid, ["a sigmoid at the end"]),
        (bank.ConcatDiscriminatorOneBodyChannel, ["takes 1 channels but gets 2", "channels + 1"]),
        (bank.ConcatDiscriminatorPlaneOnCPU, ["concat discriminator on a GPU"]),
    ],
)
def test_concat_discriminator_catches_mistakes(broken, fragments):
    fails(check.concat_discriminator, broken, *fragments)


def test_projection_discriminator_passes(capsys):
    check.projection_discriminator(bank.ProjectionDiscriminator)
    assert "\u2714 projection discriminator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (
            bank.ProjectionNoInnerProduct,
            ["shape (14, 1)", "found:    shape (14, 128)", "summed over the features"],
        ),
        (bank.ProjectionSumsEverything, ["changed other samples"]),
        (bank.ProjectionMean, ["a mean divides it"]),
        (bank.ProjectionEmbeddingOnly, ["a bias per class, blind to the image"]),
        (bank.ProjectionOnPixels, ["an embedding of shape (14, 784)", "not with the pixels"]),
        (bank.ProjectionWrongSize, ["different sizes (16 and 128)", "as many numbers as phi(x)"]),
        (bank.ProjectionMissing, ["the verdict to change with the label"]),
        (bank.ProjectionTwoEmbeddings, ["one nn.Embedding", "2 nn.Embedding layers ran"]),
        (bank.ProjectionIntoHead, ["not that sum", "after the head", "no inner product"]),
        (
            bank.ConcatDiscriminator,
            ["an embedding of shape (14, 784)", "as many numbers as phi(x)"],
        ),
    ],
)
def test_projection_discriminator_catches_mistakes(broken, fragments):
    fails(check.projection_discriminator, broken, *fragments)


# --------------------------------------------------------------------------- the training step
@pytest.mark.parametrize(
    "good", [bank.train_step, bank.step_real_labels_for_fakes, bank.step_new_fakes_for_g]
)
def test_train_step_passes(good, capsys):
    check.train_step(good)
    assert "\u2714 train_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (
            bank.step_fakes_scored_with_real_labels,
            ["D update", "fakes scored with the real batch's labels", "the fakes' own labels"],
        ),
        (
            bank.step_g_scored_with_real_labels,
            ["G update", "fakes scored with the real batch's labels"],
        ),
        (
            bank.step_real_scored_with_fake_labels,
            ["each real image scored with its own label", "those drawn for the fakes"],
        ),
        (bank.step_labels_on_cpu, ["train_step on a GPU", "the fakes' labels made on the CPU"]),
        (bank.step_z_on_cpu, ["train_step on a GPU", "the fakes' z made on the CPU"]),
        (
            bank.step_global_batch_labels,
            ["latents and labels for different numbers of images", "not from BATCH_SIZE"],
        ),
        (bank.step_ten_classes, ["a label beyond the toy's 5 classes", "not a fixed 10"]),
        (bank.step_one_class, ["fakes of every class", "every fake drawn for the class 0"]),
        (bank.step_float_labels, ["labels that are not whole class numbers"]),
        (bank.step_g_without_labels, ["a network called without the labels"]),
        (bank.step_not_detached, ["D's loss sent gradients into G", "detached fakes"]),
        (bank.step_swapped, ["swapped"]),
        (bank.step_smoothed, ["label smoothing is not part of this step"]),
        (bank.step_minimax, ["non-saturating"]),
        (bank.step_old_signature, ["the real batch first", "real_images, labels, D, G"]),
        (bank.step_frozen_d, ["still frozen", "switch it back on"]),
        (bank.step_returns_logits, ["result['d_real']", "sigmoid of the logits"]),
        (bank.step_no_zero_grad_d, ["clear them before each backward"]),
        ("train_step", ["without calling it"]),
    ],
)
def test_train_step_catches_mistakes(broken, fragments):
    fails(check.train_step, broken, *fragments)


def test_train_step_leaves_the_global_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.train_step(bank.train_step)
    assert torch.equal(torch.rand(3), expected)


# --------------------------------------------------------------------------- label control
def test_label_control_passes_on_the_reference(capsys):
    check.label_control(bank.Generator, bank.ProjectionDiscriminator, bank.train_step)
    out = capsys.readouterr().out
    assert "\u2714 label control" in out and "untrained: " in out


# Not here: step_fakes_scored_with_real_labels. D then learns that a fake comes with a label it
# does not show, which still teaches G to draw its own label (the matching-aware discriminator of
# text-to-image GANs): the label does steer, and label_control rightly passes (50% after 250
# toy steps). That step is wrong for this lesson's loss all the same; test_train_step_catches_
# mistakes names it ("fakes scored with the real batch's labels").
@pytest.mark.parametrize(
    ("generator", "discriminator", "step"),
    [
        (bank.Generator, bank.ProjectionMissing, bank.train_step),  # D ignores the label
        (bank.GeneratorIgnoresLabel, bank.ProjectionDiscriminator, bank.train_step),
    ],
)
def test_label_control_fails_when_the_label_does_not_steer(generator, discriminator, step):
    fails_with(
        check.label_control,
        generator,
        discriminator,
        step,
        fragments=["after at most 400 steps", "(chance: 10%)", "the label must control the class"],
    )
