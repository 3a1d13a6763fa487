"""Lesson 04 checkers: pass the reference solutions, catch each typical mistake with its message."""

from __future__ import annotations

import pytest

from ganlib import losses, models
from ganlib.checks import lesson04 as check

try:
    from tests.broken import fails_with as fails
    from tests.broken import lesson04 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails_with as fails
    from broken import lesson04 as bank


@pytest.mark.parametrize(
    "good", [bank.ResidualBlock, bank.ResidualReflectMode, models.ResidualBlock]
)
def test_residual_block_passes(good, capsys):
    check.residual_block(good)
    assert "\u2714 ResidualBlock" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.ResidualNoSkip, ["x + F(x)", "no skip connection"]),
        (bank.ResidualReluAfterSum, ["nothing (no ReLU) after the addition"]),
        (bank.ResidualZeroPadding, ["reflection padding", "zero padding in block.0"]),
        (bank.ResidualBatchNorm, ["instance norm", "batch norm"]),
        (bank.ResidualNoPadding, ["must match the size", "keep the shape"]),
        (bank.ResidualFixedChannels, ["the check built it with channels=8", "never from a fixed"]),
        (None, ["an nn.Module class or instance"]),
    ],
)
def test_residual_block_catches_mistakes(broken, fragments):
    fails(check.residual_block, broken, fragments=fragments)


@pytest.mark.parametrize("good", [bank.ResnetGenerator, models.ResnetGenerator])
def test_resnet_generator_passes(good, capsys):
    check.resnet_generator(good)
    assert "\u2714 ResnetGenerator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.GeneratorBatchNorm, ["instance norm instead of batch norm"]),
        (bank.GeneratorZeroPadding, ["zero padding in encoder.1"]),
        (bank.GeneratorNoTanh, ["pixels in [-1, 1]", "found:    range [", "nn.Tanh()"]),
        (bank.GeneratorSigmoid, ["no negative values", "nn.Tanh()"]),
        (bank.GeneratorHardtanh, ["cut off at -1 and 1", "nn.Hardtanh or clamp"]),
        (bank.GeneratorNoTanhSmall, ["when the last layer is scaled up", "nn.Tanh()"]),
        (bank.GeneratorNoDownsampling, ["downsamples twice", "smallest feature map 32x32"]),
        (bank.GeneratorNoBlocksArg, ["TypeError", "n_blocks"]),
        (bank.GeneratorIgnoresWidth, ["the check asked for width=8", "found:    16 channels"]),
        (bank.GeneratorIgnoresBlocks, ["n_blocks=3", "the same layers ran"]),
    ],
)
def test_resnet_generator_catches_mistakes(broken, fragments):
    fails(check.resnet_generator, broken, fragments=fragments)


@pytest.mark.parametrize("good", [bank.PatchDiscriminator, models.PatchDiscriminator])
def test_patch_discriminator_passes(good, capsys):
    check.patch_discriminator(good)
    assert "\u2714 PatchDiscriminator" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.PatchBatchNorm, ["instance norm", "batch norm"]),
        (bank.PatchNormFirst, ["no normalisation on the first layer"]),
        (bank.PatchReLU, ["LeakyReLU(0.2)", "slope 0"]),
        (bank.PatchSigmoid, ["a sigmoid"]),
        (bank.PatchGlobal, ["a map of logits", "shape (2, 1)"]),
        (bank.PatchIgnoresWidth, ["the check asked for width=8", "found:    64 channels"]),
        (bank.PatchIgnoresLayers, ["n_layers=2", "the same map"]),
    ],
)
def test_patch_discriminator_catches_mistakes(broken, fragments):
    fails(check.patch_discriminator, broken, fragments=fragments)


def test_losses_pass_on_reference_and_library(capsys):
    check.lsgan_losses(bank.d_loss_lsgan, bank.g_loss_lsgan)
    check.lsgan_losses(losses.d_loss_lsgan, losses.g_loss_lsgan)
    check.lsgan_losses(bank.d_loss_mse, bank.g_loss_lsgan)
    check.cycle_loss(bank.cycle_loss_l1_library)
    check.cycle_loss(bank.cycle_loss)
    check.cycle_loss(losses.cycle_loss)
    check.identity_loss(bank.identity_loss)
    check.identity_loss(losses.identity_loss)
    assert capsys.readouterr().out.count("\u2714") == 8


@pytest.mark.parametrize(
    ("d_loss", "g_loss", "fragments"),
    [
        (bank.d_loss_not_halved, bank.g_loss_lsgan, ["halve it"]),
        (bank.d_loss_swapped, bank.g_loss_lsgan, ["not the other way round"]),
        (bank.d_loss_bce, bank.g_loss_lsgan, ["no sigmoid, no log"]),
        (bank.d_loss_sum, bank.g_loss_lsgan, ["a mean, not a sum"]),
        (bank.d_loss_lsgan, bank.g_loss_halved, ["only the discriminator's loss is halved"]),
        (bank.d_loss_item, bank.g_loss_lsgan, ["no .item()"]),
        (bank.d_loss_lsgan, bank.g_loss_towards_zero, ["LSGAN generator loss", "not 0"]),
        (bank.d_loss_lsgan, None, ["LSGAN generator loss", "without calling it"]),
    ],
)
def test_lsgan_losses_catch_mistakes(d_loss, g_loss, fragments):
    fails(check.lsgan_losses, d_loss, g_loss, fragments=fragments)


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.cycle_loss_l2, ["squared (L2) error"]),
        (bank.cycle_loss_no_weight, ["no weight", "default is 10"]),
        (bank.cycle_loss_weight_one, ["no weight"]),
        (bank.cycle_loss_ignores_weight, ["with weight 3", "instead of a fixed 10"]),
        (bank.cycle_loss_sum, ["10 * L1", "a mean, not a sum"]),
    ],
)
def test_cycle_loss_catches_mistakes(broken, fragments):
    fails(check.cycle_loss, broken, fragments=fragments)


