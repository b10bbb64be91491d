"""A plain MLP run as one op (minigan.fast.mlp) equals the same MLP run op by op: values and
gradients bit for bit, frozen layers, inputs with and without a gradient, float32 and float64,
whole training runs; and everything it does not cover is left to the plain path."""

import threading

import numpy as np
import pytest

import minigan
from minigan.spectral import SpectralNormLinear
from minigan import Tensor, grad, gradcheck, nn, ops, optim
from minigan.app import presets
from minigan.fast import mlp as fast_mlp
from minigan.fast.switch import fusing


def _bits(array) -> bytes:
    return np.ascontiguousarray(array).tobytes()  # equal bytes: equal values, signs of zeros and NaNs included


def _net(activation, output_activation, dtype, seed=0, outputs=3):
    return nn.mlp([5, 7, 6, outputs], activation=activation, output_activation=output_activation, dtype=dtype,
                  rng=np.random.default_rng(seed), name="net")


def _run(net, x_host, weights_host, fused, x_needs_grad, frozen_layers=()):
    """y = net(x) and the gradients of Σ y ⊙ weights, with the graph built inside fusing() or not."""
    x = Tensor(x_host, requires_grad=x_needs_grad)
    for p in net.parameters():
        p.grad = None
    frozen = [p for i in frozen_layers for p in (net.layers[i].weight, net.layers[i].bias)]
    for p in frozen:
        p.requires_grad = False
    try:
        with fusing(fused):
            y = net(x)
    finally:
        for p in frozen:
            p.requires_grad = True
    assert (type(y.creator).__name__ == "FusedMLP") == fused
    (y * Tensor(weights_host)).sum().backward()
    return y.data, x.grad, [p.grad for p in net.parameters()]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
