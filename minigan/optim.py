"""Optimisers: how a gradient becomes a parameter update.

    SGD (with momentum)   v ← μ v + g;            θ ← θ - η v
    Adam                  m ← β₁ m + (1 - β₁) g;  v ← β₂ v + (1 - β₂) g²
                          m̂ = m / (1 - β₁ᵗ);       v̂ = v / (1 - β₂ᵗ)
                          θ ← θ - η m̂ / (√v̂ + ε)  (Kingma & Ba 2015, Algorithm 1)

Updates are made in place on the parameters' arrays, outside the graph. Parameters
whose ``grad`` is None (not reached by the last backward) are left as they are.
``undo_step()`` puts back the state before the last update (a GAN does when an update
gives a NaN or an infinity). ``state_dict()`` / ``load_state_dict()`` save and restore
everything a resumed run needs to continue exactly as if it had never stopped.

Each rule is written once, as ``_update(theta, g, buffers, new_buffers, t, work)`` on
arrays, and used two ways. The plain way calls it once per parameter. The fast way (the
default) keeps all the parameters in one flat array (``nn.FlatParameters``) and calls it
once on the whole array, when every parameter has a gradient and the same step count t,
which is every step of a GAN's training. The rule is elementwise and each of its
operations rounds each element the same wherever the element is stored, so both ways
give bit-identical parameters (tested), and the same numbers as before the flat buffer
existed. Adam the fast way is 15 array operations per step (13 for the rule, one to
gather the gradients, one to keep θ for ``undo_step()``) instead of 13 per parameter, and its
intermediate results go to one work array instead of four new temporaries per call.

What ``undo_step()`` needs is kept at little cost on the fast way: the buffers (Adam's m
and v) come in two banks, the rule reads one and writes the other, which then becomes
the current one, so the previous values are still there; only θ is copied before the
update. The plain way copies θ and the buffers of each parameter it updates.
"""

from __future__ import annotations

import math
import numbers

from minigan import backend, validate
from minigan.nn import FlatParameters, Parameter

__all__ = ["Optimizer", "SGD", "Adam", "GAN_BETAS"]

GAN_BETAS = (0.5, 0.999)
"""Adam's betas for GANs: β₁ = 0.5 instead of 0.9 damps the momentum that makes the
two players overshoot each other (Radford et al. 2016, DCGAN). minigan.gan uses it."""


