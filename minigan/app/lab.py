"""The lab: play the GAN game by hand, as in GAN Lab (Kahng et al. 2018), in three places.

One ``Lab`` (a matplotlib figure with widgets) runs wherever matplotlib draws interactively:

    desktop window  ``minigan lab``                    matplotlib's Tk window (needs a display)
    browser tab     ``minigan lab --browser``          matplotlib's WebAgg, served to 127.0.0.1 only
    Jupyter         ``%matplotlib widget``, then ``Lab(data="two_gaussians").show()``   (ipympl)

Nothing in minigan chooses a matplotlib backend when it is imported; the place you open the lab
in chooses it. The window shows GAN Lab's views of one 2-D frame (``minigan.app.plot``: D's
heat map, real and fake samples, G's manifold, the arrows -∂L_G/∂x), the model graph with the
part of the algorithm at work highlighted, and two charts over the session. Its controls:

    step D, step G   one D-step or one G-step (``gan.d_step()``, ``gan.g_step()``)
    step round       one round: k D-steps, then k G-steps (GAN Lab's epoch)
    play / pause     rounds on a timer; slow motion: one numbered step of the algorithm per tick,
                     1-5 in a D-step and 6-9 in a G-step (``minigan.gan``), with the batch it uses
                     circled in the frame and its part of the model graph highlighted
    reset            a fresh GAN with the same settings; save / load: the session, in a file
    draw             draw your own distribution with the mouse (click and drag), then train on it
    sliders          learning rates (log scale), k for D and for G, hidden layers and neurons of each
    radio buttons    the data set, the game (generator loss), SGD or Adam for each network, p_z
    check boxes      which views the frame shows

Every model computation happens in ``minigan.app.session`` (the settings, the GAN, rounds, slow
motion, saving) and ``minigan.app.probe``; this module draws them and wires the widgets.
"""

from __future__ import annotations

import contextlib
import io
import math
import os
import sys
import textwrap
from pathlib import Path

import numpy as np  # host side: the fixed noise, the charts' numbers, the drawing

from minigan import games
from minigan.app import graph, plot, presets, probe
from minigan.app.session import LIMITS, OPTIMIZERS, Session, Settings
from minigan.gan import LOSSES, DivergenceError

__all__ = ["Lab", "main", "serve", "display_problem", "LOOPBACK"]

LOOPBACK = "127.0.0.1"  # the browser lab is served to this computer only
DEFAULT_PORT = 8988  # matplotlib's own default for WebAgg
FIGSIZE, DPI = (12.0, 7.0), 100  # 1200 × 700 pixels; Tk follows the screen's dpi (104 on Xvfb: 1250 × 729),
TOOLBAR_PX = 60  # and adds a toolbar: on a 1280 × 800 screen, the window still fits
PLAY_INTERVAL_MS = {"fast": 30, "slow": 700}  # timer period; a fast tick takes FAST_ROUNDS rounds
FAST_ROUNDS = 10
DATA_LABELS = {"ring": "ring", "grid": "grid", "two_gaussians": "two Gaussians", "disjoint": "disjoint",
               "line": "line", "drawn": "draw your own"}
NOISE_LABELS = {"2-D Gaussian": (2, "normal"), "2-D uniform": (2, "uniform"),
                "1-D Gaussian": (1, "normal"), "1-D uniform": (1, "uniform")}  # GAN Lab's four priors
LR_RANGE = (-5.0, 0.0)  # log10 of the learning rates the sliders and setters take
DRAWING_STEP = 0.01  # a stroke adds a point each time the mouse has moved this far (unit square)

# Where everything sits, as (left, bottom, width, height) fractions of the figure.
LAYOUT = {
    "model": (0.01, 0.60, 0.245, 0.35), "frame": (0.30, 0.367, 0.31, 0.533), "colour key": (0.615, 0.367, 0.008, 0.533),
    "loss chart": (0.705, 0.665, 0.285, 0.255), "d chart": (0.705, 0.37, 0.285, 0.225),
    "step D": (0.01, 0.255, 0.065, 0.045), "step G": (0.08, 0.255, 0.065, 0.045),
    "step round": (0.15, 0.255, 0.08, 0.045), "play": (0.235, 0.255, 0.06, 0.045),
    "slow": (0.30, 0.255, 0.10, 0.045), "reset": (0.405, 0.255, 0.055, 0.045),
    "save": (0.465, 0.255, 0.05, 0.045), "load": (0.52, 0.255, 0.05, 0.045), "draw": (0.575, 0.255, 0.085, 0.045),
    "lr_d": (0.075, 0.195, 0.13, 0.03), "k_d": (0.075, 0.15, 0.13, 0.03),
    "layers_d": (0.075, 0.105, 0.13, 0.03), "neurons_d": (0.075, 0.06, 0.13, 0.03),
    "lr_g": (0.315, 0.195, 0.13, 0.03), "k_g": (0.315, 0.15, 0.13, 0.03),
    "layers_g": (0.315, 0.105, 0.13, 0.03), "neurons_g": (0.315, 0.06, 0.13, 0.03),
    "data": (0.51, 0.01, 0.09, 0.20), "loss": (0.605, 0.01, 0.095, 0.20),
    "optimizer_d": (0.705, 0.125, 0.06, 0.085), "optimizer_g": (0.705, 0.01, 0.06, 0.085),
    "noise": (0.77, 0.01, 0.085, 0.20), "views": (0.86, 0.01, 0.08, 0.20),
}

