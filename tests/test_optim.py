"""Optimisers against their published rules; resume exactness; real learning."""

from types import SimpleNamespace
from unittest import mock

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan import Tensor, backend, guard, losses, nn, no_grad, optim
from minigan.fast import fused as fused_update


def _adam_reference(theta, grads, lr, beta1, beta2, eps):
    """Kingma & Ba (2015), Algorithm 1, written out in float64, independently of minigan."""
    m = np.zeros_like(theta)
    v = np.zeros_like(theta)
    for t, g in enumerate(grads, start=1):
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g**2
        m_hat = m / (1 - beta1**t)
        v_hat = v / (1 - beta2**t)
        theta = theta - lr * m_hat / (np.sqrt(v_hat) + eps)
    return theta


def _run(optimizer_cls, theta0, grads, **hyper):
    p = nn.Parameter(backend.asarray(theta0.copy()))
    opt = optimizer_cls([p], **hyper)
    for g in grads:
        p.grad = Tensor(backend.asarray(g))
        opt.step()
    return p.numpy()


@pytest.mark.parametrize("betas", [(0.9, 0.999), optim.GAN_BETAS])
def test_adam_follows_the_published_update_rule_over_several_steps(xp, betas):
    rng = np.random.default_rng(0)
    theta0 = rng.standard_normal((4, 3))
    grads = [rng.standard_normal((4, 3)) * 10.0 ** rng.integers(-4, 2) for _ in range(8)]
    ours = _run(optim.Adam, theta0, grads, lr=0.01, betas=betas, eps=1e-8)
    reference = _adam_reference(theta0, grads, 0.01, *betas, 1e-8)
    np.testing.assert_allclose(ours, reference, rtol=1e-12, atol=1e-15)


@given(
    grad=hnp.arrays(np.float64, st.integers(1, 8), elements=st.floats(1e-3, 1e3) | st.floats(-1e3, -1e-3)),
    lr=st.floats(1e-5, 1e-1),
)
def test_adams_first_step_moves_each_parameter_by_lr_against_the_gradient_sign(grad, lr):
    theta0 = np.zeros_like(grad)
    step = _run(optim.Adam, theta0, [grad], lr=lr) - theta0
    # m̂ = g and √v̂ = |g| after one step, so the move is lr · g / (|g| + ε) ≈ -lr · sign(g)
    np.testing.assert_allclose(step, -lr * np.sign(grad), rtol=1e-4)


def test_sgd_with_momentum_follows_its_rule(xp):
    rng = np.random.default_rng(1)
    theta = rng.standard_normal(5)
    grads = [rng.standard_normal(5) for _ in range(4)]
    ours = _run(optim.SGD, theta, grads, lr=0.1, momentum=0.9)
    velocity = np.zeros(5)
    for g in grads:
        velocity = 0.9 * velocity + g
        theta = theta - 0.1 * velocity
    np.testing.assert_allclose(ours, theta, rtol=1e-14)


def test_parameters_without_a_gradient_are_left_alone():
    a, b = nn.Parameter(np.ones(2)), nn.Parameter(np.ones(2))
    opt = optim.Adam([a, b], lr=0.1)
    a.grad = Tensor(np.ones(2))
    opt.step()
    assert (b.data == 1).all() and (a.data < 1).all()


def test_bad_hyperparameters_are_refused_with_their_name():
    p = [nn.Parameter(np.ones(1))]
    with pytest.raises(ValueError, match="lr must be a positive number, got -1"):
        optim.Adam(p, lr=-1)
    with pytest.raises(ValueError, match="beta1 must be in"):
        optim.Adam(p, betas=(1.0, 0.999))
    with pytest.raises(ValueError, match="momentum must be in"):
        optim.SGD(p, momentum=1.5)
    with pytest.raises(ValueError, match="got no parameters"):
        optim.SGD([])
    with pytest.raises(TypeError, match="item 0 is a ndarray, not a Parameter"):
        optim.SGD([np.ones(1)])


def _xor_blobs(n, rng):
    centres = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]], dtype=np.float64)
    labels = np.array([1, 1, 0, 0])
    which = rng.integers(0, 4, n)
    x = centres[which] + 0.3 * rng.standard_normal((n, 2))
    return Tensor(x.astype(np.float32)), Tensor(labels[which, None].astype(np.float32))


