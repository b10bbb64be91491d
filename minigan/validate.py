"""Checks of user input, shared by the modules: each error names the culprit and what was expected."""

from __future__ import annotations

import math
import numbers

__all__ = ["positive_int", "count", "positive_number", "non_negative_number", "fraction", "one_of", "lookup"]


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
