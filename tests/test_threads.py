"""The thread policy: what the user asks for wins (the function, --threads, MINIGAN_THREADS, the
BLAS's own variables), small work runs on one thread, and a bad value is one line."""

import os
import subprocess
import sys

import pytest

from minigan import nn, threads
from minigan.app import cli

BLAS_AND_OURS = (threads.ENV_VAR, *threads.BLAS_ENV_VARS)
QUICK = ["--steps", "2", "--batch-size", "16", "--frames", "1", "--no-progress"]


@pytest.fixture
def two_threads(monkeypatch):
    """The BLAS at 2 threads (so that a choice of 1 shows), no thread variable set; restored after."""
    for name in BLAS_AND_OURS:
        monkeypatch.delenv(name, raising=False)
    before = threads.get_num_threads()
    threads.set_num_threads(2)
    if threads.get_num_threads() != 2:
        pytest.skip("this BLAS cannot run 2 threads")
    yield
    threads.set_num_threads(before)


def test_the_choice_follows_the_request_then_minigan_threads_then_the_blas_variables_then_the_size():
    large, small = threads.LARGE_PRODUCT, threads.LARGE_PRODUCT - 1
    assert threads.choose(3, large, {"MINIGAN_THREADS": "2"}) == (3, "asked for")
    assert threads.choose(None, large, {"MINIGAN_THREADS": "2", "OPENBLAS_NUM_THREADS": "4"})[0] == 2
    assert threads.choose(None, small, {"OMP_NUM_THREADS": "4"}) == (None, "OMP_NUM_THREADS=4 (left to the BLAS)")
    assert threads.choose(None, small, {}) == (1, "small matrix products")
    assert threads.choose(None, None, {}) == (1, "small matrix products")
    assert threads.choose(None, large, {}, free=3)[0] == 3  # large products: one thread per free core
    assert threads.choose(None, large, {}, free=1)[0] == 1
    assert 1 <= threads.choose(None, large, {})[0] <= threads.cores()
    assert threads.choose(None, small, {"MINIGAN_THREADS": " ", "OPENBLAS_NUM_THREADS": ""})[0] == 1  # blank: unset


@pytest.mark.parametrize("value", ["0", "-1", "abc", ""])
def test_a_blas_variable_the_blas_would_not_honour_leaves_the_choice_to_minigan(value):
    # OpenBLAS reads 0 or a word as "one thread per core": the very default the policy exists to avoid
    assert threads.choose(None, None, {"OPENBLAS_NUM_THREADS": value}) == (1, "small matrix products")


def test_only_the_variables_of_the_blas_numpy_loaded_are_left_to_it():
    loaded = {info["internal_api"] for info in threads._blas().info()}
    if loaded != {"openblas"}:
        pytest.skip(f"NumPy's BLAS here is {loaded or 'none'}, not OpenBLAS")
    assert threads.choose(None, None, {"MKL_NUM_THREADS": "3"})[0] == 1  # OpenBLAS never reads it
    assert threads.choose(None, None, {"OMP_NUM_THREADS": "3"})[0] is None


@pytest.mark.parametrize("value", ["abc", "0", "-1", "1.5", "2 threads", "2000", "99999999999999999999"])
def test_a_bad_minigan_threads_is_a_one_line_error_naming_it(value):
    with pytest.raises(ValueError) as caught:
        threads.requested({"MINIGAN_THREADS": value})
    message = str(caught.value)
    assert "MINIGAN_THREADS" in message and repr(value) in message and "\n" not in message


@pytest.mark.parametrize("value", [0, -2, 1.5, True, "2", None, threads.MAX_THREADS + 1])
def test_set_num_threads_refuses_what_is_not_a_positive_whole_number(value):
    with pytest.raises(ValueError, match="threads must be a positive whole number"):
        threads.set_num_threads(value)


def test_set_num_threads_is_honoured(two_threads):
    threads.set_num_threads(1)
    assert threads.get_num_threads() == 1
    threads.set_num_threads(2)
    assert threads.get_num_threads() == 2


