"""Layers: the building blocks of the generator G and the discriminator D.

A ``Module`` is a function with learnable ``Parameter``s. Parameters are found by
looking at the module's attributes (and inside nested modules and lists of them), so
a layer only has to assign them: ``self.weight = Parameter(...)``.

The dense layer is y = x W + b, with x of shape (batch, in) and W of shape (in, out):
each row of x is one sample, and the bias b broadcasts over the batch (its gradient
is summed over the batch by the autodiff).
"""

from __future__ import annotations

import contextlib
import math
from typing import Iterator

import numpy as np

from minigan import backend, fast, ops, validate
from minigan.autograd import Tensor
from minigan.rng import resolve

__all__ = [
    "Parameter", "Buffer", "Module", "frozen", "evaluating", "Linear", "Maxout", "Dropout", "Sequential", "Standardize", "ReLU", "LeakyReLU", "Tanh", "Sigmoid",
    "glorot_uniform", "he_normal", "INITIALISERS", "ACTIVATIONS", "mlp",
]


class Parameter(Tensor):
    """A tensor that a Module learns: it always requires a gradient."""

    __slots__ = ()

    def __init__(self, data, name: str | None = None):
        super().__init__(data, requires_grad=True, name=name)


class Buffer(Tensor):
    """State a module keeps that is not learned (a Tensor that requires no gradient): no
    optimiser updates it, but ``state_dict`` saves and loads it with the parameters
    (spectral normalisation's vectors u and v are buffers)."""

    __slots__ = ()


class Module:
    """Base class: subclasses set Parameters / sub-Modules as attributes and define ``forward``.

    ``training`` says which mode the module is in: True while it learns (dropout drops units,
    spectral normalisation steps its power iteration),
    False when it is evaluated or sampled from (``eval()``, or ``with evaluating(module)``)."""

    training = True

    def __call__(self, *inputs): return self.forward(*inputs)

    def forward(self, *inputs): raise NotImplementedError

    def _members(self):
        """(name, value) for everything the module holds: its attributes, in the order set."""
        return vars(self).items()

    def named_parameters(self, prefix: str = "") -> Iterator[tuple[str, Parameter]]:
        """(dotted name, parameter) pairs, in the order the attributes were set."""
        return self._named(Parameter, prefix)

    def named_buffers(self, prefix: str = "") -> Iterator[tuple[str, Buffer]]:
        """(dotted name, buffer) pairs, found as the parameters are."""
        return self._named(Buffer, prefix)

    def _named(self, kind: type, prefix: str):
        for name, value in self._members():
            yield from _named_members_of(value, prefix + name, kind)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        """(name, sub-module) pairs for the modules directly inside this one."""
        for name, value in self._members():
            if isinstance(value, Module):
                yield name, value
            elif isinstance(value, (list, tuple)):
                yield from ((f"{name}.{i}", item) for i, item in enumerate(value) if isinstance(item, Module))

    def parameters(self) -> list[Parameter]: return [p for _, p in self.named_parameters()]

    # (dotted name, tensor) for every parameter, then every buffer: what state_dict saves
    def named_state(self) -> list[tuple[str, Tensor]]: return [*self.named_parameters(), *self.named_buffers()]

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.grad = None

    def train(self, mode: bool = True) -> Module:
        """Set training mode (``mode=False``: evaluation mode) here and in every sub-module."""
        self.training = bool(mode)
        for _, child in self.named_children():
            child.train(mode)
        return self

    def eval(self) -> Module:
        """Evaluation mode: layers that behave differently while learning (dropout, spectral
        normalisation) stop doing so."""
        return self.train(False)

    def requires_grad_(self, flag: bool = True) -> Module:
        """Set ``requires_grad`` on every parameter and return the module (PyTorch's spelling)."""
        for p in self.parameters():
            p.requires_grad_(flag)
        return self

    def state_dict(self) -> dict:
        """A copy of every parameter's and buffer's array, by dotted name."""
        return {name: t.data.copy() for name, t in self.named_state()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays from ``state`` into the parameters and buffers (in place), after checking them all."""
        validate.module_state(self, state)
        for name, t in self.named_state():
            t.data[...] = backend.asarray(state[name])
            t.version += 1  # changed in place: a graph built before this is stale

    def __repr__(self) -> str:
        """The module's name, then its sub-modules one per line, nested (as PyTorch prints)."""
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in self.named_children()]
        return f"{type(self).__name__}(" + "".join("\n" + line for line in lines) + ("\n)" if lines else ")")


