"""Lesson 01 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch

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
        (bank.DDefaultSlope, "default slope is 0.01"),
        (bank.DNoDropout, "0% of the hidden units dropped"),
        (bank.DTenOutputs, "shape (64, 10)"),
        (bank.DNoFlatten, "RuntimeError"),
        (bank.DFunctionalDropout, "dropout must be a layer of the network"),
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
        (check.fake_loss, bank.fake_loss_bce_on_logits, "the plain binary cross-entropy was given"),
        (check.fake_loss, bank.fake_loss_detached, "gradient reaching the logits"),
        (check.fake_loss, None, "without calling it"),
    ],
)
def test_losses_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


def test_train_step_passes_on_reference_and_variants(capsys):
    check.train_step(bank.train_step)  # D frozen while G learns
    check.train_step(bank.train_step_no_freeze)
    check.train_step(bank.train_step_fresh_z)
    check.train_step(bank.train_step_zero_grads_first)
    check.train_step(bank.train_step_returns_floats)
    check.train_step(bank.train_step_returns_undetached)
    assert capsys.readouterr().out.count("\u2714") == 6


def test_train_step_leaves_the_learners_random_state_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    check.train_step(bank.train_step)
    assert torch.equal(torch.rand(3), expected)


_NOT_DETACHED = "detach the fakes before D scores them"


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        # the most common mistake: its crash in the G step is named by its cause in the D step
        (bank.train_step_not_detached, ("the fakes were not detached", _NOT_DETACHED)),
        (bank.train_step_not_detached_frozen, ("the fakes were not detached", _NOT_DETACHED)),
        (bank.train_step_not_detached_retain_graph, (_NOT_DETACHED,)),
        (bank.train_step_not_detached_zero_grads_first, (_NOT_DETACHED,)),
        (bank.train_step_detached_logits, ("not D's verdict on them",)),
        (bank.train_step_detached_in_g, ("detached from G", "detach the fakes only for D's step")),
        (bank.train_step_detached_in_g_frozen, ("G's loss does not reach G", "torch says")),
        (bank.train_step_no_grad_in_g, ("G's loss does not reach G", "rather than switching")),
        (bank.train_step_frozen_too_early, ("D's loss does not reach D's weights",)),
        (bank.train_step_never_unfrozen, ("D's parameters still frozen", "unfreeze it")),
        (bank.train_step_freezes_g, ("keep G trainable",)),
        (bank.train_step_noise_as_fakes, ("images that G did not generate",)),
        (bank.train_step_one_latent, ("1 different latent(s)", "a different latent")),
        (bank.train_step_one_fake_repeated, ("1 different image(s)", "batch of different")),
        (bank.train_step_uniform_z, ("uniform noise", "standard normal")),
        (bank.train_step_hardcoded_z_dim, ("shape (8, 100)", "z_dim argument")),
        (bank.train_step_hardcoded_batch, ("64 fakes", "not from a constant")),
        (bank.train_step_scores_latents, ("D called on a tensor of shape (8, 3)", "never the")),
        (bank.train_step_labels_not_flipped, ("flip the labels for G",)),
        (bank.train_step_minimax_g, ("minimax loss of lesson 00",)),
        (bank.train_step_smooth_in_g, ("no label smoothing in the G step",)),
        (bank.train_step_no_smoothing, ("smooth the real labels",)),
        (bank.train_step_d_loss_averaged, ("not their average",)),
        (bank.train_step_d_fake_loss_only, ("needs its real half",)),
        (bank.train_step_two_backwards, ("backward ran twice", "backpropagate the sum once")),
        (bank.train_step_no_d_zero_grad, ("clear D's gradients",)),
        (bank.train_step_no_g_zero_grad, ("clear G's gradients",)),
        (bank.train_step_zero_grad_after_backward, ("stepped with no gradients",)),
        (bank.train_step_g_first, ("update D first",)),
        (bank.train_step_stale_d, ("score the fakes again with D after the D step",)),
        (bank.train_step_reuses_d_fake_logits, ("score the fakes again with D after the D step",)),
        (bank.train_step_wrong_optimizer, ("order of steps: d -> d",)),
        (bank.train_step_old_signature, ("real batch first", "multiple values for argument")),
        (bank.train_step_renamed, ("d_optimizer", "keep these names")),
        (bank.train_step_returns_none, ("found:    None",)),
        (bank.train_step_returns_tuple, ("found:    tuple",)),
        (bank.train_step_returns_batch_verdicts, ("shape (8, 1)", "mean over the batch")),
        (bank.train_step_returns_logits, ("a probability",)),
        (bank.train_step_placeholder, ("placeholder",)),
    ],
)
def test_train_step_catches_mistakes(broken, fragments):
    fails(check.train_step, broken, *fragments)


def test_train_step_messages_teach_ideas_not_code():
    """Hints say what is wrong and why, not the line to type (issue 15)."""
    for broken in (bank.train_step_not_detached, bank.train_step_labels_not_flipped):
        text = fails(check.train_step, broken)
        hint = text.split("hint:", 1)[1]
        assert ".detach()" not in hint and "real_loss(" not in hint and "torch.randn" not in hint
