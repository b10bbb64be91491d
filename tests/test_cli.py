"""The command line: a run writes everything, resumes exactly, survives Ctrl-C and divergence."""

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from minigan import gan
from minigan.app import checkpoint, cli, presets, run, run_state

from test_plot import assert_real_image

QUICK = ["--batch-size", "64", "--frames", "4", "--log-every", "5", "--no-progress"]


def _parameters(folder):
    state = checkpoint.load(folder / "checkpoint.npz")
    return state, [*state["generator"].values(), *state["discriminator"].values()]


def test_train_writes_metrics_pictures_gif_and_checkpoint(tmp_path, capsys):
    assert cli.main(["train", "--steps", "40", "--out", str(tmp_path), *QUICK]) == 0
    assert "modes covered" in capsys.readouterr().out
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert rows[0] == "step,d_steps,loss_d_real,loss_d_fake,loss_d,d_real,d_fake,grad_norm_d,g_steps,loss_g,grad_norm_g"
    assert len(rows) == 1 + 40 // 5
    evaluation = (tmp_path / "evaluation.csv").read_text().splitlines()
    assert evaluation[0] == "step,modes_covered,n_modes,high_quality,js,js_of_data" and len(evaluation) == 1 + 5  # step 0 + 4 frames
    for picture in ("losses.png", "training.png", "final.png"):
        assert_real_image(tmp_path / picture)
    assert_real_image(tmp_path / "training.gif", frames=5)
    state, _ = _parameters(tmp_path)
    assert state["step"] == 40 and state["run"]["data"] == "ring"


def test_train_on_1d_data_reports_the_learnt_mean_and_spread(tmp_path, capsys):
    assert cli.main(["train", "--data", "gaussian", "--steps", "30", "--out", str(tmp_path), *QUICK]) == 0
    assert "G's samples: mean" in capsys.readouterr().out
    assert (tmp_path / "evaluation.csv").read_text().startswith("step,g_mean,g_std,jsd")


def test_resume_gives_the_parameters_of_a_run_that_never_stopped(tmp_path, monkeypatch):
    straight, halves = tmp_path / "straight", tmp_path / "halves"
    assert cli.main(["train", "--steps", "30", "--out", str(straight), *QUICK]) == 0
    one_step = gan.GAN.train_step

    def ctrl_c_after_step_15(model):
        record = one_step(model)
        if model.step == 15:
            signal.raise_signal(signal.SIGINT)  # a real Ctrl-C: the run stops at this step and saves
        return record

    monkeypatch.setattr(gan.GAN, "train_step", ctrl_c_after_step_15)
    assert cli.main(["train", "--steps", "30", "--out", str(halves), *QUICK]) == 130
    monkeypatch.undo()
    assert cli.main(["train", "--resume", str(halves), "--no-progress"]) == 0
    (state_a, params_a), (state_b, params_b) = _parameters(straight), _parameters(halves)
    assert state_a["step"] == state_b["step"] == 30
    for a, b in zip(params_a, params_b, strict=True):
        np.testing.assert_array_equal(a, b)
    assert (straight / "metrics.csv").read_text() == (halves / "metrics.csv").read_text()


@pytest.mark.parametrize("stop", ["SIGINT", "SIGTERM", "SIGHUP"])
def test_a_stop_signal_saves_a_checkpoint_that_resumes(tmp_path, stop):
    """Ctrl-C, and what kill, timeout, systemd, docker and Slurm send (SIGTERM) or a closed
    terminal (SIGHUP): each stops after the current step, saves, says how to continue, and
    exits with 128 + the signal's number, as a shell reports a process a signal ended."""
    folder = tmp_path / "a run; with a space"
    command = [sys.executable, "-m", "minigan", "train", "--steps", "100000", "--out", str(folder), *QUICK]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 60
    while not (folder / "metrics.csv").exists() and time.time() < deadline:
        time.sleep(0.2)  # wait until training is under way
    signum = getattr(signal, stop)
    process.send_signal(signum)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signum, err
    assert f"interrupted by {stop} at step" in err and "Traceback" not in err
    state, params = _parameters(folder)
    assert 0 < state["step"] < 100000 and all(np.isfinite(p).all() for p in params)
    hint = err.strip().splitlines()[-1]
    assert hint.startswith("continue with: ")
    # the hint is one shell command, quoted, spelled as the run was started
    assert shlex.split(hint.removeprefix("continue with: ")) == [sys.executable, "-m", "minigan", "train",
                                                                  "--resume", str(folder)]
    stopped_at = state["step"]
    assert cli.main(["train", "--resume", str(folder), "--steps", str(stopped_at + 5), "--no-progress"]) == 0
    assert checkpoint.load(folder / "checkpoint.npz")["step"] == stopped_at + 5


