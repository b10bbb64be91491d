"""Which array module does the arithmetic: NumPy (the default) or CuPy (on a GPU).

This is the one place in minigan that decides. Everything else asks it:

    xp = backend.current()          # the module new arrays are made with
    xp = backend.array_module(a)    # the module an existing array belongs to

Switch with ``minigan.backend.use("cupy")`` or by setting ``MINIGAN_BACKEND=cupy``
before minigan is imported. Both modules share the NumPy API, so the autodiff code
is written once, against ``xp``, and runs on either.

Random numbers are drawn on the host (see ``minigan.rng``) and moved here with
``asarray``, so one seed gives the same run on both backends.
"""

from __future__ import annotations

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
            "(install it with: pip install 'minigan[gpu]')"
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


_current: ModuleType = _load(os.environ.get(ENV_VAR, "numpy").strip().lower() or "numpy")


def use(backend_name: str) -> ModuleType:
    """Make ``backend_name`` ('numpy' or 'cupy') the module new arrays are made with."""
    global _current
    _current = _load(str(backend_name).strip().lower())
    return _current


def current() -> ModuleType:
    """The array module new tensors are created with."""
    return _current


def name() -> str:
    """'numpy' or 'cupy'."""
    return _current.__name__


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
    return modules.pop() if modules else _current


def asarray(data, dtype=None):
    """``data`` (numbers, lists, host arrays) as an array of the current backend.

    A host array is copied to the GPU when the backend is CuPy; a GPU array stays
    where it is (use ``to_numpy`` to bring one to the host).
    """
    module = _module_of(data)
    if module is not None and module is not numpy:
        return module.asarray(data, dtype=dtype)
    return _current.asarray(data, dtype=dtype)


def to_numpy(array) -> numpy.ndarray:
    """A host (NumPy) array from an array of either backend, for plotting and saving."""
    if _module_of(array) in (numpy, None):
        return numpy.asarray(array)
    return array.get()
