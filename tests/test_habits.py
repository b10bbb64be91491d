"""What a PyTorch user expects: printing shows values and structure, the usual Tensor
methods exist, ``==`` is elementwise, parameter names match layer names."""

import numpy as np
import pytest

from minigan import Tensor, data, gan, grad, is_grad_enabled, nn, no_grad, ops, optim

from strategies import leaf


# ----------------------------------------------------------------------------- printing


def test_a_tensor_prints_its_values_and_dtype():
    assert repr(Tensor(np.array([1.5, -2.0]))) == "tensor([ 1.5, -2. ], dtype=float64)"
    assert repr(Tensor(np.float32(3.0))) == "tensor(3., dtype=float32)"


def test_a_tensor_in_a_graph_prints_requires_grad_and_its_creator():
    x = Tensor(np.array([[1.0, 2.0], [3.0, 4.0]]), requires_grad=True)
    assert repr(x * 2.0) == (
        "tensor([[2., 4.],\n"
        "        [6., 8.]], dtype=float64, requires_grad=True, creator=Mul)"
    )


def test_a_gradient_prints_its_numbers():
    x = leaf([1.0, 2.0])
    (x * x).sum().backward()  # d/dx Σx² = 2x
    assert repr(x.grad) == "tensor([2., 4.], dtype=float64)"


def test_a_large_tensor_is_abridged_as_numpy_abridges_it():
    text = repr(Tensor(np.arange(10_000, dtype=np.float32)))
    assert text == ("tensor([0.000e+00, 1.000e+00, 2.000e+00, ..., 9.997e+03, 9.998e+03,\n"
                    "        9.999e+03], dtype=float32)")  # NumPy's threshold: 1,000 elements


def test_a_module_prints_its_layers_one_per_line_nested():
    class Critic(nn.Module):
        def __init__(self):
            self.body = nn.mlp([2, 3, 1], name="D")
            self.heads = [nn.Sigmoid()]

    assert repr(Critic()) == (
        "Critic(\n"
        "  (body): Sequential(\n"
        "    (0): Linear 'D.0'(2 -> 3)\n"
        "    (1): LeakyReLU(0.2)\n"
        "    (2): Linear 'D.2'(3 -> 1)\n"
        "  )\n"
        "  (heads.0): Sigmoid()\n"
        ")"
    )


def test_an_optimiser_prints_its_settings():
    params = nn.Linear(2, 3).parameters()
    assert repr(optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))) == (
        "Adam(lr=0.0002, betas=(0.5, 0.999), eps=1e-08; 2 parameters)"
    )
    assert repr(optim.SGD(params, lr=0.1, momentum=0.9)) == "SGD(lr=0.1, momentum=0.9; 2 parameters)"


def test_a_gan_prints_its_networks_optimisers_data_and_settings():
    ring = data.ring()
    model = gan.GAN(*gan.make_networks(ring, latent_dim=2, hidden=4, depth=1), ring)
    text = repr(model)
    assert text.startswith("GAN(\n  G=Sequential(\n    (0): Linear 'G.0'(2 -> 4)\n")
    for line in ("  D=Sequential(", "    (2): Linear 'D.2'(4 -> 1)", f"  opt_g={model.opt_g!r}",
                 f"  opt_d={model.opt_d!r}", f"  data={ring!r}", f"  config={model.config!r}", "  step=0"):
        assert line in text.splitlines()


# ----------------------------------------------------------------------------- names


def test_parameter_names_are_the_layer_names():
    G = nn.mlp([2, 4, 4, 2], name="G")
    names = [name for name, _ in G.named_parameters()]
    assert names == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    for name, p in G.named_parameters():  # layer i is 'G.i'; its parameters 'G.i.weight', 'G.i.bias'
        assert p.name == f"G.{name}"
        assert G.layers[int(name.split(".")[0])].name == p.name.rsplit(".", 1)[0]
    assert list(G.state_dict()) == names


