"""Memory over a long run: resident memory must stay flat (no graph or gradient kept alive).

Trains the toy GAN (G 2-128-128-2, D 2-128-128-1, batch 256) for 10,000 steps, keeping
nothing between steps but the models and optimisers (each step's record of numbers is
dropped: a History that keeps them grows by design), and reads the process's resident set
size (RSS, from /proc/self/statm) every 500 steps.

    python benchmarks/memory.py [--steps 10000] [--write]
"""

from __future__ import annotations

import os

from _common import benchmark_parser, machine, publish


def resident_mib() -> float:
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--steps", type=int, default=10_000)
    args = parser.parse_args()

    import minigan
    from minigan import data, gan, nn

    minigan.seed(0)
    G = nn.mlp([2, 128, 128, 2], activation="relu", name="G")
    D = nn.mlp([2, 128, 128, 1], activation="leaky_relu", name="D")
    model = gan.GAN(G, D, data.ring(), gan.GANConfig(batch_size=256, lr_g=2e-4, lr_d=2e-4))
    readings = []
    every = max(1, args.steps // 20)
    for step in range(1, args.steps + 1):
        model.train_step()
        if step % every == 0:
            readings.append((step, resident_mib()))
            print(f"step {step:>6}: {readings[-1][1]:.1f} MiB resident", flush=True)
    settled = readings[len(readings) // 4:]  # after the first quarter: allocator and caches warm
    growth = settled[-1][1] - settled[0][1]
    per_1000 = growth / (settled[-1][0] - settled[0][0]) * 1000
    text = "\n".join([
        f"Machine: {machine()}. Command: `python benchmarks/memory.py --write`.",
        "",
        f"Toy GAN, {args.steps} training steps: resident memory "
        f"{readings[0][1]:.1f} MiB at step {readings[0][0]}, {settled[0][1]:.1f} MiB at step {settled[0][0]}, "
        f"{readings[-1][1]:.1f} MiB at step {readings[-1][0]}; largest reading {max(m for _, m in readings):.1f} MiB. "
        f"From step {settled[0][0]} on: {growth:+.2f} MiB in all, {per_1000:+.3f} MiB per 1,000 steps.",
        "",
        "| step | " + " | ".join(str(s) for s, _ in readings[::2]) + " |",
        "|---|" + "---|" * len(readings[::2]),
        "| RSS MiB | " + " | ".join(f"{m:.1f}" for _, m in readings[::2]) + " |",
    ])
    publish("memory", text, args.write)


if __name__ == "__main__":
    main()
