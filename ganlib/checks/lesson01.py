"""Checkers for lesson 01, the MLP GAN on MNIST: D, G, the losses and one training step.

The networks are checked by what they do: the shape and range of their output, the slope of the
activation between two linear layers (read with forward hooks, so nn.LeakyReLU and F.leaky_relu
both work), dropout, and gradients reaching every parameter. The training step is run on a tiny
spy D and G that record every call, so the checker can recompute the gradients each optimizer
should see and name the mistake when they differ.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import Tensor, nn

from ganlib import losses

from . import CheckFailed, build, call, expect_close, expect_tensor, passed, seeded
from .probes import (
    LayerCall,
    bce,
    expect_connected,
    expect_gradients,
    expect_scalar,
    layers,
    random_logits,
    trace,
)
from .training import StepWatch, as_number, expect_stepped_with, grads, moved, same_grads, weights

__all__ = ["discriminator", "generator", "real_loss", "fake_loss", "train_step"]

IMAGE_SHAPE = (1, 28, 28)
_EVERY_PARAMETER = "gradients reaching every parameter"
_USE_EVERY_LAYER = "use every layer in forward() and do not .detach() inside the network"


def _hidden_pairs(calls: list[LayerCall]) -> list[tuple[Tensor, Tensor]]:
    """(pre-activation of linear layer i, input of linear layer i + 1) for consecutive layers."""
    linears = layers(calls, (nn.Linear,))
    return [
        (before.output, after.input)
        for before, after in zip(linears, linears[1:], strict=False)
        if before.output.shape == after.input.shape
    ]


def _check_leaky_relu(module: nn.Module, x: Tensor, what: str, slope: float = 0.2) -> None:
    """Between linear layers (eval mode, no dropout) the activation must be LeakyReLU(slope)."""
    module.eval()
    with torch.no_grad():
        _, calls = trace(module, x, what=what)
    pairs = _hidden_pairs(calls)
    if len(pairs) < 1:
        raise CheckFailed(
            what,
            expected="hidden layers built from nn.Linear, with an activation between them",
            found=f"{len(layers(calls, (nn.Linear,)))} nn.Linear layer(s) ran",
            hint="stack nn.Linear layers with nn.LeakyReLU(0.2) between them",
        )
    for i, (pre, post) in enumerate(pairs):
        neg, pos = pre < -1e-3, pre > 1e-3
        if not neg.any() or not pos.any():
            continue
        if not torch.allclose(post[pos], pre[pos], atol=1e-4, rtol=1e-3):
            raise CheckFailed(
                f"{what}: activation after linear layer {i + 1}",
                expected="LeakyReLU: positive inputs pass through unchanged",
                found="positive inputs changed (another activation, or a normalisation, in between?)",
                hint="use nn.LeakyReLU(0.2) right after each hidden nn.Linear",
            )
        found = (post[neg] / pre[neg]).median().item()
        if abs(found - slope) > 1e-3:
            name = "ReLU (slope 0)" if abs(found) < 1e-6 else f"slope {found:.3g}"
            raise CheckFailed(
                f"{what}: activation after linear layer {i + 1}",
                expected=f"LeakyReLU with negative slope {slope}",
                found=name,
                hint=f"nn.LeakyReLU({slope}): the default slope of nn.LeakyReLU is 0.01",
            )


def discriminator(cls_or_module: Any, **kwargs: Any) -> None:
    """The MLP discriminator: images (N, 1, 28, 28) -> one logit each, LeakyReLU(0.2), dropout."""
    what = "discriminator"
    with seeded(0):  # the learner's weights and the inputs: the same verdict every run
        D = build(cls_or_module, what=what, **kwargs)
        x = torch.rand(64, *IMAGE_SHAPE) * 2 - 1
        D.train()
        out = expect_tensor(
            call(D, x, what=what),
            what + " output",
            shape=(64, 1),
            hint="end with nn.Linear(hidden, 1) and flatten the images first: x.view(len(x), -1)",
        )
        expect_gradients(D, out, what, expected=_EVERY_PARAMETER, hint=_USE_EVERY_LAYER)
        with torch.no_grad():
            D.eval()
            a, b = D(x), D(x)
        if not torch.equal(a, b):
            raise CheckFailed(
                what + ": eval mode",
                expected="the same output twice in eval mode",
                found="different outputs",
                hint="use nn.Dropout (a module), so D.eval() can switch it off",
            )
        _check_leaky_relu(D, x, what)
        # Logits, not probabilities: scaled-up inputs push a linear output far outside (0, 1).
        with torch.no_grad():
            big = D.eval()(100 * x)
        if big.min() >= 0 and big.max() <= 1:
            raise CheckFailed(
                what + " output",
                expected="raw scores (logits), unbounded",
                found="values that stay between 0 and 1: a sigmoid at the end",
                hint="drop the final sigmoid: BCEWithLogitsLoss applies it, more stably",
            )
        # Dropout: a train-mode pass zeroes a share of the hidden units, an eval-mode pass none.
        D.train()
        with torch.no_grad():
            _, calls = trace(D, x, what=what)
        pairs = _hidden_pairs(calls)
        dropped = [
            ((post == 0) & (pre > 1e-3)).float().sum() / (pre > 1e-3).float().sum()
            for pre, post in pairs
        ]
        rate = max((r.item() for r in dropped), default=0.0)
        if rate < 0.1 or rate > 0.6:
            raise CheckFailed(
                what + ": dropout",
                expected="dropout (p = 0.3) after the hidden activations in train mode",
                found=f"{rate:.0%} of the hidden units dropped",
                hint="add nn.Dropout(0.3) after each hidden LeakyReLU",
            )
    D.train()
    passed(what, f"(64, 1, 28, 28) -> (64, 1) logits, LeakyReLU(0.2), dropout ~{rate:.0%}")


def generator(cls_or_module: Any, z_dim: int = 100, **kwargs: Any) -> None:
    """The MLP generator: z (N, z_dim) -> images (N, 1, 28, 28) in [-1, 1] (Tanh)."""
    what = "generator"
    with seeded(0):  # the learner's weights and the inputs: the same verdict every run
        G = build(cls_or_module, what=what, **kwargs)
        z = torch.randn(64, z_dim)
        G.train()
        out = expect_tensor(
            call(G, z, what=what, hint=f"the generator takes z of shape (N, {z_dim})"),
            what + " output",
            shape=(64, *IMAGE_SHAPE),
            hint="end with nn.Linear(hidden, 784) then reshape: x.view(-1, 1, 28, 28)",
        )
        expect_gradients(G, out, what, expected=_EVERY_PARAMETER, hint=_USE_EVERY_LAYER)
        _check_leaky_relu(G, z, what)
        with torch.no_grad():
            big = G.eval()(10 * z)
    G.train()
    if big.max() > 1 + 1e-5 or big.min() < -1 - 1e-5:
        raise CheckFailed(
            what + " output range",
            expected="pixels in [-1, 1], like the scaled training images",
            found=f"values from {big.min().item():.3g} to {big.max().item():.3g}",
            hint="end with nn.Tanh()",
        )
    if big.min() > -0.5:
        raise CheckFailed(
            what + " output range",
            expected="pixels in [-1, 1] (Tanh), reaching negative values",
            found=f"values from {big.min().item():.3g} to {big.max().item():.3g}: a sigmoid?",
            hint="end with nn.Tanh(), whose range [-1, 1] matches the scaled images",
        )
    passed(what, f"(64, {z_dim}) -> (64, 1, 28, 28), LeakyReLU(0.2), Tanh output in [-1, 1]")


_REACHING = "a gradient reaching the logits"


def _loss_value(fn: Callable[..., Tensor], what: str, *args: Any, **kwargs: Any) -> Tensor:
    return expect_scalar(
        call(fn, *args, what=what, **kwargs),
        what,
        hint="return the loss tensor",
        expected="one number, the mean over the batch",
    )


def _expect_backward(loss: Tensor, logits: Tensor, what: str) -> None:
    """The loss backpropagates to ``logits`` (a leaf that requires grad)."""
    expect_connected(loss, what, expected=_REACHING)
    call(loss.backward, what=what)
    if logits.grad is None:
        raise CheckFailed(what, expected=_REACHING, found="none", hint="do not detach the logits")


def real_loss(fn: Callable[..., Tensor]) -> None:
    """``fn(d_logits, smooth=False)``: BCE against label 1, or 0.9 with ``smooth=True``."""
    what = "real loss"
    logits = random_logits(32, seed=11)
    for smooth, label in ((False, 1.0), (True, 0.9)):
        case = f"{what} (smooth={smooth})"
        x = logits.clone().requires_grad_(True)
        loss = _loss_value(fn, case, x, smooth=smooth)
        other_label = (
            "with smooth=True the labels are 0.9 instead of 1 (label smoothing)"
            if smooth
            else "smooth only when smooth=True; otherwise the labels are 1"
        )
        mistakes = {
            "real images get the label 1 (0.9 when smoothing)": bce(logits, 0.0),
            "the discriminator outputs logits: do not apply a sigmoid before BCEWithLogitsLoss": bce(
                torch.sigmoid(logits), label
            ),
            other_label: bce(logits, 1.0 if smooth else 0.9),
            "average over the batch (the default reduction='mean'), do not sum": bce(logits, label)
            * logits.numel(),
        }
        expect_close(
            loss.detach(),
            losses.real_loss(logits, label),
            case,
            hint="labels = torch.ones_like(d_logits) * (0.9 if smooth else 1.0); BCEWithLogitsLoss",
            mistakes=mistakes,
        )
        _expect_backward(loss, x, case)
    passed(what, "BCE with label 1, or 0.9 when smoothing")


def fake_loss(fn: Callable[[Tensor], Tensor]) -> None:
    """``fn(d_logits)``: BCE against label 0."""
    what = "fake loss"
    logits = random_logits(32, seed=12)
    x = logits.clone().requires_grad_(True)
    loss = _loss_value(fn, what, x)
    expect_close(
        loss.detach(),
        losses.fake_loss(logits),
        what,
        hint="labels = torch.zeros_like(d_logits); BCEWithLogitsLoss",
        mistakes={
            "fake images get the label 0": bce(logits, 1.0),
            "the discriminator outputs logits: do not apply a sigmoid before BCEWithLogitsLoss": bce(
                torch.sigmoid(logits), 0.0
            ),
        },
    )
    _expect_backward(loss, x, what)
    passed(what, "BCE with label 0")


# --- the training step ------------------------------------------------------------------------

_TINY = (1, 4, 4)
_TINY_Z = 3


class _Recorder:
    """What the spy networks saw during one training step: which ran on what, in which phase."""

    def __init__(self) -> None:
        self.phase = "d"  # "g" once d_optimizer has stepped
        self.d_calls: list[tuple[str, Tensor, Tensor]] = []  # (phase, input, output)
        self.g_calls: list[tuple[str, Tensor, Tensor]] = []
        self.errors: list[CheckFailed] = []
        self.expected: dict[str, float] = {}  # the reference d_loss and g_loss of this step
        self.g_grads: list[Tensor] = []  # G's gradients when the step began

    def start(self, G: nn.Module) -> None:
        self.phase, self.d_calls, self.g_calls, self.expected = "d", [], [], {}
        self.g_grads = grads(G.parameters())


class _SpyD(nn.Module):
    def __init__(self, recorder: _Recorder | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Flatten(), nn.Linear(16, 8), nn.LeakyReLU(0.2), nn.Linear(8, 1))
        self.recorder = recorder

    def forward(self, x: Tensor) -> Tensor:
        out = self.net(x)
        if self.recorder is not None:
            self.recorder.d_calls.append((self.recorder.phase, x.detach().clone(), out))
        return out


class _SpyG(nn.Module):
    def __init__(self, recorder: _Recorder | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(_TINY_Z, 8), nn.LeakyReLU(0.2), nn.Linear(8, 16), nn.Tanh()
        )
        self.recorder = recorder

    def forward(self, z: Tensor) -> Tensor:
        out = self.net(z).view(-1, *_TINY)
        if self.recorder is not None:
            self.recorder.g_calls.append(
                (self.recorder.phase, z.detach().clone(), out.detach().clone())
            )
        return out


def _made_by_g(x: Tensor, g_outputs: list[Tensor]) -> bool:
    """Whether every image in ``x`` is (up to rounding) one of the images G produced."""
    pixels = _TINY[0] * _TINY[1] * _TINY[2]
    if not g_outputs or x.numel() % pixels:
        return False
    made = torch.cat([out.reshape(-1, pixels) for out in g_outputs])
    images = x.reshape(-1, pixels)
    distance = (images[:, None] - made[None]).abs().amax(dim=-1)  # (scored, made), max pixel gap
    return bool((distance.amin(dim=1) <= 1e-5).all())


_STEP_WHAT = {"d": "train_step: discriminator step", "g": "train_step: generator step"}
_OUT_OF_ORDER = {  # (expected, hint) when this optimizer steps out of order
    "d": (
        "one d_optimizer.step(), before the generator step",
        "first update D (real and fake), then G; call each optimizer's step() once",
    ),
    "g": (
        "the D step first, then one g_optimizer.step()",
        "update D first (d_optimizer.step()), then G (g_optimizer.step())",
    ),
}

_STEPPED_WITH = {  # (expected, hint when there is no gradient at all) for each optimizer's step
    "d": (
        "D's gradients of real_loss(D(real), smooth=True) + fake_loss(D(fake.detach()))",
        "call d_loss.backward() before d_optimizer.step() (and zero_grad before backward)",
    ),
    "g": (
        "G's gradients of real_loss(D(G(z))) (labels flipped to 1, no smoothing)",
        "call g_loss.backward() before g_optimizer.step()",
    ),
}


class _SpyGAN:
    """A tiny D and G that record every call, and SGD optimizers watched at each step.

    At each optimizer step the learner's code takes, the gradients it leaves behind are compared
    with those of the right loss, recomputed on fresh copies of the networks.
    """

    def __init__(self) -> None:
        self.recorder = _Recorder()
        self.D, self.G = _SpyD(self.recorder), _SpyG(self.recorder)
        self.real = torch.rand(8, *_TINY) * 2 - 1
        self.d_optimizer = torch.optim.SGD(self.D.parameters(), lr=0.05)
        self.g_optimizer = torch.optim.SGD(self.G.parameters(), lr=0.05)
        self.watch = StepWatch(
            {"d": self.d_optimizer, "g": self.g_optimizer},
            on_step=self._on_step,
            on_reused_graph=_stale_verdict,
            graph_errors=("inplace operation",),  # a graph changed by d_optimizer.step()
        )

    def _on_step(self, name: str) -> None:
        try:
            self._check_order(name)
            self._check_d() if name == "d" else self._check_g()
        except CheckFailed as failure:
            self.recorder.errors.append(
                failure
            )  # raised after the step: the learner's code runs on
        if name == "d":
            self.recorder.phase = "g"

    def _check_order(self, name: str) -> None:
        """D steps once, then G once: checked as each optimizer steps."""
        steps = self.watch.order
        if name == "d":
            wrong = steps.count("d") > 1 or "g" in steps
        else:
            wrong = "d" not in steps or steps.count("g") > 1
        if wrong:
            expected, hint = _OUT_OF_ORDER[name]
            found = "order of steps: " + " -> ".join(steps)
            raise CheckFailed(_STEP_WHAT[name], expected=expected, found=found, hint=hint)

    def _fresh(self) -> tuple[_SpyD, _SpyG]:
        D, G = _SpyD(), _SpyG()
        D.load_state_dict(self.D.state_dict())
        G.load_state_dict(self.G.state_dict())
        return D, G

    def _check_d(self) -> None:
        rec, what = self.recorder, _STEP_WHAT["d"]
        # The D loss must leave G alone: its gradients are those from before the step, or all
        # zero when the learner cleared them first (g_optimizer.zero_grad() up front is fine).
        g_grads = grads(self.G.parameters())
        if not same_grads(g_grads, rec.g_grads) and any(g.abs().sum() > 0 for g in g_grads):
            raise CheckFailed(
                what,
                expected="no gradients in the generator during the D step",
                found="the D loss sent gradients into G",
                hint="detach the fakes for the D step: D(fake_images.detach())",
            )
        calls = [(x, out) for phase, x, out in rec.d_calls if phase == "d"]
        real = [out for x, out in calls if x.shape == self.real.shape and torch.equal(x, self.real)]
        fake = [
            x for x, _ in calls if not (x.shape == self.real.shape and torch.equal(x, self.real))
        ]
        if not real or not fake:
            raise CheckFailed(
                what,
                expected="D run on the real batch and, separately, on generated images",
                found=f"D ran {len(calls)} time(s): {'no real batch' if not real else 'no fakes'}",
                hint="d_real = D(real_images); d_fake = D(G(z).detach())",
            )
        made = [out for _, _, out in rec.g_calls]
        if not all(_made_by_g(x, made) for x in fake):
            raise CheckFailed(
                what,
                expected="the fakes D scores to be images that G generated in this step",
                found="D scored images that G did not generate (noise? a copy changed after G?)",
                hint="fake_images = G(z) with z = torch.randn(len(real_images), z_dim); "
                "d_fake = D(fake_images.detach())",
            )
        D, _ = self._fresh()
        real_logits, fake_logits = D(self.real), D(torch.cat(fake))
        self._expect_stepped_with(
            "d",
            losses.d_loss_bce(real_logits, fake_logits, smooth=0.9),
            D,
            {
                "smooth the real labels in the D step: real_loss(d_real, smooth=True)": bce(
                    real_logits, 1.0
                )
                + bce(fake_logits, 0.0),
                "in the D step real images are labelled real (1) and fakes fake (0)": bce(
                    real_logits, 0.0
                )
                + bce(fake_logits, 1.0),
            },
        )

    def _check_g(self) -> None:
        rec, what = self.recorder, _STEP_WHAT["g"]
        calls = [(x, out) for phase, x, out in rec.d_calls if phase == "g"]
        if not calls:
            raise CheckFailed(
                what,
                expected="D scoring the generated images again after the D step",
                found="no call of D in the generator step",
                hint="g_loss = real_loss(D(fake_images)): G learns through D's verdict",
            )
        x, _ = calls[-1]
        z = next(
            (
                gz
                for _, gz, gout in reversed(rec.g_calls)
                if gout.shape == x.shape and torch.equal(gout, x)
            ),
            None,
        )
        if z is None:
            raise CheckFailed(
                what,
                expected="D scoring images that G generated",
                found="D was called on something else in the G step",
                hint="g_loss = real_loss(D(fake_images)) with fake_images = G(z)",
            )
        D, G = self._fresh()
        logits = D(G(z))
        self._expect_stepped_with(
            "g",
            losses.g_loss_nonsaturating(logits),
            G,
            {
                "flip the labels for G: its fakes should be called real, g_loss = real_loss(D(fake))": bce(
                    logits, 0.0
                ),
                "no label smoothing in the G step: g_loss = real_loss(D(fake)) with smooth=False": bce(
                    logits, 0.9
                ),
            },
        )

    def _expect_stepped_with(
        self, name: str, loss: Tensor, net: nn.Module, mistakes: dict[str, Tensor]
    ) -> None:
        """Optimizer ``name`` stepped with the gradients of ``loss`` (the reference) for ``net``.

        ``mistakes`` maps hints to the loss each usual mistake backpropagates instead.
        """
        self.recorder.expected[f"{name}_loss"] = loss.item()
        expected, no_grads_hint = _STEPPED_WITH[name]
        expect_stepped_with(
            self.watch.grads[name][-1],
            loss,
            net.parameters(),
            _STEP_WHAT[name],
            expected=expected,
            found=f"different gradients at {name}_optimizer.step()",
            hint=f"call {name}_optimizer.zero_grad() before {name}_loss.backward(): "
            "gradients add up otherwise",
            mistakes=mistakes,
            no_grads_hint=no_grads_hint,
        )


def _stale_verdict(failure: CheckFailed) -> CheckFailed:
    """Autograd refused a graph an optimizer step changed: D's verdict was reused after its step."""
    return CheckFailed(
        failure.what,
        expected=failure.expected,
        found=failure.found,
        hint="D's verdict from before d_optimizer.step() was reused in the G step: "
        "score the fakes with D again after the D step",
    )


