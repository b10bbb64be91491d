"""The command line: ``minigan train``, ``minigan demo`` and ``minigan lab`` (also ``python -m minigan``).

Only parsing and dispatch live here. ``minigan train`` hands its options to
``minigan.app.run``, which trains a preset's GAN (the ring of 8 Gaussians by default) and
writes metrics, pictures and a checkpoint into the output folder (see that module);
``--resume DIR`` continues a run exactly as if it had never stopped. ``minigan demo NAME``
runs ``demos/NAME.py`` in a fresh Python, exactly as ``python demos/NAME.py`` would.
``minigan lab`` opens ``minigan.app.lab``'s window.

Every mistake, bad setting or failure is one line on stderr, never a traceback; the exit
status is 0 for success, 1 for a run that failed (it diverged, the disk filled), 2 for
input minigan refused, and 128 + the signal's number when a stop signal ended it (130 for
Ctrl-C, 143 for SIGTERM, 129 for SIGHUP; 141 when the reader of its output went away).
"""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from minigan import allocator, backend, threads, validate
from minigan.app import presets
from minigan.app import run as runs
from minigan.app.run_state import MAX_FRAMES, OVERRIDABLE
from minigan.gan import LOSSES, NOISE

__all__ = ["main"]

NOT_DEMOS = ("make_readme_assets",)  # a tool in demos/ that runs the demos, not a demo itself
DEMOS = Path(__file__).resolve().parents[2] / "demos"
FIXED_BY_THE_RUN = ("data", "seed", "out", *OVERRIDABLE)  # what --resume takes from the checkpoint
MAX_K = 100  # --k: D-steps per G-step, so a training step stays short enough to answer Ctrl-C within seconds


class UsageError(Exception):
    """Bad input from the command line: reported as one line, no traceback."""


def _positive_int(text: str) -> int:
    try:
        return validate.positive_int("value", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text}") from None


def _at_most(limit: int, what: str):
    """The argparse type of a positive whole number of ``what``, at most ``limit``."""
    def parse(text: str) -> int:
        number = _positive_int(text)
        if number > limit:
            raise argparse.ArgumentTypeError(f"expected at most {limit} {what}, got {text}")
        return number
    return parse


def _positive_float(text: str) -> float:
    try:
        return validate.positive_number("value", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}") from None


