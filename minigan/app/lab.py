"""``minigan lab``: play the game by hand in a matplotlib window, as in GAN Lab (Kahng et al. 2018).

The window shows one 2-D frame of ``minigan.app.plot`` (D's heat map, real and fake samples,
G's manifold, the arrows -∂L_G/∂x) and two charts over the session (the losses and D's
outputs, each with its value at the equilibrium D = ½). The controls drive the very
steps of ``minigan.gan``:

    step D        one ``gan.d_step()``: D's parameters move, G's do not
    step G        one ``gan.g_step()``: G's parameters move, D's do not
    step both     one training step, ``gan.train_step()``: k D-steps, then one G-step
    play / pause  train continuously (a timer calls the training step)
    slow mode     while playing: one D-step or G-step per tick, redrawn after each
    sliders       the learning rates of D's and G's optimisers (log scale), and k
    radio buttons the data set and the generator loss: either rebuilds the GAN from its preset
    check boxes   which views the frame shows

Every model computation happens in ``minigan.app.probe``; the window only draws its snapshots.
Open it with ``minigan lab [--data ring|grid] [--loss LOSS] [--seed N]``.
Arrows keep one scale for the session: the scale of the longest arrows seen so far,
named in the frame's legend (it changes only when a longer arrow appears).
"""

from __future__ import annotations

import math
import os
import sys

import numpy as np  # host side: the fixed noise and the charts' numbers

from minigan.app import plot, presets, probe
from minigan import losses
from minigan.gan import LOSSES, DivergenceError

__all__ = ["Lab", "main"]

PLAY_INTERVAL_MS = {"fast": 30, "slow": 400}  # timer period; a fast tick takes FAST_STEPS training steps
FAST_STEPS = 10


