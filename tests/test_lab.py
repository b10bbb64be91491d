"""``minigan lab``: every control's callback, under Agg, the settings' checks, and the real window under Xvfb."""

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
from minigan.app.session import ALGORITHM, OPTIMIZERS, Session, Settings


def values(module):
    return [p.data.copy() for p in module.parameters()]


def moved(before, module):
    return [not np.array_equal(b, p.data) for b, p in zip(before, module.parameters(), strict=True)]


def mouse(window, name, x, y):
    """A mouse event at data point (x, y) of the frame, through the canvas as a real one goes."""
    canvas = window.fig.canvas
    px, py = window.ax_frame.transData.transform((x, y))
    MouseEvent(name, canvas, px, py, button=1)._process()


@pytest.fixture(scope="module")
def window():
    import matplotlib.pyplot as plt

    plt.switch_backend("Agg")
    made = lab.Lab(points=128, batch_size=64, neurons_d=16, neurons_g=16)
    # Agg draws at once where a screen's canvas waits for an idle moment: 0.5 s a redraw. The
    # tests draw where they look at pixel positions or at what a draw would fail on.
    made.fig.canvas.draw_idle = lambda *args, **kwargs: None
    yield made
    plt.close(made.fig)


def counts(window):
    gan = window.session.gan
    return gan.d_steps, gan.g_steps


def test_the_window_fits_a_1280_by_800_screen(window):
    width, height = window.fig.get_size_inches() * window.fig.dpi
    assert width <= 1280 and height <= 800


def test_step_d_moves_every_parameter_of_d_and_none_of_g(window):
    gan = window.session.gan
    d_before, g_before, (d, g) = values(gan.D), values(gan.G), counts(window)
    window.press("step D")
    assert all(moved(d_before, gan.D)) and not any(moved(g_before, gan.G))
    assert counts(window) == (d + 1, g)
    assert f"D-steps {d + 1}, G-steps {g}" in window.ax_frame.get_title()


def test_step_g_moves_every_parameter_of_g_and_none_of_d(window):
    gan = window.session.gan
    d_before, g_before, (d, g) = values(gan.D), values(gan.G), counts(window)
    window.press("step G")
    assert all(moved(g_before, gan.G)) and not any(moved(d_before, gan.D))
    assert counts(window) == (d, g + 1)


def test_a_round_takes_k_d_steps_then_k_g_steps(window):
    window.sliders["k_d"].set_val(3)
    window.sliders["k_g"].set_val(2)
    (d, g), rounds = counts(window), window.session.gan.step
    window.press("step round")
    assert counts(window) == (d + 3, g + 2) and window.session.gan.step == rounds + 1
    window.sliders["k_d"].set_val(1)
    window.sliders["k_g"].set_val(1)
    assert window.session.settings.k_d == window.session.gan.config.k == 1


def test_sliders_set_learning_rates_layers_and_neurons(window):
    window.sliders["lr_d"].set_val(-2)
    window.sliders["lr_g"].set_val(-4)
    gan = window.session.gan
    assert gan.opt_d.lr == pytest.approx(1e-2) and gan.opt_g.lr == pytest.approx(1e-4)
    assert gan.config.lr_d == pytest.approx(1e-2)
    window.sliders["layers_d"].set_val(1)
    window.sliders["neurons_g"].set_val(3)  # 2³ = 8 neurons
    gan = window.session.gan  # a new network: a new GAN, as GAN Lab builds one
    assert len(gan.D.parameters()) == 2 * 2 and gan.G.parameters()[0].shape == (2, 8)
    assert window.sliders["neurons_g"].valtext.get_text() == "8"
    window.sliders["layers_d"].set_val(2)
    window.sliders["neurons_g"].set_val(4)
    window.sliders["lr_d"].set_val(-3)
    window.sliders["lr_g"].set_val(-3)


def test_sgd_or_adam_for_each_network_keeps_the_weights(window):
    gan = window.session.gan
    weights = values(gan.D)
    window.radio["optimizer_d"].set_active(OPTIMIZERS.index("SGD"))
    assert type(gan.opt_d).__name__ == "SGD" and type(gan.opt_g).__name__ == "Adam"
    assert not any(moved(weights, gan.D)) and window.session.gan is gan
    window.press("step D")
    assert all(moved(weights, gan.D))
    window.radio["optimizer_d"].set_active(OPTIMIZERS.index("Adam"))
    assert type(gan.opt_d).__name__ == "Adam"


