"""What a PyTorch user expects: printing shows values and structure, the usual Tensor
methods exist, ``==`` is elementwise, parameter names match layer names."""

import numpy as np
import pytest

from minigan import Tensor, data, gan, grad, nn, ops, optim

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
    with pytest.raises(TypeError, match="only floating-point tensors can require gradients"):
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
