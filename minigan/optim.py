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

from minigan import backend, validate
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
        self.lr = validate.positive_number("lr", lr)
        self.steps = [0] * len(self.params)  # updates each parameter has had (t in Adam's bias correction)
        self.buffers = {
            name: [backend.array_module(p.data).zeros_like(p.data) for p in self.params]
            for name in self.buffer_names
        }

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """Update every parameter that has a gradient."""
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.steps[i] += 1
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
            "steps": list(self.steps),
            "buffers": {name: [b.copy() for b in arrays] for name, arrays in self.buffers.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved state: buffers, step counts, and the saved hyperparameters,
        which replace the current ones (a resumed run keeps the settings it ran with)."""
        name_of_self = type(self).__name__
        if state.get("type") != name_of_self:
            raise ValueError(f"optimiser state is for {state.get('type')!r}, not {name_of_self!r}")
        unknown = sorted(set(state["hyperparameters"]) - set(self.hyperparameters()))
        if unknown:
            raise ValueError(f"{name_of_self} state has unknown hyperparameters {unknown}")
        if len(state["steps"]) != len(self.params):
            raise ValueError(f"{name_of_self} state counts steps for {len(state['steps'])} parameters, "
                             f"not {len(self.params)}")
        buffers = state["buffers"]
        for name in self.buffer_names:
            saved = buffers.get(name)
            if saved is None or len(saved) != len(self.params):
                raise ValueError(
                    f"{type(self).__name__} state: buffer {name!r} needs {len(self.params)} arrays, "
                    f"got {0 if saved is None else len(saved)}"
                )
            for i, (array, p) in enumerate(zip(saved, self.params, strict=True)):
                if tuple(array.shape) != p.shape or array.dtype != p.dtype:
                    raise ValueError(
                        f"{name_of_self} state: {name}[{i}] is {array.dtype} of shape {tuple(array.shape)}, "
                        f"expected {p.dtype} of shape {p.shape}"
                    )
        for key, value in state["hyperparameters"].items():
            setattr(self, key, tuple(value) if isinstance(value, (list, tuple)) else value)
        self.steps = [int(t) for t in state["steps"]]
        for name in self.buffer_names:
            for own, array in zip(self.buffers[name], buffers[name], strict=True):
                own[...] = backend.asarray(array)

    def __repr__(self) -> str:
        """Its settings, e.g. ``Adam(lr=0.0002, betas=(0.5, 0.999), eps=1e-08; 6 parameters)``."""
        settings = ", ".join(f"{key}={tuple(value) if isinstance(value, list) else value}"
                             for key, value in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}; {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum μ: v ← μ v + g; θ ← θ - η v."""

    buffer_names = ("velocity",)

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0):
        self.momentum = validate.fraction("momentum", momentum)
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
        self.betas = self.check_betas(betas)
        self.eps = validate.positive_number("eps", eps)
        super().__init__(params, lr)

    @staticmethod
    def check_betas(betas) -> tuple[float, float]:
        """(β₁, β₂), each in [0, 1), or a ValueError."""
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        return validate.fraction("beta1", betas[0]), validate.fraction("beta2", betas[1])

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
        # built up in place in one array (fewer full-size temporaries for large layers)
        t = self.steps[i]
        step = backend.array_module(theta).sqrt(v)
        step *= 1.0 / math.sqrt(1.0 - beta2**t)  # √v̂
        step += self.eps  # √v̂ + ε
        backend.array_module(theta).divide(m, step, out=step)  # m / (√v̂ + ε)
        step *= self.lr / (1.0 - beta1**t)  # η m̂ / (√v̂ + ε)
        theta -= step
