"""A plain MLP run as one op (minigan.fast.mlp) equals the same MLP run op by op: values and
gradients bit for bit, frozen layers, inputs with and without a gradient, float32 and float64,
whole training runs; and everything it does not cover is left to the plain path."""

import threading

import numpy as np
import pytest

import minigan
from minigan import Tensor, grad, nn, optim
from minigan.app import presets
from minigan.fast import mlp as fast_mlp


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
        with fast_mlp.fusing(fused):
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
    with dropout (plain) beside its G (fused), and WGAN-GP (left plain: its penalty differentiates D twice)."""
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
        nn.Sequential(nn.Standardize(np.zeros(3), np.ones(3)), nn.Linear(3, 2)),
        nn.Sequential(nn.Linear(3, 2), nn.LeakyReLU(0.0)),  # slope 0 is relu: the plain op decides
        nn.Sequential(),
    ]
    with fast_mlp.fusing():
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
    with fast_mlp.fusing(), pytest.raises((ValueError, TypeError), match=error):
        net(Tensor(bad_input))


def test_a_weight_replaced_by_one_of_another_shape_gets_the_plain_error():
    net = nn.mlp([3, 4, 1], name="D")
    net.layers[0].weight = nn.Parameter(np.ones((3, 5), np.float32), name="D.0.weight")
    with fast_mlp.fusing(), pytest.raises(ValueError, match=r"linear: bias of shape \(4,\) does not match weight of shape \(3, 5\)"):
        net(Tensor(np.ones((2, 3), np.float32)))


def test_layers_that_do_not_chain_get_the_plain_error():
    net = nn.Sequential(nn.Linear(3, 2, name="a"), nn.ReLU(), nn.Linear(4, 1, name="b"))
    with fast_mlp.fusing(), pytest.raises(ValueError, match=r"Linear 'b'\(4 -> 1\) expected input of shape \(batch, 4\)"):
        net(Tensor(np.ones((2, 3), np.float32)))


def test_a_graph_whose_weights_changed_is_refused_as_on_the_plain_path():
    net = nn.mlp([3, 4, 1], name="D")
    opt = optim.Adam(net.parameters())
    with fast_mlp.fusing():
        loss = net(Tensor(np.ones((2, 3), np.float32))).sum()
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"tensor 'D\.\d\.(weight|bias)', an input of FusedMLP, was changed in place"):
        loss.backward()


def test_a_layer_frozen_after_the_graph_was_built_still_gets_its_gradient():
    """As on the plain path, what counts is the moment the graph is built (nn.frozen)."""
    net = nn.mlp([3, 4, 1], name="D")
    with fast_mlp.fusing():
        loss = net(Tensor(np.ones((2, 3), np.float32))).sum()
        with nn.frozen(net):
            loss.backward()
    assert all(p.grad is not None for p in net.parameters())


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "tanh", "sigmoid"])
def test_second_order_through_a_fused_mlp_is_the_plain_graphs(activation):
    """A gradient penalty on a fused MLP: the backward pass is recorded, so the op differentiates
    the plain graph rebuilt on its inputs. The weights' gradients are the same sums, added in
    another order, so they agree to float64 rounding, not bit for bit (GAN.train_step leaves
    WGAN-GP on the plain path for that reason)."""
    rng = np.random.default_rng(2)
    x_host = rng.standard_normal((6, 5))
    results = []
    for fused in (False, True):
        net = _net(activation, None, "float64")
        x = Tensor(x_host, requires_grad=True)
        with fast_mlp.fusing(fused):
            (gx,) = grad(net(x).sum(), [x], create_graph=True)
            penalty = ((gx * gx).sum(axis=1) - 1.0) ** 2
            penalty.mean().backward()
        results.append([x.grad] + [p.grad for p in net.parameters()])  # x.grad: None through ReLU's masks alone
    for a, b in zip(*results, strict=True):
        assert (a is None) == (b is None)
        if a is not None:
            np.testing.assert_allclose(a.data, b.data, rtol=1e-12, atol=1e-15)


def test_fusing_is_per_thread_and_off_outside_its_block():
    net = nn.mlp([3, 4, 1])
    x = Tensor(np.ones((2, 3), np.float32), requires_grad=True)
    seen = []
    with fast_mlp.fusing():
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
