"""Optimisers: how a gradient becomes a parameter update.

    SGD (with momentum)   v ← μ v + g;            θ ← θ - η v
    Adam                  m ← β₁ m + (1 - β₁) g;  v ← β₂ v + (1 - β₂) g²
                          m̂ = m / (1 - β₁ᵗ);       v̂ = v / (1 - β₂ᵗ)
                          θ ← θ - η m̂ / (√v̂ + ε)  (Kingma & Ba 2015, Algorithm 1)

Updates are made in place on the parameters' arrays, outside the graph. Parameters
whose ``grad`` is None (not reached by the last backward) are left as they are.
``state_dict()`` / ``load_state_dict()`` save and restore everything a resumed run
needs to continue exactly as if it had never stopped.
"""

from __future__ import annotations

import math

from minigan import backend
from minigan.nn import Parameter

__all__ = ["Optimizer", "SGD", "Adam", "GAN_BETAS"]

GAN_BETAS = (0.5, 0.999)
"""Adam's betas for GANs: β₁ = 0.5 instead of 0.9 damps the momentum that makes the
two players overshoot each other (Radford et al. 2016, DCGAN). minigan.gan uses it."""


class Optimizer:
    """Base class: holds the parameters, clears their gradients, saves its state."""

    buffer_names: tuple[str, ...] = ()  # per-parameter arrays kept between steps

    def __init__(self, params, lr: float):
        self.params = list(params)
        if not self.params:
            raise ValueError(f"{type(self).__name__} got no parameters to optimise")
        for i, p in enumerate(self.params):
            if not isinstance(p, Parameter):
                raise TypeError(f"{type(self).__name__}: item {i} is a {type(p).__name__}, not a Parameter")
        _check_positive("lr", lr)
        self.lr = float(lr)
        self.steps = 0
        self.buffers = {
            name: [backend.module_of(p.data).zeros_like(p.data) for p in self.params]
            for name in self.buffer_names
        }

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        self.steps += 1
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self._update(i, p.data, p.grad.data)

    def _update(self, i: int, theta, g) -> None:
        raise NotImplementedError

    def hyperparameters(self) -> dict:
        return {"lr": self.lr}

    def state_dict(self) -> dict:
        """{'type', 'hyperparameters', 'steps', 'buffers': {name: [array per parameter]}} (copies)."""
        return {
            "type": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "steps": self.steps,
            "buffers": {name: [b.copy() for b in arrays] for name, arrays in self.buffers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("type") != type(self).__name__:
            raise ValueError(f"optimiser state is for {state.get('type')!r}, not {type(self).__name__!r}")
        buffers = state["buffers"]
        for name in self.buffer_names:
            saved = buffers.get(name)
            if saved is None or len(saved) != len(self.params):
                raise ValueError(
                    f"{type(self).__name__} state: buffer {name!r} needs {len(self.params)} arrays, "
                    f"got {0 if saved is None else len(saved)}"
                )
            for i, (array, p) in enumerate(zip(saved, self.params)):
                if tuple(array.shape) != p.shape:
                    raise ValueError(
                        f"{type(self).__name__} state: {name}[{i}] has shape {tuple(array.shape)}, expected {p.shape}"
                    )
        for key, value in state["hyperparameters"].items():
            setattr(self, key, tuple(value) if isinstance(value, (list, tuple)) else value)
        self.steps = int(state["steps"])
        for name in self.buffer_names:
            for own, array in zip(self.buffers[name], buffers[name]):
                own[...] = backend.asarray(array)


def _check_positive(name: str, value: float, upper: float | None = None) -> None:
    if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive number, got {value!r}")
    if upper is not None and value >= upper:
        raise ValueError(f"{name} must be below {upper}, got {value!r}")


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum μ: v ← μ v + g; θ ← θ - η v."""

    buffer_names = ("velocity",)

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0):
        if not 0.0 <= momentum < 1.0:
            raise ValueError(f"momentum must be in [0, 1), got {momentum!r}")
        self.momentum = float(momentum)
        super().__init__(params, lr)

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}

    def _update(self, i, theta, g):
        velocity = self.buffers["velocity"][i]
        velocity *= self.momentum
        velocity += g
        theta -= self.lr * velocity


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba 2015). Published defaults betas = (0.9, 0.999);
    for GANs use ``GAN_BETAS`` = (0.5, 0.999), as ``minigan.gan`` does."""

    buffer_names = ("m", "v")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8):
        beta1, beta2 = betas
        for name, beta in (("beta1", beta1), ("beta2", beta2)):
            if not 0.0 <= beta < 1.0:
                raise ValueError(f"{name} must be in [0, 1), got {beta!r}")
        _check_positive("eps", eps)
        self.betas, self.eps = (float(beta1), float(beta2)), float(eps)
        super().__init__(params, lr)

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps}

    def _update(self, i, theta, g):
        beta1, beta2 = self.betas
        m, v = self.buffers["m"][i], self.buffers["v"][i]
        m *= beta1
        m += (1.0 - beta1) * g  # m: running mean of g
        v *= beta2
        v += (1.0 - beta2) * (g * g)  # v: running mean of g²
        # θ -= η m̂ / (√v̂ + ε), with m̂ = m / (1 - β₁ᵗ) and √v̂ = √v / √(1 - β₂ᵗ),
        # built up in one array (in place: no full-size temporaries for large layers)
        step = backend.module_of(theta).sqrt(v)
        step *= 1.0 / math.sqrt(1.0 - beta2**self.steps)  # √v̂
        step += self.eps  # √v̂ + ε
        backend.module_of(theta).divide(m, step, out=step)  # m / (√v̂ + ε)
        step *= self.lr / (1.0 - beta1**self.steps)  # η m̂ / (√v̂ + ε)
        theta -= step
