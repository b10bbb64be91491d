"""GAN training: gradients through G(z), D-step/G-step isolation, learning, bad input."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan import Tensor, data, gan, losses, metrics, nn
from minigan.app import presets
from minigan.game import play_bilinear_game
from minigan.gradcheck import check_grad, numerical_grad


def _small_gan(seed, latent_dim=2, hidden=4, data_dim=2, loss="non_saturating", dtype="float64", **config):
    rng = np.random.default_rng(seed)
    G = nn.mlp([latent_dim, hidden, data_dim], activation="tanh", dtype=dtype, rng=rng, name="G")
    D = nn.mlp([data_dim, hidden, 1], activation="leaky_relu", dtype=dtype, rng=rng, name="D")
    mixture = data.GaussianMixture(np.zeros((1, data_dim)), 1.0)
    cfg = gan.GANConfig(loss=loss, latent_dim=latent_dim, batch_size=5, dtype=dtype, **config)
    return gan.GAN(G, D, mixture, cfg, rng=rng)


@settings(max_examples=10)
@given(
    loss=st.sampled_from(gan.LOSSES),
    latent_dim=st.integers(1, 3),
    hidden=st.integers(1, 5),
    data_dim=st.integers(1, 3),
    seed=st.integers(0, 2**16),
)
def test_generator_gradient_flows_through_the_discriminator(loss, latent_dim, hidden, data_dim, seed):
    """dL_G/dθ_G and dL_G/dz by backprop through D, against central differences on θ_G and z."""
    model = _small_gan(seed, latent_dim, hidden, data_dim, loss)
    z = Tensor(model.sample_noise(5).data, requires_grad=True)

    def generator_loss(z, *generator_params):
        with nn.frozen(model.D):
            return model.generator_loss(model.D(model.G(z)))

    check_grad(generator_loss, [z, *model.G.parameters()])


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_the_g_step_computes_exactly_that_gradient(loss):
    """The gradient g_step leaves on G's parameters is the numerical derivative of L_G."""
    model = _small_gan(seed=3, loss=loss)
    state = model.rng.bit_generator.state
    z = model.sample_noise(model.config.batch_size)  # the z that g_step is about to draw
    model.rng.bit_generator.state = state
    params = model.G.parameters()
    before = [p.data.copy() for p in params]

    def generator_loss(*generator_params):
        return model.generator_loss(model.D(model.G(z)))

    numeric = numerical_grad(generator_loss, params)
    model.g_step()
    for p, g, p0 in zip(params, numeric, before, strict=True):
        np.testing.assert_allclose(p.grad.numpy(), g, rtol=1e-6, atol=1e-8)
        assert not np.array_equal(p.data, p0)  # and G did take its step


@pytest.mark.parametrize("loss", gan.LOSSES)
@pytest.mark.parametrize("step, other", [("g_step", "D"), ("d_step", "G")])
def test_each_step_leaves_the_other_network_bit_identical_and_its_gradients_untouched(loss, step, other):
    model = _small_gan(seed=1, loss=loss)
    model.d_step(), model.g_step()  # both networks now hold gradients
    network = getattr(model, other)
    values = [p.data.copy() for p in network.parameters()]
    grads = [p.grad for p in network.parameters()]
    getattr(model, step)()
    for p, before, grad_before in zip(network.parameters(), values, grads, strict=True):
        assert np.array_equal(p.data, before)
        assert p.grad is grad_before  # the very same gradient object: nothing was added to it
    assert all(p.requires_grad for p in network.parameters())  # D is unfrozen after the G-step


def test_train_step_takes_k_d_steps_per_g_step(monkeypatch):
    model = _small_gan(seed=0, k=3)
    calls = []
    monkeypatch.setattr(model, "d_step", lambda: calls.append("D") or {"loss_d": 0.0})
    monkeypatch.setattr(model, "g_step", lambda: calls.append("G") or {"loss_g": 0.0})
    model.train(2)
    assert calls == ["D", "D", "D", "G", "D", "D", "D", "G"]


