"""Trials of the 'mnist' preset with one idea changed, on one seed, scored as mnist_quality.py scores a run.

Why the preset is as it is, and what did not beat it: each variant trains the preset (18,000
steps) with the settings that VARIANTS lists changed (one idea, one to three settings), draws 10,000 samples from z drawn with the evaluation seed of
benchmarks/mnist_quality.py and scores them the same way (classifier score, Fréchet distance,
two-sample accuracies, the median distance from a sample to its nearest training image), also
part-way through the run (``--checkpoints``: after that many steps of the same run, whose
learning rates still decay over the full run).

    python benchmarks/mnist_trials.py --variants adam_beta1_0 adam_beta2_099 --processes 2
    python benchmarks/mnist_trials.py --steps 30 --variants all     # a smoke test of every variant
"""

from __future__ import annotations

import multiprocessing
import os
import time
import types

import numpy as np
from threadpoolctl import threadpool_limits

from _common import benchmark_parser, machine, publish
from mnist_quality import score_samples
from minigan import data, image_metrics, losses, nn, ops
from minigan.app import presets

# Adam as Karras et al. (2018) trained progressive GANs. The adam_beta1_* variants are named for β₁,
# the setting that moved the score, but they change β₂ as well (0.999 -> 0.99); adam_beta2_099 alone shows
# that β₂ does not.
ADAM_BETA1_0 = dict(betas=(0.0, 0.99))
CHECKPOINTS = [12_000, 15_000]  # steps after which a run is also scored, by default


