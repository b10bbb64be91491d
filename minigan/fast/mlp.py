"""A plain multilayer perceptron run as one graph node: the same numbers, less bookkeeping.

``nn.Sequential`` runs its layers one by one, and each ``Linear`` and each activation is an op
of its own: a node of the graph in the forward pass, and in the backward pass a handful more
ops (every op's backward is written with ops, so that it can be differentiated again). On a
small network that bookkeeping, not the arithmetic, takes most of a training step's time.

Inside ``minigan.fast.switch.fusing()`` (``GAN.train_step`` runs in it), a Sequential made only
of ``Linear`` layers, each followed by at most one ReLU, LeakyReLU, tanh or sigmoid (what
``nn.mlp`` builds), runs here as one ``FusedMLP`` op instead. Outside it, and so in every graph a learner
builds, prints or draws by hand, each layer is its own op.
Its forward calls the very ``forward`` of each layer's op on the arrays, in the same order;
its backward is the chain rule of those ops on arrays, each line the arithmetic of that op's
``backward`` in the same order, and a matrix product only where some input below it wants a
gradient. So the values and the gradients are the plain path's bit for bit
(``tests/test_fused_mlp.py`` checks it for every activation, frozen layers, inputs with and
without a gradient, float32 and float64, and whole training runs). One limit: a weight used in
three or more places of one loss (a network run on three batches) gets the same sum of
gradients as on the plain path, added in an order that may differ in the last bit; a training
step uses each weight twice at most.

What stays the plain path's:
- anything else (dropout, maxout, a spectrally normalised layer, a ``Standardize`` first layer,
  a layer that appears twice, an input of the wrong shape or dtype) runs the plain loop, so its
  behaviour and its errors are the plain ones;
- the version counters: the op keeps every weight's version, so ``backward()`` still refuses
  a graph whose weights changed since it was built;
- second order: a graph built inside ``fusing()`` refuses to be differentiated twice
  (``create_graph=True``) with a clear error; ``GAN.train_step`` leaves WGAN-GP, whose gradient
  penalty needs it, on the plain path.
"""

from __future__ import annotations

import numbers

import numpy as np

from minigan import autograd, ops
from minigan.autograd import Tensor
from minigan.fast.switch import fusing_on

__all__ = ["FusedMLP", "forward"]


# the op of each activation layer, by the name ``nn.ACTIVATIONS`` gives its class
ACTIVATION_OPS = {"relu": lambda layer: ops.ReLU(), "leaky_relu": lambda layer: ops.LeakyReLU(float(layer.slope)),
                  "tanh": lambda layer: ops.Tanh(), "sigmoid": lambda layer: ops.Sigmoid()}


def forward(layers: list, x, linear_class: type, activation_classes: dict):
    """``layers`` applied to ``x`` as one ``FusedMLP`` op, or None outside ``fusing()`` and when
    they cannot run fused.

    ``linear_class`` and ``activation_classes`` (name -> class) are nn's own, passed in by
    ``nn.Sequential``: this module does not import nn, which imports it."""
    if not fusing_on() or not layers or not isinstance(x, Tensor) or x.ndim != 2 or x.dtype not in autograd.FLOAT_DTYPES:
        return None
    names = {cls: name for name, cls in activation_classes.items()}
    linears, activations, width, i = [], [], x.shape[1], 0
    while i < len(layers):
        linear = layers[i]
        if type(linear) is not linear_class or "forward" in vars(linear) or linear.in_features != width:
            return None  # not a Linear, or one given a forward of its own, or not chained
        weight, bias = linear.weight, linear.bias
        if weight.shape != (width, linear.out_features) or bias.shape != (linear.out_features,):
            return None  # a parameter replaced by one of another shape: the plain op's error says which
        if weight.dtype != x.dtype or bias.dtype != x.dtype or type(weight.data) is not type(x.data) \
                or type(bias.data) is not type(x.data):
            return None
        after = layers[i + 1] if i + 1 < len(layers) else None
        name = names.get(type(after))
        if name is not None and "forward" in vars(after):
            return None  # an activation given a forward of its own
        if name == "leaky_relu" and (isinstance(after.slope, bool) or not isinstance(after.slope, numbers.Real)
                                     or not 0 < after.slope < 1):
            return None  # slope 0 is relu, and a slope out of [0, 1) an error: the plain path's business
        linears.append(linear)
        activations.append(None if name is None else after)
        width, i = linear.out_features, i + 1 + (name is not None)
    params = [p for linear in linears for p in (linear.weight, linear.bias)]
    if len({id(p) for p in params}) != len(params):
        return None  # a weight used twice in the network (a layer repeated, or tied weights)
    return FusedMLP([None if a is None else ACTIVATION_OPS[names[type(a)]](a) for a in activations])(x, *params)


