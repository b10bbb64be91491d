"""Random expressions against PyTorch, where PyTorch is installed (the benchmark extra brings it):
the same ops on the same float64 numbers, chained at random, must give the same values and the
same gradients of every input; and Python's protocols must answer as PyTorch answers."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigan import Tensor, ops

torch = pytest.importorskip("torch", reason="PyTorch is not installed (pip install -e '.[bench]')")

# name: (minigan, PyTorch), each a function of two same-shape tensors (the second may be unused)
OPS = {
    "add": (lambda a, b: a + b, lambda a, b: a + b),
    "sub": (lambda a, b: a - b, lambda a, b: a - b),
    "mul": (lambda a, b: a * b, lambda a, b: a * b),
    "div": (lambda a, b: a / (b * b + 1.0), lambda a, b: a / (b * b + 1.0)),
    "neg": (lambda a, b: -a, lambda a, b: -a),
    "pow": (lambda a, b: (a * a + 0.5) ** 1.5, lambda a, b: (a * a + 0.5) ** 1.5),
    "exp": (lambda a, b: ops.exp(a * 0.3), lambda a, b: torch.exp(a * 0.3)),
    "log": (lambda a, b: ops.log(a * a + 1.0), lambda a, b: torch.log(a * a + 1.0)),
    "sqrt": (lambda a, b: ops.sqrt(a * a + 1.0), lambda a, b: torch.sqrt(a * a + 1.0)),
    "abs": (lambda a, b: abs(a), lambda a, b: torch.abs(a)),
    "tanh": (lambda a, b: ops.tanh(a), lambda a, b: torch.tanh(a)),
    "sigmoid": (lambda a, b: ops.sigmoid(a), lambda a, b: torch.sigmoid(a)),
    "relu": (lambda a, b: ops.relu(a), lambda a, b: torch.relu(a)),
    "leaky_relu": (lambda a, b: ops.leaky_relu(a, 0.2), lambda a, b: torch.nn.functional.leaky_relu(a, 0.2)),
    # log(1 + e^a) = logaddexp(a, 0): PyTorch's softplus returns a itself above a = 20 (its threshold), 2e-9 short
    "softplus": (lambda a, b: ops.softplus(a), lambda a, b: torch.logaddexp(a, torch.zeros_like(a))),
    "clip": (lambda a, b: ops.clip(a, -0.5, 0.7), lambda a, b: torch.clamp(a, -0.5, 0.7)),
    "matmul_T": (lambda a, b: a @ b.T, lambda a, b: a @ b.T),
    "linear": (lambda a, b: ops.linear(a, b.T, b[:, 0]), lambda a, b: torch.nn.functional.linear(a, b, b[:, 0])),
    "sum_axis0_keep": (lambda a, b: a.sum(0, keepdims=True) + b, lambda a, b: a.sum(0, keepdim=True) + b),
    "mean_axis1": (lambda a, b: a.mean(1, keepdims=True) * b, lambda a, b: a.mean(1, keepdim=True) * b),
    "max_axis1": (lambda a, b: a.max(1, keepdims=True) - b, lambda a, b: a.max(1, keepdim=True).values - b),
    "broadcast_row": (lambda a, b: a + b[0], lambda a, b: a + b[0]),
    "getitem": (lambda a, b: a[::2] * 2.0, lambda a, b: a[::2] * 2.0),
    "reshape_T": (lambda a, b: a.reshape(-1).reshape(a.shape[1], a.shape[0]).T, lambda a, b: a.reshape(-1).reshape(a.shape[1], a.shape[0]).T),
}


@settings(max_examples=60, deadline=None)
@given(chain=st.lists(st.sampled_from(sorted(OPS)), min_size=1, max_size=4),
       shape=st.tuples(st.integers(1, 4), st.integers(1, 4)), data=st.data())
def test_a_random_chain_of_ops_gives_pytorchs_values_and_gradients(chain, shape, data):
    # values away from the kinks of abs, relu, clip and max, where the two may pick different subgradients
    grid = st.integers(-30, 30).map(lambda k: k / 10 + 0.037)
    a0, b0 = (data.draw(hnp.arrays(np.float64, shape, elements=grid, unique=True)) for _ in range(2))
    ours = [Tensor(a0.copy(), requires_grad=True), Tensor(b0.copy(), requires_grad=True)]
    theirs = [torch.tensor(a0, requires_grad=True), torch.tensor(b0, requires_grad=True)]
    x, y = ours
    u, v = theirs
    for name in chain:
        ours_op, theirs_op = OPS[name]
        out, ref = ours_op(x, y), theirs_op(u, v)
        if out.shape != y.shape:  # keep both operands of the next op of one shape
            break
        x, u = out, ref
    seed = data.draw(hnp.arrays(np.float64, x.shape, elements=st.floats(-2, 2)))
    np.testing.assert_allclose(x.numpy(), u.detach().numpy(), rtol=1e-12, atol=1e-12)
    x.backward(seed)
    u.backward(torch.tensor(seed))
    for mine, reference in zip(ours, theirs, strict=True):
        expected = np.zeros(mine.shape) if reference.grad is None else reference.grad.numpy()
        got = np.zeros(mine.shape) if mine.grad is None else mine.grad.numpy()
        np.testing.assert_allclose(got, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("values", [[0.0], [2.5], [-1.0], [[0.0]], 0.0, 3.0])
def test_bool_float_and_int_of_one_element_answer_as_pytorch_does(values):
    ours, theirs = Tensor(np.array(values)), torch.tensor(values, dtype=torch.float64)
    assert bool(ours) == bool(theirs) and float(ours) == float(theirs) and int(ours) == int(theirs)


@pytest.mark.parametrize("values", [[0.0, 1.0], [[1.0, 2.0], [3.0, 4.0]], []])
def test_bool_of_several_or_no_elements_is_refused_as_pytorch_refuses(values):
    with pytest.raises(RuntimeError):
        bool(torch.tensor(values))
    with pytest.raises(ValueError, match="ambiguous"):
        bool(Tensor(np.array(values)))


def test_iteration_and_len_answer_as_pytorch_does():
    a = np.arange(6.0).reshape(3, 2)
    assert [r.numpy().tolist() for r in Tensor(a)] == [r.tolist() for r in torch.tensor(a)]
    with pytest.raises(TypeError):
        iter(torch.tensor(1.0))
    with pytest.raises(TypeError):
        iter(Tensor(np.float64(1.0)))
