"""Lesson 05 project checks: pass a working design, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch

from ganlib.checks import lesson05 as check
from ganlib.data import ImageDataset

try:
    from tests.broken import fails_with as fails
    from tests.broken import lesson05 as bank
except ImportError:  # tests/ is not a package: pytest put it on sys.path
    from broken import fails_with as fails
    from broken import lesson05 as bank

Z = bank.Z_DIM


def faces(n=16, size=32):
    g = torch.Generator().manual_seed(0)
    return torch.rand(n, 3, size, size, generator=g) * 2 - 1


def test_data_pipeline_accepts_batches_pairs_and_loaders(capsys):
    batch = faces()
    check.data_pipeline(batch)
    check.data_pipeline((batch, torch.zeros(16)))
    check.data_pipeline([batch, batch])  # a list of batches is iterable like a loader
    check.data_pipeline(faces(size=64), image_size=64)
    assert capsys.readouterr().out.count("\u2714 data pipeline") == 4


@pytest.mark.parametrize(
    ("data", "fragments"),
    [
        ((faces() + 1) / 2, ["looks like [0, 1]", "x * 2 - 1"]),
        (faces() * 127.5 + 127.5, ["range [", "x / 127.5 - 1"]),
        (((faces() + 1) * 127.5).to(torch.uint8), ["float images", "uint8"]),
        (faces(size=64), ["(N, 3, 32, 32)", "shape (16, 3, 64, 64)"]),
        (faces()[:, :1], ["colour images"]),
        (
            torch.zeros(16, 3, 32, 32).fill_(-1).index_fill_(2, torch.tensor([0]), 1.0),
            ["varied images"],
        ),
        (None, ["found:    None"]),
        ([], ["the loader gave no batch"]),
    ],
)
def test_data_pipeline_catches_mistakes(data, fragments):
    fails(check.data_pipeline, data, fragments=fragments)


def test_networks_pass_on_reference(capsys):
    check.discriminator(bank.Discriminator)
    check.generator(bank.Generator, z_dim=Z)
    assert capsys.readouterr().out.count("\u2714") == 2


@pytest.mark.parametrize(
    ("checker", "broken", "fragments"),
    [
        (
            check.discriminator,
            bank.DiscriminatorMap,
            ["one score per image", "shape (8, 32, 4, 4)"],
        ),
        (check.discriminator, bank.DiscriminatorConstant, ["the same score for all"]),
        (check.discriminator, None, ["an nn.Module class or instance"]),
        (check.generator, bank.GeneratorNoTanh, ["pixels in [-1, 1]", "nn.Tanh()"]),
        (check.generator, bank.GeneratorConstant, ["the same image for every z"]),
        (check.generator, bank.GeneratorSmall, ["shape (8, 3, 32, 32)", "shape (8, 3, 16, 16)"]),
    ],
)
def test_networks_catch_mistakes(checker, broken, fragments):
    kwargs = {"z_dim": Z} if checker is check.generator else {}
    fails(checker, broken, fragments=fragments, **kwargs)


def test_generator_with_the_wrong_latent_size_is_named():
    fails(check.generator, bank.Generator, z_dim=Z + 1, fragments=["is z_dim right?"])


def test_training_step_passes_and_leaves_the_learners_networks_alone(capsys):
    G, D = bank.Generator(), bank.Discriminator()
    weights = {k: v.clone() for k, v in G.state_dict().items()}
    check.training_step(bank.train_step, G, D, z_dim=Z)
    assert "\u2714 training step" in capsys.readouterr().out
    assert all(torch.equal(weights[k], v) for k, v in G.state_dict().items())


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.step_not_detached, ["fake.detach()", "backward ran into the generator"]),
        (bank.step_not_detached_fresh_fake, ["2 backward passes", "fake.detach()"]),
        (bank.step_no_g_update, ["the generator updated", "opt_g.step()"]),
        (bank.step_returns_tensors_dict, ["(d_loss, g_loss)", "dict"]),
        (bank.step_nan, ["two finite numbers"]),
        (bank.step_wrong_signature, ["TypeError"]),
    ],
)
def test_training_step_catches_mistakes(broken, fragments):
    fails(
        check.training_step,
        broken,
        bank.Generator,
        bank.Discriminator,
        z_dim=Z,
        fragments=fragments,
    )


def test_results_rejects_a_collapsed_generator():
    fails(check.results, bank.GeneratorConstant(), faces(64), Z, fragments=["collapsed"])


def test_results_rejects_what_is_not_a_generator():
    fails(check.results, bank.Generator, faces(64), Z, fragments=["an nn.Module instance", "type"])
    fails(check.results, bank.Generator(), "faces", Z, fragments=["held-out faces", "str"])


class Lookup(torch.nn.Module):
    """A "generator" that returns real faces: the best FID any generator could reach."""

    def __init__(self, images):
        super().__init__()
        self.register_buffer("images", images)
        self.scale = torch.nn.Parameter(torch.ones(()))

    def forward(self, z):
        index = (z[:, 0].abs() * 1e4).long() % len(self.images)
        return self.images[index] * self.scale


def blobs(n=300, size=32, seed=0):
    """Smooth colour images (upsampled noise): a cheap stand-in for faces."""
    g = torch.Generator().manual_seed(seed)
    small = torch.rand(n, 3, 4, 4, generator=g) * 2 - 1
    return torch.nn.functional.interpolate(
        small, size=(size, size), mode="bilinear", align_corners=False
    )


def test_results_passes_samples_like_the_held_out_faces(capsys):
    fid = check.results(Lookup(blobs(seed=1)), blobs(seed=2), Z, source="stand-in")
    assert 0 <= fid <= check.FID_THRESHOLD_QUICK
    assert "\u2714 results" in capsys.readouterr().out


def test_results_rejects_an_untrained_generator_as_collapsed():
    """Fresh weights draw near-blank images (about 0.4% of the real spread): the diversity guard
    rejects them before the FID is measured."""
    torch.manual_seed(0)
    fails(
        check.results,
        bank.Generator(),
        blobs(),
        Z,
        source="stand-in",
        fragments=["collapsed", "found:    spread 0%"],
    )


def stand_in_dataset(images):
    """Images in [-1, 1] as an ImageDataset from the offline stand-in: uint8, source "stand-in"."""
    pixels = ((images + 1) * 127.5).round().clamp(0, 255).to(torch.uint8)
    return ImageDataset(pixels, name="celeba", split="test", source="stand-in")


def test_results_takes_a_dataset_with_uint8_images(capsys):
    fid = check.results(Lookup(blobs(seed=1)), stand_in_dataset(blobs(seed=2)), Z)
    assert 0 <= fid <= 10  # the uint8 pixels were scaled to [-1, 1] like the samples
    assert "✔ results" in capsys.readouterr().out


def test_results_picks_the_threshold_from_the_datasets_source():
    red = blobs(seed=3)
    red[:, 0] = 1.0
    held_out = stand_in_dataset(blobs())
    fails(check.results, Lookup(red), held_out, Z, fragments=["FID <= 150", "found:    FID"])
    fails(
        check.results,
        Lookup(red),
        held_out,
        Z,
        source="download",  # real CelebA: the full threshold
        fragments=[f"FID <= {check.FID_THRESHOLD_FULL:g}"],
    )


def test_results_fails_varied_but_wrong_samples_under_both_thresholds():
    red = blobs(seed=3)
    red[:, 0] = 1.0  # varied faces, but all tinted red
    tinted = Lookup(red)
    fails(
        check.results,
        tinted,
        blobs(),
        Z,
        source="stand-in",
        fragments=["FID <= 150", "found:    FID"],
    )
    fails(check.results, tinted, blobs(), Z, fragments=[f"FID <= {check.FID_THRESHOLD_FULL:g}"])
