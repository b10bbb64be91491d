"""Adam's update of the MNIST-size GAN's parameters: minigan's fused NumPy rule, the same rule
fused into three passes by numexpr, and PyTorch's Adam, at one thread.

At the MNIST size (G 100-256-512-784, D 784-512-256-1: about 1.1 million parameters)
the update is the largest piece of a step after the matrix products. minigan's rule
(``minigan/fast/fused.py``) makes 13 passes over the flat arrays, block by block so that
each pass finds its block in the cache (measured here against the same rule on the whole
arrays at once); numexpr, a library that evaluates a whole expression element by element in
one pass, could do it in three (m, v, θ). This measures whether that earns its place as an
optional fast path: both rules start from the same θ, g, m, v, and the script also checks
that they agree bit for bit.

    python benchmarks/optimizer_update.py [--write]
"""

from __future__ import annotations

import math

import numpy as np

from _common import benchmark_parser, machine, publish, summary, time_per_call

SIZES = ([100, 256, 512, 784], [784, 512, 256, 1])


def adam_optimizer(block: int | None = None):
    """minigan's Adam (fused, as by default) on the MNIST-size networks, one step taken,
    and gradients set, so each timed call is one update of every parameter. ``block``: the
    fused rule's block size instead of its own."""
    from unittest import mock

    import minigan
    from minigan import nn, optim
    from minigan.autograd import Tensor
    from minigan.fast import fused

    minigan.seed(0)
    params = nn.mlp(SIZES[0], name="G").parameters() + nn.mlp(SIZES[1], name="D").parameters()
    with mock.patch.object(fused, "BLOCK", block or fused.BLOCK):
        opt = optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
    rng = np.random.default_rng(1)
    for p in params:
        p.grad = Tensor(rng.standard_normal(p.shape).astype(np.float32) * 1e-2)
    opt.step()
    return opt


def numexpr_rule(opt):
    """The fused rule's arithmetic in three numexpr passes, on the optimiser's own flat arrays;
    returns (update, result) where result() gives (θ, m, v) after one update from the current state."""
    import numexpr

    fused = opt.fused
    f32 = np.float32
    beta1, beta2 = opt.betas
    theta, g = fused.theta.copy(), fused.gradient
    old = fused.banks[fused.bank]
    m, v = np.empty_like(theta), np.empty_like(theta)
    t = opt.steps[0] + 1
    constants = dict(B1=f32(beta1), C1=f32(1 - beta1), B2=f32(beta2), C2=f32(1 - beta2),
                     K=f32(1 / math.sqrt(1 - beta2**t)), E=f32(opt.eps), L=f32(opt.lr / (1 - beta1**t)))
    start = theta.copy()

    def update():
        theta[...] = start
        names = dict(constants, m0=old["m"], v0=old["v"], g=g, m=m, v=v, th=theta)
        numexpr.evaluate("m0 * B1 + g * C1", local_dict=names, out=m)
        numexpr.evaluate("v0 * B2 + g * g * C2", local_dict=names, out=v)
        numexpr.evaluate("th - m / (sqrt(v) * K + E) * L", local_dict=names, out=theta)

    return update, lambda: (theta, m, v)


def main():
    args = benchmark_parser(__doc__).parse_args()
    import threadpoolctl
    import torch

    threadpoolctl.threadpool_limits(1)
    torch.set_num_threads(1)
    rows = []

    opt = adam_optimizer()
    fused = opt.fused
    size = fused.theta.size

    # numexpr against the fused rule from one state: equal bit for bit?
    try:
        import numexpr
        numexpr.set_num_threads(1)
        update, result = numexpr_rule(opt)
        update()
        opt.step()  # the fused rule from the same state
        theta, m, v = result()
        equal = all(np.array_equal(a, b) for a, b in
                    [(theta, fused.theta), (m, fused.banks[fused.bank]["m"]), (v, fused.banks[fused.bank]["v"])])
        numexpr_ms = summary(time_per_call(update, calls=20, repeats=7, warmup=3))
        numexpr_row = (f"numexpr {numexpr.__version__}, three passes, plus one copy that puts θ back before each "
                       "(one thread)", numexpr_ms,
                       "θ, m, v " + ("equal" if equal else "NOT equal") + " bit for bit to the fused rule's")
    except ImportError:
        numexpr_row = None

    fused_ms = summary(time_per_call(opt.step, calls=20, repeats=7, warmup=3))
    from minigan.fast.fused import BLOCK
    rows.append((f"minigan, fused NumPy rule (13 passes, plus gathering the gradients and keeping θ for undo), "
                 f"in {len(fused.blocks)} blocks of at most {BLOCK:,} elements", fused_ms, "the default"))
    whole = adam_optimizer(block=size)
    whole_ms = summary(time_per_call(whole.step, calls=20, repeats=7, warmup=3))
    rows.append(("the same rule on the whole flat arrays at once (one block)", whole_ms,
                 f"the blocks take {fused_ms[0] / whole_ms[0]:.2f}× its time"))
    if numexpr_row:
        rows.append(numexpr_row)

    params = [torch.nn.Parameter(torch.from_numpy(p.data.copy())) for p in opt.params]
    for p in params:
        p.grad = torch.full_like(p, 1e-2)
    torch_opt = torch.optim.Adam(params, lr=2e-4, betas=(0.5, 0.999))
    torch_ms = summary(time_per_call(torch_opt.step, calls=20, repeats=7, warmup=3))
    rows.append((f"PyTorch {torch.__version__} torch.optim.Adam (its default on the CPU: one tensor at a time, "
                 "compound in-place operations such as addcmul_ and addcdiv_)",
                 torch_ms, ""))

    text = [f"Machine: {machine()}. Parameters: {size:,} float32, in {len(opt.params)} arrays; one thread. "
            "Command: `python benchmarks/optimizer_update.py --write`.", "",
            "| update | ms per update, median (min–max) of 7 | note |", "|---|---|---|"]
    for label, (median, low, high), note in rows:
        text.append(f"| {label} | {median:.2f} ({low:.2f}–{high:.2f}) | {note} |")
    if not numexpr_row:
        text.append("\nnumexpr is not installed here: its row was not measured.")
    publish("optimizer_update", "\n".join(text), args.write)


if __name__ == "__main__":
    main()