def test_history_records_every_step_with_both_d_terms():
    history = _small_gan(seed=0).train(4)
    assert len(history) == 4
    np.testing.assert_array_equal(history["step"], [1, 2, 3, 4])
    np.testing.assert_allclose(history["loss_d"], history["loss_d_real"] + history["loss_d_fake"])
    for column in ("loss_g", "d_real", "d_fake", "grad_norm_d", "grad_norm_g"):
        assert np.isfinite(history[column]).all()


def test_noise_priors():
    normal = _small_gan(seed=0, latent_dim=1).sample_noise(20000).numpy()
    uniform = _small_gan(seed=0, latent_dim=1, noise="uniform").sample_noise(20000).numpy()
    assert abs(normal.std() - 1) < 0.02 and abs(normal.mean()) < 0.02
    assert uniform.min() >= -1 and uniform.max() <= 1 and abs(uniform.std() - 1 / np.sqrt(3)) < 0.01


# ----------------------------------------------------------------------------- theory on the losses


@pytest.mark.parametrize("d", [1e-3, 1e-6, 1e-9])
def test_minimax_gradient_vanishes_when_d_rejects_the_fakes_but_non_saturating_does_not(d):
    logit = Tensor(np.array([np.log(d / (1 - d))]), requires_grad=True)
    (minimax,) = minigan.grad(losses.minimax_generator_loss(logit), [logit])
    (saturating_free,) = minigan.grad(losses.non_saturating_generator_loss(logit), [logit])
    assert abs(minimax.item()) == pytest.approx(d, rel=1e-6)  # -D(G(z)) -> 0
    assert abs(saturating_free.item()) == pytest.approx(1 - d, rel=1e-6)  # -(1 - D) -> -1


@pytest.mark.parametrize("d", [1 - 1e-3, 1 - 1e-6])
def test_when_d_is_fooled_the_magnitudes_swap(d):
    logit = Tensor(np.array([np.log(d / (1 - d))]), requires_grad=True)
    (minimax,) = minigan.grad(losses.minimax_generator_loss(logit), [logit])
    (non_saturating,) = minigan.grad(losses.non_saturating_generator_loss(logit), [logit])
    assert abs(minimax.item()) == pytest.approx(d, rel=1e-6)
    assert abs(non_saturating.item()) == pytest.approx(1 - d, rel=1e-6)


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.5])
def test_the_xy_game_spirals_out_by_exactly_one_plus_eta_squared(lr):
    path = np.array(play_bilinear_game(1.0, 0.5, lr=lr, steps=50))
    radius2 = (path**2).sum(axis=1)
    np.testing.assert_allclose(radius2[1:] / radius2[:-1], 1 + lr**2, rtol=1e-12)
    assert radius2[-1] > radius2[0]  # away from the equilibrium (0, 0), never towards it


@pytest.mark.parametrize("lr", [0.01, 0.1, 0.5])
def test_the_xy_game_alternating_keeps_an_orbit_and_neither_spirals_out_nor_in(lr):
    """x' = x - ηy, y' = y + ηx' has determinant 1 and keeps x² + y² - η·x·y fixed (as gan.py alternates)."""
    path = np.array(play_bilinear_game(1.0, 0.5, lr=lr, steps=200, alternating=True))
    x, y = path.T
    np.testing.assert_allclose(x**2 + y**2 - lr * x * y, 1.25 - lr * 0.5, rtol=1e-12)
    assert not np.allclose(path[1], path[0])  # the players do move


# ----------------------------------------------------------------------------- learning


@pytest.mark.slow
def test_a_small_gan_learns_the_mean_and_spread_of_a_1d_gaussian():
    model, steps = presets.build("gaussian", seed=0)
    model.train(steps)
    samples = model.generate(20000)
    target = model.data
    assert abs(samples.mean() - target.mean[0]) < 0.1
    assert abs(samples.std() - target.std[0]) < 0.1


def preset_quality(name: str, steps: int, seed: int = 0):
    """Train a preset for ``steps`` (its decay laid over them) and score 2,500 samples as
    benchmarks/quality.py does. CI trains the rings for 12,000 steps (a half and a third of their
    full runs) and the grid for 10,000 (a third) to stay short; the full runs' quality over 5 seeds
    is benchmarks/quality.py's job."""
    model, steps = presets.build(name, seed=seed, steps=steps)
    model.train(steps)
    return metrics.mode_coverage(model.generate(2500, np.random.default_rng(2017)), model.data)


