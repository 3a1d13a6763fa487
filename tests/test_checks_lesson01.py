"""Lesson 01 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest

from ganlib import losses, models
from ganlib.checks import lesson01 as check

try:
    from tests.broken import fails
    from tests.broken import lesson01 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails
    from broken import lesson01 as bank


def test_networks_pass_on_reference_and_library(capsys):
    check.discriminator(bank.Discriminator)
    check.discriminator(bank.Discriminator())  # an instance works too
    check.generator(bank.Generator)
    check.discriminator(models.MLPDiscriminator(hidden=(64, 32)))
    check.generator(models.MLPGenerator(hidden=(32, 64)))
    out = capsys.readouterr().out
    assert out.count("\u2714") == 5 and "LeakyReLU(0.2)" in out


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.DSigmoid, "a sigmoid at the end"),
        (bank.DReLU, "ReLU (slope 0)"),
        (bank.DDefaultSlope, "default slope of nn.LeakyReLU is 0.01"),
        (bank.DNoDropout, "0% of the hidden units dropped"),
        (bank.DTenOutputs, "shape (64, 10)"),
        (bank.DNoFlatten, "RuntimeError"),
        (bank.DFunctionalDropout, "use nn.Dropout (a module)"),
        (bank.DUnusedLayer, "no gradient for extra.weight"),
        (bank.DNoSuper, "AttributeError"),
        (bank.NotAModule, "subclass of torch.nn.Module"),
        (42, "an nn.Module class or instance"),
    ],
)
def test_discriminator_catches_mistakes(broken, fragment):
    fails(check.discriminator, broken, fragment)


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.GNoTanh, "end with nn.Tanh()"),
        (bank.GSigmoid, "a sigmoid?"),
        (bank.GFlat, "shape (64, 784)"),
        (bank.GReLU, "ReLU (slope 0)"),
        (bank.GWrongZ, "z of shape (N, 100)"),
        (bank.GDetached, "no gradient for net.0.weight"),
    ],
)
def test_generator_catches_mistakes(broken, fragment):
    fails(check.generator, broken, fragment)


def test_losses_pass_on_reference_and_library(capsys):
    check.real_loss(bank.real_loss)
    check.fake_loss(bank.fake_loss)
    check.fake_loss(losses.fake_loss)
    out = capsys.readouterr().out
    assert out.count("\u2714") == 3 and "0.9 when smoothing" in out


@pytest.mark.parametrize(
    ("checker", "broken", "fragment"),
    [
        (check.real_loss, bank.real_loss_ignores_smooth, "label smoothing"),
        (check.real_loss, bank.real_loss_always_smooth, "smooth only when smooth=True"),
        (check.real_loss, bank.real_loss_zeros, "real images get the label 1"),
        (check.real_loss, bank.real_loss_sigmoid_twice, "do not apply a sigmoid"),
        (check.real_loss, bank.real_loss_summed, "do not sum"),
        (check.real_loss, bank.real_loss_no_smooth_arg, "TypeError"),
        (check.fake_loss, bank.fake_loss_ones, "fake images get the label 0"),
        (check.fake_loss, bank.fake_loss_bce_on_logits, "run without an error"),
        (check.fake_loss, bank.fake_loss_detached, "gradient reaching the logits"),
        (check.fake_loss, None, "without calling it"),
    ],
)
def test_losses_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


def test_train_step_passes_on_reference(capsys):
    check.train_step(bank.train_step)
    check.train_step(bank.train_step_fresh_z)
    check.train_step(bank.train_step_returns_tensors)
    check.train_step(bank.train_step_zero_grads_first)
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.train_step_not_detached, "D(fake_images.detach())"),
        (bank.train_step_not_detached_zero_grads_first, "D(fake_images.detach())"),
        (bank.train_step_noise_as_fakes, "images that G did not generate"),
        (bank.train_step_labels_not_flipped, "flip the labels for G"),
        (bank.train_step_smooth_in_g, "no label smoothing in the G step"),
        (bank.train_step_no_smoothing, "smooth the real labels"),
        (bank.train_step_no_d_zero_grad, "d_optimizer.zero_grad()"),
        (bank.train_step_no_g_zero_grad, "g_optimizer.zero_grad()"),
        (bank.train_step_g_first, "update D first"),
        (bank.train_step_stale_d, "score the fakes with D again after the D step"),
        (bank.train_step_wrong_optimizer, "order of steps: d -> d"),
        (bank.train_step_returns_none, "found:    None"),
        (bank.train_step_placeholder, "placeholder"),
    ],
)
def test_train_step_catches_mistakes(broken, fragment):
    fails(check.train_step, broken, fragment)
