"""How good is G? Measures computed from its samples (host-side NumPy).

- ``mode_coverage``: for a mixture with known centres (the ring, the grid), how many
  modes G reaches and what fraction of its samples are high quality. Definitions of
  VEEGAN (Srivastava et al. 2017), also used by PacGAN (Lin et al. 2018): a sample is
  *high quality* if it lies within 3 standard deviations of the centre of its nearest
  mode; a mode is *covered* if it is the nearest mode of at least one high-quality
  sample (``min_samples`` raises that bar). ``reverse_kl``: PacGAN's (Lin et al. 2018,
  Table 1) third measure, KL(p̂ ‖ uniform) of the histogram p̂ of high-quality samples
  over the modes (see ``ModeCoverage.reverse_kl``).
- ``mmd``: maximum mean discrepancy with a Gaussian kernel, between two sample sets.
- ``kde``, ``js_from_samples``, ``kl_from_samples``: for 1-D data, a kernel density
  estimate of p_g from G's samples, then the divergences of ``minigan.theory``.
- ``js_monte_carlo``: for data of any dimension whose density is known (the 2-D ring and
  grid), JSD(p_data ‖ p̂_g) by Monte Carlo, p̂_g a kernel density estimate of G's samples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from minigan import theory, validate
from minigan.data import GaussianMixture
from minigan.rng import resolve

__all__ = ["ModeCoverage", "mode_coverage", "mmd", "kde", "js_from_samples", "kl_from_samples",
           "js_monte_carlo"]


def _samples(samples, dim: int, what: str = "samples") -> np.ndarray:
    try:
        samples = np.asarray(samples, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{what} must be numbers of shape (n, {dim}), got {type(samples).__name__}") from None
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

    @property
    def reverse_kl(self) -> float:
        """KL(p̂ ‖ p) = Σ_k p̂_k log(p̂_k / p_k), p̂ the high-quality samples' histogram over the modes.

        p is the data's uniform distribution over its K modes (p_k = 1/K). Missing modes
        (p̂_k = 0) add 0 (0 log 0 = 0), so it measures how unevenly G spreads over the modes
        it reaches; a G on one mode scores log K. This is PacGAN's measure (Lin et al.
        2018, Table 1): its public code (fjxmlzn/PacGAN, ``pacgan/extensions.py``) counts
        only samples within 3σ of their nearest mode and skips p̂_k = 0 terms. With no
        high-quality sample at all the histogram is undefined: inf.
        """
        total = self.high_quality_per_mode.sum()
        if total == 0:
            return float("inf")
        p_hat = self.high_quality_per_mode[self.high_quality_per_mode > 0] / total
        return float((p_hat * np.log(p_hat * self.n_modes)).sum())

    def __str__(self) -> str:
        return (f"{self.modes_covered}/{self.n_modes} modes covered, "
                f"{100 * self.high_quality_fraction:.1f}% high-quality samples, "
                f"reverse KL {self.reverse_kl:.3f}")


def mode_coverage(samples, mixture: GaussianMixture, n_std: float = 3.0, min_samples: int = 1) -> ModeCoverage:
    """Modes covered and high-quality fraction (VEEGAN's definitions, see the module docstring)."""
    samples = _samples(samples, mixture.dim)
    n_std = validate.positive_number("n_std", n_std)
    min_samples = validate.positive_int("min_samples", min_samples)
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
    x = np.asarray(x, dtype=np.float64)
    x = _samples(x, x.shape[1] if x.ndim == 2 else 1, "x")
    y = _samples(y, x.shape[1], "y")
    if len(x) < 2 or len(y) < 2:
        raise ValueError("mmd needs at least two samples in each set")
    if bandwidth is None:
        pooled = np.concatenate([x, y])
        bandwidth = float(np.sqrt(np.median(_squared_distances(pooled, pooled))))
        if not bandwidth > 0 or (pooled == pooled[0]).all():
            raise ValueError("mmd: the median heuristic gives bandwidth 0 (most pooled samples coincide, e.g. "
                             "collapsed samples); pass bandwidth= the length scale that matters for your data")
    bandwidth = validate.positive_number("bandwidth", bandwidth)
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
    if bandwidth is not None:
        bandwidth = validate.positive_number("bandwidth", bandwidth)
    else:
        bandwidth = _scott_bandwidth(samples)
        if not bandwidth > 0:
            raise ValueError("kde: the samples are all identical, so no bandwidth can be estimated; pass one")
    return GaussianMixture(samples, bandwidth, name="kernel density estimate")


def _estimate_on_grid(samples, p_data, bandwidth, max_samples: int, rng, points: int = 4001):
    """p̂_g, a kernel density estimate of (at most ``max_samples`` of) G's 1-D samples, and a
    grid to integrate it with p_data. The grid spans p_data and the samples; the bandwidth
    is at least 4 grid spacings, so the grid resolves p̂_g even when G has collapsed to
    almost one point (at this resolution such a spike looks 4 spacings wide)."""
    if getattr(p_data, "dim", None) != 1:
        raise ValueError(f"divergences from samples are for 1-D data; p_data is {p_data!r}")
    samples = _subsample(samples, validate.positive_int("max_samples", max_samples), rng)
    h = _scott_bandwidth(samples) if bandwidth is None else validate.positive_number("bandwidth", bandwidth)
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
    rng = resolve(rng, np.random.default_rng(0))
    return samples[rng.choice(len(samples), max_samples, replace=False)]


def js_monte_carlo(samples, p_data: GaussianMixture, bandwidth: float | None = None, rng=None) -> float:
    """JSD(p_data ‖ p̂_g) in nats, by Monte Carlo over samples of both distributions.

    With M = (p_data + p̂_g)/2, JSD = ½ E_{x~p_data}[ln p_data/M] + ½ E_{x~p̂_g}[ln p̂_g/M]
    (Goodfellow et al. 2014: at the optimal D, the game's value is -ln 4 + 2·JSD).
    p̂_g is a Gaussian kernel density estimate of G's n samples with bandwidth h; both
    densities are known exactly, and both can be sampled: n fresh samples of p_data, and
    n samples of p̂_g (each of G's samples plus N(0, h²I) noise), from ``rng`` (default
    seed 0, so a picture's number does not change when drawn again). Default h: p_data's
    smallest component spread, its finest detail (Scott's rule would blur the ring's
    modes, σ = 0.05, to h ≈ 0.5). Even for G = p_data the answer is not 0 but
    JSD(p_data ‖ p_data * N(0, h²I)), the price of the kernel's blur (0.054 for the ring).
    """
    samples = _samples(samples, p_data.dim)
    h = float(p_data.stds.min()) if bandwidth is None else float(bandwidth)
    if not h > 0:
        raise ValueError(f"js_monte_carlo: the bandwidth must be positive, got {bandwidth!r}")
    rng = resolve(rng, np.random.default_rng(0))
    real = p_data.sample(len(samples), rng)
    blurred = samples + h * rng.standard_normal(samples.shape)  # x ~ p̂_g

    def log_p_g(points) -> np.ndarray:
        log_kernels = -0.5 * _squared_distances(points, samples) / h**2 - 0.5 * p_data.dim * np.log(2 * np.pi * h**2)
        return np.logaddexp.reduce(log_kernels, axis=1) - np.log(len(samples))

    def mean_log_ratio(log_own, log_other) -> float:  # E[ln own/M], M = (own + other)/2
        return float(np.mean(np.log(2.0) + log_own - np.logaddexp(log_own, log_other)))

    on_real = mean_log_ratio(p_data.log_pdf(real), log_p_g(real))
    on_fake = mean_log_ratio(log_p_g(blurred), p_data.log_pdf(blurred))
    return 0.5 * (on_real + on_fake)
