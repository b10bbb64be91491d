"""GAN Lab's data sets (two Gaussians, disjoint, line) and a drawn distribution, as exact densities."""

from statistics import NormalDist

import numpy as np
import pytest

from minigan import data, theory


def test_two_gaussians_samples_have_each_components_spread_per_axis():
    mixture = data.two_gaussians()
    samples = mixture.sample(200_000, np.random.default_rng(0))
    upright = samples[samples[:, 0] > 0.55]  # the component at (0.7, 0.4): σ 0.05 across, 0.2 up
    assert upright.mean(axis=0) == pytest.approx([0.7, 0.4], abs=0.01)
    assert upright[:, 0].std() == pytest.approx(0.05, rel=0.05) and upright[:, 1].std() == pytest.approx(0.2, rel=0.05)
    assert mixture.std == pytest.approx(samples.std(axis=0), rel=0.01)  # the mixture's own spread, from its formula


@pytest.mark.parametrize("name", ["two_gaussians", "disjoint", "line"])
def test_each_density_integrates_to_one_and_matches_its_samples(name):
    mixture = data.make(name)
    assert name in data.TOY
    low = (mixture.means - 6 * mixture.stds[:, None]).min(axis=0)  # 6σ around every component
    high = (mixture.means + 6 * mixture.stds[:, None]).max(axis=0)
    step = mixture.axis_stds.min() / 4
    x, y = np.meshgrid(*(np.arange(low[i], high[i], step) for i in range(2)))
    density = mixture.pdf(np.stack([x.ravel(), y.ravel()], axis=1))
    cell = step**2
    assert density.sum() * cell == pytest.approx(1.0, abs=2e-3)
    # the mean of log p over samples is -entropy; against the grid's own -∫ p log p
    samples = mixture.sample(50_000, np.random.default_rng(1))
    with np.errstate(divide="ignore", invalid="ignore"):
        grid_value = np.nansum(np.where(density > 0, density * np.log(density), 0.0)) * cell
    assert mixture.log_pdf(samples).mean() == pytest.approx(grid_value, abs=0.05)


def test_the_line_is_gan_labs_uniform_point_plus_noise():
    """Against the exact density of a uniform point on the segment plus N(0, 0.01² I)."""
    start, end = np.array([0.8, 0.6]), np.array([0.05, 0.9])
    length = np.linalg.norm(end - start)
    along, across = (end - start) / length, np.array([-(end - start)[1], (end - start)[0]]) / length
    rng = np.random.default_rng(2)
    x = start + rng.uniform(-0.1, 1.1, (4000, 1)) * (end - start) + rng.normal(0, 0.02, (4000, 2))
    t, d = (x - start) @ along, (x - start) @ across
    phi = np.vectorize(NormalDist().cdf)
    along_density = (phi((length - t) / 0.01) - phi(-t / 0.01)) / length  # the uniform point, blurred along
    exact = along_density * np.exp(-0.5 * (d / 0.01) ** 2) / (np.sqrt(2 * np.pi) * 0.01)
    assert np.abs(data.line().pdf(x) - exact).max() <= 5e-4 * exact.max()


def test_a_drawing_is_its_points_plus_noise_and_refuses_an_empty_one():
    strokes = np.array([[0.2, 0.2], [0.25, 0.3], [0.8, 0.5]])
    drawing = data.drawn(strokes)
    assert drawing.means.tolist() == strokes.tolist() and drawing.stds.tolist() == [0.02] * 3
    samples = drawing.sample(30_000, np.random.default_rng(3))
    nearest = np.argmin(((samples[:, None] - strokes[None]) ** 2).sum(axis=2), axis=1)
    assert np.bincount(nearest) / len(samples) == pytest.approx([1 / 3] * 3, abs=0.02)
    with pytest.raises(ValueError, match="at least one point"):
        data.drawn(np.zeros((0, 2)))


def test_per_axis_spreads_of_the_wrong_shape_are_refused():
    with pytest.raises(ValueError, match=r"shape \(2, 2\)"):
        data.GaussianMixture([[0, 0], [1, 1]], [[0.1, 0.1, 0.1]] * 2)


def test_d_star_for_two_gaussians_uses_each_axis_spread():
    """theory.optimal_discriminator on the elongated component equals the formula written out."""
    p_data, p_g = data.two_gaussians(), data.GaussianMixture([[0.5, 0.5]], 0.2)
    x = np.array([[0.7, 0.6], [0.3, 0.7], [0.5, 0.1]])

    def normal(x, mean, sx, sy):
        squared = ((x[:, 0] - mean[0]) / sx) ** 2 + ((x[:, 1] - mean[1]) / sy) ** 2
        return np.exp(-0.5 * squared) / (2 * np.pi * sx * sy)

    p = 0.5 * normal(x, (0.3, 0.7), 0.1, 0.1) + 0.5 * normal(x, (0.7, 0.4), 0.05, 0.2)
    q = normal(x, (0.5, 0.5), 0.2, 0.2)
    assert theory.optimal_discriminator(p_data, p_g, x) == pytest.approx(p / (p + q), rel=1e-12)
