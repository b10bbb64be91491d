"""An optimiser's update applied once to all its parameters, kept in one flat array.

``minigan.optim`` defines each rule per parameter; this module is how the optimisers run by
default. The parameters' arrays become views into one flat array θ, and the state arrays
(Adam's m and v, SGD's velocity) views into flat buffers, so the rule runs on the flat
arrays: a handful of array operations per step (per block, below) instead of a handful per
parameter, and a finite check or a norm of the whole network is one reduction.

The arithmetic below is the rule of ``minigan.optim`` written with ``out=`` arguments, so no
large temporary array is made each step; each operation rounds each element exactly as the
per-parameter rule does, wherever the element is stored, so both give the same parameters
bit for bit (``tests/test_fast_paths.py`` checks it on random settings).

Undo: the state buffers come in two banks; an update reads one and writes the other, which
becomes the current one, so the previous values are still there, and only θ is copied
before the update. ``undo()`` puts back θ, the bank and the step counts: a GAN does when
an update gives a NaN or an infinity.

Gradients are gathered into one flat array at each step, from the parameters' ``.grad`` as
they are then (edited in place or not).

Blocks: on the CPU the rule runs block by block, ``BLOCK`` elements at a time (read when the
optimiser is made). Each of its passes then finds its block of θ, g, m, v in the cache, where
the previous pass left it, instead of reading the whole flat arrays from memory again; every
element gets the same operations, so the same numbers. A step cut short between blocks
(Ctrl-C, or an overflow that ``np.errstate`` turns into an error) puts θ back as it was.
"""

from __future__ import annotations

import math

import numpy as np

from minigan import backend

__all__ = ["FusedUpdate", "BLOCK"]

BLOCK = 2**16  # elements: a block of θ, its copy, g, the work array and both banks of m and v: 2 MiB in float32