class Optimizer:
    """Base class: holds the parameters, clears their gradients, saves its state.

    ``flat=False`` keeps every parameter's array where it is and updates them one by one.
    """

    buffer_names: tuple[str, ...] = ()  # per-parameter arrays kept between steps

    def __init__(self, params, lr: float, flat: bool = True):
        self.params = _distinct_parameters(type(self).__name__, params)
        self.lr = self.check_lr(lr)
        self.steps = [0] * len(self.params)  # updates each parameter has had (t in Adam's bias correction)
        self._undo: dict | None = None  # what undo_step() puts back: the state before the last step()
        self.flat = FlatParameters(self.params) if flat and FlatParameters.possible(self.params) else None
        if self.flat is not None:  # each parameter's buffer a view into one flat buffer, like its data
            xp = backend.array_module(self.flat.data)
            # two banks of flat buffers: step() reads the current one and writes the other
            self._banks = [{name: xp.zeros_like(self.flat.data) for name in self.buffer_names} for _ in range(2)]
            self._bank_views = [{name: self.flat.split(flat) for name, flat in bank.items()} for bank in self._banks]
            self._use_bank(0)
            self._work = xp.empty_like(self.flat.data)
            self._theta_before = xp.empty_like(self.flat.data)  # θ before the last step()
        else:
            self.buffers = {
                name: [backend.array_module(p.data).zeros_like(p.data) for p in self.params]
                for name in self.buffer_names
            }

    def check_lr(self, lr) -> float:
        """η as a float: positive, finite, and finite in the parameters' dtype (1e39 is inf in float32)."""
        lr = validate.positive_number("lr", lr)
        for p in self.params:
            largest = float(backend.array_module(p.data).finfo(p.dtype).max)
            if lr > largest:
                raise ValueError(f"lr = {lr} overflows the parameters' dtype {p.dtype} (largest {largest:.3g})")
        return lr

    def check_hyperparameters(self, hyperparameters: dict) -> dict:
        """The hyperparameters, each checked (a subclass checks its own too), or a ValueError."""
        return {"lr": self.check_lr(hyperparameters["lr"])}

    def zero_grad(self) -> None:
        for p in self.params:
            p.grad = None

    def _use_bank(self, i: int) -> None:
        """Make bank i the current buffers (flat arrays, and their per-parameter views)."""
        self._bank = i
        self.flat_buffers, self.buffers = self._banks[i], self._bank_views[i]

    def step(self) -> None:
        """Update every parameter that has a gradient: all at once through the flat buffer
        when they all have one and share one step count, else one by one. What the update
        changes is kept, for ``undo_step()``."""
        flat_gradient = self._flat_gradient()
        if flat_gradient is not None and len(set(self.steps)) == 1:
            self._undo = {"steps": list(self.steps), "bank": self._bank}
            self._theta_before[...] = self.flat.data
            self.steps = [self.steps[0] + 1] * len(self.params)
            new_bank = 1 - self._bank
            self._update(self.flat.data, flat_gradient, self.flat_buffers, self._banks[new_bank], self.steps[0],
                         self._work)
            self._use_bank(new_bank)
            return
        self._undo = {"steps": list(self.steps), "each": []}
        for i, p in enumerate(self.params):
            if p.grad is not None:
                buffers = {name: b[i] for name, b in self.buffers.items()}
                self._undo["each"].append((i, p.data.copy(), {name: b.copy() for name, b in buffers.items()}))
                self.steps[i] += 1
                self._update(p.data, p.grad.data, buffers, buffers, self.steps[i],
                             backend.array_module(p.data).empty_like(p.data))

    def undo_step(self) -> None:
        """Put back the parameters, buffers and step counts as they were before the last ``step()``."""
        if self._undo is None:
            raise RuntimeError(f"{type(self).__name__}.undo_step(): no step to undo (none taken since it was "
                               "created, loaded or last undone)")
        if "bank" in self._undo and not self.flat.intact():
            raise RuntimeError(f"{type(self).__name__}.undo_step(): a parameter's array was replaced since the "
                               "step, so the step cannot be undone")
        undo, self._undo = self._undo, None
        self.steps = undo["steps"]
        if "bank" in undo:
            self.flat.data[...] = self._theta_before
            self._use_bank(undo["bank"])
            return
        for i, theta, buffers in undo["each"]:
            self.params[i].data[...] = theta
            for name, saved in buffers.items():
                self.buffers[name][i][...] = saved

    def _update(self, theta, g, buffers: dict, new_buffers: dict, t: int, work) -> None:
        """The rule for arrays θ and g of any shape: θ in place; the buffers' values read from
        ``buffers`` and their new values written to ``new_buffers`` (which may be the same arrays);
        ``work`` is an array like θ for intermediate results (so no large temporaries are made)."""
        raise NotImplementedError

    def _flat_gradient(self):
        """All gradients in one flat array, or None (no flat buffer, or a parameter without a gradient)."""
        if self.flat is None or not self.flat.intact():
            return None
        return self.flat.gradient()

    def grad_norm(self):
        """‖∇θ‖₂ over every parameter that has a gradient, as a one-element array on the
        backend (not yet read back: ``float(...)`` does that). One reduction with the flat buffer."""
        flat_gradient = self._flat_gradient()
        if flat_gradient is not None:
            xp = backend.array_module(flat_gradient)
            return xp.sqrt(xp.vdot(flat_gradient, flat_gradient))
        grads = [p.grad.data for p in self.params if p.grad is not None]
        xp = backend.array_module(self.params[0].data)
        if not grads:
            return xp.zeros((), dtype=self.params[0].dtype)
        return xp.sqrt(sum(xp.vdot(g, g) for g in grads))

    def _state_arrays(self) -> list:
        """The optimiser's state as it stands: the parameters and the current buffers (three flat
        arrays for Adam with the flat buffer, else one per parameter and buffer)."""
        if self.flat is not None and self.flat.intact():
            return [self.flat.data, *self.flat_buffers.values()]
        return [p.data for p in self.params] + [b for arrays in self.buffers.values() for b in arrays]

    def all_finite(self):
        """True (as a one-element boolean array, not yet read back) if every parameter and every
        buffer is finite. One reduction per flat array with the flat buffer."""
        xp = backend.array_module(self.params[0].data)
        return xp.all(xp.stack([xp.isfinite(a).all() for a in self._state_arrays()]))

    def hyperparameters(self) -> dict:
        return {"lr": self.lr}

    def state_dict(self) -> dict:
        """{'type', 'hyperparameters', 'steps', 'buffers': {name: [array per parameter]}} (copies;
        with the flat buffer, one copy per buffer name, split into per-parameter views)."""
        if self.flat is not None:
            buffers = {name: self.flat.split(flat.copy()) for name, flat in self.flat_buffers.items()}
        else:
            buffers = {name: [b.copy() for b in arrays] for name, arrays in self.buffers.items()}
        return {
            "type": type(self).__name__,
            "hyperparameters": self.hyperparameters(),
            "steps": list(self.steps),
            "buffers": buffers,
        }

    def load_state_dict(self, state: dict) -> None:
        """Continue from a saved state: buffers, step counts, and the saved hyperparameters,
        which replace the current ones (a resumed run keeps the settings it ran with).
        Everything is checked before anything changes."""
        name_of_self = type(self).__name__
        if state.get("type") != name_of_self:
            raise ValueError(f"optimiser state is for {state.get('type')!r}, not {name_of_self!r}")
        unknown = sorted(set(state["hyperparameters"]) - set(self.hyperparameters()))
        missing = sorted(set(self.hyperparameters()) - set(state["hyperparameters"]))
        if unknown or missing:
            raise ValueError(f"{name_of_self} state has unknown hyperparameters {unknown}" if unknown
                             else f"{name_of_self} state lacks hyperparameters {missing}")
        hyperparameters = self.check_hyperparameters(state["hyperparameters"])
        steps = state["steps"]
        if len(steps) != len(self.params):
            raise ValueError(f"{name_of_self} state counts steps for {len(steps)} parameters, "
                             f"not {len(self.params)}")
        for t in steps:
            if isinstance(t, bool) or not isinstance(t, numbers.Integral) or t < 0:
                raise ValueError(f"{name_of_self} state: step counts must be integers ≥ 0, got {t!r}")
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
        for key, value in hyperparameters.items():
            setattr(self, key, value)
        self.steps = [int(t) for t in steps]
        self._undo = None  # the state before the last step() is gone
        for name in self.buffer_names:
            for own, array in zip(self.buffers[name], buffers[name], strict=True):
                own[...] = backend.asarray(array)  # in place: the views into the flat buffers stay views

    def __repr__(self) -> str:
        """Its settings, e.g. ``Adam(lr=0.0002, betas=(0.5, 0.999), eps=1e-08; 6 parameters)``."""
        settings = ", ".join(f"{key}={tuple(value) if isinstance(value, list) else value}"
                             for key, value in self.hyperparameters().items())
        return f"{type(self).__name__}({settings}; {len(self.params)} parameters)"


