"""Pictures of training (matplotlib): the classic 1-D figure, and GAN Lab's views in 2-D.

Everything drawn here is a host (NumPy) array: ``minigan.app.probe.snapshot(gan, z)`` records,
at one moment of training, what a picture needs (the model side runs G, D and the
autodiff; this module never does), so snapshots can be kept in a checkpoint and drawn later:

- 2-D data, the views of GAN Lab (Kahng et al. 2018): D's output on a fine grid (the heat
  map, interpolated), real and fake samples, G's manifold (the image of a regular z-grid,
  a warped mesh), and the arrows -∂L_G/∂x at fake samples x = G(z), the direction D's
  gradient pushes each sample, drawn at ONE scale for a whole run (``arrow_scale``) so
  that a gradient that vanishes is seen to vanish;
- 1-D data: fake samples and D(x) on a line, to draw against p_data and D*(x);
- images: a batch of generated images.

Then: ``frame`` draws one snapshot on an axis; ``training_figure`` draws snapshots side
by side (the classic 1-D figure of Goodfellow et al. 2014, Fig. 1, with D* from theory),
``history_figure`` the curves over training (losses with their values at equilibrium,
D(x) and D(G(z)), gradient norms, the JSD estimate, modes covered and high quality),
``sample_grid`` a grid of images, and ``save_gif`` an animation of the snapshots.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np  # host side: everything drawn is a NumPy array
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.figure import Figure
from PIL import Image

from minigan import games, metrics, theory
from minigan.app.probe import kind as _kind

__all__ = ["subplots", "frame", "frame_title", "arrow_scale", "frame_figure", "training_figure", "history_figure",
           "sample_grid", "save_gif", "save", "VIEWS"]


COLOURS = {"real": "black", "fake": "#e66101", "arrow": "#7f2704", "manifold": "#2b5d8a",
           "D": "tab:blue", "D*": "tab:red"}
VIEWS = ("heat map", "manifold", "real", "fake", "arrows")  # what a 2-D frame can show
SMOOTHING = 25  # steps in the running mean of the history's curves


def frame_title(shot: dict) -> str:
    """The run's numbers at a snapshot: step, D- and G-steps, modes, high quality, JSD."""
    title = f"step {shot['step']}"
    if "d_steps" in shot:
        title += f" (D-steps {shot['d_steps']}, G-steps {shot['g_steps']})"
    if "modes_covered" in shot:
        title += (f"\nmodes {shot['modes_covered']}/{shot['n_modes']}, high quality {100 * shot['high_quality']:.0f}%, "
                  f"JSD {shot['js']:.3f}")
    elif "jsd" in shot:
        title += f"\nG: mean {shot['g_mean']:.2f}, std {shot['g_std']:.2f}, JSD {shot['jsd']:.3f}"
    return title


def arrow_scale(snapshots: list[dict]) -> float | None:
    """One arrow scale for a whole run: picture units per unit of |∂L_G/∂x|.

    The largest arrow of the run (its 99th percentile, so one outlier does not shrink the
    rest) is drawn 10% as long as the picture is wide; None for snapshots without arrows.
    """
    with_arrows = [s for s in snapshots if "arrow" in s]
    if not with_arrows:
        return None
    longest = max(float(np.quantile(np.linalg.norm(s["arrow"], axis=1), 0.99)) for s in with_arrows)
    width = float(np.ptp(with_arrows[0]["grid_x"]))
    return 0.1 * width / max(longest, 1e-12)


def frame(ax, shot: dict, data, real: np.ndarray | None = None, title: str | None = None, xlim=None,
          scale: float | None = None, colorbar: bool = True) -> dict:
    """Draw one snapshot on ``ax``; returns the 2-D views' artists by name (see ``VIEWS``).

    ``xlim``: the x-range, for 1-D frames that must line up; ``scale``: the run's
    ``arrow_scale`` (default: this snapshot's own, said in the legend).
    """
    kind = _kind(data)
    artists = {}
    if kind == "2d":
        artists = _frame_2d(ax, shot, real, scale, colorbar)
    elif kind == "1d":
        _frame_1d(ax, shot, data)
        ax.set_xlim(xlim or (shot["x"][0, 0], shot["x"][-1, 0]))
    elif kind == "images":
        ax.imshow(_tile(shot["fake"], data.image_shape), cmap="gray", vmin=-1, vmax=1)
        ax.axis("off")
    else:
        raise ValueError(f"no picture for {data.dim}-dimensional data that are not images")
    ax.set_title(title or frame_title(shot), fontsize=9)
    return artists