@pytest.mark.slow
def test_the_default_ring_preset_covers_every_mode_sharply():
    coverage = preset_quality("ring", 12000)  # seed 0 measured: 8/8 modes, 94.3% HQ, reverse KL 0.026
    assert coverage.modes_covered == 8, coverage
    assert coverage.high_quality_fraction >= 0.93, coverage
    assert coverage.reverse_kl <= 0.05, coverage


@pytest.mark.slow
def test_the_pacgan_ring_preset_covers_every_mode_sharply():
    coverage = preset_quality("pacgan_ring", 12000)  # seed 0 measured: 8/8 modes, 96.7% HQ, reverse KL 0.006
    assert coverage.modes_covered == 8, coverage
    assert coverage.high_quality_fraction >= 0.95, coverage  # G's own weights: about 65% in a trial
    assert coverage.reverse_kl <= 0.05, coverage


@pytest.mark.slow
def test_the_grid_preset_covers_its_25_modes():
    coverage = preset_quality("grid", 10000)  # seed 0 measured: 25/25 modes, 87.1% HQ, reverse KL 0.093
    assert coverage.modes_covered >= 24, coverage
    assert coverage.high_quality_fraction >= 0.85, coverage
    assert coverage.reverse_kl <= 0.15, coverage


# ----------------------------------------------------------------------------- bad input


def test_unknown_loss_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown loss 'hinge'; known: minimax, non_saturating, max_likelihood, least_squares, wgan_gp"):
        gan.GANConfig(loss="hinge")


@pytest.mark.parametrize("field, value, message", [
    ("k", 0, "k must be a positive integer, got 0"),
    ("lr_d", -0.1, "lr_d must be a positive number, got -0.1"),
    ("noise", "cauchy", "unknown noise prior 'cauchy'; known: normal, uniform"),
    ("real_label_smoothing", 2.0, r"real_label_smoothing must be in \[0, 1\), got 2.0"),
    ("gp_weight", -5, "gp_weight must be a positive number, got -5"),
    ("dtype", "int32", "unknown dtype 'int32'; known: float32, float64"),
    ("betas", (0.5,), r"betas must be a pair \(beta1, beta2\)"),
])
def test_bad_settings_in_the_config_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        gan.GANConfig(**{field: value})


def test_numpy_integers_are_fine_in_the_config():
    assert gan.GANConfig(k=np.int64(2)).k == 2


def test_loading_a_run_with_another_configuration_is_refused():
    model = _small_gan(seed=0)
    state = model.state_dict()
    state["config"]["k"] = 3
    with pytest.raises(ValueError, match=r"different configuration \(differs in: k\)"):
        _small_gan(seed=1).load_state_dict(state)


def test_a_state_that_does_not_fit_loads_nothing():
    model, other = _small_gan(seed=0), _small_gan(seed=1, hidden=6)  # D of another width
    before = [p.data.copy() for p in model.G.parameters()]
    with pytest.raises(ValueError):
        model.load_state_dict(other.state_dict())  # G would fit, D does not
    for p, b in zip(model.G.parameters(), before, strict=True):
        np.testing.assert_array_equal(p.data, b)


def test_data_of_the_wrong_dimension_names_both_sizes():
    G = nn.mlp([2, 8, 3], name="G")
    D = nn.mlp([3, 8, 1], name="D")
    with pytest.raises(ValueError, match=r"generator makes samples of shape \(3,\) but the data .* have 2 features"):
        gan.GAN(G, D, data.ring(), gan.GANConfig(latent_dim=2))
    G = nn.mlp([2, 8, 2], name="G")
    with pytest.raises(ValueError, match=r"discriminator does not take samples of 2 features: Linear 'D.0'\(3 -> 8\)"):
        gan.GAN(G, D, data.ring(), gan.GANConfig(latent_dim=2))
    with pytest.raises(ValueError, match="generator does not take z of latent_dim 5"):
        gan.GAN(G, nn.mlp([2, 8, 1]), data.ring(), gan.GANConfig(latent_dim=5))


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # NumPy's own note on the NaN
def test_a_diverging_run_stops_naming_the_step_and_does_not_apply_the_poisoned_update():
    model = _small_gan(seed=0, dtype="float32")
    model.train(3)
    model.G.parameters()[0].data[0, 0] = np.nan  # a NaN appears in G during step 4
    d_before = [p.data.copy() for p in model.D.parameters()]
    with pytest.raises(gan.DivergenceError, match=r"training diverged at step 4 \(D-step 4\): loss_d_fake is nan"):
        model.train(5)
    assert model.step == 3
    for p, before in zip(model.D.parameters(), d_before, strict=True):
        np.testing.assert_array_equal(p.data, before)  # the poisoned D-step was not applied


