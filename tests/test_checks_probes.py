"""The probes several lessons' checkers share (ganlib.checks.probes) and expect_close's table."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from ganlib.checks import CheckFailed, expect_close, probes


def leaky_mlp(inplace: bool = False) -> nn.Sequential:
    return nn.Sequential(nn.Linear(8, 64), nn.LeakyReLU(0.2, inplace=inplace), nn.Linear(64, 1))


@pytest.mark.parametrize("inplace", [False, True])
def test_trace_records_each_layer_as_it_ran(inplace):
    torch.manual_seed(0)
    net = leaky_mlp(inplace)
    out, calls = probes.trace(net, torch.randn(16, 8), what="net")
    assert [c.name for c in calls] == ["0", "1", "2"]
    assert [c.name for c in probes.layers(calls)] == ["0", "2"]
    # an in-place activation must not overwrite what the first layer gave out
    assert calls[0].output.min() < 0
    assert probes.leaky_slope(calls[0].output, calls[2].input) == pytest.approx(0.2, abs=1e-4)
    assert torch.equal(out, calls[-1].output)


def test_build_and_trace_gives_the_same_verdict_and_leaves_the_rng_alone():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    first = probes.build_and_trace(nn.Linear, lambda: torch.randn(4, 8), "net", args=(8, 3))
    assert torch.equal(torch.random.get_rng_state(), state)
    second = probes.build_and_trace(nn.Linear, lambda: torch.randn(4, 8), "net", args=(8, 3))
    assert torch.equal(first[1], second[1]) and torch.equal(first[2], second[2])
    assert first[0].training


class Gated(nn.Module):
    """A parameter that takes part in forward with weight zero: its gradient is all zeros."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 1)
        self.gate = nn.Parameter(torch.ones(1))

    def forward(self, x):
        return self.fc(x) + 0 * self.gate


def test_expect_gradients_names_a_parameter_with_no_gradient():
    net = Gated()
    with pytest.raises(CheckFailed, match="no gradient for gate"):
        probes.expect_gradients(net, net(torch.randn(4, 3)), "gated")
    assert all(p.grad is None for p in net.parameters())  # the probe leaves no gradients behind
    healthy = nn.Linear(3, 1)
    probes.expect_gradients(healthy, healthy(torch.randn(4, 3)), "linear")


def test_expect_tanh_output_and_raw_scores_tell_the_activations_apart():
    z = torch.randn(8, 8)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        tanh = nn.Sequential(nn.Linear(8, 16), nn.Tanh())
        sigmoid = nn.Sequential(nn.Linear(8, 16), nn.Sigmoid())
    out, calls = probes.trace(tanh, z, what="G")
    probes.expect_tanh_output(tanh, calls, z, out, "G")
    out, calls = probes.trace(sigmoid, z, what="G")
    with pytest.raises(CheckFailed, match="no negative values"):
        probes.expect_tanh_output(sigmoid, calls, z, out, "G")
    with pytest.raises(CheckFailed, match="a sigmoid at the end"):
        probes.expect_raw_scores(sigmoid, calls, z, "D", expected="logits", hint="no sigmoid")
    with pytest.raises(CheckFailed, match=r"range \[-2"):
        probes.expect_pixel_range(torch.tensor([-2.0, 0.5]), "G")


def test_expect_scalar_takes_one_number_in_any_shape():
    assert probes.expect_scalar(torch.ones(1, 1), "loss", hint="").shape == ()
    with pytest.raises(CheckFailed, match="shape \\(2,\\)") as info:
        probes.expect_scalar(torch.ones(2), "loss", hint="", mean_hint="use .mean()")
    assert "use .mean()" in str(info.value)
    with pytest.raises(CheckFailed, match="no grad_fn"):
        probes.expect_connected(torch.ones(()), "loss", expected="a graph")


def test_expect_close_names_the_first_mistake_the_value_matches():
    mistakes = {"flipped": -1.0, "halved": 0.5, "also flipped": -1.0}
    expect_close(1.0, 1.0, "value", hint="generic", mistakes=mistakes)
    with pytest.raises(CheckFailed, match="hint:     flipped"):
        expect_close(-1.0, 1.0, "value", hint="generic", mistakes=mistakes)
    with pytest.raises(CheckFailed, match="hint:     generic"):
        expect_close(3.0, 1.0, "value", hint="generic", mistakes=mistakes)


def test_call_explained_names_the_mistake_behind_a_known_torch_error():
    import torch.nn.functional as F

    from ganlib.checks import CheckFailed
    from ganlib.checks.probes import call_explained

    explain = {"between 0 and 1": ("BCE given logits", "apply the sigmoid inside the loss")}
    logits = torch.tensor([3.0, -2.0])
    with pytest.raises(CheckFailed) as err:
        call_explained(F.binary_cross_entropy, logits, torch.ones(2), what="loss", explain=explain)
    text = str(err.value)
    assert "found:    BCE given logits (torch says: RuntimeError:" in text
    assert "hint:     apply the sigmoid inside the loss" in text
    # an error no fragment matches fails as call() does; a working call returns its value
    with pytest.raises(CheckFailed, match="ZeroDivisionError"):
        call_explained(lambda: 1 / 0, what="x", explain=explain)
    assert call_explained(lambda a: a + 1, 1, what="x", explain=explain) == 2