def test_a_standardising_first_layer_is_counted_in_the_layer_names():
    # make_networks(standardize=True) puts a Standardize in front of D's first Linear
    _, D = gan.make_networks(data.make("grid"), latent_dim=2, hidden=4, standardize=True)
    assert isinstance(D.layers[0], nn.Standardize)
    for name, p in D.named_parameters():  # '1.weight' belongs to the layer named 'D.1'
        assert p.name == f"D.{name}" == f"{D.layers[int(name.split('.')[0])].name}.{name.split('.')[1]}"


# ----------------------------------------------------------------------------- methods


@pytest.mark.parametrize("method", ["exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu"])
def test_elementwise_functions_are_tensor_methods(method):
    x = leaf([0.5, 2.0])
    y = getattr(x, method)()
    np.testing.assert_array_equal(y.numpy(), getattr(ops, method)(x).numpy())
    assert type(y.creator) is type(getattr(ops, method)(x).creator)


def test_builtin_abs_and_clip_work_on_tensors():
    x = leaf([-2.0, 0.5, 3.0])
    np.testing.assert_array_equal(abs(x).numpy(), [2.0, 0.5, 3.0])
    np.testing.assert_array_equal(x.clip(-1.0, 1.0).numpy(), [-1.0, 0.5, 1.0])


def test_requires_grad_underscore_sets_the_flag_in_place_and_returns_the_tensor():
    x = Tensor(np.ones(2))
    assert x.requires_grad_() is x and x.requires_grad
    assert x.requires_grad_(False) is x and not x.requires_grad
    with pytest.raises(TypeError, match="only float32 and float64 tensors can require gradients"):
        Tensor(np.arange(2)).requires_grad_()


def test_module_requires_grad_underscore_sets_every_parameter_and_returns_the_module():
    D = nn.mlp([2, 3, 1])
    assert D.requires_grad_(False) is D
    assert not any(p.requires_grad for p in D.parameters())
    logits = D(Tensor(np.ones((1, 2), dtype=np.float32), requires_grad=True))
    logits.sum().backward()
    assert all(p.grad is None for p in D.parameters())  # no gradient for a frozen D's weights
    assert D.requires_grad_() is D and all(p.requires_grad for p in D.parameters())


# ----------------------------------------------------------------------------- equality


def test_equality_is_elementwise_like_the_other_comparisons():
    a, b = Tensor(np.array([1.0, 2.0, 3.0])), Tensor(np.array([1.0, 0.0, 3.0]))
    np.testing.assert_array_equal(a == b, [True, False, True])
    np.testing.assert_array_equal(a != b, [False, True, False])
    np.testing.assert_array_equal(a == 2.0, [False, True, False])


def test_tensors_with_equal_values_stay_distinct_in_sets_dicts_and_gradients():
    a, b = leaf([1.0, 2.0]), leaf([1.0, 2.0])  # equal values, two tensors
    assert len({a, b}) == 2 and {a: "a", b: "b"}[b] == "b"  # hashed by identity
    loss = (a * 3.0 + b * 5.0).sum()
    grad_a, grad_b = grad(loss, [a, b], retain_graph=True)
    np.testing.assert_array_equal(grad_a.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(grad_b.numpy(), [5.0, 5.0])
    loss.backward()
    np.testing.assert_array_equal(a.grad.numpy(), [3.0, 3.0])
    np.testing.assert_array_equal(b.grad.numpy(), [5.0, 5.0])


# ----------------------------------------------------------------------------- Python's protocols, as PyTorch answers


def test_the_truth_of_a_tensor_is_its_one_value_and_ambiguous_for_more():
    assert not Tensor(np.array([0.0])) and Tensor(np.array([2.0]))
    assert not Tensor(np.float32(0.0))
    for many in (np.zeros(3), np.zeros((0,))):
        with pytest.raises(ValueError, match="ambiguous"):
            bool(Tensor(many))
    assert float(Tensor(np.array([[2.5]]))) == 2.5 and int(Tensor(np.array([7.0]))) == 7


def test_iterating_gives_rows_in_the_graph_and_a_0d_tensor_refuses():
    x = leaf(np.arange(6.0).reshape(3, 2))
    rows = list(x)
    assert [r.shape for r in rows] == [(2,)] * 3
    sum(r.sum() for r in rows).backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.ones((3, 2)))
    for call in (lambda: iter(Tensor(np.float64(1.0))), lambda: len(Tensor(np.float64(1.0)))):
        with pytest.raises(TypeError, match="0-d tensor"):
            call()


