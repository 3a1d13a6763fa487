"""Lesson 05 project checks: pass working designs, catch each typical mistake with its message."""

from __future__ import annotations

import pytest
import torch

from ganlib.checks import lesson05 as check
from ganlib.data import standins
from tools.solutions import definitions

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


# --------------------------------------------------------------------------- the reference
@pytest.fixture(scope="module")
def reference():
    """What solutions/05_face_generation_project.ipynb defines, with its parameters."""
    return definitions("05_face_generation_project")


def test_the_reference_solution_passes_every_check_before_training(reference, capsys):
    ns = reference
    check.preprocess(ns["preprocess"])
    check.discriminator(ns["Discriminator"], image_size=ns["IMAGE_SIZE"])
    check.generator(ns["Generator"], z_dim=ns["Z_DIM"], image_size=ns["IMAGE_SIZE"])
    for loss in check.LOSSES:  # its losses are written for each choice of LOSS
        ns["LOSS"] = loss
        check.losses(ns["d_loss_fn"], ns["g_loss_fn"], loss=loss, smooth=ns["LABEL_SMOOTHING"])
    ns["LOSS"] = "bce"
    check.training_step(
        ns["train_step"],
        ns["Generator"],
        ns["Discriminator"],
        d_loss_fn=ns["d_loss_fn"],
        g_loss_fn=ns["g_loss_fn"],
        z_dim=ns["Z_DIM"],
        image_size=ns["IMAGE_SIZE"],
    )
    assert capsys.readouterr().out.count("\u2714") == 7


# --------------------------------------------------------------------------- preprocess
@pytest.mark.parametrize(
    "fn",
    [
        bank.preprocess,
        bank.preprocess_bicubic_rounded_side,
        bank.preprocess_area,
        bank.preprocess_torchvision,
    ],
)
def test_preprocess_passes_correct_versions(fn, capsys):
    check.preprocess(fn)
    assert "\u2714 preprocess" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.preprocess_no_crop, ["central 80%", "resized whole"]),
        (bank.preprocess_corner, ["top-left corner", "centre it"]),
        (bank.preprocess_cuts_share, ["crop=0.8", "to KEEP", "not the share to cut away"]),
        (bank.preprocess_area_share, ["share of the side", "not of the area"]),
        (bank.preprocess_fixed_crop, ["crop=0.6", "use the crop argument"]),
        (bank.preprocess_no_antialias, ["averages the pixels", "aliasing", "moire"]),
        (bank.preprocess_nearest, ["aliasing"]),
        (bank.preprocess_float, ["uint8 pixels 0..255", "leave the scaling to the loader"]),
        (bank.preprocess_float_pixels, ["uint8", "convert to uint8"]),
        (bank.preprocess_unit_uint8, ["scaled to [0, 1]", "keep 0..255"]),
        (bank.preprocess_channels_last, ["channels first", "channels last"]),
        (bank.preprocess_not_resized, ["(4, 3, 32, 32)", "not resized"]),
        (bank.preprocess_in_place, ["input tensor changed", "work on a copy"]),
        (None, ["a function or class you can call"]),
    ],
)
def test_preprocess_catches_mistakes(broken, fragments):
    fails(check.preprocess, broken, fragments=fragments)


# --------------------------------------------------------------------------- data pipeline
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
        ((faces() + 1) / 2, ["looks like [0, 1]", "black must be -1"]),
        (faces() * 127.5 + 127.5, ["range [", "pixel 0 to -1"]),
        (faces() / 2, ["squeezed", "2/255"]),
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


