"""Each loss against its formula, written out with sigmoid and log."""

import numpy as np
import pytest
import torch

from ganlib import losses

LOGITS = torch.tensor([[-2.0], [-0.5], [0.0], [1.5]])
OTHER = torch.tensor([[0.3], [-1.0], [2.0], [-0.2]])


def log_d(logits):
    return torch.log(torch.sigmoid(logits))


def log_1_minus_d(logits):
    return torch.log(1 - torch.sigmoid(logits))


def test_real_and_fake_loss():
    assert torch.allclose(losses.real_loss(LOGITS), -log_d(LOGITS).mean())
    assert torch.allclose(losses.fake_loss(LOGITS), -log_1_minus_d(LOGITS).mean())
    smoothed = -(0.9 * log_d(LOGITS) + 0.1 * log_1_minus_d(LOGITS)).mean()
    assert torch.allclose(losses.real_loss(LOGITS, smooth=0.9), smoothed)


def test_bce_discriminator_and_generator_losses():
    expected = -log_d(LOGITS).mean() - log_1_minus_d(OTHER).mean()
    assert torch.allclose(losses.d_loss_bce(LOGITS, OTHER), expected)
    with_smoothing = losses.d_loss_bce(LOGITS, OTHER, smooth=0.9)
    assert torch.allclose(with_smoothing, losses.real_loss(LOGITS, 0.9) + losses.fake_loss(OTHER))
    assert torch.allclose(losses.g_loss_nonsaturating(OTHER), -log_d(OTHER).mean())
    assert torch.allclose(losses.g_loss_minimax(OTHER), log_1_minus_d(OTHER).mean())


@pytest.mark.parametrize("smooth", [True, False, np.True_, torch.tensor(True)])
def test_smooth_refuses_a_bool(smooth):
    # Lesson 01's own real_loss takes smooth=True; here True would silently mean target 1.0.
    for loss in (
        lambda: losses.real_loss(LOGITS, smooth=smooth),
        lambda: losses.d_loss_bce(LOGITS, OTHER, smooth=smooth),
    ):
        with pytest.raises(ValueError, match=r"smooth=0\.9"):
            loss()


@pytest.mark.parametrize("smooth", [0.0, -0.1, 1.1, float("nan"), "0.9x", "0.9", torch.ones(2)])
def test_smooth_must_be_a_target_in_0_1(smooth):
    with pytest.raises(ValueError, match=r"smooth.*0\.9"):
        losses.real_loss(LOGITS, smooth=smooth)
    with pytest.raises(ValueError, match=r"smooth.*0\.9"):
        losses.d_loss_bce(LOGITS, OTHER, smooth=smooth)


def test_smooth_accepts_plain_numbers():
    assert torch.allclose(losses.real_loss(LOGITS, smooth=1), losses.real_loss(LOGITS))
    assert torch.allclose(
        losses.real_loss(LOGITS, smooth=np.float64(0.9)), losses.real_loss(LOGITS, smooth=0.9)
    )
    assert torch.allclose(
        losses.real_loss(LOGITS, smooth=torch.tensor(0.9)), losses.real_loss(LOGITS, smooth=0.9)
    )


def test_bce_is_stable_for_confident_discriminators():
    extreme = torch.tensor([[-200.0], [200.0]])
    for value in (
        losses.d_loss_bce(extreme, extreme),
        losses.g_loss_nonsaturating(extreme),
        losses.g_loss_minimax(extreme),
    ):
        assert torch.isfinite(value)
    assert torch.isclose(losses.g_loss_nonsaturating(torch.tensor([[-200.0]])), torch.tensor(200.0))


def test_nonsaturating_gradient_survives_where_minimax_vanishes():
    # D confidently rejects the fakes: D(G(z)) = sigmoid(-8), about 0.0003.
    logits = torch.full((4, 1), -8.0, requires_grad=True)
    (grad_ns,) = torch.autograd.grad(losses.g_loss_nonsaturating(logits), logits)
    (grad_mm,) = torch.autograd.grad(losses.g_loss_minimax(logits), logits)
    assert grad_ns.abs().mean() > 100 * grad_mm.abs().mean()


def test_lsgan_losses():
    expected_d = 0.5 * ((LOGITS - 1) ** 2).mean() + 0.5 * (OTHER**2).mean()
    assert torch.allclose(losses.d_loss_lsgan(LOGITS, OTHER), expected_d)
    assert torch.allclose(losses.g_loss_lsgan(OTHER), ((OTHER - 1) ** 2).mean())
    assert losses.d_loss_lsgan(torch.ones(3, 1), torch.zeros(3, 1)) == 0


def test_hinge_losses():
    expected = torch.clamp(1 - LOGITS, min=0).mean() + torch.clamp(1 + OTHER, min=0).mean()
    assert torch.allclose(losses.d_loss_hinge(LOGITS, OTHER), expected)
    assert losses.d_loss_hinge(torch.full((2, 1), 3.0), torch.full((2, 1), -3.0)) == 0
    assert torch.allclose(losses.g_loss_hinge(OTHER), -OTHER.mean())


def test_cycle_and_identity_losses():
    real = torch.zeros(2, 3, 4, 4)
    other = torch.full((2, 3, 4, 4), 0.5)
    assert torch.isclose(losses.cycle_loss(real, other), torch.tensor(5.0))  # 10 * 0.5
    assert torch.isclose(losses.cycle_loss(real, other, weight=1.0), torch.tensor(0.5))
    assert torch.isclose(losses.identity_loss(real, other), torch.tensor(2.5))  # 5 * 0.5
    with pytest.raises(ValueError, match=r"same shape, got \(2, 3, 4, 4\) and \(1, 3, 4, 4\)"):
        losses.cycle_loss(real, other[:1])
    with pytest.raises(ValueError, match="identity_loss"):
        losses.identity_loss(real, other[:, :1])
