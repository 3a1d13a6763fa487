"""Lesson 03 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib import models
from ganlib.checks import CheckFailed
from ganlib.checks import lesson03 as check

try:
    from tests.broken import fails
    from tests.broken import lesson03 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails
    from broken import lesson03 as bank


def test_output_sizes_pass_on_reference(capsys):
    check.conv_output_size(bank.conv_output_size)
    check.deconv_output_size(bank.deconv_output_size)
    out = capsys.readouterr().out
    assert out.count("\u2714") == 2 and "conv_output_size" in out


@pytest.mark.parametrize(
    ("checker", "broken", "fragment"),
    [
        (check.conv_output_size, bank.conv_size_true_division, "floor division"),
        (check.conv_output_size, bank.conv_size_no_padding, "2 * padding in all"),
        (check.conv_output_size, bank.conv_size_padding_once, "count it twice"),
        (check.conv_output_size, bank.conv_size_no_plus_one, "first position counts too"),
        (check.conv_output_size, bank.conv_size_no_stride, "divide by the stride"),
        (check.conv_output_size, bank.conv_size_returns_nothing, "found:    None"),
        (check.conv_output_size, None, "without calling it"),
        (check.deconv_output_size, bank.deconv_size_no_padding, "taken away from the output"),
        (check.deconv_output_size, bank.deconv_size_adds_padding, "do not add it"),
        (check.deconv_output_size, bank.deconv_size_ignores_output_padding, "add it at the end"),
        (check.deconv_output_size, bank.deconv_size_n_strides, "span n - 1 strides"),
        (check.deconv_output_size, bank.deconv_size_no_output_padding_arg, "fifth argument"),
    ],
)
def test_output_sizes_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


def test_blocks_pass_on_reference_and_library(capsys):
    check.conv_block(bank.conv)
    check.deconv_block(bank.deconv)
    check.conv_block(models.conv)
    check.deconv_block(models.deconv)
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize(
    ("checker", "broken", "fragment"),
    [
        (check.conv_block, bank.conv_always_bn, "no batch norm when batch_norm=False"),
        (check.conv_block, bank.conv_never_bn, "batch norm after the convolution"),
        (check.conv_block, bank.conv_with_activation, "leave the activation out"),
        (check.conv_block, bank.conv_fixed_stride, "shape (4, 6, 8, 8)"),
        (check.conv_block, bank.conv_returns_list, "found:    list"),
        (check.conv_block, bank.conv_bias_and_bn, "cancels any bias"),
        (check.conv_block, bank.conv_bn_in_channels, "built for another number of channels"),
        (check.conv_block, bank.conv_bn_1d, "nn.BatchNorm2d"),
        (check.conv_block, bank.conv_fixed_channels, "does not use the sizes it was given"),
        (check.conv_block, bank.conv_bn_first, "the batch norm runs first"),
        (check.deconv_block, bank.deconv_uses_conv, "exactly one nn.ConvTranspose2d"),
        (check.deconv_block, bank.deconv_ignores_padding, "pass every size argument on"),
    ],
)
def test_blocks_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


@pytest.mark.parametrize(
    "good",
    [
        bank.Discriminator,
        bank.DiscriminatorInplace,
        bank.Discriminator(8),
        bank.DiscriminatorLinearHead,
        models.DCGANDiscriminator,
    ],
)
def test_discriminator_passes(good, capsys):
    check.discriminator(good)
    assert "\u2714 discriminator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.DiscriminatorBNFirst, ["no normalisation on the first layer", "without batch norm"]),
        (bank.DiscriminatorReLU, ["LeakyReLU activations", "found:    nn.ReLU"]),
        (bank.DiscriminatorSlope, ["negative slope 0.2", "slope 0.01"]),
        (bank.DiscriminatorFunctionalSlope, ["slope 0.1"]),
        (bank.DiscriminatorFunctionalReLU, ["slope 0: a ReLU", "a slope of 0 is a ReLU"]),
        (bank.DiscriminatorELU, ["something else between the first two convolutions"]),
        (bank.DiscriminatorNoActivation, ["no activation", "feeds the next one directly"]),
        (bank.DiscriminatorLaterSlope, ["every LeakyReLU with slope 0.2", "net.3: slope 0.01"]),
        (bank.DiscriminatorSigmoid, ["a sigmoid at the end"]),
        (bank.DiscriminatorNoBN, ["batch norm in the hidden layers"]),
        (bank.DiscriminatorPooling, ["strided convolutions", "MaxPool2d"]),
        (bank.DiscriminatorWrongShape, ["shape (16, 1, 1, 1)", "one number per image"]),
        (bank.DiscriminatorLastConvPadded, ["shape (64, 1)", "cover the whole 4x4 grid"]),
        (bank.DiscriminatorBNOnLogit, ["no batch norm on the logit"]),
        (bank.DiscriminatorChannelsMismatch, ["built for other sizes", "in_channels"]),
        (bank.DiscriminatorUnusedLayer, ["no gradient for extra.weight"]),
        (bank.DiscriminatorNeedsArg, ["TypeError", "width"]),
        (bank.NotAModule, ["subclass of torch.nn.Module"]),
        (None, ["an nn.Module class or instance", "NoneType"]),
    ],
)
def test_discriminator_catches_mistakes(broken, fragments):
    fails(check.discriminator, broken, *fragments)


@pytest.mark.parametrize("good", [bank.Generator, bank.Generator(100, 8), models.DCGANGenerator])
def test_generator_passes(good, capsys):
    check.generator(good)
    assert "\u2714 generator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.GeneratorNoTanh, ["pixels in [-1, 1]", "found:    range [", "nn.Tanh()"]),
        (bank.GeneratorSigmoid, ["no negative values"]),
        (bank.GeneratorHardtanh, ["cut off at -1 and 1", "nn.Hardtanh or clamp"]),
        (bank.GeneratorNoTanhSmallInit, ["when the last layer is scaled up", "nn.Tanh()"]),
        (bank.GeneratorStartsAt8, ["a 4x4 feature map", "spatial sizes [(8, 8), (16, 16)"]),
        (bank.GeneratorBNOutput, ["no batch norm on the output layer"]),
        (bank.GeneratorNoBN, ["batch norm after the hidden layers"]),
        (bank.GeneratorLeaky, ["nn.ReLU activations"]),
        (bank.GeneratorWrongSize, ["shape (16, 3, 32, 32)", "shape (16, 3, 16, 16)"]),
        (bank.GeneratorIgnoresZ, ["the same image for every z"]),
        # its constant image is all positive: the same-image diagnosis must come first
        (bank.GeneratorIgnoresZPositive, ["the same image for every z", "feed z"]),
        (bank.GeneratorFlatZ, ["a convolution got z of shape (16, 100)", "1x1 image"]),
        (nn.Linear(100, 3), ["shape (16, 3, 32, 32)"]),
    ],
)
def test_generator_catches_mistakes(broken, fragments):
    fails(check.generator, broken, *fragments)


@pytest.mark.parametrize("broken", [bank.GeneratorIgnoresZ, bank.GeneratorSigmoid])
def test_generator_verdict_does_not_depend_on_the_global_seed(broken):
    """The checker builds the learner's network inside seeded(...): the same message every run."""
    messages = set()
    for seed in range(20):
        torch.manual_seed(seed)
        with pytest.raises(CheckFailed) as info:
            check.generator(broken)
        messages.add(str(info.value))
    assert len(messages) == 1, messages


