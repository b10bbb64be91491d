"""Checks of user input, shared by the modules: each error names the culprit and what was expected."""

from __future__ import annotations

import math
import numbers

__all__ = ["positive_int", "count", "positive_number", "non_negative_number", "fraction", "one_of", "lookup",
           "module_state", "optimizer_state"]


def positive_int(name: str, value) -> int:
    """``value`` as an int if it is a whole number ≥ 1 (Python or NumPy), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def count(name: str, value) -> int:
    """``value`` as an int if it is a whole number ≥ 0 (Python or NumPy), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a whole number ≥ 0, got {value!r}")
    return int(value)


def positive_number(name: str, value) -> float:
    """``value`` as a float if it is a finite number > 0, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    return float(value)


def non_negative_number(name: str, value) -> float:
    """``value`` as a float if it is a finite number ≥ 0, else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number ≥ 0, got {value!r}")
    return float(value)


def fraction(name: str, value) -> float:
    """``value`` as a float if it lies in [0, 1), else a ValueError."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
        raise ValueError(f"{name} must be in [0, 1), got {value!r}")
    return float(value)


def one_of(what: str, value, options):
    """``value`` if it is one of ``options``, else a ValueError that lists them."""
    if value not in options:
        raise ValueError(f"unknown {what} {value!r}; known: {', '.join(map(str, options))}")
    return value


def lookup(table: dict, name, what: str):
    """``table[name]``, or a ValueError that lists the known names."""
    try:
        return table[name]
    except (KeyError, TypeError):
        raise ValueError(f"unknown {what} {name!r}; known: {', '.join(table)}") from None


def module_state(module, state: dict) -> None:
    """A ValueError (names, shapes) or TypeError (dtypes) unless ``state`` holds an array for each of
    ``module``'s parameters, by dotted name, of its shape and dtype, and nothing else."""
    own = dict(module.named_parameters())
    missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
    problems = [f"{what} entries {names}" for what, names in (("missing", missing), ("unexpected", unexpected)) if names]
    if problems:
        raise ValueError(f"{type(module).__name__}.load_state_dict: " + "; ".join(problems))
    for name, p in own.items():
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
