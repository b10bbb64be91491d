"""Where a minigan training step spends its time, beyond its matrix products.

The step of ``gan_step.py`` (toy and MNIST size) runs in a loop in a worker process at one
BLAS thread. Two runs of it:

1. unprofiled: the median time of a step over several rounds, and in the same rounds the
   time of its matrix products alone (the very arrays of one step, multiplied again): the
   floor no engine can go below with this BLAS;
2. under py-spy (a sampling profiler that reads the worker's stacks, Python and native, from
   outside, without changing its code): every sample is put in one category, by the frames
   of minigan it was taken in (the rules are in ``category``).

A category's cost in ms per step is its share of the samples times the unprofiled step
time. Python-level work (the leaf of the sample is Python code: building Tensors and graph
nodes, checks, the backward pass's loop) is one category, with the number of ops
(``Function`` calls) per step beside it, so that cost per op can be read off.

    python benchmarks/step_profile.py                  # toy and MNIST size, 20 s of sampling each
    python benchmarks/step_profile.py --write          # and into benchmarks/RESULTS.md

Needs py-spy (in the 'bench' extra) and the right to read another process's memory
(root, or ptrace allowed); it says so and stops where it cannot.
"""

from __future__ import annotations

import collections
import json
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from _common import benchmark_parser, load, machine, publish

HERE = Path(__file__).resolve().parent

WORKER = """
import json, sys, time
sys.path.insert(0, {here!r})
from _common import matrix_products_of, redo_products, time_per_call
from gan_step import CONFIGS, minigan_step
from minigan import allocator, autograd, threads
threads.set_num_threads(1)
allocator.keep_freed_memory()  # as `minigan train` runs
name, g, d, batch, images, calls = CONFIGS[{key!r}]
step = minigan_step(g, d, batch, images)
step()
if {seconds} > 0:  # the profiled run: just the loop
    start = time.perf_counter()
    while time.perf_counter() - start < {seconds}:
        step()
    sys.exit(0)
ops = [0]
call = autograd.Function.__call__
def counted(self, *inputs):
    ops[0] += 1
    return call(self, *inputs)
autograd.Function.__call__ = counted
step()
autograd.Function.__call__ = call
products = redo_products(matrix_products_of(step), "numpy")
steps, floors = [], []
for _ in range({rounds}):
    steps.append(time_per_call(step, calls, 1)[0])
    floors.append(time_per_call(products, calls, 1)[0])
print(json.dumps({{"steps": steps, "products": floors, "ops": ops[0]}}))
"""


def py_spy() -> str | None:
    """The py-spy program: on the PATH, or beside this Python (a virtual environment's bin/)."""
    beside = Path(sys.executable).parent / "py-spy"
    return shutil.which("py-spy") or (str(beside) if beside.exists() else None)


def run_worker(key: str, seconds: float, rounds: int = 7, profile_to: Path | None = None) -> dict | None:
    code = WORKER.format(here=str(HERE), key=key, seconds=seconds, rounds=rounds)
    command = [sys.executable, "-c", code]
    if profile_to is not None:
        command = [py_spy(), "record", "--native", "--rate", "500", "--format", "raw", "--output",
                   str(profile_to), "--"] + command
    out = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1]) if profile_to is None else None


FRAME = re.compile(r"^(?P<function>.*) \((?P<file>minigan/[^:]+):(?P<line>\d+)\)$")


def source_line(file: str, line: int) -> str:
    try:
        return (HERE.parent / file).read_text().splitlines()[line - 1].strip()
    except (OSError, IndexError):
        return ""


