"""Datasets for the course, real or offline, and a fast batch loader.

    from ganlib.data import load, BatchLoader, to_unit

    mnist = load("mnist")                    # real MNIST if it can be had, else a stand-in
    print(mnist.description)                 # says which one you got
    loader = BatchLoader(mnist, batch_size=64, device="cpu")
    for real in loader:                      # float batches in [-1, 1], shape (64, 1, 28, 28)
        ...

``load(name, split="train", image_size=None, source="auto", root=None)`` knows ``mnist``, ``svhn``,
``celeba`` and ``summer2winter`` (which gives a ``(summer, winter)`` pair). ``source="offline"``
never touches the network: it uses small stand-ins that look like the real data. Downloads and
decoded images are cached under :func:`data_dir`.

Modules: ``datasets`` (load, ImageDataset), ``loader`` (BatchLoader), ``download`` (mirrors,
checksums, safe extraction), ``standins`` (the offline datasets).
"""

from ganlib.data.datasets import ImageDataset, data_dir, load, to_unit
from ganlib.data.download import DataUnavailableError
from ganlib.data.loader import BatchLoader

__all__ = ["load", "ImageDataset", "BatchLoader", "to_unit", "DataUnavailableError", "data_dir"]
