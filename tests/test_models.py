"""Shapes, ranges, layer recipes and error messages of ganlib.models."""

import pytest
import torch
from torch import nn

from ganlib import models

pytestmark = pytest.mark.usefixtures("one_thread")


def test_mlp_shapes_and_range():
    G = models.MLPGenerator(z_dim=10, hidden=(16, 32))
    D = models.MLPDiscriminator(hidden=(32, 16))
    images = G(torch.randn(5, 10))
    assert images.shape == (5, 1, 28, 28)
    assert images.min() >= -1 and images.max() <= 1
    assert D(images).shape == (5, 1)
    assert D(images.flatten(1)).shape == (5, 1)  # flattened input is accepted too
    assert isinstance(D.net[-1], nn.Linear)  # logits: no sigmoid at the end


def test_mlp_options():
    G = models.MLPGenerator(z_dim=8, hidden=(16,), batch_norm=True, slope=0.1, dropout=0.5)
    kinds = [type(m) for m in G.net]
    assert kinds == [nn.Linear, nn.BatchNorm1d, nn.LeakyReLU, nn.Dropout, nn.Linear, nn.Tanh]
    assert G.net[2].negative_slope == 0.1
    D = models.MLPDiscriminator(hidden=(16,), dropout=0.0, image_shape=(3, 32, 32))
    assert [type(m) for m in D.net] == [nn.Linear, nn.LeakyReLU, nn.Linear]
    assert D.net[0].in_features == 3 * 32 * 32


def test_mlp_wrong_shapes_are_named():
    D = models.MLPDiscriminator()
    with pytest.raises(ValueError) as err:
        D(torch.zeros(2, 3, 32, 32))
    assert str(err.value) == (
        "MLPDiscriminator expects images of shape (N, 1, 28, 28) or (N, 784), got (N, 3, 32, 32)"
    )
    with pytest.raises(ValueError, match=r"MLPGenerator expects latents of shape \(N, 100\)"):
        models.MLPGenerator()(torch.zeros(2, 64))


def test_conv_and_deconv_blocks():
    block = models.conv(3, 8)
    assert isinstance(block, nn.Sequential)
    assert block[0].bias is None and isinstance(block[1], nn.BatchNorm2d)
    assert block(torch.zeros(2, 3, 32, 32)).shape == (2, 8, 16, 16)
    plain = models.conv(3, 8, batch_norm=False)
    assert len(plain) == 1 and plain[0].bias is not None
    up = models.deconv(8, 4)
    assert isinstance(up[0], nn.ConvTranspose2d) and up[0].bias is None
    assert up(torch.zeros(2, 8, 16, 16)).shape == (2, 4, 32, 32)
    assert models.deconv(8, 4, batch_norm=False)[0].bias is not None


def test_dcgan_init_statistics():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(64, 64, 4), nn.BatchNorm2d(4096), nn.Linear(256, 256))
    assert models.dcgan_init(net) is net
    assert abs(net[0].weight.std().item() - 0.02) < 0.002
    assert abs(net[0].weight.mean().item()) < 0.002
    assert abs(net[1].weight.mean().item() - 1.0) < 0.002
    assert abs(net[1].weight.std().item() - 0.02) < 0.002
    assert net[0].bias.abs().sum() == 0 and net[1].bias.abs().sum() == 0
    assert abs(net[2].weight.std().item() - 0.02) < 0.002


@pytest.mark.parametrize("size,channels", [(28, 1), (32, 3), (32, 1), (64, 3)])
def test_dcgan_shapes(size, channels):
    G = models.DCGANGenerator(z_dim=8, channels=channels, image_size=size, width=4)
    D = models.DCGANDiscriminator(channels=channels, image_size=size, width=4)
    images = G(torch.randn(3, 8))
    assert images.shape == (3, channels, size, size)
    assert images.min() >= -1 and images.max() <= 1
    assert D(images).shape == (3, 1)
    assert G(torch.randn(3, 8, 1, 1)).shape == images.shape  # (N, z, 1, 1) latents work too