class Lab:
    """The window and its controls; each control's callback is a method (tested without a screen)."""

    def __init__(self, data_name: str = "ring", loss: str = "non_saturating", seed: int = 0, points: int = 512):
        import matplotlib.pyplot as plt
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.widgets import Button, CheckButtons, RadioButtons, Slider

        self.seed, self.points = seed, points
        self.data_name, self.loss = data_name, loss
        self.visible = dict.fromkeys(plot.VIEWS, True)
        self.playing, self.slow, self._d_steps_in_round = False, False, 0
        self.fig = fig = plt.figure(figsize=(13, 7.6))
        if fig.canvas.manager is not None:  # None on a canvas without a window (Agg, in the tests)
            fig.canvas.manager.set_window_title("minigan lab")
        self.ax_frame = fig.add_axes((0.04, 0.29, 0.45, 0.64))
        colour_key = fig.colorbar(ScalarMappable(Normalize(0, 1), "PRGn"), cax=fig.add_axes((0.50, 0.29, 0.01, 0.64)))
        colour_key.set_label("D(x): 1 = real, 0 = fake (a critic: its own scale each frame)", fontsize=7)
        self.ax_loss = fig.add_axes((0.60, 0.64, 0.37, 0.29))
        self.ax_d = fig.add_axes((0.60, 0.29, 0.37, 0.29))

        def button(rect, label, callback):
            widget = Button(fig.add_axes(rect), label)
            widget.on_clicked(callback)
            return widget

        self.buttons = {
            "step D": button((0.04, 0.17, 0.08, 0.05), "step D", self.step_d),
            "step G": button((0.13, 0.17, 0.08, 0.05), "step G", self.step_g),
            "step both": button((0.22, 0.17, 0.10, 0.05), "step both (k)", self.step_both),
            "play": button((0.33, 0.17, 0.08, 0.05), "play", self.play_pause),
            "slow": button((0.42, 0.17, 0.09, 0.05), "slow mode: off", self.toggle_slow),
        }
        self.sliders = {
            "lr_d": Slider(fig.add_axes((0.08, 0.10, 0.20, 0.03)), "log10 lr D", -5, -1, valinit=-3),
            "lr_g": Slider(fig.add_axes((0.08, 0.05, 0.20, 0.03)), "log10 lr G", -5, -1, valinit=-3),
            "k": Slider(fig.add_axes((0.08, 0.005, 0.20, 0.03)), "k", 1, 10, valinit=1, valstep=1),
        }
        self.sliders["lr_d"].on_changed(self.set_lr_d)
        self.sliders["lr_g"].on_changed(self.set_lr_g)
        self.sliders["k"].on_changed(self.set_k)
        self.radio_data = RadioButtons(fig.add_axes((0.36, 0.005, 0.08, 0.14)), presets.LAB_DATA_SETS,
                                       active=presets.LAB_DATA_SETS.index(data_name))
        self.radio_data.on_clicked(self.choose_data)
        self.radio_loss = RadioButtons(fig.add_axes((0.45, 0.005, 0.13, 0.14)), LOSSES, active=LOSSES.index(loss))
        self.radio_loss.on_clicked(self.choose_loss)
        self.checks = CheckButtons(fig.add_axes((0.60, 0.005, 0.12, 0.20)), plot.VIEWS, [True] * len(plot.VIEWS))
        self.checks.on_clicked(self.toggle_view)
        self.status = fig.text(0.74, 0.10, "", fontsize=8, va="center")
        self.timer = fig.canvas.new_timer(interval=PLAY_INTERVAL_MS["fast"])
        self.timer.add_callback(self.tick)
        self.build()

    # -- the model

    def build(self) -> None:
        """A fresh GAN from the chosen data set's preset with the chosen loss; the sliders show its settings."""
        self.gan, _ = presets.build(self.data_name, seed=self.seed, loss=self.loss)
        self.z = self.gan.sample_noise(self.points, np.random.default_rng(self.seed + 1))  # the same z in every frame
        self.real = self.gan.data.sample(1000, np.random.default_rng(self.seed + 2))
        self.records = {"d": [], "g": []}  # (D-steps or G-steps so far, that step's record)
        self._d_steps_in_round = 0
        self.scale = None
        cfg = self.gan.config
        for name, value in (("lr_d", math.log10(cfg.lr_d)), ("lr_g", math.log10(cfg.lr_g)), ("k", cfg.k)):
            slider = self.sliders[name]
            slider.eventson = False  # show the preset's settings without applying them again
            slider.set_val(value)
            slider.eventson = True
            slider.valinit = value  # the red mark: the preset's value
            slider.vline.set_xdata([value, value])
        self._settings_changed(redraw=False)
        self.redraw()

    def _record(self, record: dict) -> None:
        """Keep a step's numbers for the charts, counted in D-steps and in G-steps."""
        if "loss_d" in record:
            self.records["d"].append((self.gan.d_steps, record))
        if "loss_g" in record:
            self.records["g"].append((self.gan.g_steps, record))

    # -- the controls' callbacks

    def step_d(self, _event=None) -> None:
        self._take(self.gan.d_step)

    def step_g(self, _event=None) -> None:
        self._take(self.gan.g_step)

    def step_both(self, _event=None) -> None:
        """One training step, ``gan.train_step()``: k D-steps, then one G-step."""
        self._take(self.gan.train_step)

    def _take(self, step, redraw: bool = True) -> None:
        """Take ``step`` and chart it; a divergence pauses play and is said in the window."""
        try:
            self._record(step())
        except DivergenceError as exc:
            if self.playing:
                self.play_pause()
            self.status.set_text(f"{exc}\n(the last finite parameters are kept)")
        if redraw:
            self.redraw()

    def play_pause(self, _event=None) -> None:
        self.playing = not self.playing
        self.buttons["play"].label.set_text("pause" if self.playing else "play")
        if self.playing:
            self.timer.start()
        else:
            self.timer.stop()
        self.fig.canvas.draw_idle()

    def toggle_slow(self, _event=None) -> None:
        """Slow mode: each tick of play takes one D-step or one G-step (k of D, then one of G), redrawn after each."""
        self.slow = not self.slow
        self.buttons["slow"].label.set_text(f"slow mode: {'on' if self.slow else 'off'}")
        self.timer.interval = PLAY_INTERVAL_MS["slow" if self.slow else "fast"]
        self.fig.canvas.draw_idle()

    def tick(self) -> None:
        """What play does at each tick of the timer."""
        if self.slow:
            if self._d_steps_in_round < self.gan.config.k:
                self._d_steps_in_round += 1
                self.step_d()
            else:
                self._d_steps_in_round = 0
                self.step_g()
            return
        for _ in range(FAST_STEPS - 1):
            self._take(self.gan.train_step, redraw=False)
        self.step_both()

    def set_lr_d(self, log10_lr: float, redraw: bool = True) -> None:
        self.gan.opt_d.lr = self.gan.config.lr_d = 10.0**log10_lr
        self._settings_changed(redraw)

    def set_lr_g(self, log10_lr: float, redraw: bool = True) -> None:
        self.gan.opt_g.lr = self.gan.config.lr_g = 10.0**log10_lr
        self._settings_changed(redraw)

    def set_k(self, k: float, redraw: bool = True) -> None:
        self.gan.config.k = int(k)
        self._settings_changed(redraw)

    def choose_data(self, label: str) -> None:
        self.data_name = label
        self.build()

    def choose_loss(self, label: str) -> None:
        self.loss = label
        self.build()

    def toggle_view(self, label: str) -> None:
        self.visible[label] = not self.visible[label]
        artist = self.artists.get(label)
        if artist is not None:
            artist.set_visible(self.visible[label])
        self.fig.canvas.draw_idle()

    # -- drawing

    def _settings_changed(self, redraw: bool) -> None:
        cfg = self.gan.config
        self.status.set_text(f"{self.data_name}, {cfg.loss}\nlr D {cfg.lr_d:.1e}, lr G {cfg.lr_g:.1e}, k = {cfg.k}\n"
                             f"batch {cfg.batch_size}, latent_dim {cfg.latent_dim}")
        if redraw:
            self.fig.canvas.draw_idle()

    def redraw(self) -> None:
        """Probe the model (``probe.snapshot``) and draw the frame and the charts again."""
        shot = probe.snapshot(self.gan, self.z, grid_points=100)
        self.scale = min(self.scale or math.inf, plot.arrow_scale([shot]))  # only ever shrinks: one scale
        self.ax_frame.clear()
        self.artists = plot.frame(self.ax_frame, shot, self.gan.data, self.real, scale=self.scale, colorbar=False)
        for name, artist in self.artists.items():
            artist.set_visible(self.visible[name])
        self._draw_charts()
        self.fig.canvas.draw_idle()

    def _draw_charts(self) -> None:
        at_half = losses.at_equilibrium(self.gan.config.loss)  # None for a critic
        critic = at_half is None
        self.ax_loss.clear()
        self.ax_d.clear()
        for key, name, colour in (("d", "loss_d", "tab:purple"), ("g", "loss_g", "tab:green")):
            if self.records[key]:
                counts, records = zip(*self.records[key])
                self.ax_loss.plot(counts, [r[name] for r in records], ".-", color=colour, lw=1, ms=3,
                                  label=f"{name} at each {key.upper()}-step")
            if not critic:
                self.ax_loss.axhline(at_half[name], color=colour, ls=":", lw=1)
        self.ax_loss.set_title("losses, not smoothed (dotted: values at D = ½)" if not critic
                               else "losses, not smoothed (a critic has no equilibrium value)", fontsize=8)
        if self.records["d"]:
            counts, records = zip(*self.records["d"])
            self.ax_d.plot(counts, [r["d_real"] for r in records], ".-", color="black", lw=1, ms=3, label="mean D(x), x real")
            self.ax_d.plot(counts, [r["d_fake"] for r in records], ".-", color=plot.COLOURS["fake"], lw=1, ms=3,
                           label="mean D(G(z))")
        if not critic:
            self.ax_d.axhline(0.5, color="grey", ls=":", lw=1, label="D = ½")
        self.ax_d.set_xlabel("D-steps (losses: D- or G-steps)")
        self.ax_d.set_title("critic scores at each D-step" if critic else "D's outputs at each D-step", fontsize=8)
        for ax in (self.ax_loss, self.ax_d):
            if ax.get_legend_handles_labels()[0]:
                ax.legend(fontsize=7, loc="upper right")