@contextlib.contextmanager
def frozen(module: Module):
    """Inside this block ``module``'s parameters require no gradient: gradients still flow
    *through* the module to its inputs, but none are computed for (or stored on) its parameters.

    What counts is the moment the graph is built, as in PyTorch: a loss computed inside the
    block gives the module no gradient even when ``backward()`` is called after the block, and
    a loss computed before it still does."""
    params = module.parameters()
    previous = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad = False
    try:
        yield module
    finally:
        for p, flag in zip(params, previous):
            p.requires_grad = flag


@contextlib.contextmanager
def evaluating(*modules: Module):
    """Inside this block the modules are in evaluation mode (no dropout); on leaving, each is
    back in the mode it had. Sampling and evaluation use it, so a picture of D or a sample of G
    is never thinned by dropout."""
    previous = [module.training for module in modules]
    for module in modules:
        module.eval()
    try:
        yield modules[0] if len(modules) == 1 else modules
    finally:
        for module, mode in zip(modules, previous, strict=True):
            module.train(mode)


def _named_members_of(value, name: str, kind: type):
    """(dotted name, tensor) for the ``kind`` (Parameter or Buffer) tensors in ``value``."""
    if isinstance(value, kind):
        yield name, value
    elif isinstance(value, Module):
        yield from value._named(kind, name + ".")
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _named_members_of(item, f"{name}.{i}", kind)


# ----------------------------------------------------------------------------- initialisers


def glorot_uniform(fan_in: int, fan_out: int, rng=None) -> np.ndarray:
    """W ~ U(-a, a) with a = √(6 / (fan_in + fan_out)): keeps activation variance steady
    forward and backward for tanh-like units (Glorot & Bengio, 2010)."""
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return resolve(rng).uniform(-limit, limit, size=(fan_in, fan_out))


def he_normal(fan_in: int, fan_out: int, rng=None) -> np.ndarray:
    """W ~ N(0, 2 / fan_in): keeps activation variance steady through ReLUs (He et al., 2015)."""
    return resolve(rng).normal(0.0, math.sqrt(2.0 / fan_in), size=(fan_in, fan_out))


INITIALISERS = {"glorot": glorot_uniform, "he": he_normal}


# ----------------------------------------------------------------------------- layers


class Linear(Module):
    """Dense layer y = x W + b;  x: (batch, in_features) -> y: (batch, out_features)."""

    def __init__(self, in_features: int, out_features: int, *, init="glorot", dtype="float32", rng=None, name=None):
        self.in_features = validate.positive_int("Linear: in_features", in_features)
        self.out_features = validate.positive_int("Linear: out_features", out_features)
        self.name = name
        weight = validate.lookup(INITIALISERS, init, "initialiser")(self.in_features, self.out_features, rng)
        prefix = f"{name}." if name else ""  # so an error names 'G.0.weight', not just 'weight'
        self.weight = Parameter(backend.asarray(weight, dtype=dtype), name=prefix + "weight")
        self.bias = Parameter(backend.current().zeros(self.out_features, dtype=dtype), name=prefix + "bias")

    def forward(self, x: Tensor) -> Tensor: return ops.linear(validate.layer_input(self, x), self.weight, self.bias)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"Linear{label}({self.in_features} -> {self.out_features})"


class Maxout(Linear):
    """A maxout layer (Goodfellow et al. 2013): ``units`` outputs, each the largest of ``pieces``
    affine functions of x, h_i = max_j (x W + b)_ij. It learns its own piecewise-linear
    activation; the gradient reaches only the winning piece of each unit."""

    def __init__(self, in_features: int, units: int, pieces: int, **options):
        self.units = validate.positive_int("Maxout: units", units)
        self.pieces = validate.positive_int("Maxout: pieces", pieces)
        super().__init__(in_features, self.units * self.pieces, **options)

    def forward(self, x: Tensor) -> Tensor:
        scores = super().forward(x)  # (batch, units * pieces), the pieces of a unit side by side
        return ops.max(ops.reshape(scores, (x.shape[0], self.units, self.pieces)), axis=2)

    def __repr__(self) -> str:
        label = f" {self.name!r}" if self.name else ""
        return f"Maxout{label}({self.in_features} -> {self.units} units of {self.pieces} pieces)"


