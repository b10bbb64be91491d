"""The games minigan plays, by name: the loss D minimises and the loss G minimises.

    minimax, non_saturating, max_likelihood   D a classifier (its two BCE terms on a logit);
                                              G one of the three classic generator losses
    least_squares                             D regresses a score to 1 on real, 0 on fake samples;
                                              G pulls the score on its samples to 1 (Mao et al. 2017)
    wgan_gp                                   D a critic: Wasserstein terms plus a gradient penalty;
                                              G climbs the critic (Gulrajani et al. 2017)

``minigan.gan`` plays the game its configuration names through ``discriminator_loss`` and
``generator_loss``; the loss functions themselves live in ``minigan.losses``.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from minigan import losses, validate
from minigan.autograd import Tensor
from minigan.fast import losses as fast_losses

__all__ = ["LOSSES", "DiscriminatorLoss", "discriminator_loss", "generator_loss", "d_outputs_a_logit",
           "at_equilibrium"]

LOSSES = (*losses.GENERATOR_LOSSES, "least_squares", "wgan_gp")


class DiscriminatorLoss(NamedTuple):
    """L_D with its parts, each a Tensor with its graph: ``total`` is what D minimises."""

    total: Tensor  # L_D = real + fake (+ penalty)
    real: Tensor  # the term on real samples: L_D,r (or -E[f(x)] for a critic)
    fake: Tensor  # the term on fakes: L_D,f (or E[f(G(z))] for a critic)
    penalty: Tensor | None  # λ·GP for 'wgan_gp', else None
    out_real: Tensor  # D's raw outputs on the real samples (logits, scores or critic values)
    out_fake: Tensor  # ... and on the fakes


def discriminator_loss(name: str, D, real: Tensor, fake: Tensor, *, rng=None, real_label_smoothing: float = 0.0,
                       gp_weight: float = 10.0) -> DiscriminatorLoss:
    """D's loss in the game ``name``, with D run on both batches.

    A classifier minimises L_D,r + L_D,f, its two BCE terms, with optional one-sided
    ``real_label_smoothing``; least squares its two squared errors; a critic ('wgan_gp')
    -E[f(x)] + E[f(G(z))] + λ·GP, with λ = ``gp_weight`` and the penalty's mixing drawn from ``rng``.
    """
    validate.one_of("loss", name, LOSSES)
    if name == "wgan_gp" and rng is None:
        raise ValueError("the 'wgan_gp' critic loss needs rng= (it draws the gradient penalty's mixing weights)")
    out_real, out_fake = D(real), D(fake)
    if name == "wgan_gp":
        loss_real, loss_fake = losses.critic_losses(out_real, out_fake)
        penalty = losses.gradient_penalty(D, real, fake, rng, gp_weight)
        return DiscriminatorLoss(loss_real + loss_fake + penalty, loss_real, loss_fake, penalty, out_real, out_fake)
    if name == "least_squares":
        loss_real, loss_fake = losses.least_squares_discriminator_losses(out_real, out_fake)
    else:  # inside GAN.train_step each term is one op, the same numbers (minigan.fast.losses)
        loss_real, loss_fake = (fast_losses.discriminator_losses(out_real, out_fake, real_label_smoothing)
                                or losses.discriminator_losses(out_real, out_fake, real_label_smoothing))
    return DiscriminatorLoss(loss_real + loss_fake, loss_real, loss_fake, None, out_real, out_fake)


def generator_loss(name: str, out_fake: Tensor) -> Tensor:
    """G's loss in the game ``name``, from D's raw outputs on fake samples."""
    validate.one_of("loss", name, LOSSES)
    fused = fast_losses.generator_loss(name, out_fake)  # inside GAN.train_step: one op, the same numbers
    if fused is not None:
        return fused
    rule = {"least_squares": losses.least_squares_generator_loss, "wgan_gp": losses.wasserstein_generator_loss}
    return rule.get(name, losses.GENERATOR_LOSSES.get(name))(out_fake)


def d_outputs_a_logit(name: str) -> bool:
    """True when D is a classifier whose output ℓ means the probability D(x) = σ(ℓ); False for a
    least-squares D (its score itself estimates that probability) and a critic (its own scale)."""
    return validate.one_of("loss", name, LOSSES) in losses.GENERATOR_LOSSES


def at_equilibrium(name: str) -> dict | None:
    """The losses' values when D says ½ everywhere (the equilibrium p_g = p_data, where D* = ½),
    by record name, or None for a critic, which has no such value."""
    validate.one_of("loss", name, LOSSES)
    if name == "wgan_gp":
        return None
    if name == "least_squares":  # ½(½ - 1)² = ½(½)² = 1/8
        return {"loss_d_real": 0.125, "loss_d_fake": 0.125, "loss_d": 0.25, "loss_g": 0.125}
    ln2 = math.log(2.0)
    return {"loss_d_real": ln2, "loss_d_fake": ln2, "loss_d": 2 * ln2,
            "loss_g": {"minimax": -ln2, "non_saturating": ln2, "max_likelihood": -1.0}[name]}
