"""How close does minigan get to the machine's limit? FLOPs, matmul throughput, and scaling.

1. The limit: float32 matrix-multiply throughput of NumPy's BLAS on this machine (GFLOP/s).
2. The work: the matrix-multiply FLOPs of one training step, counted from the layer sizes
   for exactly the products minigan computes (see ``step_flops``).
3. The fraction: FLOPs per step / measured time per step, against the limit.
4. Scaling: time per step of the toy GAN as the batch and the width grow.

    python benchmarks/limits.py [--write]
"""

from __future__ import annotations

import numpy as np

from _common import benchmark_parser, machine, summary, time_per_call, write_section

THREADS = 2
LARGE = ([128, 1024, 1024, 1024], [1024, 1024, 1024, 1], 1024)  # G sizes, D sizes, batch


def matmul_gflops(n: int, repeats: int = 7) -> float:
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


def minigan_step_seconds(g_sizes, d_sizes, batch: int, repeats: int = 5) -> float:
    import minigan
    from minigan import data, gan, nn

    minigan.seed(0)
    G = nn.mlp(g_sizes, activation="relu", name="G")
    D = nn.mlp(d_sizes, activation="leaky_relu", name="D")
    real = data.GaussianMixture(np.zeros((1, g_sizes[-1])), 1.0)
    model = gan.GAN(G, D, real, gan.GANConfig(batch_size=batch, latent_dim=g_sizes[0]))
    calls = max(2, int(2e9 / max(step_flops(g_sizes, d_sizes, batch), 1)))  # ~2 GFLOP of work per timing
    return summary(time_per_call(model.train_step, calls=min(calls, 200), repeats=repeats, warmup=3), 1.0)[0]


def main():
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()

    import threadpoolctl

    with threadpoolctl.threadpool_limits(THREADS):
        limit = {n: matmul_gflops(n) for n in (256, 1024, 2048)}
        print("NumPy float32 matmul GFLOP/s:", {n: round(v, 1) for n, v in limit.items()}, flush=True)
        peak = max(limit.values())

        rows = []
        configs = {
            "toy: G 2-128-128-2, D 2-128-128-1, batch 256": ([2, 128, 128, 2], [2, 128, 128, 1], 256),
            "MNIST-size: G 100-256-512-784, D 784-512-256-1, batch 128":
                ([100, 256, 512, 784], [784, 512, 256, 1], 128),
            "large: G 128-1024-1024-1024, D 1024-1024-1024-1, batch 1024": LARGE,
        }
        for name, (g, d, batch) in configs.items():
            flops = step_flops(g, d, batch)
            seconds = minigan_step_seconds(g, d, batch)
            achieved = flops / seconds / 1e9
            rows.append(f"| {name} | {flops / 1e9:.3f} | {seconds * 1e3:.2f} | {achieved:.1f} | "
                        f"{100 * achieved / peak:.0f}% |")
            print(rows[-1], flush=True)

        scaling = []
        for batch in (64, 256, 1024):
            cells = []
            for width in (64, 256, 1024):
                seconds = minigan_step_seconds([2, width, width, 2], [2, width, width, 1], batch, repeats=3)
                cells.append(f"{seconds * 1e3:.2f}")
            scaling.append(f"| {batch} | " + " | ".join(cells) + " |")
            print(scaling[-1], flush=True)

    text = "\n".join([
        f"Machine: {machine()}. Threads: {THREADS} (threadpoolctl). Command: `python benchmarks/limits.py --write`.",
        "",
        "The limit, NumPy float32 matmul of n×n by n×n: "
        + ", ".join(f"n = {n}: {v:.1f} GFLOP/s" for n, v in limit.items())
        + f". Fractions below are of the best of these, {peak:.1f} GFLOP/s.",
        "",
        "| training step (non-saturating, k = 1, Adam, float32) | matmul GFLOP per step | ms per step | "
        "GFLOP/s achieved | fraction of the limit |",
        "|---|---|---|---|---|",
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
    print(text)
    if args.write:
        write_section("limits", text)


if __name__ == "__main__":
    main()