def top_k_generator_loss(self, out_fake):
    """Top-k training (Sinha et al. 2020): G learns only from the k fakes that D rates most real (the
    non-saturating loss on them). k starts at the batch size and shrinks by 1% an epoch (one pass
    over the training images, 31 steps of 128) down to half the batch, reached near step 2,160."""
    m = out_fake.shape[0]
    k = max(round(0.99 ** (self.step * m // len(self.data)) * m), m // 2)
    best = np.argsort(-out_fake.numpy().ravel())[:k]
    return losses.non_saturating_generator_loss(ops.getitem(out_fake, best) if k < m else out_fake)


class Translated(nn.Module):
    """D behind a random shift of each image by up to 2 pixels each way while training (DiffAugment's
    translation, Zhao et al. 2020), in the D-step and in the G-step alike, so the gradient reaches G
    through the shift. The shift is circular, where DiffAugment pads with background: MNIST's border
    is mostly black, but about 12% of the training images have a few ink pixels within 2 pixels of
    an edge, and those wrap round to the other side. The shifts come from a generator of their own
    (``seed``), the same whatever the run's seed."""

    def __init__(self, inner, side: int = 28, max_shift: int = 2, seed: int = 1):
        self.inner, self.max_shift, self.side = inner, max_shift, side
        self.rng = np.random.default_rng(seed)
        self.rows, self.cols = np.divmod(np.arange(side * side), side)

    def forward(self, x):
        if self.training:
            dy, dx = self.rng.integers(-self.max_shift, self.max_shift + 1, size=(2, x.shape[0], 1))
            pixels = ((self.rows - dy) % self.side) * self.side + (self.cols - dx) % self.side
            x = ops.getitem(x, (np.arange(x.shape[0])[:, None], pixels))
        return self.inner(x)


def build_top_k(seed, steps):
    gan, steps = presets.build("mnist", seed=seed, steps=steps)
    gan.generator_loss = types.MethodType(top_k_generator_loss, gan)
    return gan, steps


def build_translated(seed, steps):
    gan, steps = presets.build("mnist", seed=seed, steps=steps, **ADAM_BETA1_0)
    gan.D = Translated(gan.D)
    return gan, steps


VARIANTS = {  # name -> (what changes, how to build it from (seed, steps))
    "preset": ("nothing: the preset", lambda seed, steps: presets.build("mnist", seed=seed, steps=steps)),
    "adam_beta2_099": ("Adam's β₂ 0.99 instead of 0.999",
                       lambda seed, steps: presets.build("mnist", seed=seed, steps=steps, betas=(0.5, 0.99))),
    "adam_beta1_025": ("Adam's β = (0.25, 0.99)",
                       lambda seed, steps: presets.build("mnist", seed=seed, steps=steps, betas=(0.25, 0.99))),
    "adam_beta1_0": ("Adam's β = (0, 0.99), as progressive GANs were trained",
                     lambda seed, steps: presets.build("mnist", seed=seed, steps=steps, **ADAM_BETA1_0)),
    "adam_beta1_0_smoothing": ("β = (0, 0.99) and one-sided label smoothing (real targets 0.9)",
                               lambda seed, steps: presets.build("mnist", seed=seed, steps=steps,
                                                                 real_label_smoothing=0.2, **ADAM_BETA1_0)),
    "adam_beta1_0_translated": ("β = (0, 0.99) and D sees every image shifted by up to 2 pixels", build_translated),
    "top_k": ("top-k training: G learns from the fakes D rates best", build_top_k),
}


def run_variant(job: tuple) -> dict:
    """Train one variant (one BLAS thread) and score its samples, also at each checkpoint."""
    name, seed, steps, checkpoints, real = job
    with threadpool_limits(1):
        gan, steps = VARIANTS[name][1](seed, steps)
        scores, seconds = {}, 0.0
        for stop in sorted({*(c for c in checkpoints if c < steps), steps}):
            start = time.perf_counter()
            gan.train(stop - gan.step)
            seconds += time.perf_counter() - start
            scores[stop] = score_samples(gan, real, parzen=False)
    return {"variant": name, "seed": seed, "steps": steps, "seconds": seconds, "scores": scores}


def table(results: list[dict]) -> str:
    lines = ["| variant | what changes | steps | seconds | classifier score | Fréchet | kNN | logistic | nearest median "
             "| part-way: steps, score, nearest |", "|---" * 10 + "|"]
    for r in results:
        final = r["scores"][r["steps"]]
        part_way = "; ".join(f"{stop:,}: {s['classifier_score']:.2f}, {s['nearest_median']:.2f}"
                             for stop, s in r["scores"].items() if stop != r["steps"])
        lines.append(f"| `{r['variant']}` | {VARIANTS[r['variant']][0]} | {r['steps']:,} | {r['seconds']:.0f} | "
                     f"{final['classifier_score']:.2f} | {final['frechet']:.2f} | {final['two_sample_knn']:.3f} | "
                     f"{final['two_sample_logistic']:.3f} | {final['nearest_median']:.2f} | {part_way or '-'} |")
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--variants", nargs="+", required=True, choices=[*VARIANTS, "all"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, help="training steps of every run (default: the preset's)")
    parser.add_argument("--checkpoints", type=int, nargs="*", default=CHECKPOINTS,
                        help="also score the samples after these steps (default 12000 15000)")
    parser.add_argument("--processes", type=int, default=1, help="variants trained at once (default 1)")
    args = parser.parse_args()
    if any(c <= 0 for c in args.checkpoints):
        parser.error("--checkpoints must be step numbers above 0")
    names = list(VARIANTS) if "all" in args.variants else args.variants
    with threadpool_limits(1):
        real = image_metrics.RealImages.fit(*data.bundled_mnist("train"), *data.bundled_mnist("held_out"))
    jobs = [(name, args.seed, args.steps, args.checkpoints, real) for name in names]
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        results = []
        for r in pool.imap_unordered(run_variant, jobs):
            print(f"  {r['variant']}: {r['seconds']:.0f} s; score {r['scores'][r['steps']]['classifier_score']:.2f}, "
                  f"nearest {r['scores'][r['steps']]['nearest_median']:.2f}", flush=True)
            results.append(r)
    results.sort(key=lambda r: names.index(r["variant"]))
    command = (f"python benchmarks/mnist_trials.py --variants {' '.join(args.variants)} --seed {args.seed}"
               + ("" if args.steps is None else f" --steps {args.steps}")
               + ("" if args.checkpoints == CHECKPOINTS else f" --checkpoints {' '.join(map(str, args.checkpoints))}")
               + ("" if args.processes == 1 else f" --processes {args.processes}") + (" --write" if args.write else ""))
    setting = (f"Machine: {machine()}. {args.processes} variant(s) at once, 1 BLAS thread each; load average "
               f"{os.getloadavg()[0]:.1f} at the end. Command: `{command}`. Seed {args.seed}; the held-out images' "
               "median distance to their nearest training image, the memorisation target, is "
               f"{np.median(image_metrics.nearest_neighbours(real.held_out, real.train)[0]):.2f}.")
    publish("mnist_trials", "\n\n".join([setting, table(results)]), args.write)


if __name__ == "__main__":
    main()
