"""A training run on disk: what ``minigan train`` does between parsing its options and exiting.

A run trains a preset's GAN with ``GAN.train`` (the one training loop) and, through that
loop's callbacks, writes into its output folder:

    metrics.csv       one row per logged step: the step counters, D's two losses, D(x), D(G(z)),
                      G's loss, the gradient norms
    evaluation.csv    at each picture: modes covered, high-quality fraction and a JSD estimate (2-D
                      mixtures), or G's mean, spread and JSD to p_data (1-D)
    losses.png        the curves of metrics.csv and evaluation.csv
    training.png      snapshots side by side;  training.gif: all of them, animated
    final.png         the last snapshot, large
    checkpoint.npz    everything needed to resume (written atomically, every checkpoint_every steps)

Ctrl-C stops after the current step and saves a checkpoint; ``resume(folder)`` continues
a run exactly as if it had never stopped. A run that diverges (NaN or inf) stops with a
message, and its last good checkpoint stays as it was.
"""

from __future__ import annotations

import contextlib
import csv
import os
import signal
import stat
import sys
from pathlib import Path

import numpy as np  # host side: fixed evaluation noise, history columns

from minigan.app import checkpoint, presets, probe
from minigan.gan import DivergenceError, History

__all__ = ["RunError", "CHECKPOINT", "OUTPUT_DEFAULTS", "start", "resume", "train"]

CHECKPOINT = "checkpoint.npz"
OUTPUT_FILES = ("metrics.csv", "evaluation.csv", "losses.png", "training.png", "training.gif", "final.png",
                CHECKPOINT)
LOCK = ".minigan.lock"  # held by the run writing into the folder
OUTPUT_DEFAULTS = {"log_every": 10, "frames": 40, "checkpoint_every": 500}  # saved with the run


class RunError(Exception):
    """A run that cannot start or go on (an unwritable folder, steps behind the checkpoint): one line."""


def writable_folder(path: Path) -> Path:
    """``path``, created if needed, once a file could be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        test_file = path / ".minigan-write-test"
        test_file.write_text("")
        test_file.unlink()
    except OSError as exc:
        raise RunError(f"cannot write to output folder {path}: {exc.strerror or exc}") from None
    return path


def start(data_name: str, *, seed: int = 0, overrides: dict | None = None, mnist_path=None, out=None,
          output: dict | None = None, steps: int | None = None):
    """A new run of the preset ``data_name``: (model, run record, output folder, the run's steps:
    ``steps``, or the preset's; a preset's learning-rate decay is laid over them).

    ``overrides`` are GANConfig fields that replace the preset's; ``output`` the settings of
    ``train`` (log_every, frames, checkpoint_every) that replace OUTPUT_DEFAULTS.
    """
    overrides = dict(overrides or {})
    try:
        model, steps = presets.build(data_name, seed=seed, mnist_path=mnist_path, steps=steps, **overrides)  # checks them
    except MemoryError as exc:  # NumPy refuses an array larger than the memory before allocating it
        raise RunError(f"these settings would need more memory than there is: {exc}") from None
    check_memory(model)
    out = writable_folder(Path(out or f"runs/{data_name}"))
    run = {"data": data_name, "seed": seed, "overrides": overrides, "mnist_path": mnist_path,
           "output": {**OUTPUT_DEFAULTS, **(output or {})}}
    return model, run, out, steps


def resume(folder):
    """The run saved in ``folder``: (model, run record, history, snapshots), loaded before
    anything is written; a CheckpointError if it is not a run that can be resumed."""
    path = Path(folder) / CHECKPOINT
    if "run" not in checkpoint.load(path):
        raise checkpoint.CheckpointError(f"{path} was not written by `minigan train` "
                                         "(it has no record of the run), so it cannot be resumed from here")
    state = checkpoint.load(path, checkpoint.RUN_STATE)  # every field checked by type and range
    try:
        run = state["run"]  # the model is rebuilt with the run's saved configuration (its lr schedule too)
        model, _ = presets.build(run["data"], mnist_path=run.get("mnist_path"), **state["config"])
        model.load_state_dict(state)
        check_memory(model)
        return model, run, History.from_columns(state["history"]), list(state["frames"])
    except (KeyError, TypeError, ValueError) as exc:
        what = f"{exc.args[0]!r} is missing" if isinstance(exc, KeyError) else exc
        raise checkpoint.CheckpointError(f"{path} does not hold a run that can be resumed: {what}") from None


def _size(n_bytes: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"):
        if n_bytes < 1024 or unit == "EiB":
            return f"{n_bytes:.0f} {unit}" if unit == "bytes" else f"{n_bytes:.1f} {unit}"
        n_bytes /= 1024


def check_memory(model) -> None:
    """Refuse, before anything is allocated for training, a run whose one step needs more memory
    than the machine has. An estimate, from the parameters (each with its gradient and Adam's
    two buffers) and the activations of a batch: each layer's output and its gradient, in G
    once and in D for real and fake samples."""
    cfg, itemsize = model.config, model.G.parameters()[0].data.dtype.itemsize
    widths = {name: sum(p.size for p in net.parameters() if p.ndim == 1) for name, net in (("G", model.G), ("D", model.D))}
    parameters = sum(p.size for p in model.G.parameters() + model.D.parameters())
    per_sample = cfg.latent_dim + model.data.dim + 2 * widths["G"] + 4 * widths["D"]
    needed = itemsize * (4 * parameters + 2 * cfg.batch_size * per_sample)
    available = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") if hasattr(os, "sysconf") else None
    if available and needed > available:
        raise RunError(f"--batch-size {cfg.batch_size} with --latent-dim {cfg.latent_dim} would need about "
                       f"{_size(needed)} of memory for one training step; this machine has {_size(available)}")


@contextlib.contextmanager
def exclusive(folder: Path):
    """Hold ``folder``'s lock for the block: a second run into the same folder is refused.
    An flock belongs to the open file, so the system drops it when the process ends, however
    it ends: a crash never leaves the folder locked. Temporary files that a save killed
    mid-write left behind are removed once the lock is held."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock
        fcntl = None
    with open(folder / LOCK, "a") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunError(f"another minigan run is writing into {folder} (it holds {folder / LOCK}); "
                               "wait for it to end, or choose another --out") from None
        checkpoint.remove_stale_temporaries(folder / CHECKPOINT)
        yield