def _non_negative_int(text: str) -> int:
    try:
        return validate.count("value", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number ≥ 0, got {text}") from None


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number from 1 to 65535, got {text}")
    return port


def _given(args, names) -> dict:
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _check_environment() -> None:
    """The progress bar (tqdm) and the pictures (matplotlib) read settings from the environment
    when imported: a value they refuse is named in one line before anything runs."""
    try:
        import tqdm  # noqa: F401  (reads the TQDM_* variables)
    except (ValueError, TypeError) as exc:
        names = ", ".join(f"{k}={v!r}" for k, v in os.environ.items() if k.startswith("TQDM_")) or "a TQDM_ variable"
        raise UsageError(f"the environment sets {names}, which the progress bar (tqdm) cannot use ({exc}); "
                         "unset it or fix its value") from None
    try:
        import matplotlib  # noqa: F401  (reads MPLBACKEND)
    except ValueError as exc:
        if "MPLBACKEND" not in os.environ:
            raise
        raise UsageError(f"the environment sets MPLBACKEND={os.environ['MPLBACKEND']!r}, which matplotlib "
                         f"does not know ({exc}); unset it or name a known backend") from None


def _train(args) -> int:
    for option, what in (("resume", "the folder of a run"), ("out", "an output folder"),
                         ("mnist_path", "a file or folder of MNIST images")):
        if getattr(args, option) == "":  # "" would quietly mean the default folder, or the current one
            raise UsageError(f"--{option.replace('_', '-')} needs {what}, got an empty name")
    if args.resume:
        clashes = list(_given(args, FIXED_BY_THE_RUN)) + (["overwrite"] if args.overwrite else [])
        if clashes:
            options = ", ".join("--" + name.replace("_", "-") for name in clashes)
            raise UsageError(f"--resume continues a run with its saved settings; drop {options} (only --steps, "
                             "--log-every, --frames, --checkpoint-every, --backend, --threads and --mnist-path may change)")
    _check_environment()
    backend.use(args.backend)
    output = _given(args, runs.OUTPUT_DEFAULTS)
    if args.resume:
        # loaded before anything is written
        model, run, history, snapshots = runs.resume(args.resume, mnist_path=args.mnist_path)
        out = runs.writable_folder(Path(args.resume))
        run["output"].update(output)
        steps = args.steps or run["steps"]
    else:
        model, run, out, steps = runs.start(
            args.data or "ring", seed=0 if args.seed is None else args.seed, overrides=_given(args, OVERRIDABLE),
            mnist_path=args.mnist_path, out=args.out, output=output, steps=args.steps)
        history, snapshots = None, None
    threads.configure(args.threads, threads.largest_product(model.G, model.D, batch=model.config.batch_size))
    allocator.keep_freed_memory()  # freed arrays stay for the next step: fewer page faults (minigan.allocator)
    return runs.train(model, run, out, steps, history=history, snapshots=snapshots, progress=args.progress,
                      overwrite=args.overwrite, **run["output"])


def _demo_scripts() -> dict:
    if not DEMOS.is_dir():
        raise UsageError(f"the demos live in the source checkout's demos/ folder, not found at {DEMOS}")
    return {p.stem: p for p in sorted(DEMOS.glob("*.py")) if not p.stem.startswith("_") and p.stem not in NOT_DEMOS}


def _first_line(path: Path) -> str:
    text = path.read_text()
    start = text.find('"""')
    return text[start + 3:].splitlines()[0].strip() if start >= 0 else ""


def _demo(args) -> int:
    scripts = _demo_scripts()
    if args.list or not args.name:
        width = max(map(len, scripts))
        print("demos (run one with: minigan demo NAME [--quick] [--out DIR]):")
        for name, path in scripts.items():
            print(f"  {name:<{width}}  {_first_line(path)}")
        return 0
    if args.name not in scripts:
        raise UsageError(f"unknown demo {args.name!r}; known: {', '.join(scripts)}")
    _check_environment()
    # its own Python process, as `python demos/NAME.py`: the script's folder is on its path; its BLAS
    # reads its threads from the environment when it starts, and glibc its malloc thresholds
    environment = allocator.child_environment(threads.child_environment())
    status = subprocess.run([sys.executable, str(scripts[args.name]), *args.demo_args], env=environment).returncode
    return 128 - status if status < 0 else status  # a demo a signal ended: 128 + its number, as a shell says


def _lab(args) -> int:
    _check_environment()
    from minigan.app import lab  # matplotlib's import takes a second: only the lab pays for it

    threads.configure()  # the lab's networks are small: one thread, unless asked otherwise
    allocator.keep_freed_memory()
    if args.browser:
        return lab.serve(args.data, args.loss, args.seed, port=args.port, open_browser=args.open,
                         save_path=args.save_file)
    if args.port is not None or args.open:
        raise UsageError("--port and --open go with --browser")
    return lab.main(args.data, args.loss, args.seed, save_path=args.save_file)


# ----------------------------------------------------------------------------- parser


class _Parser(argparse.ArgumentParser):
    """argparse, but a mistake is reported in one line (plus where to find help), not a usage dump."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see: {self.prog} --help)\n")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="minigan",
        description="minigan: train a small GAN and watch it learn. "
                    "Start with `minigan train` (the ring of 8 Gaussians), then try `minigan demo --list`.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    train = commands.add_parser(
        "train", help="train a GAN and write its metrics, pictures and checkpoint",
        description="Train a GAN from a tested preset and write metrics.csv, evaluation.csv, losses.png, "
                    "training.png, training.gif, final.png and checkpoint.npz into the output folder.",
    )
    train.add_argument("--data", choices=list(presets.PRESETS),
                       help="the real data p_data (default: ring, 8 Gaussians on a circle)")
    train.add_argument("--loss", choices=LOSSES, help="generator loss (default: non_saturating)")
    train.add_argument("--k", type=_at_most(MAX_K, "D-steps per G-step"), help=f"D-steps per G-step (default: 1; at most {MAX_K})")
    train.add_argument("--steps", type=_positive_int, help="training steps (default: the preset's)")
    train.add_argument("--batch-size", type=_positive_int, help="samples of z and of x per step")
    train.add_argument("--lr-g", type=_positive_float, help="learning rate of G's optimiser (Adam; SGD in mnist_paper)")
    train.add_argument("--lr-d", type=_positive_float, help="learning rate of D's optimiser (Adam; SGD in mnist_paper)")
    train.add_argument("--latent-dim", type=_positive_int, help="size of the noise z")
    train.add_argument("--noise", choices=NOISE, help="noise prior p_z (default: the preset's; uniform for the grid, normal otherwise)")
    train.add_argument("--seed", type=int, help="random seed: same seed, same run (default: 0)")
    train.add_argument("--backend", choices=backend.KNOWN, default=backend.name(),
                       help="array module: numpy, or cupy on a GPU (default: numpy)")
    train.add_argument("--out", help="output folder (default: runs/<data>)")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (its checkpoint.npz)")
    train.add_argument("--overwrite", action="store_true",
                       help="start a new run in --out even if it holds one (whose files are removed); "
                            "without it, such a folder is refused")
    train.add_argument("--mnist-path", metavar="PATH",
                       help="with --data mnist: MNIST's training images, the IDX file itself or a folder holding "
                            "exactly one train-images-idx3-ubyte (plain or .gz; the t10k-* test set is never "
                            "picked); with --resume: where the run's file is now, if it moved")
    train.add_argument("--log-every", type=_positive_int, help="steps between rows of metrics.csv, which also gets the last step (default: 10)")
    train.add_argument("--frames", type=_at_most(MAX_FRAMES, "snapshots"),
                       help=f"snapshots to draw over the run, at most {MAX_FRAMES} (default: 40)")
    train.add_argument("--checkpoint-every", type=_positive_int, help="steps between checkpoints (default: 500)")
    train.add_argument("--threads", type=_at_most(threads.MAX_THREADS, "threads"),
                       help="threads for NumPy's matrix products (default: 1 for small networks, see README)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: when writing to a terminal)")
    train.set_defaults(run=_train, parser=train)

    demo = commands.add_parser("demo", help="run one of the demos (see --list)",
                               description="Run a demo script from demos/; extra arguments go to the demo.")
    demo.add_argument("name", nargs="?", help="the demo to run")
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("demo_args", nargs=argparse.REMAINDER, help="arguments for the demo, e.g. --quick")
    demo.set_defaults(run=_demo, parser=demo)

    lab = commands.add_parser("lab", help="step D and G by hand and watch GAN Lab's views, in a window or a browser",
                              description="Open the lab: step D, step G, rounds, play, slow motion through the "
                                          "algorithm's nine steps; data sets and your own drawing, the game, "
                                          "optimisers, learning rates, k, layers and neurons, save and load. "
                                          "A desktop window needs a display; --browser serves it to a browser on "
                                          "this computer instead (127.0.0.1 only).")
    lab.add_argument("--data", choices=presets.LAB_DATA_SETS, default="ring",
                     help="2-D data set (default: ring; drawn: start by drawing your own)")
    lab.add_argument("--loss", choices=LOSSES, default="non_saturating", help="generator loss (default: non_saturating)")
    lab.add_argument("--seed", type=_non_negative_int, default=0, help="random seed (default: 0)")
    lab.add_argument("--browser", action="store_true",
                     help="serve the lab to a browser on this computer (http://127.0.0.1:PORT/) instead of a window")
    lab.add_argument("--port", type=_port, help="with --browser: the port to serve on (default: 8988)")
    lab.add_argument("--open", action="store_true", help="with --browser: open the page in the default web browser")
    lab.add_argument("--save-file", default="minigan-lab.npz",
                     help="the file the lab's save and load buttons use (default: minigan-lab.npz)")
    lab.set_defaults(run=_lab, parser=lab)
    return parser


def main(argv=None) -> int:
    for stream in (sys.stdout, sys.stderr):  # a terminal that cannot show a θ or a ≥ gets an escape, not an error
        with contextlib.suppress(AttributeError, ValueError):
            stream.reconfigure(errors="backslashreplace")
    try:
        with runs.stop_signals_interrupt():  # SIGTERM and SIGHUP end minigan as Ctrl-C does
            backend.current()  # MINIGAN_BACKEND is read here: a bad value is one line, even for --help
            threads.requested()  # and MINIGAN_THREADS
            args, unknown = _parser().parse_known_args(argv)
            if unknown:  # named by the command's own parser, so the hint is its --help
                args.parser.error(f"unrecognized arguments: {' '.join(unknown)}")
            status = args.run(args)
            sys.stdout.flush()  # a closed pipe is noticed here, not at exit
            return status
    except (UsageError, runs.RunError, ValueError, FileNotFoundError, ImportError, backend.BackendError) as exc:
        print(f"minigan: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (`minigan demo --list | head -1`): stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nothing more to flush at exit
        return 141  # 128 + SIGPIPE, as a Unix tool stopped by the closed pipe
    except OSError as exc:  # the file system failed (a full disk, a folder where a file goes)
        where = f" ({exc.filename})" if exc.filename else ""
        print(f"minigan: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 1
    except MemoryError as exc:
        print(f"minigan: error: out of memory ({exc or 'try a smaller --batch-size'})", file=sys.stderr)
        return 1
    except KeyboardInterrupt as exc:  # Ctrl-C, or a second stop signal during training
        signum = getattr(exc, "signum", signal.SIGINT)
        print(f"minigan: interrupted ({signal.Signals(signum).name}); stopped at once", file=sys.stderr)
        return 128 + signum


if __name__ == "__main__":
    sys.exit(main())
