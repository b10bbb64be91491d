"""The autodiff engine: the classic bugs, graph lifetime, second order, bad input."""

import gc
import tracemalloc
import weakref

import numpy as np
import pytest

from minigan import Tensor, backend, grad, nn, no_grad, ops
from minigan.autograd import Function
from minigan.gradcheck import check_grad

from strategies import leaf


def test_shared_subexpression_gradients_add_up(xp):
    x = leaf([1.5, -2.0])
    y = (x * x + x).sum()  # dy/dx = 2x + 1: x is used three times
    y.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0, -3.0])


def test_diamond_graph_reuses_an_intermediate(xp):
    x = leaf([0.3, 0.7])
    h = ops.tanh(x)
    y = (h * h + ops.exp(h)).sum()  # h feeds two branches that meet again
    y.backward()
    t = np.tanh([0.3, 0.7])
    np.testing.assert_allclose(x.grad.numpy(), (2 * t + np.exp(t)) * (1 - t**2))


def test_bias_broadcast_over_a_batch_sums_its_gradient(xp):
    batch = leaf(np.arange(12.0).reshape(4, 3))
    bias = leaf([0.1, 0.2, 0.3])
    (batch + bias).sum().backward()
    np.testing.assert_allclose(bias.grad.numpy(), [4.0, 4.0, 4.0])  # one per row
    assert bias.grad.shape == (3,)
    check_grad(lambda b, w: ((b + w) ** 2).sum(), [leaf(np.ones((4, 3))), leaf([0.1, 0.2, 0.3])])


def test_sum_with_keepdims_keeps_the_axis_and_its_gradient_broadcasts(xp):
    x = leaf(np.arange(6.0).reshape(2, 3))
    s = x.sum(axis=1, keepdims=True)
    assert s.shape == (2, 1)
    (s * leaf([[1.0], [2.0]])).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [[1, 1, 1], [2, 2, 2]])


def test_a_chain_of_ten_thousand_ops_backpropagates_without_recursion(xp):
    x = leaf([1.0])
    y = x
    for _ in range(10_000):
        y = y * 1.0001
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [1.0001**10_000], rtol=1e-9)


def test_no_grad_records_no_graph(xp):
    x = leaf([1.0, 2.0])
    with no_grad():
        y = ops.exp(x) * 3.0
    assert y.creator is None and not y.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        y.sum().backward()


def test_one_no_grad_object_can_be_entered_again_nested_and_used_as_a_decorator_as_in_pytorch(xp):
    from minigan import is_grad_enabled

    off = no_grad()
    with off:
        assert not is_grad_enabled()
    with off:
        with off:
            assert not is_grad_enabled()
        assert not is_grad_enabled()
    assert is_grad_enabled()

    @no_grad()
    def evaluate():
        return is_grad_enabled()

    assert evaluate() is False and is_grad_enabled()


def test_a_function_decorated_with_no_grad_restores_each_threads_own_mode(xp):
    """A enters the decorated function, B enters it from inside no_grad(), A leaves while B is
    still in: each thread must get back its own mode (a stack shared by the calls would swap them)."""
    import threading

    from minigan import is_grad_enabled

    a_in, b_in, a_out = threading.Event(), threading.Event(), threading.Event()

    @no_grad()
    def inside(arrived, leave_after):
        arrived.set()
        leave_after.wait(5)

    after = {}

    def thread_a():
        inside(a_in, b_in)
        after["a"] = is_grad_enabled()
        a_out.set()

    def thread_b():
        a_in.wait(5)
        with no_grad():
            inside(b_in, a_out)
            after["b"] = is_grad_enabled()

    threads = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert after == {"a": True, "b": False}


def test_max_takes_one_axis_and_says_so_for_none_or_a_tuple(xp):
    x = leaf(np.arange(6.0).reshape(2, 3))
    for axis in (None, (0, 1)):
        with pytest.raises(ValueError, match=r"max needs one axis \(an int\)"):
            ops.max(x, axis=axis)
    assert ops.max(x, axis=0).numpy().tolist() == [3.0, 4.0, 5.0]


def test_reshape_takes_a_shape_given_as_a_numpy_array_as_numpy_does(xp):
    x = leaf(np.arange(6.0))
    assert x.reshape(np.array([3, 2])).shape == (3, 2) == ops.reshape(x, np.array([-1, 2])).shape


