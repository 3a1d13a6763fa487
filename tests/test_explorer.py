"""ganlib.explorer: the sliders redraw the generator's images; endpoints and modes are exact."""

from __future__ import annotations

import io

import ipywidgets as widgets
import pytest
import torch
from PIL import Image
from torch import nn

from ganlib.explorer import (
    EVERY_CLASS,
    ConditionalExplorer,
    LatentExplorer,
    conditional_explorer,
    latent_explorer,
    random_directions,
    slerp,
)

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


# --------------------------------------------------------------------------- conditional explorer
NUM_CLASSES = 5


class ConditionalGenerator(nn.Module):
    """G(z, labels): a label embedding joined to z, flat (N, 144) output; records its labels."""

    def __init__(self) -> None:
        super().__init__()
        self.embed = nn.Embedding(NUM_CLASSES, 4)
        self.net = nn.Sequential(nn.Linear(Z_DIM + 4, 144), nn.Tanh())
        self.labels: list[torch.Tensor] = []

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.labels.append(labels)
        return self.net(torch.cat([z, self.embed(labels)], dim=1))


@pytest.fixture
def conditional() -> ConditionalExplorer:
    torch.manual_seed(0)
    G = ConditionalGenerator()
    return conditional_explorer(G, Z_DIM, NUM_CLASSES, n_directions=2, nrow=4).explorer


def test_conditional_box_holds_the_class_picker_the_image_and_sliders(conditional):
    box = conditional.widget
    assert isinstance(box, widgets.VBox)
    assert conditional.class_picker in box.children and conditional.image in box.children
    assert all(s in box.children for s in conditional.direction_sliders)
    assert isinstance(conditional.class_picker, widgets.Dropdown)
    assert [value for _, value in conditional.class_picker.options] == [0, 1, 2, 3, 4, EVERY_CLASS]
    labels = conditional.generator.labels[-1]
    assert labels.dtype == torch.long and labels.tolist() == [0, 0, 0, 0]  # class 0 first


def test_picking_a_class_redraws_every_image_for_that_class(conditional):
    before = conditional.png
    conditional.class_picker.value = 3
    assert conditional.redraws == 1 and conditional.png != before
    assert conditional.labels.tolist() == [3, 3, 3, 3]
    conditional.direction_sliders[0].value = 1.5  # the sliders move z within the class
    assert conditional.labels.tolist() == [3, 3, 3, 3]
    conditional.direction_sliders[0].value = 0.0
    conditional.class_picker.value = 0
    assert conditional.png == before  # the same class and latents: the same picture


def test_every_class_draws_one_latent_as_each_class(conditional):
    conditional.class_picker.value = EVERY_CLASS
    assert conditional.labels.tolist() == list(range(NUM_CLASSES))
    z = conditional.z
    assert z.shape == (NUM_CLASSES, Z_DIM) and torch.equal(z[0], z[-1])
    shown = Image.open(io.BytesIO(conditional.png))
    assert shown.size == (8 * (NUM_CLASSES * 14 + 2), 8 * (14 + 2))  # one row of 5 tiles
    before = conditional.png
    conditional.direction_sliders[1].value = -2.0
    assert conditional.png != before and conditional.labels.tolist() == list(range(NUM_CLASSES))


def test_conditional_explorer_names_classes_and_checks_its_arguments():
    G = ConditionalGenerator()
    ex = ConditionalExplorer(G, Z_DIM, NUM_CLASSES, class_names=list("abcde"), label=2, nrow=2)
    assert ex.class_picker.options[2] == ("c", 2) and ex.labels.tolist() == [2, 2]
    with pytest.raises(ValueError, match="num_classes must be a positive int"):
        conditional_explorer(G, Z_DIM, 0)
    with pytest.raises(ValueError, match=r"label must be a class 0\.\.4"):
        conditional_explorer(G, Z_DIM, NUM_CLASSES, label=5)
    with pytest.raises(ValueError, match="2 names for 5 classes"):
        conditional_explorer(G, Z_DIM, NUM_CLASSES, class_names=["a", "b"])
    with pytest.raises(TypeError, match="goes to latent_explorer"):
        conditional_explorer(FlatGenerator(), Z_DIM, NUM_CLASSES)  # takes no labels
    with pytest.raises(TypeError, match="goes to conditional_explorer"):
        latent_explorer(G, Z_DIM)  # needs labels


def test_conditional_generator_runs_in_eval_mode_and_keeps_its_mode():
    G = _ConditionalBN().train()
    ex = ConditionalExplorer(G, Z_DIM, NUM_CLASSES, nrow=3)
    ex.class_picker.value = 1
    assert G.calls and all(call == (False, False) for call in G.calls)
    assert G.training


class _ConditionalBN(ConditionalGenerator):
    def __init__(self) -> None:
        super().__init__()
        self.norm = nn.BatchNorm1d(144)
        self.calls: list[tuple[bool, bool]] = []

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        self.calls.append((self.training, torch.is_grad_enabled()))
        return torch.tanh(self.norm(super().forward(z, labels)))
