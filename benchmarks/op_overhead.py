"""Per-op overhead: a minigan op (forward, and forward + backward) against the bare NumPy call.

On small arrays the arithmetic takes a few hundred nanoseconds; what a Python autodiff
adds is bookkeeping (a Function object, a Tensor, the graph, the backward walk). This
measures it, in microseconds per op, on 32×32 float32 arrays.

    python benchmarks/op_overhead.py [--write]
"""

from __future__ import annotations

import numpy as np

from _common import benchmark_parser, machine, publish, summary, time_per_call
from minigan import Tensor, grad, no_grad, ops

SIZE = 32
rng = np.random.default_rng(0)
a = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
b = rng.standard_normal((SIZE, SIZE)).astype(np.float32)
bias = rng.standard_normal(SIZE).astype(np.float32)

# name: (bare NumPy, the minigan op on tensors, NumPy input arrays)
CASES = {
    "add (a + bias, broadcast)": (lambda x, c: x + c, ops.add, (a, bias)),
    "mul (a * b)": (lambda x, y: x * y, ops.mul, (a, b)),
    "matmul (a @ b)": (lambda x, y: x @ y, ops.matmul, (a, b)),
    "linear (a @ b + bias)": (lambda x, y, c: x @ y + c, ops.linear, (a, b, bias)),
    "sum (all)": (lambda x: x.sum(), ops.sum, (a,)),
    "exp": (np.exp, ops.exp, (a,)),
    "tanh": (np.tanh, ops.tanh, (a,)),
    "relu": (lambda x: np.maximum(x, 0), ops.relu, (a,)),
    "leaky_relu": (lambda x: np.maximum(x, 0.2 * x), ops.leaky_relu, (a,)),
}


def main():
    parser = benchmark_parser(__doc__)
    args = parser.parse_args()
    calls, repeats = 2000, 7
    rows = []
    for name, (bare, op, arrays) in CASES.items():
        leaves = [Tensor(x, requires_grad=True) for x in arrays]
        seed = np.ones_like(bare(*arrays))

        def forward_no_graph():
            with no_grad():
                op(*leaves)

        def forward_backward():  # grad() returns the gradients: nothing accumulates between calls
            grad(op(*leaves), leaves, seed)

        numpy_us = summary(time_per_call(lambda: bare(*arrays), calls, repeats, warmup=100), 1e6)[0]
        forward_us = summary(time_per_call(forward_no_graph, calls, repeats, warmup=100), 1e6)[0]
        both_us = summary(time_per_call(forward_backward, calls, repeats, warmup=100), 1e6)[0]
        rows.append(f"| {name} | {numpy_us:.2f} | {forward_us:.2f} | {forward_us - numpy_us:.2f} | {both_us:.2f} |")
        print(rows[-1], flush=True)

    table = "\n".join([
        f"Machine: {machine()}. Arrays: {SIZE}×{SIZE} float32. Median of {repeats} runs of {calls} calls. "
        "Command: `python benchmarks/op_overhead.py --write`.",
        "",
        "| op | NumPy call µs | minigan forward µs (no graph) | overhead µs | minigan forward + backward µs |",
        "|---|---|---|---|---|",
        *rows,
    ])
    publish("op_overhead", table, args.write)


if __name__ == "__main__":
    main()
