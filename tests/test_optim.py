"""Optimisers against their published rules; resume exactness; real learning."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan import Tensor, backend, losses, nn, no_grad, optim


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
    with pytest.raises(ValueError, match=r"unknown hyperparameters \['weight_decay'\]"):
        adam.load_state_dict(state)
    state = adam.state_dict()
    state["buffers"]["m"][0] = state["buffers"]["m"][0].astype(np.float64)
    with pytest.raises(ValueError, match=r"m\[0\] is float64 of shape \(2, 3\), expected float32"):
        adam.load_state_dict(state)