def test_numpy_asarray_gives_the_numbers_and_refuses_a_tensor_that_requires_grad():
    values = np.asarray(Tensor(np.array([1.0, 2.0], dtype=np.float32)))
    assert values.dtype == np.float32 and values.tolist() == [1.0, 2.0]
    with pytest.raises(TypeError, match=r"requires grad into a NumPy array; use t.detach\(\).numpy\(\)"):
        np.asarray(leaf([1.0]))


def test_no_grad_in_one_thread_leaves_another_thread_recording():
    import threading

    inside, recorded = threading.Event(), {}

    def other_thread():
        inside.wait()
        x = leaf([1.0, 2.0])
        recorded["requires_grad"] = (x * x).sum().requires_grad

    worker = threading.Thread(target=other_thread)
    worker.start()
    with no_grad():
        inside.set()
        worker.join()
        assert not is_grad_enabled()
    assert recorded["requires_grad"] and is_grad_enabled()


@pytest.mark.parametrize("axis", [True, False, 1.0, "1"])
def test_an_axis_that_is_not_a_whole_number_is_refused(axis):
    x = leaf(np.ones((2, 3)))
    for reduce in (x.sum, x.mean, x.max):
        with pytest.raises(TypeError, match="an axis must be a whole number"):
            reduce(axis)


def test_leaky_relu_with_slope_zero_is_relu_even_at_infinity():
    x = Tensor(np.array([np.inf, -np.inf, -2.0, 3.0]))
    np.testing.assert_array_equal(ops.leaky_relu(x, 0.0).numpy(), [np.inf, 0.0, 0.0, 3.0])
    np.testing.assert_array_equal(ops.leaky_relu(x, 0.5).numpy(), [np.inf, -np.inf, -1.0, 3.0])


@pytest.mark.parametrize("fn", [ops.abs, ops.relu, lambda x: ops.leaky_relu(x, 0.1), lambda x: ops.clip(x, -1, 1),
                                lambda x: ops.max(x, 0)], ids=["abs", "relu", "leaky_relu", "clip", "max"])
def test_the_second_derivative_of_a_piecewise_linear_op_is_zero_not_an_error(fn):
    x = leaf([-2.0, -0.3, 0.7, 3.0])
    (first,) = grad(fn(x).sum(), [x], create_graph=True)
    assert first.requires_grad  # the step function is in the graph, with gradient 0
    (second,) = grad(first.sum(), [x])
    np.testing.assert_array_equal(second.numpy(), 0.0)


# ----------------------------------------------------------------------------- gradients a user can edit


def test_leaves_used_together_get_gradient_arrays_of_their_own():
    a, b, x = leaf([1.0, 2.0]), leaf([3.0, 4.0]), leaf([5.0, 6.0])
    ((a + b) * x).sum().backward()  # a and b receive the same gy * x
    assert a.grad.data is not b.grad.data
    a.grad.data *= 0.5  # halving one leaves the other alone
    np.testing.assert_array_equal(b.grad.numpy(), [5.0, 6.0])


def test_a_seed_array_passed_to_backward_is_copied_into_grad():
    x = leaf([1.0, 2.0])
    seed = np.array([1.0, 1.0])
    x.backward(seed)
    assert x.grad.data is not seed
    seed[0] = 100.0
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 1.0])


@pytest.mark.parametrize("make", [lambda x: x.sum(), lambda x: x.reshape(2, 2).sum(),
                                  lambda x: ops.broadcast_to(x, (3, 4)).sum(), lambda x: (x + 1.0).sum(),
                                  lambda x: x.T.sum(), lambda x: x[0:4].sum()],
                         ids=["sum", "reshape", "broadcast", "add", "transpose", "slice"])
def test_a_gradient_after_backward_can_be_clipped_in_place(make):
    x = leaf([1.0, -2.0, 3.0, -4.0])
    make(x).backward()
    expected = x.grad.numpy() * 0.5
    x.grad.data *= 0.5  # e.g. clipping by hand; a read-only or shared view would refuse or leak
    np.testing.assert_array_equal(x.grad.numpy(), expected)
