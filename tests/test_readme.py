"""The README cannot go stale: its numbers are the measured ones, its pictures are made by one
command (demos/make_readme_assets.py), and its commands work as written in a fresh clone."""

import importlib.util
import json
import re
import shlex
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


def _mnist_claims(samples: dict, real: dict) -> list[str]:
    """The MNIST section's numbers: its table of measures and its Parzen-window paragraph."""
    shares = samples["class_shares"]
    return ([f"| {samples['classifier_score']:.2f} | {real['classifier_score']:.2f} |",
            f"| {samples['frechet']:.1f} | {real['frechet']:.1f} (half to half) |",
            f"| {100 * min(shares):.1f}%, {100 * max(shares):.1f}% |",
            f"| {samples['two_sample_knn']:.2f} / {samples['two_sample_logistic']:.2f} | "
            f"{real['two_sample_knn']:.2f} / {real['two_sample_logistic']:.2f} (training images) |",
            f"| {samples['nearest_median']:.2f} | {real['nearest_median']:.2f} |",
            f"image is {samples['nearest_median']:.1f}, from a held-out image {real['nearest_median']:.1f}",
            f"G's samples score {samples['parzen']:.0f} ± {samples['parzen_se']:.0f}"]
            + [f"{real[key]['parzen']:.0f} ± {real[key]['parzen_se']:.0f}"
               for key in ("parzen_train", "parzen_kmeans", "parzen_mean_image")])


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
    "mnist": lambda r: _mnist_claims(r["samples"], r["real"])
    + [f"seed 0, {_thousands(r['steps'])} steps; the whole demo took {_thousands(r['seconds'])} s"],
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


# ----------------------------------------------------------------------------- what the guides name

GUIDES = {"README.md": README, "demos/README.md": (ROOT / "demos" / "README.md").read_text()}
TOP_LEVEL = ("minigan/", "demos/", "tests/", "benchmarks/", ".ci/", "README.md", "pyproject.toml")


def _spans(text: str) -> list[str]:
    """Every `inline code` span of a Markdown text, in order (fenced blocks left out)."""
    return re.findall(r"`([^`\n]+)`", re.sub(r"```.*?```", "", text, flags=re.S))


def _test_ids(text: str) -> list[tuple[str, str]]:
    """(test file, test name) of every test a guide names: `tests/x.py::name`, and a bare
    `test_name` right after it, which the guides write for another test of the same file."""
    ids, current = [], None
    for span in _spans(text):
        named = re.fullmatch(r"(tests/\w+\.py)::(\w+)", span)
        if named:
            current = named.group(1)
            ids.append(named.groups())
        elif re.fullmatch(r"test_\w+", span) and current:
            ids.append((current, span))
    return ids


def _tests_in(path: Path) -> set[str]:
    import ast

    return {node.name for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")}


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_test_a_guide_names_exists(guide):
    ids = _test_ids(GUIDES[guide])
    assert ids or guide == "README.md"
    missing = [f"{file}::{name}" for file, name in ids
               if not (ROOT / file).is_file() or name not in _tests_in(ROOT / file)]
    assert not missing, f"{guide} names tests that do not exist: {missing}"


def _paths(guide: str, text: str) -> list[Path]:
    """Every file or folder of the repository a guide names: link targets (relative to the guide)
    and code spans that start with one of the repository's top-level entries (globs allowed)."""
    links = [target for target in re.findall(r"\]\(([^)\s]+)\)", text) if not re.match(r"\w+:|#", target)]
    found = [(ROOT / guide).parent / target.split("#")[0] for target in links]
    for span in _spans(text):
        word = span.split()[0]
        if word.startswith(TOP_LEVEL) and "NAME" not in word and "<" not in word and "::" not in word:
            found.append(ROOT / word)
    return found


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_path_a_guide_names_exists(guide):
    paths = _paths(guide, GUIDES[guide])
    assert paths
    missing = [str(p.relative_to(ROOT)) if p.is_relative_to(ROOT) else str(p) for p in paths
               if not (list(ROOT.glob(str(p.relative_to(ROOT)))) if "*" in str(p) else p.exists())]
    assert not missing, f"{guide} names paths that do not exist: {missing}"


def _minigan_commands(text: str) -> list[list[str]]:
    """The argument lists of every `minigan ...` command a guide shows (NAME: a real demo)."""
    commands = []
    for command in _commands(text):
        for part in re.split(r"&&|;|\|", command):
            words = shlex.split(part.split("#")[0])
            if words and words[0] in ("minigan", ".venv/bin/minigan"):
                commands.append(["xy_game" if w == "NAME" else w for w in words[1:]])
    return commands


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_every_minigan_command_a_guide_shows_parses(guide, capsys):
    commands = _minigan_commands(GUIDES[guide])
    assert commands or guide != "README.md"
    parser = cli._parser()
    for args in commands:
        try:
            parser.parse_args(args)
        except SystemExit as exit_:  # --help exits with 0; a command that does not parse, with 2
            assert exit_.code == 0, f"{guide}: `minigan {' '.join(args)}` does not parse: {capsys.readouterr().err}"


# The colours a sentence may give a kind of sample, checked against the colour it is drawn in
BASIC_COLOURS = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "red": (220, 0, 0),
                 "orange": (255, 140, 0), "yellow": (255, 220, 0), "green": (0, 150, 0), "blue": (0, 0, 255),
                 "purple": (128, 0, 128), "brown": (140, 70, 20)}


def _nearest_colour_name(colour) -> str:
    from matplotlib.colors import to_rgb

    rgb = [255 * c for c in to_rgb(colour)]
    return min(BASIC_COLOURS, key=lambda name: sum((a - b) ** 2 for a, b in zip(rgb, BASIC_COLOURS[name])))


@pytest.mark.parametrize("guide", sorted(GUIDES))
def test_the_colours_a_guide_gives_real_and_fake_samples_are_the_ones_they_are_drawn_in(guide):
    from minigan.app import plot

    said = re.findall(r"\b(real|fake|G's)\b(?:[^()\n]|G\(z\)){0,40}?\((" + "|".join(BASIC_COLOURS) + r")\)",
                      GUIDES[guide], flags=re.I)
    assert said or guide != "README.md"
    for kind, colour in said:
        drawn = plot.COLOURS["real" if kind.lower() == "real" else "fake"]
        assert colour.lower() == _nearest_colour_name(drawn), \
            f"{guide} says {kind} samples are {colour}; they are drawn in {drawn} ({_nearest_colour_name(drawn)})"


def test_the_readme_says_how_long_the_test_command_takes():
    before_the_command = README[:README.index("<!-- test-command -->")].strip().rsplit("\n\n", 1)[-1]
    assert re.search(r"about\s+\d+\s+minutes", before_the_command), before_the_command
