"""Optimisers: how a gradient becomes a parameter update.

    SGD (with momentum μ)   v ← μ v + g;              θ ← θ - η v
    Adam                    m ← β₁ m + (1 - β₁) g;    v ← β₂ v + (1 - β₂) g²
                            m̂ = m / (1 - β₁ᵗ);         v̂ = v / (1 - β₂ᵗ)
                            θ ← θ - η m̂ / (√v̂ + ε)    (Kingma & Ba 2015, Algorithm 1)

``step()`` applies the rule to each parameter that has a gradient, in place on its array,
outside the graph; ``update`` below is each rule, line for line. ``state_dict()`` /
``load_state_dict()`` save and restore all a resumed run needs to go on exactly as if it
had never stopped.

The learning rate used is η = ``lr`` × ``lr_factor``: ``lr`` is what you set, and a
schedule (a GAN's decay) changes only ``lr_factor`` (1 unless one does).

By default (``fused=True``) the rule runs on all the parameters at once, kept in
one flat array (``minigan.fast.fused``): a handful of array operations instead of a
handful per parameter, giving the same numbers bit for bit (tested). Reading this module
you can ignore it: the per-parameter loop is the definition.
"""

from __future__ import annotations

import math

from minigan import backend, validate
from minigan.fast.fused import FusedUpdate

__all__ = ["Optimizer", "SGD", "Adam", "GAN_BETAS"]

GAN_BETAS = (0.5, 0.999)
"""Adam's betas for GANs: β₁ = 0.5 instead of 0.9 damps the momentum that makes the
two players overshoot each other (Radford et al. 2016, DCGAN). minigan.gan uses it."""


