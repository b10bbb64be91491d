"""How close does minigan get to the machine's limit? FLOPs, matmul throughput, and scaling.

1. The limit: float32 matrix-multiply throughput of NumPy's BLAS on the machine that runs it (GFLOP/s).
2. The work: the matrix-multiply FLOPs of one training step, counted from the layer sizes
   for exactly the products minigan computes (see ``step_flops``).
3. The fraction: FLOPs per step / measured time per step, against the limit.
4. Scaling: time per step of the toy GAN as the batch and the width grow.

    python benchmarks/limits.py [--write]
"""

from __future__ import annotations

import numpy as np

from _common import benchmark_parser, machine, matrix_products_of, publish, redo_products, summary, time_per_call

THREADS = 2
LARGE = ([128, 1024, 1024, 1024], [1024, 1024, 1024, 1], 1024)  # G sizes, D sizes, batch


def matmul_gflops(n: int, repeats: int = 7) -> float:
    """Median float32 GFLOP/s of an n×n by n×n product."""
    a = np.random.default_rng(0).standard_normal((n, n)).astype(np.float32)
    b = np.random.default_rng(1).standard_normal((n, n)).astype(np.float32)
    seconds = summary(time_per_call(lambda: a @ b, calls=5, repeats=repeats, warmup=2), 1.0)[0]
    return 2 * n**3 / seconds / 1e9


def step_flops(g_sizes, d_sizes, batch: int) -> int:
    """Matrix-multiply FLOPs (2·m·k·n each) of one D-step + G-step, as minigan computes them.

    Per dense layer of k -> n on a batch of m: forward 2mkn; backward 2mkn for the weight
    gradient if the weights learn, and 2mkn for the input gradient if the input needs one
    (not for the first layer, whose input is data or z).
    """
    def forward(sizes):
        return sum(2 * batch * k * n for k, n in zip(sizes[:-1], sizes[1:]))

    def backward(sizes, weights: bool, first_input: bool):
        total = 0
        for i, (k, n) in enumerate(zip(sizes[:-1], sizes[1:])):
            total += 2 * batch * k * n * (int(weights) + int(i > 0 or first_input))
        return total

    d_step = forward(g_sizes) + 2 * forward(d_sizes) + 2 * backward(d_sizes, weights=True, first_input=False)
    g_step = (forward(g_sizes) + forward(d_sizes) + backward(d_sizes, weights=False, first_input=True)
              + backward(g_sizes, weights=True, first_input=False))
    return d_step + g_step


def minigan_step(g_sizes, d_sizes, batch: int):
    """A GAN with these sizes; returns its train_step."""
    import minigan
    from minigan import data, gan, nn

    minigan.seed(0)
    G = nn.mlp(g_sizes, activation="relu", name="G")
    D = nn.mlp(d_sizes, activation="leaky_relu", name="D")
    if g_sizes[-1] <= 2:  # toy data: a sampler, as in training
        real = data.ring()
    else:  # wide data: minibatches of a fixed data set, as with images
        real = data.ArrayDataset(np.random.default_rng(0).uniform(-1, 1, (4096, g_sizes[-1])), name="random rows")
    model = gan.GAN(G, D, real, gan.GANConfig(batch_size=batch, latent_dim=g_sizes[0]))
    model.train_step()  # warm-up
    return model.train_step


def fraction_of_limit(g_sizes, d_sizes, batch: int, limit_n: int, rounds: int = 7):
    """(seconds per step, GFLOP/s, fraction of the limit, the products' own fraction), each the
    median over ``rounds`` rounds.

    Each round times the step, the same matrix products alone (the very arrays of one step,
    multiplied again) and then the limit's matmul right after them, so a machine whose speed
    drifts during the run (a shared VM's does) affects all three alike. The products' own
    fraction is the ceiling of the step's: what it would reach if nothing but its products took time.
    """
    step, flops = minigan_step(g_sizes, d_sizes, batch), step_flops(g_sizes, d_sizes, batch)
    products = redo_products(matrix_products_of(step), "numpy")
    calls = max(3, min(200, int(3e9 / flops)))  # a few GFLOP of work per timing
    seconds, fractions, ceilings = [], [], []
    for _ in range(rounds):
        seconds.append(time_per_call(step, calls=calls, repeats=1)[0])
        products_seconds = time_per_call(products, calls=calls, repeats=1)[0]
        limit = matmul_gflops(limit_n, repeats=3)
        fractions.append(flops / seconds[-1] / 1e9 / limit)
        ceilings.append(flops / products_seconds / 1e9 / limit)
    median_seconds = summary(seconds, 1.0)[0]
    return median_seconds, flops / median_seconds / 1e9, summary(fractions, 1.0)[0], summary(ceilings, 1.0)[0]


