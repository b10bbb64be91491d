"""``minigan lab``: every control's callback, under Agg, and the real window under Xvfb."""

import os
import shutil
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from matplotlib.backend_bases import MouseEvent
from PIL import Image

from minigan.app import lab, presets


def values(module):
    return [p.data.copy() for p in module.parameters()]


def moved(before, module):
    return [not np.array_equal(b, p.data) for b, p in zip(before, module.parameters(), strict=True)]


def click(button):
    """Press and release the mouse in the middle of a Button, as a user would."""
    canvas = button.ax.figure.canvas
    canvas.draw()
    x, y = button.ax.transAxes.transform((0.5, 0.5))
    for name in ("button_press_event", "button_release_event"):
        MouseEvent(name, canvas, x, y, button=1)._process()


@pytest.fixture(scope="module")
def window():
    return lab.Lab(points=128)


def test_step_d_moves_every_parameter_of_d_and_none_of_g(window):
    gan = window.gan
    d_before, g_before, counts = values(gan.D), values(gan.G), (gan.d_steps, gan.g_steps)
    click(window.buttons["step D"])
    assert all(moved(d_before, gan.D)) and not any(moved(g_before, gan.G))
    assert (gan.d_steps, gan.g_steps) == (counts[0] + 1, counts[1])
    assert f"D-steps {gan.d_steps}, G-steps {gan.g_steps}" in window.ax_frame.get_title()


def test_step_g_moves_every_parameter_of_g_and_none_of_d(window):
    gan = window.gan
    d_before, g_before, counts = values(gan.D), values(gan.G), (gan.d_steps, gan.g_steps)
    click(window.buttons["step G"])
    assert all(moved(g_before, gan.G)) and not any(moved(d_before, gan.D))
    assert (gan.d_steps, gan.g_steps) == (counts[0], counts[1] + 1)


def test_step_both_takes_k_d_steps_then_one_g_step(window):
    gan = window.gan
    window.sliders["k"].set_val(3)
    d_before, g_before = values(gan.D), values(gan.G)
    counts, step = (gan.d_steps, gan.g_steps), gan.step
    click(window.buttons["step both"])
    assert all(moved(d_before, gan.D)) and all(moved(g_before, gan.G))
    assert (gan.d_steps, gan.g_steps, gan.step) == (counts[0] + 3, counts[1] + 1, step + 1)
    window.sliders["k"].set_val(1)


def test_sliders_set_the_optimisers_learning_rates_and_k(window):
    window.sliders["lr_d"].set_val(-2)
    window.sliders["lr_g"].set_val(-4)
    window.sliders["k"].set_val(5)
    assert window.gan.opt_d.lr == pytest.approx(1e-2) and window.gan.opt_g.lr == pytest.approx(1e-4)
    assert window.gan.config.k == 5
    window.sliders["k"].set_val(1)


def test_choosing_a_data_set_or_a_loss_rebuilds_the_gan(window):
    old = window.gan
    window.radio_data.set_active(presets.LAB_DATA_SETS.index("grid"))
    assert window.gan is not old and len(window.gan.data.means) == 25 and window.gan.d_steps == 0
    window.radio_loss.set_active(lab.LOSSES.index("minimax"))
    assert window.gan.config.loss == "minimax" and window.gan.config.lr_d == window.gan.opt_d.lr
    window.radio_data.set_active(presets.LAB_DATA_SETS.index("ring"))
    window.radio_loss.set_active(lab.LOSSES.index("non_saturating"))
    assert len(window.gan.data.means) == 8 and window.gan.config.loss == "non_saturating"


@pytest.mark.parametrize("view", lab.plot.VIEWS)
def test_each_toggle_hides_and_shows_its_view(window, view):
    index = lab.plot.VIEWS.index(view)
    assert window.artists[view].get_visible()
    window.checks.set_active(index)
    assert not window.artists[view].get_visible()
    click(window.buttons["step D"])  # a new frame keeps the view hidden
    assert not window.artists[view].get_visible()
    window.checks.set_active(index)
    assert window.artists[view].get_visible()


def test_play_starts_and_pause_stops_the_timer_and_a_tick_trains(window, monkeypatch):
    started = []
    monkeypatch.setattr(window.timer, "start", lambda: started.append(True))
    monkeypatch.setattr(window.timer, "stop", lambda: started.append(False))
    click(window.buttons["play"])
    assert window.playing and started == [True] and window.buttons["play"].label.get_text() == "pause"
    step = window.gan.step
    window.tick()
    assert window.gan.step == step + lab.FAST_STEPS
    click(window.buttons["play"])
    assert not window.playing and started == [True, False]


def test_slow_mode_takes_k_d_steps_then_one_g_step_one_per_tick(window):
    click(window.buttons["slow"])
    assert window.slow and window.timer.interval == lab.PLAY_INTERVAL_MS["slow"]
    window.sliders["k"].set_val(2)
    window._d_steps_in_round = 0
    d, g = window.gan.d_steps, window.gan.g_steps
    seen = []
    for _ in range(6):
        window.tick()
        seen.append((window.gan.d_steps - d, window.gan.g_steps - g))
    assert seen == [(1, 0), (2, 0), (2, 1), (3, 1), (4, 1), (4, 2)]
    click(window.buttons["slow"])
    window.sliders["k"].set_val(1)
    assert not window.slow


def test_a_divergence_is_reported_in_the_window_and_pauses_play(window, monkeypatch):
    def diverge():
        raise lab.DivergenceError(window.gan.step + 1, "loss_d", float("nan"))

    monkeypatch.setattr(window.gan, "d_step", diverge)
    monkeypatch.setattr(window.timer, "start", lambda: None)
    monkeypatch.setattr(window.timer, "stop", lambda: None)
    window.play_pause()
    click(window.buttons["step D"])
    assert "diverged" in window.status.get_text() and not window.playing


def test_without_a_display_the_lab_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "minigan", "lab"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no display" in result.stderr
    assert "Traceback" not in result.stderr


WINDOW_SCRIPT = textwrap.dedent("""
    import sys
    import matplotlib.pyplot as plt
    from PIL import ImageGrab
    from minigan.app import lab
    problem = lab.display_problem()
    assert problem is None, problem
    window = lab.Lab(points=128)
    window.step_both()
    plt.show(block=False)
    window.fig.canvas.draw()  # render now, then let Tk map the window and put it on the screen
    window.fig.canvas.get_tk_widget().update()
    plt.pause(0.5)
    ImageGrab.grab(xdisplay=None).save(sys.argv[1])  # the whole X screen, as a user would see it
""")


def _tk_missing() -> bool:
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb for a real window (apt-get install -y xvfb)")
@pytest.mark.skipif(_tk_missing(), reason="needs Python's tkinter for matplotlib's TkAgg window")
def test_the_real_window_opens_under_xvfb_and_is_not_blank(tmp_path):
    script, shot = tmp_path / "window.py", tmp_path / "screen.png"
    script.write_text(WINDOW_SCRIPT)
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1400x900x24", sys.executable, str(script), str(shot)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    with Image.open(shot) as image:
        assert image.size == (1400, 900)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 50, "the screen is (almost) one flat colour: no window was drawn"
