"""What makes a training run *this* run: a description of its settings, stored in checkpoints.

``ganlib.train.fit`` describes a run before it trains: the step function (its name and a hash
of its source code and of the functions and constants it uses from its own module), the
models (class and parameter shapes), the optimizers' and options' hyperparameters, the loss
functions (partials included), the data (number and shape of the images, a hash of a sample of
them), the seed, and any extra ``config``. A checkpoint keeps it; ``resume=True`` compares it
with the new run's and lists every difference (:func:`differences`), so a learner who changed
the learning rate, the loss or the crop is not shown the old run's results.

Not part of it, on purpose: the budget (a longer run continues a shorter one), the device (a
run may move from CPU to GPU), how often to sample and save, and the progress bar.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import json
import types
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["describe_run", "describe", "differences", "dumps", "loads"]

#: Modules whose functions are named, not hashed: library code is the same code in every run.
LIBRARIES = ("ganlib", "torch", "functools", "builtins", "numpy", "math")
#: Images hashed to fingerprint a dataset: enough to see another crop, size or source.
SAMPLED_IMAGES = 16


def describe_run(
    step: Callable[..., Any],
    loaders: Iterable[Any],
    models: Mapping[str, nn.Module],
    optimizers: Mapping[str, torch.optim.Optimizer],
    options: Mapping[str, Any],
    schedulers: Mapping[str, Any],
    *,
    seed: int,
    config: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The settings of a run, as JSON-ready values (see the module docstring)."""
    return {
        "step": describe(step),
        "models": {k: _module(m) for k, m in models.items()},
        "optimizers": {k: _optimizer(o) for k, o in optimizers.items()},
        "options": {k: describe(v) for k, v in options.items()},
        "schedulers": {k: describe(s) for k, s in schedulers.items()},
        "data": [_loader(loader) for loader in loaders],
        "seed": seed,
        "config": {k: describe(v) for k, v in (config or {}).items()},
    }


