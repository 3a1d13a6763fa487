"""Lesson 06 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch

from ganlib import losses
from ganlib.checks import CheckFailed
from ganlib.checks import lesson06 as check
from tools.solutions import definitions

try:
    from tests.broken import fails
    from tests.broken import lesson06 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails
    from broken import lesson06 as bank


# --------------------------------------------------------------------------- the notebook
def test_the_solution_notebook_passes_every_check(capsys):
    """What solutions/06_stable_training.ipynb defines passes the checks it calls."""
    ns = definitions("06_stable_training")
    check.critic_loss(ns["critic_loss"])
    check.generator_loss(ns["generator_loss"])
    check.clip_weights(ns["clip_weights"])
    check.gradient_penalty(ns["gradient_penalty"])
    check.power_iteration(ns["power_iteration"])
    check.hinge_critic_loss(ns["hinge_critic_loss"])
    check.hinge_generator_loss(ns["hinge_generator_loss"])
    check.train_step(ns["train_step"])
    assert capsys.readouterr().out.count("\u2714") == 8


def test_wasserstein_losses_pass_on_reference_and_library(capsys):
    check.critic_loss(bank.critic_loss)
    check.critic_loss(losses.d_loss_wasserstein)
    check.generator_loss(bank.generator_loss)
    check.generator_loss(losses.g_loss_wasserstein)
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize(
    ("checker", "broken", "fragment"),
    [
        (check.critic_loss, bank.critic_loss_sign_swapped, "the sign is flipped"),
        (check.critic_loss, bank.critic_loss_sigmoid, "used as they are"),
        (check.critic_loss, bank.critic_loss_bce, "BCE of the original GAN"),
        (check.critic_loss, bank.critic_loss_plain_bce, "a cross-entropy was given raw scores"),
        (check.critic_loss, bank.critic_loss_paired, "average each batch on its own"),
        (check.critic_loss, bank.critic_loss_summed, "average over the batch"),
        (check.critic_loss, bank.critic_loss_item, "a Python number has no gradient"),
        (check.critic_loss, bank.critic_loss_hinge, "has no margin"),
        (check.critic_loss, bank.critic_loss_fake_only, "the real scores' term is missing"),
        (check.critic_loss, bank.critic_loss_detached, "cut off from its inputs"),
        (check.critic_loss, "critic_loss", "without calling it"),
        (check.generator_loss, bank.generator_loss_sign, "the sign is flipped"),
        (check.generator_loss, bank.generator_loss_bce, "non-saturating BCE"),
        (check.generator_loss, bank.generator_loss_hinge, "the hinge belongs to the critic"),
        (check.generator_loss, bank.generator_loss_sigmoid, "used as they are"),
    ],
)
def test_wasserstein_losses_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


@pytest.mark.parametrize("good", [bank.clip_weights, bank.clip_weights_data])
def test_clip_weights_passes(good, capsys):
    check.clip_weights(good)
    assert "\u2714 clip_weights" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.clip_gradient_values, "the gradients were clipped, not the weights"),
        (bank.clip_gradient_norm, "the gradients were clipped, not the weights"),
        (bank.clip_while_recording, "gradient recording switched off"),
        (bank.clip_rebinds, "a clipped tensor given a new name changes nothing"),
        (bank.clip_weights_only, "the biases too"),
        (bank.clip_lower_only, "values above c come down"),
        (bank.clip_hard_coded, "use the c you are given"),
        (bank.clip_copy, "a clipped copy was returned"),
        (bank.clip_rescales, "must stay as they are"),
        (bank.clip_freezes, "the critic still trainable"),
        (bank.clip_replaces, "new parameter tensors"),
    ],
)
def test_clip_weights_catches_mistakes(broken, fragment):
    fails(check.clip_weights, broken, fragment)


@pytest.mark.parametrize(
    "good", [bank.gradient_penalty, bank.gp_ones_outputs, losses.gradient_penalty]
)
def test_gradient_penalty_passes(good, capsys):
    check.gradient_penalty(good)
    assert "\u2714 gradient_penalty" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.gp_no_create_graph, ["cut off from the critic", "recorded by autograd"]),
        (bank.gp_real_points, ["at the real samples themselves", "not at the ends"]),
        (bank.gp_fake_points, ["at the fake samples themselves"]),
        (bank.gp_one_eps, ["the same weight", "one weight per sample"]),
        (bank.gp_eps_per_number, ["points off those lines", "a weight per number"]),
        (bank.gp_eps_normal, ["uniformly between 0 and 1"]),
        (bank.gp_eps_flat, ["images", "of size 1 along every other dimension"]),
        (bank.gp_norm_dim1, ["on images", "channels, height and width together"]),
        (bank.gp_norm_of_batch, ["not one for the whole batch"]),
        (bank.gp_squared_norm, ["not (norm^2 - 1)^2"]),
        (bank.gp_towards_zero, ["not towards 0"]),
        (bank.gp_absolute, ["square the distance to 1"]),
        (bank.gp_one_sided, ["two-sided"]),
        (bank.gp_mean_of_scores, ["MEAN of the scores", "differentiate their sum"]),
        (bank.gp_many_outputs, ["many scores at once", "take the sum of the scores"]),
        (bank.gp_untracked, ["did not track", "tracked by autograd"]),
        (bank.gp_by_backward, ["gradients left in the critic's weights"]),
        (bank.gp_weighted, ["return the penalty alone"]),
        (bank.gp_summed, ["average over the batch"]),
        (bank.gp_mean_norm, ["penalise each sample's norm, then average"]),
        (bank.gp_in_place, ["changed them in place"]),
    ],
)
def test_gradient_penalty_catches_mistakes(broken, fragments):
    fails(check.gradient_penalty, broken, *fragments)


@pytest.mark.parametrize("good", [bank.power_iteration, bank.power_iteration_norm])
def test_power_iteration_passes(good, capsys):
    check.power_iteration(good)
    assert "\u2714 power_iteration" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragment"),
    [
        (bank.power_no_normalised_v, "normalise v before using it"),
        (bank.power_no_normalised_u, "normalise the new u"),
        (bank.power_no_normalisation, "normalise u and v at every step"),
        (bank.power_swapped, "u and v were swapped"),
        (bank.power_old_u, "uses the old u"),
        (bank.power_exact, "the exact largest singular value"),
        (bank.power_frobenius, "Frobenius norm"),
        (bank.power_returns_old_u, "not the one you were given"),
        (bank.power_swapped_returns, "the estimate first"),
        (bank.power_normalise_dim1, "normalise each one as a whole"),
        (bank.power_sigma_vector, "sigma as one number"),
    ],
)
def test_power_iteration_catches_mistakes(broken, fragment):
    fails(check.power_iteration, broken, fragment)


def test_hinge_losses_pass_on_reference_and_library(capsys):
    check.hinge_critic_loss(bank.hinge_critic_loss)
    check.hinge_critic_loss(losses.d_loss_hinge)
    check.hinge_generator_loss(bank.hinge_generator_loss)
    check.hinge_generator_loss(losses.g_loss_hinge)
    assert capsys.readouterr().out.count("\u2714") == 4


@pytest.mark.parametrize(
    ("checker", "broken", "fragment"),
    [
        (check.hinge_critic_loss, bank.hinge_swapped, "the margins are the wrong way round"),
        (check.hinge_critic_loss, bank.hinge_no_relu, "the Wasserstein loss plus 2"),
        (check.hinge_critic_loss, bank.hinge_margin_zero, "not just past 0"),
        (check.hinge_critic_loss, bank.hinge_relu_after_mean, "before the average"),
        (check.hinge_critic_loss, bank.hinge_summed, "average over the batch"),
        (check.hinge_critic_loss, bank.critic_loss, "that is the Wasserstein loss"),
        (check.hinge_critic_loss, bank.hinge_min_instead_of_max, "how far it falls short"),
        (check.hinge_generator_loss, bank.hinge_generator_margin, "has no margin"),
        (check.hinge_generator_loss, bank.hinge_generator_sign, "the sign is flipped"),
        (check.hinge_generator_loss, bank.hinge_generator_critic_side, "belongs to the critic"),
    ],
)
def test_hinge_losses_catch_mistakes(checker, broken, fragment):
    fails(checker, broken, fragment)


# --------------------------------------------------------------------------- the training step
@pytest.mark.parametrize("good", [bank.train_step, bank.step_library_like])
def test_train_step_passes(good, capsys):
    check.train_step(good)
    assert "\u2714 train_step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.step_not_written, ["NotImplementedError"]),
        (bank.step_old_order, ["the real batch first", "gp_weight"]),
        (bank.step_whole_batch, ["n_critic slices", "not the whole batch every time"]),
        (bank.step_first_slice, ["update 2 of 3", "not the first"]),
        (bank.step_not_detached, ["sent gradients into G", "detached fakes"]),
        (bank.step_fakes_once, ["fakes made for an earlier update", "new fakes"]),
        (bank.step_no_penalty, ["WGAN-GP", "no penalty"]),
        (bank.step_penalty_unweighted, ["multiply the penalty by gp_weight"]),
        (bank.step_penalty_subtracted, ["the penalty is added"]),
        (bank.step_hard_coded_loss, ["hinge loss", "use the loss the step is given"]),
        (bank.step_flipped_critic, ["do not flip its sign"]),
        (bank.step_clip_before, ["WGAN with clipping", "clip the weights after"]),
        (bank.step_clip_gradients, ["the gradients were clipped"]),
        (bank.step_clip_at_end, ["not once at the end"]),
        (bank.step_no_clip, ["weights outside the box", "after every critic update"]),
        (bank.step_g_inside, ["optimizer steps: d -> g", "after the n_critic critic updates"]),
        (bank.step_one_update, ["optimizer steps: d -> g", "n_critic"]),
        (bank.step_g_first, ["optimizer steps: g", "the critic learns first"]),
        (bank.step_reuses_fakes, ["fakes made during the critic's updates"]),
        (bank.step_no_zero_grad, ["clear them before each backward"]),
        (bank.step_global_z_dim, ["a latent of the wrong size", "the toy's is 4"]),
        (bank.step_global_batch, ["match its real slice in number"]),
        (bank.step_flipped_g, ["G wants its fakes scored high"]),
        (bank.step_frozen_d, ["still frozen", "switch it back on"]),
        (bank.step_returns_tuple, ["a dict with d_loss, g_loss, real_score, fake_score"]),
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


@pytest.mark.parametrize("broken", [bank.gp_one_eps, bank.gp_no_create_graph])
def test_gradient_penalty_verdict_does_not_depend_on_the_global_seed(broken):
    messages = set()
    for seed in range(5):
        torch.manual_seed(seed)
        with pytest.raises(CheckFailed) as info:
            check.gradient_penalty(broken)
        messages.add(str(info.value))
    assert len(messages) == 1, messages
