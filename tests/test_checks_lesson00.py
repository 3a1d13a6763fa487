"""Lesson 00 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest

from ganlib import losses
from ganlib.checks import lesson00 as check

try:
    from tests.broken import fails
    from tests.broken import lesson00 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails
    from broken import lesson00 as bank


def test_pass_on_reference(capsys):
    check.discriminator_loss(bank.discriminator_loss)
    check.minimax_generator_loss(bank.minimax_loss)
    check.non_saturating_generator_loss(bank.non_saturating_loss)
    check.logit_gradient(bank.logit_gradient)
    check.logit_gradient(bank.gradient_tensor)
    check.optimal_discriminator(bank.optimal_discriminator)
    out = capsys.readouterr().out
    assert out.count("\u2714") == 6
    assert "discriminator loss" in out and "optimal discriminator" in out


def test_pass_on_library_losses(capsys):
    check.discriminator_loss(losses.d_loss_bce)
    check.minimax_generator_loss(losses.g_loss_minimax)
    check.non_saturating_generator_loss(losses.g_loss_nonsaturating)
    assert capsys.readouterr().out.count("\u2714") == 3


@pytest.mark.parametrize(
    ("checker", "broken", "fragment"),
    [
        (check.discriminator_loss, bank.d_loss_flipped, "wrong way round"),
        (check.discriminator_loss, bank.d_loss_sigmoid_twice, "a sigmoid before it makes two"),
        (check.discriminator_loss, bank.d_loss_averaged, "the two batch losses are averaged"),
        (check.discriminator_loss, bank.d_loss_real_only, "fake logits is missing"),
        (check.discriminator_loss, bank.d_loss_fake_only, "real logits is missing"),
        (check.discriminator_loss, bank.d_loss_fakes_labelled_real, "fakes are labelled real"),
        (
            check.discriminator_loss,
            bank.d_loss_reals_labelled_fake,
            "real samples are labelled fake",
        ),
        (check.discriminator_loss, bank.d_loss_summed, "summed over the batch"),
        (check.discriminator_loss, bank.d_loss_sign_flipped, "MINIMISES the BCE"),
        (check.discriminator_loss, bank.d_loss_one_batch, "one BCE over both batches"),
        (check.discriminator_loss, bank.d_loss_plain_bce, "plain BCE was given logits"),
        (check.discriminator_loss, bank.d_loss_label_shape, "labels shaped differently"),
        (check.discriminator_loss, bank.d_loss_integer_labels, "integer labels"),
        (check.discriminator_loss, bank.d_loss_number_labels, "plain number as the labels"),
        (check.discriminator_loss, bank.d_loss_module_with_data, "loss module built with"),
        (check.discriminator_loss, bank.d_loss_clamped_log, "from the logits themselves"),
        (check.discriminator_loss, bank.d_loss_naive_log, "from the logits themselves"),
        (check.discriminator_loss, bank.d_loss_naive_log_sigmoid, "from the logits themselves"),
        (check.discriminator_loss, bank.d_loss_per_sample, "one number"),
        (check.discriminator_loss, bank.d_loss_item, "gradients flowing back to the logits"),
        (check.discriminator_loss, bank.d_loss_returns_none, "found:    None"),
        (check.discriminator_loss, "not a function", "without calling it"),
        (check.minimax_generator_loss, bank.non_saturating_loss, "this is the non-saturating loss"),
        (check.minimax_generator_loss, bank.minimax_sign_flipped, "sign is flipped"),
        (check.minimax_generator_loss, bank.minimax_log_d, "mean of log D(G(z))"),
        (check.minimax_generator_loss, bank.minimax_summed, "summed over the batch"),
        (check.minimax_generator_loss, bank.minimax_sigmoid_twice, "a sigmoid before it"),
        (check.minimax_generator_loss, bank.minimax_naive, "confident logits"),
        (check.minimax_generator_loss, bank.minimax_naive_sigmoid_neg, "confident logits"),
        (check.non_saturating_generator_loss, bank.minimax_loss, "this is the minimax loss"),
        (
            check.non_saturating_generator_loss,
            bank.non_saturating_sigmoid_twice,
            "a sigmoid before it makes two",
        ),
        (check.non_saturating_generator_loss, bank.non_saturating_naive, "confident logits"),
        (check.non_saturating_generator_loss, bank.non_saturating_label_zero, "labelled fake (0)"),
        (check.non_saturating_generator_loss, bank.non_saturating_sign_flipped, "sign is flipped"),
        (check.non_saturating_generator_loss, bank.non_saturating_summed, "summed over the batch"),
        (
            check.non_saturating_generator_loss,
            bank.non_saturating_per_sample,
            "one number per batch",
        ),
        (
            check.non_saturating_generator_loss,
            bank.non_saturating_item,
            "a Python number has no gradient",
        ),
        (check.non_saturating_generator_loss, bank.non_saturating_not_implemented, "placeholder"),
        (check.logit_gradient, bank.gradient_wrt_probability, "not the probability"),
        (check.logit_gradient, bank.gradient_negated, "sign is flipped"),
        (check.logit_gradient, bank.gradient_no_return, "found:    None"),
        (check.logit_gradient, bank.gradient_no_requires_grad, "require gradients BEFORE"),
        (check.logit_gradient, bank.gradient_requires_grad_too_late, "require gradients BEFORE"),
        (check.logit_gradient, bank.gradient_on_the_probability_leaf, "leaf tensors"),
        (check.logit_gradient, bank.gradient_returns_loss, "that is the loss, not its gradient"),
        (check.logit_gradient, bank.gradient_probability_as_logit, "turn it into a logit"),
        (check.logit_gradient, bank.gradient_log_d_as_logit, "not log D"),
        (check.optimal_discriminator, bank.optimal_d_flipped, "1 - D*"),
        (check.optimal_discriminator, bank.optimal_d_ratio, "density ratio"),
        (check.optimal_discriminator, bank.optimal_d_mean, "one value per point"),
        (check.optimal_discriminator, bank.optimal_d_precedence, "division comes before addition"),
        (check.optimal_discriminator, bank.optimal_d_half, "1/2 only where"),
    ],
)
@pytest.mark.filterwarnings("ignore:The .grad attribute of a Tensor that is not a leaf")
def test_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


def test_messages_have_expected_found_hint():
    text = fails(check.discriminator_loss, bank.d_loss_flipped)
    assert "expected:" in text and "found:" in text and "hint:" in text
