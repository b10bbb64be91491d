"""Regenerate every picture and number the README shows, with one command.

    .venv/bin/python demos/make_readme_assets.py            # everything: tens of minutes on 2 cores
    .venv/bin/python demos/make_readme_assets.py --only xy_game graph

Runs each demo, and ``minigan train`` for the picture at the top of the README, into
runs/readme/; copies the figures the README shows into demos/images/; and gathers the
numbers each demo measured (its results.json) into demos/results.json, with the machine
and its load. ``tests/test_readme.py`` checks every number the README states against
that file, and that every picture the README shows is one this script writes.
``--quick --out DIR`` runs the tiny versions into DIR instead: a check of the machinery,
whose numbers must never reach the README.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from pathlib import Path

from minigan import allocator

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent

# One BLAS thread: a matrix product's rounding can depend on how many threads share it, and the
# README's numbers must not depend on the machine's core count
ONE_THREAD = {name: "1" for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")}

# README picture <- (the run that makes it, the file that run writes)
FIGURES = {
    "ring_training.png": ("train", "training.png"),
    "ring_frame.png": ("train", "final.png"),
    "lab_window.png": ("lab", "lab_window.png"),
    "lab_browser.png": ("lab_browser", "lab_browser.png"),
    "graph.png": ("graph", "graph.png"),
    "gaussian_1d.png": ("gaussian_1d", "training.png"),
    "optimal_discriminator.png": ("optimal_discriminator", "optimal_discriminator.png"),
    "generator_losses.png": ("generator_losses", "losses_and_gradients.png"),
    "generator_losses_training.png": ("generator_losses", "training_with_each_loss.png"),
    "vanishing_gradients.png": ("vanishing_gradients", "vanishing_gradients.png"),
    "xy_game.png": ("xy_game", "xy_game.png"),
    "mode_collapse.png": ("mode_collapse", "mode_collapse_frames.png"),
    "digits.png": ("digits", "digits_training.png"),
    "mnist_training.png": ("mnist", "mnist_training.png"),
    "mnist_interpolation.png": ("mnist", "mnist_interpolation.png"),
    "mnist_nearest.png": ("mnist", "mnist_nearest.png"),
    "wgan_gp.png": ("wgan_gp", "wgan_gp_surfaces.png"),
    "weight_average.png": ("weight_average", "weight_average.png"),
}
RUNS = list(dict.fromkeys(run for run, _ in FIGURES.values()))  # the order they run in


def run(name: str, out: Path, quick: bool) -> dict:
    """Run one demo (or ``minigan train``) into ``out``; its measured numbers, with the seconds it took."""
    if name == "train":  # the default run of the README's first command
        command = [sys.executable, "-m", "minigan", "train", "--out", str(out), "--no-progress"]
        command += ["--steps", "50", "--frames", "2"] if quick else []
    elif name == "lab":  # a screenshot of the window, on a virtual screen (Debian's xvfb)
        command = ["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", sys.executable, str(HERE / "_lab_screenshot.py"),
                   "--out", str(out)] + (["--quick"] if quick else [])
    elif name == "lab_browser":  # the real-browser test drives the lab in headless Chromium and keeps its screenshot
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "real_browser",
                   str(ROOT / "tests" / "test_lab_browser.py")]
    else:
        command = [sys.executable, str(HERE / f"{name}.py"), "--out", str(out)] + (["--quick"] if quick else [])
    started = time.perf_counter()
    screenshots = {"MINIGAN_SCREENSHOTS": str(out)} if name == "lab_browser" else {}
    # freed memory kept, as `minigan demo` and `minigan train` keep it (minigan.allocator)
    environment = {**allocator.child_environment(os.environ), **ONE_THREAD, **screenshots}
    finished = subprocess.run(command, cwd=ROOT, stdout=subprocess.PIPE, text=True, env=environment)
    seconds = time.perf_counter() - started
    if finished.returncode != 0:
        raise SystemExit(f"{name} failed (exit {finished.returncode}); its output:\n{finished.stdout}")
    (out / "stdout.txt").write_text(finished.stdout)
    numbers = json.loads((out / "results.json").read_text()) if name != "train" else _train_numbers(out)
    return {**numbers, "seconds": round(seconds, 1)}


def _train_numbers(out: Path) -> dict:
    """The last evaluation of a ``minigan train`` run on the ring: modes covered, high-quality fraction."""
    with open(out / "evaluation.csv") as stream:
        last = list(csv.DictReader(stream))[-1]
    return {"steps": int(last["step"]), "modes_covered": int(last["modes_covered"]),
            "high_quality": float(last["high_quality"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", nargs="+", choices=RUNS, metavar="NAME", help=f"only these: {', '.join(RUNS)}")
    parser.add_argument("--quick", action="store_true", help="tiny runs, to check the machinery (needs --out)")
    parser.add_argument("--out", type=Path, help="write images/ and results.json here, not into demos/")
    args = parser.parse_args()
    if args.quick and args.out is None:
        parser.error("--quick needs --out: numbers of a tiny run must not reach the README")
    images = (args.out / "images") if args.out else HERE / "images"
    results_path = (args.out / "results.json") if args.out else HERE / "results.json"
    runs_dir = (args.out / "runs") if args.out else ROOT / "runs" / "readme"
    images.mkdir(parents=True, exist_ok=True)

    for name in args.only or RUNS:
        out = runs_dir / name
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        print(f"{name} ...", flush=True)
        load = os.getloadavg()[0]
        numbers = {**run(name, out, args.quick), "load_before": round(load, 1)}
        results = json.loads(results_path.read_text()) if results_path.exists() else {}  # another may have written
        results[name] = numbers
        for picture, (source, written) in FIGURES.items():
            if source == name:
                shutil.copyfile(out / written, images / picture)
                print(f"  {images / picture}")
        results["machine"] = {"cpus": os.cpu_count(), "platform": platform.platform(),
                              "python": platform.python_version(), "blas_threads": 1}
        results_path.write_text(json.dumps(dict(sorted(results.items())), indent=1, ensure_ascii=False) + "\n")
        print(f"  {results[name]['seconds']} s (load average before: {load:.1f}); numbers in {results_path}")


if __name__ == "__main__":
    main()
