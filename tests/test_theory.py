"""The theory of Goodfellow et al. 2014, checked on numbers: D*, JSD, KL, and C(G) = -log 4 + 2·JSD."""

import math

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from minigan import Tensor, data, losses, nn, no_grad, ops, optim, theory

means = st.floats(-1.5, 1.5)
stds = st.floats(0.5, 1.5)
LOG4 = math.log(4)


@given(m1=means, s1=stds, m2=means, s2=stds)
def test_value_at_the_optimum_is_minus_log4_plus_twice_the_jsd(m1, s1, m2, s2):
    p, q = data.gaussian_1d(m1, s1), data.gaussian_1d(m2, s2)
    jsd = theory.js_divergence(p, q)
    assert theory.value_at_optimum(p, q) == pytest.approx(-LOG4 + 2 * jsd, abs=1e-9)
    assert 0 <= jsd <= math.log(2)
    assert jsd == pytest.approx(theory.js_divergence(q, p), abs=1e-12)  # symmetric


@given(m=means, s=stds)
def test_equal_distributions_give_d_star_one_half_and_value_exactly_minus_log4(m, s):
    p, q = data.gaussian_1d(m, s), data.gaussian_1d(m, s)
    x = np.linspace(m - 5 * s, m + 5 * s, 101)
    np.testing.assert_allclose(theory.optimal_discriminator(p, q, x), 0.5, rtol=1e-15)
    assert theory.value_at_optimum(p, q) == pytest.approx(-LOG4, abs=1e-9)
    assert theory.js_divergence(p, q) == pytest.approx(0.0, abs=1e-12)


def test_jsd_reaches_log2_for_distributions_that_do_not_overlap():
    far_apart = theory.js_divergence(data.gaussian_1d(-20, 0.5), data.gaussian_1d(20, 0.5))
    assert far_apart == pytest.approx(math.log(2), abs=1e-9)


def test_optimal_discriminator_is_the_density_ratio():
    p, q = data.gaussian_1d(0, 1), data.gaussian_1d(1, 2)
    x = np.linspace(-3, 4, 15)
    expected = p.pdf(x) / (p.pdf(x) + q.pdf(x))
    np.testing.assert_allclose(theory.optimal_discriminator(p, q, x), expected, rtol=1e-12)


@given(m1=means, s1=stds, m2=means, s2=stds)
def test_numerical_kl_matches_the_closed_form(m1, s1, m2, s2):
    p, q = data.gaussian_1d(m1, s1), data.gaussian_1d(m2, s2)
    assert theory.kl_divergence(p, q) == pytest.approx(theory.kl_normal(m1, s1, m2, s2), abs=1e-9)


def test_kl_of_two_unit_gaussians_and_where_kl_is_asymmetric():
    """N(0,1) vs N(1,1): the two KL *integrands* differ pointwise, but with equal variances
    their totals are both 1/2. With unequal spreads the totals differ too."""
    p, q = data.gaussian_1d(0, 1), data.gaussian_1d(1, 1)
    assert theory.kl_divergence(p, q) == pytest.approx(0.5, abs=1e-9)
    assert theory.kl_divergence(q, p) == pytest.approx(0.5, abs=1e-9)
    x = np.array([[-1.0]])
    forward_integrand = p.pdf(x) * (p.log_pdf(x) - q.log_pdf(x))
    reverse_integrand = q.pdf(x) * (q.log_pdf(x) - p.log_pdf(x))
    assert forward_integrand[0] > 0 > reverse_integrand[0]
    wide = data.gaussian_1d(1, 2)
    assert theory.kl_divergence(p, wide) == pytest.approx(theory.kl_normal(0, 1, 1, 2), abs=1e-9)
    assert theory.kl_divergence(p, wide) != pytest.approx(theory.kl_divergence(wide, p), abs=0.1)


def test_theory_works_for_mixtures_and_in_2d():
    p = data.mixture_1d()
    assert theory.value_at_optimum(p, p) == pytest.approx(-LOG4, abs=1e-9)
    ring, grid = data.ring(std=0.3), data.grid(std=0.3)
    coarse = theory.grid_for(ring, grid, points_per_axis=401, reach=6)
    jsd = theory.js_divergence(ring, grid, coarse)
    assert 0 < jsd < math.log(2)
    assert theory.value_at_optimum(ring, grid, coarse) == pytest.approx(-LOG4 + 2 * jsd, abs=1e-9)