# The model graph: GAN Lab's overview of the two networks, drawn with the algorithm's steps.
MODEL_NODES = {"z": (0.13, 0.86), "G": (0.45, 0.86), "fake": (0.80, 0.86), "real": (0.40, 0.55),
               "D": (0.80, 0.55), "out": (0.80, 0.28), "L_D": (0.45, 0.06), "L_G": (0.88, 0.06)}
MODEL_EDGES = (("z", "G"), ("G", "fake"), ("fake", "D"), ("real", "D"), ("D", "out"), ("out", "L_D"), ("out", "L_G"))
LIT = {1: {"z"}, 2: {"real"}, 3: {"z", "G", "fake"}, 4: {"fake", "real", "D", "out", "L_D"}, 5: {"L_D", "out", "D"},
       6: {"z"}, 7: {"z", "G", "fake"}, 8: {"fake", "D", "out", "L_G"}, 9: {"L_G", "out", "D", "fake", "G"}}
GRADIENT_PATHS = {5: (("L_D", "out"), ("out", "D")), 9: (("L_G", "out"), ("out", "D"), ("D", "fake"), ("fake", "G"))}
BATCH_SHOWN = 64  # of the step's batch, the samples circled in slow motion


class Lab:
    """The lab's figure and its controls; each control's callback is a method (tested without a screen).

    ``Lab(data="ring", loss="non_saturating", seed=0, **settings)`` takes any field of
    ``minigan.app.session.Settings``; ``points`` is the number of fake samples drawn in the frame;
    ``save_path`` the file the save and load buttons use.
    """

    def __init__(self, data: str = "ring", loss: str = "non_saturating", seed: int = 0, *, points: int = 512,
                 save_path="minigan-lab.npz", **settings):
        import matplotlib.pyplot as plt

        first = Settings(data=data, loss=loss, seed=seed, **settings)  # checked before anything is drawn
        self.points, self.save_path = points, Path(save_path)
        self.visible = dict.fromkeys(plot.VIEWS, True)
        self.playing, self.slow, self.walk, self.scale = False, False, None, None
        self.drawing, self.strokes, self._pen_down = False, [], False
        self.message, self.step_text, self.overlays, self.overlay_key = "", "", [], None
        with plt.ioff():  # shown by show() (a notebook would otherwise show it twice), or by plt.show()
            self.fig = plt.figure(figsize=FIGSIZE, dpi=DPI)
        if getattr(self.fig.canvas, "manager", None) is not None:
            self.fig.canvas.manager.set_window_title("minigan lab")
        self._fit_to_screen()
        self._build_widgets()
        self.session = Session(first.replace(data="ring") if first.data == "drawn" else first)
        self._restart()
        if first.data == "drawn":  # start by drawing
            self.radio["data"].set_active(presets.LAB_DATA_SETS.index("drawn"))

    def _fit_to_screen(self) -> None:
        """A desktop (Tk) window no larger than the screen: shrink the figure on a small screen."""
        tk_widget = getattr(self.fig.canvas, "get_tk_widget", None)
        if tk_widget is None:  # a browser tab or a notebook scrolls
            return
        root = tk_widget().winfo_toplevel()
        scale = root.winfo_fpixels("1i") / 96  # how Tk will scale the figure on this screen (matplotlib's rule)
        width, height = self.fig.get_size_inches() * DPI * scale
        shrink = min(1.0, root.winfo_screenwidth() / width, (root.winfo_screenheight() - TOOLBAR_PX) / height)
        if shrink < 1:
            self.fig.set_size_inches(self.fig.get_size_inches() * shrink, forward=True)
            toolbar = getattr(self.fig.canvas.manager, "toolbar", None)
            if toolbar is not None:  # Tk's toolbar asks for the figure's first width: ask for the new one
                toolbar.configure(width=int(width * shrink / scale))

    # ----------------------------------------------------------------- the widgets

    def _build_widgets(self) -> None:
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.widgets import Button, CheckButtons, RadioButtons, Slider

        fig = self.fig
        self.ax_model = fig.add_axes(LAYOUT["model"])
        self.ax_frame = fig.add_axes(LAYOUT["frame"])
        key = fig.colorbar(ScalarMappable(Normalize(0, 1), "PRGn"), cax=fig.add_axes(LAYOUT["colour key"]))
        key.set_label("D(x): 1 real, 0 fake (a critic: own scale)", fontsize=7)
        key.ax.tick_params(labelsize=7)
        self.ax_loss = fig.add_axes(LAYOUT["loss chart"])
        self.ax_d = fig.add_axes(LAYOUT["d chart"])
        self.status = fig.text(0.015, 0.58, "", fontsize=7, va="top", family="monospace")

        self.buttons = {}
        for name, label, callback in (("step D", "step D", self.step_d), ("step G", "step G", self.step_g),
                                      ("step round", "step round", self.step_round), ("play", "play", self.play_pause),
                                      ("slow", "slow motion: off", self.toggle_slow), ("reset", "reset", self.reset),
                                      ("save", "save", self._save_clicked), ("load", "load", self._load_clicked),
                                      ("draw", "draw", self._draw_clicked)):
            button = Button(fig.add_axes(LAYOUT[name]), label)
            button.label.set_fontsize(8)
            button.on_clicked(callback)
            self.buttons[name] = button

        self.sliders = {}
        for name, label, low, high in (("lr_d", "lr D, log10", *LR_RANGE), ("lr_g", "lr G, log10", *LR_RANGE),
                                       ("k_d", "k: D-steps", *LIMITS["k_d"]), ("k_g", "k: G-steps", *LIMITS["k_g"]),
                                       ("layers_d", "layers D", *LIMITS["layers_d"]),
                                       ("layers_g", "layers G", *LIMITS["layers_g"]),
                                       ("neurons_d", "neurons D", 0, 7), ("neurons_g", "neurons G", 0, 7)):
            slider = Slider(fig.add_axes(LAYOUT[name]), label, low, high, valstep=None if name.startswith("lr") else 1)
            slider.label.set_fontsize(7.5)
            slider.valtext.set_fontsize(7.5)
            self.sliders[name] = slider
        self.sliders["lr_d"].on_changed(self.set_lr_d)
        self.sliders["lr_g"].on_changed(self.set_lr_g)
        self.sliders["k_d"].on_changed(self.set_k)
        self.sliders["k_g"].on_changed(self.set_k_g)
        self.sliders["layers_d"].on_changed(self.set_layers_d)
        self.sliders["layers_g"].on_changed(self.set_layers_g)
        self.sliders["neurons_d"].on_changed(lambda power: self.set_neurons_d(2 ** round(power)))
        self.sliders["neurons_g"].on_changed(lambda power: self.set_neurons_g(2 ** round(power)))

        self.radio = {}
        for name, title, labels, callback in (
                ("data", "data", [DATA_LABELS[n] for n in presets.LAB_DATA_SETS], self._data_clicked),
                ("loss", "game (G's loss)", list(LOSSES), self.choose_loss),
                ("optimizer_d", "D's optimiser", list(OPTIMIZERS), self.choose_optimizer_d),
                ("optimizer_g", "G's optimiser", list(OPTIMIZERS), self.choose_optimizer_g),
                ("noise", "noise z ~ p_z", list(NOISE_LABELS), self.choose_noise)):
            ax = fig.add_axes(LAYOUT[name])
            ax.set_title(title, fontsize=7.5, pad=2)
            radio = RadioButtons(ax, labels, useblit=False)
            radio.drawon = False  # it would draw the whole figure at once; every callback asks for a redraw
            for text in radio.labels:
                text.set_fontsize(7.5)
            radio.on_clicked(callback)
            self.radio[name] = radio
        ax = fig.add_axes(LAYOUT["views"])
        ax.set_title("views", fontsize=7.5, pad=2)
        self.checks = CheckButtons(ax, plot.VIEWS, [True] * len(plot.VIEWS), useblit=False)
        self.checks.drawon = False
        for text in self.checks.labels:
            text.set_fontsize(7.5)
        self.checks.on_clicked(self.toggle_view)

        self.timer = fig.canvas.new_timer(interval=PLAY_INTERVAL_MS["fast"])
        self.timer.add_callback(self.tick)
        fig.canvas.mpl_connect("button_press_event", self._pen)
        fig.canvas.mpl_connect("motion_notify_event", self._pen)
        fig.canvas.mpl_connect("button_release_event", self._pen)

    def _show_settings(self) -> None:
        """Put every widget at the session's settings without calling back."""
        s = self.session.settings
        values = {"lr_d": math.log10(s.lr_d), "lr_g": math.log10(s.lr_g), "k_d": s.k_d, "k_g": s.k_g,
                  "layers_d": s.layers_d, "layers_g": s.layers_g,
                  "neurons_d": math.log2(s.neurons_d), "neurons_g": math.log2(s.neurons_g)}
        for name, value in values.items():
            slider = self.sliders[name]
            slider.eventson = False
            slider.set_val(value)
            slider.eventson = True
        for name in ("neurons_d", "neurons_g"):
            self.sliders[name].valtext.set_text(str(getattr(s, name)))  # the count, not its log2
        noise = next(label for label, value in NOISE_LABELS.items() if value == (s.latent_dim, s.noise))
        for name, label in (("data", DATA_LABELS[s.data]), ("loss", s.loss), ("optimizer_d", s.optimizer_d),
                            ("optimizer_g", s.optimizer_g), ("noise", noise)):
            radio = self.radio[name]
            radio.eventson = False
            radio.set_active([t.get_text() for t in radio.labels].index(label))
            radio.eventson = True

    # ----------------------------------------------------------------- the model's settings

    def _change(self, **changes) -> None:
        """Apply checked setting changes (a bad value raises and changes nothing), then show them."""
        done = self.session.change(**changes)
        if done != "nothing":  # a slow-motion round in progress was planned for the old settings
            self.walk, self.step_text = None, ""
            self._clear_overlays()
            self._draw_model()  # its labels name the game and the networks' sizes
        if done == "rebuilt":
            self._restart()
        else:
            self._update_status()
            self.fig.canvas.draw_idle()

    def _restart(self) -> None:
        """After a new GAN: fixed noise and real samples for the frames, the widgets, the model graph."""
        gan = self.session.gan
        self.z = gan.sample_noise(self.points, np.random.default_rng(self.session.settings.seed + 1))
        self.real = gan.data.sample(1000, np.random.default_rng(self.session.settings.seed + 2))
        self.scale, self.walk, self.step_text = None, None, ""
        self._show_settings()
        self._draw_model()
        self.redraw()

    @staticmethod
    def _log10_lr(who: str, value) -> float:
        low, high = LR_RANGE
        if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
                or not low <= value <= high:
            raise ValueError(f"log10 of {who}'s learning rate must be a number from {low:g} to {high:g}, "
                             f"got {value!r}")
        return 10.0 ** float(value)

    def set_lr_d(self, log10_lr: float) -> None:
        self._change(lr_d=self._log10_lr("D", log10_lr))

    def set_lr_g(self, log10_lr: float) -> None:
        self._change(lr_g=self._log10_lr("G", log10_lr))

    def set_k(self, k) -> None:
        """D-steps per round (GANConfig.k)."""
        self._change(k_d=_whole(k))

    def set_k_g(self, k) -> None:
        """G-steps per round."""
        self._change(k_g=_whole(k))

    def set_layers_d(self, layers) -> None:
        self._change(layers_d=_whole(layers))

    def set_layers_g(self, layers) -> None:
        self._change(layers_g=_whole(layers))

    def set_neurons_d(self, neurons) -> None:
        self._change(neurons_d=_whole(neurons))

    def set_neurons_g(self, neurons) -> None:
        self._change(neurons_g=_whole(neurons))

    def choose_data(self, name: str) -> None:
        """A data set of ``presets.LAB_DATA_SETS`` (its name, or its label); 'drawn' starts a drawing."""
        name = {label: key for key, label in DATA_LABELS.items()}.get(name, name)
        if name == "drawn":
            self.start_drawing()
            return
        self.drawing = False
        self._change(data=name)

    def choose_loss(self, name: str) -> None:
        self._change(loss=name)

    def choose_optimizer_d(self, name: str) -> None:
        self._change(optimizer_d=name)

    def choose_optimizer_g(self, name: str) -> None:
        self._change(optimizer_g=name)

    def choose_noise(self, label: str) -> None:
        """One of GAN Lab's priors: '2-D Gaussian', '2-D uniform', '1-D Gaussian', '1-D uniform'."""
        if label not in NOISE_LABELS:
            raise ValueError(f"unknown noise {label!r}; known: {', '.join(NOISE_LABELS)}")
        latent_dim, noise = NOISE_LABELS[label]
        self._change(latent_dim=latent_dim, noise=noise)

    def toggle_view(self, label: str) -> None:
        self.visible[label] = not self.visible[label]
        artist = self.artists.get(label)
        if artist is not None:
            artist.set_visible(self.visible[label])
        self.fig.canvas.draw_idle()

    # ----------------------------------------------------------------- steps and play

    def _ready(self) -> bool:
        if self.drawing:
            self._say("finish the drawing first: press 'done drawing'")
        return not self.drawing

    def step_d(self, _event=None) -> None:
        if self._ready():
            self._take(self.session.step_d)

    def step_g(self, _event=None) -> None:
        if self._ready():
            self._take(self.session.step_g)

    def step_round(self, _event=None) -> None:
        """One round: k D-steps, then k G-steps."""
        if self._ready():
            self._take(self.session.round)

    def _take(self, step, redraw: bool = True) -> bool:
        """Take ``step``; a divergence pauses play and is said in the window. True if it went well."""
        try:
            step()
            self.message = ""  # the last action's word (saved, loaded, reset...) is old news now
            if redraw:
                self.redraw()  # a snapshot whose samples of G overflow is a divergence too
        except DivergenceError as exc:
            self._diverged(exc)
            return False
        return True

    def play_pause(self, _event=None) -> None:
        if not self.playing and not self._ready():
            return
        self.playing = not self.playing
        self.buttons["play"].label.set_text("pause" if self.playing else "play")
        if self.playing:
            self.timer.start()
        else:
            self.timer.stop()
        self.fig.canvas.draw_idle()

    def toggle_slow(self, _event=None) -> None:
        """Slow motion: each tick of play is one numbered step of the algorithm (1-9)."""
        self.slow = not self.slow
        self.buttons["slow"].label.set_text(f"slow motion: {'on' if self.slow else 'off'}")
        self.timer.interval = PLAY_INTERVAL_MS["slow" if self.slow else "fast"]
        if not self.slow:
            self.walk, self.step_text = None, ""
            self._clear_overlays()
            self._highlight(None)
        self._update_status()
        self.fig.canvas.draw_idle()

    def tick(self) -> None:
        """What play does at each tick of the timer."""
        if self.slow:
            self.substep()
            return
        for _ in range(FAST_ROUNDS - 1):
            if not self._take(self.session.round, redraw=False):
                return
        self._take(self.session.round)

    def substep(self) -> None:
        """Take the next numbered step of the algorithm and show it (slow motion)."""
        if not self._ready():
            return
        if self.walk is None:
            self.walk = self.session.substeps()
        try:
            shown = next(self.walk, None)
            if shown is None:  # the round is over: the next begins
                self.walk = self.session.substeps()
                shown = next(self.walk)
        except DivergenceError as exc:
            self._diverged(exc)
            return
        self._show_substep(shown)

    def _diverged(self, exc: DivergenceError) -> None:
        """Pause, and say so in the window: the GAN keeps its last finite parameters."""
        if self.playing:
            self.play_pause()
        self.walk = None
        self._say(f"{exc} (the last finite parameters are kept; try lower learning rates or reset)")
        with contextlib.suppress(DivergenceError):  # G's samples may be what overflowed: keep the last picture
            self.redraw()

    def _show_substep(self, shown) -> None:
        n, s = shown.number, self.session.settings
        if n in (1, 5, 6, 9):  # a new batch, or the step is taken: the circles of the last one go
            self._clear_overlays()
        what = shown.shows
        if n in (5, 9):
            self.redraw()  # D's surface (5) or G's samples (9) have moved
        if "real" in what:
            self._circle(what["real"], "black", "the real batch x (some of it)")
        if "fake" in what:
            self._circle(what["fake"], plot.COLOURS["fake"], "the fake batch G(z) (some of it)")
        numbers = ""
        if n == 4:
            numbers = (f"\n   L_D = {what['loss_d']:.4f} "
                       f"(L_D,r {what['loss_d_real']:.4f} + L_D,f {what['loss_d_fake']:.4f})")
        elif n == 8:
            numbers = f"\n   L_G = {what['loss_g']:.4f} ({s.loss})"
        elif n in (5, 9):
            numbers = f"\n   now D-step {self.session.gan.d_steps}, G-step {self.session.gan.g_steps}"
        self.step_text = textwrap.fill(f"{n}. {shown.text}", 52, subsequent_indent="   ") + numbers
        self._highlight(n)
        self._update_status()
        self.fig.canvas.draw_idle()

    def _circle(self, points, colour, label) -> None:
        """Circle some of a step's batch in the frame, with a legend of what is circled."""
        shown = np.asarray(points)[:BATCH_SHOWN]
        self.overlays.append(self.ax_frame.scatter(shown[:, 0], shown[:, 1], s=40, facecolors="none",
                                                   edgecolors=colour, linewidths=1.2, zorder=6, label=label))
        if self.overlay_key is not None:
            self.overlay_key.remove()
        self.overlay_key = self.ax_frame.legend(handles=self.overlays, loc="upper left", fontsize=7)
        self.ax_frame.add_artist(self.artists_legend)  # a second legend replaces the frame's own: keep both

    def _clear_overlays(self) -> None:
        for artist in [*self.overlays, *([self.overlay_key] if self.overlay_key is not None else [])]:
            artist.remove()
        self.overlays, self.overlay_key = [], None

    def reset(self, _event=None) -> None:
        """A fresh GAN with the same settings (and seed: the same first weights)."""
        if self.playing:
            self.play_pause()
        self.drawing = False
        self.session.reset()
        self._say("reset: a fresh GAN with the same settings")
        self._restart()

    # ----------------------------------------------------------------- drawing a distribution

    def start_drawing(self) -> None:
        """Clear the frame for a drawing in the unit square (GAN Lab's canvas)."""
        if self.playing:
            self.play_pause()
        self.drawing, self.strokes, self._pen_down = True, [], False
        self.walk = None
        self.buttons["draw"].label.set_text("done drawing")
        self._say("")
        ax = self.ax_frame
        ax.clear()
        ax.set_xlim(0, 1)
        ax.set_ylim(0, 1)
        ax.grid(True, lw=0.3)
        ax.set_title("draw your distribution: click and drag to draw strokes,\nthen press 'done drawing'", fontsize=9)
        (self._ink,) = ax.plot([], [], ".", color="black", ms=4)
        self.fig.canvas.draw_idle()

    def add_stroke_point(self, x: float, y: float) -> None:
        """One point of the drawing (what a click or a drag over the frame adds)."""
        self.strokes.append((float(x), float(y)))
        self._ink.set_data(*np.array(self.strokes).T)
        self.fig.canvas.draw_idle()

    def _pen(self, event) -> None:
        """Mouse events over the frame while drawing: press starts a stroke, drag extends it."""
        if not self.drawing or event.inaxes is not self.ax_frame or event.xdata is None:
            if event.name == "button_release_event":
                self._pen_down = False
            return
        if event.name == "button_press_event" and event.button == 1:
            self._pen_down = True
            self.add_stroke_point(event.xdata, event.ydata)
        elif event.name == "motion_notify_event" and self._pen_down:
            last = self.strokes[-1]
            if math.hypot(event.xdata - last[0], event.ydata - last[1]) >= DRAWING_STEP:
                self.add_stroke_point(event.xdata, event.ydata)
        elif event.name == "button_release_event":
            self._pen_down = False

    def finish_drawing(self) -> None:
        """Train on the drawing from now on (a new GAN for it)."""
        if not self.strokes:
            self._say("draw something first: click and drag over the frame")
            return
        self.drawing = False
        self.buttons["draw"].label.set_text("draw")
        self.session.use_drawing(self.strokes)
        self._say(f"training on your drawing: {len(self.strokes)} points, each with noise of σ 0.02")
        self._restart()

    def _draw_clicked(self, _event=None) -> None:
        if self.drawing:
            self.finish_drawing()
        else:
            self.choose_data("drawn")

    def _data_clicked(self, label: str) -> None:
        self.choose_data(label)

    # ----------------------------------------------------------------- saving and loading

    def save(self, path=None) -> Path:
        """Write the session (settings, GAN, drawing, charts) to ``path`` (default: ``save_path``)."""
        return self.session.save(self.save_path if path is None else path)

    def load(self, path=None) -> None:
        """Continue the session saved in ``path``; a bad file raises and leaves the lab as it was."""
        session = Session.load(self.save_path if path is None else path)
        if self.playing:
            self.play_pause()
        self.session, self.drawing = session, False
        self._restart()

    def _save_clicked(self, _event=None) -> None:
        try:
            self._say(f"saved to {self.save().resolve()}")
        except (OSError, ValueError) as exc:
            self._say(f"could not save: {exc}")

    def _load_clicked(self, _event=None) -> None:
        try:
            self.load()
            self._say(f"loaded {self.save_path.resolve()}")
        except (OSError, ValueError) as exc:
            self._say(f"could not load: {exc}")

    # ----------------------------------------------------------------- drawing the lab

    def _say(self, message: str) -> None:
        self.message = message
        self._update_status()
        self.fig.canvas.draw_idle()

    def _update_status(self) -> None:
        s, gan = self.session.settings, self.session.gan
        settings = (f"{DATA_LABELS[s.data]}; game: {s.loss}\n"
                    f"D: {s.optimizer_d}, lr {s.lr_d:.1e}, k {s.k_d}, {s.layers_d} × {s.neurons_d} neurons\n"
                    f"G: {s.optimizer_g}, lr {s.lr_g:.1e}, k {s.k_g}, {s.layers_g} × {s.neurons_g} neurons\n"
                    f"z: {s.latent_dim}-D {s.noise}; batch {s.batch_size}; seed {s.seed}\n"
                    f"D-steps {gan.d_steps}, G-steps {gan.g_steps}, rounds {gan.step}")
        parts = [settings]
        if self.step_text:
            parts.append("slow motion, Algorithm 1:\n" + self.step_text)
        if self.message:
            parts.append(textwrap.fill(self.message, 52))
        self.status.set_text("\n\n".join(parts))

    def _draw_model(self) -> None:
        """The model graph: z → G → G(z) → D ← x, D's outputs → the two losses; the gradients in red."""
        from matplotlib.patches import FancyArrowPatch

        s, ax = self.session.settings, self.ax_model
        ax.clear()
        ax.set_xlim(0, 1)
        ax.set_ylim(-0.06, 1.0)
        ax.axis("off")
        ax.set_title("the model (slow motion lights up each step)", fontsize=8)
        g_sizes = "→".join(map(str, [s.latent_dim, *[s.neurons_g] * s.layers_g, 2]))
        d_sizes = "→".join(map(str, [2, *[s.neurons_d] * s.layers_d, 1]))
        critic = s.loss == "wgan_gp"
        texts = {"z": f"z ~ p_z\n{s.latent_dim}-D {s.noise}", "G": f"G: {g_sizes}\nReLU", "fake": "G(z)\nfake",
                 "real": "x ~ p_data\nreal", "D": f"D: {d_sizes}\nLeakyReLU",
                 "out": "critic f(x), f(G(z))" if critic else "D(x), D(G(z))", "L_D": "L_D", "L_G": f"L_G\n{s.loss}"}
        faces = {"z": "white", "G": graph.STYLE["G"], "fake": "#fde0c5", "real": "0.85", "D": graph.STYLE["D"],
                 "out": "white", "L_D": "#e5d8f0", "L_G": "#d7f0d2"}
        self.model_boxes = {name: ax.text(*MODEL_NODES[name], texts[name], ha="center", va="center", fontsize=6.5,
                                          zorder=3, bbox=dict(boxstyle="round,pad=0.3", fc=faces[name], ec="0.3",
                                                              lw=0.8))
                            for name in MODEL_NODES}
        for a, b in MODEL_EDGES:
            ax.add_patch(FancyArrowPatch(MODEL_NODES[a], MODEL_NODES[b], arrowstyle="-|>", mutation_scale=9,
                                         color="0.45", lw=0.9, shrinkA=15, shrinkB=15, zorder=1))
        self.gradient_arrows = {}
        for n, path in GRADIENT_PATHS.items():
            self.gradient_arrows[n] = [ax.add_patch(FancyArrowPatch(
                MODEL_NODES[a], MODEL_NODES[b], arrowstyle="-|>", mutation_scale=11, color="tab:red", lw=2,
                shrinkA=15, shrinkB=15, connectionstyle="arc3,rad=0.35", zorder=2, visible=False)) for a, b in path]
        self._highlight(None)

    def _highlight(self, number: int | None) -> None:
        """Light up the nodes of step ``number`` (None: all plain), and its gradient's path in red."""
        lit = LIT.get(number)
        for name, box in self.model_boxes.items():
            on = lit is not None and name in lit
            box.set_alpha(1.0 if lit is None or on else 0.35)
            box.get_bbox_patch().set_edgecolor("tab:red" if on else "0.3")
            box.get_bbox_patch().set_linewidth(2.0 if on else 0.8)
        frozen = number in (8, 9)
        d_text = self.model_boxes["D"].get_text().replace(" (frozen)", "")
        self.model_boxes["D"].set_text(d_text.replace("\nLeakyReLU", " (frozen)\nLeakyReLU") if frozen else d_text)
        for n, arrows in self.gradient_arrows.items():
            for arrow in arrows:
                arrow.set_visible(n == number)

    def redraw(self) -> None:
        """Probe the model (``probe.snapshot``) and draw the frame and the charts again."""
        if self.drawing:
            return
        gan = self.session.gan
        shot = probe.snapshot(gan, self.z, grid_points=100)
        self.scale = min(self.scale or math.inf, plot.arrow_scale([shot]))  # only ever shrinks: one scale
        self.overlays, self.overlay_key = [], None
        self.ax_frame.clear()
        self.artists = plot.frame(self.ax_frame, shot, gan.data, self.real, scale=self.scale, colorbar=False,
                                  title=self._frame_title(shot))
        self.artists_legend = self.ax_frame.get_legend()
        for name, artist in self.artists.items():
            artist.set_visible(self.visible[name])
        self._draw_charts()
        self._update_status()
        self.fig.canvas.draw_idle()

    @staticmethod
    def _frame_title(shot: dict) -> str:
        title = f"D-steps {shot['d_steps']}, G-steps {shot['g_steps']}"
        if "js" in shot:
            title += f"\nJSD estimate {shot['js']:.3f} (p_data's own: {shot['js_of_data']:.3f})"
            if shot["n_modes"] <= 25:  # a drawing's points and the line's pieces are not modes to count
                title += f", modes {shot['modes_covered']}/{shot['n_modes']}"
        return title

    def _draw_charts(self) -> None:
        records = self.session.records
        equilibrium = games.at_equilibrium(self.session.settings.loss)  # None for a critic
        self.ax_loss.clear()
        self.ax_d.clear()
        for key, name, colour in (("d", "loss_d", "tab:purple"), ("g", "loss_g", "tab:green")):
            if records[key]:
                counts, rows = zip(*records[key])
                self.ax_loss.plot(counts, [r[name] for r in rows], ".-", color=colour, lw=1, ms=2,
                                  label=f"{name} at each {key.upper()}-step")
            if equilibrium:
                self.ax_loss.axhline(equilibrium[name], color=colour, ls=":", lw=1)
        self.ax_loss.set_title("losses (dotted: their values where D = ½)"
                               if equilibrium else "losses (a critic has no equilibrium value)",
                               fontsize=8)
        if records["d"]:
            counts, rows = zip(*records["d"])
            self.ax_d.plot(counts, [r["d_real"] for r in rows], ".-", color="black", lw=1, ms=2,
                           label="mean D(x), x real")
            self.ax_d.plot(counts, [r["d_fake"] for r in rows], ".-", color=plot.COLOURS["fake"], lw=1, ms=2,
                           label="mean D(G(z))")
        if equilibrium:
            self.ax_d.axhline(0.5, color="grey", ls=":", lw=1, label="D = ½")
        self.ax_d.set_xlabel("D-steps (losses: D- or G-steps)", fontsize=8)
        self.ax_d.set_title("critic scores at each D-step" if not equilibrium else "D's outputs at each D-step",
                            fontsize=8)
        for ax in (self.ax_loss, self.ax_d):
            ax.tick_params(labelsize=7)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper right")

    # ----------------------------------------------------------------- the three places

    def press(self, name: str) -> None:
        """Press button ``name`` (a key of ``buttons``) as a mouse click would: through the canvas's
        events and the widget's own callbacks (what a notebook or a test can do without a mouse)."""
        from matplotlib.backend_bases import MouseEvent

        button, canvas = self.buttons[name], self.fig.canvas
        x, y = button.ax.transAxes.transform((0.5, 0.5))
        for event in ("button_press_event", "button_release_event"):
            MouseEvent(event, canvas, x, y, button=1)._process()

    def png(self, dpi: int = 80) -> bytes:
        """The lab as it looks now, as PNG bytes (a static picture for a notebook's readers)."""
        buffer = io.BytesIO()
        self.fig.savefig(buffer, format="png", dpi=dpi)
        return buffer.getvalue()

    def show(self) -> None:
        """Show the lab where it was made: inline in Jupyter (ipympl), else in matplotlib's window."""
        import matplotlib
        import matplotlib.pyplot as plt

        backend = matplotlib.get_backend().lower()
        if "ipympl" in backend or backend == "widget":
            from IPython.display import display

            display(self.fig.canvas)
        elif "inline" in backend:
            raise RuntimeError("the lab needs interactive figures in Jupyter: install ipympl "
                               "(pip install ipympl) and run %matplotlib widget before making the Lab")
        else:
            plt.show()


