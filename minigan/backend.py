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
"""

from __future__ import annotations

import os
import sys
from types import ModuleType

import numpy

__all__ = ["BackendError", "use", "current", "name", "available", "array_module", "is_array", "asarray",
           "to_numpy", "KNOWN"]

KNOWN = ("numpy", "cupy")
ENV_VAR = "MINIGAN_BACKEND"
_current: ModuleType | None = None  # chosen on first use: MINIGAN_BACKEND, else NumPy


class BackendError(RuntimeError):
    """Raised when a backend cannot be used, or when two backends meet in one op."""


def _load(backend_name: str) -> ModuleType:
    if backend_name not in KNOWN:
        raise BackendError(f"unknown backend {backend_name!r}; known backends: {', '.join(KNOWN)}")
    if backend_name == "numpy":
        return numpy
    try:
        import cupy
    except ImportError:
        raise BackendError("backend 'cupy' needs CuPy, which is not installed; in a clone of minigan: .venv/bin/pip "
                           "install -e '.[gpu-cuda12]' (or '.[gpu-cuda13]' for a CUDA 13 driver)") from None
    try:
        devices = cupy.cuda.runtime.getDeviceCount()
    except Exception as exc:  # the CUDA driver is missing or broken: CuPy raises its own types
        raise BackendError(f"backend 'cupy' needs a CUDA GPU, but CUDA reported: {exc}") from None
    if devices == 0:
        raise BackendError("backend 'cupy' needs a CUDA GPU, but none is present")
    return cupy


def use(backend_name: str) -> ModuleType:
    """Make ``backend_name`` ('numpy' or 'cupy') the module new arrays are made with."""
    global _current
    _current = _load(str(backend_name).strip().lower())
    return _current


def current() -> ModuleType:
    """The array module new tensors are created with (on first use: MINIGAN_BACKEND, else NumPy)."""
    if _current is None:
        try:
            use(os.environ.get(ENV_VAR, "").strip() or "numpy")
        except BackendError as exc:
            raise BackendError(f"{exc} (set by the environment variable {ENV_VAR})") from None
    return _current


def name() -> str:
    """'numpy' or 'cupy'."""
    return current().__name__


def available() -> list[str]:
    """The backends that can run here ('numpy' always; 'cupy' with CuPy and a GPU)."""
    try:
        return ["numpy", _load("cupy").__name__]
    except BackendError:
        return ["numpy"]


def _module_of(array) -> ModuleType | None:
    """NumPy or CuPy for an array (or NumPy scalar) of either; None for anything else."""
    if isinstance(array, (numpy.ndarray, numpy.generic)):
        return numpy
    if type(array).__module__.startswith("cupy"):
        return sys.modules["cupy"]  # a CuPy array exists, so CuPy is imported
    return None


def is_array(value) -> bool:
    """True for a NumPy or CuPy array (or a NumPy scalar)."""
    return _module_of(value) is not None


def array_module(*arrays) -> ModuleType:
    """The module (numpy or cupy) the given arrays live in, which an op computes with;
    an error if they live in two."""
    if len(arrays) == 1 and isinstance(arrays[0], numpy.ndarray):
        return numpy  # the common case, answered first: every op asks
    modules = {_module_of(a) for a in arrays} - {None}
    if len(modules) > 1:
        kinds = ", ".join(f"{type(a).__module__}.{type(a).__name__}" for a in arrays)
        raise BackendError(f"arrays from two backends met in one operation ({kinds}); "
                           "move them to one backend first (backend.asarray / backend.to_numpy)")
    return modules.pop() if modules else current()


def asarray(data, dtype=None):
    """``data`` (numbers, lists, host arrays) as an array of the current backend; a host array
    is copied to the GPU when the backend is CuPy, and a GPU array stays where it is."""
    module = _module_of(data)
    return (module if module not in (None, numpy) else current()).asarray(data, dtype=dtype)


def to_numpy(array) -> numpy.ndarray:
    """A host (NumPy) array from an array of either backend, for plotting and saving."""
    return array.get() if _module_of(array) not in (None, numpy) else numpy.asarray(array)