# --------------------------------------------------------------------------- networks
def test_networks_pass_on_the_reference_and_variants(capsys):
    check.discriminator(bank.Discriminator)
    check.discriminator(bank.DiscriminatorSpectral)
    check.discriminator(bank.Discriminator, image_size=64)
    check.generator(bank.Generator, z_dim=Z)
    check.generator(bank.Generator, z_dim=Z, image_size=64)
    assert capsys.readouterr().out.count("\u2714") == 5


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.DiscriminatorMap, ["one score per image", "shape (8, 32, 4, 4)"]),
        (bank.DiscriminatorMean, ["one score per image", "keep the batch dimension"]),
        (bank.DiscriminatorConstant, ["the same score for all"]),
        (bank.DiscriminatorSigmoid, ["raw scores", "a sigmoid at the end"]),
        (bank.DiscriminatorTanh, ["raw scores", "a tanh at the end", "unbounded"]),
        (bank.DiscriminatorReLU, ["negative values through", "(a ReLU)", "leaky activation"]),
        (bank.DiscriminatorFunctionalReLU, ["(a ReLU)"]),
        (bank.DiscriminatorDefaultSlope, ["slope 0.01", "almost a ReLU"]),
        (bank.DiscriminatorNoActivation, ["a nonlinearity between", "one linear map"]),
        (bank.DiscriminatorUnusedLayer, ["no gradient for extra.weight"]),
        (bank.DiscriminatorFor64, ["(N, 3, 32, 32)", "built for image_size=32"]),
        (None, ["an nn.Module class or instance"]),
    ],
)
def test_discriminator_catches_mistakes(broken, fragments):
    fails(check.discriminator, broken, fragments=fragments)


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.GeneratorNoTanh, ["pixels in [-1, 1]", "range ["]),
        (bank.GeneratorSigmoid, ["no negative values"]),
        (bank.GeneratorClamp, ["cut off at -1 and 1"]),
        (bank.GeneratorConstant, ["the same image for every z"]),
        (bank.GeneratorOwnNoise, ["same image for the same z", "random numbers of its own"]),
        (bank.GeneratorPartOfZ, ["every coordinate of z", "8 of the 16 coordinates"]),
        (bank.GeneratorMixesBatch, ["only on its own z", "other z's in the batch"]),
        (bank.GeneratorSmall, ["shape (8, 3, 32, 32)", "shape (8, 3, 16, 16)"]),
        (bank.GeneratorFixedZ, ["is z_dim=16 what the first layer expects?"]),
    ],
)
def test_generator_catches_mistakes(broken, fragments):
    fails(check.generator, broken, z_dim=Z, fragments=fragments)


