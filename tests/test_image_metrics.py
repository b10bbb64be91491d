"""The image measures on cases whose answer is known: a Parzen window against the kernel density
written out, the classifier score of one-hot predictions, the Fréchet distance of a set with itself
and between Gaussians, a two-sample test on equal and on different sets, and a planted copying
"generator" caught by the memorisation check."""

import numpy as np
import pytest

from minigan import image_metrics as im
from minigan import metrics

sklearn = pytest.importorskip("sklearn", reason="the classifier-based measures need scikit-learn (the 'demos' extra)")


def test_parzen_log_likelihood_is_the_kernel_density_of_the_samples():
    rng = np.random.default_rng(0)
    samples, images = rng.normal(size=(300, 5)), rng.normal(size=(40, 5))
    expected = metrics.kde(samples, bandwidth=0.7).log_pdf(images)  # one Gaussian N(s_i, σ²I) per sample
    np.testing.assert_allclose(im.parzen_log_likelihood(images, samples, 0.7), expected, rtol=1e-10)
    # far from every sample the log-mean-exp stays finite (no exp underflow to log 0)
    assert np.isfinite(im.parzen_log_likelihood(images + 1e3, samples, 0.1)).all()


def test_parzen_sigma_is_chosen_by_the_validation_images():
    rng = np.random.default_rng(1)
    samples = rng.normal(size=(200, 3))
    sigmas = [0.01, 0.1, 1.0, 10.0]
    on_the_samples, means = im.choose_parzen_sigma(samples[:50], samples, sigmas)  # each sits on a kernel
    assert on_the_samples == 0.01 and means.shape == (4,) and np.argmax(means) == 0
    far_away, _ = im.choose_parzen_sigma(samples[:50] + 30.0, samples, sigmas)
    assert far_away == 10.0
    same_distribution, _ = im.choose_parzen_sigma(rng.normal(size=(200, 3)), samples, sigmas)
    assert same_distribution in (0.1, 1.0)
    with pytest.raises(ValueError, match=r"validation images must be a non-empty array of shape \(n, 3\)"):
        im.choose_parzen_sigma(np.zeros((4, 2)), samples)


def test_classifier_score_of_one_hot_predictions_is_the_number_of_classes_used():
    assert im.classifier_score(np.eye(10)[np.arange(1000) % 10]) == pytest.approx(10.0)
    assert im.classifier_score(np.eye(10)[np.arange(1000) % 4]) == pytest.approx(4.0)
    assert im.classifier_score(np.full((50, 10), 0.1)) == pytest.approx(1.0)  # no image is sure of anything
    assert im.classifier_score(np.eye(10)[np.zeros(100, dtype=int)]) == pytest.approx(1.0)  # all one class
    with pytest.raises(ValueError, match="rows that sum to 1"):
        im.classifier_score(np.full((3, 10), 0.2))


def test_class_shares_count_the_most_probable_class():
    probabilities = np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.6, 0.3, 0.1], [0.2, 0.2, 0.6]])
    np.testing.assert_allclose(im.class_shares(probabilities), [0.5, 0.25, 0.25])


def test_frechet_distance_is_zero_for_a_set_with_itself_and_matches_the_gaussian_formula():
    rng = np.random.default_rng(2)
    a = rng.normal(size=(500, 8))
    assert abs(im.frechet_distance(a, a)) < 1e-9
    # N(0, I) against N(μ, 4I) in d = 4: ‖μ‖² + Tr(I + 4I - 2·2I) = ‖μ‖² + d
    mu = np.array([1.0, -2.0, 0.0, 0.5])
    x, y = rng.normal(size=(200_000, 4)), mu + 2.0 * rng.normal(size=(200_000, 4))
    assert im.frechet_distance(x, y) == pytest.approx((mu**2).sum() + 4, rel=0.01)
    assert im.frechet_distance(x[:, :1], y[:, :1]) == pytest.approx(1.0 + 1.0, rel=0.02)  # one feature
    with pytest.raises(ValueError, match=r"features_b must be a non-empty array of shape \(n, 4\)"):
        im.frechet_distance(x, y[:, :3])


def test_two_sample_accuracy_is_chance_for_one_distribution_and_high_for_two():
    rng = np.random.default_rng(3)
    real, same, shifted = rng.normal(size=(400, 10)), rng.normal(size=(400, 10)), rng.normal(1.0, 1, size=(400, 10))
    for classifier in ("knn", "logistic"):
        assert abs(im.two_sample_accuracy(real, same, classifier) - 0.5) < 0.08
        assert im.two_sample_accuracy(real, shifted, classifier) > 0.8
    with pytest.raises(ValueError, match="the same size"):
        im.two_sample_accuracy(real, same[:10])
    with pytest.raises(ValueError, match="unknown two-sample classifier 'svm'; known: knn, logistic"):
        im.two_sample_accuracy(real, same, "svm")


def test_a_generator_that_copies_its_training_images_is_caught():
    rng = np.random.default_rng(4)
    centres = rng.normal(size=(10, 50))
    def draw(n):  # images from one distribution: a centre plus noise
        return centres[rng.integers(0, 10, n)] + 0.5 * rng.normal(size=(n, 50))
    train, held_out = draw(2000), draw(300)
    honest = draw(300)
    copier = train[rng.integers(0, 2000, 300)] + 0.01 * rng.normal(size=(300, 50))
    real_distances, _ = im.nearest_neighbours(held_out, train)
    honest_distances, _ = im.nearest_neighbours(honest, train)
    copied_distances, nearest = im.nearest_neighbours(copier, train)
    assert np.median(copied_distances) < 0.1 * np.median(real_distances)  # caught
    assert np.median(honest_distances) == pytest.approx(np.median(real_distances), rel=0.1)  # not accused
    np.testing.assert_allclose(train[nearest], copier, atol=0.1)  # and the copied images are found


