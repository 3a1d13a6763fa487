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
        (check.conv_output_size, bank.conv_size_true_division, "use // instead of /"),
        (check.conv_output_size, bank.conv_size_no_padding, "2 * padding"),
        (check.conv_output_size, bank.conv_size_returns_nothing, "found:    None"),
        (check.conv_output_size, None, "without calling it"),
        (check.deconv_output_size, bank.deconv_size_no_padding, "removes 2 * padding"),
        (check.deconv_output_size, bank.deconv_size_no_output_padding_arg, "TypeError"),
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
        (check.deconv_block, bank.deconv_uses_conv, "shape (4, 4, 8, 8)"),
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
        models.DCGANDiscriminator,
    ],
)
def test_discriminator_passes(good, capsys):
    check.discriminator(good)
    assert "\u2714 discriminator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.DiscriminatorBNFirst, ["no normalisation on the first layer", "batch_norm=False"]),
        (bank.DiscriminatorReLU, ["LeakyReLU activations", "found:    nn.ReLU"]),
        (bank.DiscriminatorSlope, ["negative slope 0.2", "slope 0.01"]),
        (bank.DiscriminatorFunctionalSlope, ["slope 0.1"]),
        (bank.DiscriminatorFunctionalReLU, ["slope 0: a ReLU", "F.leaky_relu(x, 0.2)"]),
        (bank.DiscriminatorELU, ["something else between the first two convolutions"]),
        (bank.DiscriminatorNoActivation, ["no activation", "feeds the next one directly"]),
        (bank.DiscriminatorLaterSlope, ["every LeakyReLU with slope 0.2", "net.3: slope 0.01"]),
        (bank.DiscriminatorSigmoid, ["a sigmoid at the end"]),
        (bank.DiscriminatorNoBN, ["batch norm in the hidden layers"]),
        (bank.DiscriminatorPooling, ["strided convolutions", "MaxPool2d"]),
        (bank.DiscriminatorWrongShape, ["shape (16, 1, 1, 1)", ".view(-1, 1)"]),
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
        (bank.GeneratorFlatZ, ["found:    RuntimeError"]),
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
    assert capsys.readouterr().out.count("\u2714 weights_init") == 2


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.init_only_conv2d, "ConvTranspose2d weights ~ N(0, 0.02)"),
        (bank.init_bn_zero_mean, "N(1, 0.02)"),
        (bank.init_bn_bias_kept, "BatchNorm2d bias = 0"),
        (bank.init_std_too_big, "Conv2d weights ~ N(0, 0.02)"),
        (bank.init_crashes_on_relu, "isinstance"),
        ("normal", "without calling it"),
    ],
)
def test_weights_init_catches_mistakes(broken, fragment):
    fails(check.weights_init, broken, fragment)