# --------------------------------------------------------------------------- losses
@pytest.mark.parametrize(
    ("loss", "d_loss", "g_loss"),
    [
        ("bce", bank.d_loss_bce, bank.g_loss_bce),
        ("bce", bank.d_loss_bce_halved, bank.g_loss_bce),
        ("lsgan", bank.d_loss_lsgan, bank.g_loss_lsgan),
        ("lsgan", bank.d_loss_lsgan, bank.g_loss_lsgan_half),
        ("hinge", bank.d_loss_hinge, bank.g_loss_hinge),
    ],
)
def test_losses_pass(loss, d_loss, g_loss, capsys):
    check.losses(d_loss, g_loss, loss=loss, smooth=bank.SMOOTH)
    assert f"\u2714 losses: D and G losses match ganlib.losses ({loss}" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("loss", "d_loss", "g_loss", "fragments"),
    [
        ("bce", bank.d_loss_bce_swapped, bank.g_loss_bce, ["d_loss_fn (bce", "swapped"]),
        ("bce", bank.d_loss_bce_two_sided, bank.g_loss_bce, ["one-sided label smoothing"]),
        ("bce", bank.d_loss_bce_unsmoothed, bank.g_loss_bce, ["smoothed label 0.9, not 1"]),
        ("bce", bank.d_loss_bce_sigmoid_first, bank.g_loss_bce, ["do not apply it first"]),
        ("bce", bank.d_loss_bce_summed, bank.g_loss_bce, ["average over the batch"]),
        (
            "bce",
            bank.d_loss_bce_probabilities,
            bank.g_loss_bce,
            ["BCE for probabilities was given raw scores", "takes logits"],
        ),
        ("bce", bank.d_loss_bce_log_sigmoid, bank.g_loss_bce, ["confident scores", "stably"]),
        ("bce", bank.d_loss_bce_item, bank.g_loss_bce, ["the loss as a tensor", "cuts it off"]),
        ("bce", bank.d_loss_bce_per_sample, bank.g_loss_bce, ["the mean over the batch"]),
        ("bce", bank.d_loss_bce, bank.g_loss_bce_minimax, ["g_loss_fn (bce", "saturates"]),
        ("bce", bank.d_loss_bce, bank.g_loss_bce_zeros, ["label them 1, not 0"]),
        ("bce", bank.d_loss_bce, bank.g_loss_bce_smoothed, ["no label smoothing in G's"]),
        ("bce", bank.d_loss_bce, bank.g_loss_bce_log_sigmoid, ["a finite loss"]),
        ("lsgan", bank.d_loss_lsgan_swapped, bank.g_loss_lsgan, ["swapped"]),
        ("lsgan", bank.d_loss_lsgan_abs, bank.g_loss_lsgan, ["square the differences"]),
        ("lsgan", bank.d_loss_lsgan, bank.g_loss_lsgan_zero, ["scored 1 (real), not 0"]),
        ("lsgan", bank.d_loss_bce, bank.g_loss_lsgan, ["d_loss_fn (lsgan", "(real score - 1)^2"]),
        ("hinge", bank.d_loss_hinge_no_relu, bank.g_loss_hinge, ["Wasserstein critic"]),
        ("hinge", bank.d_loss_hinge_swapped, bank.g_loss_hinge, ["signs are swapped"]),
        ("hinge", bank.d_loss_hinge, bank.g_loss_hinge_relu, ["without a ReLU"]),
        ("hinge", bank.d_loss_hinge, bank.g_loss_hinge_sign, ["minimise minus their mean"]),
        ("wgan", bank.d_loss_hinge, bank.g_loss_hinge, ["LOSS one of 'bce', 'lsgan'", "'wgan'"]),
    ],
)
def test_losses_catch_mistakes(loss, d_loss, g_loss, fragments):
    fails(check.losses, d_loss, g_loss, loss=loss, smooth=bank.SMOOTH, fragments=fragments)


# --------------------------------------------------------------------------- training step
def step_check(step, **kwargs):
    options = {"d_loss_fn": bank.d_loss_bce, "g_loss_fn": bank.g_loss_bce, "z_dim": Z}
    check.training_step(step, bank.Generator, bank.Discriminator, **{**options, **kwargs})


@pytest.mark.parametrize("step", [bank.train_step, bank.step_frozen_d_floats])
def test_training_step_passes_and_leaves_the_learners_networks_alone(step, capsys):
    G, D = bank.Generator(), bank.Discriminator()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    check.training_step(
        step, G, D, d_loss_fn=bank.d_loss_hinge, g_loss_fn=bank.g_loss_hinge, z_dim=Z
    )
    assert "\u2714 training step" in capsys.readouterr().out
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())


@pytest.mark.parametrize(
    ("broken", "fragments"),
    [
        (bank.step_not_detached, ["D's loss reached G", "detach the fakes"]),
        (bank.step_not_detached_fresh_fakes, ["D's loss sent gradients into G", "detach"]),
        (bank.step_stale_verdict, ["verdict from before its update", "score the fakes"]),
        (bank.step_detached_for_g, ["G got no gradient", "not detached"]),
        (bank.step_no_g_update, ["one update of D, then one of G", "updates: d"]),
        (bank.step_g_first, ["order of the updates: g", "D learns first"]),
        (bank.step_no_d_zero_grad, ["step 2", "zero D's gradients", "add up"]),
        (bank.step_swapped_scores, ["real scores first, then the fake ones"]),
        (bank.step_notebook_losses, ["another loss (bce with real target 0.9) than the one"]),
        (bank.step_minus_d_loss_for_g, ["G's update", "not minus D's loss"]),
        (bank.step_notebook_z_dim, ["z of shape (8, 16)", "step's own z_dim"]),
        (bank.step_batch_size_z, ["as many fakes as real images (8)", "z for 64 fakes"]),
        (bank.step_d_frozen_for_good, ["step 2", "switch them back on"]),
        (bank.step_returns_tuple, ["a dict of named numbers", "tuple"]),
        (bank.step_loss_after_update, ["d_loss", "computed before the optimizer step"]),
        (bank.step_nan, ["a finite number", "nan"]),
        (bank.step_old_signature, ["g_optimizer", "step(real, G=..., D=..., g_optimizer=..."]),
    ],
)
def test_training_step_catches_mistakes(broken, fragments):
    fails(step_check, broken, fragments=fragments)