def test_a_signal_the_run_was_started_to_ignore_stays_ignored(tmp_path):
    """`nohup minigan train` ignores SIGHUP, as a shell ignores SIGINT for a job in the background:
    the run must not stop for it."""
    command = [sys.executable, "-m", "minigan", "train", "--steps", "100000", "--out", str(tmp_path), *QUICK]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGHUP, signal.SIG_IGN))
    deadline = time.time() + 60
    while not (tmp_path / "metrics.csv").exists() and time.time() < deadline:
        time.sleep(0.2)  # wait until training is under way
    process.send_signal(signal.SIGHUP)
    process.send_signal(signal.SIGTERM)  # the one that stops it
    out, err = process.communicate(timeout=60)
    assert process.returncode == 128 + signal.SIGTERM and "interrupted by SIGTERM at step" in err, err


def test_the_continue_hint_names_the_program_the_user_ran_and_quotes_every_word(monkeypatch):
    monkeypatch.setattr(sys, "argv", [".venv/bin/minigan", "train"])
    assert run.command("train", "--resume", "runs/a b;rm -rf ~") == ".venv/bin/minigan train --resume 'runs/a b;rm -rf ~'"
    monkeypatch.setattr(sys, "argv", [str(Path(run.__file__).parents[1] / "__main__.py"), "train"])
    assert shlex.split(run.command("train"))[1:] == ["-m", "minigan", "train"]


@pytest.mark.filterwarnings("ignore:invalid value encountered")  # NumPy's note on the injected NaN
def test_a_diverging_d_step_stops_and_keeps_the_last_good_checkpoint(tmp_path, capsys):
    model, _ = presets.build("ring", seed=0, batch_size=32)
    healthy_g_step = model.g_step

    def g_step_that_diverges_at_step_7():
        if model.step == 6:  # the 7th step: NaN appears in G's weights
            model.G.parameters()[0].data[...] = np.nan
        return healthy_g_step()

    model.g_step = g_step_that_diverges_at_step_7
    settings = {"data": "ring", "seed": 0, "overrides": {"batch_size": 32}, "mnist_path": None, "data_fingerprint": None,
                "output": {"log_every": 10, "frames": 4, "checkpoint_every": 5}}  # a complete run record, as saved
    status = run.train(model, settings, tmp_path, steps=20, checkpoint_every=5, frames=4, progress=False)
    assert status == 1
    err = capsys.readouterr().err
    assert "training diverged at step" in err and "last good checkpoint is kept" in err
    state, params = _parameters(tmp_path)
    assert state["step"] == 5 and all(np.isfinite(p).all() for p in params)


def test_a_g_step_diverging_after_its_d_steps_keeps_the_last_good_checkpoint(tmp_path, capsys):
    """With k = 2, D has already been updated twice when G's loss turns NaN: the run must stop
    and the checkpoint must stay the one from before that training step."""
    model, _ = presets.build("ring", seed=0, batch_size=32, k=2)
    healthy_loss = model.generator_loss

    def loss_that_turns_nan_at_step_7(out_fake):
        loss = healthy_loss(out_fake)
        return loss * float("nan") if model.step == 6 else loss

    model.generator_loss = loss_that_turns_nan_at_step_7
    settings = {"data": "ring", "seed": 0, "overrides": {"batch_size": 32, "k": 2}, "mnist_path": None,
                "data_fingerprint": None,
                "output": {"log_every": 10, "frames": 4, "checkpoint_every": 5}}  # a complete run record, as saved
    status = run.train(model, settings, tmp_path, steps=20, checkpoint_every=5, frames=4, progress=False)
    assert status == 1 and "loss_g is nan" in capsys.readouterr().err
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    assert state["step"] == 5 and state["opt_d"]["steps"] == [10] * len(model.D.parameters())


