"""Every kind of picture is produced and is a real, non-blank image."""

import numpy as np
import pytest
from PIL import Image

from minigan import data, gan, plot, presets, probe


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
    assert shot["d"].shape == (60, 60) and shot["arrow"].shape == (64, 2)
    assert np.isfinite(shot["arrow"]).all() and np.abs(shot["arrow"]).sum() > 0
    real = model.data.sample(300, np.random.default_rng(0))
    assert_real_image(plot.frame_figure(shot, model.data, tmp_path / "frame.png", real=real))
    assert_real_image(plot.training_figure(snapshots, model.data, tmp_path / "training.png", real=real))
    assert_real_image(plot.save_gif(snapshots, model.data, tmp_path / "training.gif", real=real), frames=3)
    assert_real_image(plot.history_figure(history, tmp_path / "losses.png"))


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