def test_training_step_names_networks_that_do_not_fit_together():
    fails(
        check.training_step,
        bank.train_step,
        bank.Generator,
        bank.DiscriminatorFor64,
        d_loss_fn=bank.d_loss_bce,
        g_loss_fn=bank.g_loss_bce,
        z_dim=Z,
        fragments=["your networks", "work together at image_size=32", "same image_size"],
    )


# --------------------------------------------------------------------------- results
@pytest.fixture(scope="module")
def stand_in():
    """300 held-out and 300 training stand-in faces, preprocessed like the notebook (32 px)."""
    held_out, _ = standins.celeba_standin("test", n=300, size=40)
    training, _ = standins.celeba_standin("train", n=300, size=40)
    return bank.preprocess(held_out, 32, 0.8), bank.preprocess(training, 32, 0.8)


def results(G, stand_in, **kwargs):
    held_out, training = stand_in
    kwargs = {"untrained": bank.Generator, "n": 300, **kwargs}
    return check.results(G, held_out, training, Z, **kwargs)


def test_results_pass_real_faces_and_report_the_calibration(stand_in, capsys):
    other, _ = standins.celeba_standin("train", n=300, size=40, seed=7)
    outcome = results(bank.Lookup(bank.preprocess(other, 32, 0.8)), stand_in)
    assert outcome.score > 0.9 and outcome.spread > 0.8
    metrics = outcome.as_metrics()
    assert metrics["fid_untrained"] > 10 * metrics["fid_real"] > 0
    assert metrics["fid"] == outcome.fid and abs(metrics["kid"]) < 0.1 < metrics["kid_untrained"]
    out = capsys.readouterr().out
    assert "\u2714 results: FID" in out and "KID" in out and "score" in out


def test_results_reject_an_untrained_generator(stand_in):
    torch.manual_seed(0)
    fails(results, bank.Generator(), stand_in, fragments=["an untrained or collapsed generator"])


@pytest.mark.parametrize("n_faces", [1, 4])
def test_results_reject_a_collapsed_generator(stand_in, n_faces):
    other, _ = standins.celeba_standin("train", n=8, size=40, seed=7)
    collapsed = bank.collapsed(bank.preprocess(other, 32, 0.8), n_faces)
    text = fails(results, collapsed, stand_in, fragments=["results", "score"])
    assert ("collapsed" in text) == (n_faces == 1), text


def test_results_reject_a_half_broken_generator(stand_in):
    other, _ = standins.celeba_standin("train", n=300, size=40, seed=7)
    broken = bank.half_broken(bank.preprocess(other, 32, 0.8))
    fails(results, broken, stand_in, fragments=[f"a score of at least {check.PASS_SCORE:.2f}"])


def test_results_rejects_what_is_not_a_generator(stand_in):
    held_out, training = stand_in
    fails(check.results, bank.Generator, held_out, training, Z, untrained=bank.Generator,
          fragments=["an nn.Module instance", "not its class"])  # fmt: skip
    fails(check.results, bank.Generator(), "faces", training, Z, untrained=bank.Generator,
          fragments=["held-out faces", "str"])  # fmt: skip
    fails(check.results, bank.GeneratorSmall(), held_out, training, Z, untrained=bank.Generator,
          fragments=["samples like the held-out faces", "(300, 3, 16, 16)"])  # fmt: skip
