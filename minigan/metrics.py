"""How good is G? Measures computed from its samples (host-side NumPy).

- ``mode_coverage``: for a mixture with known centres (the ring, the grid), how many
  modes G reaches and what fraction of its samples are high quality. Definitions of
  VEEGAN (Srivastava et al. 2017), also used by PacGAN (Lin et al. 2018): a sample is
  *high quality* if it lies within 3 standard deviations of the centre of its nearest
  mode; a mode is *covered* if it is the nearest mode of at least one high-quality
  sample (``min_samples`` raises that bar).
- ``mmd``: maximum mean discrepancy with a Gaussian kernel, between two sample sets.
- ``kde``, ``js_from_samples``, ``kl_from_samples``: for 1-D data, a kernel density
  estimate of p_g from G's samples, then the divergences of ``minigan.theory``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigan import theory
from minigan.data import GaussianMixture

__all__ = ["ModeCoverage", "mode_coverage", "mmd", "kde", "js_from_samples", "kl_from_samples"]


def _samples(samples, dim: int, what: str = "samples") -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 1 and dim == 1:
        samples = samples[:, None]
    if samples.ndim != 2 or samples.shape[1] != dim or len(samples) == 0:
        raise ValueError(f"{what} must have shape (n, {dim}) with n > 0, got {samples.shape}")
    if not np.isfinite(samples).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return samples


@dataclass
class ModeCoverage:
    modes_covered: int
    n_modes: int
    high_quality_fraction: float
    high_quality_per_mode: np.ndarray  # count of high-quality samples whose nearest mode is each mode

    def __str__(self) -> str:
        return (f"{self.modes_covered}/{self.n_modes} modes covered, "
                f"{100 * self.high_quality_fraction:.1f}% high-quality samples")


def mode_coverage(samples, mixture: GaussianMixture, n_std: float = 3.0, min_samples: int = 1) -> ModeCoverage:
    """Modes covered and high-quality fraction (VEEGAN's definitions, see the module docstring)."""
    samples = _samples(samples, mixture.dim)
    distances = np.sqrt(((samples[:, None, :] - mixture.means[None]) ** 2).sum(axis=2))  # (n, modes)
    nearest = distances.argmin(axis=1)
    high_quality = distances[np.arange(len(samples)), nearest] <= n_std * mixture.stds[nearest]
    per_mode = np.bincount(nearest[high_quality], minlength=len(mixture.means))
    return ModeCoverage(
        modes_covered=int((per_mode >= min_samples).sum()),
        n_modes=len(mixture.means),
        high_quality_fraction=float(high_quality.mean()),
        high_quality_per_mode=per_mode,
    )


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)


def mmd(x, y, bandwidth: float | None = None) -> float:
    """Unbiased estimate of MMD² = E k(x,x') + E k(y,y') - 2 E k(x,y), k(a,b) = exp(-‖a-b‖² / 2h²).

    0 in expectation when x and y come from one distribution. Without ``bandwidth``,
    h is the median distance between all pooled samples (the median heuristic).
    """
    x = np.asarray(x, dtype=np.float64).reshape(len(x), -1)
    y = _samples(y, x.shape[1], "y")
    x = _samples(x, x.shape[1], "x")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("mmd needs at least two samples in each set")
    if bandwidth is None:
        pooled = np.concatenate([x, y])
        bandwidth = float(np.sqrt(np.median(_squared_distances(pooled, pooled))))
    gamma = 1.0 / (2.0 * bandwidth**2)
    k_xx, k_yy, k_xy = (np.exp(-gamma * _squared_distances(a, b)) for a, b in ((x, x), (y, y), (x, y)))
    n, m = len(x), len(y)
    return float(
        (k_xx.sum() - np.trace(k_xx)) / (n * (n - 1))
        + (k_yy.sum() - np.trace(k_yy)) / (m * (m - 1))
        - 2.0 * k_xy.mean()
    )


def _scott_bandwidth(samples: np.ndarray) -> float:
    """Scott's rule: h = σ̂ · n^(-1/(d+4))."""
    n, dim = samples.shape
    return float(samples.std(axis=0).mean()) * n ** (-1.0 / (dim + 4))


def kde(samples, bandwidth: float | None = None) -> GaussianMixture:
    """A Gaussian kernel density estimate of the samples' distribution, as a mixture with one
    component per sample. Default bandwidth: Scott's rule h = σ̂ · n^(-1/(d+4))."""
    samples = np.asarray(samples, dtype=np.float64)
    samples = _samples(samples, 1 if samples.ndim == 1 else samples.shape[-1])
    bandwidth = _scott_bandwidth(samples) if bandwidth is None else bandwidth
    if not bandwidth > 0:
        raise ValueError("kde: the samples are all identical, so no bandwidth can be estimated; pass one")
    return GaussianMixture(samples, bandwidth, name="kernel density estimate")


def _estimate_on_grid(samples, p_data, bandwidth, max_samples: int, rng, points: int = 4001):
    """p̂_g, a kernel density estimate of (at most ``max_samples`` of) G's 1-D samples, and a
    grid to integrate it with p_data. The grid spans p_data and the samples; the bandwidth
    is at least 4 grid spacings, so the grid resolves p̂_g even when G has collapsed to
    almost one point (at this resolution such a spike looks 4 spacings wide)."""
    samples = _subsample(samples, max_samples, rng)
    h = _scott_bandwidth(samples) if bandwidth is None else bandwidth
    low = min(float((p_data.means - 12 * p_data.stds[:, None]).min()), float(samples.min()))
    high = max(float((p_data.means + 12 * p_data.stds[:, None]).max()), float(samples.max()))
    pad = 0.05 * (high - low) + 6 * h
    grid = theory.Grid([low - pad], [high + pad], points)
    spacing = (high - low + 2 * pad) / (points - 1)
    return kde(samples, max(h, 4 * spacing)), grid


def js_from_samples(samples, p_data, bandwidth: float | None = None, max_samples: int = 500, rng=None) -> float:
    """JSD(p_data ‖ p̂_g) with p̂_g a kernel density estimate of G's 1-D samples."""
    estimate, grid = _estimate_on_grid(samples, p_data, bandwidth, max_samples, rng)
    return theory.js_divergence(p_data, estimate, grid)


def kl_from_samples(samples, p_data, reverse: bool = False, bandwidth: float | None = None,
                    max_samples: int = 500, rng=None) -> float:
    """KL(p_data ‖ p̂_g), or with ``reverse`` KL(p̂_g ‖ p_data), p̂_g a KDE of G's 1-D samples."""
    estimate, grid = _estimate_on_grid(samples, p_data, bandwidth, max_samples, rng)
    return theory.kl_divergence(estimate, p_data, grid) if reverse else theory.kl_divergence(p_data, estimate, grid)


def _subsample(samples, max_samples: int, rng) -> np.ndarray:
    samples = np.asarray(samples, dtype=np.float64)
    if samples.ndim == 2 and samples.shape[1] != 1:
        raise ValueError(f"divergences from samples are for 1-D data; got samples of shape {samples.shape}")
    samples = _samples(samples, 1)
    if len(samples) <= max_samples:
        return samples
    rng = rng or np.random.default_rng(0)
    return samples[rng.choice(len(samples), max_samples, replace=False)]
