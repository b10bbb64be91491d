"""The array-module switch: NumPy by default, CuPy on request, clear errors otherwise."""

import os
import subprocess
import sys
import types

import numpy as np
import pytest

from minigan import Tensor, backend


def test_numpy_is_the_default():
    assert backend.name() == "numpy"
    assert backend.current() is np
    assert Tensor([1.0, 2.0]).data.__class__ is np.ndarray


def test_unknown_backend_lists_the_known_ones():
    with pytest.raises(backend.BackendError, match="unknown backend 'jax'; known backends: numpy, cupy"):
        backend.use("jax")


@pytest.mark.skipif("cupy" in backend.available(), reason="CuPy runs here: the refusal it tests cannot happen")
def test_asking_for_cupy_without_it_says_why():
    with pytest.raises(backend.BackendError, match="backend 'cupy' needs"):
        backend.use("cupy")
    assert backend.name() == "numpy"  # a failed switch leaves the backend as it was


def test_environment_variable_chooses_the_backend():
    code = "from minigan import backend; print(backend.name())"
    env = dict(os.environ, MINIGAN_BACKEND="numpy")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "numpy"
    env["MINIGAN_BACKEND"] = "tensorflow"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode != 0 and "unknown backend 'tensorflow'" in out.stderr


def test_to_numpy_and_asarray_round_trip(xp):
    host = np.arange(6.0).reshape(2, 3)
    device = backend.asarray(host)
    assert backend.array_module(device) is xp
    np.testing.assert_array_equal(backend.to_numpy(device), host)


def test_mixing_backends_in_one_op_names_both(monkeypatch):
    """A stand-in 'cupy' module exercises the check on a machine without a GPU."""

    class FakeDeviceArray:  # just enough of an array for a Tensor to hold
        __module__ = "cupy._core.core"
        dtype = np.dtype("float64")
        shape = (2,)

    fake_cupy = types.ModuleType("cupy")
    fake_cupy.ndarray = FakeDeviceArray
    fake_cupy.asarray = lambda array, dtype=None: array
    monkeypatch.setitem(sys.modules, "cupy", fake_cupy)

    with pytest.raises(backend.BackendError, match="two backends.*numpy.ndarray.*FakeDeviceArray"):
        Tensor(np.ones(2)) + Tensor(FakeDeviceArray())


@pytest.mark.skipif("cupy" not in backend.available(), reason="needs CuPy with a CUDA GPU")
def test_mixing_real_numpy_and_cupy_tensors_is_refused():
    import cupy

    with pytest.raises(backend.BackendError, match="two backends"):
        Tensor(np.ones(2)) * Tensor(cupy.ones(2))
