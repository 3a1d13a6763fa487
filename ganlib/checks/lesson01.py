"""Checkers for lesson 01, the MLP GAN on MNIST: D, G, the losses and one training step.

The networks are checked by what they do: the shape and range of their output, the slope of the
activation between two linear layers (read with forward hooks, so nn.LeakyReLU and F.leaky_relu
both work), dropout, and gradients reaching every parameter. The training step is called as
``train.fit`` calls it (the real batch first, the rest by name) on a tiny spy D and G that record
every call, so the checker can recompute the gradients each optimizer should see and name the
mistake when they differ. A crash of the step is explained by the mistake found before it (fakes
not detached make the G step's backward fail) or, failing that, by torch's words translated.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ganlib import losses

from . import CheckFailed, build, call, expect_close, expect_tensor, passed, seeded
from .probes import (
    LayerCall,
    bce,
    call_explained,
    expect_connected,
    expect_gradients,
    expect_scalar,
    layers,
    random_logits,
    trace,
)
from .training import (
    StepWatch,
    expect_step_signature,
    expect_step_values,
    expect_stepped_with,
    expect_trainable,
    expect_updated,
    grads,
    same_grads,
    weights,
)

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
            hint="an MLP is linear layers with a LeakyReLU (slope 0.2) between each two",
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
                hint="the activation after each hidden linear layer is a LeakyReLU, nothing else in between",
            )
        found = (post[neg] / pre[neg]).median().item()
        if abs(found - slope) > 1e-3:
            name = "ReLU (slope 0)" if abs(found) < 1e-6 else f"slope {found:.3g}"
            raise CheckFailed(
                f"{what}: activation after linear layer {i + 1}",
                expected=f"LeakyReLU with negative slope {slope}",
                found=name,
                hint=f"the lesson's LeakyReLU has slope {slope}; nn.LeakyReLU's default slope is 0.01",
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
            hint="flatten each image into one row of 784 numbers before the first linear layer, and "
            "end with a linear layer that gives one score per image",
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
                hint="dropout must be a layer of the network (a module), so that D.eval() can switch it "
                "off; the functional form stays on unless told otherwise",
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
                hint="drop the final sigmoid: the loss on logits applies it itself, more stably",
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
                hint="dropout (p = 0.3) after each hidden activation keeps D from memorising the real "
                "images",
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
            hint="the last linear layer gives 784 numbers per latent; reshape them into one "
            "image of shape (1, 28, 28) each",
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
            hint="end with nn.Tanh(): its range (-1, 1) is the range of the scaled images",
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

#: torch's complaints about the usual slips in a BCE loss, and the mistakes they mean.
_LOSS_ERRORS = {
    "between 0 and 1": (
        "the plain binary cross-entropy was given D's logits, which can be any number",
        "D outputs logits, not probabilities: use the binary cross-entropy that takes logits "
        "and applies the sigmoid itself",
    ),
    "must be the same as input size": (
        "labels shaped differently from the logits",
        "give every logit its own label: a tensor of labels shaped like the logits",
    ),
}


def _loss_value(fn: Callable[..., Tensor], what: str, *args: Any, **kwargs: Any) -> Tensor:
    return expect_scalar(
        call_explained(fn, *args, what=what, explain=_LOSS_ERRORS, **kwargs),
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
            hint="binary cross-entropy on logits, every image against the label 1 (0.9 when "
            "smoothing)",
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
        hint="binary cross-entropy on logits, every image against the label 0",
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

_TINY = (1, 4, 4)  # the spy GAN's images: small, so the check runs in a blink
_TINY_Z = 3  # and its latent size: not the notebook's, so a hard-coded 100 shows
#: How train.fit calls the step: the real batch by position, then these by keyword.
_STEP_ARGS = ("D", "G", "d_optimizer", "g_optimizer", "z_dim")
_STEP_WHAT = {"d": "train_step: discriminator step", "g": "train_step: generator step"}


class _Scored(NamedTuple):
    """One call of the spy D: in which phase, on what (a copy), its verdict, and whether its
    input still carried a graph back to G (fakes not detached)."""

    phase: str
    x: Tensor
    out: Tensor
    tracked: bool


class _Recorder:
    """What the spy networks saw during one training step: which ran on what, in which phase."""

    def __init__(self) -> None:
        self.phase = "d"  # "g" once d_optimizer has stepped
        self.d_calls: list[_Scored] = []
        self.g_calls: list[tuple[Tensor, Tensor]] = []  # (latents, images), copies
        self.errors: list[CheckFailed] = []
        self.expected: dict[str, float] = {}  # the reference values of this step
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
        if self.recorder is not None and (x.dim() != 4 or tuple(x.shape[1:]) != _TINY):
            raise CheckFailed(
                "train_step",
                expected=f"D scoring images, shape (N, {', '.join(map(str, _TINY))}) here",
                found=f"D called on a tensor of shape {tuple(x.shape)}",
                hint="D judges images: give it the real batch or the images G made, never the "
                "latents",
            )
        out = self.net(x)
        if self.recorder is not None:
            record = _Scored(self.recorder.phase, x.detach().clone(), out, x.requires_grad)
            self.recorder.d_calls.append(record)
        return out


class _SpyG(nn.Module):
    def __init__(self, recorder: _Recorder | None = None) -> None:
        super().__init__()
        self.net = nn.Sequential(
            nn.Linear(_TINY_Z, 8), nn.LeakyReLU(0.2), nn.Linear(8, 16), nn.Tanh()
        )
        self.recorder = recorder

    def forward(self, z: Tensor) -> Tensor:
        if self.recorder is not None:
            _expect_latents(z)
        out = self.net(z).view(-1, *_TINY)
        if self.recorder is not None:
            self.recorder.g_calls.append((z.detach().clone(), out.detach().clone()))
        return out


def _expect_latents(z: Tensor) -> None:
    """The latents G is given: (N, z_dim), standard normal, one different row per image."""
    what = "train_step: latents"
    if z.dim() != 2 or z.shape[1] != _TINY_Z:
        raise CheckFailed(
            what,
            expected=f"latents of shape (N, z_dim), here (N, {_TINY_Z}): one row per image",
            found=f"shape {tuple(z.shape)}",
            hint="take the latent size from the z_dim argument (this check uses another size "
            "than the notebook), and draw one row of it per image",
        )
    if z.numel() >= 16 and z.min() >= 0 and z.max() < 1:
        raise CheckFailed(
            what,
            expected="latents from a standard normal distribution (mean 0, variance 1)",
            found=f"every value between {z.min().item():.2f} and {z.max().item():.2f}: uniform "
            "noise from [0, 1)",
            hint="draw the latents from the standard normal, the distribution G is sampled "
            "from after training too (torch has a function for each of the two)",
        )
    if len(z) > 1 and len(torch.unique(z, dim=0)) < len(z):
        raise CheckFailed(
            what,
            expected=f"{len(z)} different latents, one per image",
            found=f"{len(torch.unique(z, dim=0))} different latent(s) repeated over the batch",
            hint="draw a different latent for every image: G needs different z to make a batch "
            "of different fakes",
        )


def _first_words(message: str, limit: int = 100) -> str:
    """The start of torch's message, enough to match it with the traceback."""
    return message if len(message) <= limit else message[:limit].rsplit(" ", 1)[0] + " ..."


