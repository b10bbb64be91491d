"""Losses: binary cross-entropy for D, the three classic generator losses, least squares, and WGAN-GP.

D outputs a logit ℓ; its probability that x is real is D(x) = σ(ℓ). Working with ℓ
instead of D(x) keeps every loss finite: ln σ(ℓ) = -softplus(-ℓ) is exact for any ℓ,
where ln(D(x)) would give -inf as soon as D(x) rounds to 0.

Generator losses, all functions of ℓ = σ⁻¹(D(G(z))) on fake samples, all minimised by G:

    minimax          E[ln(1 - D(G(z)))]   = -E[softplus(ℓ)]     (the game's own value; saturates)
    non_saturating  -E[ln D(G(z))]        =  E[softplus(-ℓ)]    (Goodfellow 2014's practical fix)
    max_likelihood  -E[exp(σ⁻¹(D(G(z))))] = -E[exp(ℓ)]         (Goodfellow 2014, "On distinguish-
                                                                   ability criteria"; NIPS 2016 tutorial)

Their gradients with respect to ℓ are -D, -(1 - D) and -D/(1 - D): when D rejects the
fakes (D → 0) the minimax and max-likelihood gradients vanish and the non-saturating
one does not (Goodfellow's NIPS 2016 tutorial, section 3.2, plots all three; ``demos/vanishing_gradients.py`` draws it).
Some texts write J_G with a factor ½; minigan drops it (a constant that only rescales G's step).

Two more games replace the cross-entropy: least squares (Mao et al. 2017), where D regresses
a score towards 1 on real and 0 on fake samples, and WGAN-GP, where D is a critic.
``minigan.games`` names the games and pairs each D loss with its G loss.
"""

from __future__ import annotations

import numbers

from minigan import backend, ops, validate
from minigan.autograd import Tensor, grad

__all__ = [
    "bce", "bce_with_logits", "discriminator_losses",
    "minimax_generator_loss", "non_saturating_generator_loss", "max_likelihood_generator_loss",
    "GENERATOR_LOSSES",
    "least_squares_discriminator_losses", "least_squares_generator_loss",
    "critic_losses", "wasserstein_generator_loss", "gradient_penalty",
]

def _reduce(values: Tensor, reduction: str) -> Tensor:
    """The mean of the per-sample losses, their sum, or ('none') the losses themselves."""
    return validate.lookup({"mean": ops.mean, "sum": ops.sum, "none": lambda v: v}, reduction, "reduction")(values)


def _targets(targets, like: Tensor, label_smoothing: float = 0.0) -> Tensor:
    """Targets (labels: 1 = real, 0 = fake) as a constant tensor, checked to lie in [0, 1].

    Labels are data, not results: they are cast to the logits' dtype on purpose, so float64
    labels work with a float32 network.
    """
    validate.fraction("label_smoothing", label_smoothing)
    raw = targets.data if isinstance(targets, Tensor) else targets
    t = Tensor(backend.array_module(like.data).asarray(raw, dtype=like.dtype))
    if t.ndim and t.shape != like.shape:  # (n,) against (n, 1) would broadcast to an (n, n) loss
        raise ValueError(f"targets of shape {t.shape} do not match the shape {like.shape} they are compared with; "
                         "give one target per output (or one number for all), e.g. targets.reshape(-1, 1)")
    number = isinstance(raw, numbers.Real)  # checked on the host, as cast: no wait for a GPU
    inside = 0 <= like.dtype.type(raw) <= 1 if number else ((t.data >= 0) & (t.data <= 1)).all()
    if not inside:  # NaN fails both tests
        raise ValueError(f"targets must lie in [0, 1] (1 = real, 0 = fake), got {targets!r}")
    if label_smoothing:
        t = t * (1.0 - label_smoothing) + 0.5 * label_smoothing
    return t


