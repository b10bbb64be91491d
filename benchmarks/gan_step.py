"""One full GAN training step (D-step + G-step): minigan against PyTorch and DeZero on the CPU.

DeZero (Saito's "Deep Learning from Scratch 3" engine, NumPy underneath) is minigan's closest
peer: a define-by-run autodiff written to be read. PyTorch's eager mode is the industrial
reference. All three do the same work per step: sample z and a real batch with NumPy, one D-step
on real and detached fake samples (BCE from logits), one G-step through a frozen D with
the non-saturating loss, Adam (lr 2e-4, betas (0.5, 0.999)) for both players, float32,
and the same numbers logged (the three D losses, the G loss, mean D(x), mean D(G(z)),
and the gradient norms of D and G, each read back as a Python float). Each in its own idiom:
DeZero has no way to freeze D, so its G-step also computes D's weight gradients (thrown away),
and its BCE is its own ``sigmoid_cross_entropy`` (σ, clip, log) where minigan and PyTorch
compute it from the logits.

    python benchmarks/gan_step.py            # print the table (1 and 2 threads)
    python benchmarks/gan_step.py --write    # and put it into benchmarks/RESULTS.md
    python benchmarks/gan_step.py --gpu      # CuPy against PyTorch CUDA (says so and stops without a GPU)
    python benchmarks/gan_step.py --configs toy mnist --threads 1 --conditions "loaded by other jobs"

For each configuration it also reports minigan's array calls per step (counted with
``minigan.fast.counting``: on CuPy each is a kernel launch) and read-backs per step,
and the overhead share: the step's time minus the time of the same matrix products
alone (the very arrays of one step, multiplied again in a loop, timed in the same
rounds as the step), as a percentage of the step; and the same share for PyTorch, against
the same products done by PyTorch, so that a faster or slower matrix multiply on one side
is not mistaken for overhead.

DeZero 0.0.13 (its latest release) was written for NumPy 1. Three shims, in its worker only,
let it run on NumPy 2 as it ran there: ``np.int`` (removed from NumPy) is put back as ``int``;
the Python numbers in its formulas (``1 - t``, ``-1 * sum``), which DeZero turns into 0-d
arrays, are made float32 ones; and its weights are cast to float32 after their initialiser
multiplies them by a float64 scalar. NumPy 2 lets a 0-d int64 or float64 array, or a float64
scalar, promote a float32 array to float64 (NEP 50) where NumPy 1 did not: without the last two
shims, DeZero's weights, losses and every gradient, matrix products included, are float64.

Every step reads its logged numbers back as Python floats, which waits for the GPU,
so per-step times on the GPU are complete, not just the time to queue the work.

Each side runs in a process of its own (as a user runs one library, not the others), and they
are timed in turn, round after round, the order rotating, so that the machine's drift hits both alike, with a
pause before each turn. Timing them in one process, alternately, was unfair: after a NumPy
matrix product OpenBLAS's worker threads keep polling for more work for a while, and on a
2-core machine they took a core from the PyTorch step that followed (measured: the toy step of
PyTorch took 4.35 ms right after minigan's and 2.89 ms after a 0.5 s pause; minigan's 3.17
and 2.82 ms).

Threads: each comparison runs at 1 thread and at 2 by default (``--threads``), the same count
for all sides (threadpoolctl for NumPy's BLAS, ``torch.set_num_threads`` for PyTorch). The load
averages of the machine before and after each comparison are in the table: on a machine shared
with other work, the numbers hold only for rows whose load stayed low.

Needs the 'bench' extra (PyTorch CPU 2.13, DeZero 0.0.13): pip install -e '.[bench]'.
"""

from __future__ import annotations

import numpy as np

from _common import (benchmark_parser, load, machine, matrix_products_of, publish, redo_products, summary,
                     time_per_call, wait_for_quiet)

THREADS = (1, 2)
CONFIGS = {
    # key: (name, G sizes, D sizes, batch, images?, steps per timing)
    "toy": ("toy (ring)", [2, 128, 128, 2], [2, 128, 128, 1], 256, False, 100),
    "mnist": ("MNIST-size MLP", [100, 256, 512, 784], [784, 512, 256, 1], 128, True, 40),
    "large": ("large: width 1024, batch 1024", [128, 1024, 1024, 1024], [1024, 1024, 1024, 1], 1024, True, 4),
}


