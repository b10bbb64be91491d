"""Random numbers: one seeded generator, so a run can be repeated bit for bit.

    minigan.seed(0)                  # the documented way to make a run reproducible
    rng = minigan.rng.generator()    # what initialisers, samplers and GAN training draw from

Every function that draws also takes ``rng=`` (a ``numpy.random.Generator``) for
callers who keep their own. Numbers are drawn on the host with NumPy and moved to
the backend afterwards, so the same seed gives the same numbers on NumPy and CuPy.
"""

from __future__ import annotations

import numpy as np

__all__ = ["seed", "generator", "resolve"]

_generator = np.random.default_rng(0)


def seed(value: int) -> np.random.Generator:
    """Reset the shared generator to ``value``; two runs after the same seed are identical."""
    global _generator
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"seed must be a non-negative integer, got {value!r}")
    _generator = np.random.default_rng(int(value))
    return _generator


def generator() -> np.random.Generator:
    """The shared generator (seeded with 0 until ``seed`` is called)."""
    return _generator


def resolve(rng: np.random.Generator | None, default: np.random.Generator | None = None) -> np.random.Generator:
    """``rng`` if given, else ``default`` if given, else the shared generator."""
    if rng is None:
        return _generator if default is None else default
    if not isinstance(rng, np.random.Generator):
        seed = isinstance(rng, (int, np.integer)) and not isinstance(rng, bool)  # a seed where a generator belongs
        hint = f" (for a seed: np.random.default_rng({rng}))" if seed else ""
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}{hint}")
    return rng
