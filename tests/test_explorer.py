"""ganlib.explorer: the sliders redraw the generator's images; endpoints and modes are exact."""

from __future__ import annotations

import io

import ipywidgets as widgets
import pytest
import torch
from PIL import Image
from torch import nn

from ganlib.explorer import LatentExplorer, latent_explorer, random_directions, slerp

Z_DIM = 8


class FlatGenerator(nn.Module):
    """A tiny MLP generator with flat (N, 1*12*12) output that records how it was called."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(Z_DIM, 32), nn.BatchNorm1d(32), nn.ReLU())
        self.out = nn.Linear(32, 144)
        self.calls: list[tuple[bool, bool]] = []  # (training, grad enabled) per call

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return torch.tanh(self.out(self.net(z)))


class ConvGenerator(nn.Module):
    """A DCGAN-style generator that only accepts (N, z_dim, 1, 1) latents."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.ConvTranspose2d(Z_DIM, 3, 4, 1, 0), nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z)


@pytest.fixture
def explorer() -> LatentExplorer:
    torch.manual_seed(0)
    return latent_explorer(FlatGenerator(), Z_DIM, n_directions=3, nrow=4).explorer


def test_returns_a_box_holding_image_and_sliders(explorer):
    box = explorer.widget
    assert isinstance(box, widgets.VBox)
    assert explorer.image in box.children
    assert len(explorer.direction_sliders) == 3
    assert all(s.continuous_update for s in explorer.direction_sliders)
    shown = Image.open(io.BytesIO(explorer.png))
    # 4 tiles of 12 px enlarged 8x (96 px) with the grid's padding of 2 px, also enlarged
    assert shown.size == (8 * (4 * 14 + 2), 8 * (14 + 2))


def test_moving_a_direction_slider_redraws(explorer):
    before = explorer.png
    z_before = explorer.z.clone()
    explorer.direction_sliders[1].value = 2.0
    assert explorer.redraws == 1
    assert explorer.png != before
    offset = explorer.z - z_before
    assert torch.allclose(offset, 2.0 * explorer.directions[1].expand_as(offset), atol=1e-5)
    explorer.direction_sliders[1].value = 0.0
    assert explorer.png == before  # back to the start: the same picture


def test_interpolation_endpoints_match_the_two_latents(explorer):
    image_a = explorer.render(explorer.z_a)
    image_b = explorer.render(explorer.z_b)
    assert explorer.png == image_a  # t starts at 0
    explorer.mix_slider.value = 1.0
    assert explorer.png == image_b
    explorer.mix_slider.value = 0.5
    assert explorer.png not in (image_a, image_b)
    explorer.mix_slider.value = 0.0
    assert explorer.png == image_a


def test_new_endpoints_button_draws_new_latents(explorer):
    old_a, before = explorer.z_a.clone(), explorer.png
    explorer.new_button.click()
    assert not torch.equal(explorer.z_a, old_a)
    assert explorer.png != before


def test_generator_runs_in_eval_mode_without_grad_and_keeps_its_mode():
    G = FlatGenerator().train()
    ex = LatentExplorer(G, Z_DIM, n_directions=2, nrow=3)
    ex.mix_slider.value = 0.3
    assert G.calls and all(call == (False, False) for call in G.calls)
    assert G.training, "the explorer must give the generator back in its own mode"


def test_convolutional_generators_get_4d_latents():
    ex = LatentExplorer(ConvGenerator(), Z_DIM, nrow=2)
    assert ex._latent_shape == (Z_DIM, 1, 1)
    before = ex.png
    ex.direction_sliders[0].value = -1.5
    assert ex.png != before


def test_same_seed_same_pictures():
    torch.manual_seed(1)
    G = FlatGenerator()
    assert LatentExplorer(G, Z_DIM, seed=3).png == LatentExplorer(G, Z_DIM, seed=3).png
    assert LatentExplorer(G, Z_DIM, seed=3).png != LatentExplorer(G, Z_DIM, seed=4).png


def test_directions_are_orthonormal_and_slerp_keeps_endpoints():
    d = random_directions(16, 5, seed=0)
    assert torch.allclose(d @ d.T, torch.eye(5), atol=1e-5)
    a, b = torch.randn(3, 16), torch.randn(3, 16)
    assert torch.equal(slerp(a, b, 0.0), a) and torch.equal(slerp(a, b, 1.0), b)
    mid = slerp(a, b, 0.5)
    # on the great circle the norm stays between the endpoints' (a straight line would shrink it)
    assert (mid.norm(dim=1) >= torch.minimum(a.norm(dim=1), b.norm(dim=1)) - 1e-5).all()


def test_slerp_takes_one_t_per_row_and_keeps_the_norm():
    a = torch.tensor([[3.0, 0.0], [1.0, 1.0], [2.0, 0.0]])
    b = torch.tensor([[0.0, 3.0], [2.0, 2.0], [-2.0, 0.0]])  # orthogonal, parallel, opposite
    path = slerp(a, b, torch.tensor([0.5, 0.5, 0.0]))
    assert torch.allclose(path[0], torch.tensor([3.0, 3.0]) / 2**0.5)  # on the circle of radius 3
    assert torch.allclose(path[1], torch.tensor([1.5, 1.5]))  # parallel: the straight line
    assert torch.equal(path[2], a[2])  # t = 0: exactly a, even for opposite rows
    z = torch.randn(2, Z_DIM, 1, 1)  # latents of a convolutional generator
    assert slerp(z, -z.flip(0), 0.3).shape == z.shape
    with pytest.raises(ValueError, match=r"batches of latents.*z\[None\]"):
        slerp(torch.randn(Z_DIM), torch.randn(Z_DIM), 0.5)


def test_bad_inputs_get_clear_errors():
    with pytest.raises(TypeError, match="torch.nn.Module"):
        latent_explorer(FlatGenerator, Z_DIM)  # the class, not an instance
    with pytest.raises(ValueError, match="accepts neither"):
        latent_explorer(FlatGenerator(), Z_DIM + 1)  # wrong z_dim
    with pytest.raises(ValueError, match="n_directions must be between 1 and z_dim"):
        latent_explorer(FlatGenerator(), Z_DIM, n_directions=Z_DIM + 1)
    with pytest.raises(ValueError, match="z_dim must be a positive int"):
        latent_explorer(FlatGenerator(), 0)


def test_works_with_the_course_generators():
    from ganlib import models

    for G in [
        models.MLPGenerator(z_dim=Z_DIM, hidden=(16,), image_shape=(1, 28, 28)),
        models.DCGANGenerator(z_dim=Z_DIM, channels=3, image_size=32, width=8),
    ]:
        ex = LatentExplorer(G, Z_DIM, nrow=2)
        before = ex.png
        ex.direction_sliders[2].value = 3.0
        assert ex.png != before, type(G).__name__