def test_dcgan_layer_recipe():
    G = models.DCGANGenerator(z_dim=8, channels=3, image_size=64, width=4)
    D = models.DCGANDiscriminator(channels=3, image_size=64, width=4)
    g_blocks = [m for m in G.net if isinstance(m, nn.Sequential)]
    d_blocks = [m for m in D.net if isinstance(m, nn.Sequential)]
    # Radford et al.: BatchNorm everywhere except G's output and D's input layer.
    assert [isinstance(b[-1], nn.BatchNorm2d) for b in g_blocks] == [True] * 4 + [False]
    assert [isinstance(b[-1], nn.BatchNorm2d) for b in d_blocks] == [False, True, True, True, False]
    assert [b[0].out_channels for b in g_blocks] == [32, 16, 8, 4, 3]
    assert isinstance(G.net[-1], nn.Tanh)
    assert all(m.negative_slope == 0.2 for m in D.net if isinstance(m, nn.LeakyReLU))
    assert any(isinstance(m, nn.ReLU) for m in G.net)


def test_dcgan_errors():
    with pytest.raises(ValueError, match="supports image sizes"):
        models.DCGANGenerator(image_size=30)
    D = models.DCGANDiscriminator(channels=3, image_size=32, width=4)
    with pytest.raises(
        ValueError, match=r"expects images of shape \(N, 3, 32, 32\), got \(N, 1, 28, 28\)"
    ):
        D(torch.zeros(2, 1, 28, 28))


def test_residual_block_adds_its_input():
    block = models.ResidualBlock(4)
    for p in block.parameters():
        nn.init.zeros_(p)
    x = torch.randn(2, 4, 8, 8)
    assert torch.equal(block(x), x)  # a zero residual branch leaves x unchanged
    assert sum(isinstance(m, nn.ReflectionPad2d) for m in block.modules()) == 2


def test_resnet_generator():
    G = models.ResnetGenerator(channels=3, width=4, n_blocks=2)
    x = torch.randn(2, 3, 16, 16)
    y = G(x)
    assert y.shape == x.shape and y.abs().max() <= 1
    assert sum(isinstance(m, models.ResidualBlock) for m in G.modules()) == 2
    assert any(isinstance(m, nn.InstanceNorm2d) for m in G.modules())
    assert sum(isinstance(m, models.ResidualBlock) for m in models.ResnetGenerator().modules()) == 6
    with pytest.raises(ValueError, match="multiples of 4"):
        G(torch.randn(1, 3, 18, 18))
    with pytest.raises(ValueError, match=r"expects images of shape \(N, 3, H, W\)"):
        G(torch.randn(1, 1, 16, 16))


def test_patch_discriminator_sees_70x70_patches():
    D = models.PatchDiscriminator(channels=3, width=2, n_layers=3)
    x = torch.zeros(1, 3, 128, 128, requires_grad=True)
    out = D(x)
    assert out.shape == (1, 1, 14, 14)
    # InstanceNorm mixes the whole image through its mean; without it, the field is local.
    local = nn.Sequential(
        *[nn.Identity() if isinstance(m, nn.InstanceNorm2d) else m for m in D.net]
    )
    out = local(x)
    out[0, 0, 7, 7].backward()  # which input pixels can one logit see?
    rows = x.grad.abs().sum(dim=(0, 1, 3)).nonzero()
    cols = x.grad.abs().sum(dim=(0, 1, 2)).nonzero()
    assert rows.max() - rows.min() + 1 <= 70 and cols.max() - cols.min() + 1 <= 70
    assert rows.max() - rows.min() + 1 >= 60  # most of the 70x70 field is actually used
    with pytest.raises(ValueError, match="at least 24x24"):
        D(torch.zeros(1, 3, 16, 16))


def test_image_pool_fills_then_swaps():
    torch.manual_seed(0)
    pool = models.ImagePool(size=4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first), first) and len(pool) == 4
    new = torch.arange(10.0, 18.0).view(8, 1, 1, 1)
    out = pool.query(new)
    assert out.shape == new.shape
    from_pool = ~torch.isin(out.flatten(), new.flatten())
    assert 0 < from_pool.sum() < 8  # some images were swapped for older ones, not all
    assert torch.isin(out.flatten()[from_pool], first.flatten()).all()
    assert len(pool) == 4


def test_image_pool_state_round_trip():
    pool = models.ImagePool(size=3)
    pool.query(torch.randn(3, 1, 2, 2))
    saved = pool.state_dict()
    torch.manual_seed(1)
    expected = pool.query(torch.ones(5, 1, 2, 2))
    copy = models.ImagePool(size=3)
    copy.load_state_dict(saved)
    torch.manual_seed(1)
    assert torch.equal(copy.query(torch.ones(5, 1, 2, 2)), expected)
    assert torch.equal(models.ImagePool(0).query(expected), expected)
    with pytest.raises(ValueError, match="size"):
        models.ImagePool(5).load_state_dict(saved)