def test_the_digit_classifier_learns_separable_classes_and_gives_its_last_hidden_layer():
    rng = np.random.default_rng(5)
    centres = 3 * rng.normal(size=(3, 20))
    labels = rng.integers(0, 3, 600)
    images = centres[labels] + rng.normal(size=(600, 20))
    classifier = im.DigitClassifier.fit(images[:500], labels[:500], hidden=(32, 8))
    assert classifier.accuracy(images[500:], labels[500:]) > 0.95
    assert classifier.features(images[:7]).shape == (7, 8) and (classifier.features(images) >= 0).all()
    p = classifier.probabilities(images[:5])
    assert p.shape == (5, 3) and np.allclose(p.sum(axis=1), 1)
    with pytest.raises(ValueError, match=r"labels must have shape \(500,\)"):
        im.DigitClassifier.fit(images[:500], labels[:400])


def _small_real_images(train: int = 40, held_out: int = 20):
    rng = np.random.default_rng(0)
    images, labels = rng.normal(size=(train + held_out, 6)), np.arange(train + held_out) % 3
    return images, labels, im.RealImages.fit(images[:train], labels[:train], images[train:], labels[train:], epochs=2)


@pytest.mark.parametrize("call, message", [
    # labels that would broadcast against the predictions instead of matching them one to one
    (lambda x, y, real: real.classifier.accuracy(x, [1]), r"labels must have shape \(60,\)"),
    (lambda x, y, real: real.classifier.accuracy(x, y[:, None]), r"labels must have shape \(60,\)"),
    (lambda x, y, real: im.RealImages.fit(x[:40], y[:40], x[40:], y[40:45]), r"held_out_labels must have shape \(20,\)"),
    (lambda x, y, real: im.RealImages.fit(x[:40], y[:30], x[40:], y[40:]), r"train_labels must have shape \(40,\)"),
    # sets the measures cannot be computed on, refused rather than answered with NaN or garbage
    (lambda x, y, real: im.two_sample_accuracy(x[:3], x[3:6], folds=2), r"train on at least 5 images; 3 images a set in 2 folds leave 2"),
    (lambda x, y, real: im.two_sample_accuracy(x[:3], x[3:6], folds=4, classifier="logistic"), r"at least as many images in each set as folds"),
    (lambda x, y, real: im.two_sample_accuracy(x[:10], x[10:20], folds=1), r"folds ≥ 2"),
    (lambda x, y, real: im.parzen_log_likelihood([[1e60]], [[0.0]], 1e-100), r"sigma = 1e-100 is too small for distances"),
    (lambda x, y, real: im.nearest_neighbours(np.zeros((3, 0)), np.zeros((2, 0))), r"shape \(n, pixels\), got shape \(2, 0\)"),
    (lambda x, y, real: im.frechet_distance(np.ones((3, 2)) * 1j, x[:3, :2]), r"features_a must be real numbers"),
    (lambda x, y, real: im.classifier_score(None), r"probabilities must be real numbers, got NoneType"),
    (lambda x, y, real: im.frechet_distance(x[:3, :2] * 1e160, x[3:6, :2]), r"overflowed float64"),
    (lambda x, y, real: im.parzen_log_likelihood(np.full((2, 3), 1e200), np.zeros((2, 3)), 1.0), r"too large"),
    (lambda x, y, real: im.parzen_log_likelihood(x[:2], x[2:4], 1e-200), r"sigma must be between"),
    (lambda x, y, real: im.choose_parzen_sigma(x[:2], x[2:4], []), r"sigmas must be a non-empty list"),
    (lambda x, y, real: im.choose_parzen_sigma(x[:2], x[2:4], "0.5"), r"sigmas must be a non-empty list"),
    (lambda x, y, real: im.choose_parzen_sigma(x[:2], x[2:4], 0.5), r"sigmas must be a non-empty list"),
    (lambda x, y, real: im.real_baselines(im.RealImages.fit(x[:10], y[:10], x[10:30], y[10:30], epochs=2), parzen=False),
     r"needs at least 20 training images, got 10"),
    (lambda x, y, real: im.real_baselines(real, kmeans_centres=41), r"kmeans_centres must be at most the 40"),
    (lambda x, y, real: im.classifier_score([[0.5, 0.4], [0.5, 0.5]]), r"row 0 sums to 0.9"),
])
def test_bad_inputs_of_the_image_measures_are_refused_in_one_line_naming_them(call, message):
    images, labels, real = _small_real_images()
    with pytest.raises(ValueError, match=message):
        call(images, labels, real)


def test_probabilities_rounded_to_float16_are_accepted_and_a_set_scores_zero_distance_to_itself():
    p = np.array([[0.9, 0.1], [0.2, 0.8]], dtype=np.float16)  # each row sums to 1 only within float16's rounding
    assert im.classifier_score(p) == pytest.approx(im.classifier_score(np.array([[0.9, 0.1], [0.2, 0.8]])), rel=1e-3)
    features = np.random.default_rng(0).normal(size=(100, 64))  # rounding alone would give -5.7e-14 here
    assert im.frechet_distance(features, features) == 0.0  # never a negative squared distance
    images = np.random.default_rng(1).normal(size=(8, 3))  # small sets the test can take: logistic 4 a set in 2 folds,
    assert 0 <= im.two_sample_accuracy(images[:4], images[4:], folds=2, classifier="logistic") <= 1
    assert 0 <= im.two_sample_accuracy(images[:4], images[4:], folds=4) <= 1  # kNN: each fold trains on 6
