"""Datasets for the course, real or offline, and a fast batch loader.

    from ganlib.data import load, BatchLoader, to_unit

    mnist = load("mnist")                    # real MNIST if it can be had, else a stand-in
    print(mnist.description)                 # says which one you got
    loader = BatchLoader(mnist, batch_size=64, device="cpu")
    for real in loader:                      # float batches in [-1, 1], shape (64, 1, 28, 28)
        ...

``load(name, split="train", image_size=None, source="auto", root=None)`` knows ``mnist``, ``svhn``,
``celeba`` and ``summer2winter`` (which gives a ``(summer, winter)`` pair): one row each in the
dataset table ``DATASETS``. ``source="offline"`` never touches the network: it uses small
stand-ins that look like the real data. Downloads and decoded images are cached under
:func:`data_dir`. ``map_images(fn, images, ...)`` applies a uint8 -> uint8 function (such as a
lesson's ``preprocess``) chunk by chunk, so a large dataset never needs a float copy.

Modules: ``datasets`` (the table, load, ImageDataset), ``readers`` (the real file formats, image
folders), ``download`` (mirrors, timeouts, checksums, safe extraction), ``images`` (resize,
map_images), ``loader`` (BatchLoader), ``standins`` (the offline datasets).
"""

from ganlib.data.datasets import (
    CHANNELS,
    DATASETS,
    DEFAULT_SIZE,
    NAMES,
    REMOTE,
    SOURCES,
    TITLES,
    ImageDataset,
    data_dir,
    load,
    to_unit,
)
from ganlib.data.download import DataUnavailableError
from ganlib.data.images import map_images
from ganlib.data.loader import BatchLoader

__all__ = [
    "load",
    "ImageDataset",
    "BatchLoader",
    "to_unit",
    "map_images",
    "DataUnavailableError",
    "data_dir",
    "DATASETS",
    "REMOTE",
    "NAMES",
    "SOURCES",
    "DEFAULT_SIZE",
    "CHANNELS",
    "TITLES",
]