def _train(model, opt, x, y, steps):
    for _ in range(steps):
        loss = losses.bce_with_logits(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()


@pytest.mark.parametrize("optimizer", ["Adam", "SGD"])
def test_state_dict_resume_gives_identical_numbers_to_never_stopping(optimizer):
    make_opt = {
        "Adam": lambda m: optim.Adam(m.parameters(), lr=0.01, betas=optim.GAN_BETAS),
        "SGD": lambda m: optim.SGD(m.parameters(), lr=0.05, momentum=0.9),
    }[optimizer]
    minigan.seed(0)
    x, y = _xor_blobs(64, minigan.rng.generator())

    minigan.seed(1)
    straight = nn.mlp([2, 8, 1])
    straight_opt = make_opt(straight)
    _train(straight, straight_opt, x, y, 20)

    minigan.seed(1)
    first = nn.mlp([2, 8, 1])
    first_opt = make_opt(first)
    _train(first, first_opt, x, y, 10)
    model_state, opt_state = first.state_dict(), first_opt.state_dict()

    minigan.seed(99)  # a fresh model and optimiser that start elsewhere
    resumed = nn.mlp([2, 8, 1])
    resumed_opt = make_opt(resumed)
    resumed.load_state_dict(model_state)
    resumed_opt.load_state_dict(opt_state)
    _train(resumed, resumed_opt, x, y, 10)

    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_optimizer_state_of_the_wrong_kind_or_shape_is_refused():
    model = nn.mlp([2, 3])
    adam = optim.Adam(model.parameters())
    with pytest.raises(ValueError, match="optimiser state is for 'Adam', not 'SGD'"):
        optim.SGD(model.parameters()).load_state_dict(adam.state_dict())
    other = optim.Adam(nn.mlp([2, 4]).parameters())
    with pytest.raises(ValueError, match=r"m\[0\] is float32 of shape \(2, 4\), expected float32 of shape \(2, 3\)"):
        adam.load_state_dict(other.state_dict())


def _two_spirals(n, rng):
    turn = np.sqrt(rng.uniform(size=n)) * 3 * np.pi  # 1.5 turns per arm
    arm = np.stack([turn * np.cos(turn), turn * np.sin(turn)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]).astype(np.float32)
    y = np.concatenate([np.ones(n), np.zeros(n)])[:, None].astype(np.float32)
    return x, y


@pytest.mark.slow
def test_an_mlp_trained_with_adam_separates_two_spirals_completely():
    minigan.seed(0)
    x, y = _two_spirals(100, minigan.rng.generator())
    model = nn.mlp([2, 64, 64, 1], activation="tanh")
    _train(model, optim.Adam(model.parameters(), lr=1e-2), Tensor(x), Tensor(y), 1500)
    with no_grad():
        predicted_real = model(Tensor(x)).data > 0
    assert (predicted_real == (y > 0.5)).mean() == 1.0


def test_a_parameter_whose_first_gradient_comes_late_gets_adams_first_step():
    early, late = nn.Parameter(np.zeros(2)), nn.Parameter(np.zeros(2))
    opt = optim.Adam([early, late], lr=0.1)
    early.grad = Tensor(np.ones(2))
    opt.step()
    opt.step()
    late.grad = Tensor(np.ones(2))
    opt.step()  # late's first update: bias correction with its own t = 1
    np.testing.assert_allclose(late.data, -0.1, rtol=1e-6)


def test_optimizer_state_with_unknown_settings_or_other_dtypes_is_refused():
    model = nn.mlp([2, 3])
    adam = optim.Adam(model.parameters())
    state = adam.state_dict()
    state["hyperparameters"]["weight_decay"] = 0.1
    with pytest.raises(ValueError, match=r"has hyperparameters \[.betas., .eps., .lr., .weight_decay.\], expected"):
        adam.load_state_dict(state)
    state = adam.state_dict()
    state["buffers"]["m"][0] = state["buffers"]["m"][0].astype(np.float64)
    with pytest.raises(ValueError, match=r"m\[0\] is float64 of shape \(2, 3\), expected float32"):
        adam.load_state_dict(state)


# ----------------------------------------------------------------------------- the fused update


def _train_twice(make_opt, steps=15):
    """The same model trained once with the fused update and once parameter by parameter."""
    models = []
    for fused in (True, False):
        minigan.seed(3)
        x, y = _xor_blobs(64, minigan.rng.generator())
        model = nn.mlp([2, 16, 8, 1])
        opt = make_opt(model.parameters(), fused)
        assert (opt.fused is not None) == fused
        _train(model, opt, x, y, steps)
        models.append((model, opt))
    return models


@pytest.mark.parametrize("make_opt", [
    lambda params, fused: optim.Adam(params, lr=0.01, betas=optim.GAN_BETAS, fused=fused),
    lambda params, fused: optim.SGD(params, lr=0.05, momentum=0.9, fused=fused),
], ids=["Adam", "SGD"])
@pytest.mark.parametrize("block", [fused_update.BLOCK, 7, 1])
def test_the_fused_update_is_bit_identical_to_updating_each_parameter(make_opt, block):
    # The rule is elementwise, and +, -, *, / and √ round each element correctly (IEEE 754)
    # wherever it is stored, so one call on the flat array, or one per block of it (7: blocks
    # that straddle the parameters' boundaries), equals one call per parameter exactly.
    with mock.patch.object(fused_update, "BLOCK", block):
        (fused_model, fused_opt), (plain_model, plain_opt) = _train_twice(make_opt)
    assert len(fused_opt.fused.blocks) == -(-fused_opt.fused.theta.size // block)
    for a, b in zip(fused_model.parameters(), plain_model.parameters(), strict=True):
        assert np.shares_memory(a.data, fused_opt.fused.theta)  # the fused path really ran on views
        np.testing.assert_array_equal(a.data, b.data)
    for a, b in zip(fused_opt.state, plain_opt.state, strict=True):
        for name in fused_opt.buffer_names:
            np.testing.assert_array_equal(a[name], b[name])
    assert fused_opt.steps == plain_opt.steps == [15] * 6


@settings(max_examples=25)
@given(adam=st.booleans(), lr=st.floats(1e-4, 0.5), beta1=st.floats(0, 0.99), beta2=st.floats(0.5, 0.9999),
       eps=st.floats(1e-8, 1e-2), momentum=st.floats(0, 0.99), factor=st.floats(0, 1), steps=st.integers(1, 6),
       dtype=st.sampled_from(["float32", "float64"]), seed=st.integers(0, 2**16), block=st.sampled_from([1, 3, 4, 2**16]))
def test_the_fused_rules_equal_the_plain_rules_bit_for_bit_for_any_settings(adam, lr, beta1, beta2, eps, momentum,
                                                                            factor, steps, dtype, seed, block):
    rng = np.random.default_rng(seed)
    grads = [[(rng.standard_normal(s) * 10.0 ** rng.integers(-3, 3)).astype(dtype) for s in [(3, 2), (2,), (2, 1)]]
             for _ in range(steps)]
    results = []
    for fused in (True, False):
        params = [nn.Parameter(np.random.default_rng(0).standard_normal(g.shape).astype(dtype)) for g in grads[0]]
        with mock.patch.object(fused_update, "BLOCK", block):  # the rule block by block: the same numbers
            opt = optim.Adam(params, lr=lr, betas=(beta1, beta2), eps=eps, fused=fused) if adam \
                else optim.SGD(params, lr=lr, momentum=momentum, fused=fused)
        opt.lr_factor = factor
        for step_grads in grads:
            for p, g in zip(params, step_grads, strict=True):
                p.grad = Tensor(g)
            opt.step()
        state = opt.state_dict()
        results.append([p.data.copy() for p in params] + [b for name in opt.buffer_names for b in state["buffers"][name]]
                       + [state["steps"]])
    _assert_same_state(*results)


@pytest.mark.parametrize("block", [fused_update.BLOCK, 5])  # 5: the fused update in blocks across parameters
def test_an_optimizer_state_saved_one_way_resumes_the_other_way_exactly(block):
    minigan.seed(0)
    x, y = _xor_blobs(64, minigan.rng.generator())
    minigan.seed(1)
    straight = nn.mlp([2, 8, 1])
    with mock.patch.object(fused_update, "BLOCK", block):
        straight_opt = optim.Adam(straight.parameters(), lr=0.01, fused=True)
    _train(straight, straight_opt, x, y, 20)

    minigan.seed(1)
    first = nn.mlp([2, 8, 1])
    first_opt = optim.Adam(first.parameters(), lr=0.01, fused=False)
    _train(first, first_opt, x, y, 10)
    resumed = nn.mlp([2, 8, 1])
    with mock.patch.object(fused_update, "BLOCK", block):
        resumed_opt = optim.Adam(resumed.parameters(), lr=0.01, fused=True)
    resumed.load_state_dict(first.state_dict())
    resumed_opt.load_state_dict(first_opt.state_dict())
    _train(resumed, resumed_opt, x, y, 10)
    for a, b in zip(straight.parameters(), resumed.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_the_gradient_norm_is_the_norm_of_all_gradients_together_both_ways():
    rng = np.random.default_rng(0)
    for fused in (True, False):
        model = nn.mlp([3, 4, 2], dtype="float64")
        grads = [rng.standard_normal(p.shape) for p in model.parameters()]
        opt = optim.Adam(model.parameters(), fused=fused)
        for p, g in zip(model.parameters(), grads, strict=True):
            p.grad = Tensor(g)
        expected = np.sqrt(sum((g**2).sum() for g in grads))
        assert float(guard.gradient_norm(opt)) == pytest.approx(expected, rel=1e-12)  # before the update
        opt.step()
        assert float(guard.gradient_norm(opt)) == pytest.approx(expected, rel=1e-12)  # the one it used


def _state_of(model, opt) -> list:
    """Copies of the parameters and of every optimiser buffer, and the step counts."""
    state = opt.state_dict()
    arrays = [p.data.copy() for p in model.parameters()]
    arrays += [b for name in opt.buffer_names for b in state["buffers"][name]]
    return [*arrays, state["steps"]]


def _assert_same_state(a, b):
    assert a[-1] == b[-1]
    for x, y in zip(a[:-1], b[:-1], strict=True):
        np.testing.assert_array_equal(x, y)


@pytest.mark.parametrize("optimizer", [optim.Adam, optim.SGD])
def test_undo_step_puts_back_the_state_before_the_last_step_and_training_goes_on_as_if_it_never_ran(optimizer):
    rng = np.random.default_rng(0)
    minigan.seed(0)
    model = nn.mlp([3, 4, 2])
    kwargs = {"momentum": 0.9} if optimizer is optim.SGD else {}
    opt = optimizer(model.parameters(), **kwargs)
    grads = [[rng.standard_normal(p.shape).astype(p.dtype) for p in model.parameters()] for _ in range(4)]

    def step(gradients):
        for p, g in zip(model.parameters(), gradients, strict=True):
            p.grad = Tensor(g)
        opt.step()

    step(grads[0])
    step(grads[1])
    after_two = _state_of(model, opt)
    step(grads[3])  # an update that is then undone
    opt.undo_step()
    _assert_same_state(_state_of(model, opt), after_two)
    step(grads[2])  # and training goes on from there, as if the undone update had never been made
    ours = _state_of(model, opt)

    minigan.seed(0)
    model = nn.mlp([3, 4, 2])
    opt = optimizer(model.parameters(), **kwargs)
    for gradients in grads[:3]:
        step(gradients)
    _assert_same_state(ours, _state_of(model, opt))
    assert all(np.shares_memory(p.data, opt.fused.theta) for p in model.parameters())  # still in the flat array


def test_undo_needs_the_fused_update():
    opt = optim.Adam(nn.mlp([2, 3]).parameters(), fused=False)
    with pytest.raises(RuntimeError, match="undo_step\\(\\) needs the fused update"):
        opt.undo_step()


@given(
    actions=st.lists(st.one_of(st.just("undo"), st.lists(st.booleans(), min_size=4, max_size=4)),
                     min_size=1, max_size=12),
    adam=st.booleans(),
    block=st.sampled_from([2, 5, 2**16]),
)
def test_any_sequence_of_steps_and_undos_ends_where_the_steps_never_undone_lead(actions, adam, block):
    """Each action is "undo" or a step in which the parameters marked True have a gradient (all
    True: the fused way, which can be undone; some False: parameter by parameter, which cannot,
    and unequal step counts from then on)."""
    def make():
        model = nn.mlp([2, 3, 1], dtype="float64", rng=np.random.default_rng(0))
        cls, kwargs = (optim.Adam, {"betas": optim.GAN_BETAS}) if adam else (optim.SGD, {"momentum": 0.9})
        with mock.patch.object(fused_update, "BLOCK", block):
            return model, cls(model.parameters(), lr=0.1, **kwargs)

    def step(model, opt, has_grad, seed):
        rng = np.random.default_rng(seed)
        for p, given_grad in zip(model.parameters(), has_grad, strict=True):
            p.grad = Tensor(rng.standard_normal(p.shape)) if given_grad else None
        opt.step()

    model, opt = make()
    kept = []  # the steps that stand: (mask, seed)
    undoable = False
    for seed, action in enumerate(actions):
        if action == "undo":
            if undoable:
                opt.undo_step()
                kept.pop()
            else:
                with pytest.raises(RuntimeError, match="no update to undo"):
                    opt.undo_step()
            undoable = False
        else:
            step(model, opt, action, seed)
            kept.append((action, seed))
            undoable = all(action) and len(set(opt.steps)) == 1
    reference, reference_opt = make()
    for mask, seed in kept:
        step(reference, reference_opt, mask, seed)
    _assert_same_state(_state_of(model, opt), _state_of(reference, reference_opt))


@pytest.mark.parametrize("adam", [True, False])
def test_a_step_cut_short_between_blocks_leaves_everything_as_it_was(adam):
    """An overflow that np.errstate turns into an error in the middle block (or a Ctrl-C between
    blocks): θ of the blocks already updated is put back, the state and step counts have not
    moved, and the next steps go on as if the failed one had never been tried."""
    def make():
        params = [nn.Parameter(np.arange(4, dtype=np.float32) + i) for i in range(3)]
        with mock.patch.object(fused_update, "BLOCK", 4):  # one block per parameter
            opt = optim.Adam(params, lr=0.1) if adam else optim.SGD(params, lr=10.0, momentum=0.9)
        return SimpleNamespace(parameters=lambda: params), opt

    def step(model, opt, huge=False):
        for i, p in enumerate(model.parameters()):
            p.grad = Tensor(np.full(4, 1e38 if huge and i == 1 else 0.5, dtype=np.float32))
        opt.step()

    model, opt = make()
    step(model, opt)
    before = _state_of(model, opt)
    with np.errstate(over="raise"), pytest.raises(FloatingPointError):
        step(model, opt, huge=True)  # Adam: g² overflows; SGD: η v does, in the middle block
    _assert_same_state(_state_of(model, opt), before)
    with pytest.raises(RuntimeError, match="cut short"):
        opt.undo_step()
    step(model, opt)
    reference, reference_opt = make()
    step(reference, reference_opt)
    step(reference, reference_opt)
    _assert_same_state(_state_of(model, opt), _state_of(reference, reference_opt))


@pytest.mark.parametrize("fused", [True, False])
def test_a_state_loaded_after_an_odd_number_of_steps_goes_on_exactly(fused):
    """Loading writes into the buffers in use: after one fused step those are the second bank."""
    rng = np.random.default_rng(0)
    grads = [[rng.standard_normal(s).astype(np.float32) for s in [(2, 3), (3,), (3, 1), (1,)]] for _ in range(4)]

    def run(model, opt, gradients):
        for step_grads in gradients:
            for p, g in zip(model.parameters(), step_grads, strict=True):
                p.grad = Tensor(g)
            opt.step()

    minigan.seed(0)
    model = nn.mlp([2, 3, 1])
    opt = optim.Adam(model.parameters(), fused=fused)
    run(model, opt, grads[:2])
    saved_model, saved_opt = model.state_dict(), opt.state_dict()
    run(model, opt, grads[2:])
    straight = _state_of(model, opt)

    minigan.seed(1)  # other initial weights, then one step: the loading optimiser is on its second bank
    model = nn.mlp([2, 3, 1])
    opt = optim.Adam(model.parameters(), fused=fused)
    run(model, opt, grads[3:])
    model.load_state_dict(saved_model)
    opt.load_state_dict(saved_opt)
    run(model, opt, grads[2:])
    _assert_same_state(_state_of(model, opt), straight)


def test_undo_step_refuses_when_a_parameter_was_replaced_since_the_step():
    model = nn.mlp([2, 3, 1])
    opt = optim.Adam(model.parameters())
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape, dtype=p.dtype))
    opt.step()
    model.parameters()[0].data = model.parameters()[0].data.copy()
    with pytest.raises(RuntimeError, match="replaced"):
        opt.undo_step()


def test_undo_step_refuses_when_there_is_no_step_to_undo():
    model = nn.mlp([3, 4, 2])
    opt = optim.Adam(model.parameters())
    with pytest.raises(RuntimeError, match="no update to undo"):
        opt.undo_step()
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape, dtype=p.dtype))
    opt.step()
    opt.undo_step()
    with pytest.raises(RuntimeError, match="no update to undo"):
        opt.undo_step()  # only the last step can be undone
    opt.step()
    opt.load_state_dict(opt.state_dict())
    with pytest.raises(RuntimeError, match="no update to undo"):
        opt.undo_step()  # a loaded state has no step before it


