"""Checks of user input, shared by the modules: each error names the culprit and what was expected.

The checks of one value are functions ``check(name, value)`` that return the value (converted
where they say so) or raise a ValueError whose text starts with ``name``: the same functions
check the arguments of the library, the options of the command line and every field of a
checkpoint (``minigan.app.checkpoint.Schema`` uses them as its leaves). Below them: the checks
of a saved module's or optimiser's state, and of the parameters given to an optimiser.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Mapping

import numpy as np

from minigan.autograd import Tensor

__all__ = ["brief", "positive_int", "count", "positive_number", "non_negative_number", "fraction", "one_of",
           "lookup", "flag", "array", "sha256", "module_state", "optimizer_state", "distinct_parameters"]


def brief(value, limit: int = 60) -> str:
    """``repr(value)``, cut to ``limit`` characters: a message stays one readable line."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit] + "..."


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is a whole number ≥ 1 (Python or NumPy), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {brief(value)}")
    return int(value)


def count(name: str, value) -> int:
    """``value`` as an int if it is a whole number ≥ 0 (Python or NumPy), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number ≥ 0, got {brief(value)}")
    return int(value)


def positive_number(name: str, value) -> float:
    """``value`` as a float if it is a finite number > 0, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {brief(value)}")
    return float(value)


def non_negative_number(name: str, value) -> float:
    """``value`` as a float if it is a finite number ≥ 0, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number ≥ 0, got {brief(value)}")
    return float(value)


def fraction(name: str, value) -> float:
    """``value`` as a float if it lies in [0, 1), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {brief(value)}")
    return float(value)


def one_of(what: str, value, options):
    """``value`` if it is one of ``options``, else a ValueError that lists them."""
    if value not in options:
        raise ValueError(f"unknown {what} {brief(value)}; known: {', '.join(map(str, options))}")
    return value


def lookup(table: dict, name, what: str):
    """``table[name]``, or a ValueError that lists the known names."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {brief(name)}; known: {', '.join(table)}") from None


def flag(name: str, value) -> bool:
    """``value`` if it is True or False, else a ValueError."""
    if not isinstance(value, bool):
        raise ValueError(f"{name} must be true or false, got {brief(value)}")
    return value


def array(name: str, value, kinds: str = "f", finite: bool = True, ndim: int | None = None) -> np.ndarray:
    """``value`` if it is a NumPy array whose dtype kind is one of ``kinds`` (f float, i/u
    integer, b bool), with ``ndim`` dimensions if given and, if ``finite``, no NaN or infinity."""
    if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
        got = f"an array of dtype {value.dtype}" if isinstance(value, np.ndarray) else brief(value)
        raise ValueError(f"{name} must be an array of kind {kinds!r}, got {got}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {value.shape}")
    if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return value


def real_numbers(what: str, value) -> np.ndarray:
    """``value`` as a float64 NumPy array if it holds real numbers (bool, integer or floating point),
    else a ValueError naming ``what`` (ragged nested lists, strings, complex numbers, None, objects)."""
    try:
        raw = np.asarray(value)
    except ValueError:  # ragged nested lists
        raise ValueError(f"{what} must be a rectangular array of real numbers, got {brief(value)}") from None
    if raw.dtype.kind not in "biuf":  # an object array too: convert it first, e.g. with .astype(float)
        raise ValueError(f"{what} must be real numbers, got {type(value).__name__} of dtype {raw.dtype}")
    return raw.astype(np.float64, copy=False)


def sha256(name: str, value) -> str:
    """``value`` if it is a SHA-256 digest written as 64 lower-case hex digits, else a ValueError."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{name} must be a SHA-256 digest (64 hex digits), got {brief(value)}")
    return value


def layer_input(layer, x):
    """x, if it is a batch the dense ``layer`` takes (a Tensor of shape (batch, in_features) and
    the dtype of its weights); a TypeError or ValueError naming the layer otherwise."""
    if not isinstance(x, Tensor):
        raise TypeError(f"{layer!r} takes a Tensor, got {type(x).__name__}")
    if x.ndim != 2 or x.shape[1] != layer.in_features:
        raise ValueError(f"{layer!r} expected input of shape (batch, {layer.in_features}), got {x.shape}")
    if x.dtype != layer.weight.dtype:
        raise TypeError(f"{layer!r} has {layer.weight.dtype} parameters but got a {x.dtype} input")
    return x


