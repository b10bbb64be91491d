"""The command line: ``minigan train`` and ``minigan demo`` (also ``python -m minigan``).

``minigan train`` trains the GAN of a preset (the ring of 8 Gaussians by default) and
writes into its output folder:

    metrics.csv       one row per logged step: D's two losses, G's loss, D(x), D(G(z)), gradient norms
    evaluation.csv    at each picture: modes covered and high-quality fraction (2-D mixtures),
                      or G's mean, spread and JSD to p_data (1-D)
    losses.png        the curves of metrics.csv
    training.png      snapshots side by side;  training.gif: all of them, animated
    final.png         the last snapshot, large
    checkpoint.npz    everything needed to resume (written atomically, every --checkpoint-every steps)

Ctrl-C stops after the current step and saves a checkpoint; ``--resume DIR`` continues
a run exactly as if it had never stopped. A run that diverges (NaN or inf) stops with
a message, and its last good checkpoint stays as it was.
"""

from __future__ import annotations

import argparse
import csv
import runpy
import signal
import sys
from pathlib import Path

import numpy as np  # host side: fixed evaluation noise, history columns

from minigan import backend, checkpoint, data, metrics, plot, presets, probe, validate
from minigan.gan import LOSSES, NOISE, DivergenceError, History

__all__ = ["main", "run_training"]

DEMOS = Path(__file__).resolve().parent.parent / "demos"
CHECKPOINT = "checkpoint.npz"
OVERRIDABLE = ("loss", "k", "batch_size", "lr_g", "lr_d", "latent_dim", "noise")
OUTPUT_DEFAULTS = {"log_every": 10, "frames": 40, "checkpoint_every": 500}  # saved with the run


class UsageError(Exception):
    """Bad input from the command line: reported as one line, no traceback."""


