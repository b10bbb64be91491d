"""Layers, parameters, initialisers, state dicts, seeding; a whole MLP gradient-checked."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigan
from minigan.spectral import SpectralNormLinear
from minigan import Tensor, backend, losses, nn, ops
from minigan.gradcheck import check_grad, check_gradgrad

from strategies import leaf


class Block(nn.Module):
    def __init__(self):
        self.inner = nn.Linear(3, 4)
        self.heads = [nn.Linear(4, 2), nn.Linear(4, 1)]
        self.scale = nn.Parameter(np.ones(1, dtype=np.float32))


def test_parameters_are_found_in_nested_modules_and_lists_in_order():
    names = [name for name, _ in Block().named_parameters()]
    assert names == [
        "inner.weight", "inner.bias",
        "heads.0.weight", "heads.0.bias", "heads.1.weight", "heads.1.bias",
        "scale",
    ]


def test_zero_grad_clears_every_parameter():
    block = Block()
    for p in block.parameters():
        p.grad = Tensor(np.ones(p.shape, dtype=np.float32))
    block.zero_grad()
    assert all(p.grad is None for p in block.parameters())


def test_linear_is_x_times_w_plus_b(xp):
    layer = nn.Linear(3, 2)
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    expected = x @ backend.to_numpy(layer.weight.data) + backend.to_numpy(layer.bias.data)
    np.testing.assert_allclose(layer(Tensor(backend.asarray(x))).numpy(), expected, rtol=1e-6)


def test_linear_fed_the_wrong_feature_size_names_layer_and_shapes():
    net = nn.mlp([2, 8, 1], name="D")
    with pytest.raises(ValueError, match=r"Linear 'D.0'\(2 -> 8\) expected input of shape \(batch, 2\), got \(5, 3\)"):
        net(Tensor(np.ones((5, 3), dtype=np.float32)))


def test_linear_refuses_an_input_of_another_dtype():
    with pytest.raises(TypeError, match="float32 parameters but got a float64 input"):
        nn.Linear(2, 2)(Tensor(np.ones((1, 2))))


def test_unknown_initialiser_and_activation_list_the_known_ones():
    with pytest.raises(ValueError, match="unknown initialiser 'orthogonal'; known: glorot, he"):
        nn.Linear(2, 2, init="orthogonal")
    with pytest.raises(ValueError, match="unknown activation 'swish'; known: relu, leaky_relu, tanh, sigmoid"):
        nn.mlp([2, 2, 2], activation="swish")


def test_linear_rejects_nonsense_sizes():
    with pytest.raises(ValueError, match="in_features must be a positive integer, got 0"):
        nn.Linear(0, 3)


def test_glorot_and_he_have_their_published_scales():
    rng = np.random.default_rng(0)
    w = nn.glorot_uniform(400, 200, rng)
    limit = np.sqrt(6 / 600)
    assert np.abs(w).max() <= limit
    np.testing.assert_allclose(w.var(), limit**2 / 3, rtol=0.02)  # variance of U(-a, a) is a²/3
    w = nn.he_normal(400, 200, rng)
    np.testing.assert_allclose(w.std(), np.sqrt(2 / 400), rtol=0.02)


def test_state_dict_round_trip_into_a_fresh_model():
    minigan.seed(1)
    source = nn.mlp([2, 5, 1])
    minigan.seed(2)
    target = nn.mlp([2, 5, 1])
    target.load_state_dict(source.state_dict())
    for (name, a), (_, b) in zip(source.named_parameters(), target.named_parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data, err_msg=name)


def test_state_dict_is_a_copy():
    model = nn.mlp([2, 3])
    state = model.state_dict()
    state["0.bias"][...] = 99
    assert not (model.parameters()[1].data == 99).any()


def test_load_state_dict_names_missing_extra_and_misshaped_entries():
    model = nn.mlp([2, 3, 1])
    state = model.state_dict()
    bad = dict(state)
    del bad["0.bias"]
    bad["9.weight"] = np.zeros(1, dtype=np.float32)
    with pytest.raises(ValueError, match=r"missing entries \['0.bias'\]; unexpected entries \['9.weight'\]"):
        model.load_state_dict(bad)
    bad = dict(state, **{"2.weight": np.zeros((4, 1), dtype=np.float32)})
    with pytest.raises(ValueError, match=r"'2.weight' has shape \(4, 1\), expected \(3, 1\)"):
        model.load_state_dict(bad)
    bad = dict(state, **{"2.weight": np.zeros((3, 1))})
    with pytest.raises(TypeError, match="'2.weight' has dtype float64, expected float32"):
        model.load_state_dict(bad)
    with pytest.raises(ValueError, match=r"unexpected entries \['x', 5\]"):  # keys of mixed types, named all the same
        model.load_state_dict({**state, 5: 1, "x": 2})
    for bad, what in [(None, "NoneType"), (list(state.items()), "list")]:
        with pytest.raises(TypeError, match=f"takes a dict of arrays by name .* got {what}"):
            model.load_state_dict(bad)
    for value, what in [([[0.0]] * 3, "list"), (1.0, "float")]:
        with pytest.raises(TypeError, match=f"'2.weight' must be an array, got {what}"):
            model.load_state_dict(dict(state, **{"2.weight": value}))


def test_same_seed_gives_bit_identical_parameters_and_another_seed_does_not():
    def build(seed):
        minigan.seed(seed)
        return [p.numpy() for p in nn.mlp([3, 16, 16, 2]).parameters()]

    first, again, other = build(7), build(7), build(8)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not np.array_equal(first[0], other[0])


@settings(max_examples=15)
@given(
    sizes=st.lists(st.integers(1, 5), min_size=5, max_size=6),  # ≥ 4 hidden layers: all four activations
    batch=st.integers(1, 6),
    seed=st.integers(0, 2**16),
)
def test_whole_mlp_gradient_through_bce_with_logits(xp, sizes, batch, seed):
    """d(loss)/d(every parameter and the input), for an MLP using every activation."""
    rng = np.random.default_rng(seed)
    layers = []
    activations = [nn.ReLU(), nn.LeakyReLU(0.1), nn.Tanh(), nn.Sigmoid()]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        linear = nn.Linear(n_in, n_out, dtype="float64", rng=rng)
        linear.bias.data[...] = backend.asarray(rng.normal(0, 0.5, n_out))  # no pre-activation sits at a kink
        layers += [linear, activations[i % 4]]
    model = nn.Sequential(*layers, nn.Linear(sizes[-1], 1, dtype="float64", rng=rng))
    x = Tensor(backend.asarray(rng.standard_normal((batch, sizes[0]))), requires_grad=True)
    targets = backend.asarray(rng.integers(0, 2, (batch, 1)).astype(np.float64))
    # the checker perturbs its inputs in place, so passing the parameters themselves is enough
    check_grad(lambda x, *params: losses.bce_with_logits(model(x), targets), [x, *model.parameters()])


def test_maxout_is_the_largest_of_its_pieces_per_unit():
    layer = nn.Maxout(3, units=2, pieces=4, dtype="float64", rng=np.random.default_rng(0))
    x = np.random.default_rng(1).normal(size=(5, 3))
    scores = x @ layer.weight.numpy() + layer.bias.numpy()  # (5, 8): unit 0's pieces, then unit 1's
    np.testing.assert_allclose(layer(Tensor(x)).numpy(), scores.reshape(5, 2, 4).max(axis=2), rtol=1e-15)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]


def test_maxout_gradient_matches_central_differences():
    layer = nn.Maxout(3, units=2, pieces=3, dtype="float64", rng=np.random.default_rng(0))
    x = leaf(np.random.default_rng(1).normal(size=(4, 3)))
    check_grad(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])


def test_dropout_drops_and_rescales_while_training_and_passes_through_in_evaluation():
    layer = nn.Dropout(0.25, rng=np.random.default_rng(0))
    x = Tensor(np.ones((200, 50)), requires_grad=True)
    y = layer(x)
    kept = y.numpy() != 0
    assert set(np.unique(y.numpy())) == {0.0, 1 / 0.75}  # dropped, or scaled by 1/(1 - p)
    assert abs(kept.mean() - 0.75) < 0.01  # 10,000 draws: the kept share is 0.75 within 3σ ≈ 0.013
    y.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), y.numpy())  # gy · mask / (1 - p), with gy = 1
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match="Dropout: p must be in"):
        nn.Dropout(1.0)


def test_train_and_eval_reach_every_nested_module_and_evaluating_restores_the_mode():
    net = nn.Sequential(nn.Linear(2, 3), nn.Dropout(0.5), nn.Sequential(nn.Dropout(0.5)))
    assert net.eval() is net
    assert not any(m.training for m in (net, *net.layers, net.layers[2].layers[0]))
    net.train()
    with nn.evaluating(net):
        assert not net.layers[2].layers[0].training
    assert net.layers[2].layers[0].training


def test_spectral_norm_linear_divides_its_weight_by_the_largest_singular_value():
    rng = np.random.default_rng(0)
    layer = SpectralNormLinear(6, 4, dtype="float64", rng=rng)
    layer.weight.data[...] = rng.normal(size=(6, 4)) * 3.0
    x = Tensor(rng.normal(size=(5, 6)))
    for _ in range(50):  # power iteration: one step per forward pass in training mode
        layer(x)
    sigma = np.linalg.norm(layer.weight.numpy(), 2)
    expected = x.numpy() @ (layer.weight.numpy() / sigma) + layer.bias.numpy()
    np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-9)
    u = layer.u.numpy().copy()
    with nn.evaluating(layer):
        np.testing.assert_allclose(layer(x).numpy(), expected, rtol=1e-9)
    np.testing.assert_array_equal(layer.u.numpy(), u)  # evaluation leaves u (and v) where they were
    # the weight the layer uses, W/σ̂ with σ̂ = u W v from its own u and v, stretches its input by at most 1
    estimate = layer.u.numpy() @ layer.weight.numpy() @ layer.v.numpy()
    assert np.linalg.norm(layer.weight.numpy() / estimate, 2) == pytest.approx(1.0, rel=1e-9)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_spectral_norm_linear_starts_near_sigma_and_keeps_its_dtype(dtype):
    rng = np.random.default_rng(3)
    layer = SpectralNormLinear(30, 20, dtype=dtype, rng=rng)  # 15 power-iteration steps when made
    sigma = np.linalg.norm(layer.weight.numpy().astype(np.float64), 2)
    x = Tensor(rng.normal(size=(4, 30)).astype(dtype))
    with nn.evaluating(layer):
        y = layer(x)
    assert y.dtype == layer.u.dtype == layer.v.dtype == np.dtype(dtype)
    estimate = float(layer.u.numpy() @ layer.weight.numpy() @ layer.v.numpy())
    assert 0.95 * sigma < estimate <= sigma * (1 + 1e-5)  # power iteration approaches σ from below
    np.testing.assert_allclose(y.numpy(), x.numpy() @ layer.weight.numpy() / estimate + layer.bias.numpy(),
                               rtol=1e-5 if dtype == "float32" else 1e-12)


def test_spectral_norm_linear_gradients_treat_u_and_v_as_constants():
    rng = np.random.default_rng(1)
    layer = SpectralNormLinear(5, 3, dtype="float64", rng=rng)
    for _ in range(3):
        layer(Tensor(rng.normal(size=(2, 5))))
    x = leaf(rng.normal(size=(4, 5)))
    with nn.evaluating(layer):  # u fixed, so central differences see the function backprop differentiates
        check_grad(lambda x, w, b: layer(x), [x, layer.weight, layer.bias])
        check_gradgrad(lambda x, w, b: ops.tanh(layer(x)), [x, layer.weight, layer.bias])


def test_spectral_norm_linear_keeps_u_and_v_in_its_state_and_a_graph_keeps_the_ones_it_was_built_with():
    rng = np.random.default_rng(2)
    layer = SpectralNormLinear(4, 3, dtype="float64", rng=rng, name="D.0")
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]  # u and v are not learned
    assert [name for name, _ in layer.named_buffers()] == ["u", "v"]
    x = Tensor(rng.normal(size=(3, 4)))
    layer(x)
    state = layer.state_dict()
    assert sorted(state) == ["bias", "u", "v", "weight"]
    twin = SpectralNormLinear(4, 3, dtype="float64", rng=np.random.default_rng(9), name="D.0")
    twin.load_state_dict(state)
    y, y_twin = layer(x), twin(x)  # the same state, so the same power-iteration step and output
    np.testing.assert_array_equal(y.numpy(), y_twin.numpy())
    layer(x)  # moves u and v on before y's backward pass: y must still use the ones it was built with
    np.testing.assert_array_equal(weight_grad(layer, y), weight_grad(twin, y_twin))
    with pytest.raises(ValueError, match=r"missing entries \['u', 'v'\]"):
        layer.load_state_dict({"weight": state["weight"], "bias": state["bias"]})
    with pytest.raises(ValueError, match=r"'u' has shape \(3,\), expected \(4,\)"):
        layer.load_state_dict({**state, "u": state["u"][:3]})
    with pytest.raises(TypeError, match=r"'v' has dtype float32, expected float64"):
        layer.load_state_dict({**state, "v": state["v"].astype(np.float32)})


def weight_grad(layer, y):
    layer.zero_grad()
    (y * y).sum().backward()
    return layer.weight.grad.numpy().copy()