def _check_tensor(value, what: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{what} must be a Tensor, got {type(value).__name__}; wrap it first: Tensor(value)")


def bce(probabilities: Tensor, targets, reduction: str = "mean") -> Tensor:
    """Binary cross-entropy -[t ln p + (1 - t) ln(1 - p)] on probabilities p.

    p is clipped to [ε, 1 - ε] with ε the machine epsilon of its dtype, so a wrong and
    certain p (0 for a real sample) gives a large finite loss, -ln ε ≈ 36 in float64 and
    16 in float32, never inf or NaN; the clip also stops the gradient there. Prefer
    ``bce_with_logits``, which needs no clipping.
    """
    _check_tensor(probabilities, "probabilities")
    t = _targets(targets, probabilities)
    eps = float(backend.array_module(probabilities.data).finfo(probabilities.dtype).eps)
    p = ops.clip(probabilities, eps, 1.0 - eps)
    return _reduce(-(t * ops.log(p) + (1.0 - t) * ops.log(1.0 - p)), reduction)


def bce_with_logits(logits: Tensor, targets, reduction: str = "mean", label_smoothing: float = 0.0) -> Tensor:
    """Binary cross-entropy of σ(ℓ) against t, computed from the logit ℓ as softplus(ℓ) - t·ℓ.

    From -t ln σ(ℓ) - (1 - t) ln(1 - σ(ℓ)) with ln σ(ℓ) = -softplus(-ℓ), ln(1 - σ(ℓ)) =
    -softplus(ℓ) and softplus(-ℓ) = softplus(ℓ) - ℓ. Finite for any ℓ; gradient σ(ℓ) - t.
    ``label_smoothing`` s replaces t by t(1 - s) + s/2.
    """
    _check_tensor(logits, "logits")
    t = _targets(targets, logits, label_smoothing)
    return _reduce(ops.softplus(logits) - t * logits, reduction)


def discriminator_losses(logits_real: Tensor, logits_fake: Tensor, real_label_smoothing: float = 0.0):
    """D's two losses: L_D,r = -E[ln D(x)] on real x, L_D,f = -E[ln(1 - D(G(z)))] on fakes.

    D minimises their sum. ``real_label_smoothing`` softens only the real targets
    (one-sided label smoothing, Salimans et al. 2016).
    """
    loss_real = bce_with_logits(logits_real, 1.0, label_smoothing=real_label_smoothing)
    loss_fake = bce_with_logits(logits_fake, 0.0)
    return loss_real, loss_fake


def minimax_generator_loss(logits_fake: Tensor) -> Tensor:
    """E[ln(1 - D(G(z)))] = -E[softplus(ℓ)];  d/dℓ = -D(G(z))."""
    return -ops.softplus(logits_fake).mean()


def non_saturating_generator_loss(logits_fake: Tensor) -> Tensor:
    """-E[ln D(G(z))] = E[softplus(-ℓ)];  d/dℓ = -(1 - D(G(z)))."""
    return ops.softplus(-logits_fake).mean()


def max_likelihood_generator_loss(logits_fake: Tensor) -> Tensor:
    """-E[exp(σ⁻¹(D(G(z))))] = -E[exp(ℓ)];  d/dℓ = -D/(1 - D) = -exp(ℓ)."""
    return -ops.exp(logits_fake).mean()


GENERATOR_LOSSES = {
    "minimax": minimax_generator_loss,
    "non_saturating": non_saturating_generator_loss,
    "max_likelihood": max_likelihood_generator_loss,
}




# ----------------------------------------------------------------------------- least squares (LSGAN)


def least_squares_discriminator_losses(score_real: Tensor, score_fake: Tensor):
    """D's two terms, ½E[(D(x) - 1)²] on real x and ½E[D(G(z))²] on fakes (Mao et al. 2017, labels
    b = 1, a = 0): D regresses its raw score towards 1 on real and 0 on fake samples. Its optimum
    D*(x) = p_data / (p_data + p_g) is the classic GAN's, reached as a score, not through a sigmoid."""
    _check_tensor(score_real, "score_real")
    _check_tensor(score_fake, "score_fake")
    return 0.5 * ((score_real - 1.0) ** 2).mean(), 0.5 * (score_fake**2).mean()


def least_squares_generator_loss(score_fake: Tensor) -> Tensor:
    """½E[(D(G(z)) - 1)²] (label c = 1): G pulls D's score on its samples towards "real";
    d/dD = D(G(z)) - 1, which does not vanish while D rejects the fakes."""
    _check_tensor(score_fake, "score_fake")
    return 0.5 * ((score_fake - 1.0) ** 2).mean()


# ----------------------------------------------------------------------------- WGAN-GP


def critic_losses(critic_real: Tensor, critic_fake: Tensor):
    """The WGAN critic's two terms, -E[f(x)] and E[f(G(z))]: their sum, minimised, widens the
    gap between the critic's scores f of real and fake samples (Arjovsky et al. 2017)."""
    _check_tensor(critic_real, "critic_real")
    _check_tensor(critic_fake, "critic_fake")
    return -critic_real.mean(), critic_fake.mean()


def wasserstein_generator_loss(critic_fake: Tensor) -> Tensor:
    """-E[f(G(z))]: G moves its samples up the critic's slope."""
    _check_tensor(critic_fake, "critic_fake")
    return -critic_fake.mean()


def gradient_penalty(critic, real: Tensor, fake: Tensor, rng, weight: float = 10.0) -> Tensor:
    """λ E[(‖∇_x̂ f(x̂)‖₂ - 1)²] on x̂ = εx + (1 - ε)G(z), ε ~ U(0, 1) per sample (Gulrajani et al. 2017).

    ∇_x̂ f(x̂) comes from a backward pass with create_graph=True, so the penalty can
    itself be differentiated with respect to the critic's parameters: second order.
    """
    _check_tensor(real, "real")
    _check_tensor(fake, "fake")
    if real.shape != fake.shape or real.ndim != 2:
        raise ValueError(f"gradient_penalty: real and fake must be batches of one shape (n, features), "
                         f"got {real.shape} and {fake.shape}")
    weight = validate.non_negative_number("gradient penalty weight", weight)
    eps = backend.asarray(rng.uniform(size=(real.shape[0], 1)), dtype=real.dtype)
    mixed = Tensor(eps * real.data + (1 - eps) * fake.data, requires_grad=True)
    (slope,) = grad(critic(mixed).sum(), [mixed], create_graph=True)
    norms = ops.sqrt((slope * slope).sum(axis=1) + 1e-12)  # + tiny: √ is not differentiable at 0
    return weight * ((norms - 1.0) ** 2).mean()
