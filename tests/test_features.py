"""ganlib.features: where the feature nets run, and the [0, 1] range warning."""

import warnings

import pytest
import torch
from torch import nn

from ganlib import features, metrics


class TinyClassifier(nn.Module):
    """A learner's own classifier: 1x8x8 images -> 3 class logits."""

    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(64, 3))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class RecordingNet(nn.Module):
    """A stand-in for a module on another device (CUDA): records moves instead of making them.

    Its parameter lives on the ``meta`` device, so it reports a device other than the CPU even on
    a machine without a GPU; ``to`` only records the target, and ``forward`` records where each
    batch arrived and returns CPU features.
    """

    def __init__(self, device: str = "meta") -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(1, device=device))
        self.moves: list[torch.device] = []
        self.seen: list[torch.device] = []

    def to(self, device, *args, **kwargs):  # a mock: record, do not move
        self.moves.append(torch.device(device))
        return self

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.seen.append(x.device)
        return torch.zeros(len(x), 2)


def images(n: int = 6) -> torch.Tensor:
    return torch.linspace(-1, 1, n * 64).reshape(n, 1, 8, 8)


# --------------------------------------------------------------------------- devices


def test_a_learners_cpu_module_stays_where_it_was():
    net = TinyClassifier().train()
    metrics.class_coverage(images(), net)
    features.extract(images(), net, device="cpu")
    assert {p.device.type for p in net.parameters()} == {"cpu"}
    assert net.training  # the mode is restored too


def test_device_none_runs_where_the_module_lives():
    net = RecordingNet("meta")
    features.extract(images(), net, batch_size=4)
    assert net.seen == [torch.device("meta")] * 2, "batches must go to the module's own device"
    assert all(move == torch.device("meta") for move in net.moves), net.moves


def test_an_explicit_device_is_used_and_the_module_is_moved_back():
    net = RecordingNet("cpu")
    metrics.class_coverage(images(), net, device="meta")
    assert net.seen == [torch.device("meta")]
    assert net.moves[0] == torch.device("meta")
    assert net.moves[-1] == torch.device("cpu"), "the caller's model must go back where it was"


def test_cached_shipped_nets_stay_on_the_cpu():
    features.extract(torch.zeros(2, 1, 28, 28), "mnist", device="cpu")
    assert {p.device.type for p in features.load("mnist").parameters()} == {"cpu"}


# --------------------------------------------------------------------------- the [0, 1] warning


def test_images_in_0_1_warn_once_per_call_naming_the_conversion():
    unit = (images() + 1) / 2  # what data.to_unit gives
    with pytest.warns(UserWarning, match=r"\[-1, 1\].*x \* 2 - 1") as record:
        features.extract(unit, TinyClassifier(), batch_size=2)  # three batches, one warning
    assert len([w for w in record if "x * 2 - 1" in str(w.message)]) == 1
    assert record[0].filename == __file__, "the warning should point at the caller"
    with pytest.warns(UserWarning, match=r"\[-1, 1\]"):
        metrics.class_coverage(unit, TinyClassifier())


@pytest.mark.parametrize(
    "good",
    [
        images(),  # [-1, 1]
        ((images() + 1) * 127.5).to(torch.uint8),  # uint8 is rescaled, not ambiguous
        torch.zeros(4, 1, 8, 8),  # constant: no evidence of the wrong range
        torch.full((4, 1, 8, 8), 0.5),
    ],
)
def test_images_in_the_right_range_do_not_warn(good):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        features.extract(good, TinyClassifier())
