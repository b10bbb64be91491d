"""Every kind of picture is produced and is a real, non-blank image."""

import numpy as np
import pytest
from PIL import Image

from minigan import data, gan
from minigan.app import plot, presets, probe
from minigan.autograd import no_grad


def assert_real_image(path, frames: int | None = 1):
    """A readable picture of a decent size, not a single flat colour (and ``frames`` frames, if given)."""
    with Image.open(path) as image:
        assert image.size[0] > 100 and image.size[1] > 100
        if frames is not None:
            assert getattr(image, "n_frames", 1) == frames
        colours = image.convert("RGB").getcolors(maxcolors=1_000_000)
        assert colours is None or len(colours) > 10, f"{path} looks blank"


def _trained_snapshots(name, tmp_steps=30, shots=3, **overrides):
    model, _ = presets.build(name, seed=0, **overrides)
    z = model.tensor(np.random.default_rng(1).standard_normal((256, model.config.latent_dim)))
    history = gan.History()
    snapshots = []
    for _ in range(shots):
        snapshots.append(probe.snapshot(model, z))
        model.train(tmp_steps, history=history)
    return model, snapshots, history


@pytest.mark.parametrize("loss", ["non_saturating", "wgan_gp"])
def test_2d_frames_show_real_fake_d_surface_and_arrows(tmp_path, loss):
    model, snapshots, history = _trained_snapshots("ring", loss=loss, batch_size=64)
    shot = snapshots[-1]
    assert shot["d"].shape == (150, 150) and shot["arrow"].shape == (256, 2)  # an arrow on every fake
    assert shot["manifold"].shape == (41, 41, 2) and np.isfinite(shot["manifold"]).all()
    assert np.isfinite(shot["arrow"]).all() and np.abs(shot["arrow"]).sum() > 0
    assert {"d_steps", "g_steps", "modes_covered", "high_quality", "js", "js_of_data"} <= set(shot)
    real = model.data.sample(300, np.random.default_rng(0))
    scale = plot.arrow_scale(snapshots)
    assert_real_image(plot.frame_figure(shot, model.data, tmp_path / "frame.png", real=real, scale=scale))
    assert_real_image(plot.training_figure(snapshots, model.data, tmp_path / "training.png", real=real))
    assert_real_image(plot.save_gif(snapshots, model.data, tmp_path / "training.gif", real=real), frames=3)
    evaluation = [{"step": s["step"], **probe.evaluate(model.data, s["fake"])} for s in snapshots]
    assert_real_image(plot.history_figure(history, tmp_path / "losses.png", evaluation=evaluation, loss=loss))


def test_the_manifold_is_g_on_a_regular_z_grid_of_equal_probability_cells():
    model, _ = presets.build("ring", seed=0)
    z = probe.latent_grid("normal", 2)
    assert z.shape == (41, 41, 2) and np.allclose(z[:, 0, 0], z[0, :, 1])  # the same ticks on both axes
    assert np.isclose(z[0, 0, 0], -2.3263, atol=1e-4) and np.isclose(z[20, 0, 0], 0.0)  # Φ⁻¹(0.01), Φ⁻¹(0.5)
    shot = probe.snapshot(model, model.tensor(np.zeros((4, 2))))
    with no_grad():
        image = model.G(model.tensor(z[7, 30][None])).numpy()[0]
    assert np.allclose(shot["manifold"][7, 30], image, atol=1e-6)
    assert probe.latent_grid("uniform", 1).shape == (41, 1) and probe.latent_grid("uniform", 5)[..., 2:].max() == 0


def test_one_arrow_scale_for_a_run_is_set_by_its_longest_arrows():
    shots = [{"grid_x": np.linspace(-1, 1, 5), "arrow": np.full((100, 2), length / np.sqrt(2))} for length in (1, 4)]
    assert plot.arrow_scale(shots) == pytest.approx(0.1 * 2 / 4)  # 10% of the width for the longest
    assert plot.arrow_scale(shots[:1]) == pytest.approx(0.1 * 2 / 1)