def test_the_learning_rate_decay_is_laid_over_the_steps_of_the_run():
    model, steps = presets.build("ring")
    assert (steps, model.config.lr_decay_from, model.config.lr_decay_to) == (24000, 8000, 24000)
    model, steps = presets.build("ring", steps=12000)  # `minigan train --steps 12000`: decays over its own steps
    assert (steps, model.config.lr_decay_from, model.config.lr_decay_to) == (12000, 4000, 12000)


def test_resume_past_the_end_of_the_learning_rate_decay_is_refused_in_one_line(tmp_path):
    assert cli.main(["train", "--steps", "6", "--out", str(tmp_path), *QUICK]) == 0
    result = _run_cli("train", "--resume", str(tmp_path), "--steps", "12")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip().splitlines() == [
        "minigan: error: --steps 12 goes past step 6, where this run's learning rates have decayed to 0, "
        "so the extra steps would change nothing; start a new run with --steps 12"]


def test_resume_refuses_settings_it_would_ignore(tmp_path):
    assert cli.main(["train", "--steps", "5", "--out", str(tmp_path), *QUICK]) == 0
    result = _run_cli("train", "--resume", str(tmp_path), "--loss", "minimax", "--batch-size", "8")
    assert result.returncode == 2
    assert "drop --loss, --batch-size" in result.stderr and "Traceback" not in result.stderr


