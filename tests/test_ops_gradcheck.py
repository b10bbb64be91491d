"""Every op's gradient, first and second order, against float64 central differences.

Each case draws shapes and values with hypothesis (values kept away from kinks and
poles, where a derivative does not exist) and returns the function under test with
its input arrays. The same cases run on every available backend.
"""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigan import Tensor, backend, ops
from minigan.gradcheck import check_grad, check_gradgrad

from strategies import arrays, broadcast_pair, leaf, shapes


def _unary(fn, **value_kwargs):
    def draw(data):
        return fn, [data.draw(arrays(data.draw(shapes()), **value_kwargs))]

    return draw


def _binary(fn, b_values=None):
    def draw(data):
        shape_a, shape_b = data.draw(broadcast_pair())
        return fn, [data.draw(arrays(shape_a)), data.draw(arrays(shape_b, **(b_values or {})))]

    return draw


def _maximum(data):
    """a on the grid k/10, b on the grid k/10 + 0.05: never a tie, where max has no derivative."""
    shape_a, shape_b = data.draw(broadcast_pair())
    grid = st.integers(-30, 30).map(lambda k: k / 10)
    a = data.draw(hnp.arrays(np.float64, shape_a, elements=grid))
    b = data.draw(hnp.arrays(np.float64, shape_b, elements=grid)) + 0.05
    return ops.maximum, [a, b]


def _matmul(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    return ops.matmul, [data.draw(arrays((n, k))), data.draw(arrays((k, m)))]


def _linear(data):
    n, k, m = (data.draw(st.integers(1, 4)) for _ in range(3))
    return ops.linear, [data.draw(arrays((n, k))), data.draw(arrays((k, m))), data.draw(arrays((m,)))]


def _axes(data, ndim):
    """None, one axis, or a tuple of distinct axes, each possibly counted from the end."""
    one = st.integers(-ndim, ndim - 1)
    several = st.lists(st.integers(0, ndim - 1), min_size=1, max_size=ndim, unique=True).flatmap(
        lambda axes: st.tuples(*[st.sampled_from([a, a - ndim]) for a in axes]))
    return data.draw(st.none() | one | several)


def _reduction(reduce):
    def draw(data):
        shape = data.draw(shapes(min_dims=1))
        axis = _axes(data, len(shape))
        keepdims = data.draw(st.booleans())
        return (lambda x: reduce(x, axis, keepdims)), [data.draw(arrays(shape))]

    return draw


def _reshape(data):
    shape = data.draw(shapes(min_dims=1))
    target = (-1,) if data.draw(st.booleans()) else tuple(reversed(shape))
    return (lambda x: ops.reshape(x, target)), [data.draw(arrays(shape))]


def _transpose(data):
    shape = data.draw(shapes(min_dims=1))
    n = len(shape)
    axes = data.draw(st.none() | st.permutations(range(n)).flatmap(  # some axes counted from the end
        lambda perm: st.tuples(*[st.sampled_from([a, a - n]) for a in perm])))
    return (lambda x: ops.transpose(x, axes)), [data.draw(arrays(shape))]


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
    return (lambda x: x[index]), [data.draw(arrays(shape))]


def _concatenate(data):
    shape = data.draw(shapes(min_dims=1))
    axis = data.draw(st.integers(0, len(shape) - 1))
    parts = []
    for _ in range(data.draw(st.integers(1, 3))):
        part_shape = list(shape)
        part_shape[axis] = data.draw(st.integers(1, 3))
        parts.append(data.draw(arrays(tuple(part_shape))))
    return (lambda *xs: ops.concatenate(xs, axis)), parts


def _broadcast_to(data):
    small, big = data.draw(broadcast_pair())
    target = np.broadcast_shapes(small, big)
    return (lambda x: ops.broadcast_to(x, target)), [data.draw(arrays(small))]


def _sum_to(data):
    small, big = data.draw(broadcast_pair())
    full = np.broadcast_shapes(small, big)
    return (lambda x: ops.sum_to(x, small)), [data.draw(arrays(full))]


CASES = {
    "add": _binary(ops.add),
    "sub": _binary(ops.sub),
    "mul": _binary(ops.mul),
    "div": _binary(ops.div, b_values=dict(low=0.5, high=3.0)),
    "neg": _unary(ops.neg),
    "pow_integer": _unary(lambda x: x**3),
    "pow_fractional": _unary(lambda x: x**2.5, low=0.2),
    "pow_negative": _unary(lambda x: x**-1.5, low=0.2),
    "matmul": _matmul,
    "linear": _linear,
    "sum": _reduction(ops.sum),
    "mean": _reduction(ops.mean),
    "reshape": _reshape,
    "transpose": _transpose,
    "getitem": _getitem,
    "concatenate": _concatenate,
    "broadcast_to": _broadcast_to,
    "sum_to": _sum_to,
    "exp": _unary(ops.exp),
    "log": _unary(ops.log, low=0.2),
    "sqrt": _unary(ops.sqrt, low=0.2),
    "abs": _unary(ops.abs, avoid=(0.0,)),
    "tanh": _unary(ops.tanh),
    "sigmoid": _unary(ops.sigmoid, low=-8.0, high=8.0),
    "relu": _unary(ops.relu, avoid=(0.0,)),
    "leaky_relu": _unary(lambda x: ops.leaky_relu(x, 0.1), avoid=(0.0,)),
    "softplus": _unary(ops.softplus, low=-8.0, high=8.0),
    "log_sigmoid": _unary(ops.log_sigmoid, low=-8.0, high=8.0),
    "maximum": _maximum,
    "clip": _unary(lambda x: ops.clip(x, -1.0, 1.5), avoid=(-1.0, 1.5)),
}


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_gradient_matches_central_differences(xp, case, data):
    fn, host_arrays = CASES[case](data)
    check_grad(fn, [leaf(a) for a in host_arrays])


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_second_order_gradient_matches_central_differences(xp, case, data):
    fn, host_arrays = CASES[case](data)
    check_gradgrad(fn, [leaf(a) for a in host_arrays])


@pytest.mark.parametrize("case", sorted(CASES))
@given(data=st.data())
def test_float32_in_float32_out(xp, case, data):
    fn, host_arrays = CASES[case](data)
    inputs = [Tensor(backend.asarray(a.astype(np.float32)), requires_grad=True) for a in host_arrays]
    out = fn(*inputs)
    assert out.dtype == np.float32
    (out * out).sum().backward()
    assert all(x.grad.dtype == np.float32 for x in inputs)