def test_every_data_set_noise_and_game_can_be_chosen(window):
    for name in [*presets.LAB_DATA_SETS[1:-1], "ring"]:  # 'drawn' starts a drawing (tested below)
        window.radio["data"].set_active(presets.LAB_DATA_SETS.index(name))
        assert window.session.settings.data == name and window.session.gan.d_steps == 0
    for label, (latent_dim, noise) in lab.NOISE_LABELS.items():
        window.radio["noise"].set_active(list(lab.NOISE_LABELS).index(label))
        assert (window.session.gan.config.latent_dim, window.session.gan.config.noise) == (latent_dim, noise)
    for loss in lab.LOSSES:
        window.radio["loss"].set_active(lab.LOSSES.index(loss))
        window.press("step round")
        assert window.session.gan.config.loss == loss and loss in window.model_boxes["L_G"].get_text()
    window.radio["loss"].set_active(lab.LOSSES.index("non_saturating"))
    window.radio["noise"].set_active(0)
    window.radio["data"].set_active(0)


@pytest.mark.parametrize("view", lab.plot.VIEWS)
def test_each_toggle_hides_and_shows_its_view(window, view):
    index = lab.plot.VIEWS.index(view)
    assert window.artists[view].get_visible()
    window.checks.set_active(index)
    assert not window.artists[view].get_visible()
    window.press("step D")  # a new frame keeps the view hidden
    assert not window.artists[view].get_visible()
    window.checks.set_active(index)
    assert window.artists[view].get_visible()


def test_play_starts_and_pause_stops_the_timer_and_a_tick_trains(window, monkeypatch):
    started = []
    monkeypatch.setattr(window.timer, "start", lambda: started.append(True))
    monkeypatch.setattr(window.timer, "stop", lambda: started.append(False))
    window.press("play")
    assert window.playing and started == [True] and window.buttons["play"].label.get_text() == "pause"
    rounds = window.session.gan.step
    window.tick()
    assert window.session.gan.step == rounds + lab.FAST_ROUNDS
    window.press("play")
    assert not window.playing and started == [True, False]


def test_slow_motion_walks_the_nine_steps_with_the_model_graph_lit(window):
    window.press("slow")
    assert window.slow and window.timer.interval == lab.PLAY_INTERVAL_MS["slow"]
    window.sliders["k_d"].set_val(2)
    d, g = counts(window)
    seen = []
    for _ in range(2 * 5 + 4 + 1):
        window.tick()
        number = int(window.step_text.split(".")[0])
        lit = {name for name, box in window.model_boxes.items() if box.get_bbox_patch().get_edgecolor()[0] > 0.5}
        assert lit == lab.LIT[number], number
        assert all(arrow.get_visible() == (number == n) for n, arrows in window.gradient_arrows.items()
                   for arrow in arrows)
        seen.append((number, *counts(window)))
        if number in (4, 5):
            window.fig.canvas.draw()  # the circled batches, then the frame drawn again without them
    assert [n for n, *_ in seen] == [1, 2, 3, 4, 5, 1, 2, 3, 4, 5, 6, 7, 8, 9, 1]
    assert seen[4][1:] == (d + 1, g) and seen[9][1:] == (d + 2, g) and seen[13][1:] == (d + 2, g + 1)
    assert "(frozen)" in window.model_boxes["D"].get_text() or seen[-1][0] == 1
    window.press("slow")
    window.sliders["k_d"].set_val(1)
    assert not window.slow and window.step_text == ""


def test_slow_motion_shows_the_batch_and_loss_the_step_then_uses():
    """Sub-steps 1-4 and 6-8 are done on a copy of the run's generator: the step after them draws
    the same batch, so its loss is the one shown, for every game."""
    for loss in lab.LOSSES:
        session = Session(Settings(data="two_gaussians", loss=loss, k_d=2, batch_size=32, neurons_d=8, neurons_g=8))
        shown = {}
        for sub in session.substeps():
            shown.setdefault(sub.number, []).append(sub.shows)
            assert sub.text == ALGORITHM[sub.number]
        assert [s["loss_d"] for s in shown[4]] == [s["loss_d"] for s in shown[5]]
        assert [s["loss_g"] for s in shown[8]] == [s["loss_g"] for s in shown[9]]
        assert shown[2][0]["real"].shape == (32, 2) and shown[3][0]["fake"].shape == (32, 2)


def test_the_algorithms_nine_steps_are_quoted_from_gan_py():
    steps = ALGORITHM
    assert sorted(steps) == list(range(1, 10))
    assert "z ~ p_z" in steps[1] and "θ_D" in steps[5] and "through G(z)" in steps[9]