def real_data(sizes, images: bool):
    from minigan import data

    if not images:
        return data.ring()
    pixels = np.random.default_rng(0).uniform(-1, 1, (10_000, sizes[-1]))  # timing does not depend on content
    return data.ArrayDataset(pixels, name="random 28x28 images", image_shape=(28, 28))


def minigan_step(g_sizes, d_sizes, batch, images):
    import minigan
    from minigan import gan, nn

    minigan.seed(0)
    G = nn.mlp(g_sizes, activation="relu", output_activation="tanh" if images else None, name="G")
    D = nn.mlp(d_sizes, activation="leaky_relu", name="D")
    config = gan.GANConfig(loss="non_saturating", k=1, batch_size=batch, latent_dim=g_sizes[0],
                           lr_g=2e-4, lr_d=2e-4)
    model = gan.GAN(G, D, real_data(g_sizes, images), config)
    return model.train_step


def array_calls(g_sizes, d_sizes, batch, images) -> tuple[float, float]:
    """(array operations, read-backs) per training step of minigan, counted over two steps."""
    from minigan.fast.counting import counting

    with counting() as tally:
        step = minigan_step(g_sizes, d_sizes, batch, images)
        step()  # the first step makes the optimisers' state
        tally.reset()
        step()
        step()
    return tally.total / 2, tally.readbacks / 2


def torch_step(g_sizes, d_sizes, batch, images, device="cpu"):
    import torch
    import torch.nn.functional as F
    from torch import nn

    torch.manual_seed(0)

    def mlp(sizes, activation, output=None):
        layers = []
        for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            layers.append(nn.Linear(n_in, n_out))
            if i < len(sizes) - 2:
                layers.append(activation())
        return nn.Sequential(*layers, *([output()] if output else []))

    G = mlp(g_sizes, nn.ReLU, nn.Tanh if images else None).to(device)
    D = mlp(d_sizes, lambda: nn.LeakyReLU(0.2)).to(device)
    opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.5, 0.999))
    data, rng, latent = real_data(g_sizes, images), np.random.default_rng(0), g_sizes[0]
    ones, zeros = torch.ones(batch, 1, device=device), torch.zeros(batch, 1, device=device)

    def grad_norm(module):
        return torch.sqrt(sum((p.grad * p.grad).sum() for p in module.parameters())).item()

    def noise():
        return torch.from_numpy(rng.standard_normal((batch, latent)).astype(np.float32)).to(device)

    def step():
        real = torch.from_numpy(data.sample(batch, rng).astype(np.float32)).to(device)
        z = noise()
        with torch.no_grad():
            fake = G(z)
        out_real, out_fake = D(real), D(fake)
        loss_real = F.binary_cross_entropy_with_logits(out_real, ones)
        loss_fake = F.binary_cross_entropy_with_logits(out_fake, zeros)
        loss_d = loss_real + loss_fake
        opt_d.zero_grad(set_to_none=True)
        loss_d.backward()
        record = [loss_real.item(), loss_fake.item(), loss_d.item(), grad_norm(D),
                  torch.sigmoid(out_real).mean().item(), torch.sigmoid(out_fake).mean().item()]
        opt_d.step()

        fake = G(noise())
        D.requires_grad_(False)
        loss_g = F.softplus(-D(fake)).mean()  # non-saturating: -log D(G(z))
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        D.requires_grad_(True)
        record += [loss_g.item(), grad_norm(G)]
        opt_g.step()
        return record

    return step


