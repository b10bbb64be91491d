"""Shared test set-up: the backend each test runs on, and hypothesis profiles."""

import os

os.environ.setdefault("MPLBACKEND", "Agg")  # pictures to files; no test opens a window by accident

import pytest  # noqa: E402
from hypothesis import HealthCheck, settings  # noqa: E402

from minigan import backend  # noqa: E402

# "ci" is derandomised, so a CI run is repeatable; "dev" explores new examples every run.
settings.register_profile(
    "ci", max_examples=30, deadline=None, derandomize=True, database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.register_profile(
    "dev", max_examples=30, deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if os.environ.get("CI") else "dev"))


def _backend_params():
    usable = backend.available()
    return [
        pytest.param(
            name,
            marks=pytest.mark.skipif(
                name not in usable, reason=f"backend {name!r} unavailable here (CuPy with a CUDA GPU needed)"
            ),
        )
        for name in backend.KNOWN
    ]


@pytest.fixture(params=_backend_params())
def xp(request):
    """Run the test on each backend in turn; yields that backend's array module."""
    previous = backend.name()
    module = backend.use(request.param)
    yield module
    backend.use(previous)


@pytest.fixture(autouse=True)
def _numpy_by_default():
    """Every test starts (and ends) on the NumPy backend unless it asks for `xp`."""
    backend.use("numpy")
    yield
    backend.use("numpy")