def module_state(module, state: dict, own: dict | None = None) -> None:
    """A ValueError (names, shapes) or TypeError (dtypes) unless ``state`` holds an array for each of
    ``module``'s parameters and buffers (or of the tensors ``own``), by dotted name, of its shape and
    dtype, and nothing else."""
    if not isinstance(state, Mapping):
        raise TypeError(f"{type(module).__name__}.load_state_dict takes a dict of arrays by name (what state_dict() "
                        f"returns), got {type(state).__name__}")
    if own is None:
        own = dict(module.named_state())
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own), key=repr)
    problems = [f"{what} entries {names}" for what, names in (("missing", missing), ("unexpected", unexpected)) if names]
    if problems:
        raise ValueError(f"{type(module).__name__}.load_state_dict: " + "; ".join(problems))
    for name, p in own.items():
        if not (hasattr(state[name], "shape") and hasattr(state[name], "dtype")):
            raise TypeError(f"load_state_dict: {name!r} must be an array, got {type(state[name]).__name__}")
        if tuple(state[name].shape) != p.shape:
            raise ValueError(f"load_state_dict: {name!r} has shape {tuple(state[name].shape)}, expected {p.shape}")
        if state[name].dtype != p.dtype:
            raise TypeError(f"load_state_dict: {name!r} has dtype {state[name].dtype}, expected {p.dtype}")


def optimizer_state(optimizer, state: dict):
    """``optimizer``'s kind made with the saved hyperparameters (which its constructor checks),
    once the state is checked whole: its kind, step counts, and one buffer of each parameter's
    shape and dtype per buffer name; a ValueError naming the first problem otherwise."""
    who, names, n = type(optimizer).__name__, sorted(optimizer.hyperparameters()), len(optimizer.params)
    if state.get("type") != who:
        raise ValueError(f"optimiser state is for {state.get('type')!r}, not {who!r}")
    if sorted(state["hyperparameters"]) != names:
        raise ValueError(f"{who} state has hyperparameters {sorted(state['hyperparameters'])}, expected {names}")
    checked = type(optimizer)(optimizer.params, fused=False, **state["hyperparameters"])
    if len(state["steps"]) != n:
        raise ValueError(f"{who} state counts steps for {len(state['steps'])} parameters, not {n}")
    for t in state["steps"]:
        if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
            raise ValueError(f"{who} state: step counts must be integers ≥ 0, got {t!r}")
    for name in optimizer.buffer_names:
        arrays = state["buffers"].get(name, ())
        if len(arrays) != n:
            raise ValueError(f"{who} state: buffer {name!r} needs {n} arrays, got {len(arrays)}")
        for i, (array, p) in enumerate(zip(arrays, optimizer.params)):
            if tuple(array.shape) != p.shape or array.dtype != p.dtype:
                raise ValueError(f"{who} state: {name}[{i}] is {array.dtype} of shape {tuple(array.shape)}, "
                                 f"expected {p.dtype} of shape {p.shape}")
    return checked


def distinct_parameters(who: str, params) -> list:
    """The parameters as a list, each a tensor that requires grad (a Parameter, or a leaf tensor of
    your own) and none given twice (it would be updated twice)."""
    params, seen = list(params), {}
    if not params:
        raise ValueError(f"{who} got no parameters to optimise")
    for i, p in enumerate(params):
        if not isinstance(p, Tensor) or not p.requires_grad:
            raise TypeError(f"{who}: item {i} is a {type(p).__name__}"
                            f"{' that does not require grad' if isinstance(p, Tensor) else ''}, not a Parameter")
        if id(p) in seen:
            raise ValueError(f"{who}: items {seen[id(p)]} and {i} are the same parameter"
                             f"{f' {p.name!r}' if p.name else ''} (it would be updated twice per step)")
        seen[id(p)] = i
    return params