def describe(value: Any) -> Any:
    """A JSON-ready description of one setting: equal descriptions mean the same setting."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [describe(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): describe(v) for k, v in value.items()}
    if isinstance(value, Tensor):
        return _tensor(value)
    if isinstance(value, nn.Module):
        return _module(value)
    if isinstance(value, functools.partial):
        function = describe(value.func)
        if isinstance(function, str):  # a library function: one readable line
            args = [repr(a) for a in value.args] + [f"{k}={v!r}" for k, v in value.keywords.items()]
            return f"{function}({', '.join(args)})"
        return {
            "function": function,
            "args": describe(value.args),
            "keywords": describe(value.keywords),
        }
    if isinstance(value, types.FunctionType | types.MethodType | types.BuiltinFunctionType):
        return _function(value)
    if isinstance(value, torch.optim.lr_scheduler.LambdaLR):
        return {"class": "LambdaLR", "lr_lambda": describe(value.lr_lambdas)}
    return _object(value)


def differences(before: Any, now: Any, path: tuple[str, ...] = ()) -> list[str]:
    """Every difference between two descriptions, as ``what: old -> new`` lines."""
    if isinstance(before, list) and isinstance(now, list) and len(before) == len(now):
        if any(isinstance(b, dict | list) for b in before):  # e.g. one entry per loader
            found = []
            for i, (b, n) in enumerate(zip(before, now, strict=True)):
                found += differences(b, n, (*path, str(i)) if len(before) > 1 else path)
            return found
    if _is_code(before) and _is_code(now) and before != now:
        if before["function"] == now["function"]:
            return [
                f"{_name(path)}: {before['function']} changed: its source code, or a function or "
                "constant it uses from its module"
            ]
        return [f"{_name(path)}: {before['function']} -> {now['function']}"]
    if isinstance(before, dict) and isinstance(now, dict):
        found = []
        for key in [*before, *(k for k in now if k not in before)]:
            where = (*path, key)
            if key not in now:
                found.append(f"{_name(where)}: {_show(before[key])} -> (not given)")
            elif key not in before:
                found.append(f"{_name(where)}: (not given) -> {_show(now[key])}")
            else:
                found += differences(before[key], now[key], where)
        return found
    if before == now:
        return []
    return [f"{_name(path)}: {_show(before)} -> {_show(now)}"]


def dumps(settings: Mapping[str, Any]) -> str:
    return json.dumps(settings, sort_keys=True)


def loads(text: str) -> dict[str, Any]:
    return json.loads(text)


# --------------------------------------------------------------------------- the parts


def _tensor(t: Tensor) -> dict[str, Any]:
    data = t.detach().cpu().contiguous()
    digest = hashlib.sha1(data.view(torch.uint8).numpy().tobytes()).hexdigest()[:12]
    return {"tensor": list(t.shape), "dtype": str(t.dtype).removeprefix("torch."), "sha1": digest}


def _module(m: nn.Module) -> dict[str, Any]:
    """Class name and parameter shapes: another architecture or width shows as a difference."""
    shapes = {name: list(p.shape) for name, p in m.named_parameters()}
    return {"class": type(m).__qualname__, "parameters": shapes}


#: Optimizer settings that change how it computes, not what: left out of the description.
_IMPLEMENTATION = ("foreach", "fused", "capturable", "differentiable", "maximize")


def _optimizer(o: torch.optim.Optimizer) -> dict[str, Any]:
    hyper = {k: describe(v) for k, v in o.defaults.items() if k not in _IMPLEMENTATION}
    return {"class": type(o).__qualname__, **hyper}


def _loader(loader: Any) -> dict[str, Any]:
    """Batch size, seed and a fingerprint of the images of a BatchLoader (else its type)."""
    images = getattr(loader, "images", None)
    if not isinstance(images, Tensor):
        return {"class": type(loader).__qualname__}
    picks = torch.linspace(0, len(images) - 1, min(SAMPLED_IMAGES, len(images))).long()
    return {
        "images": len(images),
        "shape": list(images.shape[1:]),
        "sample": _tensor(images[picks.to(images.device)])["sha1"],
        "batch_size": getattr(loader, "batch_size", None),
        "seed": getattr(loader, "seed", None),
    }


def _function(fn: Callable[..., Any]) -> Any:
    """A library function by name; the learner's own by name and a hash of its source code,
    including the functions and constants it uses from its module (e.g. a loss it calls)."""
    fn = inspect.unwrap(fn)
    if _library(fn):
        return f"{fn.__module__}.{getattr(fn, '__qualname__', fn.__name__)}"
    return {"function": fn.__name__, "source": _source_hash(fn, set())}


def _library(fn: Any) -> bool:
    module = getattr(fn, "__module__", None) or "builtins"
    return module.split(".")[0] in LIBRARIES


def _source_hash(fn: Any, seen: set[int]) -> str:
    seen.add(id(fn))
    code = getattr(fn, "__code__", None)
    try:
        text = inspect.getsource(fn)
    except (OSError, TypeError):  # no source file (e.g. made by exec): the bytecode instead
        text = repr(code.co_code) if code is not None else repr(fn)
    parts = [text]
    scope = getattr(fn, "__globals__", {})
    for used in sorted(_names_used(code)) if code is not None else []:
        value = scope.get(used)
        if isinstance(value, bool | int | float | str):
            parts.append(f"{used}={value!r}")
        elif isinstance(value, functools.partial) or (
            isinstance(value, types.FunctionType) and _library(value)
        ):
            parts.append(f"{used}={json.dumps(describe(value), sort_keys=True)}")
        elif isinstance(value, types.FunctionType) and id(value) not in seen:
            parts.append(f"{used}:{_source_hash(value, seen)}")
    return hashlib.sha1("\n".join(parts).encode()).hexdigest()[:12]


def _names_used(code: types.CodeType) -> set[str]:
    """Global names a function's code (and the code nested in it) looks up."""
    names = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, types.CodeType):
            names |= _names_used(const)
    return names


def _object(value: Any) -> dict[str, Any]:
    """Other objects (an image pool, a GradScaler): the class and its plain settings."""
    plain = {
        k.lstrip("_"): v
        for k, v in sorted(vars(value).items())
        if isinstance(v, bool | int | float | str) and k not in ("_growth_tracker",)
    } if hasattr(value, "__dict__") else {}  # fmt: skip
    if isinstance(value, torch.amp.GradScaler):
        plain = {"enabled": value.is_enabled()}
    return {"class": type(value).__qualname__, **plain}


# --------------------------------------------------------------------------- messages


def _is_code(d: Any) -> bool:
    return isinstance(d, dict) and set(d) == {"function", "source"}


def _name(path: tuple[str, ...]) -> str:
    """A description path in the words of the lesson: ``(optimizers, opt_d, lr)`` -> ``opt_d lr``."""
    parts = list(path)
    if parts and parts[0] in ("options", "optimizers", "models", "schedulers", "config"):
        parts = parts[1:] or parts
    elif parts and parts[0] == "data" and len(parts) > 2 and parts[1].isdigit():
        parts = [f"data of loader {parts[1]}", *parts[2:]]
    elif parts and parts[0] == "step":
        parts = ["step function"]
    return " ".join(parts) or "settings"


def _show(value: Any) -> str:
    if _is_code(value):
        return f"{value['function']} (source {value['source']})"
    if isinstance(value, dict) and "class" in value and "parameters" in value:
        n = sum(_count(shape) for shape in value["parameters"].values())
        return f"{value['class']} with {n:,} parameters"
    text = json.dumps(value, sort_keys=True) if not isinstance(value, str) else value
    return text if len(text) <= 80 else text[:77] + "..."


def _count(shape: list[int]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
