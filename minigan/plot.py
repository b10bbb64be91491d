"""Pictures of training (matplotlib, headless): what the notes draw, and what GAN Lab shows.

Everything drawn here is a host (NumPy) array: ``minigan.probe.snapshot(gan, z)`` records,
at one moment of training, what a picture needs (the model side runs G, D and the
autodiff; this module never does), so snapshots can be kept in a checkpoint and drawn later:

- 2-D data: real and fake samples, D's output on a grid (the heat map), and the arrows
  -∂L_G/∂x at fake samples x = G(z): the direction D's gradient pushes each sample;
- 1-D data: fake samples and D(x) on a line, to draw against p_data and D*(x);
- images: a batch of generated images.

Then: ``frame`` draws one snapshot on an axis; ``training_figure`` draws the classic
1-D figure of notes 003/004 (p_data, p_g and D at several points of training, with
D* from theory), ``history_figure`` the loss, D(x)/D(G(z)) and gradient-norm curves,
``sample_grid`` a grid of images, and ``save_gif`` an animation of the snapshots.
"""

from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # draw to files; no screen needed
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402  (host side: everything drawn is a NumPy array)
from PIL import Image  # noqa: E402

from minigan import metrics, theory  # noqa: E402
from minigan.probe import kind as _kind  # noqa: E402

__all__ = ["frame", "frame_figure", "training_figure", "history_figure", "sample_grid", "save_gif", "save"]

COLOURS = {"real": "black", "fake": "tab:green", "D": "tab:blue", "D*": "tab:red"}


def frame(ax, shot: dict, data, real: np.ndarray | None = None, title: str | None = None, xlim=None) -> None:
    """Draw one snapshot on ``ax`` (``xlim``: the x-range, for 1-D frames that must line up)."""
    kind = _kind(data)
    title = title or f"step {shot['step']}"
    if kind == "2d":
        _frame_2d(ax, shot, data, real)
    elif kind == "1d":
        _frame_1d(ax, shot, data)
        ax.set_xlim(xlim or (shot["x"][0, 0], shot["x"][-1, 0]))
    elif kind == "images":
        ax.imshow(_tile(shot["fake"], data.image_shape), cmap="gray", vmin=-1, vmax=1)
        ax.axis("off")
    else:
        raise ValueError(f"no picture for {data.dim}-dimensional data that are not images")
    ax.set_title(title)


def _frame_2d(ax, shot, data, real):
    critic = shot["critic"]
    extent = (shot["grid_x"][0], shot["grid_x"][-1], shot["grid_y"][0], shot["grid_y"][-1])
    image = ax.imshow(shot["d"], origin="lower", extent=extent, cmap="RdBu" if not critic else "PuOr",
                      vmin=None if critic else 0, vmax=None if critic else 1, alpha=0.55, aspect="auto")
    if real is not None:
        ax.scatter(real[:, 0], real[:, 1], s=3, c=COLOURS["real"], alpha=0.5, label="real x ~ p_data")
    ax.scatter(shot["fake"][:, 0], shot["fake"][:, 1], s=3, c=COLOURS["fake"], alpha=0.6, label="fake G(z)")
    arrows = shot["arrow"]
    lengths = np.linalg.norm(arrows, axis=1, keepdims=True)
    scale = 0.06 * float(np.ptp(shot["grid_x"])) / max(float(lengths.max()), 1e-12)
    ax.quiver(shot["arrow_from"][:, 0], shot["arrow_from"][:, 1], arrows[:, 0] * scale, arrows[:, 1] * scale,
              angles="xy", scale_units="xy", scale=1, color="tab:purple", width=0.004, label="-∂L_G/∂x")
    ax.set_xlim(extent[:2])
    ax.set_ylim(extent[2:])
    ax.legend(loc="upper right", fontsize=6, markerscale=3)
    cbar = ax.figure.colorbar(image, ax=ax, fraction=0.046, pad=0.02)
    cbar.set_label("critic f(x)" if critic else "D(x)", fontsize=7)


def _frame_1d(ax, shot, data):
    x, fake = shot["x"], shot["fake"].ravel()
    p_data = data.pdf(x)
    ax.plot(x, p_data, ":", color=COLOURS["real"], lw=2, label="p_data")
    heights, _, _ = ax.hist(fake, bins=60, range=(x[0, 0], x[-1, 0]), density=True, color=COLOURS["fake"],
                            alpha=0.35, label="p_g (histogram of G(z))")
    ax.plot(x, shot["d"], "--", color=COLOURS["D"], lw=2, label="D(x)")
    if np.ptp(fake) > 0:  # D* needs p_g; estimated from G's samples by a kernel density estimate
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


