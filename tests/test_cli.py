"""python -m ganlib: train, resume through the same directory, sample; one-line errors."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from ganlib.__main__ import main

ROOT = Path(__file__).parents[1]


@pytest.fixture(autouse=True)
def _isolated(tmp_path, monkeypatch, one_thread):
    """Offline stand-ins cached in a temporary folder; one thread for tiny models."""
    monkeypatch.setenv("GANLIB_DATA_DIR", str(tmp_path / "data"))


def train(out, *extra, model="mlp", data="mnist"):
    argv = ["train", model, "--data", data, "--source", "offline", "--out", str(out), "--quiet"]
    return main(argv + ["--batch-size", "8", "--width", "4", *map(str, extra)])


def weights(run):
    state = torch.load(Path(run) / "checkpoint.pt", weights_only=True)
    return {f"{m}.{k}": v for m, sd in state["models"].items() for k, v in sd.items()}


def test_help_documents_every_option(capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["train", "--help"])
    assert exit_.value.code == 0
    text = capsys.readouterr().out
    for option in ("--data", "--source", "--epochs", "--steps", "--seconds", "--seed",
                   "--batch-size", "--image-size", "--out", "mlp, dcgan, cyclegan"):  # fmt: skip
        assert option in text
    with pytest.raises(SystemExit):
        main(["sample", "--help"])
    assert "--n" in capsys.readouterr().out


def test_wrong_options_give_one_line(capsys):
    for argv in (
        ["train", "gan", "--data", "mnist", "--steps", "1", "--out", "x"],
        ["train", "mlp", "--data", "mnist", "--out", "x"],  # no budget
        ["train", "mlp", "--data", "mnist", "--steps", "1", "--epochs", "1", "--out", "x"],
        ["train", "mlp", "--data", "mnist", "--steps", "0", "--out", "x"],
        ["fly"],
    ):
        with pytest.raises(SystemExit) as exit_:
            main(argv)
        assert exit_.value.code == 2
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "error:" in err and "Traceback" not in err


def test_missing_dataset_is_one_line(tmp_path, capsys):
    assert main(["train", "mlp", "--data", "nosuch", "--steps", "1", "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "nosuch" in err
    argv = ["--source", "folder", "--root", str(tmp_path / "missing"), "--steps", "1"]
    assert main(["train", "mlp", "--data", "mnist", *argv, "--out", str(tmp_path)]) != 0
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert train(tmp_path / "c", "--steps", "1", model="cyclegan") == 2
    assert "two-domain" in capsys.readouterr().err


def test_train_in_two_parts_equals_one_run(tmp_path, capsys):
    assert train(tmp_path / "a", "--steps", "3") == 0
    assert "3 steps" in capsys.readouterr().out
    assert train(tmp_path / "a", "--steps", "5") == 0  # continues from step 3
    assert train(tmp_path / "b", "--steps", "5") == 0
    a, b = weights(tmp_path / "a"), weights(tmp_path / "b")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    assert config["model"] == "mlp" and config["image_size"] == 28 and config["channels"] == 1
    # a resumed run must keep the options that define the model and the data
    assert train(tmp_path / "a", "--steps", "6", "--seed", "3") == 2
    assert "--seed 0" in capsys.readouterr().err


def test_resume_refuses_data_from_another_source(tmp_path, capsys, monkeypatch):
    """Started offline on the stand-in, resumed with network access: not on the real data."""
    from ganlib import data

    monkeypatch.setenv("GANLIB_OFFLINE", "1")  # --source auto falls back to the stand-in
    run = tmp_path / "run"
    argv = ["train", "mlp", "--data", "mnist", "--out", str(run), "--quiet", "--batch-size", "8"]
    assert main([*argv, "--width", "4", "--steps", "2"]) == 0
    config = json.loads((run / "config.json").read_text())
    assert config["source"] == "auto" and config["loaded"]["source"] == "stand-in"
    load, standin = data.load, data.load("mnist", source="offline")

    def load_real(*args, **kw):  # what `auto` finds once the network is back
        return data.ImageDataset(standin.images, name="mnist", source="download")

    monkeypatch.setattr(data, "load", load_real)
    capsys.readouterr()
    assert main([*argv, "--steps", "4"]) == 2
    err = capsys.readouterr().err
    assert f"was trained on stand-in data ({len(standin)} images)" in err
    assert "download data" in err and "--source offline" in err and "new --out" in err
    assert torch.load(run / "checkpoint.pt", weights_only=True)["step"] == 2  # untouched

    smaller = data.ImageDataset(standin.images[:100], name="mnist", source="stand-in")
    monkeypatch.setattr(data, "load", lambda *args, **kw: smaller)
    assert main([*argv, "--steps", "4"]) == 2
    assert "this time stand-in data (100 images)" in capsys.readouterr().err
    monkeypatch.setattr(data, "load", load)  # the stand-in again: the run continues
    assert main([*argv, "--source", "offline", "--steps", "4"]) == 0

    # a download that is read back from the cache later is the same data
    monkeypatch.setattr(data, "load", load_real)
    assert train(tmp_path / "real", "--steps", "1") == 0
    monkeypatch.setattr(
        data, "load", lambda *a, **kw: data.ImageDataset(standin.images, source="cache")
    )
    assert train(tmp_path / "real", "--steps", "2") == 0
    capsys.readouterr()
    assert train(tmp_path / "real", "--steps", "3", "--root", str(tmp_path)) == 2
    assert "without --root" in capsys.readouterr().err  # other images: a new run, not this one


def test_sample_writes_uint8_images(tmp_path, capsys):
    assert train(tmp_path / "run", "--steps", "2", model="dcgan", data="svhn") == 0
    out = tmp_path / "s.npz"
    assert main(["sample", str(tmp_path / "run"), "--n", "5", "--out", str(out)]) == 0
    images = np.load(out)["images"]
    assert images.dtype == np.uint8 and images.shape == (5, 3, 32, 32)
    main(["sample", str(tmp_path / "run"), "--n", "5", "--out", str(tmp_path / "same.npz")])
    main(
        [
            "sample",
            str(tmp_path / "run"),
            "--n",
            "5",
            "--seed",
            "1",
            "--out",
            str(tmp_path / "o.npz"),
        ]
    )
    assert np.array_equal(np.load(tmp_path / "same.npz")["images"], images)
    assert not np.array_equal(np.load(tmp_path / "o.npz")["images"], images)
    capsys.readouterr()
    assert main(["sample", str(tmp_path), "--n", "2"]) == 2
    err = capsys.readouterr().err
    assert "not a ganlib run directory" in err and len(err.strip().splitlines()) == 1


def test_cyclegan_translates(tmp_path):
    run = tmp_path / "cg"
    assert (
        train(run, "--steps", "1", "--image-size", "32", model="cyclegan", data="summer2winter")
        == 0
    )
    assert main(["sample", str(run), "--n", "3", "--out", str(tmp_path / "t.npz")]) == 0
    arrays = np.load(tmp_path / "t.npz")
    assert arrays["images"].shape == arrays["inputs"].shape == (3, 3, 32, 32)


def test_truncated_checkpoint_is_one_line(tmp_path, capsys):
    assert train(tmp_path, "--steps", "1") == 0
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(path.read_bytes()[:300])
    capsys.readouterr()
    assert train(tmp_path, "--steps", "2") == 1
    err = capsys.readouterr().err
    assert str(path) in err and len(err.strip().splitlines()) == 1


def test_python_dash_m_entry_point():
    done = subprocess.run(
        [sys.executable, "-m", "ganlib", "train", "mlp"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 2 and "the following arguments are required" in done.stderr
    assert "Traceback" not in done.stderr


def test_source_choices_are_the_data_sources():
    """The parser keeps --help free of torch, so it lists the sources itself: the same ones."""
    from ganlib import data
    from ganlib.__main__ import build_parser

    train = build_parser()._subparsers._group_actions[0].choices["train"]
    source = next(a for a in train._actions if a.dest == "source")
    assert tuple(source.choices) == data.SOURCES
