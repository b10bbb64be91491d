"""Which array module does the arithmetic: NumPy (the default) or CuPy (on a GPU).

This is the one place in minigan that decides. Everything else asks it:

    xp = backend.current()          # the module new arrays are made with
    xp = backend.array_module(a)    # the module an existing array belongs to

Switch with ``minigan.backend.use("cupy")`` or by setting ``MINIGAN_BACKEND=cupy``
before minigan first makes an array. Both modules share the NumPy API, so the autodiff code
is written once, against ``xp``, and runs on either.

Random numbers are drawn on the host (see ``minigan.rng``) and moved here with
``asarray``, so both backends start from the same numbers; after that they agree only
within float32 rounding (their libraries sum in different orders), and over a long
training run such differences grow.

``counting()`` wraps NumPy so that every array operation is tallied: on CuPy each
would be one kernel launch, so the tally says how many launches a training step costs.
"""

from __future__ import annotations

import collections
import contextlib
import os
import sys
from types import ModuleType

import numpy

__all__ = [
    "BackendError",
    "use",
    "current",
    "name",
    "available",
    "array_module",
    "is_array",
    "asarray",
    "to_numpy",
    "counting",
    "CallTally",
]

ENV_VAR = "MINIGAN_BACKEND"
KNOWN = ("numpy", "cupy")


class BackendError(RuntimeError):
    """Raised when a backend cannot be used, or when two backends meet in one op."""


def _import_cupy() -> ModuleType:
    """Import CuPy and check that a GPU is there, or say clearly why not."""
    try:
        import cupy
    except ImportError as exc:
        raise BackendError(
            "backend 'cupy' needs CuPy, which is not installed "
            "(install it with: pip install 'minigan[gpu-cuda12]', or 'minigan[gpu-cuda13]' for a CUDA 13 driver)"
        ) from exc
    try:
        n_devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # CUDA driver missing or broken: CuPy raises its own types
        raise BackendError(f"backend 'cupy' needs a CUDA GPU, but CUDA reported: {exc}") from exc
    if n_devices == 0:
        raise BackendError("backend 'cupy' needs a CUDA GPU, but none is present")
    return cupy


def _load(backend_name: str) -> ModuleType:
    if backend_name == "numpy":
        return numpy
    if backend_name == "cupy":
        return _import_cupy()
    raise BackendError(f"unknown backend {backend_name!r}; known backends: {', '.join(KNOWN)}")


_current: ModuleType | None = None  # chosen on first use: MINIGAN_BACKEND, else NumPy


def _from_environment() -> ModuleType:
    """The backend MINIGAN_BACKEND names (NumPy when unset); read once, on first use, so a
    bad value is a BackendError there (the command line reports it in one line)."""
    global _current
    requested = os.environ.get(ENV_VAR, "numpy").strip().lower() or "numpy"
    try:
        _current = _load(requested)
    except BackendError as exc:
        raise BackendError(f"{exc} (set by the environment variable {ENV_VAR})") from None
    return _current


def use(backend_name: str) -> ModuleType:
    """Make ``backend_name`` ('numpy' or 'cupy') the module new arrays are made with."""
    global _current
    _current = _load(str(backend_name).strip().lower())
    return _current


def current() -> ModuleType:
    """The array module new tensors are created with."""
    return _current or _from_environment()


def name() -> str:
    """'numpy' or 'cupy'."""
    return current().__name__


def available() -> list[str]:
    """The backends that can run on this machine ('numpy' always; 'cupy' with a GPU)."""
    names = ["numpy"]
    try:
        _import_cupy()
        names.append("cupy")
    except BackendError:
        pass
    return names


def _module_of(array) -> ModuleType | None:
    """NumPy or CuPy for an array (or NumPy scalar) of either; None for anything else."""
    if isinstance(array, _CountedArray):
        return _counting_module or numpy
    if isinstance(array, (numpy.ndarray, numpy.generic)):
        return numpy
    if type(array).__module__.startswith("cupy"):
        return sys.modules["cupy"]  # a CuPy array exists, so CuPy is imported
    return None


def is_array(value) -> bool:
    """True for a NumPy or CuPy array."""
    return _module_of(value) is not None


def array_module(*arrays) -> ModuleType:
    """The module (numpy or cupy) the given arrays live in, which an op computes with;
    an error if they live in two."""
    if len(arrays) == 1 and type(arrays[0]) is numpy.ndarray:
        return numpy  # the common case, answered fast: ops ask this for every array
    modules = {_module_of(a) for a in arrays} - {None}
    if len(modules) > 1:
        kinds = ", ".join(f"{type(a).__module__}.{type(a).__name__}" for a in arrays)
        raise BackendError(
            f"arrays from two backends met in one operation ({kinds}); "
            "move them to one backend first (backend.asarray / backend.to_numpy)"
        )
    return modules.pop() if modules else current()


def asarray(data, dtype=None):
    """``data`` (numbers, lists, host arrays) as an array of the current backend.

    A host array is copied to the GPU when the backend is CuPy; a GPU array stays
    where it is (use ``to_numpy`` to bring one to the host).
    """
    module = _module_of(data)
    if module is not None and module is not numpy:
        return module.asarray(data, dtype=dtype)
    return current().asarray(data, dtype=dtype)


