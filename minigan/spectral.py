"""Spectral normalisation (Miyato et al. 2018): a dense layer that cannot stretch its input.

A D that tells real from fake perfectly can be arbitrarily steep, and its gradients, which
are all G learns from, then explode or vanish. Dividing each weight by its spectral norm,

    y = x W/σ(W) + b,    σ(W) = max over x of |x W| / |x|  (W's largest singular value),

makes every layer stretch no input by more than 1, so a D built of such layers and
activations of slope ≤ 1 moves its output by at most about |Δx| when its input moves by
Δx, however well it has learned.

σ comes from power iteration on unit vectors u (length in) and v (length out), kept as
Buffers (saved with the weights, never learned). Each forward pass in training mode takes
one step from the last pass's u:

    v ← u W / |u W|,    u ← W v / |W v|,    σ̂ = u W v  (≤ σ, approaching it from below).

W changes little per update, so a step per pass keeps up; D(real), D(fake) and the G-step's
D(fake) each take one, as PyTorch's does. u and v are constants to the autodiff, as in the
paper: the gradient reaches W directly and through σ̂ = u W v. In evaluation mode u and v
stay as they are, and the layer is the fixed function x W/(u W v) + b. (Here W is (in, out),
so u and v play the roles of the paper's v and u.)
"""

from __future__ import annotations

import numpy as np

from minigan import backend, ops, validate
from minigan.autograd import Tensor
from minigan.nn import Buffer, Linear
from minigan.rng import resolve

__all__ = ["SpectralNormLinear"]

FIRST_STEPS = 15  # power-iteration steps when the layer is made, as PyTorch takes


class SpectralNormLinear(Linear):
    """y = x W/σ̂(W) + b: a ``Linear`` layer with its weight divided by (an estimate of) its
    largest singular value, kept up to date by one power-iteration step per training pass."""

    def __init__(self, in_features: int, out_features: int, **options):
        super().__init__(in_features, out_features, **options)
        prefix = f"{self.name}." if self.name else ""
        u = resolve(options.get("rng")).normal(size=self.in_features)
        self.u = Buffer(backend.asarray(u / np.linalg.norm(u), dtype=self.weight.dtype), name=prefix + "u")
        self.v = Buffer(backend.current().zeros(self.out_features, dtype=self.weight.dtype), name=prefix + "v")
        for _ in range(FIRST_STEPS):
            self.power_step()

    def power_step(self) -> None:
        """One step of power iteration: v ← u W / |u W|, then u ← W v / |W v|."""
        W = self.weight.data
        self.v.data[...] = _unit(self.u.data @ W)
        self.u.data[...] = _unit(W @ self.v.data)
        self.u.version += 1  # changed in place: a graph that used the old u is stale
        self.v.version += 1

    def forward(self, x: Tensor) -> Tensor:
        x, W = validate.layer_input(self, x), self.weight
        if self.training:
            self.power_step()
        u, v = Tensor(self.u.data[None, :].copy()), Tensor(self.v.data.copy())  # this pass's constants
        sigma = ops.sum(ops.matmul(u, W) * v)  # σ̂ = u W v
        return ops.linear(x, W / sigma, self.bias)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"SpectralNormLinear{label}({self.in_features} -> {self.out_features})"


def _unit(a):
    """a / |a|, computed on the array's device (no read-back); a zero vector stays zero."""
    xp = backend.array_module(a)
    return a / xp.maximum(xp.linalg.norm(a), a.dtype.type(1e-12))