def test_identity_loss_wants_weight_five():
    fails(check.identity_loss, bank.cycle_loss, fragments=["5 * L1", "found 10 * L1"])


@pytest.mark.parametrize("good", [bank.ImagePool, bank.PoolTorchRandom, models.ImagePool])
def test_image_pool_passes(good, capsys):
    check.image_pool(good)
    assert "\u2714 ImagePool" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.PoolOnlyNew, ["only the newest images"]),
        (bank.PoolAlwaysOld, ["old images", "probability 0.5"]),
        (bank.PoolNeverRefreshed, ["one of the first 20", "put the new one in its place"]),
        (bank.PoolNoneWhenEmpty, ["ImagePool(0).query output", "None"]),
        (bank.PoolFixedSize, ["kept filling past its size", "the size the check chose"]),
        (bank.PoolFixedIndex, ["an index outside the history", "size 20"]),
        (bank.PoolNoSizeZero, ["ImagePool(0).query failed", "size 0 means no pool"]),
        (bank.PoolStoresGraph, ["still require gradients", "store detached copies"]),
        (bank.PoolReturnsList, ["torch.Tensor", "list"]),
        (bank.PoolNeedsTwoArgs, ["TypeError", "only argument"]),
        (None, ["the ImagePool class"]),
    ],
)
def test_image_pool_catches_mistakes(broken, fragments):
    fails(check.image_pool, broken, fragments=fragments)


@pytest.mark.parametrize("good", [bank.train_step, bank.step_keyword_only, bank.step_freezes_d])
def test_train_step_passes_on_reference(good, capsys):
    check.train_step(good)
    assert "\u2714 CycleGAN training step" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.step_not_detached, ["detach the fakes"]),
        (bank.step_not_detached_g_first, ["detach the fakes"]),
        (
            bank.step_not_detached_retained,
            ["attached to the generator's graph", "detach the fakes"],
        ),
        (bank.step_judges_attached_fakes, ["the generator's graph again", "detach the fakes"]),
        (bank.step_d_first, ["the discriminators stepped first"]),
        (bank.step_one_direction, ["generator loss", "both directions", "only A -> B"]),
        (bank.step_ignores_weights, ["not the defaults", "lambda_cycle=7, lambda_identity=4"]),
        (bank.step_ignores_identity_weight, ["the identity terms use the lambda_identity"]),
        (bank.step_identity_as_share, ["not a share of lambda_cycle"]),
        (bank.step_no_identity, ["add the identity terms"]),
        (bank.step_no_cycle, ["add the cycle terms"]),
        (bank.step_identity_wrong_generator, ["its own output domain"]),
        (bank.step_swapped_discriminators, ["translations into its own domain"]),
        (bank.step_cycle_one_way, ["round trip", "not with the one-way translation"]),
        (bank.step_g_on_detached, ["opt_g stepped", "as the generators made them, not detached"]),
        (bank.step_no_g_backward, ["the generators got no gradient", "backpropagate"]),
        (bank.step_no_d_backward, ["the discriminators got no gradient"]),
        (bank.step_no_g_zero_grad, ["opt_g stepped", "clear the generators' gradients"]),
        (bank.step_no_d_zero_grad, ["opt_d stepped", "neither the last step's"]),
        (bank.step_zero_grads_first, ["after the generators' backward"]),
        (bank.step_no_d_update, ["opt_d.step() called once", "0 calls"]),
        (bank.step_returns_nothing, ["a dict of losses", "None"]),
        (bank.step_one_d_loss, ["no 'd_a_loss' among the returned names (g_loss, d_loss)"]),
        (bank.step_ignores_pool_result, ["D_a judged this step's new fakes", "its answer ignored"]),
        (bank.step_bypasses_pools, ["pool_a.query was never called", "bypassed the pool"]),
        (bank.step_swaps_pools, ["pool_a got the B-domain fakes", "the pools are swapped"]),
        (bank.step_pools_twice, ["pool_a.query(...) called once", "called 2 times"]),
        (bank.step_pools_undetached, ["queried with detached fakes", "generator's graph"]),
        (bank.step_old_signature, ["as train.fit calls it", "lambda_cycle"]),
        (bank.step_other_names, ["as train.fit calls it", "keep the parameter names"]),
        (bank.step_wrong_signature, ["as train.fit calls it"]),
    ],
)
def test_train_step_catches_mistakes(broken, fragments):
    fails(check.train_step, broken, fragments=fragments)
