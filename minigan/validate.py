"""Checks of user input, shared by the modules: each error names the culprit and what was expected.

Every check is a function ``check(name, value)`` that returns the value (converted where it
says so) or raises a ValueError whose text starts with ``name``: the same functions check
the arguments of the library, the options of the command line and every field of a
checkpoint (``minigan.app.checkpoint.Schema`` uses them as its leaves).
"""

from __future__ import annotations

import math
import numbers
import re

import numpy as np

__all__ = ["brief", "positive_int", "count", "positive_number", "non_negative_number", "fraction", "one_of",
           "lookup", "flag", "array", "sha256"]


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
        raise ValueError(f"{name} must be an array of kind {kinds!r}, got {brief(value)}")
    if ndim is not None and value.ndim != ndim:
        raise ValueError(f"{name} must be a {ndim}-D array, got shape {value.shape}")
    if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
        raise ValueError(f"{name} holds NaN or infinite values")
    return value


def sha256(name: str, value) -> str:
    """``value`` if it is a SHA-256 digest written as 64 lower-case hex digits, else a ValueError."""
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        raise ValueError(f"{name} must be a SHA-256 digest (64 hex digits), got {brief(value)}")
    return value
