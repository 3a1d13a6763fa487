"""The Wasserstein losses and WGAN-GP's gradient penalty against their formulas."""

import pytest
import torch
from torch import nn

from ganlib import losses

REAL = torch.tensor([[2.0], [-0.5], [1.0], [0.5]])
FAKE = torch.tensor([[0.3], [-1.0], [2.0]])  # another batch size: each batch is averaged alone


def test_wasserstein_losses():
    assert torch.allclose(losses.d_loss_wasserstein(REAL, FAKE), FAKE.mean() - REAL.mean())
    assert torch.allclose(losses.g_loss_wasserstein(FAKE), -FAKE.mean())
    # the generator's hinge loss is the same as the Wasserstein one
    assert torch.allclose(losses.g_loss_wasserstein(FAKE), losses.g_loss_hinge(FAKE))


def test_critic_loss_gradients_are_one_over_the_batch_sizes():
    real, fake = REAL.clone().requires_grad_(True), FAKE.clone().requires_grad_(True)
    losses.d_loss_wasserstein(real, fake).backward()
    assert torch.allclose(real.grad, torch.full_like(real, -1 / len(real)))
    assert torch.allclose(fake.grad, torch.full_like(fake, 1 / len(fake)))


class Linear(nn.Module):
    """f(x) = w . x + b: its gradient is w at every point."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = nn.Parameter(w.clone())
        self.b = nn.Parameter(torch.tensor(0.3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x.flatten(1) * self.w.flatten()).sum(1, keepdim=True) + self.b


class Recording(nn.Module):
    """f(x) = sum(a * x^2): gradient 2 a x, so the penalty depends on where it is measured."""

    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.a = nn.Parameter(torch.linspace(0.2, 1.5, int(torch.tensor(shape).prod())))
        self.seen: list[torch.Tensor] = []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.detach().clone())
        return (self.a * x.flatten(1) ** 2).sum(1, keepdim=True)


@pytest.mark.parametrize("shape", [(2,), (3, 4, 4)])
def test_penalty_of_a_linear_critic_is_its_slope_minus_one_squared(shape):
    w = torch.linspace(-1.0, 2.0, int(torch.tensor(shape).prod())).reshape(shape)
    real, fake = torch.randn(8, *shape), torch.randn(8, *shape)
    expected = (w.norm() - 1) ** 2  # the same at every interpolate, whatever eps is drawn
    assert torch.allclose(losses.gradient_penalty(Linear(w), real, fake), expected)


@pytest.mark.parametrize("shape", [(2,), (3, 4, 4)])
def test_penalty_is_measured_between_the_pairs_with_one_eps_per_sample(shape):
    critic = Recording(shape)
    real, fake = torch.randn(6, *shape), torch.randn(6, *shape)
    penalty = losses.gradient_penalty(critic, real, fake)
    (x_hat,) = critic.seen
    flat_r, flat_f, flat_x = real.flatten(1), fake.flatten(1), x_hat.flatten(1)
    direction = flat_r - flat_f
    t = ((flat_x - flat_f) * direction).sum(1) / (direction**2).sum(1)
    on_line = flat_f + t[:, None] * direction
    assert torch.allclose(flat_x, on_line, atol=1e-5)  # one eps for all of a sample's numbers
    assert ((t >= 0) & (t <= 1)).all() and t.std() > 0  # in [0, 1], one per sample
    grad = 2 * critic.a.detach() * flat_x
    assert torch.allclose(penalty, ((grad.norm(dim=1) - 1) ** 2).mean())


def test_penalty_backpropagates_into_the_critic_only():
    critic = Recording((2,))
    real = torch.randn(5, 2)
    fake = (torch.randn(5, 2) * torch.tensor(2.0, requires_grad=True)).requires_grad_()
    penalty = losses.gradient_penalty(critic, real, fake)
    assert penalty.requires_grad  # create_graph=True: the penalty has a gradient for the critic
    (grad_a,) = torch.autograd.grad(penalty, critic.a)
    assert grad_a.abs().sum() > 0
    assert critic.a.grad is None  # no gradient left behind in the critic's weights
    assert torch.autograd.grad(penalty, fake, allow_unused=True) == (None,)  # G is not reached


def test_penalty_refuses_batches_of_different_shapes():
    with pytest.raises(ValueError, match="same shape"):
        losses.gradient_penalty(Recording((2,)), torch.randn(4, 2), torch.randn(3, 2))
