"""Every op checked three ways: its forward value against a NumPy reference, and its
gradient, first and second order, against float64 central differences.

Each case draws shapes and values with hypothesis (values kept away from kinks and
poles, where a derivative does not exist) and returns the function under test, the
NumPy function it must agree with, and its input arrays. A case is named after the op
it tests ('pow:integer' tests ``pow``), and a guard fails if an op in ``ops.__all__`` has
none. The same cases run on every available backend.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigan import Tensor, backend, ops
from minigan.gradcheck import check_grad, check_gradgrad

from strategies import arrays, broadcast_pair, leaf, shapes, values


def _unary(fn, reference, **value_kwargs):
    def draw(data):
        return fn, reference, [data.draw(arrays(data.draw(shapes()), **value_kwargs))]

    return draw


def _binary(fn, reference, b_values=None):
    def draw(data):
        shape_a, shape_b = data.draw(broadcast_pair())
        return fn, reference, [data.draw(arrays(shape_a)), data.draw(arrays(shape_b, **(b_values or {})))]

    return draw


def _matmul(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    return ops.matmul, np.matmul, [data.draw(arrays((n, k))), data.draw(arrays((k, m)))]


def _linear(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    return ops.linear, (lambda x, w, b: x @ w + b), [data.draw(arrays((n, k))), data.draw(arrays((k, m))),
                                                     data.draw(arrays((m,)))]


def _axes(data, ndim):
    """None, one axis, or a tuple of distinct axes, each possibly counted from the end."""
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
        lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes]))
    return data.draw(st.none() | one | several)


def _reduction(reduce, reference):
    def draw(data):
        shape = data.draw(shapes(min_dims=1))
        axis = _axes(data, len(shape))
        keepdims = data.draw(st.booleans())
        return ((lambda x: reduce(x, axis, keepdims)), (lambda x: reference(x, axis=axis, keepdims=keepdims)),
                [data.draw(arrays(shape))])

    return draw


def _max(data):
    """Distinct values on the grid k/10: no ties, where the maximum has no derivative."""
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(-len(shape), len(shape) - 1))
    keepdims = data.draw(st.booleans())
    grid = st.integers(-40, 40).map(lambda k: k / 10)
    x = data.draw(hnp.arrays(np.float64, shape, elements=grid, unique=True))
    return (lambda t: ops.max(t, axis, keepdims)), (lambda a: np.max(a, axis=axis, keepdims=keepdims)), [x]


def _reshape(data):
    shape = data.draw(shapes(min_dims=1))
    target = (-1,) if data.draw(st.booleans()) else tuple(reversed(shape))
    return (lambda x: ops.reshape(x, target)), (lambda x: np.reshape(x, target)), [data.draw(arrays(shape))]


def _transpose(data):
    shape = data.draw(shapes(min_dims=1))
    n = len(shape)
    axes = data.draw(st.none() | st.permutations(range(n)).flatmap(  # some axes counted from the end
        lambda perm: st.tuples(*[st.sampled_from([a, a - n]) for a in perm])))
    return (lambda x: ops.transpose(x, axes)), (lambda x: np.transpose(x, axes)), [data.draw(arrays(shape))]


def _getitem(data):
    shape = data.draw(shapes(min_dims=1))
    kind = data.draw(st.sampled_from(["int", "slice", "fancy"]))
    if kind == "int":
        index = data.draw(st.integers(0, shape[0] - 1))
    elif kind == "slice":
        start = data.draw(st.integers(0, shape[0] - 1))
        index = slice(start, None, data.draw(st.integers(1, 2)))
    else:  # repeated indices: their gradients must add up
        index = np.array(data.draw(st.lists(st.integers(0, shape[0] - 1), min_size=1, max_size=6)))
    take = lambda x: x[index]  # noqa: E731  (the same indexing on a Tensor and on its array)
    return take, take, [data.draw(arrays(shape))]


def _broadcast_to(data):
    small, big = data.draw(broadcast_pair())
    target = np.broadcast_shapes(small, big)
    return (lambda x: ops.broadcast_to(x, target)), (lambda x: np.broadcast_to(x, target)), [data.draw(arrays(small))]


def _sum_to(data):
    small, big = data.draw(broadcast_pair())
    full = np.broadcast_shapes(small, big)
    return (lambda x: ops.sum_to(x, small)), (lambda x: _reference_sum_to(x, small)), [data.draw(arrays(full))]


def _reference_sum_to(x, shape):
    """Undo broadcasting by definition: sum the extra leading axes away, then every axis that was 1."""
    x = x.sum(axis=tuple(range(x.ndim - len(shape))))
    for axis, n in enumerate(shape):
        if n == 1:
            x = x.sum(axis=axis, keepdims=True)
    return x


def _constant(data):
    """constant(value, like): a number or an array of like's dtype, as a gradient-free Tensor."""
    dtype = data.draw(st.sampled_from([np.float32, np.float64]))
    like = Tensor(backend.asarray(np.zeros(2, dtype=dtype)), requires_grad=True)
    value = data.draw(values() | arrays(data.draw(shapes())).map(lambda a: a.astype(dtype)))
    return (lambda: ops.constant(value, like)), (lambda: np.asarray(value, dtype=dtype)), []


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))  # the textbook formula: fine on the drawn range [-8, 8]