def _positive_int(text: str) -> int:
    try:
        return validate.positive_int("value", int(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text}") from None


def _positive_float(text: str) -> float:
    try:
        return validate.positive_number("value", float(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text}") from None


def _writable_folder(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / ".minigan-write-test"
        probe.write_text("")
        probe.unlink()
    except OSError as exc:
        raise UsageError(f"cannot write to output folder {path}: {exc.strerror or exc}") from None
    return path


# ----------------------------------------------------------------------------- training


class _StopRequest:
    """Ctrl-C sets a flag that the loop checks between steps, so a checkpoint is always taken
    at a step boundary; a second Ctrl-C stops at once."""

    def __init__(self):
        self.requested = False

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def _evaluate(model, shot: dict) -> dict:
    """Numbers about G at a snapshot, from its samples on the fixed evaluation noise."""
    fake, target = shot["fake"], model.data
    row = {"step": shot["step"]}
    if isinstance(target, data.GaussianMixture) and target.dim == 2:
        coverage = metrics.mode_coverage(fake, target)
        row.update(modes_covered=coverage.modes_covered, high_quality=round(coverage.high_quality_fraction, 4))
    elif isinstance(target, data.GaussianMixture) and target.dim == 1 and np.ptp(fake) > 0:
        row.update(g_mean=float(fake.mean()), g_std=float(fake.std()),
                   jsd=metrics.js_from_samples(fake, target))
    return row


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def run_training(model, run: dict, out: Path, steps: int, *, history: History | None = None,
                 snapshots: list | None = None, log_every: int = 10, frames: int = 40,
                 checkpoint_every: int = 500, progress: bool | None = None) -> int:
    """Train ``model`` up to ``steps``, logging, drawing and checkpointing into ``out``.

    ``run`` describes the run (data set, seed, ...) and is saved in the checkpoint so
    ``--resume`` can rebuild it. Returns the process exit code: 0 done, 1 diverged,
    130 interrupted (a checkpoint was saved).
    """
    from tqdm import tqdm

    history = history if history is not None else History()
    snapshots = snapshots if snapshots is not None else []
    images = getattr(model.data, "image_shape", None) is not None
    eval_z = model.sample_noise(64 if images else 512, np.random.default_rng(run["seed"] + 1))  # fixed: same z each frame
    real = model.data.sample(1000, np.random.default_rng(run["seed"] + 2))
    every = max(1, steps // frames)
    metrics_path, checkpoint_path = out / "metrics.csv", out / CHECKPOINT
    logged = [r for r in history.records if r["step"] % log_every == 0]

    def save_checkpoint():
        state = model.state_dict()
        state.update(run=dict(run, steps=steps), history=history.columns(), frames=snapshots)
        checkpoint.save(checkpoint_path, state)

    def draw():
        if snapshots:
            _write_csv(out / "evaluation.csv", [_evaluate(model, s) for s in snapshots])
            plot.training_figure(snapshots, model.data, out / "training.png", real=real)
            plot.save_gif(snapshots, model.data, out / "training.gif", real=real)
            plot.frame_figure(snapshots[-1], model.data, out / "final.png", real=real)
        if history.records:
            plot.history_figure(history, out / "losses.png")

    if not snapshots:
        snapshots.append(probe.snapshot(model, eval_z))
    if logged:  # a resumed run: metrics.csv holds exactly the rows up to the checkpoint
        _write_csv(metrics_path, logged)
    else:
        metrics_path.unlink(missing_ok=True)
    bar = tqdm(total=steps, initial=model.step, unit="step", desc=f"training on {model.data!r}",
               disable=None if progress is None else not progress, dynamic_ncols=True)
    status = 0
    with _StopRequest() as stop:
        try:
            while model.step < steps and not stop.requested:
                record = model.train_step()
                history.append(record)
                bar.update(1)
                if model.step % log_every == 0:
                    logged.append(record)
                    _append_row(metrics_path, record, first=len(logged) == 1)
                    bar.set_postfix(loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}",
                                    D_x=f"{record['d_real']:.2f}", D_Gz=f"{record['d_fake']:.2f}")
                if model.step % every == 0 or model.step == steps:
                    snapshots.append(probe.snapshot(model, eval_z))
                if model.step % checkpoint_every == 0 or model.step == steps:
                    save_checkpoint()
        except DivergenceError as exc:
            bar.close()
            kept = f"the last good checkpoint is kept at {checkpoint_path}" if checkpoint_path.exists() \
                else "no checkpoint had been written yet"
            print(f"minigan: error: {exc}\n{kept}", file=sys.stderr)
            status = 1
    bar.close()
    if stop.requested and model.step < steps and status == 0:  # never save a run that diverged
        save_checkpoint()
        print(f"interrupted at step {model.step}; checkpoint saved to {checkpoint_path}\n"
              f"continue with: minigan train --resume {out}", file=sys.stderr)
        status = 130
    draw()
    if status == 0:
        print(_summary(model, snapshots, out))
    return status


def _append_row(path: Path, record: dict, first: bool) -> None:
    with open(path, "a", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(record))
        if first:
            writer.writeheader()
        writer.writerow(record)


def _summary(model, snapshots, out: Path) -> str:
    lines = [f"trained {model.step} steps on {model.data!r}; results in {out}/"]
    last = _evaluate(model, snapshots[-1])
    if "modes_covered" in last:
        lines.append(f"  modes covered: {last['modes_covered']}/{len(model.data.means)}, "
                     f"high-quality samples: {100 * last['high_quality']:.1f}%")
    if "g_mean" in last:
        lines.append(f"  G's samples: mean {last['g_mean']:.3f} (data {model.data.mean[0]:.3f}), "
                     f"std {last['g_std']:.3f} (data {model.data.std[0]:.3f}), JSD {last['jsd']:.4f}")
    lines.append("  pictures: " + ", ".join(sorted(p.name for p in out.glob("*.png")) + ["training.gif"]))
    return "\n".join(lines)


FIXED_BY_THE_RUN = ("data", "seed", "mnist_path", "out", *OVERRIDABLE)  # what --resume takes from the checkpoint


def _train(args) -> int:
    if args.resume:
        clashes = [name for name in FIXED_BY_THE_RUN if getattr(args, name) is not None]
        if clashes:
            options = ", ".join("--" + name.replace("_", "-") for name in clashes)
            raise UsageError(f"--resume continues a run with its saved settings; drop {options} "
                             "(only --steps, --log-every, --frames, --checkpoint-every and --backend may change)")
    data_name = args.data or "ring"
    seed = 0 if args.seed is None else args.seed
    backend.use(args.backend)
    if args.resume:
        model, run, history, snapshots = _resume(Path(args.resume) / CHECKPOINT)  # before anything is written
        out = _writable_folder(Path(args.resume))
        run["output"].update({k: v for k, v in _output_settings(args).items() if v is not None})
        steps = args.steps or run["steps"]
        print(f"resuming {out} at step {model.step} of {steps}")
    else:
        out = _writable_folder(Path(args.out or f"runs/{data_name}"))
        overrides = {name: getattr(args, name) for name in OVERRIDABLE if getattr(args, name) is not None}
        model, preset_steps = presets.build(data_name, seed=seed, mnist_path=args.mnist_path, **overrides)
        output = {**OUTPUT_DEFAULTS, **{k: v for k, v in _output_settings(args).items() if v is not None}}
        run = {"data": data_name, "seed": seed, "overrides": overrides, "mnist_path": args.mnist_path,
               "output": output}
        history, snapshots, steps = None, None, args.steps or preset_steps
    if steps < model.step:
        raise UsageError(f"--steps {steps} is behind the checkpoint, which is at step {model.step}")
    return run_training(model, run, out, steps, history=history, snapshots=snapshots, progress=args.progress,
                        **run["output"])


def _resume(path: Path):
    """The GAN, run record, history and frames saved by ``minigan train`` at ``path``."""
    state = checkpoint.load(path)
    if "run" not in state:
        raise checkpoint.CheckpointError(f"{path} was not written by `minigan train` "
                                         "(it has no record of the run), so it cannot be resumed from here")
    try:
        run = state["run"]
        model, _ = presets.build(run["data"], mnist_path=run.get("mnist_path"), **run["overrides"])
        model.load_state_dict(state)
        return model, run, History.from_columns(state["history"]), list(state["frames"])
    except (KeyError, TypeError, ValueError) as exc:
        what = f"{exc.args[0]!r} is missing" if isinstance(exc, KeyError) else exc
        raise checkpoint.CheckpointError(f"{path} does not hold a run that can be resumed: {what}") from None


def _output_settings(args) -> dict:
    return {"log_every": args.log_every, "frames": args.frames, "checkpoint_every": args.checkpoint_every}


# ----------------------------------------------------------------------------- demos


def _demo_scripts() -> dict:
    if not DEMOS.is_dir():
        raise UsageError(f"the demos live in the source checkout's demos/ folder, not found at {DEMOS}")
    return {p.stem: p for p in sorted(DEMOS.glob("*.py")) if not p.stem.startswith("_")}


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
    sys.argv = [str(scripts[args.name]), *args.demo_args]
    sys.path.insert(0, str(DEMOS))  # as `python demos/NAME.py` would: the demos import their _common
    runpy.run_path(str(scripts[args.name]), run_name="__main__")
    return 0


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
    train.add_argument("--k", type=_positive_int, help="D-steps per G-step (default: 1)")
    train.add_argument("--steps", type=_positive_int, help="training steps (default: the preset's)")
    train.add_argument("--batch-size", type=_positive_int, help="samples of z and of x per step")
    train.add_argument("--lr-g", type=_positive_float, help="Adam learning rate of the generator")
    train.add_argument("--lr-d", type=_positive_float, help="Adam learning rate of the discriminator")
    train.add_argument("--latent-dim", type=_positive_int, help="size of the noise z")
    train.add_argument("--noise", choices=NOISE, help="noise prior p_z (default: normal)")
    train.add_argument("--seed", type=int, help="random seed: same seed, same run (default: 0)")
    train.add_argument("--backend", choices=backend.KNOWN, default=backend.name(),
                       help="array module: numpy, or cupy on a GPU (default: numpy)")
    train.add_argument("--out", help="output folder (default: runs/<data>)")
    train.add_argument("--resume", metavar="DIR", help="continue the run saved in DIR (its checkpoint.npz)")
    train.add_argument("--mnist-path", help="with --data mnist: a local MNIST images IDX file or its folder")
    train.add_argument("--log-every", type=_positive_int, help="steps between rows of metrics.csv (default: 10)")
    train.add_argument("--frames", type=_positive_int, help="snapshots to draw over the run (default: 40)")
    train.add_argument("--checkpoint-every", type=_positive_int, help="steps between checkpoints (default: 500)")
    train.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                       help="show a progress bar (default: when writing to a terminal)")
    train.set_defaults(run=_train)

    demo = commands.add_parser("demo", help="run one of the demos (see --list)",
                               description="Run a demo script from demos/; extra arguments go to the demo.")
    demo.add_argument("name", nargs="?", help="the demo to run")
    demo.add_argument("--list", action="store_true", help="list the demos")
    demo.add_argument("demo_args", nargs=argparse.REMAINDER, help="arguments for the demo, e.g. --quick")
    demo.set_defaults(run=_demo)
    return parser


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        return args.run(args)
    except (UsageError, ValueError, FileNotFoundError, ImportError, backend.BackendError) as exc:
        print(f"minigan: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("minigan: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