def dezero_step(g_sizes, d_sizes, batch, images):
    """The same step in DeZero 0.0.13 (imported here, with its NumPy 2 shims; see the module's notes)."""
    np.int = int  # DeZero 0.0.13 still names np.int, removed in NumPy 1.24
    import dezero
    import dezero.functions as F
    import dezero.layers as L

    def float32_constant(x, array_module=np):  # NumPy 1's result for DeZero's float32 formulas
        return array_module.array(x, dtype=np.float32) if np.isscalar(x) else x

    dezero.core.as_array = dezero.functions.as_array = float32_constant

    class MLP(dezero.Model):
        def __init__(self, sizes, activation, output=None):
            super().__init__()
            self.layers = []
            for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
                layer = L.Linear(n_out, in_size=n_in)
                layer.W.data = layer.W.data.astype(np.float32)  # its initialiser gives float64 on NumPy 2
                setattr(self, f"l{i}", layer)
                self.layers.append(layer)
            self.activation, self.output = activation, output

        def forward(self, x):
            for layer in self.layers[:-1]:
                x = self.activation(layer(x))
            x = self.layers[-1](x)
            return self.output(x) if self.output else x

    np.random.seed(0)  # DeZero initialises its weights from NumPy's global generator
    G = MLP(g_sizes, F.relu, F.tanh if images else None)
    D = MLP(d_sizes, lambda x: F.leaky_relu(x, 0.2))
    opt_g = dezero.optimizers.Adam(alpha=2e-4, beta1=0.5, beta2=0.999).setup(G)
    opt_d = dezero.optimizers.Adam(alpha=2e-4, beta1=0.5, beta2=0.999).setup(D)
    data, rng, latent = real_data(g_sizes, images), np.random.default_rng(0), g_sizes[0]
    ones, zeros = np.ones((batch, 1), np.float32), np.zeros((batch, 1), np.float32)

    def grad_norm(model):
        return float(np.sqrt(sum(float((p.grad.data * p.grad.data).sum()) for p in model.params())))

    def noise():
        return rng.standard_normal((batch, latent)).astype(np.float32)

    def step():
        real = data.sample(batch, rng).astype(np.float32)
        z = noise()
        with dezero.no_grad():
            fake = G(z)
        out_real, out_fake = D(real), D(fake.data)
        loss_real = F.sigmoid_cross_entropy(out_real, ones)
        loss_fake = F.sigmoid_cross_entropy(out_fake, zeros)
        loss_d = loss_real + loss_fake
        D.cleargrads()
        loss_d.backward()
        record = [float(loss_real.data), float(loss_fake.data), float(loss_d.data), grad_norm(D),
                  float(F.sigmoid(out_real).data.mean()), float(F.sigmoid(out_fake).data.mean())]
        opt_d.update()

        G.cleargrads()
        loss_g = F.sigmoid_cross_entropy(D(G(noise())), ones)  # non-saturating: -log D(G(z))
        loss_g.backward()  # D's parameters get gradients too (DeZero cannot freeze them); unused
        record += [float(loss_g.data), grad_norm(G)]
        opt_g.update()
        return record

    return step


STEPS = {"minigan": minigan_step, "PyTorch": torch_step, "DeZero": dezero_step}


def overhead_share(step_times, product_times) -> float:
    """What a step spends beyond its matrix products, in % of the step: per round
    (step - products) / step, then the median over the rounds (drift cancels within a round)."""
    shares = [(s - p) / s for s, p in zip(step_times, product_times, strict=True)]
    return 100 * summary(shares, 1.0)[0]


def gpu_unavailable() -> str | None:
    """Why the GPU comparison cannot run here, or None if it can."""
    import torch

    from minigan import backend

    if "cupy" not in backend.available():
        return "CuPy with a CUDA GPU is not available on the machine that ran it"
    if not torch.cuda.is_available():
        return "PyTorch sees no CUDA device"
    return None


PAUSE = 0.5  # seconds between one side's timing and the other's


