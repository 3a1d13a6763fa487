"""ganlib.device's helpers for running networks: module_device and eval_mode."""

import pytest
import torch
from torch import nn

from ganlib.device import eval_mode, module_device


def test_module_device_reads_parameters_then_buffers_else_the_cpu():
    assert module_device(nn.Linear(2, 2).to("meta")) == torch.device("meta")
    only_buffers = nn.BatchNorm1d(3, affine=False).to("meta")
    assert module_device(only_buffers) == torch.device("meta")
    assert module_device(nn.ReLU()) == torch.device("cpu")


def test_eval_mode_runs_without_gradients_and_restores_every_submodule():
    net = nn.Sequential(nn.Linear(2, 4), nn.BatchNorm1d(4), nn.Dropout(0.5)).train()
    net[1].eval()  # a frozen batch norm inside a training model
    other = nn.Linear(2, 2).eval()
    with eval_mode(net, other, None, torch.tanh):  # None and functions are skipped
        assert not any(m.training for m in net.modules())
        assert not torch.is_grad_enabled()
        out = net(torch.randn(5, 2))
    assert not out.requires_grad
    assert [m.training for m in net] == [True, False, True] and net.training
    assert not other.training
    with pytest.raises(RuntimeError, match="boom"), eval_mode(net):
        raise RuntimeError("boom")
    assert net.training and not net[1].training, "modes come back after an error too"