def test_drawing_a_distribution_with_the_mouse_then_training_on_it(window):
    window.radio["data"].set_active(presets.LAB_DATA_SETS.index("drawn"))
    assert window.drawing and window.buttons["draw"].label.get_text() == "done drawing"
    window.press("step D")  # refused while drawing: nothing to train on yet
    assert "finish the drawing" in window.status.get_text()
    window.press("draw")  # done, with nothing drawn
    assert window.drawing and "draw something first" in window.status.get_text()
    window.fig.canvas.draw()
    mouse(window, "button_press_event", 0.2, 0.2)
    for t in np.linspace(0, 1, 30):
        mouse(window, "motion_notify_event", 0.2 + 0.6 * t, 0.2 + 0.5 * t)
    mouse(window, "button_release_event", 0.8, 0.7)
    mouse(window, "motion_notify_event", 0.1, 0.9)  # the pen is up: no point
    points = np.array(window.strokes)
    assert 20 <= len(points) <= 31 and points.min() >= 0.19 and points.max() <= 0.81
    window.press("draw")
    assert not window.drawing and window.session.settings.data == "drawn"
    assert window.session.gan.data.means.tolist() == points.tolist()
    window.press("step round")
    assert counts(window) == (1, 1)
    window.fig.canvas.draw()
    window.radio["data"].set_active(0)


def test_reset_gives_the_same_first_weights(window):
    first = values(window.session.gan.G)
    window.press("step round")
    window.press("reset")
    assert counts(window) == (0, 0) and not any(moved(first, window.session.gan.G))


def test_save_then_load_continues_the_same_run(window, tmp_path):
    window.save_path = tmp_path / "lab.npz"
    window.radio["optimizer_g"].set_active(OPTIMIZERS.index("SGD"))
    window.press("step round")
    window.press("save")
    assert "saved to" in window.status.get_text()
    saved = values(window.session.gan.G), counts(window), window.session.settings
    window.press("step round")
    window.press("load")
    assert "loaded" in window.status.get_text() and window.session.settings == saved[2]
    assert not any(moved(saved[0], window.session.gan.G)) and counts(window) == saved[1]
    assert len(window.session.records["d"]) == saved[1][0]  # the charts come back too
    window.press("step round")  # and the run goes on exactly as it would have
    again = Session.load(tmp_path / "lab.npz")
    again.round()
    assert all(np.array_equal(a.data, b.data) for a, b in
               zip(again.gan.G.parameters(), window.session.gan.G.parameters(), strict=True))
    window.radio["optimizer_g"].set_active(OPTIMIZERS.index("Adam"))


def test_a_bad_file_is_refused_and_the_lab_goes_on(window, tmp_path):
    window.save_path = tmp_path / "not-a-lab.npz"
    window.save_path.write_bytes(b"not a checkpoint")
    gan = window.session.gan
    window.press("load")
    assert "could not load" in window.status.get_text() and window.session.gan is gan
    other = tmp_path / "run.npz"
    from minigan.app import checkpoint

    checkpoint.save(other, {"format": "something else"})
    with pytest.raises(ValueError, match="not a saved lab"):
        window.load(other)


def test_a_divergence_is_reported_in_the_window_and_pauses_play(window, monkeypatch):
    def diverge():
        raise lab.DivergenceError(window.session.gan.step + 1, "loss_d", float("nan"))

    monkeypatch.setattr(window.session.gan, "d_step", diverge)
    monkeypatch.setattr(window.timer, "start", lambda: None)
    monkeypatch.setattr(window.timer, "stop", lambda: None)
    window.play_pause()
    window.press("step D")
    assert "diverged" in window.status.get_text() and not window.playing


def test_samples_of_g_that_overflow_while_its_weights_stay_finite_are_reported_as_a_divergence(window):
    """Weights of 3e37 are finite, so the guard lets the step through, but G(z) overflows to NaN:
    the picture of that step is what finds it, and the window says so instead of raising."""
    for p in window.session.gan.G.parameters():
        p.data[...] = 3e37
    assert window._take(lambda: None) is False  # no step at all: the redraw alone meets the overflow
    assert "diverged" in window.status.get_text() and "a sample of G" in window.status.get_text()


@pytest.mark.parametrize("call, match", [
    (lambda w: w.set_k(0), "k_d must be a whole number from 1 to 10, got 0"),
    (lambda w: w.set_k_g(11), "k_g must be a whole number from 1 to 10"),
    (lambda w: w.set_lr_g(400), r"log10 of G's learning rate must be a number from -5 to 0, got 400"),
    (lambda w: w.set_lr_d(-400), r"log10 of D's learning rate must be a number from -5 to 0, got -400"),
    (lambda w: w.set_lr_d(float("nan")), "log10 of D's learning rate"),
    (lambda w: w.choose_loss("bogus"), "unknown loss 'bogus'"),
    (lambda w: w.choose_data("bogus"), "unknown data set 'bogus'"),
    (lambda w: w.choose_optimizer_g("RMSprop"), "unknown optimizer of g 'RMSprop'"),
    (lambda w: w.choose_noise("3-D Gaussian"), "unknown noise"),
    (lambda w: w.set_layers_d(9), "layers_d must be a whole number from 0 to 4"),
    (lambda w: w.set_neurons_g(2.5), "neurons_g must be a whole number"),
])
def test_bad_settings_are_refused_in_one_line_and_change_nothing(window, call, match):
    before, gan = window.session.settings, window.session.gan
    with pytest.raises(ValueError, match=match) as caught:
        call(window)
    assert "\n" not in str(caught.value)
    assert window.session.settings == before and window.session.gan is gan and gan.config == before.config()