def display_problem() -> str | None:
    """Why no window can open here (one line), or None."""
    if sys.platform.startswith("linux") and not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return "no display available (DISPLAY is not set): minigan lab needs a screen (or run it under xvfb-run)"
    try:
        import matplotlib.pyplot as plt

        plt.switch_backend("TkAgg")
    except (ImportError, RuntimeError) as exc:
        if "headless" in str(exc):  # matplotlib found no X server at $DISPLAY
            return f"no display available (cannot connect to DISPLAY={os.environ.get('DISPLAY', '')})"
        return f"no window can open: matplotlib's Tk backend is unavailable ({exc})"
    return None


def main(data_name: str = "ring", loss: str = "non_saturating", seed: int = 0) -> int:
    """Open the lab window; 0 when it is closed, 2 (and one line on stderr) where no window can open."""
    problem = display_problem()
    if problem is None:
        import tkinter  # importable: display_problem switched to the Tk backend

        import matplotlib.pyplot as plt

        try:
            window = Lab(data_name, loss, seed)
        except tkinter.TclError as exc:  # e.g. "couldn't connect to display"
            problem = f"no window can open ({exc})"
    if problem is not None:
        print(f"minigan lab: {problem}", file=sys.stderr)
        return 2
    plt.show()  # until the window is closed; ``window`` keeps its widgets' callbacks alive until then
    del window
    return 0


if __name__ == "__main__":
    sys.exit(main())
