"""Two versions of minigan, timed on the same training step, side by side.

    python benchmarks/ab_step.py /path/to/another/checkout [--rounds 9] [--threads 1]

Times one full training step (k = 1, non-saturating, Adam, float32) of the toy GAN (G 2-128-128-2,
D 2-128-128-1, batch 256) and of the MNIST-size one (G 100-256-512-784, D 784-512-256-1, batch
128, random images) with this checkout's minigan and with the other's, each in a fresh process
of its own, in turns that alternate which goes first, with a pause before each turn, and
reports the medians and their ratio. For a refactor that should not change the speed: run it
before merging, with the old checkout as the other.
"""

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, os, sys, time
sys.path.insert(0, sys.argv[1])
import numpy as np
import minigan
from minigan import data, gan, nn
for key in ("toy", "mnist"):
    g, d, batch, images = {"toy": ([2, 128, 128, 2], [2, 128, 128, 1], 256, False),
                           "mnist": ([100, 256, 512, 784], [784, 512, 256, 1], 128, True)}[key]
    minigan.seed(0)
    G = nn.mlp(g, activation="relu", output_activation="tanh" if images else None, name="G")
    D = nn.mlp(d, activation="leaky_relu", name="D")
    real = data.ArrayDataset(np.random.default_rng(0).uniform(-1, 1, (2000, 784)), image_shape=(28, 28)) \
        if images else data.ring()
    model = gan.GAN(G, D, real, gan.GANConfig(batch_size=batch, latent_dim=g[0], lr_g=2e-4, lr_d=2e-4))
    steps = {"toy": 200, "mnist": 40}[key]
    for _ in range(steps // 4):
        model.train_step()
    start = time.process_time()  # CPU time: with one thread, what other jobs do hardly counts
    for _ in range(steps):
        model.train_step()
    print(json.dumps({key: (time.process_time() - start) / steps * 1e3}), flush=True)
"""


def run(checkout: Path, threads: int) -> dict:
    env = {"OPENBLAS_NUM_THREADS": str(threads), "OMP_NUM_THREADS": str(threads), "PATH": "/usr/bin:/bin"}
    out = subprocess.run([sys.executable, "-c", WORKER, str(checkout)], capture_output=True, text=True, env=env,
                         check=True).stdout
    return {k: v for line in out.splitlines() for k, v in json.loads(line).items()}


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("other", type=Path, help="the other checkout (its folder holding minigan/)")
    parser.add_argument("--rounds", type=int, default=9)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    times = {"this": [], "other": []}
    for r in range(args.rounds):
        for side in (("this", "other") if r % 2 == 0 else ("other", "this")):
            time.sleep(0.5)
            times[side].append(run(HERE if side == "this" else args.other.resolve(), args.threads))
    print(f"{args.rounds} rounds, {args.threads} BLAS thread(s); medians, ms per training step; "
          f"this = {HERE}, other = {args.other.resolve()}")
    for key in ("toy", "mnist"):
        this = statistics.median(t[key] for t in times["this"])
        other = statistics.median(t[key] for t in times["other"])
        ratios = [a[key] / b[key] for a, b in zip(times["this"], times["other"])]
        print(f"  {key:<6} this {this:7.3f}  other {other:7.3f}  this/other {this / other:.3f} "
              f"(per-round ratios {min(ratios):.3f}-{max(ratios):.3f})")


if __name__ == "__main__":
    main()
