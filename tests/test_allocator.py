"""minigan.allocator: freed array memory kept for the next step (glibc), never forced on anyone."""

import os
import subprocess
import sys

import pytest

from minigan import allocator
from minigan.app import cli

GLIBC = allocator._glibc()

PAGE_FAULTS_OF_TRAINING = """
import resource, sys
from minigan import allocator, threads
from minigan.app import presets
threads.set_num_threads(1)  # as the command line runs a small network
if sys.argv[1] == "keep":
    print(allocator.keep_freed_memory(), file=sys.stderr)
model, _ = presets.build("ring", seed=0)
for _ in range(20):
    model.train_step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(100):
    model.train_step()
print(resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


def _page_faults_of_100_steps(mode: str) -> int:
    result = subprocess.run([sys.executable, "-c", PAGE_FAULTS_OF_TRAINING, mode], capture_output=True, text=True,
                            timeout=300, env={k: v for k, v in os.environ.items() if k not in (*allocator.GLIBC_VARIABLES, "GLIBC_TUNABLES")})
    assert result.returncode == 0, result.stderr
    return int(result.stdout)


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_kept_memory_spares_a_training_step_its_page_faults():
    """Counted, not timed: the ring preset's steps at one BLAS thread (the command line's choice
    for it) fault on pages that glibc gave back, unless kept."""
    default, kept = _page_faults_of_100_steps("default"), _page_faults_of_100_steps("keep")
    assert kept < 2000  # about 0.1 a step
    if default < 2000:  # about 180 a step as a rule; glibc's own dynamic thresholds once kept the pages (8 faults)
        pytest.skip(f"glibc's defaults gave no pages back in this run ({default} page faults in 100 steps)")
    assert kept < default / 10


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_glibc_variables_the_user_set_are_left_to_rule():
    said = allocator.keep_freed_memory({"MALLOC_TRIM_THRESHOLD_": "0"})
    assert said == "allocator left as it is: MALLOC_TRIM_THRESHOLD_ set in the environment"
    assert allocator.child_environment({"MALLOC_TRIM_THRESHOLD_": "0", "A": "1"}) == {"MALLOC_TRIM_THRESHOLD_": "0", "A": "1"}


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_glibc_malloc_tunables_the_user_set_are_left_to_rule():
    said = allocator.keep_freed_memory({"GLIBC_TUNABLES": "glibc.malloc.trim_threshold=0"})
    assert said == "allocator left as it is: GLIBC_TUNABLES (glibc.malloc) set in the environment"
    assert allocator._why_not({"GLIBC_TUNABLES": "glibc.cpu.hwcaps=-AVX"}) is None  # not malloc's: no matter


def test_elsewhere_than_glibc_nothing_changes(monkeypatch):
    monkeypatch.setattr(os, "confstr", lambda name: "")
    assert allocator.keep_freed_memory({}) == "allocator left as it is: the C library is not glibc"
    assert allocator.child_environment({"A": "1"}) == {"A": "1"}


@pytest.mark.skipif(not GLIBC, reason="the thresholds are glibc's")
def test_a_program_started_from_here_gets_the_thresholds_as_glibc_variables():
    environment = allocator.child_environment({"A": "1"})
    assert environment == {"A": "1", "MALLOC_MMAP_THRESHOLD_": str(allocator.MMAP_THRESHOLD),
                           "MALLOC_TRIM_THRESHOLD_": str(allocator.TRIM_THRESHOLD)}


IMPORTS_CALL_NOTHING = """
from minigan import allocator
calls = []
allocator.keep_freed_memory = lambda *a: calls.append(1)
import minigan, minigan.gan, minigan.nn, minigan.fast, minigan.app.cli, minigan.app.run
print(len(calls))
"""


def test_importing_minigan_leaves_the_allocator_alone():
    result = subprocess.run([sys.executable, "-c", IMPORTS_CALL_NOTHING], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def test_minigan_train_keeps_freed_memory(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(allocator, "keep_freed_memory", lambda *a: calls.append(1) or "kept")
    assert cli.main(["train", "--steps", "2", "--out", str(tmp_path / "run"), "--batch-size", "64", "--frames", "4",
                     "--no-progress"]) == 0
    assert calls == [1]
