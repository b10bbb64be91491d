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

Two guards, as in PyTorch: each tensor counts the in-place changes of its data
(``version``; an optimiser's update is one), and ``backward()`` refuses a graph whose
inputs changed after it was built, instead of mixing old activations with new weights;
and whether operations are recorded (``no_grad``) is decided per thread.
"""

from __future__ import annotations

import contextlib
import threading
import weakref

import numpy as np  # host copies, for printing only

from minigan import backend

__all__ = ["Tensor", "Function", "no_grad", "is_grad_enabled", "grad", "FLOAT_DTYPES"]

FLOAT_DTYPES = (np.dtype("float32"), np.dtype("float64"))  # the dtypes ops compute in and gradients exist for

# ----------------------------------------------------------------------------- grad mode, per thread

class _Mode(threading.local):
    enabled = True  # each thread starts recording; a no_grad() in one leaves the others as they are


_mode = _Mode()


def is_grad_enabled() -> bool:
    """True when new operations (in this thread) are recorded for backpropagation."""
    return _mode.enabled


class _grad_mode(contextlib.ContextDecorator):
    """Grad mode ``enabled`` inside a ``with`` block (or a decorated function), the mode before
    it after; the same object can be entered again, even inside itself, as PyTorch's ``no_grad()``."""

    def __init__(self, enabled: bool): self.enabled, self.previous = enabled, []
    def _recreate_cm(self): return _grad_mode(self.enabled)  # a decorated function: a fresh one per call, per thread

    def __enter__(self):
        self.previous.append(_mode.enabled)
        _mode.enabled = self.enabled

    def __exit__(self, *exc_info): _mode.enabled = self.previous.pop()


def no_grad():
    """Context manager (or decorator): operations inside record no graph (evaluation, optimiser steps)."""
    return _grad_mode(False)


# ----------------------------------------------------------------------------- Tensor


class Tensor:
    """An array with an optional gradient and a link to the Function that made it.

    ``requires_grad=True`` marks a leaf whose gradient ``backward()`` should compute (a
    parameter, or an input under study); only float32 and float64 tensors can require one.
    Numbers, lists and host (NumPy) arrays are placed on the current backend; an array
    already on a GPU stays there. An array of the backend's own type is used as it is, not
    copied (as ``torch.from_numpy`` shares its array): editing that array changes the tensor,
    unseen by the version counters that guard a graph; pass ``array.copy()`` to keep them
    apart. Operators (+, *, @, ...) are the ops of ``minigan.ops``, attached there.
    Comparisons are elementwise and return plain boolean arrays; a Tensor is hashed by
    identity (``a is b`` asks "the same tensor?"). As in PyTorch, ``bool(t)``, ``float(t)``
    and ``int(t)`` need exactly one element, and ``np.asarray(t)`` refuses a tensor that
    requires a gradient (``t.detach().numpy()`` says what is meant).
    """

    __slots__ = ("_data", "grad", "creator", "name", "requires_grad", "version", "__weakref__")
    __array_ufunc__ = None  # `array * tensor` calls Tensor.__rmul__ instead of looping in NumPy

    def __init__(self, data, requires_grad: bool = False, name: str | None = None):
        if isinstance(data, Tensor):
            raise TypeError("Tensor(data) takes an array, not a Tensor; "
                            "use tensor.detach() for a tensor that shares the data without the graph")
        array = data if type(data) is backend.current().ndarray else _as_array(data)
        if array.dtype.kind not in "biuf":
            raise TypeError(f"Tensor(data) needs numbers (bool, integer or floating point), got "
                            f"{type(data).__name__} {data!r:.60} (dtype {array.dtype})")
        self._data, self.grad, self.creator, self.name, self.version = array, None, None, name, 0
        self.requires_grad = False
        self.requires_grad_(requires_grad)

    @property
    def data(self):
        return self._data

    @data.setter
    def data(self, array) -> None:
        """Replacing the array is a change, like an in-place update: graphs built on the old one are stale."""
        self._data, self.version = array, self.version + 1

    def requires_grad_(self, flag: bool = True) -> Tensor:
        """Set ``requires_grad`` and return the tensor (PyTorch's spelling); only a float32 or float64
        tensor can require a gradient (an op refuses any other dtype anyway)."""
        if flag and self.dtype not in FLOAT_DTYPES:
            raise TypeError(f"only float32 and float64 tensors can require gradients, but {self._label()} has "
                            f"dtype {self.dtype}; convert it first, e.g. Tensor(data.astype('float32'), requires_grad=True)")
        self.requires_grad = bool(flag)
        return self

    shape = property(lambda self: self._data.shape)
    ndim = property(lambda self: self._data.ndim)
    size = property(lambda self: self._data.size)
    dtype = property(lambda self: self._data.dtype)

    def _label(self) -> str: return f"tensor {self.name!r}" if self.name else f"a tensor of shape {self.shape}"

    def __repr__(self) -> str:
        """Like PyTorch: the values (abridged by NumPy when large), then what is not obvious:
        ``tensor([[1., 2.]], dtype=float64, requires_grad=True, creator=Mul)``."""
        values = np.array2string(self.numpy(), separator=", ", prefix="tensor(")
        details = [f"name={self.name!r}"] * bool(self.name) + [f"dtype={self.dtype}"]
        details += ["requires_grad=True"] * self.requires_grad
        details += [f"creator={type(self.creator).__name__}"] * (self.creator is not None)
        return f"tensor({values}, {', '.join(details)})"

    # -- Python's protocols, answered as NumPy and PyTorch answer them
    def item(self):
        """The value of a one-element tensor as a Python number."""
        return self._data.item()

    __bool__ = lambda self: bool(self._data)  # noqa: E731  (one element, else an error: `if loss:` is not "not empty")
    __float__ = lambda self: float(self.item())  # noqa: E731
    __int__ = lambda self: int(self.item())  # noqa: E731

    def __len__(self) -> int:
        if self.ndim == 0:
            raise TypeError("a 0-d tensor has no len() and no iteration over its rows")
        return self.shape[0]

    def __iter__(self):
        """The rows along the first axis, each a Tensor in the graph (as PyTorch iterates)."""
        return (self[i] for i in range(len(self)))

    def __array__(self, dtype=None, copy=None):
        if self.requires_grad:
            raise TypeError(f"cannot turn {self._label()} that requires grad into a NumPy array; "
                            "use t.detach().numpy()")
        return self.numpy() if dtype is None else self.numpy().astype(dtype)

    def numpy(self) -> np.ndarray:
        """A host (NumPy) array of the data (a copy when the data lives on a GPU)."""
        return backend.to_numpy(self._data)

    def detach(self) -> Tensor:
        """The same data, cut from the graph: no gradient flows back through it."""
        return Tensor(self._data, name=self.name)

    __lt__ = lambda self, other: self._data < _raw(other)  # noqa: E731
    __le__ = lambda self, other: self._data <= _raw(other)  # noqa: E731
    __gt__ = lambda self, other: self._data > _raw(other)  # noqa: E731
    __ge__ = lambda self, other: self._data >= _raw(other)  # noqa: E731
    __eq__ = lambda self, other: self._data == _raw(other)  # noqa: E731
    __ne__ = lambda self, other: self._data != _raw(other)  # noqa: E731
    __hash__ = object.__hash__  # by identity: defining __eq__ would otherwise make Tensors unhashable

    def backward(self, grad=None, *, retain_graph: bool | None = None, create_graph: bool = False) -> None:
        """Add dL/d(leaf) to ``leaf.grad`` for every leaf that requires grad and that L = self depends on.

        A one-element L gets the seed dL/dL = 1; a larger output needs ``grad``, the gradient of
        some scalar with respect to it. The graph is freed afterwards unless ``retain_graph``
        (default: ``create_graph``); ``create_graph=True`` records the backward pass itself.
        """
        seed = _seed(self, grad)
        grads = _chain_rule(self, seed, create_graph, retain_graph)
        with _grad_mode(create_graph):
            owned = {id(seed.data)}  # a leaf's .grad gets an array of its own, never one it shares
            for x, g in grads.items():
                if x.creator is None:  # a leaf that requires grad (others receive no gradient)
                    if id(g.data) in owned or not g.data.flags.owndata:
                        g = g * 1  # a copy (recorded when create_graph)
                    owned.add(id(g.data))
                    x.grad = g if x.grad is None else x.grad + g


def _raw(value): return value.data if isinstance(value, Tensor) else value


def _as_array(data):
    """``data`` on the backend; ragged nested lists and unconvertible objects are refused."""
    try:
        return backend.asarray(data)
    except (ValueError, TypeError) as exc:
        raise TypeError(f"Tensor(data) needs numbers in a regular (rectangular) shape, got "
                        f"{type(data).__name__}: {exc}") from None


# ----------------------------------------------------------------------------- Function


class Function:
    """One differentiable operation. Subclasses define ``forward`` and ``backward``.

    ``forward`` receives the inputs' arrays and returns the output array.
    ``backward`` receives gy = dL/dy as a Tensor and returns dL/dx for each input (a
    Tensor, or None for no gradient), using ``self.inputs`` and ``self.output`` as it
    needs; ``self.needs_grad[i]`` says whether input i's gradient is wanted, so an
    expensive backward (a matrix product) skips the ones that are not.

    Whether an input gets a gradient at all is decided when the graph is built, as in
    PyTorch: a parameter frozen while the loss was computed gets none (``nn.frozen``).
    Inputs are float32 or float64 tensors of one dtype on one backend; the output has
    their dtype.
    """

    inputs: tuple[Tensor, ...] | None = None  # set while the graph is alive

    def __call__(self, *inputs: Tensor) -> Tensor:
        arrays = _checked_arrays(self, inputs)
        result = self.forward(*arrays)
        if type(result) is not backend.current().ndarray:  # a NumPy scalar from a full reduction, or a mistake
            if isinstance(result, Tensor) or not backend.is_array(result):
                raise TypeError(f"{type(self).__name__}.forward must return an array, got {type(result).__name__}")
            result = backend.asarray(result)
        if result.dtype != inputs[0]._data.dtype:
            raise TypeError(f"{type(self).__name__} of {inputs[0].dtype} tensors gave {result.dtype}")
        output = Tensor.__new__(Tensor)  # __init__'s checks are made: inputs of one float dtype
        output._data, output.grad, output.creator, output.name, output.version = result, None, None, None, 0
        output.requires_grad = False
        required = [x.requires_grad for x in inputs]
        if True in required and _mode.enabled:  # record this Function in the graph
            output.requires_grad, output.creator = True, self
            self.inputs, self.required = inputs, required
            self.versions = [x.version for x in inputs]  # backward() refuses if any of them changes
            self._output = weakref.ref(output)  # weak: the output already points at us
        return output

    @property
    def output(self) -> Tensor:
        """The tensor this Function made (some backwards reuse it: exp, tanh, sigmoid)."""
        return self._output()

    def forward(self, *arrays): raise NotImplementedError

    def backward(self, gy: Tensor): raise NotImplementedError

    def __repr__(self) -> str: return f"{type(self).__name__}()"


def _checked_arrays(function: Function, inputs) -> list:
    """The inputs' arrays, once they are checked: Tensors, of one backend and one float dtype (an op
    never changes a dtype silently)."""
    name = type(function).__name__
    try:
        arrays = [x._data for x in inputs]
    except AttributeError:  # one of them is not a Tensor
        i, x = next((i, x) for i, x in enumerate(inputs) if not isinstance(x, Tensor))
        raise TypeError(f"{name}: input {i} is a {type(x).__module__}.{type(x).__name__}, "
                        "not a Tensor; wrap it first: Tensor(value)") from None
    first = arrays[0]
    for a in arrays:
        if type(a) is not type(first):
            backend.array_module(first, a)  # raises BackendError if they live on two backends
        if a.dtype is not first.dtype and a.dtype != first.dtype:
            raise TypeError(f"{name}: inputs have dtypes {first.dtype} and {a.dtype}; "
                            "minigan never changes dtype silently, so convert one input first")
    if first.dtype not in FLOAT_DTYPES:
        raise TypeError(f"{name} computes on float32 or float64 tensors, not {first.dtype} (its sums and products "
                        "would wrap, round or change type); convert first, e.g. Tensor(x.data.astype('float32'))")
    return arrays


# ----------------------------------------------------------------------------- backward


def _seed(output: Tensor, grad) -> Tensor:
    """dL/d(output): 1 for a one-element output, else ``grad``, checked against the output."""
    if not output.requires_grad:
        raise RuntimeError(f"backward() on {output._label()} that does not require grad: nothing it was computed "
                           "from requires a gradient (was it made under no_grad() or from detached data?)")
    if grad is None:
        if output.size != 1:
            raise RuntimeError(f"backward() on a non-scalar tensor of shape {output.shape} needs a seed gradient "
                               "of that shape, e.g. y.backward(grad); only a one-element output gets the seed 1")
        return Tensor(backend.array_module(output.data).ones_like(output.data))
    raw = grad.data if isinstance(grad, Tensor) else grad  # numbers and lists take the output's dtype
    if backend.is_array(raw) and raw.dtype != output.dtype:
        raise TypeError(f"a seed gradient of dtype {raw.dtype} met a tensor of dtype {output.dtype}; "
                        "minigan never changes dtype silently, so convert it first")
    seed = Tensor(raw if backend.is_array(raw) else backend.array_module(output.data).asarray(raw, dtype=output.dtype))
    if seed.shape != output.shape:
        raise ValueError(f"seed gradient has shape {seed.shape}, expected the output's shape {output.shape}")
    return seed


def _chain_rule(output: Tensor, seed: Tensor, create_graph: bool, retain_graph, targets=frozenset()) -> dict:
    """{tensor: dL/d tensor}: ``seed`` = dL/d(output) sent back through the graph, one Function at a
    time, each after every Function that uses its output. Only leaves (and ``targets``) keep theirs."""
    graph = _topological_order(output)
    order = _leading_to(targets, graph) if targets else graph  # grad() walks only what leads to its targets
    on_path = set(order)
    grads = {output: seed}
    with _grad_mode(create_graph):
        for function in order:
            y = function._output()
            gy = grads.get(y) if y in targets else grads.pop(y, None)
            if gy is None:
                continue
            function.needs_grad = [needed and (x in targets or x.creator in on_path) for x, needed in
                                   zip(function.inputs, function.required)] if targets else function.required
            gxs = function.backward(gy)
            for x, gx, needed in zip(function.inputs, gxs if isinstance(gxs, tuple) else (gxs,), function.needs_grad):
                if needed and gx is not None:
                    grads[x] = gx if x not in grads else grads[x] + gx
    if not (create_graph if retain_graph is None else retain_graph):
        for function in graph:
            function.__dict__.clear()  # free the graph: its inputs and saved arrays can go
    return grads


def _topological_order(output: Tensor) -> list[Function]:
    """The Functions ``output`` depends on, each before those that made its inputs: a depth-first
    search (iterative, so a chain of any length works), reversed. It also refuses a graph whose
    inputs changed after it was built, or that an earlier backward() freed."""
    order, visited, stack = [], set(), [(output.creator, False)] if output.creator else []
    while stack:
        function, upstream_done = stack.pop()
        if upstream_done:
            order.append(function)
        elif function not in visited:
            visited.add(function)
            _check_alive(function)
            stack.append((function, True))
            stack.extend((x.creator, False) for x in function.inputs if x.creator is not None)
    return order[::-1]


def _check_alive(function: Function) -> None:
    if function.inputs is None:
        raise RuntimeError(f"the graph through {type(function).__name__} was freed by an earlier backward(); "
                           "pass retain_graph=True to the first backward() to backpropagate twice")
    if function.versions != [x.version for x in function.inputs]:
        x = next(x for x, version in zip(function.inputs, function.versions) if x.version != version)
        raise RuntimeError(f"{x._label()}, an input of {type(function).__name__}, was changed in place after "
                           "the graph was built (an optimiser step?), so the gradient would mix old and new "
                           "values; compute the loss again after the change")


def _leading_to(targets, order: list[Function]) -> list[Function]:
    """The Functions of ``order`` with a target upstream of them, in that order."""
    leading = set()
    for function in reversed(order):  # producers before the Functions that use their outputs
        if any(needed and (x in targets or x.creator in leading) for x, needed in zip(function.inputs, function.required)):
            leading.add(function)
    return [f for f in order if f in leading]


def grad(output: Tensor, inputs, grad_output=None, *, create_graph: bool = False, retain_graph=None) -> list:
    """dL/dx for each x in ``inputs`` (L = ``output``), returned, not added to any ``.grad``.

    The functional form of ``backward``, built on the same chain rule, which walks only what
    leads to ``inputs``: a gradient penalty wants dD/dx, not D's weight gradients. An input
    that ``output`` does not depend on gets zeros.
    """
    inputs = list(inputs)
    for i, x in enumerate([output, *inputs]):
        if not isinstance(x, Tensor):
            raise TypeError(f"grad: {'output' if i == 0 else f'inputs[{i - 1}]'} is a {type(x).__name__}, "
                            "expected a Tensor (gradients are taken of and with respect to Tensors)")
    grads = _chain_rule(output, _seed(output, grad_output), create_graph, retain_graph, targets=set(inputs))
    return [grads[x] if x in grads else Tensor(backend.array_module(x.data).zeros_like(x.data)) for x in inputs]
