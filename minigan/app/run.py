"""A training run on disk: what ``minigan train`` does between parsing its options and exiting.

A run trains a preset's GAN with ``GAN.train`` (the one training loop) and, through that
loop's callbacks, writes into its output folder:

    metrics.csv       one row every log_every steps and at the last step: the step counters,
                      D's two losses, D(x), D(G(z)), G's loss, the gradient norms
    evaluation.csv    at each picture: modes covered, high-quality fraction and a JSD estimate (2-D
                      mixtures), or G's mean, spread and JSD to p_data (1-D)
    losses.png        the curves of metrics.csv and evaluation.csv
    training.png      snapshots side by side;  training.gif: all of them, animated
    final.png         the last snapshot, large
    checkpoint.npz    everything needed to resume (``minigan.app.run_state``), every
                      checkpoint_every steps

Every file but metrics.csv (which grows a row at a time) is written whole or not at all,
and a symbolic link in its place is replaced, never written through
(``minigan.app.files``). A new run refuses a folder that holds a run unless told to
overwrite it; ``resume(folder)`` continues a run exactly as if it had never stopped, on
the same data (the data's fingerprint must match).

A stop signal, Ctrl-C (SIGINT), SIGTERM (what kill, timeout, systemd, docker and Slurm
send) or SIGHUP (a closed terminal), stops after the current step and saves a checkpoint;
the exit status is then 128 + the signal's number (130, 143, 129), as a shell reports a
process that a signal ended. A second signal stops at once, keeping the last checkpoint. A
signal the process was started to ignore (``nohup`` ignores SIGHUP) stays ignored.
A run that diverges (NaN or inf) stops with a message, and its last good checkpoint stays
as it was.
"""

from __future__ import annotations

import contextlib
import csv
import io
import math
import os
import shlex
import shutil
import signal
import stat
import sys
import tempfile
import threading
from pathlib import Path

import numpy as np  # host side: fixed evaluation noise, history columns

from minigan.app import presets, probe, run_state
from minigan.app.checkpoint import CheckpointError
from minigan.app.files import remove_stale_temporaries, write_atomically
from minigan.data import locate_mnist
from minigan.gan import DivergenceError, History

__all__ = ["RunError", "Interrupted", "CHECKPOINT", "OUTPUT_FILES", "OUTPUT_DEFAULTS", "STOP_SIGNALS", "command",
           "start", "resume", "train", "stop_signals_interrupt"]

CHECKPOINT = "checkpoint.npz"
OUTPUT_FILES = ("metrics.csv", "evaluation.csv", "losses.png", "training.png", "training.gif", "final.png",
                CHECKPOINT)
LOCK = ".minigan.lock"  # held by the run writing into the folder
OUTPUT_DEFAULTS = {"log_every": 10, "frames": 40, "checkpoint_every": 500}  # saved with the run
STOP_SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))


class RunError(Exception):
    """A run that cannot start or go on (an unwritable folder, steps behind the checkpoint): one line."""


class Interrupted(KeyboardInterrupt):
    """A stop signal that ends the process at once: its exit status is 128 + the signal's number."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def command(*args) -> str:
    """The shell command that runs minigan with ``args``, spelled the way this process was
    started (``.venv/bin/minigan``, or ``python -m minigan``), every word quoted for the shell."""
    program = sys.argv[0] if sys.argv else ""
    if Path(program).name == "__main__.py":  # python -m minigan
        words = [_shortest(sys.executable), "-m", "minigan"]
    elif Path(program).name.startswith("minigan"):
        words = [_shortest(program)]
    else:  # minigan driven from Python (a notebook, a test): the console command
        words = ["minigan"]
    return shlex.join([*words, *map(str, args)])


def _shortest(program: str) -> str:
    """``program``'s bare name if the shell finds this very program by it, else the path as given."""
    found = shutil.which(Path(program).name)
    if found and os.path.realpath(found) == os.path.realpath(program):
        return Path(program).name
    return program


