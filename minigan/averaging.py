"""An exponential moving average of a network's weights: a sharper G for free.

A GAN's players never settle: with a constant learning rate each update moves G a
little, so G's samples jitter around the data from one step to the next, and a
snapshot of G at any one step is blurred by that jitter. Averaging G's weights over
the recent steps cancels much of it (Yazıcı et al. 2019, "The unusual effectiveness of
averaging in GAN training"; the same average is kept by Karras et al.'s progressive
GAN and StyleGAN):

    θ̄ ← β θ̄ + (1 - β) θ        after every update of θ;  θ̄ starts at the initial θ

β close to 1 averages over about 1 / (1 - β) recent steps (β = 0.999: the last ~1,000).
The average is only *looked at*: training keeps updating θ, never θ̄, so switching
the average on does not change a run, only which weights make the samples. It has no
gradient, so there is nothing to gradient-check.
"""

from __future__ import annotations

import contextlib

from minigan import backend, validate
from minigan.nn import Module

__all__ = ["WeightAverage"]


class WeightAverage:
    """θ̄, the exponential moving average of ``module``'s parameters with decay ``decay`` (β)."""

    def __init__(self, module: Module, decay: float):
        decay = validate.fraction("decay", decay)
        if not 0.0 < decay < 1.0:
            raise ValueError(f"decay must be strictly between 0 and 1, got {decay}")
        self.module, self.decay = module, decay
        self.average = self._parameters()  # copies: θ̄ starts at the current θ

    def _parameters(self) -> dict:
        return {name: p.data.copy() for name, p in self.module.named_parameters()}

    def update(self) -> None:
        """θ̄ ← β θ̄ + (1 - β) θ, in place, for every parameter."""
        for name, p in self.module.named_parameters():
            average = self.average[name]
            average *= self.decay
            average += (1.0 - self.decay) * p.data

    @contextlib.contextmanager
    def swapped_in(self):
        """Inside this block the module computes with θ̄; on leaving, its own θ is back. Buffers
        (state that is not learned, such as spectral normalisation's u) are not averaged: the
        module keeps its own."""
        live = self.module.state_dict()
        self.module.load_state_dict({**live, **self.average})
        try:
            yield self.module
        finally:
            self.module.load_state_dict(live)

    def state_dict(self) -> dict:
        return {name: value.copy() for name, value in self.average.items()}

    def load_state_dict(self, state: dict) -> None:
        """Restore θ̄, checked against the module's parameters' names, shapes and dtypes."""
        validate.module_state(self.module, state, own=dict(self.module.named_parameters()))
        self.average = {name: backend.asarray(state[name]).copy() for name in self.average}
