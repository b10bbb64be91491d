"""The command line never shows a traceback: hostile sizes, environments, pipes, paths, full
disks and concurrent runs each end in one line (or quietly), and nothing is left behind.

Each case runs `python -m minigan` in a subprocess, as a user would."""

import dataclasses
import errno
import os
import signal
import struct
import subprocess
import sys
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan.app import checkpoint, cli, run_state
from minigan.app import run as runs

QUICK = ["--batch-size", "16", "--frames", "2", "--no-progress"]


def _run_cli(*args, env=None, timeout=120, **kwargs):
    return subprocess.run([sys.executable, "-m", "minigan", *args], capture_output=True, text=True,
                          env=None if env is None else {**os.environ, **env}, timeout=timeout, **kwargs)


def _one_line_error(result, *fragments):
    assert result.returncode not in (0, 1) or fragments == ("exit 1",)
    assert "Traceback" not in result.stderr, result.stderr
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


def test_a_batch_size_that_cannot_be_allocated_is_refused_with_the_memory_it_needs(tmp_path):
    result = _run_cli("train", "--batch-size", "1000000000000000", "--out", str(tmp_path / "run"))
    _one_line_error(result, "--batch-size 1000000000000000", "would need about", "EiB of memory")
    assert not (tmp_path / "run").exists()


def test_a_latent_size_that_cannot_be_allocated_is_refused_in_one_line(tmp_path):
    result = _run_cli("train", "--latent-dim", "1000000000000", "--out", str(tmp_path / "run"))
    _one_line_error(result, "would need more memory than there is", "TiB")


@pytest.mark.parametrize("args", [["--help"], ["train", "--steps", "1"], ["demo", "--list"]])
def test_a_bad_backend_in_the_environment_gives_one_line(args, tmp_path):
    result = _run_cli(*args, env={"MINIGAN_BACKEND": "bogus"}, cwd=tmp_path)
    _one_line_error(result, "unknown backend 'bogus'", "MINIGAN_BACKEND")


def test_output_into_a_closed_pipe_ends_quietly():
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `minigan demo --list | true`: nobody reads what is printed
    try:
        result = subprocess.run([sys.executable, "-m", "minigan", "demo", "--list"], stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=60)
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode in (0, 141)


def test_resume_with_an_empty_folder_name_is_refused():
    _one_line_error(_run_cli("train", "--resume", ""), "--resume needs the folder of a run")


@pytest.mark.parametrize("name", ["checkpoint.npz", "metrics.csv", "training.gif"])
def test_an_output_file_that_is_a_folder_is_refused_before_training(tmp_path, name):
    (tmp_path / name).mkdir()
    result = _run_cli("train", "--steps", "3", "--out", str(tmp_path), *QUICK)
    _one_line_error(result, f"{tmp_path / name} is a folder")


def test_resuming_from_a_checkpoint_that_is_a_folder_is_refused(tmp_path):
    (tmp_path / "checkpoint.npz").mkdir()
    _one_line_error(_run_cli("train", "--resume", str(tmp_path)), "is a folder")