def _frame_2d(ax, shot, real, run_scale, colorbar) -> dict:
    critic, scale = shot["critic"], run_scale or arrow_scale([shot])
    extent = (shot["grid_x"][0], shot["grid_x"][-1], shot["grid_y"][0], shot["grid_y"][-1])
    artists = {"heat map": ax.imshow(  # a fine grid, interpolated: D's surface, not its pixels
        shot["d"], origin="lower", extent=extent, cmap="PuOr" if critic else "PRGn", interpolation="bilinear",
        vmin=None if critic else 0, vmax=None if critic else 1, alpha=0.6, aspect="auto")}
    artists["manifold"] = ax.add_collection(_mesh_lines(shot["manifold"], shot.get("latent_dim", 2)))
    if real is not None:
        artists["real"] = ax.scatter(real[:, 0], real[:, 1], s=3, c=COLOURS["real"], alpha=0.5, zorder=4,
                                     label="real x ~ p_data")  # on top: where the data are must stay visible
    fake = shot["fake"]
    artists["fake"] = ax.scatter(fake[:, 0], fake[:, 1], s=4, c=COLOURS["fake"], alpha=0.8, label="fake G(z)")
    arrows = shot["arrow"]
    artists["arrows"] = ax.quiver(shot["arrow_from"][:, 0], shot["arrow_from"][:, 1], arrows[:, 0], arrows[:, 1],
                                  angles="xy", scale_units="xy", scale=1 / scale, color=COLOURS["arrow"],
                                  width=0.0025, alpha=0.8)
    reference = _round_number(0.1 * float(np.ptp(shot["grid_x"])) / scale)
    whose = "one scale for the run" if run_scale else "this frame's own scale"
    ax.quiverkey(artists["arrows"], 0.03, 0.03, reference, f"-∂L_G/∂x ({whose}): |arrow| = {reference:g}",
                 labelpos="E", coordinates="axes", fontproperties={"size": 6}, color=COLOURS["arrow"])
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.legend(handles=[artists[n] for n in ("real", "fake") if n in artists] + [artists["manifold"]],
              loc="upper right", fontsize=6, markerscale=3, framealpha=0.8)
    if colorbar:
        bar = ax.figure.colorbar(artists["heat map"], ax=ax, fraction=0.046, pad=0.02)
        bar.set_label("critic f(x)" if critic else "D(x): 1 = real, 0 = fake", fontsize=7)
    return artists


def _mesh_lines(manifold: np.ndarray, latent_dim: int) -> LineCollection:
    """G's manifold as lines: every 4th row and column of the image of the z-grid (a curve in 1-D z)."""
    if manifold.ndim == 2:
        lines, label = [manifold], "G's manifold: G(z), z from 1% to 99% of p_z"
    else:
        rows = manifold[::4]
        columns = manifold[:, ::4].transpose(1, 0, 2)
        lines = [*rows, *columns]
        label = "G's manifold: image of a z-grid" if latent_dim == 2 else \
            f"G on a slice of z: (z₁, z₂, 0, ...), of {latent_dim} dims"
    return LineCollection(lines, colors=COLOURS["manifold"], linewidths=0.6, alpha=0.6, label=label)


def _round_number(value: float) -> float:
    """1, 2 or 5 times a power of ten, at most ``value``: a length a legend can name."""
    power = 10 ** math.floor(math.log10(value))
    return max(m for m in (1, 2, 5) if m * power <= value) * power


def _frame_1d(ax, shot, data):
    x, fake = shot["x"], shot["fake"].ravel()
    p_data = data.pdf(x)
    ax.plot(x, p_data, ":", color=COLOURS["real"], lw=2, label="p_data")
    heights, _, _ = ax.hist(fake, bins=60, range=(x[0, 0], x[-1, 0]), density=True, color=COLOURS["fake"],
                            alpha=0.35, label="p_g (histogram of G(z))")
    ax.plot(x, shot["d"], "--", color=COLOURS["D"], lw=2, label="D(x)")
    if "p_g" in shot:  # p_g's exact density on x, where it is known (an affine G makes a Gaussian)
        with np.errstate(invalid="ignore"):  # 0/0 far in the tails, where neither has any mass
            d_star = p_data / (p_data + shot["p_g"])
        ax.plot(x, d_star, color=COLOURS["D*"], lw=1, label="D*(x), exact")
    elif np.ptp(fake) > 0:  # D* needs p_g; estimated from G's samples by a kernel density estimate
        p_g = metrics.kde(fake[:2000])
        d_star = theory.optimal_discriminator(data, p_g, x)
        both = p_data + p_g.pdf(x)
        d_star[both < 0.01 * both.max()] = np.nan  # where neither has mass, the estimate of D* is noise
        ax.plot(x, d_star, color=COLOURS["D*"], lw=1, label="D*(x), p_g estimated")
    tallest = max(p_data.max(), min(heights.max(), 2.5))  # a spike of G's samples is cut at 2.5
    ax.set_ylim(0, max(1.05, 1.1 * tallest))
    ax.set_xlabel("x")
    ax.legend(loc="best", fontsize=6)


