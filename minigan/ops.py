"""The differentiable operations: each a Function whose backward sits under its forward.

Notation: y = f(x) is the forward; gy = dL/dy arrives in backward, which returns
gx = dL/dx = gy · dy/dx (elementwise ops) or the matching matrix form (matmul).

Broadcasting: when an op broadcasts an input up to the output's shape, each element
of that input was used many times, so its gradient is the *sum* over the copies.
``sum_to`` does that sum; every binary op sends its input gradients through it.

Backwards are written with these same ops, so they can be differentiated again.

Dtypes: ops compute on float32 or float64 tensors, and the output has the inputs' dtype
(``Function.__call__`` holds every op to it); a plain number takes the tensor's dtype
(``x * 0.5`` stays float32). Integer and bool tensors are refused with a TypeError: their
sums wrap and their quotients would change type, so convert them to float first.

At the end of this module the ops become Tensor's operators and methods: ``a + b`` is
``add(a, b)``, ``x.exp()`` is ``exp(x)``.
"""

from __future__ import annotations

import math
import numbers

from minigan import backend, validate
from minigan.autograd import Function, Tensor

__all__ = [
    "constant", "add", "sub", "mul", "div", "neg", "pow", "matmul", "linear",
    "sum", "mean", "max", "reshape", "transpose", "broadcast_to", "sum_to", "getitem",
    "exp", "log", "sqrt", "abs", "tanh", "sigmoid", "relu", "leaky_relu", "softplus", "clip",
]


def constant(value, like: Tensor) -> Tensor:
    """``value`` as a gradient-free Tensor on ``like``'s backend, in ``like``'s dtype: a plain number
    (or a NumPy scalar such as ``np.float64(0.5)``) takes that dtype; an array must already have it."""
    if isinstance(value, Tensor):
        return value
    if backend.is_array(value) and not isinstance(value, numbers.Number):
        if value.dtype != like.dtype:
            raise TypeError(f"an array of dtype {value.dtype} met a tensor of dtype {like.dtype}; "
                            "minigan never changes dtype silently, so convert one first")
        return Tensor(backend.array_module(like.data, value).asarray(value))
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"expected a number or a Tensor, got {type(value).__name__} {value!r:.40}")
    return Tensor(_xp(like.data).asarray(value, dtype=like.dtype))


def _xp(array):
    return backend.array_module(array)  # numpy or cupy, whichever holds the array


def _tensors(a, b) -> tuple[Tensor, Tensor]:
    """Both operands as Tensors; a plain number takes the other operand's dtype."""
    if not isinstance(a, Tensor) and not isinstance(b, Tensor):
        raise TypeError(f"neither operand is a Tensor (got {type(a).__name__} and {type(b).__name__}); "
                        "wrap one first: Tensor(value)")
    return (a if isinstance(a, Tensor) else constant(a, b)), (b if isinstance(b, Tensor) else constant(b, a))


class Piecewise(Function):
    """y = a step function of the inputs (a 0/1 mask, a sign), given as ``values``: constant between
    its jumps, so its gradient is 0. It is recorded all the same, so the derivative of a gradient
    through relu, abs, clip ... is zero, not missing (second order)."""

    def __init__(self, values): self.values = values

    def forward(self, *xs): return self.values.astype(xs[0].dtype, copy=False)
    def backward(self, gy): return (None,) * len(self.inputs)


# ----------------------------------------------------------------------------- broadcasting


class SumTo(Function):
    """y = x summed over its broadcast axes down to ``shape``;  gx = gy broadcast back up."""

    def __init__(self, shape): self.shape = shape

    def forward(self, x):
        lead = x.ndim - len(self.shape)
        if lead < 0 or any(n not in (1, m) for n, m in zip(self.shape, x.shape[lead:])):
            raise ValueError(f"sum_to: shape {x.shape} cannot be summed down to {self.shape} "
                             "(it is not a broadcast of that shape)")
        axes = tuple(range(lead)) + tuple(lead + i for i, n in enumerate(self.shape) if n == 1 != x.shape[lead + i])
        return x.sum(axis=axes, keepdims=True).reshape(self.shape)

    def backward(self, gy): return broadcast_to(gy, self.inputs[0].shape)


