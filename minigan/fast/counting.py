"""A NumPy that counts every array operation, for the benchmarks.

On a GPU each array operation is one kernel launch, and each value read back to the host
one wait for the device; a training step's cost there is largely the number of both.
``counting()`` measures them on the CPU:

    with counting() as tally:
        model = ...            # build the networks inside the block
        model.train_step()
    tally.calls, tally.readbacks

Inside the block the backend is NumPy wrapped so that every array it makes counts each
operation done on it (operators, NumPy functions, copies, writes) and each read-back to
a Python number or a host copy (``backend.to_numpy``). Results are exactly NumPy's; only slower.
"""

from __future__ import annotations

import collections
import contextlib
from types import ModuleType

import numpy

from minigan import backend

__all__ = ["counting", "CallTally"]


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
    """Count array operations: ``with counting() as tally: ...`` then ``tally.calls`` and ``tally.readbacks``."""
    global _active_tally
    if backend.current() is not numpy:  # current(): the backend may not have been chosen yet
        raise backend.BackendError(f"counting() wraps NumPy, but the backend is {backend.name()!r}")
    tally, module, plain = CallTally(), _CountingNumPy(), (backend.array_module, backend.to_numpy)

    def array_module(*arrays):  # counted arrays belong to the counting NumPy, so what ops make is counted
        found = plain[0](*arrays)
        return module if found is numpy else found

    def to_numpy(array):
        if isinstance(array, _CountedArray):
            _tally("to_numpy", readback=True)
        return plain[1](array)

    backend._current, backend.array_module, backend.to_numpy, _active_tally = module, array_module, to_numpy, tally
    try:
        yield tally
    finally:
        backend._current, (backend.array_module, backend.to_numpy), _active_tally = numpy, plain, None
