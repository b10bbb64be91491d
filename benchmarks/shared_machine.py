"""Training on a machine shared with other work: idle, then beside one busy program.

Part 1, the main job: ``minigan train`` (the ring preset, run exactly as a user runs it,
in a process of its own) is timed on the machine as it is, then again while one other
CPU-bound program runs (``python -c "while True: pass"``, started and stopped by this
script). The ratio of the two is what a user with one other busy program pays.
Run with minigan's thread policy (``minigan.threads``), and, for contrast, with one BLAS
thread per core (what OpenBLAS does when nobody decides: ``MINIGAN_THREADS`` set to
the number of cores), over fewer steps because that run is so slow.

Part 2, the threads against the work's size: the time of one training step at 1 thread and
at one thread per core, idle and beside the busy program, from the toy GAN to width 1024,
each in a fresh process. It shows where a second thread starts to pay and what it risks,
the measurement behind ``minigan.threads.LARGE_PRODUCT``.

    python benchmarks/shared_machine.py                     # part 1 (full 24,000-step job) and part 2
    python benchmarks/shared_machine.py --steps 3000 --write  # shorter, and into RESULTS.md

"Idle" means without the busy program this script starts; other programs already running
count too, which is why the load averages are printed with every result.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import benchmark_parser, load, machine, publish, summary, wait_for_quiet

ROOT = Path(__file__).resolve().parents[1]
BUSY = [sys.executable, "-c", "while True: pass"]


class BusyProgram:
    """``with BusyProgram():`` one CPU-bound Python program runs for the duration of the block.

    It starts in a session of its own, as a program started from another terminal does: Linux
    shares the CPU fairly between sessions first (autogroups), so a busy program in the
    training's own session would take half of that session's share on a machine already
    busy with other sessions, which is not what another program does."""

    def __enter__(self):
        self.process = subprocess.Popen(BUSY, start_new_session=True)
        time.sleep(1.0)  # let the scheduler see it
        return self

    def __exit__(self, *exc):
        self.process.kill()
        self.process.wait()


def train_seconds(steps: int, environ: dict) -> float:
    """Wall-clock seconds of ``minigan train --steps N`` (ring preset) in a fresh process."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "minigan", "train", "--steps", str(steps), "--out", out, "--no-progress"]
        start = time.perf_counter()
        subprocess.run(command, env=environ, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
        return time.perf_counter() - start


def environment(threads: int | None) -> dict:
    """This process's environment without any thread setting, plus MINIGAN_THREADS if given."""
    from minigan import threads as policy

    environ = {k: v for k, v in os.environ.items() if k not in (policy.ENV_VAR, *policy.BLAS_ENV_VARS)}
    if threads is not None:
        environ[policy.ENV_VAR] = str(threads)
    return environ


def main_job(steps: int, threads: int | None, quiet_load: float | None = None) -> dict:
    """Idle then busy: seconds and load averages of the main job with these threads (None: the policy)."""
    environ = environment(threads)
    wait_for_quiet(quiet_load)
    result = {"load_idle": load()}
    result["idle"] = train_seconds(steps, environ)
    print(f"  {steps} steps, threads {threads or 'by the policy'}: idle {result['idle']:.1f} s", flush=True)
    with BusyProgram():
        result["load_busy"] = load()
        result["busy"] = train_seconds(steps, environ)
    print(f"  ... beside a busy program {result['busy']:.1f} s", flush=True)
    return result


# ----------------------------------------------------------------------------- part 2: one step, by size

SIZES = {
    # key: (name, G sizes, D sizes, batch, images)
    "toy": ("toy: G 2-128-128-2, D 2-128-128-1, batch 256", [2, 128, 128, 2], [2, 128, 128, 1], 256, False),
    "mnist": ("MNIST size: G 100-256-512-784, D 784-512-256-1, batch 128",
              [100, 256, 512, 784], [784, 512, 256, 1], 128, True),
    "w512": ("width 512: G 2-512-512-2, D 2-512-512-1, batch 256", [2, 512, 512, 2], [2, 512, 512, 1], 256, False),
    "w1024": ("width 1024: G 2-1024-1024-2, D 2-1024-1024-1, batch 256",
              [2, 1024, 1024, 2], [2, 1024, 1024, 1], 256, False),
    "large": ("large: G 128-1024-1024-1024, D 1024-1024-1024-1, batch 1024",
              [128, 1024, 1024, 1024], [1024, 1024, 1024, 1], 1024, True),
}

STEP_WORKER = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})
from gan_step import minigan_step
from minigan import allocator, threads
threads.set_num_threads({threads})
allocator.keep_freed_memory()  # as `minigan train` runs
step = minigan_step({g}, {d}, {batch}, {images})
step()
start = time.perf_counter(); step(); first = time.perf_counter() - start
calls = max(2, min(50, int({budget} / max(first, 1e-4))))  # about {budget} s a round
times = []
for _ in range({rounds}):
    start = time.perf_counter()
    for _ in range(calls):
        step()
    times.append((time.perf_counter() - start) / calls)
