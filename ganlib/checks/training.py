"""Watching a learner's training step: which optimizer stepped when, and with which gradients.

A training-step checker builds small networks and their optimizers under a fixed seed, hands the
optimizers to a :class:`StepWatch` and runs the learner's step through :meth:`StepWatch.call`, the
one place a lesson calls it. At each ``optimizer.step()`` the watch records the optimizer's name
and a copy of the gradients it is about to apply, and runs the lesson's own checks there if asked
(while the step's tensors are as the learner's code left them). It also counts the backward
passes that reach one network (a discriminator loss on fakes that were not detached reaches the
generator a second time) and hands autograd's complaint about a graph used twice to the lesson,
which knows what mistake it means.

Afterwards the checker compares the recorded gradients with those of the reference loss and of
the usual mistakes (:func:`expect_stepped_with`), reads the numbers the step returned
(:func:`as_number`, :func:`expect_step_values`), checks that each network moved
(:func:`weights`, :func:`expect_updated`) and that a network frozen for the other's update is
trainable again (:func:`expect_trainable`): the same words in every lesson.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import partial
from typing import Any

import torch
from torch import Tensor, nn

from . import CheckFailed, call, expect_close

__all__ = [
    "GRAPH_ERRORS",
    "StepWatch",
    "grads",
    "loss_grads",
    "same_grads",
    "expect_stepped_with",
    "gradient_mistake",
    "STALE_GRADS",
    "NO_GRADS",
    "UNKNOWN_GRADS",
    "weights",
    "moved",
    "as_number",
    "STEP_VALUES",
    "expect_step_values",
    "verdict_mistakes",
    "expect_updated",
    "expect_trainable",
    "reached_generator_again",
    "expect_step_signature",
]

#: What autograd says when a backward pass runs through a graph a second time ("Trying to
#: backward through the graph a second time") or through one an optimizer step changed ("...
#: modified by an inplace operation"): in a GAN step, a discriminator loss that reached the
#: generator, or a verdict of D reused after D's update.
GRAPH_ERRORS = ("second time", "inplace operation")


def grads(params: Iterable[Tensor]) -> list[Tensor]:
    """A copy of each parameter's gradient, zeros where it has none."""
    return [torch.zeros_like(p) if p.grad is None else p.grad.detach().clone() for p in params]


def loss_grads(loss: Tensor, params: Iterable[Tensor]) -> list[Tensor]:
    """The gradients of ``loss`` for ``params``, zeros for those it does not reach (graph kept)."""
    params = list(params)
    found = torch.autograd.grad(loss, params, allow_unused=True, retain_graph=True)
    return [torch.zeros_like(p) if g is None else g for p, g in zip(params, found, strict=True)]


def same_grads(
    found: Sequence[Tensor], expected: Sequence[Tensor], *, atol: float = 1e-6, rtol: float = 1e-4
) -> bool:
    """Whether two lists of gradients agree, tensor by tensor."""
    return all(
        torch.allclose(f, e, atol=atol, rtol=rtol) for f, e in zip(found, expected, strict=True)
    )


