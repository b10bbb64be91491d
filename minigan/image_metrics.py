"""How good are G's images? The measures of the GAN paper and those of the field today (host NumPy).

Images are rows of pixels (n, pixels), for example G's samples and real images in [-1, 1].

As the GAN paper measured it (Goodfellow et al. 2014, Table 1):

- ``parzen_log_likelihood``: the log-likelihood of real images under a Gaussian kernel density
  of G's samples, p̂(x) = (1/n) Σ_i N(x; s_i, σ² I), σ chosen on a validation set
  (``choose_parzen_sigma``). Only a rough guide: Theis et al. (2016, "A note on the evaluation
  of generative models") show it can rank a poor model above a good one, e.g. the centres of a
  k-means clustering of the training set beat real images themselves.

As the field measures it now, in the features of a classifier trained on real images
(``DigitClassifier``; Salimans et al. 2016 and Heusel et al. 2017 used an Inception network):

- ``classifier_score``: exp E_x KL(p(y|x) ‖ p(y)), the Inception-score idea: high when each
  image is confidently one class and the classes are used evenly (at most the number of classes).
- ``frechet_distance``: the Fréchet distance between Gaussians fitted to two sets of features
  (FID's formula).
- ``class_shares``: the fraction of images the classifier puts in each class.
- ``two_sample_accuracy``: how well a classifier tells two sets apart (Lopez-Paz & Oquab 2017):
  0.5 when it cannot.
- ``nearest_neighbours``: each image's nearest training image, for the memorisation check.

``RealImages``, ``real_baselines`` and ``evaluate`` put them together: every measure of a set of
samples beside what real held-out images score (benchmarks/mnist_quality.py, demos/mnist.py).

scikit-learn (the 'demos' extra) is imported only by the functions that train a classifier.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from minigan import validate
from minigan.data import INSTALL_DEMOS

__all__ = ["parzen_log_likelihood", "choose_parzen_sigma", "PAPER_SIGMAS", "DigitClassifier", "classifier_score",
           "frechet_distance", "class_shares", "two_sample_accuracy", "nearest_neighbours", "to_unit_interval",
           "RealImages", "real_baselines", "evaluate"]


def _images(images, what: str, pixels: int | None = None) -> np.ndarray:
    images = validate.real_numbers(what, images)
    if images.ndim != 2 or 0 in images.shape or (pixels is not None and images.shape[1] != pixels):
        expected = "(n, pixels)" if pixels is None else f"(n, {pixels})"
        raise ValueError(f"{what} must be a non-empty array of shape {expected}, got shape {images.shape}")
    if not np.isfinite(images).all():
        raise ValueError(f"{what} contain NaN or infinite values")
    return images


def _labels(labels, n: int, what: str) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.shape != (n,):
        raise ValueError(f"{what} must have shape ({n},), one per image, got {labels.shape}")
    return labels


def _squared_distances(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """‖a_i - b_j‖² for every row a_i of ``a`` and b_j of ``b``, shape (len(a), len(b)).

    As ‖a_i‖² + ‖b_j‖² - 2 a_i·b_j (one matrix product): exact to about 1e-16 of ‖a_i‖²,
    plenty for pixels, not for points far from the origin and close to each other."""
    with np.errstate(over="ignore", invalid="ignore"):
        squared = np.maximum((a**2).sum(1)[:, None] + (b**2).sum(1)[None, :] - 2 * a @ b.T, 0.0)
    if not np.isfinite(squared).all():
        raise ValueError("the images' values are too large: their squared distances overflow float64")
    return squared


def _chunks(n: int, size: int = 500):
    return (slice(start, min(start + size, n)) for start in range(0, n, size))


# ----------------------------------------------------------------------------- the paper's measure

PAPER_SIGMAS = np.logspace(-1, 0, 10)  # the σ the GAN paper's Parzen script tried (pixels in [0, 1])
SIGMA_RANGE = (1e-100, 1e100)  # kernel widths whose σ² stays inside float64


def _parzen_from_squared(squared: np.ndarray, sigma: float, dim: int) -> np.ndarray:
    """ln p̂(x) per row of ``squared`` (‖x - s_i‖² for every sample s_i): a log-mean-exp of the kernels."""
    with np.errstate(over="ignore"):
        exponents = -0.5 * squared / sigma / sigma
    if not np.isfinite(exponents).all():
        raise ValueError(f"sigma = {sigma:g} is too small for distances this large: ‖x - s‖² / 2σ² overflows float64")
    top = exponents.max(axis=1)
    log_mean = top + np.log(np.exp(exponents - top[:, None]).mean(axis=1))
    return log_mean - dim * np.log(sigma * np.sqrt(2 * np.pi))


def _sigma(sigma) -> float:
    sigma = validate.positive_number("sigma", sigma)
    if not SIGMA_RANGE[0] <= sigma <= SIGMA_RANGE[1]:
        raise ValueError(f"sigma must be between {SIGMA_RANGE[0]:g} and {SIGMA_RANGE[1]:g}, got {sigma:g}")
    return sigma


def parzen_log_likelihood(images, samples, sigma: float) -> np.ndarray:
    """ln p̂(x) for each image x, p̂ the Gaussian kernel density of ``samples`` with width σ:

        ln p̂(x) = ln (1/n) Σ_i exp(-‖x - s_i‖² / 2σ²) - d ln(σ √(2π))

    (in nats; the mean over test images is the number of Table 1). Scaling pixels by c moves
    every value by d ln c: compare numbers only on the same pixel range ([0, 1] in the paper).
    """
    samples = _images(samples, "samples")
    images = _images(images, "images", samples.shape[1])
    sigma = _sigma(sigma)
    return np.concatenate([_parzen_from_squared(_squared_distances(images[rows], samples), sigma, samples.shape[1])
                           for rows in _chunks(len(images))])


def choose_parzen_sigma(validation, samples, sigmas=PAPER_SIGMAS) -> tuple[float, np.ndarray]:
    """The σ among ``sigmas`` that gives the validation images the highest mean log-likelihood,
    and that mean for every σ (the distances are computed once)."""
    samples = _images(samples, "samples")
    validation = _images(validation, "validation images", samples.shape[1])
    if isinstance(sigmas, (str, bytes)) or np.ndim(sigmas) != 1 or len(sigmas) == 0:
        raise ValueError(f"sigmas must be a non-empty list of positive numbers, got {validate.brief(sigmas)}")
    sigmas = [_sigma(s.item() if isinstance(s, np.generic) else s) for s in sigmas]
    totals = np.zeros(len(sigmas))
    for rows in _chunks(len(validation)):
        squared = _squared_distances(validation[rows], samples)
        totals += [_parzen_from_squared(squared, s, samples.shape[1]).sum() for s in sigmas]
    means = totals / len(validation)
    return sigmas[int(np.argmax(means))], means


# ----------------------------------------------------------------------------- a classifier of real images


def _sklearn(what: str):
    try:
        import sklearn  # noqa: F401
    except ImportError:
        raise ImportError(f"{what} needs scikit-learn, which is not installed; "
                          f"install it, {INSTALL_DEMOS}") from None


@dataclass
class DigitClassifier:
    """A classifier of real images (scikit-learn's multilayer perceptron, ReLU hidden layers),
    whose class probabilities give the classifier score and the class shares, and whose last
    hidden layer gives the features of the Fréchet distance."""

    model: object  # a fitted sklearn.neural_network.MLPClassifier

    @classmethod
    def fit(cls, images, labels, hidden=(256, 64), epochs: int = 60, seed: int = 0) -> DigitClassifier:
        """Train on real ``images`` (n, pixels) with their ``labels`` (n,) for ``epochs`` passes of Adam
        (on the 4,000 bundled MNIST training images: 94% right on the 1,000 held out)."""
        _sklearn("the digit classifier")
        from sklearn.exceptions import ConvergenceWarning
        from sklearn.neural_network import MLPClassifier

        images = _images(images, "images")
        labels = _labels(labels, len(images), "labels")
        model = MLPClassifier(hidden_layer_sizes=tuple(hidden), alpha=1e-3, random_state=validate.count("seed", seed),
                              max_iter=validate.positive_int("epochs", epochs))
        with warnings.catch_warnings():  # the number of epochs is chosen, not a sign of failure
            warnings.simplefilter("ignore", ConvergenceWarning)
            return cls(model.fit(images, labels))

    @property
    def classes(self) -> np.ndarray:
        return self.model.classes_

    def probabilities(self, images) -> np.ndarray:
        """p(y|x) for each image: shape (n, classes)."""
        return self.model.predict_proba(_images(images, "images", self.model.n_features_in_))

    def predict(self, images) -> np.ndarray:
        return self.classes[self.probabilities(images).argmax(axis=1)]

    def accuracy(self, images, labels) -> float:
        predicted = self.predict(images)
        return float((predicted == _labels(labels, len(predicted), "labels")).mean())

    def features(self, images) -> np.ndarray:
        """The activations of the last hidden layer: shape (n, hidden[-1])."""
        h = _images(images, "images", self.model.n_features_in_)
        for weights, bias in zip(self.model.coefs_[:-1], self.model.intercepts_[:-1]):
            h = np.maximum(h @ weights + bias, 0.0)
        return h


def _probabilities(probabilities) -> np.ndarray:
    p = _images(probabilities, "probabilities")
    # rounding of the given precision allowed (a float16 row of 0.9 and 0.1 sums to 0.99988)
    given = np.asarray(probabilities).dtype
    tolerance = max(1e-6, p.shape[1] * np.finfo(given).eps) if given.kind == "f" else 1e-6
    sums = p.sum(axis=1)
    bad = np.flatnonzero((p < 0).any(axis=1) | (np.abs(sums - 1.0) > tolerance))
    if len(bad):
        raise ValueError(f"probabilities must be non-negative rows that sum to 1, one row per image; "
                         f"row {bad[0]} sums to {sums[bad[0]]:.6g} and its smallest entry is {p[bad[0]].min():.3g}")
    return p


def classifier_score(probabilities) -> float:
    """exp E_x KL(p(y|x) ‖ p(y)), p(y) the mean of p(y|x) over the images (Salimans et al. 2016).

    Between 1 (every image gets the same p(y|x)) and the number of classes (each image
    certain of its class, all classes equally often). For real MNIST under a good classifier,
    a little below 10.
    """
    p = _probabilities(probabilities)
    marginal = p.mean(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):  # 0 log 0 = 0
        terms = np.where(p > 0, p * (np.log(p) - np.log(marginal)), 0.0)
    return float(np.exp(terms.sum(axis=1).mean()))


def class_shares(probabilities) -> np.ndarray:
    """The fraction of images whose most probable class is each class."""
    p = _probabilities(probabilities)
    return np.bincount(p.argmax(axis=1), minlength=p.shape[1]) / len(p)


def frechet_distance(features_a, features_b) -> float:
    """‖μ_a - μ_b‖² + Tr(Σ_a + Σ_b - 2 (Σ_a Σ_b)^½): the squared Fréchet (2-Wasserstein) distance
    between Gaussians fitted to two sets of features (FID's formula, Heusel et al. 2017).

    Tr (Σ_a Σ_b)^½ is the sum of the square roots of the eigenvalues of Σ_a^½ Σ_b Σ_a^½, a
    symmetric matrix, so only symmetric eigendecompositions are needed. Like FID it is biased
    upward for finite sets: compare distances only between sets of the same sizes.
    """
    a = _images(features_a, "features_a")
    b = _images(features_b, "features_b", a.shape[1])
    if len(a) < 2 or len(b) < 2:
        raise ValueError("frechet_distance needs at least two feature vectors in each set")
    with np.errstate(all="ignore"):  # an overflow is refused below, in one line
        mean_a, mean_b = a.mean(axis=0), b.mean(axis=0)
        cov_a, cov_b = (np.atleast_2d(np.cov(x, rowvar=False)) for x in (a, b))
        if not (np.isfinite(cov_a).all() and np.isfinite(cov_b).all()):
            raise ValueError("frechet_distance overflowed float64: the features are too large")
        values, vectors = np.linalg.eigh(cov_a)
        root_a = (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T
        cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cov_b @ root_a), 0, None)).sum()
        distance = float(((mean_a - mean_b) ** 2).sum() + np.trace(cov_a) + np.trace(cov_b) - 2 * cross)
    if not np.isfinite(distance):
        raise ValueError("frechet_distance overflowed float64: the features are too large")
    return max(distance, 0.0)  # a squared distance; rounding can leave -1e-14 for equal sets


# ----------------------------------------------------------------------------- telling sets apart, copying


def two_sample_accuracy(real, fake, classifier: str = "knn", folds: int = 5, seed: int = 0) -> float:
    """Cross-validated accuracy of a classifier trained to tell ``real`` from ``fake`` images
    (a classifier two-sample test, Lopez-Paz & Oquab 2017): 0.5 when the sets cannot be told
    apart, 1 when they always can. Both sets must have the same size, so 0.5 is chance.

    ``classifier``: 'knn' (5 nearest neighbours in pixel space) or 'logistic' (logistic
    regression on the pixels). Each fold trains on the others and scores the held-out fold.
    """
    _sklearn("the two-sample test")
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_score
    from sklearn.neighbors import KNeighborsClassifier

    real = _images(real, "real images")
    fake = _images(fake, "fake images", real.shape[1])
    if len(real) != len(fake):
        raise ValueError(f"the two sets must have the same size (0.5 is then chance), got {len(real)} and {len(fake)}")
    models = {"knn": lambda: KNeighborsClassifier(n_neighbors=5),
              "logistic": lambda: LogisticRegression(C=1.0, max_iter=2000)}
    model = validate.lookup(models, classifier, "two-sample classifier")()
    folds, n = validate.positive_int("folds", folds), len(real)
    if folds < 2 or n < folds:
        raise ValueError(f"the two-sample test needs folds ≥ 2 and at least as many images in each set as folds, "
                         f"got folds={folds} and {n} images")
    if classifier == "knn" and 2 * (n - math.ceil(n / folds)) < 5:  # the fewest images a fold trains on
        raise ValueError(f"the 5-nearest-neighbours test needs each fold to train on at least 5 images; "
                         f"{n} images a set in {folds} folds leave {2 * (n - math.ceil(n / folds))}")
    x = np.concatenate([real, fake])
    y = np.concatenate([np.ones(len(real)), np.zeros(len(fake))])
    split = StratifiedKFold(n_splits=folds, shuffle=True, random_state=validate.count("seed", seed))
    return float(cross_val_score(model, x, y, cv=split).mean())


def nearest_neighbours(images, reference) -> tuple[np.ndarray, np.ndarray]:
    """For each image, the Euclidean distance to its nearest row of ``reference`` and that row's index.

    The memorisation check: if G's samples sit much closer to their nearest training image
    than real images that were never trained on do, G is copying its training set.
    """
    reference = _images(reference, "reference images")
    images = _images(images, "images", reference.shape[1])
    distances, indices = np.empty(len(images)), np.empty(len(images), dtype=np.int64)
    for rows in _chunks(len(images)):
        squared = _squared_distances(images[rows], reference)
        indices[rows] = squared.argmin(axis=1)
        distances[rows] = np.sqrt(squared[np.arange(len(squared)), indices[rows]])
    return distances, indices


# ----------------------------------------------------------------------------- all of it, for a set of samples


def to_unit_interval(images) -> np.ndarray:
    """Pixels in [-1, 1] (minigan's images) -> [0, 1] (the GAN paper's, where its Parzen numbers live)."""
    return (np.asarray(images, dtype=np.float64) + 1.0) / 2.0


@dataclass
class RealImages:
    """Labelled real images split in two: ``train`` (what G and the classifier learn from) and
    ``held_out`` (never trained on: the yardstick), with the classifier fitted on ``train``.

    The held-out images are cut into halves A and B by alternate rows (the bundled held-out part
    lists its digits in order, so each half keeps the classes in the same proportions): the
    Parzen σ is chosen on A and the log-likelihood measured on B, and the Fréchet distance of
    A to B is what two real sets of that size score.
    """

    train: np.ndarray
    train_labels: np.ndarray
    held_out: np.ndarray
    held_out_labels: np.ndarray
    classifier: DigitClassifier

    @classmethod
    def fit(cls, train, train_labels, held_out, held_out_labels, epochs: int = 60, seed: int = 0) -> RealImages:
        """Fit the classifier on the training images (``epochs``: see ``DigitClassifier.fit``)."""
        train, held_out = _images(train, "training images"), _images(held_out, "held-out images", train.shape[1])
        return cls(train, _labels(train_labels, len(train), "train_labels"), held_out,
                   _labels(held_out_labels, len(held_out), "held_out_labels"),
                   DigitClassifier.fit(train, train_labels, epochs=epochs, seed=seed))

    @property
    def half_a(self) -> np.ndarray:
        return self.held_out[0::2]

    @property
    def half_b(self) -> np.ndarray:
        return self.held_out[1::2]


def _parzen(samples, real: RealImages) -> dict:
    """The paper's protocol on pixels in [0, 1]: σ from PAPER_SIGMAS on half A, the mean
    log-likelihood of half B and its standard error."""
    samples = to_unit_interval(samples)
    sigma, _ = choose_parzen_sigma(to_unit_interval(real.half_a), samples)
    values = parzen_log_likelihood(to_unit_interval(real.half_b), samples, sigma)
    return {"parzen": float(values.mean()), "parzen_se": float(values.std() / np.sqrt(len(values))),
            "parzen_sigma": sigma}


def real_baselines(real: RealImages, parzen: bool = True, kmeans_centres: int = 500, seed: int = 0) -> dict:
    """What real images score on every measure, and the Parzen window's reference "models".

    Classifier score, class shares and classifier accuracy of the held-out images; the
    Fréchet distance between the held-out halves A and B; the two-sample accuracy and the
    nearest-training-image distances of the held-out images (each against the training
    images). Parzen log-likelihoods of half B under three sets of "samples": the training
    images themselves, the centres of a k-means clustering of them (Theis et al. 2016), and
    one image, the mean training image (a trivial model); ``parzen=False`` skips these.
    """
    if len(real.train) < len(real.held_out):
        raise ValueError(f"real_baselines compares the held-out images with as many training images, so it needs at "
                         f"least {len(real.held_out)} training images, got {len(real.train)}")
    if parzen and validate.positive_int("kmeans_centres", kmeans_centres) > len(real.train):
        raise ValueError(f"kmeans_centres must be at most the {len(real.train)} training images, got {kmeans_centres}")
    held_probabilities = real.classifier.probabilities(real.held_out)
    distances, _ = nearest_neighbours(real.held_out, real.train)
    rng = np.random.default_rng(seed)
    train_sample = real.train[rng.choice(len(real.train), len(real.held_out), replace=False)]
    result = {
        "classifier_accuracy": real.classifier.accuracy(real.held_out, real.held_out_labels),
        "classifier_score": classifier_score(held_probabilities),
        "class_shares": class_shares(held_probabilities),
        "frechet": frechet_distance(*(real.classifier.features(half) for half in (real.half_a, real.half_b))),
        "two_sample_knn": two_sample_accuracy(real.held_out, train_sample, "knn", seed=seed),
        "two_sample_logistic": two_sample_accuracy(real.held_out, train_sample, "logistic", seed=seed),
        "nearest_median": float(np.median(distances)),
    }
    if parzen:
        from sklearn.cluster import KMeans

        centres = KMeans(n_clusters=kmeans_centres, n_init=1, random_state=seed).fit(real.train).cluster_centers_
        result.update(parzen_train=_parzen(real.train, real),
                      parzen_kmeans={**_parzen(centres, real), "centres": kmeans_centres},
                      parzen_mean_image=_parzen(real.train.mean(axis=0, keepdims=True), real))
    return result


def evaluate(samples, real: RealImages, parzen: bool = True, seed: int = 0) -> dict:
    """Every measure of G's ``samples`` (pixels in [-1, 1]; 10,000 in the benchmark) against ``real``.

    The classifier score and class shares use all the samples. The Fréchet distance is the mean
    over the first four blocks of as many samples as a held-out half, each against both halves,
    so it compares with the halves' own distance at the same sizes (the estimate's bias depends
    on them). The two-sample test and the memorisation check take as many samples as there are
    held-out images. ``parzen``: also the paper's log-likelihood (a few seconds).
    """
    samples = _images(samples, "samples", real.train.shape[1])
    if len(samples) < len(real.held_out):
        raise ValueError(f"evaluate needs at least {len(real.held_out)} samples (as many as the held-out images), "
                         f"got {len(samples)}")
    probabilities = real.classifier.probabilities(samples)
    size = len(real.half_b)
    blocks = [samples[i * size:(i + 1) * size] for i in range(min(4, len(samples) // size))]
    halves = [real.classifier.features(half) for half in (real.half_a, real.half_b)]
    frechet = np.mean([frechet_distance(real.classifier.features(block), half) for block in blocks for half in halves])
    compared = samples[:len(real.held_out)]
    distances, nearest = nearest_neighbours(compared, real.train)
    result = {
        "classifier_score": classifier_score(probabilities),
        "class_shares": class_shares(probabilities),
        "frechet": float(frechet),
        "two_sample_knn": two_sample_accuracy(real.held_out, compared, "knn", seed=seed),
        "two_sample_logistic": two_sample_accuracy(real.held_out, compared, "logistic", seed=seed),
        "nearest_median": float(np.median(distances)),
        "nearest_distances": distances,
        "nearest_index": nearest,
    }
    if parzen:
        result.update(_parzen(samples, real))
    return result