@pytest.mark.parametrize("output_activation", [None, "tanh", "sigmoid"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("outputs", [3, 1])
@pytest.mark.parametrize("x_needs_grad, frozen_layers", [(False, ()), (True, ()), (True, (0, 2, 4)), (False, (0,)),
                                                         (False, (2,)), (True, (4,))])
def test_the_fused_mlp_gives_the_plain_values_and_gradients_bit_for_bit(activation, output_activation, dtype, outputs,
                                                                          x_needs_grad, frozen_layers):
    """One output (a discriminator's) too: its gradient's outer product is computed by broadcasting."""
    rng = np.random.default_rng(1)
    net = _net(activation, output_activation, dtype, outputs=outputs)
    x = rng.standard_normal((9, 5)).astype(dtype) * 3
    x[0, :2] = 0.0  # pre-activations at exactly 0 too, where ReLU's mask decides
    weights = rng.standard_normal((9, outputs)).astype(dtype)
    weights[:2] = [[0.0], [-0.0]] if outputs == 1 else weights[:2]  # zero gradients of both signs
    net.layers[-1 if output_activation is None else -2].weight.data[:2] = -0.0
    net.layers[0].bias.data[...] = 0.0
    plain = _run(net, x, weights, False, x_needs_grad, frozen_layers)
    fused = _run(net, x, weights, True, x_needs_grad, frozen_layers)
    assert _bits(fused[0]) == _bits(plain[0])
    assert (fused[1] is None) == (plain[1] is None) == (not x_needs_grad)
    if x_needs_grad:
        assert _bits(fused[1].data) == _bits(plain[1].data)
    for name_param, a, b in zip(net.named_parameters(), fused[2], plain[2], strict=True):
        assert (a is None) == (b is None), name_param[0]
        assert a is None or _bits(a.data) == _bits(b.data), name_param[0]
    frozen_names = {f"{i}.{kind}" for i in frozen_layers for kind in ("weight", "bias")}
    assert {name for (name, _), g in zip(net.named_parameters(), fused[2]) if g is None} == frozen_names


@pytest.mark.parametrize("zero", [0.0, -0.0])
@pytest.mark.parametrize("sizes", [[4, 1], [4, 3, 1]])
def test_a_gradient_of_zeros_gets_the_signs_of_the_plain_path(zero, sizes):
    """Through a one-output layer, where the fused op multiplies by broadcasting: -0 · w is -0 there
    but +0 in matmul's sum; the fused op must give matmul's +0."""
    net = nn.mlp(sizes, activation="tanh", rng=np.random.default_rng(3), dtype="float64")
    x = np.random.default_rng(4).standard_normal((5, 4))
    weights = np.full((5, 1), zero)
    results = [_run(net, x, weights, fused, x_needs_grad=True) for fused in (False, True)]
    assert _bits(results[1][1].data) == _bits(results[0][1].data)
    for a, b in zip(results[1][2], results[0][2], strict=True):
        assert _bits(a.data) == _bits(b.data)


@pytest.mark.parametrize("slope", [1e-6, 0.01, 0.1, 0.2, 1 / 3, 0.3, 0.49, 0.5, 0.7, 0.999999])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_leaky_relus_backward_gives_the_plain_numbers_for_any_slope(slope, dtype):
    """On gradients of every sign and size, zeros of both signs, infinities and NaN, at pre-activations
    of both signs, zero, infinite and NaN."""
    rng = np.random.default_rng(8)
    a = np.concatenate([rng.standard_normal(40), [0.0, -0.0, 1e-300, -1e-300, np.inf, -np.inf, np.nan]]).astype(dtype)
    g = np.concatenate([rng.standard_normal(40) * 10.0 ** rng.integers(-30, 30, 40), [0.0, -0.0, np.inf, -np.inf,
                        np.nan, 1.0, -1.0]]).astype(dtype)
    plain = ops.LeakyReLU(slope)
    x = Tensor(a, requires_grad=True)
    plain(x).backward(Tensor(g))
    assert _bits(fast_mlp.activation_backward(ops.LeakyReLU(slope), g, a, None)) == _bits(x.grad.data)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_relus_backward_gives_the_plain_numbers_on_special_values(dtype):
    """g times the mask (as 1.0 or 0.0): zeros keep their sign and NaN and inf stay, as in the plain op."""
    a = np.array([1.0, 2.0, -1.0, 0.0, -0.0, np.inf, -np.inf, np.nan, 3.0, -3.0, 5.0], dtype=dtype)
    g = np.array([-0.0, -2.0, -1.0, 4.0, -4.0, -0.0, np.nan, 1.0, np.inf, -np.inf, np.nan], dtype=dtype)
    x = Tensor(a, requires_grad=True)
    with np.errstate(invalid="ignore"):
        ops.ReLU()(x).backward(Tensor(g))
        assert _bits(fast_mlp.activation_backward(ops.ReLU(), g, a, None)) == _bits(x.grad.data)


@pytest.mark.parametrize("activation", [ops.ReLU, lambda: ops.LeakyReLU(0.2), ops.Tanh, ops.Sigmoid])
def test_the_fused_mlps_gradients_match_float64_central_differences(activation):
    """The fused op checked on its own, as every op is (gradcheck), not only against the plain path."""
    rng = np.random.default_rng(6)
    sizes = [3, 4, 2]
    params = [t for n_in, n_out in zip(sizes[:-1], sizes[1:])
              for t in (Tensor(rng.standard_normal((n_in, n_out)), requires_grad=True),
                        Tensor(rng.standard_normal(n_out), requires_grad=True))]
    x = Tensor(rng.standard_normal((5, 3)), requires_grad=True)
    gradcheck.check_grad(lambda x, *p: fast_mlp.FusedMLP([activation(), ops.Tanh()])(x, *p), [x, *params])


def _count_fused_ops(monkeypatch) -> list:
    """A list that grows by one for each FusedMLP op made from now on."""
    made, original = [], fast_mlp.FusedMLP.__init__

    def counted(self, *args):
        made.append(1)
        original(self, *args)

    monkeypatch.setattr(fast_mlp.FusedMLP, "__init__", counted)
    return made


def _train(preset, fused, steps, **overrides):
    model, _ = presets.build(preset, seed=3, **overrides)
    model.fused_networks = fused
    records = [model.train_step() for _ in range(steps)]
    return records, [p.data.copy() for p in model.G.parameters() + model.D.parameters()]


@pytest.mark.parametrize("preset, overrides", [
    ("ring", {}), ("ring", {"loss": "minimax"}), ("ring", {"loss": "least_squares"}),
    ("ring", {"loss": "max_likelihood", "k": 2, "real_label_smoothing": 0.1}), ("ring", {"dtype": "float64"}),
    ("ring", {"loss": "wgan_gp"}), ("gaussian", {}), ("digits", {}), ("mnist", {"batch_size": 16}),
])
def test_training_runs_are_the_same_with_the_fused_mlp_and_without(preset, overrides, monkeypatch):
    """Every record and every weight after several steps, bit for bit: D scored on real and fake
    batches (two uses of its weights), k D-steps, a frozen D in the G-step, the mnist preset's D
    (spectrally normalised: plain) beside its G (fused), and WGAN-GP (left plain: its penalty differentiates D twice)."""
    plain_records, plain_weights = _train(preset, False, 8, **overrides)
    made = _count_fused_ops(monkeypatch)
    fused_records, fused_weights = _train(preset, True, 8, **overrides)
    assert fused_records == plain_records
    for a, b in zip(fused_weights, plain_weights, strict=True):
        assert _bits(a) == _bits(b)
    assert (len(made) > 0) == (overrides.get("loss") != "wgan_gp")  # the fused path did run where it should


def test_anything_but_linear_layers_and_known_activations_runs_op_by_op():
    minigan.seed(0)
    x = Tensor(np.ones((4, 3), np.float32))
    networks = [
        nn.Sequential(nn.Dropout(0.5), nn.Linear(3, 2)),
        nn.Sequential(nn.Maxout(3, 2, 2)),
        nn.Sequential(SpectralNormLinear(3, 2)),  # a Linear, but its weight is W/σ: fused, it would lose σ
        nn.Sequential(nn.Standardize(np.zeros(3), np.ones(3)), nn.Linear(3, 2)),
        nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.0)),  # slope 0 is relu: the plain op decides
        nn.Sequential(),
    ]
    with fusing():
        for net in networks:
            y = net(x)
            assert y is x or type(y.creator).__name__ != "FusedMLP", net


