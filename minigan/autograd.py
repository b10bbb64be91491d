"""Reverse-mode automatic differentiation on arrays: the chapter to read first.

A ``Tensor`` holds an array (``data``) and, after ``backward()``, the gradient of a
scalar loss L with respect to it (``grad`` = dL/d tensor, same shape).

Every operation is a ``Function`` (see ``minigan.ops``) with two methods side by side:

    forward(*arrays)  -> array           y = f(x1, ..., xn), on raw arrays
    backward(gy)      -> (gx1, ..., gxn) gxi = gy · dy/dxi, the chain rule, on Tensors

When a Function runs on inputs that need a gradient, it records itself as the
``creator`` of its output and keeps its ``inputs``: a graph, built as the forward pass
runs ("define by run"). ``backward()`` walks that graph from the output back to the
leaves in topological order, so each Function receives the complete gradient of its
output before passing gradients on, and gradients add up where a tensor was used twice.

Because ``backward`` is written with Tensor operations, the backward pass can itself
be recorded (``create_graph=True``) and differentiated again: second-order gradients,
used by WGAN-GP's gradient penalty and by ``gradcheck.check_gradgrad``.
"""

from __future__ import annotations

import contextlib
import weakref

import numpy as np  # host copies, for printing only

from minigan import backend

__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "grad"]


# ----------------------------------------------------------------------------- grad mode

_grad_enabled = True


def is_grad_enabled() -> bool:
    """True when new operations are recorded for backpropagation."""
    return _grad_enabled


@contextlib.contextmanager
def _grad_mode(enabled: bool):
    global _grad_enabled
    previous, _grad_enabled = _grad_enabled, enabled
    try:
        yield
    finally:
        _grad_enabled = previous


def no_grad():
    """Context manager: operations inside record no graph (evaluation, optimiser steps)."""
    return _grad_mode(False)


# ----------------------------------------------------------------------------- Tensor