def test_configure_honours_minigan_threads_then_the_blas_variable_then_picks_one_for_small_work(two_threads,
                                                                                               monkeypatch):
    monkeypatch.setenv("MINIGAN_THREADS", "1")
    assert threads.configure(largest=threads.LARGE_PRODUCT) == 1
    monkeypatch.delenv("MINIGAN_THREADS")
    threads.set_num_threads(2)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "2")  # the user's own: minigan leaves the BLAS as it is
    assert threads.configure() == 2
    monkeypatch.delenv("OPENBLAS_NUM_THREADS")
    assert threads.configure(largest=256 * 128 * 128) == 1


def test_largest_product_is_the_batch_through_the_widest_weight_matrix():
    G, D = nn.mlp([2, 128, 128, 2], name="G"), nn.mlp([784, 512, 256, 1], name="D")
    assert threads.largest_product(G, D, batch=128) == 128 * 784 * 512
    assert threads.largest_product(G, batch=256) == 256 * 128 * 128


def test_train_runs_small_networks_on_one_thread_and_follows_the_threads_flag(two_threads, tmp_path):
    assert cli.main(["train", *QUICK, "--out", str(tmp_path / "auto")]) == 0
    assert threads.get_num_threads() == 1
    assert cli.main(["train", "--data", "gaussian", *QUICK, "--threads", "2", "--out", str(tmp_path / "two")]) == 0
    assert threads.get_num_threads() == 2
    assert cli.main(["train", "--resume", str(tmp_path / "two"), "--steps", "3", "--threads", "1",
                     "--no-progress"]) == 0
    assert threads.get_num_threads() == 1


@pytest.mark.parametrize("args, env, fragment", [
    (["train", "--threads", "0"], {}, "argument --threads: expected a positive whole number, got 0"),
    (["train", "--threads", "two"], {}, "argument --threads: expected a positive whole number, got two"),
    (["train", "--threads", "99999999999999999999"], {}, "argument --threads: expected at most 1024 threads"),
    (["train", "--steps", "1"], {"MINIGAN_THREADS": "99999999999999999999"}, "(at most 1024), got '99999999999999999999'"),
    (["train", "--steps", "1"], {"MINIGAN_THREADS": "two"}, "MINIGAN_THREADS (an environment variable) must be "
                                                            "a positive whole number (at most 1024), got 'two'"),
    (["demo", "--list"], {"MINIGAN_THREADS": "0"}, "MINIGAN_THREADS"),
])
def test_a_bad_thread_count_on_the_command_line_is_one_line_and_nothing_is_written(args, env, fragment, tmp_path):
    result = subprocess.run([sys.executable, "-m", "minigan", *args, *(["--out", str(tmp_path / "run")]
                                                                      if args[0] == "train" else [])],
                            capture_output=True, text=True, env={**os.environ, **env}, timeout=120)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert fragment in result.stderr
    assert not (tmp_path / "run").exists()


def test_a_demo_starts_with_the_thread_count_in_its_environment(monkeypatch):
    for name in BLAS_AND_OURS:
        monkeypatch.delenv(name, raising=False)
    started = {}

    def run(command, env):
        started["env"] = env
        return subprocess.CompletedProcess(command, 0)

    monkeypatch.setattr(cli.subprocess, "run", run)
    demo = next(iter(cli._demo_scripts()))
    assert cli.main(["demo", demo]) == 0
    assert started["env"]["OPENBLAS_NUM_THREADS"] == "1"
    monkeypatch.setenv("MINIGAN_THREADS", "2")
    assert cli.main(["demo", demo]) == 0
    assert started["env"]["OPENBLAS_NUM_THREADS"] == "2"
    monkeypatch.delenv("MINIGAN_THREADS")
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # the user's own: passed on as it is, nothing added
    assert cli.main(["demo", demo]) == 0
    assert started["env"]["OMP_NUM_THREADS"] == "3" and "OPENBLAS_NUM_THREADS" not in started["env"]
