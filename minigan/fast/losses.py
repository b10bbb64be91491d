"""The cross-entropy losses of a training step, each run as one graph node: the same numbers.

``losses.bce_with_logits`` is mean(softplus(ℓ) - t·ℓ): five ops in the forward pass, and in the
backward pass about seven more (each op's backward is written with ops). On a small network
those dozens of ops a step cost more time than their arithmetic.

Inside ``minigan.fast.switch.fusing()`` (``GAN.train_step`` runs in it), ``games`` asks here first:
each of D's two cross-entropy terms, and G's loss in the three classic games (minimax,
non-saturating, maximum likelihood), is one ``FusedLogitLoss`` op. Its forward is the plain
ops' forward arithmetic on arrays, in their order; its backward is the arithmetic of their
backwards, in their order. So the values and the gradients are the plain path's bit for bit
(``tests/test_fused_losses.py``). The targets are made and checked by the plain code
(``losses._targets``), so bad targets get the plain errors.

What stays the plain path's: least squares and WGAN-GP, an empty or integer batch (the plain
errors), a single 0-d logit, and second order (the op refuses ``create_graph=True``, as
``FusedMLP`` does). One limit: when the
logits feed something else too, their gradient sums the same terms, in an order that may differ
in the last bit; in a training step the loss is their only use.
"""

from __future__ import annotations

import math

from minigan import autograd, backend, losses, ops
from minigan.autograd import Tensor
from minigan.fast.switch import fusing_on

__all__ = ["FusedLogitLoss", "discriminator_losses", "generator_loss"]

RULES = ("bce", "non_saturating", "minimax", "max_likelihood")


class FusedLogitLoss(autograd.Function):
    """L of logits ℓ (n values), as the plain ops compute it, and dL/dℓ = gy times:

        bce             mean(softplus(ℓ) - t·ℓ)    (σ(ℓ) - t) / n
        non_saturating  mean(softplus(-ℓ))          -σ(-ℓ) / n
        minimax         -mean(softplus(ℓ))          -σ(ℓ) / n
        max_likelihood  -mean(exp(ℓ))               -exp(ℓ) / n
    """

    def __init__(self, rule: str, targets=None):
        self.rule, self.targets = rule, targets  # targets: t's array, for 'bce' only

    def forward(self, logits):
        xp = backend.array_module(logits)
        self.count = xp.asarray(math.prod(logits.shape), dtype=logits.dtype)  # the n of ops.mean, as its Div has it
        axes = tuple(range(logits.ndim))
        if self.rule == "max_likelihood":
            self.exp = ops.Exp().forward(logits)
            return -(xp.asarray(self.exp.sum(axis=axes)) / self.count)
        softplus = ops.Softplus()
        self.softplus_input = -logits if self.rule == "non_saturating" else logits  # the plain Neg's output, kept
        values = softplus.forward(self.softplus_input)
        self.exp_minus_abs = softplus.exp_minus_abs
        if self.rule == "bce":
            values = values - self.targets * logits
        mean = xp.asarray(values.sum(axis=axes)) / self.count
        return -mean if self.rule == "minimax" else mean

    def backward(self, gy):
        if autograd.is_grad_enabled():
            raise RuntimeError("a loss computed inside minigan.fast.switch.fusing() cannot be differentiated twice "
                               "(create_graph=True); build that graph outside fusing(), op by op")
        (logits,) = self.inputs
        xp, g = backend.array_module(logits.data), gy.data
        if self.rule in ("minimax", "max_likelihood"):
            g = -g  # Neg's backward
        g = xp.broadcast_to((g / self.count).reshape((1,) * logits.ndim), logits.shape)  # Div's, then Sum's
        if self.rule == "max_likelihood":
            return Tensor(g * self.exp)  # Exp's
        through_softplus = g * ops.Sigmoid(self.exp_minus_abs).forward(self.softplus_input)  # Softplus's
        if self.rule == "non_saturating":
            return Tensor(-through_softplus)  # then Neg's
        if self.rule == "minimax":
            return Tensor(through_softplus)
        return Tensor(through_softplus + (-g) * self.targets)  # Sub's -g, through Mul's t: the two uses of ℓ


def _fusable(logits) -> bool:
    # anything else (empty, integer, not a Tensor) gets the plain path's error; a 0-d one the plain path's
    # 0-d arrays (NumPy's scalars, which the fused arithmetic would meet, keep another NaN's sign)
    return (fusing_on() and isinstance(logits, Tensor) and logits.ndim > 0 and logits.size > 0
            and logits.dtype in autograd.FLOAT_DTYPES)


def discriminator_losses(logits_real, logits_fake, real_label_smoothing: float = 0.0):
    """``losses.discriminator_losses``, each term one op; None outside ``fusing()``."""
    if not (_fusable(logits_real) and _fusable(logits_fake)):
        return None
    real = losses._targets(1.0, logits_real, real_label_smoothing)
    fake = losses._targets(0.0, logits_fake)
    return (FusedLogitLoss("bce", real.data)(logits_real), FusedLogitLoss("bce", fake.data)(logits_fake))


def generator_loss(name: str, logits_fake):
    """G's loss ``name`` of ``losses.GENERATOR_LOSSES`` as one op; None outside ``fusing()`` or
    for another game."""
    if name not in losses.GENERATOR_LOSSES or not _fusable(logits_fake):
        return None
    return FusedLogitLoss(name)(logits_fake)