def _distinct_parameters(who: str, params) -> list:
    """The parameters as a list, each a Parameter and none given twice (it would be updated twice)."""
    params = list(params)
    if not params:
        raise ValueError(f"{who} got no parameters to optimise")
    seen = {}
    for i, p in enumerate(params):
        if not isinstance(p, Parameter):
            raise TypeError(f"{who}: item {i} is a {type(p).__name__}, not a Parameter")
        if id(p) in seen:
            label = f" {p.name!r}" if p.name else ""
            raise ValueError(f"{who}: items {seen[id(p)]} and {i} are the same parameter{label} "
                             "(it would be updated twice per step)")
        seen[id(p)] = i
    return params


class SGD(Optimizer):
    """Stochastic gradient descent with (heavy-ball) momentum μ: v ← μ v + g; θ ← θ - η v."""

    buffer_names = ("velocity",)

    def __init__(self, params, lr: float = 0.01, momentum: float = 0.0, flat: bool = True):
        self.momentum = validate.fraction("momentum", momentum)
        super().__init__(params, lr, flat)

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "momentum": self.momentum}

    def check_hyperparameters(self, hyperparameters: dict) -> dict:
        return {**super().check_hyperparameters(hyperparameters),
                "momentum": validate.fraction("momentum", hyperparameters["momentum"])}

    def _update(self, theta, g, buffers, new_buffers, t, work):
        xp = backend.array_module(theta)
        velocity = xp.multiply(buffers["velocity"], self.momentum, out=new_buffers["velocity"])
        velocity += g  # v ← μ v + g
        theta -= xp.multiply(velocity, self.lr, out=work)


