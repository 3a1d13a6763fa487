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
        (check.discriminator_loss, bank.d_loss_sigmoid_twice, "do not apply it first"),
        (check.discriminator_loss, bank.d_loss_averaged, "rather than averaging"),
        (check.discriminator_loss, bank.d_loss_real_only, "fake logits is missing"),
        (check.discriminator_loss, bank.d_loss_naive_log, "stable"),
        (check.discriminator_loss, bank.d_loss_naive_log_sigmoid, "stable"),
        (check.discriminator_loss, bank.d_loss_per_sample, "one number"),
        (check.discriminator_loss, bank.d_loss_item, "gradients flowing back to the logits"),
        (check.discriminator_loss, bank.d_loss_returns_none, "found:    None"),
        (check.discriminator_loss, "not a function", "without calling it"),
        (check.minimax_generator_loss, bank.non_saturating_loss, "this is the non-saturating loss"),
        (check.minimax_generator_loss, bank.minimax_sign_flipped, "sign is flipped"),
        (check.minimax_generator_loss, bank.minimax_naive, "confident logits"),
        (check.minimax_generator_loss, bank.minimax_naive_sigmoid_neg, "confident logits"),
        (check.non_saturating_generator_loss, bank.minimax_loss, "this is the minimax loss"),
        (
            check.non_saturating_generator_loss,
            bank.non_saturating_sigmoid_twice,
            "apply the sigmoid once",
        ),
        (check.non_saturating_generator_loss, bank.non_saturating_naive, "confident logits"),
        (check.non_saturating_generator_loss, bank.non_saturating_not_implemented, "placeholder"),
        (check.logit_gradient, bank.gradient_wrt_probability, "not the probability"),
        (check.logit_gradient, bank.gradient_negated, "sign is flipped"),
        (check.logit_gradient, bank.gradient_no_return, "found:    None"),
        (check.optimal_discriminator, bank.optimal_d_flipped, "1 - D*"),
        (check.optimal_discriminator, bank.optimal_d_ratio, "density ratio"),
        (check.optimal_discriminator, bank.optimal_d_mean, "one value per point"),
    ],
)
def test_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


def test_messages_have_expected_found_hint():
    text = fails(check.discriminator_loss, bank.d_loss_flipped)
    assert "expected:" in text and "found:" in text and "hint:" in text