CASES = {  # name: the op tested, then optionally ':' and which variant
    "add": _binary(ops.add, np.add),
    "sub": _binary(ops.sub, np.subtract),
    "mul": _binary(ops.mul, np.multiply),
    "div": _binary(ops.div, np.divide, b_values=dict(low=0.5, high=3.0)),
    "neg": _unary(ops.neg, np.negative),
    "pow:integer": _unary(lambda x: x**3, lambda x: x * x * x),
    "pow:fractional": _unary(lambda x: x**2.5, lambda x: x * x * np.sqrt(x), low=0.2),
    "pow:negative": _unary(lambda x: x**-1.5, lambda x: 1 / (x * np.sqrt(x)), low=0.2),
    "matmul": _matmul,
    "linear": _linear,
    "sum": _reduction(ops.sum, np.sum),
    "mean": _reduction(ops.mean, np.mean),
    "max": _max,
    "reshape": _reshape,
    "transpose": _transpose,
    "getitem": _getitem,
    "broadcast_to": _broadcast_to,
    "sum_to": _sum_to,
    "exp": _unary(ops.exp, np.exp),
    "log": _unary(ops.log, np.log, low=0.2),
    "sqrt": _unary(ops.sqrt, np.sqrt, low=0.2),
    "abs": _unary(ops.abs, np.abs, avoid=(0.0,)),
    "tanh": _unary(ops.tanh, np.tanh),
    "sigmoid": _unary(ops.sigmoid, _sigmoid, low=-8.0, high=8.0),
    "relu": _unary(ops.relu, lambda x: np.where(x > 0, x, 0.0), avoid=(0.0,)),
    "leaky_relu": _unary(lambda x: ops.leaky_relu(x, 0.1), lambda x: np.where(x > 0, x, 0.1 * x), avoid=(0.0,)),
    "softplus": _unary(ops.softplus, lambda x: np.log(1 + np.exp(x)), low=-8.0, high=8.0),
    "clip": _unary(lambda x: ops.clip(x, -1.0, 1.5), lambda x: np.minimum(np.maximum(x, -1.0), 1.5),
                   avoid=(-1.0, 1.5)),
}

FORWARD_ONLY = {  # ops with nothing to differentiate
    "constant": _constant,  # makes a gradient-free tensor
}


def _op_tested_by(case: str) -> str:
    return case.split(":")[0]


def test_every_op_has_a_forward_case_and_a_gradient_case():
    ops_with_gradient_case = {_op_tested_by(case) for case in CASES}
    untested = set(ops.__all__) - ops_with_gradient_case - set(FORWARD_ONLY)
    assert not untested, f"ops without a test case: {sorted(untested)}"
    unknown = (ops_with_gradient_case | set(FORWARD_ONLY)) - set(ops.__all__)
    assert not unknown, f"cases named after no op in ops.__all__: {sorted(unknown)}"


def _assert_same_values(out: Tensor, expected, rtol=1e-12):
    expected = np.asarray(expected)
    assert out.shape == expected.shape and out.dtype == expected.dtype, (out.shape, out.dtype, expected.shape)
    np.testing.assert_allclose(out.numpy(), expected, rtol=rtol, atol=1e-12)  # atol: sums that cancel to ~0


@pytest.mark.parametrize("case", sorted(CASES) + sorted(FORWARD_ONLY))
@given(data=st.data())
def test_forward_value_matches_numpy_reference(xp, case, data):
    fn, reference, host_arrays = {**CASES, **FORWARD_ONLY}[case](data)
    _assert_same_values(fn(*[leaf(a) for a in host_arrays]), reference(*host_arrays))


@given(data=st.data())
def test_linear_is_matmul_plus_bias_fused(xp, data):
    """Same value and same gradients as the two ops it fuses, for a random seed gradient."""
    _, _, host_arrays = _linear(data)
    fused, plain = [leaf(a) for a in host_arrays], [leaf(a) for a in host_arrays]
    y_fused, y_plain = ops.linear(*fused), ops.matmul(plain[0], plain[1]) + plain[2]
    _assert_same_values(y_fused, y_plain.numpy(), rtol=1e-14)
    seed = data.draw(arrays(y_plain.shape))
    y_fused.backward(seed)
    y_plain.backward(seed)
    for name, a, b in zip(("x", "weight", "bias"), fused, plain, strict=True):
        np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-14, atol=1e-14, err_msg=name)


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_gradient_matches_central_differences(xp, case, data):
    fn, _, host_arrays = CASES[case](data)
    check_grad(fn, [leaf(a) for a in host_arrays])


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_second_order_gradient_matches_central_differences(xp, case, data):
    fn, _, host_arrays = CASES[case](data)
    check_gradgrad(fn, [leaf(a) for a in host_arrays])


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_float32_in_float32_out(xp, case, data):
    fn, _, host_arrays = CASES[case](data)
    inputs = [Tensor(backend.asarray(a.astype(np.float32)), requires_grad=True) for a in host_arrays]
    out = fn(*inputs)
    assert out.dtype == np.float32
    (out * out).sum().backward()
    assert all(x.grad.dtype == np.float32 for x in inputs)
