"""Probing the model: what a picture of training needs, computed by the GAN side as host arrays.

``snapshot(gan, z)`` runs G on fixed noise z, D on a grid (or a line), and the gradient
-∂L_G/∂x that D sends back to each fake sample, and returns plain NumPy arrays. The
autodiff runs here, never in ``minigan.app.plot``, which only draws what a snapshot holds;
snapshots are small, so a run keeps them in its checkpoint and draws them again later.

For 2-D data a snapshot holds the views of GAN Lab (Kahng et al. 2018): D's output on a
fine grid (the heat map), real and fake samples, the arrows -∂L_G/∂x, and G's manifold,
the image under G of a regular grid of z (a warped mesh: where it is stretched, G
spreads its probability thin; where it folds, G maps many z to one place). With
latent_dim 2 that mesh is all of G; with latent_dim 1 G's image is a curve, drawn as
one; with more, the mesh is a slice, G on the plane of z's first two coordinates with
the others 0. ``evaluate`` gives the numbers a frame's title carries.
"""

from __future__ import annotations

from statistics import NormalDist

import numpy as np  # host side: a snapshot is made of NumPy arrays

from minigan import data as datasets
from minigan import metrics, nn
from minigan.autograd import Tensor, grad, no_grad
from minigan.guard import DivergenceError

__all__ = ["snapshot", "evaluate", "kind", "view", "latent_grid"]


def kind(data) -> str:
    if getattr(data, "image_shape", None) is not None:
        return "images"
    return {1: "1d", 2: "2d"}.get(data.dim, "other")


def view(data) -> tuple[np.ndarray, np.ndarray]:
    """Low and high corners of the region to draw: the data's spread, padded."""
    if hasattr(data, "means"):
        low = (data.means - 4 * data.stds[:, None]).min(axis=0)
        high = (data.means + 4 * data.stds[:, None]).max(axis=0)
    else:
        low, high = data.samples.min(axis=0), data.samples.max(axis=0)
    pad = 0.15 * (high - low)
    return low - pad, high + pad


def latent_grid(noise: str, latent_dim: int, points: int = 41) -> np.ndarray:
    """A regular grid of z, shape (points, points, latent_dim) (or (points, 1) for latent_dim 1).

    Its ticks are p_z's quantiles at 1%, ..., 99%, evenly spaced in probability, so every
    cell of the mesh carries the same share of p_z (for 'uniform' that is an even grid on
    [-0.98, 0.98]). With latent_dim > 2, coordinates beyond the second are 0.
    """
    levels = np.linspace(0.01, 0.99, points)
    ticks = (np.array([NormalDist().inv_cdf(q) for q in levels]) if noise == "normal" else 2 * levels - 1)
    if latent_dim == 1:
        return ticks[:, None]
    z = np.zeros((points, points, latent_dim))
    z[..., 0], z[..., 1] = np.meshgrid(ticks, ticks, indexing="ij")
    return z


def evaluate(data, fake: np.ndarray) -> dict:
    """Numbers about G's samples ``fake`` (2-D and 1-D mixtures; {} for other data).

    2-D: modes covered and high-quality fraction (``metrics.mode_coverage``), the JSD
    between p_data and p_g both seen through the same Gaussian kernel k (p_data * k against
    ``metrics.js_monte_carlo``'s estimate of p_g * k from G's samples, kernel width the
    modes' spread) and, for reference, that estimate for as many samples of p_data itself,
    the floor set by the number of samples (what a perfect G would score). Blurring only G's
    side would score a G whose modes are narrower than the data's better than the data
    themselves. 1-D: G's mean, spread and JSD.
    """
    if isinstance(data, datasets.GaussianMixture) and data.dim == 2:
        coverage = metrics.mode_coverage(fake, data)
        perfect = data.sample(len(fake), np.random.default_rng(1))
        width = float(data.stds.min())  # js_monte_carlo's kernel
        seen_through_kernel = datasets.GaussianMixture(data.means, np.sqrt(data.stds**2 + width**2), data.weights,
                                                       name=f"{data.name}, blurred")
        return {"modes_covered": coverage.modes_covered, "n_modes": coverage.n_modes,
                "high_quality": round(coverage.high_quality_fraction, 4),
                "js": round(metrics.js_monte_carlo(fake, seen_through_kernel, bandwidth=width), 4),
                "js_of_data": round(metrics.js_monte_carlo(perfect, seen_through_kernel, bandwidth=width), 4)}
    if isinstance(data, datasets.GaussianMixture) and data.dim == 1 and np.ptp(fake) > 0:
        return {"g_mean": float(fake.mean()), "g_std": float(fake.std()), "jsd": metrics.js_from_samples(fake, data)}
    return {}


def snapshot(gan, z: Tensor, grid_points: int = 150) -> dict:
    """What to draw of ``gan`` now, computed on the fixed noise ``z`` (host arrays only).

    Every snapshot records the run's counters (``step``: training steps; ``d_steps``,
    ``g_steps``: updates of D and of G) and the numbers of ``evaluate``.
    """
    what = kind(gan.data)
    with no_grad(), gan.sampling_generator() as G:  # the G that makes the samples (θ̄_G if averaged)
        fake = G(z).numpy()
    if not np.isfinite(fake).all():  # finite weights so large that G(z) overflows: the guard checks θ, not G(z)
        raise DivergenceError(gan.step, "a sample of G", fake[~np.isfinite(fake)][0], undone=False)
    shot = {"step": gan.step, "d_steps": gan.d_steps, "g_steps": gan.g_steps, "fake": fake,
            **evaluate(gan.data, fake)}
    if what == "1d":  # the line must show p_data and wherever G's samples are now
        low, high = view(gan.data)
        spread = np.quantile(fake, [0.005, 0.995])
        low, high = min(low[0], spread[0] - 0.5), max(high[0], spread[1] + 0.5)
        x = np.linspace(low, high, 400)[:, None]
        shot.update(x=x, d=gan.discriminate(x))
    elif what == "2d":
        low, high = view(gan.data)
        axes = [np.linspace(low[i], high[i], grid_points) for i in range(2)]
        mesh = np.stack(np.meshgrid(*axes), axis=-1).reshape(-1, 2)
        shot.update(grid_x=axes[0], grid_y=axes[1], critic=gan.config.loss == "wgan_gp",
                    d=gan.discriminate(mesh).reshape(grid_points, grid_points))
        shot.update(manifold=_manifold(gan), latent_dim=gan.config.latent_dim, arrow_from=fake, arrow=-_generator_gradient(gan, fake))
    return shot


def _manifold(gan) -> np.ndarray:
    """G on ``latent_grid``: shape (points, points, 2), or (points, 2), a curve, for latent_dim 1."""
    z = latent_grid(gan.config.noise, gan.config.latent_dim)
    with no_grad(), gan.sampling_generator() as G:  # the G whose samples the frame shows
        image = G(gan.tensor(z.reshape(-1, gan.config.latent_dim))).numpy()
    return image.reshape(*z.shape[:-1], 2)


def _generator_gradient(gan, fake: np.ndarray) -> np.ndarray:
    """∂L_G/∂x at each fake sample x: the gradient of that sample's own term of L_G, D fixed."""
    at = gan.tensor(fake, requires_grad=True)
    with nn.frozen(gan.D), nn.evaluating(gan.D):  # the gradient G's samples receive, D itself held fixed
        (push,) = grad(gan.generator_loss(gan.D(at)) * len(fake), [at])
    return push.numpy()