def _whole(value) -> int:
    """A slider's float that is a whole number (3.0) as an int; anything else is left for the check to refuse."""
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        return int(value)
    return value


# ----------------------------------------------------------------------------- places to open it


def display_problem() -> str | None:
    """Why no desktop window can open here (one line), or None."""
    hint = "; open the lab in a browser instead: minigan lab --browser"
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return f"no display available (DISPLAY is not set){hint}"
    try:
        import matplotlib.pyplot as plt

        plt.switch_backend("TkAgg")
    except (ImportError, RuntimeError) as exc:
        if "headless" in str(exc):  # matplotlib found no X server at $DISPLAY
            return f"no display available (cannot connect to DISPLAY={os.environ.get('DISPLAY', '')}){hint}"
        return f"no window can open: matplotlib's Tk backend is unavailable ({exc}){hint}"
    return None


def _summary(window: Lab) -> str:
    gan = window.session.gan
    return f"minigan lab: closed after {gan.d_steps} D-steps and {gan.g_steps} G-steps on {gan.data.name}"


def main(data: str = "ring", loss: str = "non_saturating", seed: int = 0, save_path="minigan-lab.npz") -> int:
    """Open the lab window; 0 when it is closed, 2 (and one line on stderr) where no window can open."""
    problem = display_problem()
    if problem is None:
        import tkinter  # importable: display_problem switched to the Tk backend

        import matplotlib.pyplot as plt

        try:
            window = Lab(data, loss, seed, save_path=save_path)
        except tkinter.TclError as exc:  # e.g. "couldn't connect to display"
            problem = f"no window can open ({exc})"
    if problem is not None:
        print(f"minigan lab: {problem}", file=sys.stderr)
        return 2
    plt.show()  # until the window is closed; ``window`` keeps its widgets' callbacks alive until then
    print(_summary(window))
    return 0