def _made_by_g(x: Tensor, g_outputs: list[Tensor]) -> bool:
    """Whether every image in ``x`` is (up to rounding) one of the images G produced."""
    pixels = _TINY[0] * _TINY[1] * _TINY[2]
    if not g_outputs or x.numel() % pixels:
        return False
    made = torch.cat([out.reshape(-1, pixels) for out in g_outputs])
    images = x.reshape(-1, pixels)
    distance = (images[:, None] - made[None]).abs().amax(dim=-1)  # (scored, made), max pixel gap
    return bool((distance.amin(dim=1) <= 1e-5).all())


_OUT_OF_ORDER = {  # (expected, hint) when this optimizer steps out of order
    "d": (
        "one d_optimizer.step(), before the generator step",
        "each call of the step updates D once, then G once: D first, so that G learns against "
        "the updated D",
    ),
    "g": (
        "the D step first, then one g_optimizer.step()",
        "update D first, then G: G learns against the D that was just updated",
    ),
}

_STEPPED_WITH = {  # (expected, hint when there is no gradient at all) for each optimizer's step
    "d": (
        "D's gradients of the D loss: BCE of D's verdict on the real batch against 0.9 "
        "(smoothed) plus BCE of its verdict on the detached fakes against 0",
        "D's optimizer stepped with no gradients: backpropagate D's loss before D's optimizer "
        "steps, and clear old gradients before the backward pass, not after it",
    ),
    "g": (
        "G's gradients of the G loss: BCE of the updated D's verdict on the fakes against 1 "
        "(labels flipped, no smoothing)",
        "G's optimizer stepped with no gradients: backpropagate G's loss before G's optimizer "
        "steps, and keep G trainable (it is D that stays still while G learns)",
    ),
}
_NET = {"d": "D", "g": "G"}

