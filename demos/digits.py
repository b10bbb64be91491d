"""8×8 handwritten digits from an MLP GAN: samples over training, and the nearest real digit to each.

p_data is now a set of images, scikit-learn's 1,797 digits of 8×8 pixels, each a vector
of 64 numbers in [-1, 1]; G maps a 16-D z through two hidden layers of 256 to 64 pixels
ending in tanh, and D is an MLP classifier on the 64 pixels (the "digits" preset). The
same z is drawn at regular steps: from noise, strokes appear, then digits. Is G only
copying the training set? Next to each sample is the real digit nearest to it, as in
Figure 2 of Goodfellow et al. 2014. Needs scikit-learn (the 'demos' extra).

    python demos/digits.py [--quick] [--out DIR]
"""

import time

import numpy as np

from _common import arguments, progress, report, save_results
from minigan.app import plot, presets, probe

args = arguments(__doc__, "digits")
gan, steps = presets.build("digits", seed=0)  # without scikit-learn: ImportError saying how to install it
if args.quick:
    steps = 100
every = steps // 40  # a snapshot every `every` steps: 41 frames for the GIF
digits = gan.data

# Fixed evaluation noise: each snapshot shows the same 64 z pushed through the G of that moment
z_eval = gan.tensor(np.random.default_rng(1).standard_normal((64, gan.config.latent_dim)))
snapshots = [probe.snapshot(gan, z_eval)]  # for images, a snapshot holds G(z_eval), the generated images


def keep_snapshot(gan, _record):  # called by gan.train after each step
    bar.update()
    if gan.step % every == 0:
        snapshots.append(probe.snapshot(gan, z_eval))


started = time.perf_counter()
with progress(steps) as bar:
    history = gan.train(steps, callbacks=keep_snapshot)
seconds = time.perf_counter() - started


def distances(a, b):
    """Euclidean distance between every row of ``a`` and every row of ``b`` (pixels in [-1, 1])."""
    squared = (a**2).sum(axis=1)[:, None] + (b**2).sum(axis=1)[None, :] - 2 * a @ b.T
    return np.sqrt(np.maximum(squared, 0.0))


# Nearest real digit to each of 1,000 samples, against the nearest *other* real digit to each real one
samples = gan.generate(1000)
to_real = distances(samples, digits.samples)
real_to_real = distances(digits.samples, digits.samples)
np.fill_diagonal(real_to_real, np.inf)
nearest = to_real.argmin(axis=1)

last = slice(-100, None)
print(f"{steps} steps on {digits!r} in {seconds:.0f} s "
      f"(G: z of {gan.config.latent_dim} -> 64 pixels; batch {gan.config.batch_size})")
print(f"last 100 steps: mean D(x) = {history['d_real'][last].mean():.2f}, "
      f"mean D(G(z)) = {history['d_fake'][last].mean():.2f}")
print(f"distance from a sample to its nearest real digit: mean {to_real.min(axis=1).mean():.2f}, "
      f"smallest {to_real.min():.2f}")
print(f"distance from a real digit to its nearest other real digit: mean {real_to_real.min(axis=1).mean():.2f}, "
      f"smallest {real_to_real.min():.2f}")
print(f"{len(np.unique(nearest))} different real digits are nearest to the 1,000 samples")

save_results(args, steps=steps, to_real_mean=to_real.min(axis=1).mean(), real_to_real_mean=real_to_real.min(axis=1).mean(),
             distinct_nearest=len(np.unique(nearest)), d_real=history["d_real"][last].mean(),
             d_fake=history["d_fake"][last].mean())

# Rows of 8: four rows of samples, each followed by the row of their nearest real digits
pairs = np.stack([samples[:32].reshape(4, 8, 64), digits.samples[nearest[:32]].reshape(4, 8, 64)], axis=1)
written = [
    plot.training_figure(snapshots, digits, args.out / "digits_training.png", panels=5),
    plot.sample_grid(samples[:100], digits.image_shape, args.out / "digits_samples.png",
                     title=f"100 samples of G after {steps} steps"),
    plot.sample_grid(pairs.reshape(64, 64), digits.image_shape, args.out / "digits_nearest.png",
                     title="rows 1, 3, 5, 7: samples of G\nrows 2, 4, 6, 8: the nearest real digit to each"),
    plot.save_gif(snapshots, digits, args.out / "digits.gif"),
]

report(args, written, [
    "digits_training.png: the same 64 z at five moments: noise at step 0, digits by the second panel, "
    "sharper strokes after",
    "digits_samples.png: most samples read as digits 0-9; some are smudged or mix two digits",
    "digits_nearest.png: each sample looks much like its nearest real digit; compare the two printed mean "
    "distances: when they are about equal, samples sit as close to the training set as real digits sit to "
    "each other: near it, but not copies (a copy would be at distance 0)",
    "digits.gif: the grid of the same 64 z over training",
])