def serve(data: str = "ring", loss: str = "non_saturating", seed: int = 0, port: int | None = None,
          open_browser: bool = False, save_path="minigan-lab.npz") -> int:
    """Serve the lab to a browser on this computer (matplotlib's WebAgg, bound to 127.0.0.1 only)
    until Ctrl+C; 0 then, 2 (and one line on stderr) where it cannot be served."""
    import errno

    port = DEFAULT_PORT if port is None else port
    import matplotlib
    import matplotlib.pyplot as plt

    try:
        plt.switch_backend("WebAgg")  # needs tornado (a dependency of minigan)
        from matplotlib.backends.backend_webagg import WebAggApplication
    except (ImportError, RuntimeError) as exc:  # RuntimeError: "The WebAgg backend requires Tornado." 
        print(f"minigan lab: the browser lab needs matplotlib's WebAgg backend ({exc})", file=sys.stderr)
        return 2
    matplotlib.rcParams.update({"webagg.address": LOOPBACK, "webagg.port": port, "webagg.port_retries": 1,
                                "webagg.open_in_browser": False})
    try:
        WebAggApplication.initialize(address=LOOPBACK)  # only this computer can connect
    except SystemExit:  # matplotlib's word for "that port is taken"
        print(f"minigan lab: port {port} on {LOOPBACK} is in use (another lab?); choose another with --port",
              file=sys.stderr)
        return 2
    except OSError as exc:
        reason = "not allowed here" if exc.errno == errno.EACCES else (exc.strerror or str(exc))
        print(f"minigan lab: cannot serve on {LOOPBACK}:{port} ({reason}); choose another with --port",
              file=sys.stderr)
        return 2
    window = Lab(data, loss, seed, save_path=save_path)
    url = f"http://{LOOPBACK}:{WebAggApplication.port}/"
    print(f"minigan lab: open {url} in a browser on this computer (it is served to no other); Ctrl+C stops it",
          flush=True)
    if open_browser:
        import webbrowser

        try:
            opened = webbrowser.open(url)
        except webbrowser.Error:
            opened = False
        if not opened:
            print(f"minigan lab: no web browser found here; open {url} yourself", file=sys.stderr, flush=True)
    WebAggApplication.start()  # until Ctrl+C
    print(_summary(window).replace("closed", "stopped"), flush=True)
    return 0