def _tile(images: np.ndarray, image_shape, columns: int | None = None) -> np.ndarray:
    """Images (n, h·w) in [-1, 1] laid out as one (rows·h, columns·w) picture."""
    n = len(images)
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    h, w = image_shape
    canvas = np.full((rows * (h + 1) - 1, columns * (w + 1) - 1), -1.0)
    for i, image in enumerate(images):
        r, c = divmod(i, columns)
        canvas[r * (h + 1): r * (h + 1) + h, c * (w + 1): c * (w + 1) + w] = image.reshape(h, w)
    return canvas


def subplots(*args, figsize=None, layout=None, **kwargs):
    """(figure, axes) as ``pyplot.subplots`` gives them, on a figure of its own that no pyplot
    backend manages: drawing a file never changes the backend a notebook or a window uses."""
    fig = Figure(figsize=figsize, layout=layout)
    FigureCanvasAgg(fig)  # drawn in memory, by Agg, whatever backend pyplot uses
    return fig, fig.subplots(*args, **kwargs)


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (PNG)."""
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    return path


def training_figure(snapshots: list[dict], data, path, real: np.ndarray | None = None, panels: int = 4,
                    scale: float | None = None) -> Path:
    """Snapshots side by side at evenly spaced points of training, arrows at one scale
    (``scale``, default: ``arrow_scale`` of these snapshots)."""
    chosen = [snapshots[round(i)] for i in np.linspace(0, len(snapshots) - 1, min(panels, len(snapshots)))]
    scale = scale or arrow_scale(snapshots)
    fig, axes = subplots(1, len(chosen), figsize=(4.6 * len(chosen), 4.0), squeeze=False, layout="constrained")
    for ax, shot in zip(axes[0], chosen):
        frame(ax, shot, data, real, xlim=_shared_xlim(chosen), scale=scale)
    return save(fig, path)


def frame_figure(shot: dict, data, path, real: np.ndarray | None = None, scale: float | None = None) -> Path:
    """One snapshot, large, in its own file (``scale``: the run's arrow scale)."""
    fig, ax = subplots(figsize=(7, 6))
    frame(ax, shot, data, real, scale=scale)
    return save(fig, path)


def _shared_xlim(snapshots: list[dict]):
    """One x-range for all 1-D snapshots (None for other kinds)."""
    if "x" not in snapshots[0]:
        return None
    return min(s["x"][0, 0] for s in snapshots), max(s["x"][-1, 0] for s in snapshots)


def history_figure(history, path, evaluation: list[dict] | None = None, loss: str = "non_saturating") -> Path:
    """The curves of a run: losses, D's outputs, gradient norms and (from ``evaluation``,
    the rows of evaluation.csv) the JSD estimate, modes covered and high quality.

    Dotted lines mark each curve's value at the game's equilibrium D = ½ (Goodfellow et al.
    2014; ``games.at_equilibrium``): L_D,r = L_D,f = ln 2, L_D = 2 ln 2, and ``loss``'s L_G at
    D(G(z)) = ½ (1/8, 1/8, 1/4 and 1/8 for least squares); for a critic ('wgan_gp') there is no
    such value. Per-step curves are running means.
    """
    steps, at_half = history["step"], games.at_equilibrium(loss)
    critic = at_half is None
    window = min(SMOOTHING, max(1, len(steps) // 4))  # a short run is smoothed less
    divergence = bool(evaluation) and "js" in evaluation[0]
    fig, axes = subplots(3 + divergence, 1, figsize=(7.5, 2.9 * (3 + divergence)), sharex=True,
                             layout="constrained")
    ax_loss, ax_d, ax_norm = axes[:3]
    fig.suptitle(f"{loss} over training (curves smoothed: running mean over {window} steps)", fontsize=10)
    colours = {"loss_d_real": "tab:blue", "loss_d_fake": "tab:orange", "loss_d": "tab:purple", "loss_g": "tab:green"}
    labels = {"loss_d_real": "L_D,r", "loss_d_fake": "L_D,f", "loss_d": "L_D = L_D,r + L_D,f", "loss_g": "L_G"}
    for name, colour in colours.items():
        ax_loss.plot(steps, _smooth(history[name], window), color=colour, lw=1, label=labels[name])
        if not critic:
            ax_loss.axhline(at_half[name], color=colour, ls=":", lw=1)
    ax_loss.set_ylabel("loss")
    ax_loss.set_title("losses; dotted: their values at equilibrium, D = ½"
                      if not critic else "losses (a critic has no equilibrium value)", fontsize=8)
    ax_loss.legend(fontsize=7, ncol=2)
    ax_d.plot(steps, _smooth(history["d_real"], window), color=COLOURS["real"], lw=1, label="mean D(x), x real")
    ax_d.plot(steps, _smooth(history["d_fake"], window), color=COLOURS["fake"], lw=1, label="mean D(G(z))")
    if not critic:
        ax_d.axhline(0.5, color="grey", ls=":", lw=1, label="D = ½, equilibrium")
    ax_d.set_ylabel("critic score" if critic else "D output")
    ax_d.legend(fontsize=7)
    ax_norm.semilogy(steps, _smooth(history["grad_norm_d"], window), lw=1, label="‖∇θ_D L_D‖")
    ax_norm.semilogy(steps, _smooth(history["grad_norm_g"], window), lw=1, label="‖∇θ_G L_G‖")
    ax_norm.set_ylabel("gradient norm")
    ax_norm.legend(fontsize=7)
    if divergence:
        _evaluation_chart(axes[3], evaluation)
    axes[-1].set_xlabel("training step")
    return save(fig, path)


def _evaluation_chart(ax, evaluation: list[dict]) -> None:
    """JSD estimate (left axis) and modes covered, high quality (right axis) at each frame."""
    steps = [row["step"] for row in evaluation]
    ax.plot(steps, [row["js"] for row in evaluation], "o-", ms=3, color="tab:red", lw=1,
            label="JSD(p_data ‖ KDE of G's samples)")
    ax.plot(steps, [row["js_of_data"] for row in evaluation], ":", color="tab:red", lw=1,
            label="same estimate for samples of p_data")
    ax.set_ylim(0, math.log(2) * 1.05)
    ax.axhline(math.log(2), color="grey", lw=0.5)
    ax.set_ylabel("JSD (nats; max ln 2)")
    right = ax.twinx()
    n_modes = evaluation[0]["n_modes"]
    right.plot(steps, [row["modes_covered"] / n_modes for row in evaluation], "s-", ms=3, color="tab:blue", lw=1,
               label=f"modes covered (of {n_modes})")
    right.plot(steps, [row["high_quality"] for row in evaluation], "^-", ms=3, color="tab:cyan", lw=1,
               label="high-quality fraction")
    right.set_ylim(0, 1.05)
    right.set_ylabel("fraction")
    ax.set_title("at each frame, on the fixed evaluation noise: JSD (metrics.js_monte_carlo), "
                 "modes and high quality (metrics.mode_coverage)", fontsize=8)
    handles = ax.get_legend_handles_labels()[0] + right.get_legend_handles_labels()[0]
    ax.legend(handles=handles, fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.3), ncol=2)  # off the curves


def _smooth(values: np.ndarray, window: int) -> np.ndarray:
    """A running mean over ``window`` steps (noisy per-step numbers made readable)."""
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def sample_grid(images: np.ndarray, image_shape, path, title: str | None = None) -> Path:
    fig, ax = subplots(figsize=(5, 5))
    ax.imshow(_tile(np.asarray(images), image_shape), cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return save(fig, path)


def save_gif(snapshots: list[dict], data, path, real: np.ndarray | None = None, seconds_per_frame: float = 0.25,
             scale: float | None = None) -> Path:
    """An animated GIF with one frame per snapshot, arrows at one scale (default: ``arrow_scale``)."""
    if not snapshots:
        raise ValueError("save_gif needs at least one snapshot")
    images, xlim, scale = [], _shared_xlim(snapshots), scale or arrow_scale(snapshots)
    for shot in snapshots:
        fig, ax = subplots(figsize=(5.6, 4.8))
        frame(ax, shot, data, real, xlim=xlim, scale=scale)
        fig.canvas.draw()
        images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("P", palette=Image.ADAPTIVE))
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 * seconds_per_frame), loop=0)
    return path