def _train_quadratic_discriminator(p_data, p_g, rng, n=60_000, steps=1000, game="classifier"):
    """Logistic regression on [u, u²] with u = (x - mean) / std of the pooled samples:
    D(x) = σ(a + b u + c u²), quadratic in x. The log density ratio of two Gaussians is
    quadratic in x, so this model class contains D*; standardising x only speeds up Adam.
    ``game='least_squares'`` fits the same model with the least-squares loss on D(x) itself."""
    real, fake = p_data.sample(n, rng), p_g.sample(n, rng)
    pooled = np.concatenate([real, fake])
    centre, scale = pooled.mean(), pooled.std()

    def features(x):
        u = (x - centre) / scale
        return Tensor(np.concatenate([u, u**2], axis=1))

    x = features(np.concatenate([real, fake]))
    labels = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))])  # 1 = real, 0 = fake
    D = nn.Linear(2, 1, dtype="float64", rng=rng)
    opt = optim.Adam(D.parameters(), lr=0.05)
    for _ in range(steps):
        if game == "least_squares":
            real_scores, fake_scores = ops.sigmoid(D(x))[:n], ops.sigmoid(D(x))[n:]
            loss = sum(losses.least_squares_discriminator_losses(real_scores, fake_scores))
        else:
            loss = losses.bce_with_logits(D(x), labels)
        opt.zero_grad()
        loss.backward()
        opt.step()
    return lambda x: D(features(x)), np.quantile(pooled, [0.025, 0.975])


@pytest.mark.slow
@settings(max_examples=5)
@given(m1=means, s1=stds, shift=st.floats(-1.5, 1.5), s2=stds, equal=st.booleans(), seed=st.integers(0, 2**16))
@example(m1=0.7, s1=1.2, shift=0.0, s2=1.2, equal=True, seed=3)  # p_g = p_data in every run, not by chance
def test_a_trained_discriminator_matches_d_star_and_its_value_matches_the_jsd(m1, s1, shift, s2, equal, seed):
    """On the central 95% of the samples, for Gaussians whose means are at most 1.5 apart.

    (Pairs that barely overlap are left out on purpose: there the samples leave D* undetermined
    in the gap between them, and the logistic fit's coefficients grow without bound.)
    """
    rng = np.random.default_rng(seed)
    p_data = data.gaussian_1d(m1, s1)
    p_g = data.gaussian_1d(m1, s1) if equal else data.gaussian_1d(m1 + shift, s2)
    logit, (low, high) = _train_quadratic_discriminator(p_data, p_g, rng)
    grid = np.linspace(low, high, 201)[:, None]
    with no_grad():
        d = ops.sigmoid(logit(grid)).numpy().ravel()
        # V(G, D) on fresh samples: E[ln D(x)] + E[ln(1 - D(G(z)))], ln σ(ℓ) = -softplus(-ℓ)
        value = float(
            (-ops.softplus(-logit(p_data.sample(100_000, rng)))).numpy().mean()
            + (-ops.softplus(logit(p_g.sample(100_000, rng)))).numpy().mean()
        )
    np.testing.assert_allclose(d, theory.optimal_discriminator(p_data, p_g, grid), atol=0.02)
    if equal:
        np.testing.assert_allclose(d, 0.5, atol=0.02)
    assert value == pytest.approx(-LOG4 + 2 * theory.js_divergence(p_data, p_g), abs=0.02)


@pytest.mark.slow
@settings(max_examples=3)
@given(m1=means, s1=stds, shift=st.floats(-1.5, 1.5), s2=stds, seed=st.integers(0, 2**16))
def test_least_squares_d_reaches_the_same_d_star_and_its_loss_the_integral(m1, s1, shift, s2, seed):
    """Mao et al. (2017): with labels 1 (real) and 0 (fake), D minimising ½E[(D(x)-1)²] + ½E[D(G(z))²]
    is D*(x) = p_data / (p_data + p_g), the classic GAN's, and its loss there is
    ½ ∫ p_data p_g / (p_data + p_g) dx. Here D's score is σ(quadratic in x), a class that holds D*."""
    rng = np.random.default_rng(seed)
    p_data, p_g = data.gaussian_1d(m1, s1), data.gaussian_1d(m1 + shift, s2)
    logit, (low, high) = _train_quadratic_discriminator(p_data, p_g, rng, game="least_squares")
    grid = np.linspace(low, high, 201)[:, None]
    with no_grad():
        d = ops.sigmoid(logit(grid)).numpy().ravel()
        real_scores = ops.sigmoid(logit(p_data.sample(100_000, rng)))
        fake_scores = ops.sigmoid(logit(p_g.sample(100_000, rng)))
        loss = sum(losses.least_squares_discriminator_losses(real_scores, fake_scores)).item()
    np.testing.assert_allclose(d, theory.optimal_discriminator(p_data, p_g, grid), atol=0.02)
    points = theory.grid_for(p_data, p_g)
    pd, pg = p_data.pdf(points.points), p_g.pdf(points.points)
    assert loss == pytest.approx(0.5 * points.integrate(pd * pg / (pd + pg)), abs=0.005)