def test_detach_cuts_the_graph(xp):
    x = leaf([2.0])
    y = x * x
    z = (y.detach() * x).sum()  # only the direct use of x counts: dz/dx = y = 4
    z.backward()
    np.testing.assert_allclose(x.grad.numpy(), [4.0])


def test_gradients_accumulate_across_backward_calls_until_reset(xp):
    x = leaf([3.0])
    (x * 2.0).sum().backward()
    (x * 5.0).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), [7.0])


def test_graph_is_freed_after_backward_even_while_the_loss_is_held(xp):
    x = leaf(np.ones(3))
    hidden = ops.tanh(x)
    loss = (hidden * hidden).sum()
    hidden_ref = weakref.ref(hidden)
    del hidden
    assert hidden_ref() is not None  # the graph holds it until backward
    loss.backward()
    assert hidden_ref() is None
    with pytest.raises(RuntimeError, match="freed"):
        loss.backward()


def test_retain_graph_allows_a_second_backward(xp):
    x = leaf([2.0])
    loss = (x * x * x).sum()
    loss.backward(retain_graph=True)
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), [24.0])


def test_memory_stays_flat_over_many_iterations():
    w = leaf(np.random.default_rng(0).standard_normal((32, 32)))
    x = Tensor(np.ones((16, 32)))

    def step():
        loss = ops.tanh(x @ w).mean()
        loss.backward()
        w.grad = None
        return loss  # the caller keeps the loss: its graph must be gone anyway

    kept = [step() for _ in range(50)]  # warm up caches and allocator
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    kept += [step() for _ in range(500)]
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    # 500 kept loss tensors cost a few hundred bytes each; a kept graph would cost > 4 KiB each
    assert grown < 500 * 1024, f"memory grew by {grown} bytes over 500 iterations"


def test_second_order_gradient_of_a_cubic(xp):
    x = leaf([1.0, -2.0])
    (g,) = grad((x**3).sum(), [x], create_graph=True)  # 3x²
    (h,) = grad(g.sum(), [x])  # 6x
    np.testing.assert_allclose(g.numpy(), [3.0, 12.0])
    np.testing.assert_allclose(h.numpy(), [6.0, -12.0])


def test_grad_returns_gradients_without_touching_dot_grad(xp):
    x, w = leaf([1.0, 2.0]), leaf([3.0, 4.0])
    (gx,) = grad((x * w).sum(), [x])
    np.testing.assert_allclose(gx.numpy(), [3.0, 4.0])
    assert x.grad is None and w.grad is None


def test_grad_of_an_intermediate_tensor(xp):
    x = leaf([1.0, 2.0])
    hidden = x * 3.0
    (g_hidden,) = grad((hidden * hidden).sum(), [hidden])
    np.testing.assert_allclose(g_hidden.numpy(), [6.0, 12.0])


def test_grad_backpropagates_only_towards_its_targets(xp, monkeypatch):
    """grad(L, [x]) through a dense net asks no layer for its weight gradients (the
    gradient penalty's case), and skips a branch that does not lead back to x."""
    seen = []

    def record(op):
        backward = op.backward

        def recording_backward(self, gy):
            seen.append((op.__name__, self.needs_grad))
            return backward(self, gy)

        monkeypatch.setattr(op, "backward", recording_backward)

    record(ops.Linear)
    record(ops.Mul)
    x = leaf([[0.5, -1.0]])
    w1, b1, w2, b2 = leaf([[1.0, 2.0], [3.0, -4.0]]), leaf([0.1, 0.2]), leaf([[1.5], [-0.5]]), leaf([0.3])
    other = leaf([2.0])
    loss = ops.linear(ops.tanh(ops.linear(x, w1, b1)), w2, b2).sum() + (other * other).sum()
    (gx,) = grad(loss, [x], retain_graph=True)
    assert seen == [("Linear", [True, False, False])] * 2  # layer 2 then layer 1: only gX; no Mul
    seen.clear()
    loss.backward()  # the full backward pass wants every gradient
    assert sorted(seen) == [("Linear", [True, True, True])] * 2 + [("Mul", [True, True])]
    np.testing.assert_array_equal(gx.numpy(), x.grad.numpy())
    np.testing.assert_array_equal(other.grad.numpy(), [4.0])


def test_grad_of_an_input_and_of_a_tensor_made_from_it(xp):
    x = leaf([1.0, 2.0])
    hidden = x * 3.0
    gx, g_hidden = grad((hidden * hidden).sum() + x.sum(), [x, hidden])
    np.testing.assert_allclose(gx.numpy(), [19.0, 37.0])  # 18x + 1
    np.testing.assert_allclose(g_hidden.numpy(), [6.0, 12.0])  # 2·hidden


