"""ganlib.colab.setup: nothing outside Colab; on Colab, runs and data on Drive and a GPU check."""

import os
import sys
import types

import pytest

from ganlib import colab


@pytest.fixture
def fake_colab(monkeypatch, tmp_path):
    """A `google.colab` module whose drive.mount creates MyDrive (or fails, if told to)."""
    mounted = []

    def mount(root):
        if fake.fail:
            raise fake.fail
        (tmp_path / "drive" / "MyDrive").mkdir(parents=True, exist_ok=True)
        mounted.append(root)

    fake = types.SimpleNamespace(fail=None, mounted=mounted, root=str(tmp_path / "drive"))
    google = types.ModuleType("google")
    google_colab = types.ModuleType("google.colab")
    google_colab.drive = types.SimpleNamespace(mount=mount)
    google.colab = google_colab
    monkeypatch.setitem(sys.modules, "google", google)
    monkeypatch.setitem(sys.modules, "google.colab", google_colab)
    monkeypatch.delenv("GANLIB_DATA_DIR", raising=False)
    monkeypatch.chdir(tmp_path)
    return fake


def test_outside_colab_setup_does_nothing(monkeypatch, tmp_path, capsys):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.chdir(tmp_path)
    assert colab.setup() == colab.Setup(colab=False)
    assert os.getcwd() == str(tmp_path) and capsys.readouterr().out == ""


def test_on_colab_runs_and_data_go_to_drive(fake_colab, tmp_path, capsys):
    result = colab.setup(drive_root=fake_colab.root)
    course = tmp_path / "drive" / "MyDrive" / "gan-course"
    assert result.colab and result.folder == course and fake_colab.mounted == [fake_colab.root]
    assert os.getcwd() == str(course)  # a relative OUT_DIR now lands on Drive
    assert os.environ["GANLIB_DATA_DIR"] == str(course / "data")
    out = capsys.readouterr().out
    assert "resumes training and does not download again" in out
    assert "no GPU" in out and colab.GPU_MENU in out  # the test machine has no GPU


def test_a_declined_drive_keeps_going_on_the_runtime_disk(fake_colab, tmp_path, capsys):
    fake_colab.fail = ValueError("mount failed: user declined")
    result = colab.setup(drive_root=fake_colab.root)
    assert result.colab and result.folder is None and os.getcwd() == str(tmp_path)
    assert "GANLIB_DATA_DIR" not in os.environ
    out = capsys.readouterr().out
    assert "not mounted (mount failed: user declined)" in out and "lost when Colab recycles" in out


def test_drive_can_be_left_alone(fake_colab, capsys):
    assert colab.setup(drive=False, drive_root=fake_colab.root).folder is None
    assert fake_colab.mounted == [] and "stay on this runtime's disk" in capsys.readouterr().out