# ----------------------------------------------------------------------------- counters, the one loop, divergence


def test_the_counters_stay_right_when_d_and_g_are_stepped_by_hand():
    model = _small_gan(seed=0, k=2)
    assert model.d_step()["d_steps"] == 1
    model.d_step()
    model.d_step()
    assert model.g_step()["g_steps"] == 1
    assert (model.d_steps, model.g_steps, model.step) == (3, 1, 0)  # no training step was done
    record = model.train_step()  # k = 2 D-steps and one G-step
    assert (record["step"], record["d_steps"], record["g_steps"]) == (1, 5, 2)
    assert (model.d_steps, model.g_steps, model.step) == (5, 2, 1)


def test_the_counters_are_saved_and_restored():
    model = _small_gan(seed=0)
    model.d_step()
    model.train(2)
    resumed = _small_gan(seed=0)
    resumed.load_state_dict(model.state_dict())
    assert (resumed.step, resumed.d_steps, resumed.g_steps) == (2, 3, 2)
    assert resumed.train_step() == model.train_step()  # and the run goes on identically


def test_a_saved_average_of_g_that_the_configuration_does_not_keep_is_refused_and_nothing_is_loaded():
    model = _small_gan(seed=0)
    assert model.g_average is None
    state = model.state_dict()
    state["g_average"] = model.G.state_dict()  # a damaged file: the settings say no average is kept
    state["generator"] = {name: array + 1 for name, array in state["generator"].items()}
    before = model.state_dict()
    with pytest.raises(ValueError, match=r"average of G's weights does not match its configuration"):
        model.load_state_dict(state)
    assert all(np.array_equal(a, b) for a, b in zip(model.G.state_dict().values(), before["generator"].values()))


def test_the_training_loop_stops_when_asked_and_calls_every_callback():
    model = _small_gan(seed=0)
    seen, also = [], []
    history = model.train(10, callbacks=[lambda gan, record: seen.append(record["step"]),
                                         lambda gan, record: also.append(gan.step)],
                          stop=lambda: model.step >= 3)
    assert model.step == 3 and len(history) == 3
    assert seen == also == [1, 2, 3]


def test_a_single_callback_may_be_passed_without_a_list():
    model = _small_gan(seed=0)
    seen = []
    model.train(2, callbacks=lambda gan, record: seen.append(record["step"]))
    assert seen == [1, 2]


def _network_and_optimiser_arrays(network, optimizer):
    return [p.data.copy() for p in network.parameters()] + [
        b.copy() for state in optimizer.state for b in state.values()]


@pytest.mark.filterwarnings("ignore:invalid value encountered", "ignore:overflow encountered")
def test_an_update_that_leaves_a_parameter_infinite_is_undone_and_named():
    """The gradients and losses are finite; only the update itself overflows (as an overflowing
    step size would): the check after the update catches it and puts back the state before it."""
    model = _small_gan(seed=0, dtype="float32")
    model.train(2)
    before = _network_and_optimiser_arrays(model.G, model.opt_g)
    steps_before = list(model.opt_g.steps)
    healthy_step = model.opt_g.step

    def step_that_overflows():
        healthy_step()
        model.G.parameters()[-1].data[0] = np.inf

    model.opt_g.step = step_that_overflows
    with pytest.raises(gan.DivergenceError, match=r"at step 3 \(G-step 3\): G's parameters or optimiser state is nan"):
        model.g_step()
    for now, then in zip(_network_and_optimiser_arrays(model.G, model.opt_g), before, strict=True):
        np.testing.assert_array_equal(now, then)
    assert model.opt_g.steps == steps_before and model.g_steps == 2