def main():
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()

    import threadpoolctl

    with threadpoolctl.threadpool_limits(THREADS):
        limit = {n: matmul_gflops(n) for n in (256, 1024, 2048)}
        print("NumPy float32 matmul GFLOP/s:", {n: round(v, 1) for n, v in limit.items()}, flush=True)

        rows = []
        configs = {
            "toy: G 2-128-128-2, D 2-128-128-1, batch 256": ([2, 128, 128, 2], [2, 128, 128, 1], 256),
            "MNIST-size: G 100-256-512-784, D 784-512-256-1, batch 128":
                ([100, 256, 512, 784], [784, 512, 256, 1], 128),
            "large: G 128-1024-1024-1024, D 1024-1024-1024-1, batch 1024": LARGE,
        }
        best_n = max(limit, key=limit.get)
        for name, (g, d, batch) in configs.items():
            seconds, achieved, fraction, ceiling = fraction_of_limit(g, d, batch, best_n)
            rows.append(f"| {name} | {step_flops(g, d, batch) / 1e9:.3f} | {seconds * 1e3:.2f} | {achieved:.1f} | "
                        f"{100 * fraction:.0f}% | {100 * achieved / max(limit.values()):.0f}% | {100 * ceiling:.0f}% |")
            print(rows[-1], flush=True)

        scaling = []
        for batch in (64, 256, 1024):
            cells = []
            for width in (64, 256, 1024):
                step = minigan_step([2, width, width, 2], [2, width, width, 1], batch)
                cells.append(f"{summary(time_per_call(step, calls=10, repeats=3), 1e3)[0]:.2f}")
            scaling.append(f"| {batch} | " + " | ".join(cells) + " |")
            print(scaling[-1], flush=True)

    text = "\n".join([
        f"Machine: {machine()}. Threads: {THREADS} (threadpoolctl). Command: `python benchmarks/limits.py --write`.",
        "",
        "The limit, NumPy float32 matmul of n×n by n×n: "
        + ", ".join(f"n = {n}: {v:.1f} GFLOP/s" for n, v in limit.items())
        + f". Two fractions below: the median over 7 rounds of (step GFLOP/s) / (n = {best_n} matmul GFLOP/s "
        "measured right after the step in the same round), which cancels the machine's drift; and, more "
        "conservative, the median step GFLOP/s over the best of the three limits above (a maximum of noisy "
        "medians, measured once at the start). The last column is the ceiling: the step's own matrix "
        "products alone (the very arrays of one step, multiplied again), timed in the same rounds, as a "
        "fraction of the limit; no step can exceed it, whatever it does besides its products.",
        "",
        "| training step (non-saturating, k = 1, Adam, float32) | matmul GFLOP per step | ms per step | "
        "GFLOP/s achieved | fraction of the limit, paired rounds | achieved / best limit above | "
        "its products alone, fraction of the limit |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "FLOPs count only the matrix products minigan performs (forward; weight gradients where weights learn; "
        "input gradients except for data and z); elementwise work (activations, losses, Adam) is not counted, "
        "so the fraction is a lower bound on how busy the machine is.",
        "",
        "Time per step (ms) of the toy GAN (G 2-w-w-2, D 2-w-w-1) as the batch and the width w grow:",
        "",
        "| batch \\ width | 64 | 256 | 1024 |",
        "|---|---|---|---|",
        *scaling,
    ])
    publish("limits", text, args.write)


if __name__ == "__main__":
    main()