def test_weights_init_passes_on_reference_and_library(capsys):
    check.weights_init(bank.weights_init)
    check.weights_init(models.dcgan_init)
    check.weights_init(bank.init_by_class_name)
    assert capsys.readouterr().out.count("\u2714 weights_init") == 3


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.init_only_conv2d, "not a kind of nn.Conv2d"),
        (bank.init_bn_zero_mean, "scale starts near 1"),
        (bank.init_bn_bias_kept, "BatchNorm2d bias = 0"),
        (bank.init_std_too_big, "the spread is too wide"),
        (bank.init_mean_std_swapped, "swapped"),
        (bank.init_bn_constant_one, "a little noise"),
        (bank.init_conv_bias_crash, "its bias is None"),
        (bank.init_crashes_on_relu, "check its type first"),
        ("normal", "without calling it"),
    ],
)
def test_weights_init_catches_mistakes(broken, fragment):
    fails(check.weights_init, broken, fragment)


# --------------------------------------------------------------------------- the training step
@pytest.mark.parametrize(
    "good", [bank.train_step, bank.step_like_the_library, bank.step_one_d_call]
)
def test_train_step_passes(good, capsys):
    check.train_step(good)
    assert "\u2714 train_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.step_not_written, ["NotImplementedError"]),
        (bank.step_old_order, ["the real batch first", "multiple values for argument 'D'"]),
        (bank.step_not_detached, ["D's loss sent gradients into G", "detached fakes"]),
        (bank.step_not_detached_reused, ["D's loss sent gradients into G"]),
        (bank.step_stale_verdict, ["inplace operation", "score the fakes with D again"]),
        (bank.step_ignores_smooth, ["smooth=0.9", "pass smooth on to D's loss"]),
        (bank.step_smooths_both, ["one-sided", "the fakes keep 0"]),
        (bank.step_smooths_g, ["G's target stays 1"]),
        (bank.step_minimax, ["non-saturating"]),
        (bank.step_g_label_zero, ["G wants its fakes called real"]),
        (bank.step_d_swapped, ["swapped"]),
        (bank.step_sigmoid_first, ["squashes twice"]),
        (bank.step_d_real_only, ["the fakes' half is missing"]),
        (bank.step_no_d_zero_grad, ["train_step: D update", "clear them before each backward"]),
        (bank.step_zero_grad_once, ["train_step: G update", "clear them before each backward"]),
        (bank.step_ignores_g_steps, ["2 times (g_steps=2)", "found:    optimizer steps: d -> g\n"]),
        (bank.step_repeats_d, ["d -> g -> d", "D updates once per step"]),
        (bank.step_g_first, ["optimizer steps: g", "D learns first"]),
        (bank.step_no_d_step, ["optimizer steps: g", "D learns first"]),
        (bank.step_reuses_fakes, ["a second time", "draw new z and run G"]),
        (bank.step_reuses_fakes_retained, ["inplace operation", "draw new z and run G"]),
        (bank.step_detached_g, ["G's loss carries no gradient to G"]),
        (bank.step_global_z_dim, ["a latent of the wrong size", "the toy's is 4"]),
        (bank.step_global_batch, ["as many fakes as real images (6)", "found:    128 fakes"]),
        (bank.step_frozen_d, ["still frozen", "switch it back on"]),
        (bank.step_returns_logits, ["result['d_real']", "sigmoid of the logits"]),
        (bank.step_returns_tuple, ["a dict with d_loss, g_loss, d_real, d_fake", "tuple"]),
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