def _check_output_files(folder: Path) -> None:
    """The files a run writes, where they exist already, must be files (not folders, FIFOs or devices)."""
    for name in OUTPUT_FILES:
        path = folder / name
        with contextlib.suppress(FileNotFoundError):
            mode = path.stat().st_mode
            if not stat.S_ISREG(mode):
                kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
                raise RunError(f"{path} is {kind}; a run writes a file there (move it away, or choose another --out)")


class StopRequest:
    """Ctrl-C sets a flag that the training loop asks (``stop()``) between steps, so a checkpoint
    is always taken at a step boundary; a second Ctrl-C stops at once."""

    def __init__(self):
        self.requested = False

    def __call__(self) -> bool:
        return self.requested

    def __enter__(self):
        self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __exit__(self, *exc):
        signal.signal(signal.SIGINT, self._previous)


def evaluate(model, shot: dict) -> dict:
    """Numbers about G at a snapshot, from its samples on the fixed evaluation noise."""
    return {"step": shot["step"], **probe.evaluate(model.data, shot["fake"])}


def _write_csv(path: Path, rows: list[dict]) -> None:
    columns = list(dict.fromkeys(key for row in rows for key in row))
    with open(path, "w", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)


def _append_row(path: Path, record: dict, first: bool) -> None:
    with open(path, "a", newline="") as stream:
        writer = csv.DictWriter(stream, fieldnames=list(record))
        if first:
            writer.writeheader()
        writer.writerow(record)


