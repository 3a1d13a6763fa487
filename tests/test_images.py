"""ganlib.images: the one conversion to display range and the one grid builder."""

import numpy as np
import pytest
import torch

from ganlib import images


def test_to_unit_maps_network_range_and_uint8_to_0_1():
    x = torch.tensor([-1.0, 0.0, 1.0, 3.0])
    assert images.to_unit(x).tolist() == [0.0, 0.5, 1.0, 1.0]
    u = torch.tensor([0, 51, 255], dtype=torch.uint8)
    assert torch.allclose(images.to_unit(u), torch.tensor([0.0, 0.2, 1.0]))
    doubles = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    assert images.to_unit(doubles).dtype == torch.float64  # dtype kept, like the input's
    with pytest.raises(TypeError, match="float in \\[-1, 1\\] or uint8, got dtype torch.int64"):
        images.to_unit(torch.zeros(3, dtype=torch.int64))


def test_image_batch_takes_arrays_and_single_images():
    assert images.image_batch(np.zeros((3, 5, 7), dtype=np.uint8)).shape == (1, 3, 5, 7)
    with pytest.raises(TypeError, match="tensor or an array, got dict"):
        images.image_batch({"images": 1})


def test_grid_of_grey_uint8_images_is_colour_with_white_padding():
    x = torch.full((3, 1, 4, 4), 255, dtype=torch.uint8)
    x[1] = 0
    grid = images.make_grid(x, nrow=2, padding=1)
    assert grid.shape == (2 * 5 + 1, 2 * 5 + 1, 3) and grid.dtype == np.float32
    assert (grid[1:5, 6:10] == 0).all()  # the black second image, top right
    assert (grid[0] == 1).all() and (grid[6:10, 6:10] == 1).all()  # padding and the empty cell
    with pytest.raises(ValueError, match="nrow must be >= 1"):
        images.make_grid(x, nrow=0)


def test_to_pil_enlarges_with_sharp_pixels():
    picture = np.zeros((2, 3, 3), dtype=np.float32)
    picture[0, 0] = 1.0
    image = images.to_pil(picture, scale=4)
    assert image.size == (12, 8)
    pixels = np.asarray(image)
    assert (pixels[:4, :4] == 255).all() and (pixels[4:, :] == 0).all()
