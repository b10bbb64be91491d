"""Every demo runs (in --quick mode) and writes real pictures."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_plot import assert_real_image

DEMOS = sorted(p for p in (Path(__file__).parent.parent / "demos").glob("*.py")
               if not p.name.startswith("_") and p.stem != "make_readme_assets")  # that one runs them all


def test_the_demos_are_there():
    names = {p.stem for p in DEMOS}
    assert {"gaussian_1d", "optimal_discriminator", "generator_losses", "vanishing_gradients", "xy_game",
            "mode_collapse", "digits", "wgan_gp"} <= names


@pytest.mark.slow
@pytest.mark.parametrize("demo", DEMOS, ids=lambda p: p.stem)
def test_demo_quick_mode_writes_its_pictures(demo, tmp_path):
    result = subprocess.run([sys.executable, str(demo), "--quick", "--out", str(tmp_path)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert "what to look at after a full run (this --quick run is too short" in result.stdout
    pictures = sorted(tmp_path.glob("*.png")) + sorted(tmp_path.glob("*.gif"))
    assert pictures, "the demo wrote no picture"
    for picture in pictures:
        assert_real_image(picture, frames=None)


def test_a_demo_whose_extra_is_missing_says_so_in_one_line(tmp_path):
    # what a demo does when scikit-learn or mlxtend (the 'demos' extra) is not installed
    script = tmp_path / "needs_an_extra.py"
    script.write_text("import _common\nraise ImportError(\"it needs scikit-learn, which is not installed\")\n")
    demos = Path(__file__).parent.parent / "demos"
    result = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(demos)})
    assert result.returncode == 2
    assert result.stderr.strip() == "needs_an_extra: error: it needs scikit-learn, which is not installed"