@pytest.mark.parametrize("steps_before", [0, 1])  # 1: the fused way's current buffers are its second bank
def test_all_finite_finds_one_nan_in_the_optimisers_state(steps_before):
    model = nn.mlp([3, 4, 2])
    for fused in (True, False):
        opt = optim.Adam(model.parameters(), fused=fused)
        for _ in range(steps_before):
            for p in model.parameters():
                p.grad = Tensor(np.ones(p.shape, dtype=p.dtype))
            opt.step()
        assert bool(guard.all_finite(opt)) and bool(guard.all_finite(opt, exact=False))
        opt.state[1]["v"][0] = np.inf
        assert not bool(guard.all_finite(opt)) and not bool(guard.all_finite(opt, exact=False))
        opt.state[1]["v"][0] = 0.0


def test_all_finite_finds_one_nan_among_the_parameters():
    model = nn.mlp([3, 4, 2])
    for fused in (True, False):
        opt = optim.SGD(model.parameters(), fused=fused)
        assert bool(guard.all_finite(opt)) and bool(guard.all_finite(opt, exact=False))
        model.parameters()[2].data[1, 0] = np.nan
        assert not bool(guard.all_finite(opt)) and not bool(guard.all_finite(opt, exact=False))
        model.parameters()[2].data[1, 0] = 0.0