class Optimizer:
    """Holds the parameters and their per-parameter state (``state[i]``, a dict of arrays like
    parameter i), clears their gradients, updates them, saves and restores itself."""

    buffer_names: tuple[str, ...] = ()  # the arrays each parameter's state keeps between steps

    def __init__(self, params, lr: float, fused: bool = True):
        self.params = validate.distinct_parameters(type(self).__name__, params)
        self.lr, self.lr_factor = self.check_lr(lr), 1.0
        self.steps = [0] * len(self.params)  # updates each parameter has had (t in Adam's bias correction)
        self.state = [{name: backend.array_module(p.data).zeros_like(p.data) for name in self.buffer_names}
                      for p in self.params]
        self.fused = FusedUpdate(self) if fused and FusedUpdate.possible(self) else None  # see the docstring

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def step(self) -> None:
        """θ ← rule(θ, ∇θ) for every parameter that has a gradient (the others are left as they are)."""
        for p in self.params:
            if p.grad is not None and (p.grad._data.shape != p._data.shape or p.grad._data.dtype != p._data.dtype):
                raise ValueError(f"{type(self).__name__}.step(): {p._label()} ({p.dtype}, shape {p.shape}) has a "
                                 f"gradient of dtype {p.grad.dtype} and shape {p.grad.shape}")
        if self.fused is not None and self.fused.step():
            return  # done at once for all parameters (they all had a gradient and one step count)
        for i, p in enumerate(self.params):
            if p.grad is not None:
                self.steps[i] += 1
                self.update(p.data, p.grad.data, self.state[i], self.steps[i])
                p.version += 1  # changed in place: a graph built on the old values is stale

    def update(self, theta, g, state: dict, t: int) -> None:
        """The rule for one parameter θ with gradient g (arrays of one shape), at its t-th update."""
        raise NotImplementedError

    def undo_step(self) -> None:
        """Put back what the last ``step()`` changed (a GAN does when an update gives a NaN or inf)."""
        if self.fused is None:
            raise RuntimeError(f"{type(self).__name__}.undo_step() needs the fused update (fused=True)")
        self.fused.undo()

    def check_lr(self, lr) -> float:
        """η as a float: positive, finite, and finite in the parameters' dtype (1e39 is inf in float32)."""
        lr = validate.positive_number("lr", lr)
        for p in self.params:
            largest = float(backend.array_module(p.data).finfo(p.dtype).max)
            if lr > largest:
                raise ValueError(f"lr = {lr} overflows the parameters' dtype {p.dtype} (largest {largest:.3g})")
        return lr

    def hyperparameters(self) -> dict: return {"lr": self.lr}


    def state_dict(self) -> dict:
        """{'type', 'hyperparameters', 'steps', 'buffers': {name: [a copy per parameter]}}."""
        return {"type": type(self).__name__, "hyperparameters": self.hyperparameters(), "steps": list(self.steps),
                "buffers": {name: [s[name].copy() for s in self.state] for name in self.buffer_names}}

    def load_state_dict(self, state: dict) -> None:
        """Go on from a saved state: its buffers, step counts and hyperparameters (a resumed run keeps
        the settings it ran with). Everything is checked before anything changes."""
        checked = validate.optimizer_state(self, state)  # an optimiser made with the saved settings
        for key in self.hyperparameters():
            setattr(self, key, getattr(checked, key))
        self.steps = [int(t) for t in state["steps"]]
        for name in self.buffer_names:
            for own, array in zip(self.state, state["buffers"][name]):
                own[name][...] = backend.asarray(array)  # in place: the fused update's views stay views
        if self.fused is not None:
            self.fused.loaded()

    def __repr__(self) -> str:
        """Its settings, e.g. ``Adam(lr=0.0002, betas=(0.5, 0.999), eps=1e-08; 6 parameters)``."""
        settings = ", ".join(f"{key}={tuple(value) if isinstance(value, list) else value}"
                             for key, value in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}; {len(self.params)} parameters)"


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum μ: v ← μ v + g; θ ← θ - η v."""

    buffer_names = ("velocity",)

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, fused: bool = True):
        self.momentum = validate.fraction("momentum", momentum)
        super().__init__(params, lr, fused)

    def hyperparameters(self) -> dict: return {"lr": self.lr, "momentum": self.momentum}


    def update(self, theta, g, state, t):
        v = state["velocity"]
        v[...] = self.momentum * v + g  # v ← μ v + g
        theta -= self.lr * self.lr_factor * v  # θ ← θ - η v


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba 2015). Published defaults betas = (0.9, 0.999);
    for GANs use ``GAN_BETAS`` = (0.5, 0.999), as ``minigan.gan`` does."""

    buffer_names = ("m", "v")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, fused: bool = True):
        self.betas = self.check_betas(betas)
        super().__init__(params, lr, fused)
        self.eps = self.check_eps(eps)

    @staticmethod
    def check_betas(betas) -> tuple[float, float]:
        """(β₁, β₂), each in [0, 1), or a ValueError."""
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        return validate.fraction("beta1", betas[0]), validate.fraction("beta2", betas[1])

    def check_eps(self, eps) -> float:
        """ε: positive, finite, and not 0 in the parameters' dtype (1e-50 is 0 in float32, and then
        a parameter whose gradient is 0 would get 0/0)."""
        eps = validate.positive_number("eps", eps)
        if any(p.data.dtype.type(eps) == 0 for p in self.params):
            raise ValueError(f"eps = {eps} is 0 in the parameters' dtype {self.params[0].dtype}")
        return eps

    def hyperparameters(self) -> dict: return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps}


    def update(self, theta, g, state, t):
        (beta1, beta2), m, v = self.betas, state["m"], state["v"]
        m[...] = beta1 * m + (1 - beta1) * g  # m ← β₁ m + (1 - β₁) g: running mean of g
        v[...] = beta2 * v + (1 - beta2) * (g * g)  # v ← β₂ v + (1 - β₂) g²: running mean of g²
        sqrt_v_hat = backend.array_module(v).sqrt(v) * (1 / math.sqrt(1 - beta2**t))  # √v̂ = √(v / (1 - β₂ᵗ))
        theta -= self.lr * self.lr_factor / (1 - beta1**t) * (m / (sqrt_v_hat + self.eps))  # θ ← θ - η m̂ / (√v̂ + ε)