def test_frame_titles_carry_the_runs_numbers():
    shot = {"step": 7, "d_steps": 21, "g_steps": 7, "modes_covered": 6, "n_modes": 8, "high_quality": 0.5, "js": 0.25}
    assert plot.frame_title(shot) == "step 7 (D-steps 21, G-steps 7)\nmodes 6/8, high quality 50%, JSD 0.250"


def test_1d_figure_with_d_and_d_star(tmp_path):
    model, snapshots, _ = _trained_snapshots("gaussian")
    assert snapshots[0]["d"].shape == (400,)
    assert_real_image(plot.training_figure(snapshots, model.data, tmp_path / "training.png"))
    assert_real_image(plot.save_gif(snapshots, model.data, tmp_path / "training.gif"), frames=3)


def test_image_sample_grids(tmp_path):
    images = data.ArrayDataset(np.random.default_rng(0).uniform(-1, 1, (50, 64)), image_shape=(8, 8))
    assert_real_image(plot.sample_grid(images.samples[:36], (8, 8), tmp_path / "grid.png", title="samples"))
    shots = [{"step": s, "fake": images.samples[:16] * (s / 2)} for s in range(3)]
    assert_real_image(plot.save_gif(shots, images, tmp_path / "grids.gif"), frames=3)


def test_save_gif_needs_snapshots(tmp_path):
    with pytest.raises(ValueError, match="at least one snapshot"):
        plot.save_gif([], data.ring(), tmp_path / "empty.gif")


@pytest.mark.parametrize("latent_dim", [1, 3])
def test_the_manifold_is_a_curve_for_1d_noise_and_a_slice_for_more(tmp_path, latent_dim):
    model, _ = presets.build("ring", seed=0, latent_dim=latent_dim)
    shot = probe.snapshot(model, model.sample_noise(64, np.random.default_rng(0)))
    assert shot["manifold"].shape == ((41, 2) if latent_dim == 1 else (41, 41, 2))
    assert_real_image(plot.frame_figure(shot, model.data, tmp_path / "frame.png"))


def test_a_2d_frame_shows_both_real_and_fake_samples_above_a_faint_manifold_with_labelled_axes():
    """Where G is right its samples sit on the real ones: the fakes are drawn above the real
    samples, translucent, so both show; the manifold's long lines stay beneath both, and light."""
    model, snapshots, _ = _trained_snapshots("ring", shots=1, batch_size=64)
    fig, ax = plot.subplots()
    artists = plot.frame(ax, snapshots[-1], model.data, real=model.data.sample(300, np.random.default_rng(0)))
    real, fake, manifold = artists["real"], artists["fake"], artists["manifold"]
    assert manifold.get_zorder() < real.get_zorder() < fake.get_zorder() < artists["arrows"].get_zorder()
    assert fake.get_alpha() < 0.7 and manifold.get_alpha() <= 0.35
    assert fake.get_sizes()[0] > real.get_sizes()[0]  # a fake is larger than the real sample it covers
    assert ax.get_xlabel() and ax.get_ylabel()


def test_the_jsd_of_a_g_sharper_than_the_data_is_not_scored_below_the_data_themselves():
    """The chart compares G's JSD estimate with the same estimate for samples of p_data. Blurring
    only G's side with the estimate's kernel made a G whose modes are narrower than the data's
    score better than the data; both sides are now seen through the same kernel."""
    ring = data.ring()
    sharper = data.GaussianMixture(ring.means, 0.5 * ring.stds).sample(512, np.random.default_rng(3))
    numbers = probe.evaluate(ring, sharper)
    assert numbers["js"] > numbers["js_of_data"]
    assert numbers["js_of_data"] < 0.02  # the floor that the number of samples sets
    far = ring.sample(512, np.random.default_rng(4)) + 10.0
    assert probe.evaluate(ring, far)["js"] == pytest.approx(np.log(2), abs=1e-3)
