"""The command line never shows a traceback: hostile sizes, environments, pipes, paths, full
disks and concurrent runs each end in one line (or quietly), and nothing is left behind.

Each case runs `python -m minigan` in a subprocess, as a user would."""

import errno
import os
import signal
import subprocess
import sys
import time

import pytest

from minigan.app import checkpoint, cli

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
    third = _run_cli("train", "--steps", "3", "--out", str(tmp_path), *QUICK)
    assert third.returncode == 0, third.stderr
    assert not stale.exists()
    assert checkpoint.load(tmp_path / "checkpoint.npz", checkpoint.RUN_STATE)["step"] == 3
