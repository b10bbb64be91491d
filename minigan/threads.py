"""How many threads NumPy's BLAS (the library that does its matrix products) may use.

Left alone, OpenBLAS starts one thread per core and splits every matrix product among
them. The threads meet at the end of each product, so a product is as slow as its
slowest thread, and between products they keep polling for work. When another program
keeps a core busy, each product waits for a thread the scheduler has parked, and a GAN
step, a few dozen small products, becomes several times slower than on one thread
(``benchmarks/shared_machine.py`` measures it; the figures are in benchmarks/RESULTS.md).
A second thread pays only for large products, and only on a core nothing else wants.

So minigan decides, first match wins:

1. ``set_num_threads(n)``, or ``minigan train --threads N``, which calls it;
2. the environment variable ``MINIGAN_THREADS=N``;
3. the thread variable of the BLAS NumPy loaded, if you set it to a positive whole number
   (``OPENBLAS_NUM_THREADS`` or ``OMP_NUM_THREADS`` for OpenBLAS, ``MKL_NUM_THREADS`` or
   ``OMP_NUM_THREADS`` for MKL, ``BLIS_NUM_THREADS`` or ``OMP_NUM_THREADS`` for BLIS): the BLAS
   read it when it started, and minigan leaves it so;
4. otherwise, the work's size: one thread, unless the largest matrix product of a
   training step has at least ``LARGE_PRODUCT`` multiply-adds (m·k·n for an (m, k) by
   (k, n) product); then one thread per free core: the cores minus the load average of
   the last minute (what other programs keep busy), at least one.

``configure`` applies that choice (the command line calls it once per run); nothing
here runs on import, so a program that imports minigan keeps its BLAS as it was.
The threads are set with threadpoolctl, which finds the BLAS NumPy loaded, whichever it is.
"""

from __future__ import annotations

import numbers
import os

import numpy  # noqa: F401  (loads NumPy's BLAS: threadpoolctl finds only libraries already loaded)
import threadpoolctl

__all__ = [
    "ENV_VAR", "BLAS_ENV_VARS", "LARGE_PRODUCT", "MAX_THREADS", "set_num_threads", "get_num_threads", "requested",
    "cores", "free_cores", "largest_product", "choose", "configure", "child_environment",
]

ENV_VAR = "MINIGAN_THREADS"
_READ_BY = {  # the thread variables each BLAS reads when it starts, first match wins
    "openblas": ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS"),
    "mkl": ("MKL_NUM_THREADS", "OMP_NUM_THREADS"),
    "blis": ("BLIS_NUM_THREADS", "OMP_NUM_THREADS"),
}
BLAS_ENV_VARS = tuple(dict.fromkeys(name for names in _READ_BY.values() for name in names))
LARGE_PRODUCT = 2**30  # multiply-adds: a batch of 1024 through a 1024 × 1024 layer, about 10 ms on one core
MAX_THREADS = 1024  # more than any machine minigan runs on; a larger count is a typo


def _thread_count(name: str, value) -> int:
    """``value`` as a thread count, a whole number from 1 to MAX_THREADS, else a ValueError naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or not 1 <= value <= MAX_THREADS:
        raise ValueError(f"{name} must be a positive whole number (at most {MAX_THREADS}), got {value!r}")
    return int(value)


def _blas():
    return threadpoolctl.ThreadpoolController().select(user_api="blas")


def set_num_threads(n: int) -> None:
    """Let NumPy's BLAS use ``n`` threads from now on (for the whole process)."""
    _blas().limit(limits=_thread_count("threads", n))


def get_num_threads() -> int:
    """The threads NumPy's BLAS uses now (1 if NumPy has no threaded BLAS)."""
    return max([info["num_threads"] for info in _blas().info()], default=1)


def requested(environ=os.environ) -> int | None:
    """The thread count ``MINIGAN_THREADS`` asks for, or None if it is unset (a ValueError if it
    is not a positive whole number)."""
    text = environ.get(ENV_VAR, "").strip()
    if not text:
        return None
    name = f"{ENV_VAR} (an environment variable)"
    try:
        return _thread_count(name, int(text))
    except ValueError:
        raise ValueError(f"{name} must be a positive whole number (at most {MAX_THREADS}), got {text!r}") from None


def cores() -> int:
    """The cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def free_cores() -> int:
    """The cores other programs leave free, judged by the load average over the last minute (at least 1)."""
    try:
        busy = os.getloadavg()[0]
    except (AttributeError, OSError):  # no load average on this system
        busy = 0.0
    return max(1, cores() - round(busy))


def largest_product(*modules, batch: int) -> int:
    """Multiply-adds of the largest matrix product a batch of ``batch`` rows makes through the
    dense layers of ``modules``: batch · in · out for the widest (in, out) weight matrix."""
    sizes = [p.shape[0] * p.shape[1] for module in modules for p in module.parameters() if len(p.shape) == 2]
    return batch * max(sizes, default=0)


def choose(asked: int | None = None, largest: int | None = None, environ=os.environ,
           free: int | None = None) -> tuple[int | None, str]:
    """(threads, why): the rule of this module's docstring, without applying it. ``asked`` is an
    explicit request (``--threads``); ``largest`` the largest product's multiply-adds, if known
    (without it the work counts as small); ``free`` the free cores (default: ``free_cores()``).
    threads is None when the user's BLAS variable stands."""
    if asked is not None:
        return _thread_count("threads", asked), "asked for"
    from_environment = requested(environ)
    if from_environment is not None:
        return from_environment, f"{ENV_VAR}={from_environment}"
    for name in _variables_of_the_blas():
        if environ.get(name, "").strip().isdigit() and int(environ[name]) > 0:
            return None, f"{name}={environ[name].strip()} (left to the BLAS)"
    if largest is not None and largest >= LARGE_PRODUCT:
        free = free_cores() if free is None else free
        return free, f"large matrix products ({largest:,} multiply-adds), {free} free core(s)"
    return 1, "small matrix products"


def configure(asked: int | None = None, largest: int | None = None) -> int:
    """Apply ``choose(asked, largest)``; returns the threads the BLAS uses now."""
    threads, _ = choose(asked, largest)
    if threads is not None:
        set_num_threads(threads)
    return get_num_threads()


def _variables_of_the_blas() -> list[str]:
    """The thread variables the BLAS that NumPy loaded reads (all of them if none is known)."""
    apis = {info["internal_api"] for info in _blas().info()} & _READ_BY.keys() or _READ_BY.keys()
    return list(dict.fromkeys(name for api in sorted(apis) for name in _READ_BY[api]))


def child_environment(environ=os.environ) -> dict:
    """The environment for a Python program started from here (``minigan demo``), whose BLAS reads
    its thread count from the environment when it starts: ``environ`` plus that count, chosen as
    ``choose`` does for work of unknown size, unless the user's own BLAS variable stands."""
    threads, _ = choose(None, None, environ)
    if threads is None:
        return dict(environ)
    return {**environ, **{name: str(threads) for name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS",
                                                          "BLIS_NUM_THREADS")}}