class FusedMLP(autograd.Function):
    """h_0 = x,  a_i = h_{i-1} W_i + b_i,  h_i = f_i(a_i),  y = h_n;  inputs x, W_1, b_1, ..., W_n, b_n.

    Backward, from g = gy at the top, layer by layer down:  g ← g · f_i'(a_i),
    gb_i = Σ_batch g,  gW_i = h_{i-1}ᵀ g,  and g ← g W_iᵀ for the layer below."""

    def __init__(self, activation_ops: list):
        self.activation_ops = activation_ops  # None for a layer without an activation

    def forward(self, x, *params):
        self.h, self.a = [x], []  # each layer's input (and the last one's output), and its pre-activation
        for i, activation in enumerate(self.activation_ops):
            self.a.append(ops.Linear.forward(self, self.h[-1], params[2 * i], params[2 * i + 1]))
            self.h.append(self.a[-1] if activation is None else activation.forward(self.a[-1]))
        return self.h[-1]

    def backward(self, gy):
        if autograd.is_grad_enabled():
            raise RuntimeError("a network run inside minigan.fast.switch.fusing() cannot be differentiated twice "
                               "(create_graph=True); build that graph outside fusing(), op by op")
        wanted, grads, g = self.needs_grad, [None] * len(self.inputs), gy.data
        for i in reversed(range(len(self.activation_ops))):  # layer i + 1: W = inputs[1 + 2i], b = inputs[2 + 2i]
            if self.activation_ops[i] is not None:
                g = activation_backward(self.activation_ops[i], g, self.a[i], self.h[i + 1])
            if wanted[2 + 2 * i]:
                grads[2 + 2 * i] = Tensor(g.sum(axis=(0,)))
            if wanted[1 + 2 * i]:
                grads[1 + 2 * i] = Tensor(self.h[i].T @ g)
            if not any(wanted[:1 + 2 * i]):  # no input below this layer wants a gradient
                break
            g = matmul_by_transpose(g, self.inputs[1 + 2 * i].data)
        else:
            grads[0] = Tensor(g)
        return tuple(grads)


def matmul_by_transpose(g, w):
    """g Wᵀ. When W has one column (D's last layer), g Wᵀ is an outer product, each element one
    product g_i w_j; NumPy's matmul takes about 2.5 times as long for it as broadcasting on
    256 × 128 float32 arrays. Broadcasting gives the same numbers once + 0.0 turns a product of
    -0 into the +0 that matmul's sum (0 + g_i w_j) gives: so on NumPy with OpenBLAS, and
    tests/test_fused_mlp.py checks it on the NumPy that runs it; CuPy keeps the matmul."""
    if w.shape[1] == 1 and type(g) is np.ndarray:
        return g * w.T + 0.0
    return g @ w.T


def activation_backward(op, g, a, y):
    """g · f'(a), for the activation op ``op`` with input ``a`` and output ``y``: the arithmetic of
    that op's ``backward`` on arrays, in its order."""
    if type(op) is ops.ReLU:
        return g * (a > 0).astype(a.dtype, copy=False)
    if type(op) is ops.LeakyReLU:  # g · ((a > 0)(1 - slope) + slope), in place: no new arrays
        slope = a.dtype.type(op.slope)
        factor = (a > 0) * (1 - slope)
        factor += slope
        factor *= g
        return factor
    if type(op) is ops.Tanh:
        return g * (1.0 - y * y)
    return g * y * (1.0 - y)  # Sigmoid