def category(frames: list[str]) -> str:
    """The category of one sample, from its stack (outermost first)."""
    ours = [m for m in map(FRAME.match, frames) if m]
    names = [m["function"] for m in ours]
    leaf_is_python = re.search(r"\.py:\d+\)$", frames[-1]) is not None
    innermost = ours[-1] if ours else None
    line = source_line(innermost["file"], int(innermost["line"])) if innermost else ""
    if any("gemm" in f for f in frames) or (innermost and " @ " in line):  # not OpenBLAS's sdot (the norm)
        return "matrix products (BLAS)"
    if any(n in ("_adam", "_sgd") for n in names):
        return "optimiser: the update rule (Adam), array work"
    if innermost and innermost["file"] == "minigan/fast/fused.py" and "concatenate" in line:
        return "optimiser: gathering the gradients into one flat array"
    if innermost and innermost["file"] == "minigan/fast/fused.py" and "kept[...] = theta" in line:
        return "optimiser: keeping θ for undo_step()"
    if any(n.endswith("all_finite") for n in names):
        return "bookkeeping: finiteness check of θ, m, v"
    if any(n.endswith("gradient_norm") for n in names):
        return "bookkeeping: gradient norm"
    if any(n.endswith("_bookkeeping") for n in names) and not leaf_is_python:
        return "bookkeeping: the rest (D(x), D(G(z)), stacking, one read-back)"
    if any(n.endswith(("sample_noise", "sample_real")) for n in names) and not leaf_is_python:
        return "sampling z and x (host random numbers, copy to the backend)"
    if leaf_is_python:
        return "Python: ops, Tensors, graph, backward loop, checks"
    if innermost and innermost["file"] == "minigan/fast/mlp.py":  # the fused MLP's own array work
        return f"elementwise array work: FusedMLP ({innermost['function']})"
    op = next((m["function"] for m in reversed(ours) if m["file"] == "minigan/ops.py"
               and re.search(r"\.(forward|backward)$", m["function"])), None)
    return f"elementwise array work: {op}" if op else "other array work"


def shares(raw: Path) -> tuple[collections.Counter, int]:
    counts, total = collections.Counter(), 0
    for record in raw.read_text().splitlines():
        stack, _, number = record.rpartition(" ")
        frames = stack.split(";")
        if not any("train_step" in f for f in frames):
            continue  # start-up, imports, the loop itself
        counts[category(frames)] += int(number)
        total += int(number)
    return counts, total


def profile(key: str, seconds: float) -> list[str]:
    import statistics

    timed = run_worker(key, seconds=0)
    step_ms = statistics.median(timed["steps"]) * 1e3
    floor_ms = statistics.median(timed["products"]) * 1e3
    with tempfile.TemporaryDirectory() as folder:
        raw = Path(folder) / "samples.txt"
        run_worker(key, seconds=seconds, profile_to=raw)
        counts, total = shares(raw)
    name = __import__("gan_step").CONFIGS[key][0]
    lines = [f"**{name}**: {step_ms:.2f} ms per step at 1 thread (median of 7 rounds, unprofiled), of which "
             f"its matrix products alone take {floor_ms:.2f} ms; {timed['ops']} ops (Function calls) per step; "
             f"{total} samples. Load averages after: {load()}.", "",
             "| where | ms per step | share of the step |", "|---|---|---|"]
    for what, count in counts.most_common():
        if count / total >= 0.005:
            lines.append(f"| {what} | {step_ms * count / total:.3f} | {100 * count / total:.1f}% |")
    rest = sum(c for c in counts.values() if c / total < 0.005)
    lines.append(f"| everything under 0.5% each | {step_ms * rest / total:.3f} | {100 * rest / total:.1f}% |")
    return lines


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--configs", nargs="+", choices=["toy", "mnist"], default=["toy", "mnist"])
    parser.add_argument("--seconds", type=float, default=20.0, help="seconds of sampling per configuration")
    args = parser.parse_args()
    if py_spy() is None:
        sys.exit("step_profile.py needs py-spy on the PATH (pip install py-spy, or the 'bench' extra)")
    command = ("python benchmarks/step_profile.py"
               + (f" --configs {' '.join(args.configs)}" if args.configs != ["toy", "mnist"] else "")
               + (f" --seconds {args.seconds:g}" if args.seconds != 20.0 else "") + " --write")
    text = [f"Machine: {machine()}. Load averages at the start: {load()}. Command: `{command}`.", ""]
    for key in args.configs:
        text += profile(key, args.seconds) + [""]
        print("\n".join(text[-12:]), flush=True)
    publish("step_profile", "\n".join(text), args.write)


if __name__ == "__main__":
    main()