class Tensor:
    """An array with an optional gradient and a link to the Function that made it.

    ``requires_grad=True`` marks a leaf whose gradient ``backward()`` should compute
    (a parameter, or an input under study). Only floating-point tensors can require one.
    Numbers, lists and host (NumPy) arrays are placed on the current backend; an array
    already on a GPU stays there.
    Comparisons (<, <=, >, >=, ==, !=) are elementwise, as in NumPy and PyTorch, and return
    plain boolean arrays (no graph: they have no gradient). A Tensor is still hashed by identity,
    so the engine can keep Tensors in sets and dicts; use ``a is b`` to ask "the same tensor?".
    """

    __slots__ = ("data", "grad", "creator", "name", "_requires_grad", "__weakref__")
    __array_ufunc__ = None  # `array * tensor` calls Tensor.__rmul__ instead of looping in NumPy

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            raise TypeError(
                "Tensor(data) takes an array, not a Tensor; "
                "use tensor.detach() for a tensor that shares the data without the graph"
            )
        array = data if type(data) is backend.current().ndarray else _as_array(data)
        if array.dtype.kind not in NUMERIC_KINDS:
            raise TypeError(f"Tensor(data) needs numbers (bool, integer or floating point), got "
                            f"{type(data).__name__} {data!r:.60} (dtype {array.dtype})")
        self.data = array
        self.grad: Tensor | None = None
        self.creator: Function | None = None
        self.name = name
        self._requires_grad = False
        if requires_grad:
            self.requires_grad = True  # through the property, which checks the dtype

    @classmethod
    def _of_result(cls, result) -> Tensor:
        """A Tensor around the backend array an op's forward returned, skipping __init__'s checks,
        which the op has already made (its inputs were Tensors of one numeric dtype, and so is
        ``result``). The hot path of every op; anything else goes through ``Tensor(result)``."""
        tensor = cls.__new__(cls)
        tensor.data = result
        tensor.grad, tensor.creator, tensor.name, tensor._requires_grad = None, None, None, False
        return tensor

    @property
    def requires_grad(self) -> bool:
        return self._requires_grad

    @requires_grad.setter
    def requires_grad(self, flag: bool) -> None:
        if flag and self.data.dtype.kind != "f":
            raise TypeError(
                f"only floating-point tensors can require gradients, "
                f"but {self._label()} has dtype {self.data.dtype}; convert it first, "
                "e.g. Tensor(data.astype('float32'), requires_grad=True)"
            )
        self._requires_grad = bool(flag)

    # -- what it is
    shape = property(lambda self: self.data.shape)
    ndim = property(lambda self: self.data.ndim)
    size = property(lambda self: self.data.size)
    dtype = property(lambda self: self.data.dtype)

    def __len__(self) -> int:
        return len(self.data)

    def _label(self) -> str:
        return f"tensor {self.name!r}" if self.name else f"a tensor of shape {self.shape}"

    def __repr__(self) -> str:
        """Like PyTorch: the values (abridged by NumPy when large), then what is not obvious:
        ``tensor([[1., 2.]], dtype=float64, requires_grad=True, creator=Mul)``."""
        prefix = "tensor("
        values = np.array2string(backend.to_numpy(self.data), separator=", ", prefix=prefix)
        details = [f"dtype={self.dtype}"]
        if self.name:
            details.insert(0, f"name={self.name!r}")
        if self.requires_grad:
            details.append("requires_grad=True")
        if self.creator is not None:
            details.append(f"creator={type(self.creator).__name__}")
        return f"{prefix}{values}, {', '.join(details)})"

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` in place and return the tensor (PyTorch's spelling)."""
        self.requires_grad = flag
        return self

    def item(self) -> float:
        """The value of a one-element tensor as a Python number."""
        return self.data.item()

    def numpy(self):
        """A host (NumPy) copy of the data, whatever the backend."""
        return backend.to_numpy(self.data)

    def detach(self) -> Tensor:
        """The same data, cut from the graph: no gradient flows back through it."""
        return Tensor(self.data, name=self.name)

    # -- backpropagation
    def backward(self, grad=None, *, retain_graph: bool | None = None, create_graph: bool = False):
        """Compute dL/d(leaf) for every leaf this tensor depends on, adding it to ``leaf.grad``.

        ``self`` is L. A one-element L gets the seed dL/dL = 1; a larger output needs
        ``grad``, the gradient of some scalar with respect to it. The graph is freed
        afterwards unless ``retain_graph`` (default: ``create_graph``) is true.
        ``create_graph=True`` records the backward pass, so gradients can be differentiated.
        """
        seed = _seed_gradient(self, grad)
        if retain_graph is None:
            retain_graph = create_graph
        _backpropagate(self, seed, create_graph=create_graph, retain_graph=retain_graph)

    # -- operators (the ops themselves live in minigan.ops)
    def __add__(self, other):
        return ops.add(self, other)

    def __radd__(self, other):
        return ops.add(other, self)

    def __sub__(self, other):
        return ops.sub(self, other)

    def __rsub__(self, other):
        return ops.sub(other, self)

    def __mul__(self, other):
        return ops.mul(self, other)

    def __rmul__(self, other):
        return ops.mul(other, self)

    def __truediv__(self, other):
        return ops.div(self, other)

    def __rtruediv__(self, other):
        return ops.div(other, self)

    def __neg__(self):
        return ops.neg(self)

    def __pow__(self, exponent):
        return ops.pow(self, exponent)

    def __matmul__(self, other):
        return ops.matmul(self, other)

    def __rmatmul__(self, other):
        return ops.matmul(other, self)

    def __getitem__(self, index):
        return ops.getitem(self, index)

    def __lt__(self, other):
        return self.data < _raw(other)

    def __le__(self, other):
        return self.data <= _raw(other)

    def __gt__(self, other):
        return self.data > _raw(other)

    def __ge__(self, other):
        return self.data >= _raw(other)

    def __eq__(self, other):
        return self.data == _raw(other)

    def __ne__(self, other):
        return self.data != _raw(other)

    __hash__ = object.__hash__  # by identity: defining __eq__ would otherwise make Tensors unhashable

    def __abs__(self):
        return ops.abs(self)

    def sum(self, axis=None, keepdims: bool = False):
        return ops.sum(self, axis, keepdims)

    def mean(self, axis=None, keepdims: bool = False):
        return ops.mean(self, axis, keepdims)

    def reshape(self, *shape):
        return ops.reshape(self, shape[0] if len(shape) == 1 else shape)

    def transpose(self, *axes):  # x.transpose(1, 0) or, as in NumPy, x.transpose((1, 0))
        return ops.transpose(self, axes[0] if len(axes) == 1 and isinstance(axes[0], (tuple, list)) else axes or None)

    @property
    def T(self):
        return ops.transpose(self)

    # -- elementwise functions as methods, as in PyTorch: x.exp() is ops.exp(x)
    def exp(self):
        return ops.exp(self)

    def log(self):
        return ops.log(self)

    def sqrt(self):
        return ops.sqrt(self)

    def abs(self):
        return ops.abs(self)

    def tanh(self):
        return ops.tanh(self)

    def sigmoid(self):
        return ops.sigmoid(self)

    def relu(self):
        return ops.relu(self)

    def clip(self, low: float, high: float):
        return ops.clip(self, low, high)


def _raw(value):
    return value.data if isinstance(value, Tensor) else value


NUMERIC_KINDS = "biuf"  # bool, signed and unsigned integers, floating point


def _as_array(data):
    """``data`` on the backend; ragged nested lists and unconvertible objects are refused."""
    try:
        return backend.asarray(data)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"Tensor(data) needs numbers in a regular (rectangular) shape, got {type(data).__name__}: "
                        f"{exc}") from None


# ----------------------------------------------------------------------------- Function


class Function:
    """One differentiable operation. Subclasses define ``forward`` and ``backward``.

    ``forward`` receives the inputs' arrays and returns the output array.
    ``backward`` receives gy = dL/dy as a Tensor and returns dL/dx for each input
    (a Tensor, or None where no gradient is needed), using ``self.inputs`` and
    ``self.output`` (the tensors of the forward pass) as it needs. ``self.needs_grad[i]``
    says whether input i's gradient is wanted by this backward pass: an expensive
    backward (a matrix product) skips the ones that are not.

    Whether an input gets a gradient at all is decided when the graph is built, as in
    PyTorch: ``self.required[i]`` is ``inputs[i].requires_grad`` at the moment the Function
    ran, so a parameter frozen while the loss was computed gets no gradient, even if
    ``backward()`` runs after it was unfrozen (``nn.frozen``).
    """

    inputs: tuple[Tensor, ...] | None = None  # set while the graph is alive
    required: tuple[bool, ...]  # inputs[i].requires_grad when this Function ran (forward time)
    needs_grad: list[bool]  # one flag per input, set by the backward pass just before backward()

    def __call__(self, *inputs: Tensor) -> Tensor:
        arrays = []
        for i, x in enumerate(inputs):
            if not isinstance(x, Tensor):
                raise TypeError(f"{type(self).__name__}: input {i} is a {type(x).__module__}.{type(x).__name__}, "
                                "not a Tensor; wrap it first: Tensor(value)")
            arrays.append(x.data)
        if len(inputs) > 1:
            _check_same_kind(self, inputs)
        result = self.forward(*arrays)
        if inputs and result.dtype != arrays[0].dtype:
            raise TypeError(
                f"{type(self).__name__} of {arrays[0].dtype} tensors would give {result.dtype}; minigan never "
                "changes dtype silently (an integer tensor cannot hold a / b, a mean or exp): convert to float first, "
                "e.g. Tensor(x.data.astype('float32'))"
            )
        fast = inputs and type(result) is backend.current().ndarray  # else (a NumPy scalar, a stray Tensor):
        output = Tensor._of_result(result) if fast else Tensor(result)  # the checked constructor
        if _grad_enabled:  # record this Function in the graph if any input needs a gradient
            required = tuple([x._requires_grad for x in inputs])
            if True in required:
                output._requires_grad = True
                output.creator = self
                self.inputs, self.required = inputs, required
                self._output = weakref.ref(output)  # weak: the output already points at us
        return output

    @property
    def output(self) -> Tensor:
        """The tensor this Function made (some backwards reuse it: exp, tanh, sigmoid)."""
        return self._output()

    def forward(self, *arrays):
        raise NotImplementedError

    def backward(self, gy: Tensor):
        raise NotImplementedError

    def release(self) -> None:
        """Forget the inputs and saved arrays: frees the graph after a backward pass."""
        self.__dict__.clear()

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _check_same_kind(function: Function, inputs) -> None:
    """All inputs of one op must live on one backend and share one dtype."""
    first = inputs[0].data
    for x in inputs[1:]:
        if type(x.data) is not type(first):
            backend.array_module(first, x.data)  # raises BackendError if backends differ
        if x.data.dtype != first.dtype:
            raise TypeError(
                f"{type(function).__name__}: inputs have dtypes {first.dtype} and {x.data.dtype}; "
                "minigan never changes dtype silently, so convert one input first"
            )


# ----------------------------------------------------------------------------- backward


def _seed_gradient(output: Tensor, grad) -> Tensor:
    if not output.requires_grad:
        raise RuntimeError(
            f"backward() on {output._label()} that does not require grad: nothing it was "
            "computed from requires a gradient (was it made under no_grad() or from detached data?)"
        )
    if grad is None:
        if output.size != 1:
            raise RuntimeError(
                f"backward() on a non-scalar tensor of shape {output.shape} needs a seed gradient "
                "of that shape, e.g. y.backward(grad); only a one-element output gets the implicit seed 1"
            )
        return Tensor(backend.array_module(output.data).ones_like(output.data))
    seed = ops.constant(grad.data if isinstance(grad, Tensor) else grad, like=output)  # same dtype and backend
    if seed.shape != output.shape:
        raise ValueError(f"seed gradient has shape {seed.shape}, expected the output's shape {output.shape}")
    return seed


def _topological_order(root: Function) -> list[Function]:
    """The Functions that ``root`` depends on, ``root`` first, each before those that made its inputs.

    Iterative depth-first search (no recursion, so a chain of any length works): a
    Function is appended after everything upstream of it; reversing gives the order.
    """
    order, visited = [], set()
    stack = [(root, False)]
    while stack:
        function, upstream_done = stack.pop()
        if upstream_done:
            order.append(function)
            continue
        if function in visited:
            continue
        if function.inputs is None:
            raise RuntimeError(
                f"the graph through {type(function).__name__} was freed by an earlier backward(); "
                "pass retain_graph=True to the first backward() to backpropagate twice"
            )
        visited.add(function)
        stack.append((function, True))
        for x in function.inputs:
            if x.creator is not None and x.creator not in visited:
                stack.append((x.creator, False))
    order.reverse()
    return order


def _functions_reaching(targets: set, functions: list[Function]) -> set[Function]:
    """The Functions with a target upstream of them: the only ones ``grad(output, targets)``
    must backpropagate through (a gradient penalty wants dD/dx, not D's weight gradients)."""
    reaching = set()
    for function in reversed(functions):  # producers before the Functions that use their outputs
        if any(needed and (x in targets or x.creator in reaching)
               for x, needed in zip(function.inputs, function.required, strict=True)):
            reaching.add(function)
    return reaching


def _add_into(grads: dict, key, g: Tensor) -> None:
    grads[key] = g if key not in grads else grads[key] + g


def _backpropagate(output: Tensor, seed: Tensor, *, create_graph: bool, retain_graph: bool, targets=None):
    """Send dL/d(output) = ``seed`` back through the graph: the chain rule, one Function at a time.

    With ``targets=None`` each leaf that requires grad gets its gradient added to ``.grad``.
    Otherwise the gradients of ``targets`` are returned and no ``.grad`` is touched.
    """
    functions = _topological_order(output.creator) if output.creator is not None else []
    output_grads = {output.creator: seed}  # dL/d(output of f), keyed by the Function f
    leaf_grads = {} if output.creator is not None else {output: seed}
    wanted = {t.creator: t for t in targets or () if t.creator is not None}
    target_set = set(targets or ())
    on_path = None if targets is None else _functions_reaching(target_set, functions)
    found = {}
    with _grad_mode(create_graph):
        for function in functions:
            gy = output_grads.pop(function, None)
            if gy is None:
                continue
            if function in wanted:
                found[wanted[function]] = gy
            if on_path is None:
                function.needs_grad = list(function.required)  # as recorded when the graph was built
            elif function in on_path:
                function.needs_grad = [
                    needed and (x in target_set or x.creator in on_path)
                    for x, needed in zip(function.inputs, function.required, strict=True)
                ]
            else:
                continue  # nothing upstream of this Function is a target
            gxs = function.backward(gy)
            if not isinstance(gxs, tuple):
                gxs = (gxs,)
            for x, gx, needed in zip(function.inputs, gxs, function.needs_grad, strict=True):
                if gx is None or not needed:
                    continue
                if x.creator is None:
                    _add_into(leaf_grads, x, gx)
                else:
                    _add_into(output_grads, x.creator, gx)
        if targets is None:
            for leaf, g in leaf_grads.items():
                leaf.grad = g if leaf.grad is None else leaf.grad + g
    if not retain_graph:
        for function in functions:
            function.release()
    if targets is not None:
        found.update((t, leaf_grads[t]) for t in targets if t in leaf_grads)
        return [found.get(t) for t in targets]
    return None


def grad(output: Tensor, inputs, grad_output=None, *, create_graph: bool = False, retain_graph=None):
    """dL/dx for each x in ``inputs`` (L = ``output``), returned, not stored in ``.grad``.

    The functional form of ``backward``: nothing else's ``.grad`` changes, which is what a
    gradient penalty needs. An input that ``output`` does not depend on gets zeros.
    """
    inputs = list(inputs)
    for i, x in enumerate([output, *inputs]):
        if not isinstance(x, Tensor):
            what = "output" if i == 0 else f"inputs[{i - 1}]"
            raise TypeError(f"grad: {what} is a {type(x).__name__}, expected a Tensor "
                            "(gradients are taken of and with respect to Tensors)")
    seed = _seed_gradient(output, grad_output)
    if retain_graph is None:
        retain_graph = create_graph
    grads = _backpropagate(output, seed, create_graph=create_graph, retain_graph=retain_graph, targets=inputs)
    return [
        g if g is not None else Tensor(backend.array_module(x.data).zeros_like(x.data))
        for g, x in zip(grads, inputs, strict=True)
    ]


from minigan import ops  # noqa: E402  (ops builds on Tensor and Function, defined above)
