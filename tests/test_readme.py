"""The README cannot go stale: its numbers are the measured ones, its pictures are made by one
command (demos/make_readme_assets.py), and its commands work as written in a fresh clone."""

import importlib.util
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from minigan.app import cli

from test_plot import assert_real_image

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text()
RESULTS = json.loads((ROOT / "demos" / "results.json").read_text())


def _assets_script():
    spec = importlib.util.spec_from_file_location("make_readme_assets", ROOT / "demos" / "make_readme_assets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _thousands(n) -> str:
    return f"{n:,.0f}"


# What the README says, as a function of what the last regeneration measured (demos/results.json)
CLAIMS = {
    "train": lambda r: [f"{_thousands(r['steps'])} steps", f"{r['modes_covered']} of 8 modes",
                        f"{r['seconds']:.0f} s"],
    "gaussian_1d": lambda r: [f"between {r['d_star_min']:.2f} and {r['d_star_max']:.2f}",
                              f"mean {r['mean']:.2f}", f"spread {r['std']:.2f}"],
    "optimal_discriminator": lambda r: [f"{r['two Gaussians']['max_error']:.3f}",
                                        f"{r['two Gaussians']['value']:.3f}", f"{r['two Gaussians']['c_of_g']:.3f}"],
    "generator_losses": lambda r: [f"{max(r['largest_gradient_error'].values()):.0e}"]
    + [f"{r['final_mean'][run]:.2f}" for run in ("SGD minimax", "SGD max_likelihood", "SGD non_saturating",
                                                  "Adam minimax", "Adam max_likelihood")],
    "vanishing_gradients": lambda r: [f"{r['minimax_start'] / r['minimax_end']:,.0f}×"],
    "xy_game": lambda r: [f"×{r['growth']['simultaneous 0.1']['per_step']:.5f}",
                          f"between {r['growth']['alternating 0.1']['smallest']:.3f} and "
                          f"{r['growth']['alternating 0.1']['largest']:.3f}"],
    "digits": lambda r: [f"{_thousands(r['steps'])} steps"],
    "wgan_gp": lambda r: [f"G-step {_thousands(r['WGAN-GP']['first_g_step_50'])}",
                          f"G-step {_thousands(r['standard GAN']['first_g_step_50'])}",
                          f"{_thousands(r['WGAN-GP']['first_d_steps_50'])} D-steps",
                          f"{_thousands(r['standard GAN']['first_d_steps_50'])} D-steps"],
    "weight_average": lambda r: [f"after {_thousands(r['steps'])} steps",
                                 f"{100 * r['own']['high_quality']:.1f}% against {100 * r['averaged']['high_quality']:.1f}%",
                                 f"{r['own']['modes_covered']}/8 modes and {r['averaged']['modes_covered']}/8 modes"],
}


@pytest.mark.parametrize("run", sorted(CLAIMS))
def test_every_number_the_readme_states_is_the_measured_one(run):
    assert run in RESULTS, f"demos/results.json has no numbers of {run!r}: run demos/make_readme_assets.py"
    for text in CLAIMS[run](RESULTS[run]):
        assert text in README, f"the README should say {text!r} ({run}, as measured in demos/results.json)"


def test_every_picture_the_readme_shows_is_made_by_the_one_command():
    figures = _assets_script().FIGURES
    pictures = re.findall(r"!\[[^\]]*\]\(([^)\s]+)\)", README)
    elsewhere = [p for p in pictures if not p.startswith("demos/images/")]
    assert not elsewhere, f"pictures outside demos/images, which the one command does not write: {elsewhere}"
    shown = {p.removeprefix("demos/images/") for p in pictures}
    assert shown, "the README shows no picture from demos/images"
    assert shown <= set(figures), f"pictures nobody regenerates: {sorted(shown - set(figures))}"
    assert set(figures) <= shown, f"pictures regenerated but not shown: {sorted(set(figures) - shown)}"
    for picture in shown:
        assert (ROOT / "demos" / "images" / picture).is_file()


def test_the_one_command_runs_every_demo():
    runs = set(_assets_script().RUNS)
    demos = set(cli._demo_scripts())
    assert demos <= runs, f"demos the regeneration skips: {sorted(demos - runs)}"
    assert set(RESULTS) >= runs, f"runs without results: {sorted(runs - set(RESULTS))}"


def _commands(text: str) -> list[str]:
    """Every command the README shows: lines of ```bash blocks and `inline code`."""
    blocks = re.findall(r"```bash\n(.*?)```", text, flags=re.S)
    lines = [line for block in blocks for line in block.splitlines()]
    outside = re.sub(r"```.*?```", "", text, flags=re.S)
    outside = re.sub(r"^#.*$", "", outside, flags=re.M)  # headings name things, not commands
    return lines + re.findall(r"`([^`\n]+)`", outside)


def test_commands_work_as_written_in_a_fresh_clone():
    """Nothing is activated in a fresh clone: python, pip and minigan must be the venv's own."""
    commands = _commands(README)
    assert any("demos/make_readme_assets.py" in c for c in commands), "the README must say how to regenerate"
    for command in commands:
        for part in re.split(r"&&|;|\|", command):
            words = part.split()
            if not words or words[0] in ("python3",) and words[1:3] == ["-m", "venv"]:
                continue
            program = words[0]
            assert program.split("/")[-1] not in ("python", "python3", "pip", "minigan") or program.startswith(
                ".venv/bin/"), f"{part.strip()!r} would not find the venv's program in a fresh clone"
            for word in words[1:]:
                if word.startswith(("demos/", "benchmarks/")) and word.endswith(".py") and "NAME" not in word:
                    assert (ROOT / word).is_file(), f"{part.strip()!r} names a script that does not exist"


@pytest.mark.slow
def test_the_one_command_writes_pictures_and_numbers_and_keeps_quick_runs_out_of_the_readme(tmp_path):
    script = [sys.executable, str(ROOT / "demos" / "make_readme_assets.py")]
    refused = subprocess.run([*script, "--quick"], capture_output=True, text=True, cwd=ROOT)
    assert refused.returncode != 0 and "--quick needs --out" in refused.stderr
    done = subprocess.run([*script, "--quick", "--out", str(tmp_path), "--only", "xy_game", "graph"],
                          capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["xy_game"]["steps"] == 40 and results["graph"]["G-step"]["with_gradient"] > 0
    for picture in ("xy_game.png", "graph.png"):
        assert_real_image(tmp_path / "images" / picture)