def sum_to(x: Tensor, shape) -> Tensor: return x if x.shape == tuple(shape) else SumTo(tuple(shape))(x)


class BroadcastTo(Function):
    """y = x repeated along new or length-1 axes up to ``shape``;  gx = sum_to(gy, x.shape)."""

    def __init__(self, shape): self.shape = shape

    def forward(self, x): return _xp(x).broadcast_to(x, self.shape)
    def backward(self, gy): return sum_to(gy, self.inputs[0].shape)


def broadcast_to(x: Tensor, shape) -> Tensor: return x if x.shape == tuple(shape) else BroadcastTo(tuple(shape))(x)


# ----------------------------------------------------------------------------- arithmetic


class Add(Function):
    """y = a + b;  ga = gy, gb = gy (each summed back to its own shape)."""

    def forward(self, a, b): return a + b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(gy, b.shape)


def add(a, b) -> Tensor: return Add()(*_tensors(a, b))


class Sub(Function):
    """y = a - b;  ga = gy, gb = -gy."""

    def forward(self, a, b): return a - b

    def backward(self, gy):
        a, b = self.inputs
        return sum_to(gy, a.shape), sum_to(-gy, b.shape)


def sub(a, b) -> Tensor: return Sub()(*_tensors(a, b))


class Mul(Function):
    """y = a * b;  ga = gy * b, gb = gy * a (each only if that input needs a gradient)."""

    def forward(self, a, b): return a * b

    def backward(self, gy):
        a, b = self.inputs
        return (sum_to(gy * b, a.shape) if self.needs_grad[0] else None,
                sum_to(gy * a, b.shape) if self.needs_grad[1] else None)


def mul(a, b) -> Tensor: return Mul()(*_tensors(a, b))


class Div(Function):
    """y = a / b;  ga = gy / b, gb = -gy * a / b² (gb only if b needs a gradient)."""

    def forward(self, a, b): return a / b

    def backward(self, gy):
        a, b = self.inputs
        ga = gy / b
        return sum_to(ga, a.shape), (sum_to(-ga * a / b, b.shape) if self.needs_grad[1] else None)


def div(a, b) -> Tensor: return Div()(*_tensors(a, b))


class Neg(Function):
    """y = -x;  gx = -gy."""

    def forward(self, x): return -x
    def backward(self, gy): return -gy


def neg(x: Tensor) -> Tensor: return Neg()(x)


class Pow(Function):
    """y = x ** c for a constant number c;  gx = gy * c * x ** (c - 1) (0 when c = 0, where the
    formula would give 0 · 0⁻¹ = NaN at x = 0)."""

    def __init__(self, exponent: float): self.exponent = exponent

    def forward(self, x): return x**self.exponent

    def backward(self, gy):
        (x,) = self.inputs
        c = self.exponent
        return gy * c * x ** (c - 1) if c != 0 else None


def pow(x: Tensor, exponent) -> Tensor:
    if isinstance(exponent, bool) or not isinstance(exponent, numbers.Real):  # not a Tensor, nor an array
        raise TypeError(f"pow: the exponent must be a plain number (a tensor exponent is not supported), got {exponent!r:.40}")
    return Pow(float(exponent))(x)


class MatMul(Function):
    """Y = A @ B (2-D);  gA = gY @ Bᵀ, gB = Aᵀ @ gY (each computed only if needed:
    matrix products are the expensive part of a backward pass)."""

    def forward(self, a, b): return a @ b

    def backward(self, gy):
        a, b = self.inputs
        return (gy @ b.T if self.needs_grad[0] else None), (a.T @ gy if self.needs_grad[1] else None)


def _check_aligned(what: str, a: Tensor, b: Tensor) -> None:
    if a.ndim != 2 or b.ndim != 2:
        raise ValueError(f"{what} takes 2-D tensors, got shapes {a.shape} and {b.shape}")
    if a.shape[1] != b.shape[0]:
        raise ValueError(f"{what}: shapes {a.shape} and {b.shape} do not align "
                         f"({a.shape[1]} columns on the left, {b.shape[0]} rows on the right)")


def matmul(a, b) -> Tensor:
    a, b = _tensors(a, b)
    _check_aligned("matmul", a, b)
    return MatMul()(a, b)