#: torch's complaints during a step, by phase: (the mistake they mean, the idea that fixes it).
_STEP_ERRORS: dict[str, dict[str, tuple[str, str]]] = {
    "second time": {
        "d": (
            "backward ran twice through the same graph in the D step",
            "one loss, one backward pass: add D's two losses and backpropagate the sum once",
        ),
        "g": (
            "the G step backpropagated through D's verdict from the D step, whose graph was "
            "already used",
            "G must be judged by the updated D: score the fakes again with D after the D step",
        ),
    },
    "inplace operation": {
        "d": (
            "a tensor the backward pass needs was changed in place",
            "do not modify tensors in place between computing a loss and its backward pass",
        ),
        "g": (
            "the G step backpropagated through a verdict D gave before its update",
            "G must be judged by the updated D: score the fakes again with D after the D step",
        ),
    },
    "does not require grad": {
        "d": (
            "D's loss does not reach D's weights: D was frozen, or its verdicts detached, during "
            "its own step",
            "D's own loss must reach its weights: freeze D only around G's update, and detach "
            "the fakes, not D's verdicts",
        ),
        "g": (
            "G's loss does not reach G: the fakes were detached, or D ran without autograd, in "
            "the G step",
            "G learns through D's verdict on fakes that still carry G's graph: detach the fakes "
            "only for D's step, and freeze D's weights rather than switching autograd off",
        ),
    },
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
            {"d": self.d_optimizer, "g": self.g_optimizer}, on_step=self._on_step
        )

    def run(self, step: Callable[..., Any], what: str) -> Any:
        """Call the learner's step once, as train.fit does, and return what it returned."""
        self.recorder.start(self.G)
        self.watch.reset()
        named = {"D": self.D, "G": self.G, "d_optimizer": self.d_optimizer}
        named |= {"g_optimizer": self.g_optimizer, "z_dim": _TINY_Z}
        try:
            return self.watch.call(step, self.real, what=what, **named)
        except CheckFailed as failure:
            raise self._explained(failure) from None

    def _explained(self, failure: CheckFailed) -> CheckFailed:
        """The mistake behind a crash: one diagnosed earlier in the step (the crash is often its
        consequence: fakes not detached make the G step's backward fail), else torch's words
        translated for the phase the step was in."""
        if self.recorder.errors:
            return self.recorder.errors[0]
        phase = self.recorder.phase
        for fragment, by_phase in _STEP_ERRORS.items():
            if fragment in failure.found.lower():
                mistake, hint = by_phase[phase]
                found = f"{mistake} (torch says: {_first_words(failure.found)})"
                return CheckFailed(
                    _STEP_WHAT[phase], expected=failure.expected, found=found, hint=hint
                )
        return failure

    def _on_step(self, name: str) -> None:
        try:
            self._check_order(name)
            self._check_d() if name == "d" else self._check_g()
        except CheckFailed as failure:  # raised after the step: the learner's code runs on
            self.recorder.errors.append(failure)
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

    def _is_real(self, x: Tensor) -> bool:
        return x.shape == self.real.shape and torch.equal(x, self.real)

    def _check_d(self) -> None:
        rec, what = self.recorder, _STEP_WHAT["d"]
        # The D loss must leave G alone: its gradients are those from before the step, or all
        # zero when the learner cleared them first (g_optimizer.zero_grad() up front is fine).
        g_grads = grads(self.G.parameters())
        if not same_grads(g_grads, rec.g_grads) and any(g.abs().sum() > 0 for g in g_grads):
            raise CheckFailed(
                what,
                expected="no gradients in the generator during the D step",
                found="the D loss sent gradients into G: the fakes were not detached",
                hint="the D step trains D alone: detach the fakes before D scores them, so that "
                "D's loss stops at the fakes and never reaches G",
            )
        calls = [c for c in rec.d_calls if c.phase == "d"]
        real = [c for c in calls if self._is_real(c.x)]
        fake = [c for c in calls if not self._is_real(c.x)]
        if not real or not fake:
            raise CheckFailed(
                what,
                expected="D run on the real batch alone and, in another call, on G's fakes",
                found=f"D ran {len(calls)} time(s) in the D step, "
                + ("never on the real batch alone" if not real else "never on fakes"),
                hint="D's loss has two halves, one per call of D: its verdict on the real batch "
                "(labelled real) and its verdict on the fakes (labelled fake)",
            )
        if not all(_made_by_g(c.x, [out for _, out in rec.g_calls]) for c in fake):
            raise CheckFailed(
                what,
                expected="the fakes D scores to be images that G generated in this step",
                found="D scored images that G did not generate (noise? a copy changed after G?)",
                hint="the fakes are G's output for a batch of fresh latents, passed to D as they "
                "are (only detached)",
            )
        # The verdict D's loss uses: on detached fakes (another call on fakes that still carry
        # G's graph is kept for the G step, a mistake the G step names).
        scored = ([c for c in fake if not c.tracked] or fake)[-1]
        fakes = scored.x
        if len(fakes) != len(self.real):
            raise CheckFailed(
                what,
                expected=f"as many fakes as real images ({len(self.real)})",
                found=f"{len(fakes)} fakes",
                hint="one fake per real image: take the batch size from the real batch, not "
                "from a constant",
            )
        different = len(torch.unique(fakes.flatten(1), dim=0))
        if different < len(fakes):
            raise CheckFailed(
                what,
                expected=f"{len(fakes)} different fakes",
                found=f"{different} different image(s), repeated over the batch",
                hint="every fake comes from its own latent: D must see a batch of different "
                "fakes, as it sees a batch of different real images",
            )
        D, _ = self._fresh()
        real_logits, fake_logits = D(self.real), D(fakes)
        rec.expected["d_real"] = torch.sigmoid(real[0].out.detach()).mean().item()
        rec.expected["d_fake"] = torch.sigmoid(scored.out.detach()).mean().item()
        self._expect_stepped_with(
            "d",
            losses.d_loss_bce(real_logits, fake_logits, smooth=0.9),
            D,
            {
                "smooth the real labels in the D step: real images count as 0.9, not 1": bce(
                    real_logits, 1.0
                )
                + bce(fake_logits, 0.0),
                "in the D step real images are labelled real (1) and fakes fake (0)": bce(
                    real_logits, 0.0
                )
                + bce(fake_logits, 1.0),
                "the fakes' half of the D loss sent no gradient to D: detach the fakes before D "
                "scores them, not D's verdict on them": bce(real_logits, 0.9),
                "the D loss needs its real half too: D's verdict on the real batch, labelled "
                "real": bce(fake_logits, 0.0),
                "the D loss is the sum of the real and the fake loss, not their average": (
                    bce(real_logits, 0.9) + bce(fake_logits, 0.0)
                )
                / 2,
            },
        )

    def _check_g(self) -> None:
        rec, what = self.recorder, _STEP_WHAT["g"]
        calls = [c for c in rec.d_calls if c.phase == "g"]
        if not calls:
            raise CheckFailed(
                what,
                expected="D scoring the fakes again after the D step",
                found="no call of D in the generator step",
                hint="G learns only through D's verdict: score G's fakes with the updated D and "
                "make G's loss from that verdict",
            )
        x = calls[-1].x
        z = next(
            (
                gz
                for gz, gout in reversed(rec.g_calls)
                if gout.shape == x.shape and torch.equal(gout, x)
            ),
            None,
        )
        if z is None:
            raise CheckFailed(
                what,
                expected="D scoring images that G generated",
                found="D was called on something else in the G step",
                hint="G's loss is D's verdict on G's own fakes",
            )
        if not calls[-1].tracked:
            raise CheckFailed(
                what,
                expected="fakes that still carry G's graph when D scores them for G's loss",
                found="the fakes D scored in the G step were detached from G",
                hint="detach the fakes only for D's step: G learns through D's verdict, so its "
                "gradient must flow back through the fakes into G",
            )
        D, G = self._fresh()
        logits = D(G(z))
        self._expect_stepped_with(
            "g",
            losses.g_loss_nonsaturating(logits),
            G,
            {
                "flip the labels for G: G wants its fakes called real (label 1)": bce(logits, 0.0),
                "no label smoothing in the G step: smoothing is for D's verdict on real images": bce(
                    logits, 0.9
                ),
                "that is the minimax loss of lesson 00 (minus D's loss on the fakes), whose "
                "gradient vanishes when D wins: use the non-saturating loss, fakes labelled real": -bce(
                    logits, 0.0
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
            hint=f"gradients add up until they are cleared: clear {_NET[name]}'s gradients "
            f"before backpropagating {_NET[name]}'s loss",
            mistakes=mistakes,
            no_grads_hint=no_grads_hint,
        )


def train_step(fn: Callable[..., Any]) -> None:
    """``fn(real_images, D, G, d_optimizer, g_optimizer, z_dim)`` -> dict of numbers.

    Calls the step as ``train.fit`` does (the real batch first, the rest by name), three times
    on a tiny spy GAN, and checks at each optimizer step that the gradients are exactly those of
    the right loss: fakes detached in the D step, labels flipped in the G step, gradients
    zeroed, D updated before G, and D left alone by the G step. Freezing D during the G step is
    accepted, as long as the step unfreezes it.
    """
    what = "train_step"
    expect_step_signature(fn, ("real_images",), _STEP_ARGS, what=what)
    with seeded(0):
        gan = _SpyGAN()
        for _ in range(3):
            d_before = weights(gan.D)
            result = gan.run(fn, what)
            if gan.recorder.errors:
                raise gan.recorder.errors[0]
            if gan.watch.order != ["d", "g"]:
                raise CheckFailed(
                    what,
                    expected="d_optimizer.step() then g_optimizer.step(), once each",
                    found="steps: " + (" -> ".join(gan.watch.order) or "none"),
                    hint="each call of train_step updates D once, then G once",
                )
            expect_updated(
                what,
                {"D": (gan.D, d_before)},
                hint="D's optimizer must step once per call: it is what changes D's weights",
            )
            expect_trainable(gan.D, "D", what)
            expect_trainable(gan.G, "G", what)
            expect_step_values(result, gan.recorder.expected, what, hint=_value_hint)
    passed(
        what, "D step on real + detached fakes (smoothed labels), then G step with flipped labels"
    )


def _value_hint(key: str) -> str:
    if key.endswith("loss"):
        return f"return the {key} this step backpropagated"
    return (
        f"{key} is D's average verdict in the D step, a probability: the sigmoid of its logits, "
        "averaged over the batch"
    )