@pytest.mark.filterwarnings("ignore:invalid value encountered", "ignore:overflow encountered")
def test_a_run_that_diverges_keeps_a_finite_model():
    """lr = 2e38 is a float32 number, but Adam's first step, lr/(1 - β₁) · m̂/√v̂ ≈ 4e38, is not:
    losses and gradients are finite and the update itself overflows. It is undone, so the model
    left behind is finite (and can be saved and resumed)."""
    model = _small_gan(seed=0, dtype="float32", lr_g=2e38, lr_d=2e38)
    with pytest.raises(gan.DivergenceError, match=r"at step 1 \(D-step 1\): D's parameters or optimiser state"):
        model.train(50)
    for network, optimizer in ((model.G, model.opt_g), (model.D, model.opt_d)):
        assert all(np.isfinite(a).all() for a in _network_and_optimiser_arrays(network, optimizer))


@pytest.mark.parametrize("field", ["lr_g", "lr_d"])
def test_a_learning_rate_that_overflows_the_dtype_is_refused_up_front(field):
    with pytest.raises(ValueError, match=rf"^{field} = 1e\+39 overflows float32 \(largest 3.4e\+38\); choose a smaller value$"):
        gan.GANConfig(**{field: 1e39})
    assert getattr(gan.GANConfig(dtype="float64", **{field: 1e39}), field) == 1e39  # fine in float64


def test_the_record_is_read_back_from_the_device_once_per_step(monkeypatch):
    model = _small_gan(seed=0, loss="wgan_gp")
    copies = []
    to_numpy = minigan.backend.to_numpy
    monkeypatch.setattr(minigan.backend, "to_numpy", lambda array: copies.append(1) or to_numpy(array))
    record = model.train_step()
    assert len(copies) == 2  # one for the D-step, one for the G-step
    assert {"loss_d", "gradient_penalty", "grad_norm_d", "loss_g", "grad_norm_g"} <= set(record)


# ----------------------------------------------------------------------------- the losses of a step, built alone


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_d_loss_and_g_loss_build_the_steps_losses_with_their_graphs_and_change_nothing(loss):
    model = _small_gan(seed=0, loss=loss)
    before = [p.data.copy() for p in (*model.G.parameters(), *model.D.parameters())]
    loss_d = model.d_loss(np.random.default_rng(1))
    loss_g = model.g_loss(np.random.default_rng(1))
    assert loss_d.total.creator is not None and loss_g.creator is not None  # the graphs are there
    loss_g.backward()  # outside g_loss's frozen block: D was frozen when the graph was built
    assert all(p.grad is None for p in model.D.parameters())
    assert all(p.grad is not None for p in model.G.parameters())
    for p, b in zip((*model.G.parameters(), *model.D.parameters()), before, strict=True):
        np.testing.assert_array_equal(p.data, b)
    assert (model.step, model.d_steps, model.g_steps) == (0, 0, 0)


@pytest.mark.parametrize("loss", gan.LOSSES)
def test_the_d_step_minimises_exactly_d_loss(loss):
    """d_loss is the code d_step runs: the same z, x (and penalty mixing) give the same L_D."""
    model = _small_gan(seed=2, loss=loss)
    state = model.rng.bit_generator.state
    expected = model.d_loss().total.item()
    model.rng.bit_generator.state = state
    assert model.d_step()["loss_d"] == expected


# ----------------------------------------------------------------------------- remedies for blurred samples


def test_learning_rates_fall_linearly_to_zero_between_the_two_steps():
    config = gan.GANConfig(lr_decay_from=10, lr_decay_to=20)
    assert [config.lr_factor(step) for step in (0, 10, 15, 19, 20, 25)] == [1.0, 1.0, 0.5, 0.1, 0.0, 0.0]
    assert gan.GANConfig().lr_factor(10**6) == 1.0  # no decay by default