class Adam(Optimizer):
    """Adam with bias correction (Kingma & Ba 2015). Published defaults betas = (0.9, 0.999);
    for GANs use ``GAN_BETAS`` = (0.5, 0.999), as ``minigan.gan`` does."""

    buffer_names = ("m", "v")

    def __init__(self, params, lr: float = 1e-3, betas=(0.9, 0.999), eps: float = 1e-8, flat: bool = True):
        self.betas = self.check_betas(betas)
        super().__init__(params, lr, flat)
        self.eps = self.check_eps(eps)

    @staticmethod
    def check_betas(betas) -> tuple[float, float]:
        """(β₁, β₂), each in [0, 1), or a ValueError."""
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        return validate.fraction("beta1", betas[0]), validate.fraction("beta2", betas[1])

    def check_eps(self, eps) -> float:
        """ε as a float: positive, finite, and not rounded to 0 in the parameters' dtype
        (1e-50 is 0 in float32, and then a parameter whose gradient is 0 gets 0/0)."""
        eps = validate.positive_number("eps", eps)
        for p in self.params:
            if p.data.dtype.type(eps) == 0:
                raise ValueError(f"eps = {eps} is 0 in the parameters' dtype {p.dtype}")
        return eps

    def hyperparameters(self) -> dict:
        return {"lr": self.lr, "betas": list(self.betas), "eps": self.eps}

    def check_hyperparameters(self, hyperparameters: dict) -> dict:
        return {**super().check_hyperparameters(hyperparameters),
                "betas": self.check_betas(hyperparameters["betas"]),
                "eps": self.check_eps(hyperparameters["eps"])}

    def _update(self, theta, g, buffers, new_buffers, t, work):
        beta1, beta2 = self.betas
        xp = backend.array_module(theta)
        m = xp.multiply(buffers["m"], beta1, out=new_buffers["m"])
        m += xp.multiply(g, 1.0 - beta1, out=work)  # m ← β₁ m + (1 - β₁) g: running mean of g
        v = xp.multiply(buffers["v"], beta2, out=new_buffers["v"])
        work = xp.multiply(g, g, out=work)
        work *= 1.0 - beta2
        v += work  # v ← β₂ v + (1 - β₂) g²: running mean of g²
        # θ -= η m̂ / (√v̂ + ε), with m̂ = m / (1 - β₁ᵗ) and √v̂ = √v / √(1 - β₂ᵗ)
        step = xp.sqrt(v, out=work)
        step *= 1.0 / math.sqrt(1.0 - beta2**t)  # √v̂
        step += self.eps  # √v̂ + ε
        xp.divide(m, step, out=step)  # m / (√v̂ + ε)
        step *= self.lr / (1.0 - beta1**t)  # η m̂ / (√v̂ + ε)
        theta -= step