def writable_folder(path: Path) -> Path:
    """``path``, created if needed, once a file could be written in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):  # a new file of its own: never one already there
            pass
    except OSError as exc:
        problem = "it is a file, not a folder" if path.is_file() else exc.strerror or exc
        raise RunError(f"cannot write to output folder {path}: {problem}") from None
    return path


def start(data_name: str, *, seed: int = 0, overrides: dict | None = None, mnist_path=None, out=None,
          output: dict | None = None, steps: int | None = None):
    """A new run of the preset ``data_name``: (model, run record, output folder, the run's steps:
    ``steps``, or the preset's; a preset's learning-rate decay is laid over them).

    ``overrides`` are GANConfig fields that replace the preset's; ``output`` the settings of
    ``train`` (log_every, frames, checkpoint_every) that replace OUTPUT_DEFAULTS. The run
    records the MNIST file as an absolute path and the fingerprint of its data.
    """
    overrides = dict(overrides or {})
    if mnist_path is not None and data_name == "mnist":
        mnist_path = str(locate_mnist(mnist_path).resolve())  # a resume from another folder finds it
    try:
        model, steps = presets.build(data_name, seed=seed, mnist_path=mnist_path, steps=steps, **overrides)  # checks them
    except MemoryError as exc:  # NumPy refuses an array larger than the memory before allocating it
        raise RunError(f"these settings would need more memory than there is: {exc}") from None
    check_memory(model)
    out = writable_folder(Path(out or f"runs/{data_name}"))
    run = {"data": data_name, "seed": seed, "overrides": overrides, "mnist_path": mnist_path,
           "data_fingerprint": run_state.fingerprint(model.data), "output": {**OUTPUT_DEFAULTS, **(output or {})}}
    return model, run, out, steps


def resume(folder, mnist_path=None):
    """The run saved in ``folder``: (model, run record, history, snapshots), loaded before
    anything is written; a CheckpointError if it is not a run that can be resumed, or a
    RunError if its data set is not the one it trained on. ``mnist_path``: where the run's
    MNIST file is now, if it moved (its data must be the same)."""
    if Path(folder).is_file():
        raise RunError(f"--resume needs the folder of a run, and {folder} is a file; give the folder that holds it")
    path = Path(folder) / CHECKPOINT
    state = run_state.load(path)  # every field checked by type and range
    run = state["run"]
    if state["step"] > run["steps"]:  # a run never saves a step past the steps it was asked for
        raise CheckpointError(f"{path} does not hold a run that can be resumed: it is at step {state['step']}, "
                              f"past the {run['steps']} steps its run asked for")
    if mnist_path is not None:
        if run["data"] != "mnist":
            raise RunError(f"--mnist-path is for runs on MNIST; the run in {folder} trained on {run['data']!r}")
        run["mnist_path"] = str(locate_mnist(mnist_path).resolve())
    try:  # the model is rebuilt with the run's saved configuration (its lr schedule too)
        model, _ = presets.build(run["data"], mnist_path=run["mnist_path"], **state["config"])
    except FileNotFoundError as exc:
        raise RunError(f"{exc}: the run in {folder} trained on it; if it moved, resume with "
                       f"--mnist-path pointing to it") from None
    _check_same_data(model.data, run, folder)
    try:
        model.load_state_dict(state)
        check_memory(model)
        return model, run, History.from_columns(state["history"]), list(state["frames"])
    except (KeyError, TypeError, ValueError) as exc:
        what = f"{exc.args[0]!r} is missing" if isinstance(exc, KeyError) else str(exc)
        if "load_state_dict" in what:  # weights named or shaped otherwise: not the networks the preset builds now
            what += f" (the networks saved there are not the ones preset {run['data']!r} builds in this version of minigan)"
        raise CheckpointError(f"{path} does not hold a run that can be resumed: {what}") from None


def _check_same_data(dataset, run: dict, folder) -> None:
    now, then = run_state.fingerprint(dataset), run["data_fingerprint"]
    if then is None:  # a run saved before runs recorded their data: from now on it does
        run["data_fingerprint"] = now
    elif now != then:
        where = f" ({run['mnist_path']})" if run["mnist_path"] else ""
        raise RunError(f"the data set {dataset!r}{where} is not the one the run in {folder} trained on "
                       f"(SHA-256 {now[:12]}... now, {then[:12]}... then); resume it with the same data")


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
                       f"{_size(needed)} of memory for one training step, more than the {_size(available)} there is")


@contextlib.contextmanager
def exclusive(folder: Path):
    """Hold ``folder``'s lock for the block: a second run into the same folder is refused.
    An flock belongs to the open file, so the system drops it when the process ends, however
    it ends: a crash never leaves the folder locked. Temporary files that a write killed
    midway left behind are removed once the lock is held."""
    try:
        import fcntl
    except ImportError:  # not a POSIX system: no lock
        fcntl = None
    lock_path = folder / LOCK
    try:  # never through a link: a run opens only a file of its own folder
        descriptor = os.open(lock_path, os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0), 0o666)
    except OSError as exc:
        raise RunError(f"cannot open the run's lock file {lock_path} ({exc.strerror or exc}); "
                       "remove what is there, or choose another --out") from None
    with open(descriptor, "a") as lock:
        if fcntl is not None:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise RunError(f"another minigan run is writing into {folder} (it holds {lock_path}); "
                               "wait for it to end, or choose another --out") from None
        for name in OUTPUT_FILES:
            remove_stale_temporaries(folder / name)
        yield


def _check_output_files(folder: Path) -> None:
    """The files a run writes, where they exist already, must be files or links to replace
    (not folders, FIFOs or devices)."""
    for name in OUTPUT_FILES:
        path = folder / name
        with contextlib.suppress(FileNotFoundError):
            mode = path.lstat().st_mode
            if not (stat.S_ISREG(mode) or stat.S_ISLNK(mode)):
                kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file"
                raise RunError(f"{path} is {kind}; a run writes a file there (move it away, or choose another --out)")


def _claim(folder: Path, overwrite: bool) -> None:
    """Make ``folder`` the home of a new run: refuse it if it holds a run's files, unless
    ``overwrite``, in which case they are removed now."""
    found = [name for name in OUTPUT_FILES if os.path.lexists(folder / name)]
    if found and not overwrite:
        if CHECKPOINT in found:
            raise RunError(f"{folder} holds a run already ({CHECKPOINT}); continue it with: "
                           f"{command('train', '--resume', folder)}, or start a new run there with --overwrite")
        raise RunError(f"{folder} holds the files of a run ({', '.join(found)}); start a new run there with "
                       "--overwrite, or choose another --out")
    for name in found:
        (folder / name).unlink()


class StopRequest:
    """A stop signal (``STOP_SIGNALS``) sets a flag that the training loop asks (``stop()``)
    between steps, so a checkpoint is always taken at a step boundary; a second signal stops
    at once (``Interrupted``), and so does the first once training is over (``at_once``)."""

    def __init__(self):
        self.signum, self.at_once = None, False

    def __call__(self) -> bool:
        return self.signum is not None

    def __enter__(self):
        self._previous = _install(self._handle)
        return self

    def _handle(self, signum, frame):
        if self.signum is not None or self.at_once:
            raise Interrupted(signum)
        self.signum = signum

    def __exit__(self, *exc):
        _restore(self._previous)


def _install(handler) -> dict:
    """``handler`` for every stop signal that is not ignored (``nohup`` ignores SIGHUP, a shell
    SIGINT for a job in the background: those stay ignored), in the main thread only, where
    Python runs handlers; returns the handlers it replaced."""
    if threading.current_thread() is not threading.main_thread():
        return {}
    return {signum: signal.signal(signum, handler) for signum in STOP_SIGNALS
            if signal.getsignal(signum) is not signal.SIG_IGN}


def _restore(previous: dict) -> None:
    for signum, handler in previous.items():
        signal.signal(signum, handler)


@contextlib.contextmanager
def stop_signals_interrupt():
    """For the block, every stop signal raises ``Interrupted``, as Python's Ctrl-C raises
    KeyboardInterrupt: outside the training loop, SIGTERM and SIGHUP end minigan with a
    message and their exit status, like Ctrl-C, instead of killing it without a word."""
    def interrupt(signum, frame):
        raise Interrupted(signum)

    previous = _install(interrupt)
    try:
        yield
    finally:
        _restore(previous)


def evaluate(model, shot: dict) -> dict:
    """Numbers about G at a snapshot, from its samples on the fixed evaluation noise."""
    return {"step": shot["step"], **probe.evaluate(model.data, shot["fake"])}


def _write_csv(path: Path, rows: list[dict]) -> None:
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(dict.fromkeys(key for row in rows for key in row)))
    writer.writeheader()
    writer.writerows(rows)
    write_atomically(path, lambda stream: stream.write(text.getvalue().encode()))


def _append_row(path: Path, record: dict, first: bool) -> None:
    """One row more in the csv ``path`` (opened afresh, never through a link)."""
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        with open(os.open(path, flags, 0o666), "a", newline="") as stream:
            writer = csv.DictWriter(stream, fieldnames=list(record))
            if first:
                writer.writeheader()
            writer.writerow(record)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None


def train(model, run: dict, out: Path, steps: int, *, history: History | None = None,
          snapshots: list | None = None, log_every: int = 10, frames: int = 40,
          checkpoint_every: int = 500, progress: bool | None = None, overwrite: bool = False) -> int:
    """Train ``model`` up to training step ``steps``, logging, drawing and checkpointing into ``out``.

    ``run`` describes the run (data set, seed, ...) and is saved in the checkpoint so
    ``resume`` can rebuild it. Without ``history`` this is a new run, which refuses a folder
    holding a run unless ``overwrite``. Returns the process exit status: 0 done, 1 diverged,
    128 + the signal's number when a stop signal interrupted it (a checkpoint was saved).
    """
    if steps < model.step:
        raise RunError(f"--steps {steps} is behind the checkpoint, which is at step {model.step}")
    if model.config.lr_decay_to and steps > model.config.lr_decay_to:
        raise RunError(f"--steps {steps} goes past step {model.config.lr_decay_to}, where this run's learning rates "
                       f"have decayed to 0, so the extra steps would change nothing; start a new run with --steps {steps}")
    if frames > run_state.MAX_FRAMES:
        raise RunError(f"--frames {frames}: a run draws at most {run_state.MAX_FRAMES} snapshots")
    if history is not None:
        print(f"resuming {out} at step {model.step} of {steps}" if model.step < steps else
              f"{out} is at step {steps} of {steps}: nothing left to train; drawing its pictures again")
    with exclusive(out):  # one run at a time writes into a folder
        _check_output_files(out)
        with StopRequest() as stop:  # from here on a stop signal is answered at a step boundary
            if history is None:
                _claim(out, overwrite)
            return _train(model, run, out, steps, history, snapshots, log_every, frames, checkpoint_every,
                          progress, stop)


def _train(model, run, out, steps, history, snapshots, log_every, frames, checkpoint_every, progress, stop) -> int:
    from tqdm import tqdm

    history = history if history is not None else History()
    snapshots = snapshots if snapshots is not None else []
    images = getattr(model.data, "image_shape", None) is not None
    eval_z = model.sample_noise(64 if images else 512, np.random.default_rng(run["seed"] + 1))  # same z each frame
    real = model.data.sample(1000, np.random.default_rng(run["seed"] + 2))
    every = max(1, math.ceil(steps / frames))  # so a run holds at most frames + 2 snapshots
    metrics_path, checkpoint_path = out / "metrics.csv", out / CHECKPOINT

    def is_logged(step: int) -> bool:  # every log_every steps, and the run's last step (a short run gets a row)
        return step % log_every == 0 or step == steps

    logged = [r for r in history.records if is_logged(r["step"])]
    saved_at = model.step if checkpoint_path.exists() else None
    resumed_at = model.step

    def save_checkpoint():
        nonlocal saved_at
        state = model.state_dict()
        state.update(run=dict(run, steps=steps), history=history.columns(), frames=snapshots)
        try:
            run_state.save(checkpoint_path, state)
        except OSError as exc:  # a full disk, a quota: the atomic save left the old file whole
            kept = "the previous checkpoint is kept" if checkpoint_path.exists() else "no checkpoint was written"
            raise RunError(f"cannot save the checkpoint {checkpoint_path}: {exc.strerror or exc}; {kept}") from None
        saved_at = model.step

    def after_each_step(model, record):
        bar.update(1)
        if is_logged(model.step):
            logged.append(record)
            _append_row(metrics_path, record, first=len(logged) == 1)
            bar.set_postfix(loss_d=f"{record['loss_d']:.3f}", loss_g=f"{record['loss_g']:.3f}",
                            D_x=f"{record['d_real']:.2f}", D_Gz=f"{record['d_fake']:.2f}")
        if model.step % every == 0 or model.step == steps:
            snapshots.append(probe.snapshot(model, eval_z))
            snapshots[:] = run_state.thin(snapshots)
        if model.step % checkpoint_every == 0 or model.step == steps:
            save_checkpoint()

    if not snapshots:
        snapshots.append(probe.snapshot(model, eval_z))
    try:
        if logged:  # a resumed run: metrics.csv holds exactly the rows up to the checkpoint
            _write_csv(metrics_path, logged)
        else:
            metrics_path.unlink(missing_ok=True)
        bar = tqdm(total=steps, initial=model.step, unit="step", desc=f"training on {model.data!r}",
                   disable=None if progress is None else not progress, dynamic_ncols=True)
        status = 0
        try:
            # no NumPy warnings of an overflow: the guard names a NaN or an infinity in one line
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                model.train(steps - model.step, callbacks=after_each_step, stop=stop, history=history)
        except DivergenceError as exc:
            bar.close()
            kept = f"the last good checkpoint is kept at {checkpoint_path}" if checkpoint_path.exists() \
                else "no checkpoint had been written yet"
            print(f"minigan: error: {exc}\n{kept}", file=sys.stderr)
            status = 1
        bar.close()
    except OSError as exc:  # a full disk while writing metrics.csv
        kept = f"the checkpoint of step {saved_at} is kept" if saved_at is not None else "no checkpoint was written"
        raise RunError(f"cannot write {exc.filename or out}: {exc.strerror or exc}; {kept}") from None
    if status == 0 and resumed_at == saved_at == steps:  # resumed with nothing left to train: still record
        save_checkpoint()  # what it was resumed with (a moved data file, other output settings)
    if stop() and model.step < steps and status == 0:  # never save a run that diverged
        save_checkpoint()
        print(f"interrupted by {signal.Signals(stop.signum).name} at step {model.step}; checkpoint saved to "
              f"{checkpoint_path}\ncontinue with: {command('train', '--resume', out)}", file=sys.stderr)
        status = 128 + stop.signum
    stop.at_once = True  # no step boundary is left to wait for: a stop signal now ends minigan at once
    done = status == 0 and saved_at == model.step == steps  # a finished run, saved: --resume only draws
    try:
        if stop() and status == 0:  # it came after the last step, before the pictures
            raise Interrupted(stop.signum)
        _draw(model, history, snapshots, out, real)
    except OSError as exc:
        kept = "the run is saved" if saved_at == model.step else "the last checkpoint is kept"
        raise RunError(f"cannot write {exc.filename or out}: {exc.strerror or exc}; {kept}: draw the pictures "
                       f"again with: {command('train', '--resume', out)}") from None
    except Interrupted as exc:
        hint = f"; the run is saved: draw them with: {command('train', '--resume', out)}" if done else ""
        print(f"interrupted by {signal.Signals(exc.signum).name} while drawing the pictures{hint}", file=sys.stderr)
        return status or 128 + exc.signum  # a divergence or an earlier stop keeps its own status
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
