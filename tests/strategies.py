"""Hypothesis strategies shared by the test suites (kept in one place)."""

import numpy as np
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigan import Tensor, backend

MAX_SIDE = 4


def shapes(min_dims: int = 0, max_dims: int = 3):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=1, max_side=MAX_SIDE)


def values(low: float = -3.0, high: float = 3.0, avoid=(), margin: float = 1e-2):
    """Floats in [low, high] at least ``margin`` from each point in ``avoid`` (kinks, poles)."""
    return st.floats(low, high, allow_nan=False, allow_infinity=False).filter(
        lambda v: all(abs(v - p) > margin for p in avoid)
    )


def arrays(shape, **value_kwargs):
    return hnp.arrays(np.float64, shape, elements=values(**value_kwargs))


def broadcast_pair():
    """Two shapes that broadcast together (e.g. a bias (3,) against a batch (5, 3))."""
    return hnp.mutually_broadcastable_shapes(num_shapes=2, min_dims=0, max_dims=3, max_side=MAX_SIDE).map(
        lambda result: result.input_shapes
    )


def leaf(array) -> Tensor:
    """A float64 tensor on the current backend that requires grad."""
    return Tensor(backend.asarray(np.asarray(array, dtype=np.float64)), requires_grad=True)
