"""How training-step checkers watch a learner's step (ganlib.checks.training)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from ganlib.checks import CheckFailed, training


def tiny_gan(seed: int = 0):
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        G, D = nn.Linear(2, 3), nn.Linear(3, 1)
    opt_g = torch.optim.SGD(G.parameters(), lr=0.1)
    opt_d = torch.optim.SGD(D.parameters(), lr=0.1)
    return G, D, opt_g, opt_d


def gan_step(real, G, D, opt_g, opt_d, *, detach=True, retain=False):
    fake = G(torch.randn(len(real), 2))
    opt_d.zero_grad()
    d_loss = D(real).mean() - D(fake.detach() if detach else fake).mean()
    d_loss.backward(retain_graph=retain)
    opt_d.step()
    opt_g.zero_grad()
    g_loss = -D(fake).mean()
    g_loss.backward()
    opt_g.step()
    return {"d_loss": d_loss.item(), "g_loss": g_loss}


def test_step_watch_records_each_step_with_the_gradients_it_applied():
    G, D, opt_g, opt_d = tiny_gan()
    seen = []
    watch = training.StepWatch({"g": opt_g, "d": opt_d}, on_step=seen.append, backward_into=G)
    before = training.weights(D)
    real = torch.randn(4, 3)
    d_grads = []
    opt_d.register_step_pre_hook(lambda *_: d_grads.append(training.grads(D.parameters())))
    result = watch.call(gan_step, real, G, D, opt_g, opt_d, what="step")
    assert watch.order == seen == ["d", "g"]
    assert all(torch.equal(a, b) for a, b in zip(watch.grads["d"][0], d_grads[0], strict=True))
    assert watch.backward_passes == 1
    assert training.moved(D, before) and not training.moved(D, training.weights(D))
    assert training.as_number(result["g_loss"]) == pytest.approx(result["g_loss"].item())
    watch.reset()
    assert watch.order == [] and watch.grads == {"g": [], "d": []}


def test_a_discriminator_loss_that_reaches_the_generator_is_seen_both_ways():
    G, D, opt_g, opt_d = tiny_gan()
    undetached = training.reached_generator_again(expected="D stops at the fakes", hint="detach")
    watch = training.StepWatch({"g": opt_g, "d": opt_d}, backward_into=G)
    watch.call(gan_step, torch.randn(4, 3), G, D, opt_g, opt_d, detach=False, retain=True, what="s")
    assert watch.backward_passes == 2
    watch = training.StepWatch({"g": opt_g, "d": opt_d}, on_reused_graph=undetached)
    with pytest.raises(CheckFailed) as info:
        watch.call(gan_step, torch.randn(4, 3), G, D, opt_g, opt_d, detach=False, what="s")
    assert "backward ran into the generator's graph again" in str(info.value)
    assert "hint:     detach" in str(info.value) and info.value.what == "s"


def test_expect_stepped_with_names_the_mistake_the_gradients_match():
    w = nn.Parameter(torch.tensor([1.0, 2.0]))
    right, wrong = (w**2).sum(), (w**3).sum()
    stepped = training.loss_grads(wrong, [w])
    kwargs = {"expected": "grads of right", "found": "other grads", "hint": "generic"}
    training.expect_stepped_with(training.loss_grads(right, [w]), right, [w], "step", **kwargs)
    with pytest.raises(CheckFailed, match="hint:     cubed"):
        training.expect_stepped_with(
            stepped, right, [w], "step", mistakes={"cubed": wrong}, **kwargs
        )
    with pytest.raises(CheckFailed, match="hint:     no backward"):
        training.expect_stepped_with(
            [torch.zeros(2)], right, [w], "step", no_grads_hint="no backward", **kwargs
        )


@pytest.mark.parametrize(
    ("value", "number"),
    [(1.5, 1.5), (2, 2.0), (np.float64(0.5), 0.5), (torch.tensor([3.0]), 3.0), (True, None)],
)
def test_as_number_reads_what_a_step_may_return(value, number):
    assert training.as_number(value) == number
    assert training.as_number(torch.ones(2)) is None and training.as_number(None) is None