def test_training_uses_the_decayed_learning_rates():
    model, _ = presets.build("ring", seed=0, batch_size=16, lr_d=2e-3, lr_g=1e-3, lr_decay_from=2, lr_decay_to=6)
    model.train(4)  # the 4th step (step index 3) used 3/4 of each learning rate
    assert (model.opt_d.lr, model.opt_g.lr) == (2e-3, 1e-3)  # the rates set ...
    assert model.opt_d.lr_factor == model.opt_g.lr_factor == pytest.approx(0.75)  # ... scaled by the decay


@pytest.mark.parametrize("field, value, message", [
    ("lr_decay_from", -1, "lr_decay_from must be a step number"),
    ("lr_decay_to", 2.5, "lr_decay_to must be a step number"),
    ("g_average", 1.0, "g_average must be in"),
])
def test_bad_remedy_settings_are_named(field, value, message):
    with pytest.raises(ValueError, match=message):
        gan.GANConfig(**{field: value})


def test_a_decay_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match=r"lr_decay_to \(5\) must come after lr_decay_from \(8\)"):
        gan.GANConfig(lr_decay_from=8, lr_decay_to=5)


def test_the_average_of_g_only_looks_it_does_not_change_training():
    plain, _ = presets.build("ring", seed=0, batch_size=16, g_average=0.0)
    averaged, _ = presets.build("ring", seed=0, batch_size=16, g_average=0.9)
    plain.train(5)
    averaged.train(5)
    for (name, p), q in zip(plain.G.named_parameters(), averaged.G.parameters()):
        np.testing.assert_array_equal(p.data, q.data, err_msg=name)  # θ_G is the same run either way
    z = np.random.default_rng(0)
    own = plain.generate(8, np.random.default_rng(0))
    from_the_average = averaged.generate(8, z)
    assert not np.allclose(own, from_the_average)  # but the samples come from θ̄_G
    with averaged.g_average.swapped_in() as G:
        expected = G(averaged.sample_noise(8, np.random.default_rng(0))).numpy()
    np.testing.assert_array_equal(from_the_average, expected)


def test_a_saved_run_keeps_the_average_of_g():
    first, _ = presets.build("ring", seed=0, batch_size=16, g_average=0.9)
    first.train(3)
    state = first.state_dict()
    second, _ = presets.build("ring", seed=1, batch_size=16, g_average=0.9)
    second.load_state_dict(state)
    for name, value in first.g_average.average.items():
        np.testing.assert_array_equal(second.g_average.average[name], value)


def test_sampling_and_evaluation_run_the_networks_in_evaluation_mode():
    """A G and a D with dropout: their samples and D's map are not thinned at random (the same
    numbers twice), training is (the networks are back in training mode afterwards)."""
    rng = np.random.default_rng(0)
    G = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Dropout(0.5), nn.ReLU(), nn.Linear(8, 2, rng=rng))
    D = nn.Sequential(nn.Linear(2, 8, rng=rng), nn.Dropout(0.5), nn.LeakyReLU(), nn.Linear(8, 1, rng=rng))
    model = gan.GAN(G, D, data.ring(), gan.GANConfig(batch_size=16), rng=np.random.default_rng(1))
    x = np.random.default_rng(2).normal(size=(10, 2))
    np.testing.assert_array_equal(model.discriminate(x), model.discriminate(x))
    np.testing.assert_array_equal(model.generate(10, np.random.default_rng(3)), model.generate(10, np.random.default_rng(3)))
    assert G.training and D.training
    with nn.evaluating(D):
        expected = D(Tensor(x.astype(np.float32))).numpy()
    assert not np.array_equal(D(Tensor(x.astype(np.float32))).numpy(), expected)  # training mode: units dropped


def test_a_learning_rate_set_by_hand_is_kept_and_the_decay_scales_it():
    model = _small_gan(seed=0, lr_decay_from=2, lr_decay_to=4)
    model.opt_d.lr = 0.123  # set by hand: train_step must not overwrite it
    model.train(4)  # the last step is step 3: half-way through the decay
    assert model.opt_d.lr == 0.123 and model.opt_g.lr == model.config.lr_g
    assert model.opt_d.lr_factor == model.opt_g.lr_factor == 0.5