@pytest.mark.parametrize("fused", [True, False])
def test_huge_but_finite_parameters_are_not_taken_for_a_divergence(fused):
    # the guard's quick check (the sum of squares) overflows at |θ| ≈ 1e19 in float32; the exact one decides
    model = nn.mlp([3, 4, 2])
    opt = optim.SGD(model.parameters(), lr=0.1, fused=fused)
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape, dtype=p.dtype))
    opt.step()
    model.parameters()[0].data[0, 0] = 3e30
    assert not bool(guard.all_finite(opt, exact=False)) and bool(guard.all_finite(opt))
    loss = Tensor(np.float32(1.0))
    assert guard.checked_record({"loss": loss}, opt, "d", 1, "")["loss"] == 1.0
    model.parameters()[0].data[0, 0] = np.inf
    with pytest.raises(guard.DivergenceError, match="D's parameters or optimiser state is"):
        guard.checked_record({"loss": loss}, opt, "d", 1, "")


def test_a_parameter_replaced_behind_the_optimizers_back_is_still_updated():
    p = nn.Parameter(np.zeros(2))
    opt = optim.SGD([p], lr=0.5)
    p.data = np.zeros(2)  # no longer a view into the flat array
    p.grad = Tensor(np.ones(2))
    opt.step()
    np.testing.assert_array_equal(p.data, [-0.5, -0.5])