def test_an_mnist_path_that_is_a_fifo_or_a_device_is_refused_without_reading(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    for path in (fifo, "/dev/zero"):
        result = _run_cli("train", "--data", "mnist", "--mnist-path", str(path), "--out", str(tmp_path / "run"),
                          timeout=60)
        _one_line_error(result, "not a regular file")


def test_resuming_a_run_whose_preset_now_builds_other_networks_says_so_in_one_line(tmp_path, monkeypatch, capsys):
    # as when a run of an earlier minigan's 'mnist' preset (a D with dropout) meets today's
    assert cli.main(["train", "--data", "gaussian", "--steps", "4", "--out", str(tmp_path), *QUICK]) == 0
    capsys.readouterr()
    from minigan.app import presets

    monkeypatch.setitem(presets.PRESETS, "gaussian", dataclasses.replace(presets.PRESETS["gaussian"], hidden=16))
    status = cli.main(["train", "--resume", str(tmp_path), "--steps", "8"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "does not hold a run that can be resumed" in err and "has shape" in err
    assert "are not the ones preset 'gaussian' builds in this version of minigan" in err


def test_a_full_disk_while_saving_says_so_in_one_line_and_keeps_the_previous_checkpoint(tmp_path, monkeypatch,
                                                                                     capsys):
    # the 1-D preset: no learning-rate decay, so the run can be resumed for more steps
    assert cli.main(["train", "--data", "gaussian", "--steps", "4", "--out", str(tmp_path), "--checkpoint-every", "2",
                     *QUICK]) == 0
    before = (tmp_path / "checkpoint.npz").read_bytes()
    capsys.readouterr()

    def disk_full(stream, record, arrays):
        stream.write(b"PK\x03\x04 the first bytes fit")
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(checkpoint, "_write_archive", disk_full)
    status = cli.main(["train", "--resume", str(tmp_path), "--steps", "8"])
    err = capsys.readouterr().err
    assert status == 2 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert "No space left on device" in err and "the previous checkpoint is kept" in err
    assert (tmp_path / "checkpoint.npz").read_bytes() == before
    assert not list(tmp_path.glob(".checkpoint.npz.*.tmp"))


def _wait_for(condition, seconds=60):
    deadline = time.monotonic() + seconds  # a guard against hanging, not a measurement
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the condition never came true")
        time.sleep(0.1)


def test_a_second_run_into_a_folder_a_live_run_holds_is_refused_and_a_killed_run_leaves_no_lock(tmp_path):
    first = subprocess.Popen([sys.executable, "-m", "minigan", "train", "--steps", "100000", "--out", str(tmp_path),
                              "--log-every", "1", *QUICK], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _wait_for(lambda: (tmp_path / "metrics.csv").exists())
        second = _run_cli("train", "--steps", "3", "--out", str(tmp_path), *QUICK)
        _one_line_error(second, "another minigan run is writing into", str(tmp_path))
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait()
    stale = tmp_path / ".checkpoint.npz.k1ll3d.tmp"  # what a save killed mid-write leaves
    stale.write_bytes(b"PK half a checkpoint")
    third = _run_cli("train", "--steps", "3", "--out", str(tmp_path), "--overwrite", *QUICK)
    assert third.returncode == 0, third.stderr
    assert not stale.exists()
    assert run_state.load(tmp_path / "checkpoint.npz")["step"] == 3


# ----------------------------------------------------------------------------- environments


@pytest.mark.parametrize("args", [["train", "--steps", "3"], ["demo", "xy_game", "--quick"], ["lab"]])
def test_a_bad_matplotlib_backend_in_the_environment_is_named_before_anything_runs(args, tmp_path):
    result = _run_cli(*args, env={"MPLBACKEND": "bogus"}, cwd=tmp_path)
    _one_line_error(result, "MPLBACKEND='bogus'", "matplotlib does not know")
    assert not list(tmp_path.iterdir())  # nothing trained, nothing written
    assert _run_cli("--help", env={"MPLBACKEND": "bogus"}).returncode == 0  # --help draws nothing


@pytest.mark.parametrize("args", [["train", "--steps", "3"], ["demo", "xy_game", "--quick"]])
def test_a_bad_progress_bar_setting_in_the_environment_is_named_in_one_line(args, tmp_path):
    result = _run_cli(*args, env={"TQDM_MININTERVAL": "abc"}, cwd=tmp_path)
    _one_line_error(result, "TQDM_MININTERVAL='abc'", "progress bar")
    assert not list(tmp_path.iterdir())


def test_a_terminal_that_cannot_show_every_character_gets_escapes_not_an_error(tmp_path):
    """The 1-D run's summary names N(4, 0.5²): an ASCII-only stdout must not end the run in an error."""
    result = _run_cli("train", "--data", "gaussian", "--steps", "3", "--out", str(tmp_path), *QUICK,
                      env={"PYTHONIOENCODING": "ascii"})
    assert result.returncode == 0 and "Traceback" not in result.stderr, result.stderr
    assert "N(4, 0.5\\xb2)" in result.stdout
    demo = _run_cli("demo", "xy_game", "--quick", "--out", str(tmp_path / "demo"), env={"PYTHONIOENCODING": "ascii"})
    assert demo.returncode == 0 and "Traceback" not in demo.stderr, demo.stderr  # it prints an η


# ----------------------------------------------------------------------------- demos


def test_a_demo_whose_output_folder_is_a_file_says_so_in_one_line(tmp_path):
    (tmp_path / "a_file").write_text("mine")
    result = _run_cli("demo", "xy_game", "--quick", "--out", str(tmp_path / "a_file"))
    _one_line_error(result, f"cannot make the output folder {tmp_path / 'a_file'}: it is a file")
    assert (tmp_path / "a_file").read_text() == "mine"


def test_a_demo_printing_into_a_closed_pipe_ends_quietly(tmp_path):
    read_end, write_end = os.pipe()
    os.close(read_end)  # like `minigan demo xy_game | head -1` once head has its line
    try:
        result = subprocess.run([sys.executable, "-m", "minigan", "demo", "xy_game", "--quick", "--out", str(tmp_path)],
                                stdout=write_end, stderr=subprocess.PIPE, text=True, timeout=120)
    finally:
        os.close(write_end)
    assert result.stderr == "" and result.returncode == 141  # 128 + SIGPIPE, as a shell reports it


# ----------------------------------------------------------------------------- links and full disks


def _victims(tmp_path, names):
    """A file outside the run for each output name, with content that must survive."""
    victims = tmp_path / "elsewhere"
    victims.mkdir()
    for name in names:
        (victims / name).write_bytes(b"not yours to overwrite: " + name.encode())
    return victims


def test_output_files_that_are_symbolic_links_are_replaced_never_written_through(tmp_path):
    run = tmp_path / "run"
    assert cli.main(["train", "--data", "gaussian", "--steps", "4", "--out", str(run), *QUICK]) == 0
    names = [n for n in runs.OUTPUT_FILES if n != runs.CHECKPOINT]
    victims = _victims(tmp_path, names)
    (victims / runs.CHECKPOINT).write_bytes((run / runs.CHECKPOINT).read_bytes())  # a copy the link points to
    saved = (victims / runs.CHECKPOINT).read_bytes()
    for name in runs.OUTPUT_FILES:
        (run / name).unlink(missing_ok=True)  # metrics.csv: no row was logged yet
        (run / name).symlink_to(victims / name)
    assert cli.main(["train", "--resume", str(run), "--steps", "8", "--log-every", "1", "--no-progress"]) == 0
    for name in names:
        assert (victims / name).read_bytes() == b"not yours to overwrite: " + name.encode(), name
        assert not (run / name).is_symlink() and (run / name).stat().st_size > 0, name
    assert (victims / runs.CHECKPOINT).read_bytes() == saved
    assert run_state.load(run / runs.CHECKPOINT)["step"] == 8 and not (run / runs.CHECKPOINT).is_symlink()


def test_overwriting_a_run_whose_files_are_links_removes_the_links_not_their_targets(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    victims = _victims(tmp_path, runs.OUTPUT_FILES)
    for name in runs.OUTPUT_FILES:
        (run / name).symlink_to(victims / name)
    refused = _run_cli("train", "--steps", "3", "--out", str(run), *QUICK)
    _one_line_error(refused, f"{run} holds a run already", "--resume", "--overwrite")
    assert cli.main(["train", "--steps", "3", "--out", str(run), "--overwrite", *QUICK]) == 0
    for name in runs.OUTPUT_FILES:
        assert (victims / name).read_bytes() == b"not yours to overwrite: " + name.encode(), name
    assert run_state.load(run / runs.CHECKPOINT)["step"] == 3


@pytest.mark.parametrize("picture", ["training.gif", "final.png"])
def test_a_full_disk_while_drawing_names_the_file_and_leaves_no_truncated_picture(tmp_path, monkeypatch, capsys,
                                                                                 picture):
    assert cli.main(["train", "--data", "gaussian", "--steps", "4", "--out", str(tmp_path), *QUICK]) == 0
    before = (tmp_path / picture).read_bytes()
    capsys.readouterr()
    from minigan.app import files, plot

    def write_until_the_disk_is_full(path, write):
        if path.name != picture:
            return files.write_atomically(path, write)

        def half_then_full(stream):
            stream.write(before[:100])  # the first bytes reach the disk, then it is full
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return files.write_atomically(path, half_then_full)

    monkeypatch.setattr(plot, "write_atomically", write_until_the_disk_is_full)
    status = cli.main(["train", "--resume", str(tmp_path), "--steps", "8"])
    err = capsys.readouterr().err
    assert status != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"cannot write {tmp_path / picture}: No space left on device" in err
    assert "the run is saved" in err and "--resume" in err
    assert (tmp_path / picture).read_bytes() == before  # the old picture, whole
    assert not list(tmp_path.glob(".*.tmp"))
    assert run_state.load(tmp_path / runs.CHECKPOINT)["step"] == 8  # the training itself is kept


def test_a_full_disk_while_logging_says_which_checkpoint_is_kept(tmp_path, monkeypatch, capsys):
    assert cli.main(["train", "--data", "gaussian", "--steps", "4", "--out", str(tmp_path), "--log-every", "1",
                     "--checkpoint-every", "4", *QUICK[2:]]) == 0
    capsys.readouterr()
    real_append = runs._append_row

    def append_until_the_disk_is_full(path, record, first):
        if record["step"] == 6:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(path))
        real_append(path, record, first)

    monkeypatch.setattr(runs, "_append_row", append_until_the_disk_is_full)
    status = cli.main(["train", "--resume", str(tmp_path), "--steps", "12"])
    err = capsys.readouterr().err
    assert status != 0 and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
    assert f"cannot write {tmp_path / 'metrics.csv'}: No space left on device; the checkpoint of step 4 is kept" in err
    assert run_state.load(tmp_path / runs.CHECKPOINT)["step"] == 4


# ----------------------------------------------------------------------------- MNIST files


def _tiny_mnist(path, seed=0, n=20):
    images = np.random.default_rng(seed).integers(0, 256, (n, 4, 4)).astype(np.uint8)
    header = bytes([0, 0, 0x08, 3]) + b"".join(struct.pack(">I", size) for size in images.shape)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(header + images.tobytes())
    return path


MNIST_QUICK = ["--data", "mnist", "--steps", "2", "--batch-size", "8", "--frames", "1", "--no-progress"]


def test_a_resumed_mnist_run_trains_on_the_same_data_or_is_refused(tmp_path):
    data_folder = tmp_path / "mnist"
    _tiny_mnist(data_folder / "train-images-idx3-ubyte")
    _tiny_mnist(data_folder / "t10k-images-idx3-ubyte", seed=1)
    first = _run_cli("train", *MNIST_QUICK, "--mnist-path", "mnist", "--out", "run", cwd=tmp_path)  # relative
    assert first.returncode == 0, first.stderr
    run = run_state.load(tmp_path / "run" / runs.CHECKPOINT)["run"]
    assert run["mnist_path"] == str(data_folder.resolve() / "train-images-idx3-ubyte")  # never the test set
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    # the mnist preset's learning rates decay to 0 at its last step, so a resume goes to the same end:
    # it loads the run and its data, checks them, and has nothing left to train
    resumed = _run_cli("train", "--resume", str(tmp_path / "run"), cwd=elsewhere)
    assert resumed.returncode == 0, resumed.stderr  # the relative path was recorded as an absolute one

    _tiny_mnist(data_folder / "train-images-idx3-ubyte", seed=2)  # other data at the same place
    changed = _run_cli("train", "--resume", str(tmp_path / "run"), "--steps", "4")
    _one_line_error(changed, "is not the one the run in", "resume it with the same data")

    _tiny_mnist(data_folder / "train-images-idx3-ubyte", seed=0)
    moved = (data_folder / "train-images-idx3-ubyte").rename(tmp_path / "moved-train-images-idx3-ubyte")
    missing = _run_cli("train", "--resume", str(tmp_path / "run"), "--steps", "4")
    _one_line_error(missing, "MNIST images file not found", "--mnist-path")
    found = _run_cli("train", "--resume", str(tmp_path / "run"), "--mnist-path", str(moved))
    assert found.returncode == 0, found.stderr
    assert run_state.load(tmp_path / "run" / runs.CHECKPOINT)["run"]["mnist_path"] == str(moved.resolve())


@pytest.mark.parametrize("header", [
    bytes([0, 0, 0x08, 3]) + struct.pack(">III", 0, 4, 4),  # no images
    bytes([0, 0, 0x08, 3]) + struct.pack(">III", 2, 0, 4),  # images of 0 rows
    bytes([0, 0, 0x08, 70]) + struct.pack(">I", 1) * 70 + b"\x00",  # more dimensions than NumPy allows
    bytes([0, 0, 0x0B, 3]) + struct.pack(">III", 1, 2, 2) + b"\x03\xe8" * 4,  # 16-bit values, not bytes
])
def test_an_mnist_file_minigan_cannot_use_is_refused_in_one_line_naming_it(tmp_path, header):
    path = tmp_path / "train-images-idx3-ubyte"
    path.write_bytes(header)
    result = _run_cli("train", *MNIST_QUICK, "--mnist-path", str(path), "--out", str(tmp_path / "run"))
    _one_line_error(result, str(path))
    assert not (tmp_path / "run").exists()


# ----------------------------------------------------------------------------- any argument list


WORDS = ["train", "demo", "lab", "--data", "ring", "gaussian", "mnist", "cifar", "--steps", "0", "1", "-1", "2.5",
         "--frames", "501", "100000", "--resume", "", ".", "run", "--out", "--overwrite", "--mnist-path",
         "/dev/zero", "--seed", "--loss", "wgan_gp", "bogus", "--lr-g", "nan", "1e39", "--batch-size",
         "--latent-dim", "99999999999", "--k", "--log-every", "--checkpoint-every", "--backend", "cupy", "--list",
         "--help", "--no-progress", "xy_game", "--quick", "--", "-x", "é", "a b;c"]


@settings(max_examples=60)
@given(argv=st.lists(st.sampled_from(WORDS), max_size=8))
def test_any_argument_list_ends_in_a_status_and_at_most_one_line_of_error(argv, tmp_path_factory, monkeypatch,
                                                                            capsys):
    """Training itself is replaced by a stand-in: what is fuzzed is everything before it, the
    parsing, the checks and the building of the run."""
    monkeypatch.chdir(tmp_path_factory.mktemp("cwd"))
    monkeypatch.setattr(runs, "train", lambda *args, **kwargs: 0)
    monkeypatch.setattr(subprocess, "run", lambda *args, **kwargs: subprocess.CompletedProcess(args, 0))
    try:
        status = cli.main(argv)
    except SystemExit as exit_:  # argparse's own exits: --help, and a usage error in one line
        status = exit_.code
    err = capsys.readouterr().err
    assert isinstance(status, int)
    if status not in (0, None):
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, (argv, err)