def train_step(fn: Callable[..., Any]) -> None:
    """``fn(D, G, d_optimizer, g_optimizer, real_images, z_dim)`` -> dict of floats.

    Runs three steps on a tiny spy GAN and checks, at each optimizer step, that the gradients are
    exactly those of the right loss: fakes detached in the D step, labels flipped in the G step,
    gradients zeroed, D updated before G, and D left alone by the G step.
    """
    what = "train_step"
    with seeded(0):
        gan = _SpyGAN()
        D, G, d_optimizer, g_optimizer = gan.D, gan.G, gan.d_optimizer, gan.g_optimizer
        for _ in range(3):
            gan.recorder.start(G)
            gan.watch.reset()
            d_before = weights(D)
            result = gan.watch.call(
                fn, D, G, d_optimizer, g_optimizer, gan.real, _TINY_Z, what=what
            )
            if gan.recorder.errors:
                raise gan.recorder.errors[0]
            if gan.watch.order != ["d", "g"]:
                raise CheckFailed(
                    what,
                    expected="d_optimizer.step() then g_optimizer.step(), once each",
                    found="steps: " + (" -> ".join(gan.watch.order) or "none"),
                    hint="each call of train_step updates D once, then G once",
                )
            if not moved(D, d_before):
                raise CheckFailed(
                    what,
                    expected="D's weights to change",
                    found="D unchanged",
                    hint="call d_optimizer.step()",
                )
            if not isinstance(result, dict) or not {"d_loss", "g_loss"} <= set(result):
                raise CheckFailed(
                    what + " result",
                    expected="a dict with d_loss, g_loss, d_real and d_fake",
                    found="None" if result is None else type(result).__name__,
                    hint="keep the `return {...}` line at the end of the function",
                )
            for key in ("d_loss", "g_loss"):
                value = as_number(result[key])
                if value is None:
                    raise CheckFailed(
                        f"{what} result[{key!r}]",
                        expected="a number (use loss.item())",
                        found=type(result[key]).__name__,
                    )
                expect_close(
                    value,
                    gan.recorder.expected[key],
                    f"{what} result[{key!r}]",
                    atol=1e-5,
                    hint=f"return the {key} you stepped with",
                )
    passed(
        what, "D step on real + detached fakes (smoothed labels), then G step with flipped labels"
    )