# ----------------------------------------------------------------------------- refusals


def test_a_parameter_given_twice_is_refused():
    p = nn.Parameter(np.ones(2), name="weight")
    with pytest.raises(ValueError, match="items 0 and 2 are the same parameter 'weight'"):
        optim.Adam([p, nn.Parameter(np.ones(1)), p])


def test_a_learning_rate_that_overflows_the_parameters_dtype_is_refused():
    p = [nn.Parameter(np.ones(2, dtype=np.float32))]
    with pytest.raises(ValueError, match="lr = 1e[+]39 overflows the parameters' dtype float32"):
        optim.Adam(p, lr=1e39)
    optim.Adam([nn.Parameter(np.ones(2))], lr=1e39)  # float64 holds it
    with pytest.raises(ValueError, match="eps = 1e-50 is 0 in the parameters' dtype float32"):
        optim.Adam(p, eps=1e-50)


@pytest.mark.parametrize("field, value, message", [
    ("lr", -5, "lr must be a positive number, got -5"),
    ("lr", float("nan"), "lr must be a positive number, got nan"),
    ("lr", float("inf"), "lr must be a positive number, got inf"),
    ("lr", 1e39, "overflows the parameters' dtype float32"),
    ("lr", "0.1", "lr must be a positive number, got '0.1'"),
    ("betas", [1.0, 0.999], r"beta1 must be in \[0, 1\), got 1.0"),
    ("betas", [0.5, -0.1], r"beta2 must be in \[0, 1\), got -0.1"),
    ("betas", [0.5], "betas must be a pair"),
    ("eps", 0.0, "eps must be a positive number, got 0.0"),
])
def test_a_saved_adam_state_with_a_hyperparameter_out_of_range_is_refused_and_nothing_changes(field, value, message):
    model = nn.mlp([2, 3])
    adam = optim.Adam(model.parameters(), lr=0.01)
    state = adam.state_dict()
    state["hyperparameters"][field] = value
    state["steps"] = [7] * len(state["steps"])
    with pytest.raises(ValueError, match=message):
        adam.load_state_dict(state)
    assert adam.lr == 0.01 and adam.betas == (0.9, 0.999) and adam.steps == [0, 0]


