"""The theory of the GAN game, computed for densities known in closed form.

For a fixed G, the discriminator that maximises
    V(G, D) = E_{x~p_data}[ln D(x)] + E_{x~p_g}[ln(1 - D(x))]
is, pointwise (the maximum of a ln y + b ln(1 - y) is at y = a / (a + b)):

    D*(x) = p_data(x) / (p_data(x) + p_g(x))          (Goodfellow et al. 2014, Proposition 1)

and at that optimum the game's value is a divergence in disguise:

    C(G) = V(G, D*) = -ln 4 + 2 · JSD(p_data ‖ p_g)    (Goodfellow et al. 2014, Theorem 1)

so C(G) ≥ -ln 4 with equality exactly when p_g = p_data (then D* = ½ everywhere).

The integrals are computed on a grid (trapezoid rule) from log-densities, so the
tails, where p underflows to 0 but ln p is still a finite number, cause no trouble.
Everything here is host-side NumPy. A distribution needs ``log_pdf`` and ``dim`` (and
``pdf``); ``grid_for`` also reads its components' ``means`` and ``stds`` to place the grid
(a ``minigan.data.GaussianMixture`` has all of them).
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "Grid", "grid_for", "optimal_discriminator", "kl_divergence", "js_divergence",
    "value_at_optimum", "kl_normal",
]

LOG4 = math.log(4.0)


class Grid:
    """Quadrature points (n, dim) and their trapezoid weights: ∫ f ≈ Σ wᵢ f(xᵢ)."""

    def __init__(self, lows, highs, points_per_axis: int):
        axes, axis_weights = [], []
        for low, high in zip(lows, highs):
            ticks = np.linspace(low, high, points_per_axis)
            w = np.full(points_per_axis, ticks[1] - ticks[0])
            w[[0, -1]] /= 2
            axes.append(ticks)
            axis_weights.append(w)
        mesh = np.meshgrid(*axes, indexing="ij")
        self.axes = axes
        self.points = np.stack([m.ravel() for m in mesh], axis=1)
        self.weights = np.ones(len(self.points))
        for w in np.meshgrid(*axis_weights, indexing="ij"):
            self.weights *= w.ravel()

    def integrate(self, values: np.ndarray) -> float:
        return float(self.weights @ values)


def grid_for(*distributions, points_per_axis: int | None = None, reach: float = 12.0) -> Grid:
    """A grid that covers every component of the distributions to ``reach`` standard deviations."""
    dim = distributions[0].dim
    lows = np.min([(d.means - reach * d.stds[:, None]).min(axis=0) for d in distributions], axis=0)
    highs = np.max([(d.means + reach * d.stds[:, None]).max(axis=0) for d in distributions], axis=0)
    if points_per_axis is None:
        points_per_axis = 20001 if dim == 1 else 801
    return Grid(lows, highs, points_per_axis)


def _log_ratio(p_data, p_g, x) -> np.ndarray:
    return p_data.log_pdf(x) - p_g.log_pdf(x)


def optimal_discriminator(p_data, p_g, x) -> np.ndarray:
    """D*(x) = p_data / (p_data + p_g) = σ(ln p_data(x) - ln p_g(x))."""
    r = _log_ratio(p_data, p_g, x)
    return np.exp(-np.logaddexp(0.0, -r))


def kl_divergence(p, q, grid: Grid | None = None) -> float:
    """KL(p ‖ q) = ∫ p (ln p - ln q): the expected extra nats to code p with q's code."""
    grid = grid or grid_for(p, q)
    log_p = p.log_pdf(grid.points)
    return grid.integrate(np.exp(log_p) * (log_p - q.log_pdf(grid.points)))


def js_divergence(p, q, grid: Grid | None = None) -> float:
    """JSD(p ‖ q) = ½ KL(p ‖ m) + ½ KL(q ‖ m), m = (p + q)/2: symmetric, between 0 and ln 2."""
    grid = grid or grid_for(p, q)
    log_p, log_q = p.log_pdf(grid.points), q.log_pdf(grid.points)
    log_m = np.logaddexp(log_p, log_q) - math.log(2.0)
    return grid.integrate(0.5 * np.exp(log_p) * (log_p - log_m) + 0.5 * np.exp(log_q) * (log_q - log_m))


def value_at_optimum(p_data, p_g, grid: Grid | None = None) -> float:
    """C(G) = V(G, D*) = ∫ p_data ln D* + p_g ln(1 - D*), integrated directly (not via the JSD)."""
    grid = grid or grid_for(p_data, p_g)
    r = _log_ratio(p_data, p_g, grid.points)
    log_d = -np.logaddexp(0.0, -r)  # ln σ(r)
    log_one_minus_d = -np.logaddexp(0.0, r)  # ln σ(-r)
    integrand = p_data.pdf(grid.points) * log_d + p_g.pdf(grid.points) * log_one_minus_d
    return grid.integrate(integrand)


def kl_normal(mean_p: float, std_p: float, mean_q: float, std_q: float) -> float:
    """KL(N(μp, σp²) ‖ N(μq, σq²)) = ln(σq/σp) + (σp² + (μp - μq)²) / (2σq²) - ½, in closed form."""
    return math.log(std_q / std_p) + (std_p**2 + (mean_p - mean_q) ** 2) / (2 * std_q**2) - 0.5
