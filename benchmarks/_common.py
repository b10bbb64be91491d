"""Shared by the benchmark scripts: timing, the machine's description, and RESULTS.md sections."""

from __future__ import annotations

import argparse
import os
import platform
import re
import statistics
import time
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).with_name("RESULTS.md")


def benchmark_parser(doc: str) -> argparse.ArgumentParser:
    """A benchmark's command line: its docstring as help, and --write."""
    result = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    result.add_argument("--write", action="store_true", help="write the results into benchmarks/RESULTS.md")
    return result


def time_per_call(fn, calls: int, repeats: int, warmup: int = 0) -> list[float]:
    """Seconds per call of ``fn``, measured ``repeats`` times over ``calls`` calls each."""
    for _ in range(warmup):
        fn()
    timings = []
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        timings.append((time.perf_counter() - start) / calls)
    return timings


def summary(timings: list[float], scale: float = 1e3) -> tuple[float, float, float]:
    """(median, min, max) of the timings, scaled (default: to milliseconds)."""
    return statistics.median(timings) * scale, min(timings) * scale, max(timings) * scale


def load() -> str:
    """The machine's load averages over 1, 5 and 15 minutes, as uptime shows them."""
    return "/".join(f"{x:.1f}" for x in os.getloadavg())


def wait_for_quiet(max_load: float | None, timeout: float = 1800.0, poll: float = 10.0) -> None:
    """On a machine shared with other work, wait (at most ``timeout`` s) until the load average of
    the last minute is at most ``max_load``; None: do not wait. Prints what it waits for."""
    if max_load is None:
        return
    start = time.monotonic()
    while os.getloadavg()[0] > max_load and time.monotonic() - start < timeout:
        print(f"  waiting for a load average ≤ {max_load} (now {load()})", flush=True)
        time.sleep(poll)


def machine() -> str:
    cpu = platform.processor() or "unknown CPU"
    try:
        match = re.search(r"model name\s*:\s*(.*)", Path("/proc/cpuinfo").read_text())
        cpu = match.group(1).strip() if match else cpu
    except OSError:
        pass
    blas = "unknown BLAS"
    try:
        import threadpoolctl

        info = [i for i in threadpoolctl.threadpool_info() if i.get("user_api") == "blas"]
        if info:
            blas = f"{info[0]['internal_api']} {info[0]['version']} ({info[0].get('architecture', '?')} kernels)"
    except ImportError:
        pass
    return (f"{cpu}, {os.cpu_count()} cores; Python {platform.python_version()}, "
            f"NumPy {np.__version__} with {blas}")


def write_section(name: str, text: str) -> None:
    """Replace the text between <!-- name:start --> and <!-- name:end --> in RESULTS.md."""
    start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
    content = RESULTS.read_text() if RESULTS.exists() else "# Benchmark results\n"
    block = f"{start}\n{text.rstrip()}\n{end}"
    if start in content:
        before, rest = content.split(start, 1)
        content = before + block + rest.split(end, 1)[1]
    else:
        content = content.rstrip() + "\n\n" + block + "\n"
    RESULTS.write_text(content)
    print(f"wrote section '{name}' of {RESULTS}")


def publish(name: str, text: str, write: bool) -> None:
    """Print a benchmark's results, and with ``write`` put them into RESULTS.md as section ``name``."""
    print(text)
    if write:
        write_section(name, text)


def matrix_products_of(step) -> list:
    """The (a, b) operands of every matrix product of one call of ``step``: the very arrays,
    so redoing them repeats the same shapes and memory layouts.

    A GAN's ``train_step`` is run op by op for this (``fused_networks`` off: the fused MLP does
    the same products, out of sight of the ops), and the outer products of a one-column layer's
    backward, which the fused MLP computes by broadcasting, are left out: what is left is
    what the fused step multiplies with BLAS."""
    from minigan import ops

    products = []
    originals = ops.MatMul.forward, ops.Linear.forward
    model = getattr(step, "__self__", None)
    fused = getattr(model, "fused_networks", False)

    def matmul_forward(self, a, b):  # in a step, the products of backward passes
        if not (fused and a.shape[1] == 1):  # an outer product, which the fused MLP does by broadcasting
            products.append((a, b))
        return originals[0](self, a, b)

    def linear_forward(self, x, w, b):
        products.append((x, w))
        return originals[1](self, x, w, b)

    ops.MatMul.forward, ops.Linear.forward = matmul_forward, linear_forward
    if fused:
        model.fused_networks = False
    try:
        step()
    finally:
        ops.MatMul.forward, ops.Linear.forward = originals
        if fused:
            model.fused_networks = True
    return products


def redo_products(products, library: str):
    """A function that multiplies every pair again, with NumPy or with PyTorch (on the same
    memory, through ``torch.from_numpy``): each library's own time for the step's products."""
    if library == "torch":
        import torch

        products = [(torch.from_numpy(a), torch.from_numpy(b)) for a, b in products]

    def redo():
        for a, b in products:
            a @ b

    return redo