def test_a_saved_sgd_state_with_momentum_out_of_range_or_negative_steps_is_refused():
    sgd = optim.SGD(nn.mlp([2, 3]).parameters())
    state = sgd.state_dict()
    state["hyperparameters"]["momentum"] = 1.0
    with pytest.raises(ValueError, match=r"momentum must be in \[0, 1\), got 1.0"):
        sgd.load_state_dict(state)
    state = sgd.state_dict()
    state["steps"][1] = -3
    with pytest.raises(ValueError, match="step counts must be integers ≥ 0, got -3"):
        sgd.load_state_dict(state)


@pytest.mark.parametrize("fused", [True, False])
def test_a_saved_optimizer_state_is_a_snapshot_that_later_steps_leave_alone(fused):
    model = nn.mlp([2, 3, 1])
    opt = optim.Adam(model.parameters(), fused=fused)
    for p in model.parameters():
        p.grad = Tensor(np.ones(p.shape, dtype=p.dtype))
    opt.step()
    state = opt.state_dict()
    saved = [b.copy() for b in state["buffers"]["m"]]
    opt.step()
    opt.step()  # two: the fused way writes each bank of buffers in turn
    for a, b in zip(state["buffers"]["m"], saved, strict=True):
        np.testing.assert_array_equal(a, b)
    assert [b.shape for b in state["buffers"]["v"]] == [p.shape for p in model.parameters()]


@pytest.mark.parametrize("fused", [True, False])
def test_a_gradient_of_another_dtype_or_shape_than_its_parameter_is_refused(fused):
    p = nn.Parameter(np.zeros((2, 3), dtype=np.float32), name="w")
    opt = optim.SGD([p], lr=0.1, fused=fused)
    for wrong in (np.ones((2, 3)), np.ones((3, 2), dtype=np.float32)):
        p.grad = Tensor(wrong)
        with pytest.raises(ValueError, match=r"tensor 'w' \(float32, shape \(2, 3\)\) has a gradient of dtype"):
            opt.step()
    np.testing.assert_array_equal(p.data, 0)
