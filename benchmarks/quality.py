"""How well do minigan's GANs learn the 2-D mixtures? The protocol of VEEGAN and PacGAN, Table 1.

Each seed trains a preset from scratch and then draws 2,500 samples from G, which are
scored as VEEGAN (Srivastava et al. 2017) and PacGAN (Lin et al. 2018) score them:

- a sample is *high quality* (HQ) if it lies within 3σ of the centre of its nearest mode;
- a mode is *covered* if it is the nearest mode of at least one HQ sample;
- *reverse KL*: KL(p̂ ‖ uniform), p̂ the HQ samples' histogram over the modes (PacGAN's
  third column; see minigan.metrics.ModeCoverage.reverse_kl for how empty modes count).

Data sets: PacGAN's ring (8 modes, radius 1, σ 0.01), the grid of 25 (spacing 2,
σ 0.05, PacGAN's grid), and minigan's ring preset (radius 2, σ 0.05). Seeds run in
parallel processes, each with one BLAS thread, and every seed is timed on its own.

    python benchmarks/quality.py                       # 5 seeds of every data set, print the table
    python benchmarks/quality.py --seeds 2 --data grid # fewer seeds, one data set
    python benchmarks/quality.py --data grid --steps 60000  # a longer run (the decay is laid over it)
    python benchmarks/quality.py --ablation --seeds 3 --steps 15000  # each training option off/on, on the grid
    python benchmarks/quality.py --write               # and put the tables into benchmarks/RESULTS.md
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import statistics
import time

import numpy as np
from threadpoolctl import threadpool_limits

from _common import benchmark_parser, machine, publish
from minigan import metrics
from minigan.app import presets
from minigan.autograd import no_grad

DATASETS = ("pacgan_ring", "grid", "ring")
SAMPLES = 2500  # the papers' number of samples per evaluation
EVALUATION_SEED = 2017  # the z of the 2,500 samples: fixed, so a seed's score is reproducible

# Published rows. PacGAN: Lin et al. 2018, Table 1 (mean ± standard error over 10 runs; its
# public code's configs: 400 epochs of 1,000 batches of 100 = 400,000 steps, G 4 × 400 ReLU
# with batch norm, D 3 × 200 maxout). VEEGAN: Srivastava et al. 2017, Table 1, on *its own*
# ring and grid (not PacGAN's), with no reverse KL (checked against the table image, tab.png, on
# the authors' project page, github.com/akashgit/VEEGAN).
PUBLISHED = {
    "pacgan_ring": [
        ("GAN", "6.3 ± 0.5", "98.2 ± 0.2", "0.45 ± 0.09", "PacGAN Table 1"),
        ("ALI", "6.6 ± 0.3", "97.6 ± 0.4", "0.36 ± 0.04", "PacGAN Table 1"),
        ("PacGAN2", "7.9 ± 0.1", "95.6 ± 2.0", "0.07 ± 0.03", "PacGAN Table 1"),
        ("PacGAN3", "7.8 ± 0.1", "97.7 ± 0.3", "0.10 ± 0.02", "PacGAN Table 1"),
        ("PacGAN4", "7.8 ± 0.1", "95.9 ± 1.4", "0.07 ± 0.02", "PacGAN Table 1"),
        ("Unrolled GAN", "7.6", "35.6", "—", "VEEGAN Table 1 ¹"),
        ("VEEGAN", "8.0", "52.9", "—", "VEEGAN Table 1 ¹"),
    ],
    "grid": [
        ("GAN", "17.3 ± 0.8", "94.8 ± 0.7", "0.70 ± 0.07", "PacGAN Table 1"),
        ("ALI", "24.1 ± 0.4", "95.7 ± 0.6", "0.14 ± 0.03", "PacGAN Table 1"),
        ("PacGAN2", "23.8 ± 0.7", "91.3 ± 0.8", "0.13 ± 0.04", "PacGAN Table 1"),
        ("PacGAN3", "24.6 ± 0.4", "94.2 ± 0.4", "0.06 ± 0.02", "PacGAN Table 1"),
        ("PacGAN4", "24.8 ± 0.2", "93.6 ± 0.6", "0.04 ± 0.01", "PacGAN Table 1"),
        ("Unrolled GAN", "23.6", "16.0", "—", "VEEGAN Table 1 ¹"),
        ("VEEGAN", "24.6", "40.0", "—", "VEEGAN Table 1 ¹"),
    ],
    "ring": [],
}
TITLES = {
    "pacgan_ring": "PacGAN's ring: 8 modes, radius 1, σ 0.01",
    "grid": "grid of 25: spacing 2, σ 0.05 (PacGAN's grid)",
    "ring": "ring preset: 8 modes, radius 2, σ 0.05 (`minigan train`)",
}


def score(samples, data) -> dict:
    coverage = metrics.mode_coverage(samples, data)
    return {"modes": coverage.modes_covered, "n_modes": coverage.n_modes,
            "hq": 100 * coverage.high_quality_fraction, "rkl": coverage.reverse_kl}


def run_seed(job: tuple) -> dict:
    """Train one seed of a preset and score 2,500 samples of G.

    ``job`` is (data set, seed, steps or None for the preset's, changes to the preset's networks,
    GANConfig overrides).
    The result scores the G that makes the samples (``gan.generate``: the average of G's
    weights where the preset keeps one) and, under "own", G's own weights as well.
    """
    data_name, seed, steps, network_changes, overrides = job
    with threadpool_limits(1):
        preset = dataclasses.replace(presets.PRESETS[data_name], **network_changes)
        gan, steps = presets.build(data_name, seed=seed, preset=preset, steps=steps, **overrides)
        start = time.perf_counter()
        gan.train(steps)
        seconds = time.perf_counter() - start
        samples = gan.generate(SAMPLES, np.random.default_rng(EVALUATION_SEED))
        with no_grad():  # the same z, through G with its own weights
            own = gan.G(gan.sample_noise(SAMPLES, np.random.default_rng(EVALUATION_SEED))).numpy()
    return {"data": data_name, "seed": seed, "seconds": seconds, "steps": steps,
            **score(samples, gan.data), "own": score(own, gan.data)}


def run_all(jobs: list, processes: int) -> list[dict]:
    with multiprocessing.get_context("spawn").Pool(processes) as pool:
        results = []
        for result in pool.imap(run_seed, jobs):
            print(f"  {result['data']} seed {result['seed']}, {result['steps']:,} steps: {result['modes']}/{result['n_modes']} modes, "
                  f"{result['hq']:.1f}% HQ, reverse KL {result['rkl']:.3f}, {result['seconds']:.0f} s", flush=True)
            results.append(result)
        return results


def minigan_row(label: str, results: list[dict]) -> str:
    """mean (worst seed) of modes, HQ and reverse KL; mean (slowest) seconds per seed; the label
    says how many training steps each seed ran."""
    modes, hq, rkl, seconds = ([r[k] for r in results] for k in ("modes", "hq", "rkl", "seconds"))
    steps = sorted({r["steps"] for r in results})
    label = f"{label}, {' / '.join(f'{n:,}' for n in steps)} steps"
    return (f"| {label} | {statistics.mean(modes):.1f} ({min(modes)}) | {statistics.mean(hq):.1f} ({min(hq):.1f}) "
            f"| {statistics.mean(rkl):.3f} ({max(rkl):.3f}) | {statistics.mean(seconds):.0f} ({max(seconds):.0f}) "
            f"| this run, {len(results)} seeds |")


def machine_line(args, command: str) -> str:
    at_once = "One seed at a time" if args.processes == 1 else f"{args.processes} seeds at once"
    return f"Machine: {machine()}. {at_once}, 1 BLAS thread each. Command: `{command}`."


HEADER = ("| | modes, mean (worst seed) | HQ %, mean (worst) | reverse KL, mean (worst) | seconds per seed, "
          "mean (slowest) | source |\n|---|---|---|---|---|---|")


def main() -> None:
    parser = benchmark_parser(__doc__)
    parser.add_argument("--seeds", type=int, default=5, help="seeds per data set (default 5)")
    parser.add_argument("--processes", type=int, default=2, help="seeds trained at once (default 2)")
    parser.add_argument("--data", nargs="+", default=list(DATASETS), choices=DATASETS)
    parser.add_argument("--steps", type=int, help="training steps of every run (default: each preset's own)")
    parser.add_argument("--ablation", action="store_true", help="instead: each training option off and on")
    args = parser.parse_args()
    command = "python benchmarks/quality.py " + " ".join(
        [f"--seeds {args.seeds}", f"--processes {args.processes}"]
        + ([] if args.data == list(DATASETS) else ["--data", *args.data])
        + ([] if args.steps is None else [f"--steps {args.steps}"])
        + (["--ablation"] if args.ablation else []) + (["--write"] if args.write else []))
    if args.ablation:
        ablation(args, command)
        return
    jobs = [(name, seed, args.steps, {}, {}) for name in args.data for seed in range(args.seeds)]
    results = run_all(jobs, args.processes)
    for name in args.data:  # one section per data set, so each can be rerun on its own
        lines = [f"**{TITLES[name]}**", "",
                 machine_line(args, command),
                 "", HEADER]
        lines += [f"| {m} | {modes} | {hq} | {rkl} | — | {source} |" for m, modes, hq, rkl, source in PUBLISHED[name]]
        lines.append(minigan_row("minigan, preset", [r for r in results if r["data"] == name]))
        publish(f"quality_{name}", "\n".join(lines), args.write)


# The ablation: the grid preset's training with its remedies switched off one by one.
# Each training is scored twice, with G's own weights and with their average: the average
# only looks at the run and never changes it, so those two rows are the same run.
ABLATION_DATA = "grid"
CONSTANT, GAUSSIAN = {"lr_decay_from": 0, "lr_decay_to": 0}, {"noise": "normal"}  # the decay off; z ~ N(0, I)
ABLATION = [  # (label of the training, changes to the preset's networks, GANConfig overrides)
    ("vanilla: 2 hidden layers, constant learning rates, Gaussian z", {"depth": 2}, {**CONSTANT, **GAUSSIAN}),
    ("learning-rate decay", {"depth": 2}, GAUSSIAN),
    ("3 hidden layers", {}, {**CONSTANT, **GAUSSIAN}),
    ("uniform z", {"depth": 2}, CONSTANT),
    ("3 hidden layers + learning-rate decay (the old preset)", {}, GAUSSIAN),
    ("3 hidden layers + learning-rate decay + uniform z (the preset)", {}, {}),
]


def ablation(args, command: str) -> None:
    jobs = [(ABLATION_DATA, seed, args.steps, changes, overrides) for _, changes, overrides in ABLATION
            for seed in range(args.seeds)]
    results = run_all(jobs, args.processes)
    lines = [machine_line(args, command), "",
             f"**{TITLES[ABLATION_DATA]}**: {args.seeds} seeds per row. Each training is scored with G's own "
             "weights and with the average of its weights (β of the preset); the two rows of a training are "
             "the same runs, since the average never feeds back into training.", "", HEADER]
    for i, (label, _, _) in enumerate(ABLATION):
        runs = results[i * args.seeds:(i + 1) * args.seeds]
        lines.append(minigan_row(f"{label}; G's own weights", [{**r, **r["own"]} for r in runs]))
        lines.append(minigan_row(f"{label}; + average of G's weights", runs))
    publish("quality_ablation", "\n".join(lines), args.write)


if __name__ == "__main__":
    main()