def serve(connection, side: str, key: str, threads: int, gpu: bool, keep_memory: bool) -> None:
    """One side of the comparison, alone in a process of its own, as a user runs it: build the
    step (and its matrix products, on the CPU), warm up, then time them each time the parent
    sends "time", until it sends "stop". minigan's side keeps freed memory for reuse, as
    ``minigan train`` does (``minigan.allocator``), unless ``keep_memory`` is False."""
    import threadpoolctl

    from minigan import allocator, backend

    if side == "minigan" and keep_memory:
        allocator.keep_freed_memory()

    name, g_sizes, d_sizes, batch, images, calls = CONFIGS[key]
    with threadpoolctl.threadpool_limits(threads):
        if side == "PyTorch":
            import torch

            torch.set_num_threads(threads)
            step = torch_step(g_sizes, d_sizes, batch, images, "cuda" if gpu else "cpu")
        else:
            if gpu:
                backend.use("cupy")
            step = STEPS[side](g_sizes, d_sizes, batch, images)
        products = None
        if not gpu and side != "DeZero":  # the same products, those of a minigan step built here with the same seed
            captured = matrix_products_of(step if side == "minigan" else minigan_step(g_sizes, d_sizes, batch, images))
            products = redo_products(captured, "numpy" if side == "minigan" else "torch")
        time_per_call(step, calls=max(1, calls // 2), repeats=1)  # warm-up
        connection.send("ready")
        while connection.recv() == "time":
            timings = {"step": time_per_call(step, calls=calls, repeats=1)[0]}
            if products is not None:
                timings["products"] = time_per_call(products, calls=calls, repeats=1)[0]
            connection.send(timings)


def compare(key: str, threads: int, gpu: bool, repeats: int, keep_memory: bool = True) -> dict:
    """{side: [{'step': s, 'products': s}, ...]}: each side timed in its own process, in turn (the
    order rotating from round to round) with a pause before each turn, so that no library's idle
    worker threads take a core from another (see the module's notes). On the GPU: minigan and PyTorch."""
    import multiprocessing
    import time

    context = multiprocessing.get_context("spawn")
    workers = {}
    for side in ("minigan", "PyTorch") if gpu else ("minigan", "PyTorch", "DeZero"):
        ours, theirs = context.Pipe()
        process = context.Process(target=serve, args=(theirs, side, key, threads, gpu, keep_memory), daemon=True)
        process.start()
        theirs.close()  # the worker's end lives in the worker: if it dies, recv() here raises EOFError
        workers[side] = process, ours
    for side, (process, connection) in workers.items():
        try:
            connection.recv()  # "ready"
        except EOFError:
            process.join()
            raise RuntimeError(f"the {side} benchmark worker failed (exit code {process.exitcode}; "
                               "its error is printed above)") from None
    timings = {side: [] for side in workers}
    sides = list(workers)
    for round_ in range(repeats):
        for side in sides[round_ % len(sides):] + sides[:round_ % len(sides)]:
            time.sleep(PAUSE)
            workers[side][1].send("time")
            timings[side].append(workers[side][1].recv())
    for process, connection in workers.values():
        connection.send("stop")
        process.join()
    return timings


def cell(timings) -> str:
    median, low, high = summary(timings)
    return f"{median:.3f} ({low:.3f}–{high:.3f})"


def main():
    parser = benchmark_parser(__doc__)
    parser.add_argument("--repeats", type=int, default=9)
    parser.add_argument("--gpu", action="store_true", help="CuPy against PyTorch CUDA instead of the CPU")
    parser.add_argument("--configs", nargs="+", choices=list(CONFIGS), default=list(CONFIGS))
    parser.add_argument("--threads", type=int, nargs="+", default=list(THREADS),
                        help="BLAS threads, the same for every side; one comparison per count (default: 1 2)")
    parser.add_argument("--conditions", default="", help="how the machine was, e.g. 'loaded by other jobs'")
    parser.add_argument("--quiet-load", type=float, default=None,
                        help="before each comparison, wait (up to 30 min) until the 1-minute load average is at most this")
    parser.add_argument("--default-allocator", action="store_true",
                        help="leave minigan's side with glibc's default thresholds, as a program that imports "
                             "minigan has them (by default it keeps freed memory, as `minigan train` does)")
    args = parser.parse_args()

    import torch

    section = "gan_step_gpu" if args.gpu else "gan_step"
    command = ("python benchmarks/gan_step.py" + (" --gpu" if args.gpu else "")
               + (f" --configs {' '.join(args.configs)}" if args.configs != list(CONFIGS) else "")
               + (f" --threads {' '.join(map(str, args.threads))}" if args.threads != list(THREADS) else "")
               + (f" --repeats {args.repeats}" if args.repeats != 9 else "")
               + (f' --conditions "{args.conditions}"' if args.conditions else "")
               + (f" --quiet-load {args.quiet_load:g}" if args.quiet_load is not None else "")
               + (" --default-allocator" if args.default_allocator else "") + " --write")
    if args.gpu:
        reason = gpu_unavailable()
        if reason:
            publish(section, f"GPU comparison skipped: {reason}. Command: `{command}`.", args.write)
            return
        where = f"Device: {torch.cuda.get_device_name(0)}; CuPy against PyTorch CUDA."
    else:
        where = ("Device: the CPU. Threads: the same count for every side (threadpoolctl for NumPy's BLAS, "
                 "torch.set_num_threads for PyTorch). Memory: minigan's side "
                 + ("with glibc's default thresholds (`--default-allocator`)." if args.default_allocator else
                    "keeps freed memory for reuse, as `minigan train` does (`minigan.allocator`)."))
    print(f"load averages at the start (1/5/15 min): {load()}", flush=True)
    rows = []
    for key in args.configs:
        name, g_sizes, d_sizes, batch, images, calls = CONFIGS[key]
        counted = array_calls(g_sizes, d_sizes, batch, images) if not args.gpu else None
        for threads in args.threads:
            wait_for_quiet(args.quiet_load)
            before = load()
            timings = compare(key, threads, args.gpu, args.repeats, keep_memory=not args.default_allocator)
            ours, theirs = [t["step"] for t in timings["minigan"]], [t["step"] for t in timings["PyTorch"]]
            row = f"| {name} | {threads} | {cell(ours)} | {cell(theirs)} |"
            if not args.gpu:
                peer = [t["step"] for t in timings["DeZero"]]
                row += f" {cell(peer)} |"
            row += f" {summary(ours)[0] / summary(theirs)[0]:.2f}× |"
            if not args.gpu:
                our_products = [t["products"] for t in timings["minigan"]]
                their_products = [t["products"] for t in timings["PyTorch"]]
                row += (f" {summary(ours)[0] / summary(peer)[0]:.2f}× "
                        f"| {summary(our_products)[0]:.3f} | {overhead_share(ours, our_products):.0f}% "
                        f"| {summary(their_products)[0]:.3f} | {overhead_share(theirs, their_products):.0f}% "
                        f"| {counted[0]:.0f} | {counted[1]:.0f} |")
            row += f" {before}, {load()} |"
            rows.append(row)
            print(rows[-1], flush=True)

    if args.gpu:
        header = "| configuration | threads | minigan ms/step | PyTorch ms/step | minigan / PyTorch |"
    else:
        header = ("| configuration | threads | minigan ms/step | PyTorch ms/step | DeZero ms/step | minigan / PyTorch "
                  "| minigan / DeZero | its matrix products alone, ms | overhead share | PyTorch's products alone, ms "
                  "| PyTorch's overhead share | array calls per step | read-backs per step |")
    header += " load averages (1/5/15 min) before, after |"
    rule = "|" + "---|" * (header.count("|") - 1)
    table = "\n".join([
        f"Machine: {machine()}; PyTorch {torch.__version__}" + ("" if args.gpu else ", DeZero 0.0.13")
        + f". {where}" + (f" Conditions: {args.conditions}." if args.conditions else ""),
        f"Median milliseconds per full training step (D-step + G-step) over {args.repeats} rounds, "
        f"(min–max) across rounds; each side in a process of its own, timed in turn with a "
        f"{PAUSE} s pause before each. Command: `{command}`.",
        "",
        header,
        rule,
        *rows,
    ])
    if not args.gpu:
        table += ("\n\nOverhead share: per round, (step time - time of the same matrix products alone) / step "
                  "time, median over the rounds; for PyTorch, its step against the same products done by "
                  "PyTorch (`torch.from_numpy` of the very arrays), so each side is measured against its "
                  "own matrix multiply. Array calls and read-backs: counted with "
                  "`minigan.fast.counting.counting()` (each array call would be one kernel launch on CuPy, each "
                  "read-back one wait for the GPU).")
    publish(section, table, args.write)


if __name__ == "__main__":
    main()