class FusedUpdate:
    """The flat arrays of ``optimizer`` and its fused ``step()`` and ``undo()``."""

    @staticmethod
    def possible(optimizer) -> bool:
        """A rule written here (not a subclass's own ``update``), and one backend and one dtype for
        every parameter, so they can share one flat array."""
        rule_known = type(optimizer).update.__qualname__ in RULES
        return rule_known and len({(type(p.data), p.dtype) for p in optimizer.params}) == 1

    def __init__(self, optimizer):
        self.optimizer, params = optimizer, optimizer.params
        xp = backend.array_module(params[0].data)
        self.theta = xp.empty(sum(p.size for p in params), dtype=params[0].dtype)
        self.views = self.split(self.theta)
        for p, view in zip(params, self.views):
            view[...] = p.data
            p._data = view  # the same values, now in the flat array: not a change, so no new version
        self.banks = [{name: xp.zeros_like(self.theta) for name in optimizer.buffer_names} for _ in range(2)]
        self.bank_views = [self.per_parameter(bank) for bank in self.banks]
        for own, state in zip(self.bank_views[0], optimizer.state):
            for name, array in state.items():
                own[name][...] = array
        self.use_bank(0)
        self.gradient, self.work, self.theta_before = (xp.empty_like(self.theta) for _ in range(3))
        size = BLOCK if xp is np else max(self.theta.size, 1)  # a GPU runs each pass on the whole array at once
        self.blocks = [slice(start, start + size) for start in range(0, self.theta.size, size)]
        # per block: views of θ, its copy, g, the work array, and the state of each bank
        self.block_views = [(self.theta[b], self.theta_before[b], self.gradient[b], self.work[b],
                             [{name: flat[b] for name, flat in bank.items()} for bank in self.banks]) for b in self.blocks]
        self.last = None  # what undo() puts back: (step counts, bank) before the last fused step

    def split(self, flat) -> list:
        """Views of a flat array shaped like each parameter, in order."""
        views, start = [], 0
        for p in self.optimizer.params:
            views.append(flat[start:start + p.size].reshape(p.shape))
            start += p.size
        return views

    def per_parameter(self, bank: dict) -> list[dict]:
        """A bank of flat buffers as the optimiser's per-parameter state: one dict of views per parameter."""
        views = {name: self.split(flat) for name, flat in bank.items()}
        return [{name: views[name][i] for name in bank} for i in range(len(self.optimizer.params))]

    def use_bank(self, i: int) -> None:
        self.bank, self.optimizer.state = i, self.bank_views[i]

    def intact(self) -> bool:
        """True while every parameter still lives in the flat array (nobody replaced a ``p.data``)."""
        return all(p._data is view for p, view in zip(self.optimizer.params, self.views))

    def step(self) -> bool:
        """The update of every parameter at once, if each has a gradient and all have had the same
        number of updates; False (nothing done) otherwise, and the optimiser updates them one by one."""
        opt, params = self.optimizer, self.optimizer.params
        self.last = None  # a step one by one cannot be undone
        if any(p.grad is None for p in params) or len(set(opt.steps)) != 1 or not self.intact():
            return False
        xp = backend.array_module(self.theta)
        xp.concatenate([p.grad.data.reshape(-1) for p in params], out=self.gradient)
        t, rule, copied = opt.steps[0] + 1, RULES[type(opt).update.__qualname__], 0
        try:
            for theta, kept, g, work, state in self.block_views:
                kept[...] = theta  # θ as it was, for undo()
                copied += 1
                rule(opt, xp, theta, g, state[self.bank], state[1 - self.bank], t, work)
        except BaseException:  # cut short: θ back as it was; the bank and step counts have not moved
            for theta, kept, *_ in self.block_views[:copied]:
                theta[...] = kept
            raise
        self.last = (list(opt.steps), self.bank)
        opt.steps = [t] * len(params)
        self.use_bank(1 - self.bank)
        for p in params:
            p.version += 1
        return True

    def undo(self) -> None:
        """Put back the parameters, state and step counts as they were before the last ``step()``."""
        who = type(self.optimizer).__name__
        if self.last is None:
            raise RuntimeError(f"{who}.undo_step(): no update to undo (none since the optimiser was made or "
                               "loaded, the last one was undone or cut short, or it updated the parameters one by one)")
        if not self.intact():
            raise RuntimeError(f"{who}.undo_step(): a parameter's array was replaced since the update")
        (steps, bank), self.last = self.last, None
        self.theta[...] = self.theta_before
        self.optimizer.steps = steps
        self.use_bank(bank)
        for p in self.optimizer.params:
            p.version += 1

    def loaded(self) -> None:
        """The optimiser's state was loaded: there is nothing to undo any more."""
        self.last = None


def _sgd(opt, xp, theta, g, buffers, new, t, work):
    velocity = xp.multiply(buffers["velocity"], opt.momentum, out=new["velocity"])
    velocity += g  # v ← μ v + g
    theta -= xp.multiply(velocity, opt.lr * opt.lr_factor, out=work)  # θ ← θ - η v


def _adam(opt, xp, theta, g, buffers, new, t, work):
    beta1, beta2 = opt.betas
    m = xp.multiply(buffers["m"], beta1, out=new["m"])
    m += xp.multiply(g, 1 - beta1, out=work)  # m ← β₁ m + (1 - β₁) g
    v = xp.multiply(buffers["v"], beta2, out=new["v"])
    work = xp.multiply(g, g, out=work)
    work *= 1 - beta2
    v += work  # v ← β₂ v + (1 - β₂) g²
    step = xp.sqrt(v, out=work)
    step *= 1 / math.sqrt(1 - beta2**t)  # √v̂
    step += opt.eps  # √v̂ + ε
    xp.divide(m, step, out=step)  # m / (√v̂ + ε)
    step *= opt.lr * opt.lr_factor / (1 - beta1**t)  # η m̂ / (√v̂ + ε)
    theta -= step


RULES = {"SGD.update": _sgd, "Adam.update": _adam}  # minigan.optim's rules written with out= (tested bit-equal)