print(json.dumps(times))
"""


def step_seconds(key: str, threads: int, rounds: int = 3, budget: float = 1.0) -> list[float]:
    """Seconds per training step of SIZES[key] with this many BLAS threads, in a fresh process."""
    _, g, d, batch, images = SIZES[key]
    code = STEP_WORKER.format(benchmarks=str(Path(__file__).parent), threads=threads, g=g, d=d, batch=batch,
                              images=images, rounds=rounds, budget=budget)
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=environment(None), check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def by_size(keys, many: int, quiet_load: float | None = None) -> list[str]:
    """Table rows: per size, ms per step at 1 and ``many`` threads, idle and busy."""
    from minigan import threads as policy

    rows = []
    for key in keys:
        name, g, d, batch, _ = SIZES[key]

        largest = batch * max(a * b for sizes in (g, d) for a, b in zip(sizes[:-1], sizes[1:]))
        cells, loads = {}, []
        wait_for_quiet(quiet_load)
        for busy in (False, True):
            context = BusyProgram() if busy else contextlib.nullcontext()
            with context:
                loads.append(load())
                for n in (1, many):
                    cells[busy, n] = summary(step_seconds(key, n))[0]
        rows.append(f"| {name} | {largest / 1e6:.1f} M | {cells[False, 1]:.2f} | {cells[False, many]:.2f} "
                    f"| {cells[True, 1]:.2f} | {cells[True, many]:.2f} | {policy.choose(None, largest, {}, free=many)[0]} "
                    f"| {loads[0]}, {loads[1]} |")
        print(rows[-1], flush=True)
    return rows


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--steps", type=int, default=None, help="steps of the main job (default: the preset's 24,000)")
    parser.add_argument("--contrast-steps", type=int, default=3000,
                        help="steps of the runs with one thread per core, and of minigan's policy beside them "
                             "(0: skip them)")
    parser.add_argument("--sizes", nargs="*", choices=list(SIZES), default=list(SIZES),
                        help="part 2's sizes (none: skip part 2)")
    parser.add_argument("--quiet-load", type=float, default=None,
                        help="before each measurement, wait (up to 30 min) until the 1-minute load average is at most this")
    args = parser.parse_args()

    from minigan import threads as policy
    from minigan.app import presets

    many = policy.cores()
    steps = args.steps or presets.PRESETS["ring"].steps
    command = ("python benchmarks/shared_machine.py" + (f" --steps {args.steps}" if args.steps else "")
               + (f" --contrast-steps {args.contrast_steps}" if args.contrast_steps != 3000 else "")
               + (f" --sizes {' '.join(args.sizes)}" if args.sizes != list(SIZES) else "")
               + (f" --quiet-load {args.quiet_load:g}" if args.quiet_load is not None else "") + " --write")
    print(f"load averages at the start (1/5/15 min): {load()}", flush=True)

    runs = [("minigan's policy (1 thread here)", None, steps)]
    if args.contrast_steps and args.contrast_steps != steps:
        runs.append(("minigan's policy (1 thread here)", None, args.contrast_steps))
    if args.contrast_steps:
        runs.append((f"one thread per core ({many}), OpenBLAS's own default", many, args.contrast_steps))
    job_rows = []
    for label, threads, n in runs:
        result = main_job(n, threads, args.quiet_load)
        job_rows.append(f"| {label} | {n:,} | {result['idle']:.1f} | {result['busy']:.1f} "
                        f"| {result['busy'] / result['idle']:.2f}× | {result['load_idle']}, {result['load_busy']} |")
        print(job_rows[-1], flush=True)

    size_rows = by_size(args.sizes, many, args.quiet_load) if args.sizes else []

    text = [
        f"Machine: {machine()}. Command: `{command}`.",
        "",
        "The main job, `minigan train` (ring preset), as a user runs it (wall-clock seconds of the whole "
        "command: start, training, pictures, checkpoint), on the machine as it was, then beside one busy "
        "program (`python -c \"while True: pass\"`):",
        "",
        "| BLAS threads | steps | idle, s | beside one busy program, s | busy / idle | load averages (1/5/15 min) as the idle and the busy run started |",
        "|---|---|---|---|---|---|",
        *job_rows,
    ]
    if size_rows:
        text += [
            "",
            f"One training step (ms, median of 3 rounds, each size and thread count in a fresh process) at 1 "
            f"thread and at one per core ({many}), idle and beside the busy program; the largest matrix "
            f"product in multiply-adds (m·k·n), and the threads minigan's policy picks for it:",
            "",
            f"| step | largest product | 1 thread, idle | {many} threads, idle | 1 thread, busy "
            f"| {many} threads, busy | threads the policy picks, cores free | load averages as the idle and the busy runs started |",
            "|---|---|---|---|---|---|---|---|",
            *size_rows,
        ]
    publish("shared_machine", "\n".join(text), args.write)


if __name__ == "__main__":
    main()
