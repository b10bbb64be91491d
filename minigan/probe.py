"""Probing the model: what a picture of training needs, computed by the GAN side as host arrays.

``snapshot(gan, z)`` runs G on fixed noise z, D on a grid (or a line), and the gradient
-∂L_G/∂x that D sends back to each fake sample, and returns plain NumPy arrays. The
autodiff runs here, never in ``minigan.plot``, which only draws what a snapshot holds;
snapshots are small, so a run keeps them in its checkpoint and draws them again later.
"""

from __future__ import annotations

import numpy as np  # host side: a snapshot is made of NumPy arrays

from minigan import nn
from minigan.autograd import Tensor, grad, no_grad

__all__ = ["snapshot", "kind", "view"]


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


def snapshot(gan, z: Tensor, grid_points: int = 60, arrows: int = 64) -> dict:
    """What to draw of ``gan`` now, computed on the fixed noise ``z`` (host arrays only)."""
    what = kind(gan.data)
    with no_grad():
        fake = gan.G(z).numpy()
    shot = {"step": gan.step, "fake": fake}
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
        shot.update(grid_x=axes[0], grid_y=axes[1],
                    d=gan.discriminate(mesh).reshape(grid_points, grid_points), critic=gan.config.loss == "wgan_gp")
        at = gan.tensor(fake[:arrows], requires_grad=True)
        with nn.frozen(gan.D):  # the gradient G's samples receive, D itself held fixed
            (push,) = grad(gan.generator_loss(gan.D(at)) * len(fake[:arrows]), [at])
        shot.update(arrow_from=fake[:arrows], arrow=-push.numpy())
    return shot
