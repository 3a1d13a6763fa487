"""Exercise checkers: tell a learner whether an exercise is right and, if not, why.

Each lesson has its own module (``from ganlib.checks import lesson01 as check``). They share the
small toolkit below, so every failure reads the same way::

    CheckFailed: discriminator output
      expected: one logit per image, shape (16, 1)
      found:    shape (16, 10)
      hint:     end the network with nn.Linear(hidden, 1)

A checker tests behaviour (outputs, gradients, a training step) and never lets a bare torch
traceback reach the learner: learner code runs through :func:`call` and :func:`build`.

The package: this module is the toolkit; :mod:`~ganlib.checks.probes` holds the probes several
lessons use (tracing a network, its activations and output, gradients, loss values);
:mod:`~ganlib.checks.training` watches a learner's training step (which optimizer stepped when,
with which gradients); ``lessonNN`` holds lesson NN's checkers. No lesson module imports another.

Adding a checker
----------------
A checker is a function of the learner's code, in its lesson's module and its ``__all__``, written
in four steps (lesson 01's ``fake_loss``, shortened)::

    def fake_loss(fn: Callable[[Tensor], Tensor]) -> None:  # fn(d_logits): BCE against label 0
        what = "fake loss"
        logits = random_logits(32, seed=12)  # 1. build, under a fixed seed
        found = call(fn, logits.clone().requires_grad_(True), what=what)  # 2. probe
        loss = expect_scalar(found, what, hint="return the loss tensor")
        mistakes = {  # 3. compare: the hint for each usual mistake, and the value it would give
            "fake images get the label 0": bce(logits, 1.0),
            "do not apply a sigmoid before BCEWithLogitsLoss": bce(torch.sigmoid(logits), 0.0),
        }
        reference = losses.fake_loss(logits)
        expect_close(loss.detach(), reference, what, hint="labels = zeros", mistakes=mistakes)
        passed(what, "BCE with label 0")  # 4. pass: one line that says what was verified

1. Build under a fixed seed: the learner's network (:func:`build`) and every input inside
   ``with seeded(0):``, so the verdict is the same on every run and the learner's own random
   state is left as it was. ``probes.build_and_trace`` does this for a network and runs it once.
2. Probe: run learner code only through :func:`call` (or ``probes.trace``) and check what comes
   back (:func:`expect_tensor`, ``probes.expect_scalar``); read what the code does, never its
   source. Use the probes in ``probes`` before writing another.
3. Compare with the mistakes it can name. Where numbers are compared, the model is lesson 00's
   table: ``expect_close(found, reference, what, hint=..., mistakes={hint: value})`` maps the
   hint for each usual mistake to the value that mistake would produce, and the first one the
   learner's value matches names it (``training.expect_stepped_with`` does the same for the
   gradients an optimizer stepped with). Where structure is checked, each mistake gets its own
   :class:`CheckFailed` (expected, found, hint). A reference loss comes from ``ganlib.losses``;
   a checker that computes its own says why in a comment.
4. Pass: :func:`passed` prints one line.

Then give the checker its broken implementations and its test:

- ``tests/broken/lessonNN.py`` (the bank): the reference solution, and for each mistake the code
  a learner would write, differing from the reference in that one way, with a docstring saying
  which (``def fake_loss_ones(d_logits): ...``).
- ``tests/test_checks_lessonNN.py``: the reference (and the ``ganlib`` version, if any) passes;
  each broken version fails with a fragment of its message::

      @pytest.mark.parametrize(
          ("broken", "fragment"), [(bank.fake_loss_ones, "fake images get the label 0")]
      )
      def test_fake_loss_catches_mistakes(broken, fragment):
          fails(check.fake_loss, broken, fragment)

A training-step checker builds its networks and optimizers the same way, watches the optimizers
with ``training.StepWatch``, and calls the learner's step in one place, ``StepWatch.call``.
"""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import torch
from torch import nn

__all__ = [
    "CheckFailed",
    "passed",
    "call",
    "build",
    "expect_tensor",
    "expect_close",
    "seeded",
]


class CheckFailed(AssertionError):
    """An exercise is not right yet: says what was expected, what was found, and a hint."""

    def __init__(self, what: str, *, expected: str, found: str, hint: str = "") -> None:
        self.what, self.expected, self.found, self.hint = what, expected, found, hint
        lines = [what, f"  expected: {expected}", f"  found:    {found}"]
        if hint:
            lines.append(f"  hint:     {hint}")
        super().__init__("\n".join(lines))


def passed(what: str, detail: str = "") -> None:
    """Print the one line a passing check shows."""
    print(f"\u2714 {what}" + (f": {detail}" if detail else ""))


def call(fn: Callable[..., Any], *args: Any, what: str, hint: str = "", **kwargs: Any) -> Any:
    """Run learner code; turn any exception into a :class:`CheckFailed` that names it.

    NotImplementedError gets its own message: the exercise has not been written yet.
    """
    if not callable(fn):
        raise CheckFailed(
            what,
            expected="a function or class you can call",
            found=f"{type(fn).__name__} {fn!r:.60}",
            hint="pass the function itself, without calling it (no parentheses)",
        )
    try:
        return fn(*args, **kwargs)
    except CheckFailed:
        raise
    except NotImplementedError:
        raise CheckFailed(
            what,
            expected="your implementation",
            found="NotImplementedError: the exercise cell still has its placeholder",
            hint="replace the `raise NotImplementedError` in the exercise cell and run it again",
        ) from None
    except Exception as err:  # noqa: BLE001 - any learner error becomes a readable message
        message = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise CheckFailed(
            what,
            expected="the code to run without an error",
            found=f"{type(err).__name__}: {message[:300]}",
            hint=hint or "run the cell on its own to see the full traceback",
        ) from None