def test_settings_check_every_field():
    with pytest.raises(ValueError, match="unknown lab setting 'depth'"):
        Settings().replace(depth=3)
    with pytest.raises(ValueError, match="lr_d"):
        Settings(lr_d=1e300)  # GANConfig's own check: it overflows float32
    with pytest.raises(ValueError, match="needs a drawing"):
        Session(Settings(data="drawn"))


def test_show_says_in_one_line_that_a_notebook_needs_ipympl(window, monkeypatch):
    import matplotlib

    monkeypatch.setattr(matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline")
    with pytest.raises(RuntimeError, match=r"needs interactive figures in Jupyter: install ipympl"):
        window.show()


def test_importing_minigan_and_the_lab_sets_no_backend():
    """Importing changes nothing: the place the lab opens in chooses the backend."""
    code = ("import matplotlib; before = matplotlib.rcParams._get_backend_or_none(); "
            "import minigan, minigan.app.lab, minigan.app.plot, minigan.app.graph, minigan.app.session; "
            "import sys; assert 'matplotlib.pyplot' not in sys.modules, 'pyplot imported'; "
            "assert matplotlib.rcParams._get_backend_or_none() == before, matplotlib.get_backend(); print('ok')")
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert result.stdout.strip() == "ok", result.stderr[-2000:]


def test_without_a_display_the_lab_says_so_in_one_line():
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    result = subprocess.run([sys.executable, "-m", "minigan", "lab"], env=env, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no display" in result.stderr and "--browser" in result.stderr
    assert "Traceback" not in result.stderr


WINDOW_SCRIPT = textwrap.dedent("""
    import sys
    import matplotlib.pyplot as plt
    from PIL import ImageGrab
    from minigan.app import lab
    problem = lab.display_problem()
    assert problem is None, problem
    window = lab.Lab(points=128)
    window.step_round()
    plt.show(block=False)
    window.fig.canvas.draw()  # render now, then let Tk map the window and put it on the screen
    window.fig.canvas.get_tk_widget().update()
    plt.pause(0.5)
    ImageGrab.grab(xdisplay=None).save(sys.argv[1])  # the whole X screen, as a user would see it
    root = window.fig.canvas.get_tk_widget().winfo_toplevel()
    print(root.winfo_width(), root.winfo_height(), root.winfo_screenwidth(), root.winfo_screenheight())
""")


def _tk_missing() -> bool:
    try:
        import tkinter  # noqa: F401
    except ImportError:
        return True
    return False


@pytest.mark.skipif(shutil.which("xvfb-run") is None, reason="needs Xvfb for a real window (apt-get install -y xvfb)")
@pytest.mark.skipif(_tk_missing(), reason="needs Python's tkinter for matplotlib's TkAgg window")
def test_the_real_window_opens_under_xvfb_on_a_1280_screen_and_is_not_blank(tmp_path):
    script, shot = tmp_path / "window.py", tmp_path / "screen.png"
    script.write_text(WINDOW_SCRIPT)
    result = subprocess.run(["xvfb-run", "-a", "-s", "-screen 0 1280x800x24", sys.executable, str(script), str(shot)],
                            capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    width, height, screen_width, screen_height = map(int, result.stdout.split()[-4:])
    assert (screen_width, screen_height) == (1280, 800) and width <= 1280 and height <= 800, (width, height)
    with Image.open(shot) as image:
        assert image.size == (1280, 800)
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
    assert colours is None or len(colours) > 50, "the screen is (almost) one flat colour: no window was drawn"


@pytest.mark.parametrize("args, message", [
    (["--port", "9000"], "--port and --open go with --browser"),
    (["--browser", "--port", "70000"], "expected a port number from 1 to 65535, got 70000"),
    (["--seed", "-1"], "expected a whole number ≥ 0, got -1"),
])
def test_the_lab_commands_bad_options_are_one_line(args, message):
    result = subprocess.run([sys.executable, "-m", "minigan", "lab", *args], capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 2 and message in result.stderr and result.stderr.strip().count("\n") == 0


def test_a_divergence_in_slow_motion_is_said_and_the_walk_starts_over(window, monkeypatch):
    def diverge():
        raise lab.DivergenceError(window.session.gan.step + 1, "loss_d", float("inf"))

    monkeypatch.setattr(window.session.gan, "d_step", diverge)
    window.walk = None
    for _ in range(5):  # sub-steps 1-4 show the batch; 5 is the D-step, which diverges
        window.substep()
    assert "diverged" in window.status.get_text() and window.walk is None