class Dropout(Module):
    """While training, each input is zeroed with probability p and the rest scaled by 1/(1 - p),
    so a unit's expected output is unchanged (inverted dropout; Srivastava et al. 2014); in
    evaluation mode the layer passes x through. The mask is a constant, so the gradient is
    gy · mask / (1 - p). It is drawn on the host from ``rng`` (default: minigan's generator)."""

    def __init__(self, p: float = 0.5, rng=None):
        self.p, self.rng = validate.fraction("Dropout: p", p), rng if rng is None else resolve(rng)

    def forward(self, x: Tensor) -> Tensor:
        if not self.training or self.p == 0:
            return x
        keep = resolve(self.rng).random(x.shape) >= self.p
        return x * Tensor(backend.asarray(keep / (1.0 - self.p), dtype=x.dtype))

    def __repr__(self) -> str: return f"Dropout({self.p})"


class ReLU(Module):
    def forward(self, x): return ops.relu(x)


class LeakyReLU(Module):
    def __init__(self, slope: float = 0.2): self.slope = slope

    def forward(self, x): return ops.leaky_relu(x, self.slope)

    def __repr__(self): return f"LeakyReLU({self.slope})"


class Tanh(Module):
    def forward(self, x): return ops.tanh(x)


class Sigmoid(Module):
    def forward(self, x): return ops.sigmoid(x)


class Standardize(Module):
    """y = (x - μ) / σ with fixed (not learned) μ and σ, e.g. the data's mean and spread.

    A first layer for D on data far from 0 or of large scale: with zero biases every
    ReLU-family unit bends at 0, so on inputs that never come near 0 the network would be
    linear, and a linear D can compare means but not spreads. μ and σ are constants, not
    parameters, so ``state_dict`` does not hold them: they come from the data when D is built."""

    def __init__(self, mean, std, dtype: str = "float32"):
        std = np.asarray(std, dtype=np.float64)
        if not (std > 0).all():
            raise ValueError(f"Standardize: every standard deviation must be positive, got {std}")
        self.mean = Tensor(backend.asarray(mean, dtype=dtype))
        self.inverse_std = Tensor(backend.asarray(1.0 / std, dtype=dtype))

    def forward(self, x): return (x - self.mean) * self.inverse_std

    def __repr__(self): return "Standardize()"


ACTIVATIONS = {"relu": ReLU, "leaky_relu": LeakyReLU, "tanh": Tanh, "sigmoid": Sigmoid}


class Sequential(Module):
    """Modules applied one after another: y = f_n(... f_2(f_1(x))).

    Layers are named by position, as in PyTorch: layer i's parameters are 'i.weight' and
    'i.bias', and ``mlp(..., name='G')`` names that layer 'G.i'."""

    def __init__(self, *layers: Module): self.layers = list(layers)

    def forward(self, x):
        fused = fast.mlp.forward(self.layers, x, Linear, ACTIVATIONS)  # inside GAN.train_step: the loop
        if fused is not None:  # below as one op, the same numbers (minigan.fast.mlp); else None
            return fused
        for layer in self.layers:
            x = layer(x)
        return x

    def _members(self): return ((str(i), layer) for i, layer in enumerate(self.layers))


def mlp(sizes, *, activation: str = "leaky_relu", output_activation: str | None = None, init: str | None = None,
        dtype: str = "float32", rng=None, name: str = "mlp", input_layer: Module | None = None) -> Sequential:
    """A multilayer perceptron: Linear layers of the given ``sizes`` with activations between.

    ``mlp([2, 128, 128, 1])`` is 2 -> 128 -> 128 -> 1. The output is left linear unless
    ``output_activation`` is given (e.g. 'tanh' for a generator of images in [-1, 1]).
    Layers are named '<name>.<index>', the index of the layer in the Sequential (so layer
    'G.2' owns G's parameters '2.weight' and '2.bias'), and an error points at the right one.
    ``input_layer`` (e.g. a ``Standardize``) goes first and is counted in that numbering. The
    default initialiser is He for ReLU-family activations and Glorot otherwise.
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"mlp needs at least an input and an output size, got {sizes}")
    hidden_activation = validate.lookup(ACTIVATIONS, activation, "activation")
    init = init or ("he" if activation in ("relu", "leaky_relu") else "glorot")
    layers: list[Module] = [] if input_layer is None else [input_layer]
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(Linear(n_in, n_out, init=init, dtype=dtype, rng=rng, name=f"{name}.{len(layers)}"))
        if i < len(sizes) - 2:
            layers.append(hidden_activation())
    if output_activation is not None:
        layers.append(validate.lookup(ACTIVATIONS, output_activation, "activation")())
    return Sequential(*layers)