def build(obj: Any, *args: Any, what: str, **kwargs: Any) -> nn.Module:
    """Instantiate a learner's ``nn.Module`` class (or accept an instance) for a check.

    A class is called with ``args``/``kwargs``; an instance is returned as is. Anything else, or a
    constructor that fails, becomes a :class:`CheckFailed` that says so.
    """
    if isinstance(obj, nn.Module):
        return obj
    if inspect.isclass(obj):
        if not issubclass(obj, nn.Module):
            raise CheckFailed(
                what,
                expected="a subclass of torch.nn.Module",
                found=f"class {obj.__name__} (bases: {', '.join(b.__name__ for b in obj.__bases__)})",
                hint="write `class MyNet(nn.Module):` and call super().__init__() first",
            )
        module = call(obj, *args, what=what, **kwargs)
        if not isinstance(module, nn.Module):
            raise CheckFailed(what, expected="an nn.Module instance", found=type(module).__name__)
        if not list(module.parameters()):
            raise CheckFailed(
                what,
                expected="a network with learnable layers",
                found="no parameters at all",
                hint="did __init__ forget to assign the layers to self (self.net = ...)?",
            )
        return module
    raise CheckFailed(
        what,
        expected="an nn.Module class or instance",
        found=f"{type(obj).__name__}",
        hint="pass the class you defined, e.g. check.discriminator(Discriminator)",
    )


def expect_tensor(
    value: Any,
    what: str,
    *,
    shape: tuple[int, ...] | None = None,
    hint: str = "",
    finite: bool = True,
) -> torch.Tensor:
    """Check that ``value`` is a tensor (of ``shape``, with finite values) and return it."""
    if value is None:
        raise CheckFailed(
            what,
            expected="a tensor",
            found="None",
            hint=hint or "did the function forget its `return`?",
        )
    if not isinstance(value, torch.Tensor):
        raise CheckFailed(what, expected="a torch.Tensor", found=type(value).__name__, hint=hint)
    if shape is not None and tuple(value.shape) != tuple(shape):
        raise CheckFailed(
            what, expected=f"shape {tuple(shape)}", found=f"shape {tuple(value.shape)}", hint=hint
        )
    if finite and value.is_floating_point() and not torch.isfinite(value).all():
        raise CheckFailed(
            what,
            expected="finite numbers",
            found="NaN or Inf values",
            hint=hint or "look for log(0) or a division by zero",
        )
    return value


def expect_close(
    found: torch.Tensor | float,
    expected: torch.Tensor | float,
    what: str,
    *,
    atol: float = 1e-5,
    rtol: float = 1e-4,
    hint: str = "",
    mistakes: Mapping[str, torch.Tensor | float] | None = None,
) -> None:
    """Check a number (or tensor) against the reference value, naming the mistake it matches.

    ``mistakes`` maps the hint for each usual mistake to the value that mistake would produce; a
    wrong ``found`` that matches one (within the same tolerances) gets its hint instead of ``hint``.
    """
    found_t = torch.as_tensor(found, dtype=torch.float64)
    expected_t = torch.as_tensor(expected, dtype=torch.float64)
    if found_t.shape != expected_t.shape:
        raise CheckFailed(
            what,
            expected=f"shape {tuple(expected_t.shape)}",
            found=f"shape {tuple(found_t.shape)}",
            hint=hint,
        )
    if torch.allclose(found_t, expected_t, atol=atol, rtol=rtol):
        return
    for mistake_hint, value in (mistakes or {}).items():
        value_t = torch.as_tensor(value, dtype=torch.float64)
        if value_t.shape == found_t.shape and torch.allclose(
            found_t, value_t, atol=atol, rtol=rtol
        ):
            hint = mistake_hint
            break
    worst = (found_t - expected_t).abs().max().item()

    def show(t: torch.Tensor) -> str:
        return f"{t.item():.6g}" if t.numel() == 1 else f"{t.flatten()[:4].tolist()} ..."

    raise CheckFailed(
        what,
        expected=show(expected_t),
        found=f"{show(found_t)} (largest difference {worst:.3g})",
        hint=hint,
    )


class seeded:  # lower case: used as a context manager, like torch.no_grad
    """Run a block with fixed seeds (torch, Python's ``random``, NumPy) and restore the learner's
    random states afterwards, so a checker gives the same verdict every run.

    ``torch.manual_seed`` also reseeds every GPU, so the CUDA states are saved and restored too:
    a check must not change what the learner's next ``torch.randn(..., device="cuda")`` gives.
    """

    def __init__(self, seed: int = 0) -> None:
        self.seed = seed

    def __enter__(self) -> None:
        self._state = torch.random.get_rng_state()
        self._cuda_states = torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None
        self._python, self._numpy = random.getstate(), np.random.get_state()
        torch.manual_seed(self.seed)
        random.seed(self.seed)
        np.random.seed(self.seed)

    def __exit__(self, *exc: object) -> None:
        torch.random.set_rng_state(self._state)
        if self._cuda_states is not None:
            torch.cuda.set_rng_state_all(self._cuda_states)
        random.setstate(self._python)
        np.random.set_state(self._numpy)