@pytest.mark.parametrize("bad_input, error", [
    (np.ones((4, 2), np.float32), r"Linear 'G\.0'\(3 -> 2\) expected input of shape \(batch, 3\)"),
    (np.ones((4, 3), np.float64), r"Linear 'G\.0'\(3 -> 2\) has float32 parameters but got a float64 input"),
    (np.ones(3, np.float32), r"expected input of shape \(batch, 3\), got \(3,\)"),
])
def test_an_input_the_plain_layers_refuse_gets_their_own_error(bad_input, error):
    net = nn.mlp([3, 2, 1], name="G")
    with fusing(), pytest.raises((ValueError, TypeError), match=error):
        net(Tensor(bad_input))


def test_a_weight_replaced_by_one_of_another_shape_gets_the_plain_error():
    net = nn.mlp([3, 4, 1], name="D")
    net.layers[0].weight = nn.Parameter(np.ones((3, 5), np.float32), name="D.0.weight")
    with fusing(), pytest.raises(ValueError, match=r"linear: bias of shape \(4,\) does not match weight of shape \(3, 5\)"):
        net(Tensor(np.ones((2, 3), np.float32)))


def test_layers_that_do_not_chain_get_the_plain_error():
    net = nn.Sequential(nn.Linear(3, 2, name="a"), nn.ReLU(), nn.Linear(4, 1, name="b"))
    with fusing(), pytest.raises(ValueError, match=r"Linear 'b'\(4 -> 1\) expected input of shape \(batch, 4\)"):
        net(Tensor(np.ones((2, 3), np.float32)))


def test_a_graph_whose_weights_changed_is_refused_as_on_the_plain_path():
    net = nn.mlp([3, 4, 1], name="D")
    opt = optim.Adam(net.parameters())
    with fusing():
        loss = net(Tensor(np.ones((2, 3), np.float32))).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"tensor 'D\.\d\.(weight|bias)', an input of FusedMLP, was changed in place"):
        loss.backward()


