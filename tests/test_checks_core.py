"""The checker toolkit every lesson's checks are built on."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib import checks
from ganlib.checks import CheckFailed


def test_check_failed_message_has_expected_found_hint():
    err = CheckFailed("generator output", expected="shape (4, 1)", found="shape (4, 2)", hint="fix")
    text = str(err)
    assert text.splitlines()[0] == "generator output"
    assert "expected: shape (4, 1)" in text and "found:    shape (4, 2)" in text
    assert "hint:     fix" in text
    assert isinstance(err, AssertionError)


def test_passed_prints_one_line(capsys):
    checks.passed("discriminator", "logits of shape (16, 1)")
    out = capsys.readouterr().out
    assert out == "\u2714 discriminator: logits of shape (16, 1)\n"


def test_call_turns_errors_into_readable_failures():
    def broken(x):
        return x @ torch.ones(3, 3)  # wrong inner size for a (2, 2) input

    with pytest.raises(CheckFailed) as info:
        checks.call(broken, torch.ones(2, 2), what="my function")
    assert "RuntimeError" in str(info.value) and "my function" in str(info.value)
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_call_recognises_the_placeholder():
    def todo():
        raise NotImplementedError

    with pytest.raises(CheckFailed, match="placeholder"):
        checks.call(todo, what="exercise")


def test_call_refuses_a_value_instead_of_a_function():
    with pytest.raises(CheckFailed, match="without calling it"):
        checks.call(torch.ones(2), what="loss")


class Tiny(nn.Module):
    def __init__(self, width: int = 3) -> None:
        super().__init__()
        self.fc = nn.Linear(width, 1)


class Empty(nn.Module):
    def __init__(self) -> None:
        super().__init__()


def test_build_accepts_class_or_instance():
    assert isinstance(checks.build(Tiny, 4, what="net"), Tiny)
    instance = Tiny()
    assert checks.build(instance, what="net") is instance


@pytest.mark.parametrize(
    ("obj", "message"),
    [
        (int, "subclass of torch.nn.Module"),
        (Empty, "no parameters"),
        ("Tiny", "nn.Module class or instance"),
        (None, "nn.Module class or instance"),
    ],
)
def test_build_says_what_is_wrong(obj, message):
    with pytest.raises(CheckFailed, match=message):
        checks.build(obj, what="net")


def test_build_reports_a_wrong_signature():
    with pytest.raises(CheckFailed, match="TypeError"):
        checks.build(Tiny, 1, 2, 3, what="net")


def test_expect_tensor():
    t = torch.zeros(2, 3)
    assert checks.expect_tensor(t, "x", shape=(2, 3)) is t
    with pytest.raises(CheckFailed, match="forget its `return`"):
        checks.expect_tensor(None, "x")
    with pytest.raises(CheckFailed, match=r"shape \(2, 3\)"):
        checks.expect_tensor(torch.zeros(3, 2), "x", shape=(2, 3))
    with pytest.raises(CheckFailed, match="NaN or Inf"):
        checks.expect_tensor(torch.tensor([float("nan")]), "x")
    with pytest.raises(CheckFailed, match="torch.Tensor"):
        checks.expect_tensor([1.0], "x")


def test_expect_close():
    checks.expect_close(torch.tensor(1.0), 1.0, "loss")
    with pytest.raises(CheckFailed, match="largest difference"):
        checks.expect_close(torch.tensor(1.1), 1.0, "loss")
    with pytest.raises(CheckFailed, match="shape"):
        checks.expect_close(torch.ones(2), torch.ones(3), "loss")


def test_seeded_restores_the_learners_rng():
    torch.manual_seed(7)
    expected = torch.rand(1)
    torch.manual_seed(7)
    with checks.seeded(0):
        inside = torch.rand(1)
    assert torch.equal(torch.rand(1), expected)
    with checks.seeded(0):
        assert torch.equal(torch.rand(1), inside)
    torch.manual_seed(7)
    with pytest.raises(RuntimeError), checks.seeded(0):
        raise RuntimeError("a failing check")
    assert torch.equal(torch.rand(1), expected)  # restored even when the block fails


def test_seeded_restores_the_cuda_rng_too(monkeypatch):
    # torch.manual_seed reseeds every GPU as well; stand in for CUDA so this runs on any machine.
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: ["learner's GPU state"])
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.append)
    monkeypatch.setattr(torch.cuda, "manual_seed_all", lambda seed: None)  # no real GPU to seed
    with checks.seeded(0):
        assert restored == []
    assert restored == [["learner's GPU state"]]


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a GPU")
def test_seeded_leaves_the_real_gpu_generator_alone():
    torch.cuda.manual_seed_all(7)
    expected = torch.rand(3, device="cuda")
    torch.cuda.manual_seed_all(7)
    with checks.seeded(0):
        torch.rand(3, device="cuda")
    assert torch.equal(torch.rand(3, device="cuda"), expected)


def test_seeded_fixes_and_restores_every_random_generator():
    import random

    import numpy as np

    from ganlib.checks import seeded

    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    before = random.random(), np.random.rand(), torch.rand(()).item()
    random.seed(1), np.random.seed(1), torch.manual_seed(1)
    with seeded(5):
        inside = random.random(), np.random.rand(), torch.rand(()).item()
    with seeded(5):
        assert (random.random(), np.random.rand(), torch.rand(()).item()) == inside
    assert (random.random(), np.random.rand(), torch.rand(()).item()) == before