def train(model, run: dict, out: Path, steps: int, *, history: History | None = None,
          snapshots: list | None = None, log_every: int = 10, frames: int = 40,
          checkpoint_every: int = 500, progress: bool | None = None) -> int:
    """Train ``model`` up to training step ``steps``, logging, drawing and checkpointing into ``out``.

    ``run`` describes the run (data set, seed, ...) and is saved in the checkpoint so
    ``resume`` can rebuild it. Returns the process exit code: 0 done, 1 diverged,
    130 interrupted (a checkpoint was saved).
    """
    if steps < model.step:
        raise RunError(f"--steps {steps} is behind the checkpoint, which is at step {model.step}")
    if model.config.lr_decay_to and steps > model.config.lr_decay_to:
        raise RunError(f"--steps {steps} goes past step {model.config.lr_decay_to}, where this run's learning rates "
                       f"have decayed to 0, so the extra steps would change nothing; start a new run with --steps {steps}")
    with exclusive(out):  # one run at a time writes into a folder
        _check_output_files(out)
        return _train(model, run, out, steps, history, snapshots, log_every, frames, checkpoint_every, progress)


def _train(model, run, out, steps, history, snapshots, log_every, frames, checkpoint_every, progress) -> int:
    from tqdm import tqdm

    history = history if history is not None else History()
    snapshots = snapshots if snapshots is not None else []
    images = getattr(model.data, "image_shape", None) is not None
    eval_z = model.sample_noise(64 if images else 512, np.random.default_rng(run["seed"] + 1))  # same z each frame
    real = model.data.sample(1000, np.random.default_rng(run["seed"] + 2))
    every = max(1, steps // frames)
    metrics_path, checkpoint_path = out / "metrics.csv", out / CHECKPOINT
    logged = [r for r in history.records if r["step"] % log_every == 0]

    def save_checkpoint():
        state = model.state_dict()
        state.update(run=dict(run, steps=steps), history=history.columns(), frames=snapshots)
        try:
            checkpoint.save(checkpoint_path, state, checkpoint.RUN_STATE)
        except OSError as exc:  # a full disk, a quota: the atomic save left the old file whole
            kept = "the previous checkpoint is kept" if checkpoint_path.exists() else "no checkpoint was written"
            raise RunError(f"cannot save the checkpoint {checkpoint_path}: {exc.strerror or exc}; {kept}") from None

    def after_each_step(model, record):
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

    if not snapshots:
        snapshots.append(probe.snapshot(model, eval_z))
    if logged:  # a resumed run: metrics.csv holds exactly the rows up to the checkpoint
        _write_csv(metrics_path, logged)
    else:
        metrics_path.unlink(missing_ok=True)
    bar = tqdm(total=steps, initial=model.step, unit="step", desc=f"training on {model.data!r}",
               disable=None if progress is None else not progress, dynamic_ncols=True)
    status = 0
    with StopRequest() as stop:
        try:
            model.train(steps - model.step, callbacks=after_each_step, stop=stop, history=history)
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
    _draw(model, history, snapshots, out, real)
    if status == 0:
        print(_summary(model, snapshots, out))
    return status


def _draw(model, history: History, snapshots: list, out: Path, real) -> None:
    from minigan.app import plot  # matplotlib takes seconds to import: only a run that draws pays for it

    evaluation = [evaluate(model, s) for s in snapshots]
    if snapshots:
        _write_csv(out / "evaluation.csv", evaluation)
        scale = plot.arrow_scale(snapshots)  # one arrow scale for all the run's pictures
        plot.training_figure(snapshots, model.data, out / "training.png", real=real, scale=scale)
        plot.save_gif(snapshots, model.data, out / "training.gif", real=real, scale=scale)
        plot.frame_figure(snapshots[-1], model.data, out / "final.png", real=real, scale=scale)
    if history.records:
        plot.history_figure(history, out / "losses.png", evaluation=evaluation, loss=model.config.loss)


def _summary(model, snapshots, out: Path) -> str:
    lines = [f"trained {model.step} steps on {model.data!r}; results in {out}/"]
    last = evaluate(model, snapshots[-1])
    if "modes_covered" in last:
        lines.append(f"  modes covered: {last['modes_covered']}/{len(model.data.means)}, "
                     f"high-quality samples: {100 * last['high_quality']:.1f}%")
    if "g_mean" in last:
        lines.append(f"  G's samples: mean {last['g_mean']:.3f} (data {model.data.mean[0]:.3f}), "
                     f"std {last['g_std']:.3f} (data {model.data.std[0]:.3f}), JSD {last['jsd']:.4f}")
    lines.append("  pictures: " + ", ".join(sorted(p.name for p in out.glob("*.png")) + ["training.gif"]))
    return "\n".join(lines)