def test_a_layer_frozen_after_the_graph_was_built_still_gets_its_gradient():
    """As on the plain path, what counts is the moment the graph is built (nn.frozen)."""
    gradients = []
    for fused in (False, True):
        net = nn.mlp([3, 4, 1], name="D", rng=np.random.default_rng(0))
        with fusing(fused):
            loss = (net(Tensor(np.linspace(-1, 1, 6, dtype=np.float32).reshape(2, 3))) ** 2).sum()
        with nn.frozen(net):
            loss.backward()
        gradients.append([p.grad.data for p in net.parameters()])
    for a, b in zip(*gradients, strict=True):
        assert _bits(a) == _bits(b)


def test_a_graph_backpropagated_twice_and_gradients_edited_in_place_match_the_plain_path():
    """retain_graph=True, a second backward() adding to .grad, a .grad clipped in place between them."""
    results = []
    for fused in (False, True):
        net = _net("leaky_relu", "tanh", "float32")
        x = Tensor(np.random.default_rng(5).standard_normal((4, 5)).astype(np.float32), requires_grad=True)
        with fusing(fused):
            loss = (net(x) ** 2).sum()
        loss.backward(retain_graph=True)
        for p in net.parameters():
            np.clip(p.grad.data, -0.01, 0.01, out=p.grad.data)
        loss.backward()
        results.append([x.grad.data] + [p.grad.data for p in net.parameters()])
    for a, b in zip(*results, strict=True):
        assert _bits(a) == _bits(b)


def test_a_weight_used_twice_in_one_network_runs_op_by_op():
    """A repeated layer or tied weights would give those weights three gradients or more in a
    training step, whose sum the fused op might add in another order: left to the plain path."""
    minigan.seed(0)
    shared = nn.Linear(3, 3)
    tied = nn.Sequential(nn.Linear(3, 3), nn.Tanh(), nn.Linear(3, 3))
    tied.layers[2].weight = tied.layers[0].weight
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with fusing():
        for net in (nn.Sequential(shared, nn.Tanh(), shared), tied):
            assert type(net(x).creator).__name__ == "Linear"
        activation = nn.Tanh()  # one activation object used twice is fine: it holds no weights
        assert type(nn.Sequential(nn.Linear(3, 3), activation, nn.Linear(3, 3), activation)(x).creator).__name__ == "FusedMLP"


def test_a_layer_given_a_forward_of_its_own_runs_it():
    net = nn.mlp([3, 4, 1], name="D")
    net.layers[1].forward = lambda h: h * 2.0  # a user's experiment on one layer object
    x = Tensor(np.full((2, 3), -1.0, np.float32))
    with fusing():
        y = net(x)
    np.testing.assert_array_equal(y.data, net.layers[2](net.layers[0](x) * 2.0).data)


def test_a_fused_graph_refuses_to_be_differentiated_twice():
    """Second order (a gradient penalty) is the plain graph's business: a clear error, never a number."""
    net = nn.mlp([3, 4, 1], name="D")
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    with fusing():
        y = net(x)
    with pytest.raises(RuntimeError, match=r"cannot be differentiated twice \(create_graph=True\); build that graph "
                                           r"outside fusing\(\)"):
        grad((y * y).sum(), [x], create_graph=True)


def test_fusing_is_per_thread_and_off_outside_its_block():
    net = nn.mlp([3, 4, 1])
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    seen = []
    with fusing():
        seen.append(type(net(x).creator).__name__)
        other = threading.Thread(target=lambda: seen.append(type(net(x).creator).__name__))
        other.start()
        other.join()
    seen.append(type(net(x).creator).__name__)
    assert seen == ["FusedMLP", "Linear", "Linear"]


def test_a_gan_with_fused_networks_off_builds_its_training_graph_op_by_op(monkeypatch):
    made = _count_fused_ops(monkeypatch)
    model, _ = presets.build("ring", seed=0)
    model.fused_networks = False
    model.train_step()
    assert made == []
    model.fused_networks = True
    model.train_step()
    assert made
    made.clear()
    model.d_step()  # called by hand, outside train_step: op by op, as a learner traces it
    model.g_step()
    assert made == []
