"""Losses: stable BCE, the generator losses, the WGAN-GP terms; values and gradients."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from minigan import Tensor, backend, games, losses, nn
from minigan.gradcheck import check_grad, check_gradgrad

from strategies import arrays, leaf, shapes


def _naive_bce(p, t):
    return -(t * np.log(p) + (1 - t) * np.log(1 - p))


def test_bce_with_logits_is_finite_with_finite_gradient_at_huge_logits(xp):
    logits = Tensor(backend.asarray(np.array([-1e4, 1e4, -1e4, 1e4], dtype=np.float32)), requires_grad=True)
    targets = backend.asarray(np.array([0.0, 1.0, 1.0, 0.0], dtype=np.float32))
    loss = losses.bce_with_logits(logits, targets, reduction="none")
    np.testing.assert_allclose(loss.numpy(), [0.0, 0.0, 1e4, 1e4])  # right where confident, 1e4 when wrong
    loss.sum().backward()
    np.testing.assert_allclose(logits.grad.numpy(), [0.0, 0.0, -1.0, 1.0])  # σ(ℓ) - t


@given(logit=st.floats(-30, 30), target=st.floats(0, 1))
def test_bce_with_logits_equals_the_naive_formula_wherever_that_is_finite(logit, target):
    p = 1 / (1 + np.exp(-logit))
    naive = _naive_bce(p, target) if 0 < p < 1 else np.inf
    stable = losses.bce_with_logits(Tensor(np.array([logit])), np.array([target])).item()
    if np.isfinite(naive):
        # the naive formula's own rounding: p and 1 - p carry an error of ~1e-16, so their
        # logarithms are off by ~1e-16 / min(p, 1 - p); the stable form must agree within that
        naive_rounding = 4 * np.finfo(float).eps / min(p, 1 - p)
        np.testing.assert_allclose(stable, naive, rtol=1e-12, atol=naive_rounding)
    assert np.isfinite(stable)


def test_bce_on_probabilities_zero_and_one_is_not_nan(xp):
    p = Tensor(backend.asarray(np.array([0.0, 1.0, 0.0, 1.0])), requires_grad=True)
    loss = losses.bce(p, backend.asarray(np.array([0.0, 1.0, 1.0, 0.0])), reduction="none")
    values = loss.numpy()
    assert np.isfinite(values).all()
    np.testing.assert_allclose(values[:2], 0.0, atol=1e-15)  # right and certain: no loss
    np.testing.assert_allclose(values[2:], -np.log(np.finfo(np.float64).eps))  # wrong and certain: large
    loss.sum().backward()
    assert np.isfinite(p.grad.numpy()).all()


@given(p=st.floats(0.01, 0.99), t=st.floats(0, 1))
def test_bce_matches_the_naive_formula_inside_the_clip(p, t):
    value = losses.bce(Tensor(np.array([p])), np.array([t])).item()
    np.testing.assert_allclose(value, _naive_bce(p, t), rtol=1e-12)


@given(data=st.data())
def test_loss_gradients_match_central_differences(xp, data):
    shape = data.draw(shapes(min_dims=1, max_dims=2))
    logits = leaf(data.draw(arrays(shape, low=-6, high=6)))
    targets = backend.asarray(data.draw(arrays(shape, low=0.0, high=1.0)))
    probabilities = leaf(data.draw(arrays(shape, low=0.05, high=0.95)))
    check_grad(lambda x: losses.bce_with_logits(x, targets), [logits])
    check_grad(lambda x: losses.bce_with_logits(x, targets, label_smoothing=0.2, reduction="sum"), [logits])
    check_grad(lambda p: losses.bce(p, targets), [probabilities])
    for loss in losses.GENERATOR_LOSSES.values():
        check_grad(loss, [logits])
        check_gradgrad(loss, [logits])
    check_grad(lambda r, f: sum(losses.critic_losses(r, f)), [logits, leaf(data.draw(arrays(shape)))])
    check_grad(lambda r, f: sum(losses.least_squares_discriminator_losses(r, f)), [logits, leaf(data.draw(arrays(shape)))])
    check_grad(losses.least_squares_generator_loss, [logits])
    check_gradgrad(losses.least_squares_generator_loss, [logits])


def test_label_smoothing_moves_targets_toward_one_half():
    logits = Tensor(np.array([0.3]))
    smoothed = losses.bce_with_logits(logits, 1.0, label_smoothing=0.2).item()
    explicit = losses.bce_with_logits(logits, 0.9).item()
    assert smoothed == pytest.approx(explicit, rel=1e-15)


def test_discriminator_losses_are_the_real_and_fake_bce_terms():
    real, fake = Tensor(np.array([[2.0], [1.0]])), Tensor(np.array([[-1.0], [0.5]]))
    loss_real, loss_fake = losses.discriminator_losses(real, fake)
    sig = lambda v: 1 / (1 + np.exp(-v))  # noqa: E731
    assert loss_real.item() == pytest.approx(-np.mean(np.log(sig(np.array([2.0, 1.0])))), rel=1e-12)
    assert loss_fake.item() == pytest.approx(-np.mean(np.log(1 - sig(np.array([-1.0, 0.5])))), rel=1e-12)


@pytest.mark.parametrize("name", sorted(losses.GENERATOR_LOSSES))
def test_generator_losses_match_their_formulas_in_d(name):
    d = np.array([0.1, 0.5, 0.9])
    logits = Tensor(np.log(d / (1 - d)))
    value = games.generator_loss(name, logits).item()
    expected = {
        "minimax": np.mean(np.log(1 - d)),
        "non_saturating": -np.mean(np.log(d)),
        "max_likelihood": -np.mean(d / (1 - d)),  # exp(σ⁻¹(D)) = D / (1 - D)
    }[name]
    assert value == pytest.approx(expected, rel=1e-12)


def test_unknown_generator_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; known: minimax, non_saturating, max_likelihood, least_squares, wgan_gp"):
        games.generator_loss("hinge", Tensor(np.zeros(2)))


def test_bad_targets_and_reductions_are_refused():
    logits = Tensor(np.zeros(2))
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        losses.bce_with_logits(logits, 2.0)
    with pytest.raises(ValueError, match=r"targets must lie in \[0, 1\]"):
        losses.bce_with_logits(logits, np.array([0.5, np.nan]))
    with pytest.raises(ValueError, match="unknown reduction 'average'; known: mean, sum, none"):
        losses.bce_with_logits(logits, 1.0, reduction="average")
    with pytest.raises(TypeError, match="logits must be a Tensor, got ndarray"):
        losses.bce_with_logits(np.zeros(2), 1.0)


def test_gradient_penalty_is_zero_for_a_unit_slope_critic_and_grows_with_slope():
    rng = np.random.default_rng(0)
    critic = nn.Linear(2, 1, dtype="float64", rng=rng)
    real, fake = Tensor(rng.standard_normal((16, 2))), Tensor(rng.standard_normal((16, 2)))
    critic.weight.data[...] = np.array([[0.6], [0.8]])  # ‖∇f‖ = 1 everywhere
    assert losses.gradient_penalty(critic, real, fake, rng).item() == pytest.approx(0.0, abs=1e-12)
    critic.weight.data[...] = np.array([[3.0], [4.0]])  # ‖∇f‖ = 5: penalty 10 · (5 - 1)²
    assert losses.gradient_penalty(critic, real, fake, rng).item() == pytest.approx(160.0)


def test_gradient_penalty_gradient_reaches_the_critic_parameters_second_order():
    rng = np.random.default_rng(3)
    critic = nn.mlp([2, 4, 1], activation="tanh", dtype="float64", rng=rng)
    real, fake = Tensor(rng.standard_normal((5, 2))), Tensor(rng.standard_normal((5, 2)))

    def penalty(*params):
        return losses.gradient_penalty(critic, real, fake, np.random.default_rng(11))

    check_grad(penalty, critic.parameters())


# ----------------------------------------------------------------------------- each player's loss, by the game's name


def test_every_game_has_both_players_losses_and_an_unknown_game_lists_the_known_ones():
    D = nn.Linear(2, 1, dtype="float64", rng=np.random.default_rng(0))
    batch = Tensor(np.ones((3, 2)))
    for name in games.LOSSES:
        loss = games.discriminator_loss(name, D, batch, batch, rng=np.random.default_rng(0))
        assert loss.total.shape == () and games.generator_loss(name, D(batch)).shape == ()
    for ask in (lambda: games.discriminator_loss("hinge", D, batch, batch), lambda: games.generator_loss("hinge", batch),
                lambda: games.at_equilibrium("hinge"), lambda: games.d_outputs_a_logit("hinge")):
        with pytest.raises(ValueError, match="unknown loss 'hinge'; known: minimax, non_saturating, max_likelihood, "
                                             "least_squares, wgan_gp"):
            ask()


@pytest.mark.parametrize("name", sorted(losses.GENERATOR_LOSSES))
def test_a_classifiers_discriminator_loss_is_its_two_bce_terms(name):
    D = nn.Linear(2, 1, dtype="float64", rng=np.random.default_rng(0))
    real, fake = Tensor(np.array([[1.0, 2.0], [0.5, -1.0]])), Tensor(np.array([[-1.0, 0.0], [2.0, 2.0]]))
    loss = games.discriminator_loss(name, D, real, fake, real_label_smoothing=0.2)
    loss_real, loss_fake = losses.discriminator_losses(D(real), D(fake), 0.2)
    assert (loss.real.item(), loss.fake.item()) == (loss_real.item(), loss_fake.item())
    assert loss.total.item() == loss_real.item() + loss_fake.item() and loss.penalty is None
    np.testing.assert_array_equal(loss.out_fake.numpy(), D(fake).numpy())


def test_the_critics_loss_is_the_wasserstein_terms_plus_the_gradient_penalty():
    D = nn.Linear(2, 1, dtype="float64", rng=np.random.default_rng(0))
    D.weight.data[...] = np.array([[3.0], [4.0]])  # ‖∇f‖ = 5: penalty λ(5 - 1)² = 16λ
    real, fake = Tensor(np.array([[1.0, 2.0], [0.5, -1.0]])), Tensor(np.array([[-1.0, 0.0], [2.0, 2.0]]))
    loss = games.discriminator_loss("wgan_gp", D, real, fake, rng=np.random.default_rng(1), gp_weight=2.0)
    assert loss.real.item() == pytest.approx(-D(real).numpy().mean())
    assert loss.fake.item() == pytest.approx(D(fake).numpy().mean())
    assert loss.penalty.item() == pytest.approx(32.0)
    assert loss.total.item() == pytest.approx(loss.real.item() + loss.fake.item() + 32.0)
    with pytest.raises(ValueError, match="needs rng="):
        games.discriminator_loss("wgan_gp", D, real, fake)


def test_the_wgan_gp_generator_loss_is_minus_the_mean_critic_score():
    assert games.generator_loss("wgan_gp", Tensor(np.array([[1.0], [3.0]]))).item() == -2.0


def test_the_least_squares_game_regresses_scores_towards_one_and_zero():
    real, fake = Tensor(np.array([[1.0], [0.5]])), Tensor(np.array([[0.0], [0.5]]))
    loss_real, loss_fake = losses.least_squares_discriminator_losses(real, fake)
    assert loss_real.item() == pytest.approx(0.5 * np.mean([0.0, 0.25]), rel=1e-15)
    assert loss_fake.item() == pytest.approx(0.5 * np.mean([0.0, 0.25]), rel=1e-15)
    assert games.generator_loss("least_squares", fake).item() == pytest.approx(0.5 * np.mean([1.0, 0.25]))
    D = nn.Linear(1, 1, dtype="float64", rng=np.random.default_rng(0))
    total = games.discriminator_loss("least_squares", D, real, fake)
    assert total.penalty is None
    assert total.total.item() == pytest.approx(total.real.item() + total.fake.item(), rel=1e-15)


@pytest.mark.parametrize("name", games.LOSSES)
def test_the_losses_at_equilibrium_are_their_values_where_d_says_one_half(name):
    """Where D(x) = ½ everywhere (logit 0, or score ½), each loss takes the value ``at_equilibrium`` gives."""
    at_half = games.at_equilibrium(name)
    if name == "wgan_gp":
        assert at_half is None  # a critic's scores have no equilibrium value
        return
    out = Tensor(np.full((4, 1), 0.5 if name == "least_squares" else 0.0))
    D = lambda x: out  # noqa: E731  (D's output, whatever the samples)
    loss = games.discriminator_loss(name, D, out, out)
    assert loss.real.item() == pytest.approx(at_half["loss_d_real"], rel=1e-15)
    assert loss.fake.item() == pytest.approx(at_half["loss_d_fake"], rel=1e-15)
    assert loss.total.item() == pytest.approx(at_half["loss_d"], rel=1e-15)
    assert games.generator_loss(name, out).item() == pytest.approx(at_half["loss_g"], rel=1e-15)