def to_numpy(array) -> numpy.ndarray:
    """A host (NumPy) array from an array of either backend, for plotting and saving."""
    module = _module_of(array)
    if isinstance(array, _CountedArray):
        _tally("to_numpy", readback=True)
    if module is None or module.__name__ == "numpy":
        return numpy.asarray(array)
    return array.get()


# ----------------------------------------------------------------------------- counting array calls


class CallTally:
    """How many array operations ran, by name, and how many values were read back to the host."""

    def __init__(self):
        self.calls: collections.Counter = collections.Counter()
        self.readbacks = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.readbacks = 0


_active_tally: CallTally | None = None
_counting_module: ModuleType | None = None
_depth = 0  # > 0 while NumPy runs an operation already counted (its inner calls are not counted again)


def _tally(name: str, readback: bool = False) -> None:
    if _active_tally is not None and _depth == 0:
        if readback:
            _active_tally.readbacks += 1
        else:
            _active_tally.calls[name] += 1


def _counted(value):
    """NumPy results as counted arrays (scalars as 0-d arrays, as CuPy returns them)."""
    if isinstance(value, numpy.ndarray) and not isinstance(value, _CountedArray):
        return value.view(_CountedArray)
    if isinstance(value, numpy.generic):
        return numpy.asarray(value).view(_CountedArray)
    if isinstance(value, tuple):
        return tuple(_counted(v) for v in value)
    return value


def _plain(value):
    if isinstance(value, _CountedArray):
        return value.view(numpy.ndarray)
    if isinstance(value, (tuple, list)):
        return type(value)(_plain(v) for v in value)
    return value


class _CountedArray(numpy.ndarray):
    """A NumPy array that tallies each operation on it: ufuncs (operators included),
    NumPy functions, copies, writes, and read-backs to Python numbers."""

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        global _depth
        _tally(ufunc.__name__ if method == "__call__" else f"{ufunc.__name__}.{method}")
        out = kwargs.get("out")
        if out is not None:
            kwargs["out"] = _plain(out)
        _depth += 1
        try:
            result = getattr(ufunc, method)(*_plain(inputs), **kwargs)
        finally:
            _depth -= 1
        if out is not None:
            return out[0] if len(out) == 1 else out
        return _counted(result)

    def __array_function__(self, func, types, args, kwargs):
        global _depth
        _tally(func.__name__)
        _depth += 1
        try:
            result = func(*_plain(args), **{k: _plain(v) for k, v in kwargs.items()})
        finally:
            _depth -= 1
        return _counted(result)

    def _counting_method(name, readback=False):
        method = getattr(numpy.ndarray, name)

        def counted(self, *args, **kwargs):
            global _depth
            _tally(name, readback)
            _depth += 1
            try:
                return _counted(method(self, *args, **kwargs)) if not readback else method(self, *args, **kwargs)
            finally:
                _depth -= 1

        return counted

    copy = _counting_method("copy")
    astype = _counting_method("astype")
    fill = _counting_method("fill")
    __setitem__ = _counting_method("__setitem__")
    item = _counting_method("item", readback=True)
    tolist = _counting_method("tolist", readback=True)
    __float__ = _counting_method("__float__", readback=True)
    __int__ = _counting_method("__int__", readback=True)
    __bool__ = _counting_method("__bool__", readback=True)
    del _counting_method


class _CountingNumPy(ModuleType):
    """NumPy, except that arrays made through it are counted arrays (and their making is counted)."""

    MAKERS = ("asarray", "array", "zeros", "ones", "empty", "full", "arange", "eye")

    def __init__(self):
        super().__init__("numpy", "NumPy with every array operation counted (minigan.backend.counting)")
        self.ndarray = _CountedArray

    def __getattr__(self, name):
        value = getattr(numpy, name)
        if name not in self.MAKERS:
            return value  # ufuncs and functions count themselves through the counted arrays they get

        def make(*args, **kwargs):
            if not (args and isinstance(args[0], _CountedArray)):  # asarray of a counted array: no work
                _tally(name)
            return _counted(value(*args, **kwargs))

        return make


@contextlib.contextmanager
def counting():
    """Count array operations: ``with backend.counting() as tally: ...`` then ``tally.calls``.

    Inside the block the backend is NumPy wrapped so that every array it makes counts
    each operation done on it (operators, NumPy functions, copies, writes) in
    ``tally.calls``, and each read-back to a Python number in ``tally.readbacks``. Build
    the networks inside the block. Results are exactly NumPy's; only slower."""
    global _current, _active_tally, _counting_module
    if current() is not numpy:  # current(): the backend may not have been chosen yet
        raise BackendError(f"counting() wraps NumPy, but the backend is {name()!r}")
    tally = CallTally()
    _current = _counting_module = _CountingNumPy()
    _active_tally = tally
    try:
        yield tally
    finally:
        _current, _active_tally, _counting_module = numpy, None, None
