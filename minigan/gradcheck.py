"""Proof by numbers: analytic gradients against central differences in float64.

For a function f of tensors, backpropagation gives ∂f/∂x. A central difference
estimates the same thing without any calculus:

    ∂f/∂x_j  ≈  (f(x + ε e_j) - f(x - ε e_j)) / 2ε        (error O(ε²))

``check_grad`` compares the two for every element of every input, and on failure
names the worst element: which input, which index, the analytic and the numeric
value, and by how much they differ. ``check_gradgrad`` does the same one level
up, for the gradient of the backward pass itself (second order).

A non-scalar output y is first reduced to the scalar f = Σ r ⊙ y with fixed random
weights r, which checks the vector-Jacobian product rᵀ ∂y/∂x that backward computes.
``directional=True`` checks one random direction v instead of every element,
(f(x + εv) - f(x - εv)) / 2ε against ⟨∂f/∂x, v⟩: one pair of evaluations for an
input of any size.

Inputs must be float64: in float32 the rounding error of f (about 1e-7 · |f|),
divided by 2ε, would swamp the difference being measured.
"""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np  # host-side bookkeeping: random weights and the numeric estimates

from minigan import backend
from minigan.autograd import Tensor, grad

__all__ = ["GradientCheckError", "numerical_grad", "check_grad", "check_gradgrad"]

EPS, RTOL, ATOL = 1e-6, 1e-6, 1e-6


class GradientCheckError(AssertionError):
    """An analytic gradient disagreed with the numerical one."""


def _validated(inputs: Sequence[Tensor]) -> list[Tensor]:
    inputs = list(inputs)
    for i, x in enumerate(inputs):
        if not isinstance(x, Tensor):
            raise TypeError(f"input {i} is a {type(x).__name__}; gradient checks take Tensors")
        if x.dtype != "float64":
            raise TypeError(f"input {i} has dtype {x.dtype}; gradient checks need float64 "
                            "(float32 rounding would swamp the central difference)")
        if not x.requires_grad:
            raise ValueError(f"input {i} does not require grad; create it with requires_grad=True")
    return inputs


def _random_like(x: Tensor, rng) -> Tensor:
    return Tensor(backend.asarray(rng.standard_normal(x.shape)).astype(x.dtype))


def _scalar_projection(fn: Callable, inputs: list[Tensor], seed: int) -> Callable:
    """f(*inputs) as one number: fn's output if it has one element, else Σ r ⊙ output."""
    probe = fn(*inputs)
    if not isinstance(probe, Tensor):
        raise TypeError(f"the function under test returned a {type(probe).__name__}, not a Tensor")
    if probe.size == 1:
        return lambda *xs: fn(*xs).sum()
    weights = _random_like(probe, np.random.default_rng(seed))
    return lambda *xs: (fn(*xs) * weights).sum()


def numerical_grad(f: Callable, inputs: Sequence[Tensor], eps: float = EPS) -> list:
    """Central-difference estimate of ∂f/∂x for each input (f returns a one-element Tensor)."""
    inputs, grads = list(inputs), []
    for x in inputs:
        if not x.data.flags.c_contiguous:
            x.data = x.data.copy()
        flat, g = x.data.reshape(-1), np.zeros(x.size)  # flat: a view, so writing to it perturbs x
        for j in range(flat.size):
            original = flat[j].item()
            flat[j] = original + eps
            f_plus = f(*inputs).item()
            flat[j] = original - eps
            f_minus = f(*inputs).item()
            flat[j] = original
            g[j] = (f_plus - f_minus) / (2 * eps)
        grads.append(g.reshape(x.shape))
    return grads


def _directional_derivative(f: Callable, inputs: list[Tensor], directions: list, eps: float) -> float:
    """(f(x + εv) - f(x - εv)) / 2ε, with v one direction array per input."""
    originals = [x.data.copy() for x in inputs]

    def shifted(step: float) -> float:
        for x, x0, v in zip(inputs, originals, directions, strict=True):
            x.data[...] = x0 + step * v
        return f(*inputs).item()

    try:
        return (shifted(eps) - shifted(-eps)) / (2 * eps)
    finally:
        for x, x0 in zip(inputs, originals, strict=True):
            x.data[...] = x0


def check_grad(fn: Callable, inputs: Sequence[Tensor], *, eps: float = EPS, rtol: float = RTOL, atol: float = ATOL,
               directional: bool = False, seed: int = 0) -> None:
    """Raise GradientCheckError unless backprop's gradient of ``fn`` matches central differences:
    |analytic - numeric| ≤ atol + rtol·|numeric| for every element (or, ``directional``, for the
    derivative along one random direction)."""
    inputs = _validated(inputs)
    f = _scalar_projection(fn, inputs, seed)
    value = f(*inputs)
    # nothing recorded: f does not depend on the inputs (the 2nd derivative of a linear function)
    analytic = [backend.to_numpy(g.data) for g in grad(value, inputs)] if value.requires_grad \
        else [np.zeros(x.shape) for x in inputs]
    if directional:
        rng = np.random.default_rng(seed + 1)
        host = [rng.standard_normal(x.shape) for x in inputs]
        numeric = _directional_derivative(f, inputs, [backend.asarray(v) for v in host], eps)
        predicted = float(sum((a * v).sum() for a, v in zip(analytic, host, strict=True)))
        if abs(predicted - numeric) > atol + rtol * abs(numeric):
            raise GradientCheckError(f"directional derivative mismatch: analytic {predicted:.10g}, numeric "
                                     f"{numeric:.10g}, error {abs(predicted - numeric):.3g} "
                                     f"(allowed {atol + rtol * abs(numeric):.3g})")
        return
    worst = (0.0,)  # (excess over the tolerance, input, index, analytic, numeric)
    for i, (a, n) in enumerate(zip(analytic, numerical_grad(f, inputs, eps), strict=True)):
        excess = np.abs(a - n) / (atol + rtol * np.abs(n))
        j = int(np.argmax(excess)) if excess.size else 0
        if excess.size and excess.flat[j] > worst[0]:
            worst = (excess.flat[j], i, np.unravel_index(j, a.shape), a.flat[j], n.flat[j])
    if worst[0] > 1:
        _, i, index, a, n = worst
        raise GradientCheckError(f"gradient mismatch at input {i}, index {tuple(int(k) for k in index)}: analytic "
                                 f"{a:.10g}, numeric {n:.10g}, error {abs(a - n):.3g} (allowed {atol + rtol * abs(n):.3g})")


def check_gradgrad(fn: Callable, inputs: Sequence[Tensor], *, seed: int = 0, **options) -> None:
    """Check second-order gradients: differentiate the backward pass of ``fn``.

    With f the scalar projection of fn and s fixed random weights, the function
    h(x) = Σ_i ⟨s_i, ∂f/∂x_i⟩ is computed by a backward pass with create_graph=True;
    ``check_grad(h)`` then compares its gradient (a Hessian-vector product) with
    central differences of h, whose first-order part is itself already checked.
    ``options`` (eps, rtol, atol, directional) are those of ``check_grad``.
    """
    inputs = _validated(inputs)
    f = _scalar_projection(fn, inputs, seed)
    rng = np.random.default_rng(seed + 2)
    weights = [_random_like(x, rng) for x in inputs]

    def first_order(*xs):
        return sum((g * s).sum() for g, s in zip(grad(f(*xs), xs, create_graph=True), weights, strict=True))

    check_grad(first_order, inputs, seed=seed, **options)