def expect_stepped_with(
    stepped: Sequence[Tensor],
    loss: Tensor,
    params: Iterable[Tensor],
    what: str,
    *,
    expected: str,
    found: str,
    hint: str,
    mistakes: Mapping[str, Tensor] | None = None,
    no_grads_hint: str = "",
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> None:
    """Check that an optimizer stepped with the gradients of ``loss`` for ``params``.

    ``stepped`` are the gradients :class:`StepWatch` recorded at the step. On a mismatch the
    message names the mistake that :func:`gradient_mistake` finds (``mistakes``: the hint for
    each usual mistake -> the loss it backpropagates, as in lesson 00's table; ``no_grads_hint``
    for a step with no gradient at all), else gives ``hint``.
    """
    mistake = gradient_mistake(
        stepped, loss, params, no_grads_hint=no_grads_hint, mistakes=mistakes, atol=atol, rtol=rtol
    )
    if mistake is not None:
        hint = hint if mistake == UNKNOWN_GRADS else mistake
        raise CheckFailed(what, expected=expected, found=found, hint=hint)


#: The hint for gradients that an earlier backward left behind (no ``zero_grad`` before backward).
STALE_GRADS = (
    "the gradients of an earlier backward were still there: backward adds to them, so clear "
    "them before each backward"
)
#: The hints for an optimizer that stepped without any gradient, for D's and for G's update.
NO_GRADS = {
    "d": "the optimizer stepped without gradients: compute the loss, backward, then step",
    "g": "G's loss carries no gradient to G: the fakes of G's update must not be detached or "
    "made without gradients",
}
UNKNOWN_GRADS = "the gradients match no loss the check knows: compare your loss with the lesson's"


def gradient_mistake(
    stepped: Sequence[Tensor],
    loss: Tensor,
    params: Iterable[Tensor],
    *,
    stale: Sequence[Tensor] | None = None,
    no_grads_hint: str = "",
    wrong_grads: Mapping[str, Sequence[Tensor]] | None = None,
    mistakes: Mapping[str, Tensor] | None = None,
    atol: float = 1e-6,
    rtol: float = 1e-4,
) -> str | None:
    """None when an optimizer stepped with the gradients of ``loss``; else the hint that names
    the mistake, tried in this order: gradients ``stale`` from an earlier backward added on top,
    other gradients (``wrong_grads``: hint -> gradients), the gradients of a wrong loss
    (``mistakes``: hint -> loss, lesson 00's table on gradients), no gradient at all
    (``no_grads_hint``), or none known (:data:`UNKNOWN_GRADS`)."""
    params = list(params)
    expected = loss_grads(loss, params)

    def matches(grads: Sequence[Tensor]) -> bool:
        return same_grads(stepped, grads, atol=atol, rtol=rtol)

    if matches(expected):
        return None
    if (
        stale is not None
        and any(g.abs().sum() > 0 for g in stale)
        and matches([e + g for e, g in zip(expected, stale, strict=True)])
    ):
        return STALE_GRADS
    for hint, grads_of_mistake in (wrong_grads or {}).items():
        if matches(grads_of_mistake):
            return hint
    for hint, wrong in (mistakes or {}).items():
        if matches(loss_grads(wrong, params)):
            return hint
    if no_grads_hint and all(g.abs().sum() == 0 for g in stepped):
        return no_grads_hint
    return UNKNOWN_GRADS


def weights(net: nn.Module) -> list[Tensor]:
    """A copy of every parameter of ``net``, to see later whether a step moved it."""
    return [p.detach().clone() for p in net.parameters()]


def moved(net: nn.Module, before: Iterable[Tensor]) -> bool:
    """Whether any parameter of ``net`` differs from ``before`` (its :func:`weights` earlier)."""
    return not all(torch.equal(p, q) for p, q in zip(net.parameters(), before, strict=True))


def as_number(value: Any) -> float | None:
    """A value the step returned as a float (a number or a one-element tensor), else None."""
    if isinstance(value, Tensor) and value.numel() == 1:
        return float(value.detach().item())
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None


#: What a GAN step returns (the step function contract of ``ganlib.train``): its two losses and
#: D's mean verdicts on the real batch and on the fakes.
STEP_VALUES = ("d_loss", "g_loss", "d_real", "d_fake")


def expect_step_values(
    result: Any,
    expected: Mapping[str, float],
    what: str,
    *,
    keys: Sequence[str] = STEP_VALUES,
    hint: Callable[[str], str],
    mistakes: Callable[[str], Mapping[str, float]] | None = None,
) -> None:
    """The step returned a dict holding each of ``keys`` as one number, equal to ``expected``
    (what the watched step computed); ``hint(key)`` says what the value is, ``mistakes(key)`` the
    values that a named mistake would give."""
    if not isinstance(result, dict) or not set(keys) <= set(result):
        found = "None" if result is None else type(result).__name__
        if isinstance(result, dict):
            found = f"a dict with {sorted(result)}"
        raise CheckFailed(
            f"{what} result",
            expected=f"a dict with {', '.join(keys)}",
            found=found,
            hint="keep the `return {...}` of the exercise cell: train.fit records these values",
        )
    for key in keys:
        value = as_number(result[key])
        if value is None:
            shape = tuple(result[key].shape) if isinstance(result[key], Tensor) else None
            raise CheckFailed(
                f"{what} result[{key!r}]",
                expected="one number: a 0-d tensor, detached from the graph, or a float",
                found=type(result[key]).__name__ + (f" of shape {shape}" if shape else ""),
                hint="return each value as one number: a loss is already one, a verdict or a "
                "score is the mean over the batch",
            )
        expect_close(
            value,
            expected[key],
            f"{what} result[{key!r}]",
            atol=1e-5,
            hint=hint(key),
            mistakes=mistakes(key) if mistakes else None,
        )


def verdict_mistakes(expected: Mapping[str, float]) -> Callable[[str], dict[str, float]]:
    """The mistakes in a BCE GAN's returned verdicts: the mean logit instead of the mean
    probability (``expected`` holds ``d_real_logit`` and ``d_fake_logit``), or the two swapped."""

    def mistakes(key: str) -> dict[str, float]:
        if key not in ("d_real", "d_fake"):
            return {}
        other = "d_fake" if key == "d_real" else "d_real"
        return {
            "D's verdict is a probability: the mean of the sigmoid of the logits": expected[
                f"{key}_logit"
            ],
            "d_real is D's verdict on the real batch, d_fake on the fakes": expected[other],
        }

    return mistakes


def expect_updated(
    what: str,
    before: Mapping[str, tuple[nn.Module, list[Tensor]]],
    hint: str | Mapping[str, str] = "an update is: clear the gradients, backward the loss, step",
) -> None:
    """Every network in ``before`` (name -> (network, its :func:`weights` before the step))
    changed: one that did not had no optimizer step, or an optimizer step without gradients."""
    for name, (net, weights_before) in before.items():
        if not moved(net, weights_before):
            raise CheckFailed(
                what,
                expected=f"{name}'s weights to change",
                found=f"{name} unchanged",
                hint=hint if isinstance(hint, str) else hint[name],
            )


def expect_trainable(net: nn.Module, name: str, what: str) -> None:
    """A step may freeze a network while the other learns, but must leave it trainable."""
    if not all(p.requires_grad for p in net.parameters()):
        raise CheckFailed(
            what,
            expected=f"{name} trainable again when the step returns",
            found=f"{name}'s parameters still frozen (requires_grad False) after the step",
            hint=f"freezing {name} while the other network learns is fine, but switch it back "
            "on (unfreeze it) before the step returns: its next update must reach its weights",
        )


def reached_generator_again(*, expected: str, hint: str) -> Callable[[CheckFailed], CheckFailed]:
    """An ``on_reused_graph`` for a GAN step whose discriminator loss ran back into the generator.

    Autograd finds the generator's part of the graph freed by the generator's backward, or
    changed by its optimizer step: the fakes were not detached for the discriminator.
    """

    def diagnose(failure: CheckFailed) -> CheckFailed:
        found = "backward ran into the generator's graph again"
        return CheckFailed(failure.what, expected=expected, found=found, hint=hint)

    return diagnose


class StepWatch:
    """Watches a learner's training step: its optimizer steps, their gradients, its backward passes.

    ``optimizers`` maps a short name (``"d"``, ``"g"``) to each optimizer the step is given.
    ``on_step(name)`` runs just before each of their steps; ``backward_into`` is the network whose
    backward passes are counted (one of its parameters is watched). A failure of the step whose
    message holds one of ``graph_errors`` goes through ``on_reused_graph``, which says in the
    lesson's words what the mistake is.
    """

    def __init__(
        self,
        optimizers: Mapping[str, torch.optim.Optimizer],
        *,
        on_step: Callable[[str], None] | None = None,
        backward_into: nn.Module | None = None,
        on_reused_graph: Callable[[CheckFailed], CheckFailed] | None = None,
        graph_errors: tuple[str, ...] = GRAPH_ERRORS,
    ) -> None:
        self.on_step = on_step
        self.backward_into = backward_into
        self.on_reused_graph = on_reused_graph
        self.graph_errors = graph_errors
        self.order: list[str] = []  # the names of the optimizers, in the order they stepped
        self.grads: dict[str, list[list[Tensor]]] = {name: [] for name in optimizers}
        self.backward_passes = 0
        for name, optimizer in optimizers.items():
            optimizer.register_step_pre_hook(partial(self._before_step, name))

    def _before_step(self, name: str, optimizer: torch.optim.Optimizer, *_: Any) -> None:
        self.order.append(name)
        params = [p for group in optimizer.param_groups for p in group["params"]]
        self.grads[name].append(grads(params))
        if self.on_step is not None:
            self.on_step(name)

    def reset(self) -> None:
        """Forget what earlier calls recorded."""
        self.order = []
        self.grads = {name: [] for name in self.grads}
        self.backward_passes = 0

    def call(self, step: Callable[..., Any], *args: Any, what: str, **kwargs: Any) -> Any:
        """Run the learner's ``step(*args, **kwargs)`` once, watched, and return its result.

        The one place a lesson calls the learner's step: how it is called changes here.
        """
        handle = None
        if self.backward_into is not None:
            probe = next(p for p in self.backward_into.parameters() if p.requires_grad)
            handle = probe.register_hook(self._count_backward)
        try:
            return call(step, *args, what=what, **kwargs)
        except CheckFailed as failure:
            reused = any(e in failure.found for e in self.graph_errors)
            if reused and self.on_reused_graph is not None:
                raise self.on_reused_graph(failure) from None
            raise
        finally:
            if handle is not None:
                handle.remove()

    def _count_backward(self, grad: Tensor) -> None:
        self.backward_passes += 1


def expect_step_signature(
    step: Callable[..., Any], batches: Sequence[str], names: Sequence[str], *, what: str
) -> None:
    """Check that ``step`` can be called the way ``train.fit`` calls it, before calling it.

    ``fit`` passes the real batches first, by position (``batches`` names them for the message),
    then the models, optimizers and options by keyword (``names``). A step written with another
    order or other parameter names fails here with both signatures side by side, instead of a
    TypeError about a missing or repeated argument.
    """
    if not callable(step):
        return  # call() says so, in its own words
    try:
        signature = inspect.signature(step)
    except (TypeError, ValueError):  # a builtin or an object without a signature: just call it
        return
    try:
        signature.bind(*[None] * len(batches), **dict.fromkeys(names))
    except TypeError as err:
        name = getattr(step, "__name__", type(step).__name__)
        wanted = ", ".join([*batches, *names])
        raise CheckFailed(
            what,
            expected=f"{name}({wanted}): the real batch first, then the networks, optimizers "
            "and options by these names",
            found=f"{name}{signature} ({err})",
            hint="train.fit calls your step with the real batch first and passes everything "
            "else by name, so the first parameter takes the real batch and the others keep "
            "these names",
        ) from None