def save(fig, path) -> Path:
    """Write ``fig`` to ``path`` (PNG) and close it."""
    path = Path(path)
    fig.savefig(path, dpi=110, bbox_inches="tight")
    plt.close(fig)
    return path


def training_figure(snapshots: list[dict], data, path, real: np.ndarray | None = None, panels: int = 4) -> Path:
    """Snapshots side by side at evenly spaced points of training (the classic 1-D figure)."""
    chosen = [snapshots[round(i)] for i in np.linspace(0, len(snapshots) - 1, min(panels, len(snapshots)))]
    fig, axes = plt.subplots(1, len(chosen), figsize=(4.2 * len(chosen), 3.6), squeeze=False, layout="constrained")
    for ax, shot in zip(axes[0], chosen):
        frame(ax, shot, data, real, xlim=_shared_xlim(chosen))
    return save(fig, path)


def frame_figure(shot: dict, data, path, real: np.ndarray | None = None) -> Path:
    """One snapshot, large, in its own file."""
    fig, ax = plt.subplots(figsize=(7, 6))
    frame(ax, shot, data, real)
    return save(fig, path)


def _shared_xlim(snapshots: list[dict]):
    """One x-range for all 1-D snapshots (None for other kinds)."""
    if "x" not in snapshots[0]:
        return None
    return min(s["x"][0, 0] for s in snapshots), max(s["x"][-1, 0] for s in snapshots)


def history_figure(history, path) -> Path:
    """Loss curves, D(x) and D(G(z)), and gradient norms over training."""
    steps = history["step"]
    fig, (ax_loss, ax_d, ax_norm) = plt.subplots(3, 1, figsize=(7, 8.5), sharex=True)
    for name, style in (("loss_d_real", "-"), ("loss_d_fake", "-"), ("loss_d", "-"), ("loss_g", "-")):
        ax_loss.plot(steps, _smooth(history[name]), style, lw=1, label=name)
    ax_loss.set_ylabel("loss")
    ax_loss.legend(fontsize=7)
    ax_d.plot(steps, _smooth(history["d_real"]), color=COLOURS["real"], lw=1, label="mean D(x), x real")
    ax_d.plot(steps, _smooth(history["d_fake"]), color=COLOURS["fake"], lw=1, label="mean D(G(z))")
    ax_d.set_ylabel("D output")
    ax_d.legend(fontsize=7)
    ax_norm.semilogy(steps, _smooth(history["grad_norm_d"]), lw=1, label="‖∇θ_D L_D‖")
    ax_norm.semilogy(steps, _smooth(history["grad_norm_g"]), lw=1, label="‖∇θ_G L_G‖")
    ax_norm.set_ylabel("gradient norm")
    ax_norm.set_xlabel("training step")
    ax_norm.legend(fontsize=7)
    return save(fig, path)


def _smooth(values: np.ndarray, window: int = 25) -> np.ndarray:
    """A running mean over ``window`` steps (noisy per-step numbers made readable)."""
    if len(values) < 2 * window:
        return values
    kernel = np.ones(window) / window
    padded = np.concatenate([np.full(window - 1, values[0]), values])
    return np.convolve(padded, kernel, mode="valid")


def sample_grid(images: np.ndarray, image_shape, path, title: str | None = None) -> Path:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.imshow(_tile(np.asarray(images), image_shape), cmap="gray", vmin=-1, vmax=1)
    ax.axis("off")
    if title:
        ax.set_title(title)
    return save(fig, path)


def save_gif(snapshots: list[dict], data, path, real: np.ndarray | None = None, seconds_per_frame: float = 0.25) -> Path:
    """An animated GIF with one frame per snapshot."""
    if not snapshots:
        raise ValueError("save_gif needs at least one snapshot")
    images, xlim = [], _shared_xlim(snapshots)
    for shot in snapshots:
        fig, ax = plt.subplots(figsize=(5.2, 4.4))
        frame(ax, shot, data, real, xlim=xlim)
        fig.canvas.draw()
        images.append(Image.fromarray(np.asarray(fig.canvas.buffer_rgba())).convert("P", palette=Image.ADAPTIVE))
        plt.close(fig)
    path = Path(path)
    images[0].save(path, save_all=True, append_images=images[1:], duration=int(1000 * seconds_per_frame), loop=0)
    return path