def test_grad_of_an_unused_input_is_zero(xp):
    x, unused = leaf([1.0]), leaf([[5.0, 6.0]])
    gx, g_unused = grad((x * 2.0).sum(), [x, unused])
    np.testing.assert_allclose(g_unused.numpy(), [[0.0, 0.0]])
    (g_alone,) = grad((x * 2.0).sum(), [unused])  # no target upstream of the output at all
    np.testing.assert_allclose(g_alone.numpy(), [[0.0, 0.0]])


def test_comparisons_return_plain_arrays(xp):
    x = leaf([1.0, -1.0])
    mask = x > 0
    assert backend.is_array(mask) and mask.dtype == bool
    assert (x <= 0).tolist() == [False, True]


def test_numbers_in_an_op_take_the_tensor_dtype(xp):
    x = Tensor(backend.asarray(np.ones(3, dtype=np.float32)), requires_grad=True)
    for y in (x * 2.5, 1.0 - x, x / 3.0, 2.0**-1 * x, x**2):
        assert y.dtype == np.float32


# ----------------------------------------------------------------------------- bad input


def test_matmul_shape_mismatch_names_both_shapes():
    with pytest.raises(ValueError, match=r"\(2, 3\) and \(4, 5\)"):
        Tensor(np.ones((2, 3))) @ Tensor(np.ones((4, 5)))


def test_backward_on_non_scalar_without_seed_says_so():
    y = leaf(np.ones((2, 2))) * 2.0
    with pytest.raises(RuntimeError, match=r"non-scalar tensor of shape \(2, 2\) needs a seed gradient"):
        y.backward()


def test_backward_with_a_seed_of_the_wrong_shape_says_so():
    y = leaf(np.ones((2, 2))) * 2.0
    with pytest.raises(ValueError, match=r"seed gradient has shape \(3,\)"):
        y.backward(np.ones(3))


def test_integer_tensor_cannot_require_grad():
    with pytest.raises(TypeError, match="only float32 and float64 tensors can require gradients.*int64"):
        Tensor(np.arange(3), requires_grad=True)
    with pytest.raises(TypeError, match="only float32 and float64 tensors can require gradients.*float16"):
        Tensor(np.ones(3, dtype=np.float16), requires_grad=True)


def test_mixing_float32_and_float64_tensors_is_refused():
    with pytest.raises(TypeError, match="float32 and float64"):
        Tensor(np.ones(2, dtype=np.float32)) + Tensor(np.ones(2))


def test_tensor_of_a_tensor_is_refused_with_advice():
    with pytest.raises(TypeError, match="detach"):
        Tensor(Tensor(np.ones(2)))


def test_pow_with_a_tensor_exponent_is_refused():
    with pytest.raises(TypeError, match="exponent must be a plain number"):
        leaf([1.0]) ** leaf([2.0])


def test_transpose_with_axes_counted_from_the_end_gives_the_gradient_its_input_shape():
    x = leaf(np.arange(24.0).reshape(2, 3, 4))
    y = x.transpose(1, -1, 0)
    assert y.shape == (3, 4, 2)
    (y * leaf(np.ones((3, 4, 2)))).sum().backward()
    assert x.grad.shape == (2, 3, 4)
    with pytest.raises(ValueError, match=r"not a permutation"):
        x.transpose(0, 0, 1)


def test_mean_is_exact_and_refuses_empty_tensors():
    assert Tensor(np.ones(49)).mean().item() == 1.0  # sum / n, not sum * fl(1/n)
    with pytest.raises(ValueError, match=r"mean of no elements.*shape \(0, 3\)"):
        Tensor(np.zeros((0, 3))).mean()


def test_numbers_never_change_a_dtype_and_arrays_must_match_it():
    assert (Tensor(np.ones(3, dtype=np.float32)) * 2).dtype == np.float32
    assert (Tensor(np.ones(3, dtype=np.float32)) * np.int64(300)).numpy().tolist() == [300.0] * 3  # a number, not a wrap
    with pytest.raises(TypeError, match="array of dtype float64 met a tensor of dtype float32"):
        Tensor(np.ones(2, dtype=np.float32)) * np.array([1e-50, 3.3])