class Linear(Function):
    """The dense layer as one op: Y = X W + b, with X (batch, in), W (in, out), b (out,).
    gX = gY Wᵀ,  gW = Xᵀ gY,  gb = Σ_batch gY  (b was broadcast over the batch, so its
    gradient is summed over it). Each is computed only if that input needs it.

    It is the fused form of ``matmul(X, W) + b``: the same value and the same gradients
    (tested), in one graph node instead of two, with the bias added in place."""

    def forward(self, x, w, b):
        y = x @ w
        y += b  # in place: no second (batch, out) array
        return y

    def backward(self, gy):
        x, w, b = self.inputs
        return (gy @ w.T if self.needs_grad[0] else None, x.T @ gy if self.needs_grad[1] else None,
                gy.sum(axis=0) if self.needs_grad[2] else None)


def linear(x: Tensor, weight: Tensor, bias: Tensor) -> Tensor:
    """x @ weight + bias in one op (see ``Linear``)."""
    _check_aligned("linear", x, weight)
    if bias.shape != (weight.shape[1],):
        raise ValueError(f"linear: bias of shape {bias.shape} does not match weight of shape {weight.shape}")
    return Linear()(x, weight, bias)


# ----------------------------------------------------------------------------- reductions and shapes


def _axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (None, an int, or a tuple of them; negative counts from the end) as non-negative ints."""
    axes = tuple(range(ndim)) if axis is None else axis if isinstance(axis, tuple) else (axis,)
    for ax in axes:
        if type(ax) is not int and (isinstance(ax, bool) or not isinstance(ax, numbers.Integral)):
            raise TypeError(f"an axis must be a whole number, got {ax!r}")
        if not -ndim <= ax < ndim:
            raise ValueError(f"axis {ax} is out of range for a tensor with {ndim} dimensions")
    return tuple(int(ax) % ndim for ax in axes)


class Sum(Function):
    """y = Σ x over ``axes``;  gx = gy broadcast back over the summed axes."""

    def __init__(self, axes, keepdims: bool): self.axes, self.keepdims = axes, keepdims

    def forward(self, x): return x.sum(axis=self.axes, keepdims=self.keepdims)

    def backward(self, gy):
        shape = self.inputs[0].shape
        kept = tuple(1 if i in self.axes else n for i, n in enumerate(shape))  # summed axes back, length 1
        return broadcast_to(reshape(gy, kept), shape)


def sum(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:  # like abs and max, named as in NumPy
    return Sum(_axes(axis, x.ndim), keepdims)(x)


def mean(x: Tensor, axis=None, keepdims: bool = False) -> Tensor:
    """The sum divided by the number of elements summed."""
    axes = _axes(axis, x.ndim)
    count = math.prod(x.shape[ax] for ax in axes)
    if count == 0:
        raise ValueError(f"mean of no elements: the tensor of shape {x.shape} is empty along axis {axis}")
    return sum(x, axes, keepdims) / count


class Max(Function):
    """y = the largest element along ``axis``;  gx = gy at that element (the first, on ties), 0
    elsewhere: only the winner moved y. Maxout units are built on it."""

    def __init__(self, axis: int, keepdims: bool): self.axis, self.keepdims = axis, keepdims

    def forward(self, x):
        xp = backend.array_module(x)
        winner = xp.expand_dims(x.argmax(axis=self.axis), self.axis)
        self.winners = xp.arange(x.shape[self.axis]).reshape((-1,) + (1,) * (x.ndim - 1 - self.axis)) == winner
        return x.max(axis=self.axis, keepdims=self.keepdims)

    def backward(self, gy):
        x = self.inputs[0]
        gy = gy if self.keepdims else reshape(gy, x.shape[:self.axis] + (1,) + x.shape[self.axis + 1:])
        return gy * Piecewise(self.winners)(x)


def max(x: Tensor, axis: int = -1, keepdims: bool = False) -> Tensor:
    if x.size == 0 or axis is None or isinstance(axis, tuple):  # one axis, as torch.max(x, dim)
        raise ValueError(f"max needs one axis (an int) and a tensor with elements, got axis={axis!r} and shape {x.shape}")
    (axis,) = _axes(axis, x.ndim)
    return Max(axis, keepdims)(x)


class Reshape(Function):
    """y = x with a new shape;  gx = gy reshaped back."""

    def __init__(self, shape): self.shape = shape

    def forward(self, x): return x.reshape(self.shape)
    def backward(self, gy): return reshape(gy, self.inputs[0].shape)


def reshape(x: Tensor, shape) -> Tensor:
    shape = tuple(shape) if isinstance(shape, (tuple, list)) or getattr(shape, "ndim", 0) > 0 else (shape,)
    return x if x.shape == shape else Reshape(shape)(x)


class Transpose(Function):
    """y = x with its axes permuted;  gx = gy with the inverse permutation."""

    def __init__(self, axes): self.axes = axes

    def forward(self, x): return x.transpose(self.axes)

    def backward(self, gy):
        inverse = None if self.axes is None else tuple(sorted(range(len(self.axes)), key=self.axes.__getitem__))
        return transpose(gy, inverse)


def transpose(x: Tensor, axes=None) -> Tensor:
    if axes is not None:
        axes = _axes(tuple(axes), x.ndim)
        if sorted(axes) != list(range(x.ndim)):
            raise ValueError(f"transpose: axes {axes} are not a permutation of the {x.ndim} axes of shape {x.shape}")
    return Transpose(axes)(x)


class GetItem(Function):
    """y = x[index] (slicing or indexing);  gx = zeros with gy added in at ``index``."""

    def __init__(self, index): self.index = index

    def forward(self, x): return x[self.index]
    def backward(self, gy): return ScatterAdd(self.index, self.inputs[0].shape)(gy)


class ScatterAdd(Function):
    """y = zeros(shape) with x added at ``index`` (repeats add up);  gx = gy[index]."""

    def __init__(self, index, shape): self.index, self.shape = index, shape

    def forward(self, x):
        xp = backend.array_module(x)
        y = xp.zeros(self.shape, dtype=x.dtype)
        xp.add.at(y, self.index, x)
        return y

    def backward(self, gy): return getitem(gy, self.index)


def getitem(x: Tensor, index) -> Tensor:
    raw = lambda i: i.data if isinstance(i, Tensor) else i  # noqa: E731  (an index tensor is just its array)
    return GetItem(tuple(map(raw, index)) if isinstance(index, tuple) else raw(index))(x)


# ----------------------------------------------------------------------------- elementwise functions


class Exp(Function):
    """y = eˣ;  gx = gy * y."""

    def forward(self, x): return _xp(x).exp(x)
    def backward(self, gy): return gy * self.output


def exp(x: Tensor) -> Tensor: return Exp()(x)


class Log(Function):
    """y = ln x;  gx = gy / x."""

    def forward(self, x): return _xp(x).log(x)
    def backward(self, gy): return gy / self.inputs[0]


def log(x: Tensor) -> Tensor: return Log()(x)


class Sqrt(Function):
    """y = √x;  gx = gy / (2y)."""

    def forward(self, x): return _xp(x).sqrt(x)
    def backward(self, gy): return gy / (self.output * 2.0)


def sqrt(x: Tensor) -> Tensor: return Sqrt()(x)


class Abs(Function):
    """y = |x|;  gx = gy * sign(x) (taken as 0 at x = 0)."""

    def forward(self, x): return _xp(x).abs(x)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * Piecewise(_xp(x.data).sign(x.data))(x)


def abs(x: Tensor) -> Tensor: return Abs()(x)


class Tanh(Function):
    """y = tanh x;  gx = gy * (1 - y²)."""

    def forward(self, x): return _xp(x).tanh(x)
    def backward(self, gy): return gy * (1.0 - self.output * self.output)


def tanh(x: Tensor) -> Tensor: return Tanh()(x)


def _exp_minus_abs(x):
    """e = exp(-|x|) ≤ 1: never overflows; sigmoid and softplus are both built from it."""
    xp = backend.array_module(x)
    return xp.exp(-xp.abs(x))


class Sigmoid(Function):
    """y = σ(x) = 1 / (1 + e⁻ˣ);  gx = gy * y * (1 - y).

    Computed from e = exp(-|x|) ≤ 1, which never overflows: σ(x) = 1 / (1 + e) for x ≥ 0
    and e / (1 + e) for x < 0 (the same value, rearranged), exact even at x = ±1000.
    A caller that already has e for this x (softplus's backward) passes it in."""

    def __init__(self, exp_minus_abs=None): self.exp_minus_abs = exp_minus_abs

    def forward(self, x):
        e = _exp_minus_abs(x) if self.exp_minus_abs is None else self.exp_minus_abs
        return _xp(x).where(x >= 0, 1, e) / (1 + e)

    def backward(self, gy): return gy * self.output * (1.0 - self.output)


def sigmoid(x: Tensor) -> Tensor: return Sigmoid()(x)


class ReLU(Function):
    """y = max(x, 0);  gx = gy where x > 0, else 0."""

    def forward(self, x): return _xp(x).maximum(x, 0)
    def backward(self, gy): return gy * Piecewise(self.inputs[0].data > 0)(self.inputs[0])


def relu(x: Tensor) -> Tensor: return ReLU()(x)


class LeakyReLU(Function):
    """y = x if x > 0 else slope * x, i.e. max(x, slope * x) for 0 < slope < 1;
    gx = gy where x > 0, slope * gy elsewhere."""

    def __init__(self, slope: float): self.slope = slope

    def forward(self, x): return _xp(x).maximum(x, x * self.slope)

    def backward(self, gy):
        (x,) = self.inputs
        slope = x.dtype.type(self.slope)
        return gy * Piecewise((x.data > 0) * (1 - slope) + slope)(x)  # 1 where x > 0, else slope


def leaky_relu(x: Tensor, slope: float = 0.2) -> Tensor:
    slope = validate.fraction("leaky_relu: slope", slope)  # a Python float: a NumPy float64 would promote
    return LeakyReLU(slope)(x) if slope else relu(x)  # slope 0 is relu (and 0 · ∞ would be NaN in the max)


class Softplus(Function):
    """y = ln(1 + eˣ) = max(x, 0) + ln(1 + e^-|x|): the second form never overflows and keeps
    full precision for any x (ln(1 + eˣ) itself gives inf above x ≈ 710);  gx = gy * σ(x)."""

    def forward(self, x):
        self.exp_minus_abs = _exp_minus_abs(x)  # kept: the backward's σ(x) is built from it too
        xp = backend.array_module(x)
        return xp.maximum(x, 0) + xp.log1p(self.exp_minus_abs)

    def backward(self, gy): return gy * Sigmoid(self.exp_minus_abs)(self.inputs[0])


def softplus(x: Tensor) -> Tensor: return Softplus()(x)


class Clip(Function):
    """y = min(max(x, low), high);  gx = gy inside [low, high], 0 outside."""

    def __init__(self, low: float, high: float): self.low, self.high = low, high

    def forward(self, x): return _xp(x).clip(x, self.low, self.high)

    def backward(self, gy):
        (x,) = self.inputs
        return gy * Piecewise((x.data >= self.low) & (x.data <= self.high))(x)


def clip(x: Tensor, low: float, high: float) -> Tensor:
    low, high = float(low), float(high)  # Python floats: NumPy float64 bounds would promote float32 data
    if not low <= high:
        raise ValueError(f"clip: low ({low}) must not exceed high ({high})")
    return Clip(low, high)(x)


# ----------------------------------------------------------------------------- Tensor's operators and methods

for _name, _op in {"add": add, "sub": sub, "mul": mul, "truediv": div, "matmul": matmul}.items():
    setattr(Tensor, f"__{_name}__", _op)
    setattr(Tensor, f"__r{_name}__", lambda self, other, op=_op: op(other, self))
for _op in (sum, mean, max, exp, log, sqrt, abs, tanh, sigmoid, relu, clip):
    setattr(Tensor, _op.__name__, _op)
Tensor.__neg__, Tensor.__pow__, Tensor.__abs__, Tensor.__getitem__ = neg, pow, abs, getitem
Tensor.reshape = lambda self, *shape: reshape(self, shape[0] if len(shape) == 1 else shape)
Tensor.transpose = lambda self, *axes: transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list))
                                                 else axes or None)
Tensor.T = property(transpose)