def test_a_checkpoint_not_written_by_the_cli_is_refused_for_resume(tmp_path):
    model, _ = presets.build("ring", seed=0)
    checkpoint.save(tmp_path / "checkpoint.npz", model.state_dict())
    result = _run_cli("train", "--resume", str(tmp_path))
    assert result.returncode == 2 and "not written by `minigan train`" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_cli_checkpoint_with_a_part_missing_is_refused_for_resume(tmp_path):
    assert cli.main(["train", "--steps", "5", "--out", str(tmp_path), *QUICK]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    del state["history"]
    checkpoint.save(tmp_path / "checkpoint.npz", state)
    result = _run_cli("train", "--resume", str(tmp_path))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert result.stderr.strip() == f"minigan: error: {tmp_path / 'checkpoint.npz'}: state: missing 'history'"


def test_resuming_from_a_folder_that_does_not_exist_creates_nothing(tmp_path):
    missing = tmp_path / "no_such_run"
    result = _run_cli("train", "--resume", str(missing))
    assert result.returncode == 2 and f"checkpoint file not found: {missing / 'checkpoint.npz'}" in result.stderr
    assert not missing.exists()


def _run_cli(*args, cwd=None):
    # the timeout guards against a run that would never end (a regression), it measures nothing
    return subprocess.run([sys.executable, "-m", "minigan", *args], capture_output=True, text=True, cwd=cwd,
                          timeout=600)


@pytest.mark.parametrize("args, message", [
    (["train", "--data", "cifar"], "invalid choice: 'cifar'"),
    (["train", "--steps", "-5"], "expected a positive whole number, got -5"),
    (["train", "--lr-g", "nan"], "expected a positive number, got nan"),
    (["train", "--loss", "hinge"], "invalid choice: 'hinge'"),
    (["demo", "no_such_demo"], "unknown demo 'no_such_demo'"),
    (["train", "--lr-g", "1e39"], "lr_g = 1e+39 overflows float32 (largest 3.4e+38)"),
])
def test_bad_command_line_input_gives_one_clear_line(args, message, tmp_path):
    result = _run_cli(*args, cwd=tmp_path)
    assert result.returncode != 0
    assert message in result.stderr and "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not list(tmp_path.iterdir())  # refused before any output folder was made


def test_an_unwritable_output_folder_is_reported(tmp_path):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    result = _run_cli("train", "--out", str(blocker / "run"))  # a folder inside a file: never writable
    assert result.returncode == 2
    assert result.stderr.strip() == f"minigan: error: cannot write to output folder {blocker / 'run'}: Not a directory"


def test_resuming_from_a_corrupt_checkpoint_is_refused_clearly(tmp_path):
    (tmp_path / "checkpoint.npz").write_bytes(b"PK\x03\x04 garbage")
    result = _run_cli("train", "--resume", str(tmp_path))
    assert result.returncode == 2 and "not a readable checkpoint" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_explains_the_commands():
    result = _run_cli("train", "--help")
    assert result.returncode == 0
    for words in ("--data", "--loss", "--k", "--resume", "--backend", "D-steps per G-step"):
        assert words in result.stdout


def test_demo_list_names_every_demo():
    result = _run_cli("demo", "--list")
    assert result.returncode == 0 and "xy_game" in result.stdout


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere, so permissions cannot block it")
def test_a_read_only_output_folder_is_reported(tmp_path):
    tmp_path.chmod(0o500)
    try:
        result = _run_cli("train", "--out", str(tmp_path / "run"))
    finally:
        tmp_path.chmod(0o700)
    assert result.returncode == 2 and "cannot write to output folder" in result.stderr


def test_a_demo_runs_in_its_own_python_and_leaves_sys_path_alone(tmp_path):
    path_before = list(sys.path)
    assert cli.main(["demo", "xy_game", "--quick", "--out", str(tmp_path)]) == 0
    assert sys.path == path_before
    assert list(tmp_path.glob("*.png"))
    assert cli.main(["demo", "xy_game", "--no-such-option"]) == 2  # the demo's own exit status comes back


def test_cli_and_library_share_one_training_loop(tmp_path, monkeypatch):
    """minigan train drives GAN.train (with a stop request), not a loop of its own."""
    from minigan.gan import GAN
    calls = []
    train = GAN.train
    monkeypatch.setattr(GAN, "train", lambda self, *a, **kw: calls.append(kw) or train(self, *a, **kw))
    assert cli.main(["train", "--steps", "10", "--out", str(tmp_path), *QUICK]) == 0
    assert len(calls) == 1 and callable(calls[0]["stop"]) and calls[0]["callbacks"]


def test_a_new_run_into_a_folder_holding_a_run_is_refused_and_says_how_to_resume_or_overwrite(tmp_path):
    """Running the README's main command twice must not replace the first run without a word."""
    assert cli.main(["train", "--steps", "5", "--out", str(tmp_path), *QUICK]) == 0
    before = (tmp_path / "checkpoint.npz").read_bytes()
    again = _run_cli("train", "--steps", "5", "--out", str(tmp_path), *QUICK)
    assert again.returncode == 2 and "Traceback" not in again.stderr
    assert again.stderr.strip().splitlines() == [
        f"minigan: error: {tmp_path} holds a run already (checkpoint.npz); continue it with: "
        f"{shlex.join([sys.executable, '-m', 'minigan', 'train', '--resume', str(tmp_path)])}, "
        "or start a new run there with --overwrite"]
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert cli.main(["train", "--steps", "3", "--seed", "1", "--out", str(tmp_path), "--overwrite", *QUICK]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    assert state["step"] == 3 and state["run"]["seed"] == 1
    rows = (tmp_path / "metrics.csv").read_text().splitlines()[1:]
    assert [row.split(",")[0] for row in rows] == ["3"]  # the old run's row of step 5 is gone: only the new run's last


def test_resume_and_overwrite_together_are_refused(tmp_path):
    result = _run_cli("train", "--resume", str(tmp_path), "--overwrite")
    assert result.returncode == 2 and "drop --overwrite" in result.stderr and "Traceback" not in result.stderr


def test_a_run_holds_at_most_frames_plus_two_snapshots_and_frames_may_equal_steps(tmp_path):
    """The checkpoint keeps every snapshot a run draws: their number must not grow with the run."""
    assert cli.main(["train", "--steps", "19", "--frames", "10", "--out", str(tmp_path / "a"), *QUICK[:2],
                     "--no-progress"]) == 0
    assert len(checkpoint.load(tmp_path / "a" / "checkpoint.npz")["frames"]) <= 10 + 2
    assert cli.main(["train", "--steps", "12", "--frames", "12", "--out", str(tmp_path / "b"), *QUICK[:2],
                     "--no-progress"]) == 0
    assert len(checkpoint.load(tmp_path / "b" / "checkpoint.npz")["frames"]) == 13  # step 0, then every step
    assert_real_image(tmp_path / "b" / "training.gif", frames=13)
    assert cli.main(["train", "--resume", str(tmp_path / "b"), "--no-progress"]) == 0


def test_more_frames_than_a_run_may_draw_are_refused_in_one_line(tmp_path):
    result = _run_cli("train", "--frames", "100000", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert "--frames: expected at most 500 snapshots, got 100000" in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_run_resumed_for_more_steps_thins_its_snapshots_evenly():
    shots = [{"step": i} for i in range(run_state.MAX_SNAPSHOTS + 300)]
    kept = run_state.thin(shots)
    assert len(kept) == run_state.MAX_SNAPSHOTS and kept[0] is shots[0] and kept[-1] is shots[-1]
    gaps = np.diff([s["step"] for s in kept])
    assert gaps.min() >= 1 and gaps.max() - gaps.min() <= 1  # evenly spaced


def test_importing_the_command_line_loads_neither_matplotlib_nor_the_engine_of_pictures():
    """`minigan --help` and every refusal stay quick: matplotlib is imported only to draw."""
    code = ("import sys, minigan.app.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('matplotlib', 'PIL')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_the_data_set_names_have_one_home_each():
    """The command line offers the presets, a run's checkpoint accepts exactly them, and every
    preset names a data set that data.make knows."""
    from minigan import data

    train = cli._parser()._subparsers._group_actions[0].choices["train"]
    offered = next(action.choices for action in train._actions if action.dest == "data")
    assert list(offered) == list(presets.PRESETS)
    assert {preset.data or name for name, preset in presets.PRESETS.items()} <= set(data.NAMES)
    for name in data.NAMES:
        accepted = name in presets.PRESETS
        try:
            run_state.RUN_STATE.spec["run"]["data"].check(name, "run/data")
            assert accepted, name
        except checkpoint.SchemaError:
            assert not accepted, name


@pytest.mark.parametrize("command", ["train", "lab"])
def test_an_unknown_option_points_to_its_commands_help(command, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([command, "--bogus"])
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.strip() == f"minigan {command}: error: unrecognized arguments: --bogus (see: minigan {command} --help)"


def test_a_stop_signal_while_the_pictures_are_drawn_ends_minigan_at_once_with_the_run_saved(tmp_path, monkeypatch, capsys):
    """Training is over and saved: no step boundary is left to wait for, so the first Ctrl-C stops
    the drawing and minigan exits with 130, saying how to draw the pictures later."""
    def ctrl_c_while_drawing(*args):
        signal.raise_signal(signal.SIGINT)
        raise AssertionError("the signal should have stopped the drawing")

    monkeypatch.setattr(run, "_draw", ctrl_c_while_drawing)
    assert cli.main(["train", "--steps", "10", "--out", str(tmp_path), *QUICK]) == 130
    err = capsys.readouterr().err
    assert "interrupted by SIGINT while drawing the pictures; the run is saved: draw them with: " in err
    assert checkpoint.load(tmp_path / "checkpoint.npz")["step"] == 10
    monkeypatch.undo()
    assert cli.main(["train", "--resume", str(tmp_path), "--no-progress"]) == 0
    assert_real_image(tmp_path / "final.png")


def test_g_samples_that_overflow_while_its_weights_stay_finite_stop_the_run_as_a_divergence(tmp_path, capsys):
    """A learning rate of 1e30 leaves θ_G finite after one step, but G(z) overflows float32 to
    NaN: the snapshot of that step reports a divergence (exit 1), not a bad-input error (exit 2)."""
    snapshot_every_step = ["--batch-size", "64", "--no-progress"]  # 5 steps, 40 frames: one snapshot a step
    assert cli.main(["train", "--steps", "5", "--lr-g", "1e30", "--out", str(tmp_path), *snapshot_every_step]) == 1
    err = capsys.readouterr().err
    assert re.search(r"training diverged at step 1: a sample of G is -?(nan|inf); that update could not be undone", err)


@pytest.mark.parametrize("option, value, message", [
    ("--lr-g", "1e-50", "lr_g = 1e-50 is below the smallest normal float32"),
    ("--lr-d", "1e-46", "lr_d = 1e-46 is below the smallest normal float32"),
    ("--k", "1000", "expected at most 100 D-steps per G-step, got 1000"),
])
def test_settings_that_would_train_nothing_or_never_answer_ctrl_c_are_refused(tmp_path, capsys, option, value, message):
    try:
        status = cli.main(["train", "--steps", "3", option, value, "--out", str(tmp_path / "run"), *QUICK])
    except SystemExit as exc:  # refused by the command line's parser
        status = exc.code
    assert status == 2 and message in capsys.readouterr().err and not (tmp_path / "run").exists()


def test_a_run_shorter_than_its_logging_interval_still_writes_its_last_step_to_metrics_csv(tmp_path):
    assert cli.main(["train", "--steps", "7", "--out", str(tmp_path), *QUICK]) == 0  # a row every 5 steps
    rows = (tmp_path / "metrics.csv").read_text().splitlines()
    assert [row.split(",")[0] for row in rows[1:]] == ["5", "7"]


@pytest.mark.parametrize("arguments, message", [
    (["--out", ""], "--out needs an output folder, got an empty name"),
    (["--mnist-path", "", "--data", "mnist"], "--mnist-path needs a file or folder of MNIST images, got an empty name"),
])
def test_an_empty_path_is_refused_rather_than_read_as_the_default_or_the_current_folder(arguments, message, capsys,
                                                                                        tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert cli.main(["train", "--steps", "1", *arguments, *QUICK]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "runs").exists()


def test_resume_given_the_checkpoint_file_asks_for_its_folder(tmp_path, capsys):
    assert cli.main(["train", "--steps", "5", "--out", str(tmp_path), *QUICK]) == 0
    assert cli.main(["train", "--resume", str(tmp_path / "checkpoint.npz")]) == 2
    assert f"--resume needs the folder of a run, and {tmp_path / 'checkpoint.npz'} is a file" in capsys.readouterr().err


def test_a_stop_signal_after_the_last_step_before_the_pictures_ends_minigan_with_the_run_saved(tmp_path, monkeypatch,
                                                                                               capsys):
    one_step = gan.GAN.train_step

    def ctrl_c_during_the_last_step(model):
        record = one_step(model)
        if model.step == 10:
            signal.raise_signal(signal.SIGINT)  # asked for while the last step ends: nothing is left to stop
        return record

    monkeypatch.setattr(gan.GAN, "train_step", ctrl_c_during_the_last_step)
    assert cli.main(["train", "--steps", "10", "--out", str(tmp_path), *QUICK]) == 130
    assert "interrupted by SIGINT while drawing the pictures; the run is saved: draw them with: " in capsys.readouterr().err
    assert checkpoint.load(tmp_path / "checkpoint.npz")["step"] == 10 and not (tmp_path / "final.png").exists()


def test_a_stop_signal_while_a_diverged_run_draws_keeps_the_divergence_status_and_promises_nothing(tmp_path,
                                                                                                   monkeypatch, capsys):
    def ctrl_c_while_drawing(*args):
        signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(run, "_draw", ctrl_c_while_drawing)
    assert cli.main(["train", "--steps", "5", "--lr-g", "1e30", "--out", str(tmp_path), "--no-progress"]) == 1
    err = capsys.readouterr().err
    assert err.strip().endswith("interrupted by SIGINT while drawing the pictures") and "is saved" not in err


def test_resume_to_more_steps_drops_the_old_last_row_and_logs_as_a_straight_run_would(tmp_path):
    straight, extended = tmp_path / "straight", tmp_path / "extended"
    no_decay = ["--data", "gaussian", *QUICK]  # the 1-D preset's learning rates do not decay, so a run can be extended
    assert cli.main(["train", "--steps", "12", "--out", str(straight), *no_decay]) == 0
    assert cli.main(["train", "--steps", "7", "--out", str(extended), *no_decay]) == 0  # rows 5 and 7 (its last)
    assert cli.main(["train", "--resume", str(extended), "--steps", "12", "--no-progress"]) == 0
    steps = [row.split(",")[0] for row in (extended / "metrics.csv").read_text().splitlines()[1:]]
    assert steps == [row.split(",")[0] for row in (straight / "metrics.csv").read_text().splitlines()[1:]] == ["5", "10", "12"]


def test_a_checkpoint_past_the_steps_its_run_asked_for_is_refused(tmp_path, capsys):
    assert cli.main(["train", "--steps", "5", "--out", str(tmp_path), *QUICK]) == 0
    state = checkpoint.load(tmp_path / "checkpoint.npz")
    state["run"]["steps"] = 3  # a damaged record: step 5 of a run of 3
    run_state.save(tmp_path / "checkpoint.npz", state)
    assert cli.main(["train", "--resume", str(tmp_path), "--no-progress"]) == 2
    assert "it is at step 5, past the 3 steps its run asked for" in capsys.readouterr().err