def test_numpy_scalars_as_slopes_bounds_exponents_and_operands_keep_float32():
    x = Tensor(np.array([-1.0, 0.5, 2.0], dtype=np.float32), requires_grad=True)
    numpy_scalars = (ops.leaky_relu(x, np.float64(0.2)), ops.clip(x, np.float64(0), np.float64(1)),
                     x ** np.int64(2), x * np.float64(0.5), np.sqrt(2.0) + x)  # NumPy scalars act as numbers
    for y in numpy_scalars:
        assert y.dtype == np.float32
        y.sum().backward()
    assert x.grad.dtype == np.float32


def test_the_zeroth_power_has_gradient_zero_even_at_zero(xp):
    x = leaf([0.0, 2.0])
    (g,) = grad((x**0).sum(), [x])  # d/dx 1 = 0; the general c·x^(c-1) would be 0·∞ at x = 0
    np.testing.assert_array_equal(g.numpy(), [0.0, 0.0])


def test_transpose_takes_its_axes_as_numbers_or_as_one_tuple(xp):
    x = leaf(np.arange(6.0).reshape(2, 3))
    assert x.transpose((1, 0)).shape == x.transpose(1, 0).shape == (3, 2)
    with pytest.raises(TypeError, match=r"an axis must be a whole number, got \(1, 0\)"):
        x.transpose((1, 0), 0)


def test_grad_names_an_argument_that_is_not_a_tensor(xp):
    x = leaf([1.0, 2.0])
    with pytest.raises(TypeError, match=r"grad: inputs\[1\] is a ndarray, expected a Tensor"):
        grad((x * x).sum(), [x, np.ones(2)])


def test_a_seed_gradient_takes_the_output_dtype_or_is_refused():
    y = Tensor(np.ones(2, dtype=np.float32), requires_grad=True) * 2.0
    y.backward([1.0, 1.0], retain_graph=True)  # a list: made float32
    with pytest.raises(TypeError, match="dtype float64 met a tensor of dtype float32"):
        y.backward(np.ones(2))


def test_sum_to_refuses_a_shape_that_is_not_a_broadcast():
    with pytest.raises(ValueError, match=r"\(4, 3\) cannot be summed down to \(2, 6\)"):
        ops.sum_to(leaf(np.ones((4, 3))), (2, 6))


# ----------------------------------------------------------------------------- freezing, decided at build time


def _tiny_net():
    return nn.Linear(2, 1, dtype="float64", rng=np.random.default_rng(0))


def test_a_module_frozen_while_the_loss_is_built_gets_no_gradient_from_a_later_backward(xp):
    """As in PyTorch: requires_grad counts when the graph is built, not when backward() runs."""
    net = _tiny_net()
    x = leaf([[1.0, 2.0]])
    with nn.frozen(net):
        loss = net(x).sum()
    loss.backward()  # after the block: the parameters require grad again by now
    assert all(p.grad is None for p in net.parameters())
    np.testing.assert_allclose(x.grad.numpy(), net.weight.numpy().T)  # d(xW + b)/dx = Wᵀ still flows


def test_a_loss_built_before_freezing_still_gives_the_module_its_gradient(xp):
    net = _tiny_net()
    x = leaf([[1.0, 2.0]])
    loss = net(x).sum()
    with nn.frozen(net):
        loss.backward()  # inside the block, but the graph was built with the parameters live
    np.testing.assert_allclose(net.weight.grad.numpy(), [[1.0], [2.0]])  # d(xW)/dW = xᵀ
    np.testing.assert_allclose(net.bias.grad.numpy(), [1.0])


def test_grad_towards_a_target_ignores_a_frozen_branch(xp):
    """The needs_grad pruning of grad(L, targets) uses the same build-time record."""
    net = _tiny_net()
    x = leaf([[1.0, 2.0]])
    with nn.frozen(net):
        loss = net(x).sum()
    (gx,) = grad(loss, [x])
    np.testing.assert_allclose(gx.numpy(), net.weight.numpy().T)
    assert all(p.grad is None for p in net.parameters())


class _ForwardOnTensors(Function):
    """A mistake a reader may make: forward written with Tensor ops, so it returns a Tensor."""

    def forward(self, x):
        return Tensor(x) * 2.0

    def backward(self, gy):
        return gy * 2.0


def test_an_op_whose_forward_returns_a_tensor_is_refused():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="_ForwardOnTensors.forward must return an array, got Tensor"):
        _ForwardOnTensors()(x)


def test_an_op_whose_forward_returns_a_numpy_scalar_gives_a_0d_tensor():
    out = ops.sum(Tensor(np.arange(3.0)))
    assert type(out.data) is np.ndarray and out.shape == () and out.data == 3.0
