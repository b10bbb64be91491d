"""The checks of the notebooks' exercises: each says in one line whether your answer is right,
or which element is wrong and by how much.

Each notebook asks you to write something (Sigmoid's backward, G's gradient by the chain rule,
D* for two Gaussians, the non-saturating loss, Adam's update, the x·y game's steps, D's loss),
then runs its check. A check compares your answer with minigan's own on numbers: gradients
with minigan's gradient checker (``minigan.gradcheck.check_grad``, central differences in
float64), values with the formula's own numbers. It returns a ``Verdict``: ``bool(verdict)``
says right or wrong, and the notebook shows its one line. Reference solutions are in
``solutions.py`` beside this file, for when you are stuck (``tests/test_exercises.py`` runs
every check against them, and against a wrong answer planted in each).
"""

from __future__ import annotations

import math

import numpy as np

from minigan import Tensor, game, losses, nn, ops, optim, theory
from minigan.autograd import grad
from minigan.data import GaussianMixture
from minigan.gradcheck import GradientCheckError, check_grad

__all__ = ["Verdict", "check_sigmoid_backward", "check_central_difference", "check_generator_gradient",
           "check_d_star", "check_non_saturating_loss", "check_adam_step", "check_xy_steps",
           "check_discriminator_loss"]


class Verdict:
    """A check's answer: ``ok`` and one line, shown as the cell's output."""

    def __init__(self, ok: bool, line: str):
        self.ok, self.line = ok, line

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.line


def _right(what: str) -> Verdict:
    return Verdict(True, f"✓ right: {what}")


def _wrong(what: str) -> Verdict:
    return Verdict(False, f"✗ wrong: {what}")


def _checked(check):
    """Run ``check``; an exercise not yet written (NotImplementedError) is said so, not a traceback."""
    def run(*answers):
        try:
            return check(*answers)
        except NotImplementedError:
            return Verdict(False, "… not written yet: replace the `raise NotImplementedError` above with your "
                                  "answer, run that cell, then this one")
    run.__name__, run.__doc__ = check.__name__, check.__doc__
    return run


def _worst(yours, expected, name_of, atol: float = 1e-8, rtol: float = 1e-6):
    """'where: yours, expected (off by)' for the element furthest out of tolerance, or None if all
    agree; ``name_of(index)`` names an element (its index is a tuple)."""
    expected = np.asarray(expected, dtype=np.float64)
    scalar = expected.ndim == 0
    expected = np.atleast_1d(expected)
    yours = np.broadcast_to(np.asarray(yours, dtype=np.float64), expected.shape)
    with np.errstate(invalid="ignore"):
        excess = np.abs(yours - expected) / (atol + rtol * np.abs(expected))
    excess[~np.isfinite(yours)] = np.inf
    i = np.unravel_index(int(np.argmax(excess)), excess.shape)
    if excess[i] <= 1:
        return None
    where = name_of(() if scalar else tuple(int(k) for k in i))
    return f"{where}: yours {yours[i]:.6g}, expected {expected[i]:.6g} (off by {abs(yours[i] - expected[i]):.3g})"


def _element(what: str):
    return lambda index: f"{what} {index[0] if len(index) == 1 else index}" if index else what


# ----------------------------------------------------------------------------- 01 autodiff


@_checked
def check_sigmoid_backward(sigmoid_class) -> Verdict:
    """Your Sigmoid Function's backward against central differences, on a 3×4 input."""
    x = Tensor(np.random.default_rng(0).normal(0, 2, (3, 4)), requires_grad=True)
    y = sigmoid_class()(x)
    if not np.allclose(y.numpy(), ops.sigmoid(x).numpy(), rtol=1e-12, atol=0):
        return _wrong("the forward pass is not σ(x) (it was given: keep it)")
    try:
        check_grad(lambda t: sigmoid_class()(t), [x])
    except GradientCheckError as exc:
        return _wrong(f"{exc} — index (row, column) of x; analytic is yours, numeric is central differences")
    return _right("your backward agrees with central differences on all 12 elements")


@_checked
def check_central_difference(derivative) -> Verdict:
    """Your ``derivative(f, x, eps)`` on three functions at a few points, against their exact derivatives."""
    cases = [("sin", math.sin, math.cos), ("x³", lambda x: x**3, lambda x: 3 * x**2),
             ("exp(-x²)", lambda x: math.exp(-x * x), lambda x: -2 * x * math.exp(-x * x))]
    points = (-1.5, 0.3, 2.0)
    for name, f, exact in cases:
        yours = [derivative(f, x, 1e-5) for x in points]
        problem = _worst(yours, [exact(x) for x in points], lambda i: f"d/dx {name} at x = {points[i[0]]}",
                         atol=1e-8, rtol=1e-7)
        if problem:
            return _wrong(problem)
    return _right("central differences of sin, x³ and exp(-x²) match their exact derivatives to 1e-7")


# ----------------------------------------------------------------------------- 02 the gradient through G(z)


def _generator_gradient_by_autodiff(a, b, w, c, z):
    A, B = Tensor(float(a), requires_grad=True), Tensor(float(b), requires_grad=True)
    logits = Tensor(float(w)) * (A * Tensor(np.asarray(z, dtype=np.float64)) + B) + Tensor(float(c))
    loss = losses.non_saturating_generator_loss(logits)
    return [g.item() for g in grad(loss, [A, B])]


@_checked
def check_generator_gradient(gradient) -> Verdict:
    """Your ``gradient(a, b, w, c, z)`` = (dL_G/da, dL_G/db) for G(z) = a·z + b, D's logit w·x + c and the
    non-saturating L_G = mean softplus(-logit), against minigan's backward through D and G(z)."""
    rng = np.random.default_rng(1)
    for trial in range(3):
        a, b, w, c = rng.normal(size=4)
        z = rng.normal(size=8)
        expected = _generator_gradient_by_autodiff(a, b, w, c, z)
        problem = _worst(gradient(a, b, w, c, z), expected, lambda i: ("dL_G/da", "dL_G/db")[i[0]])
        if problem:
            return _wrong(f"{problem}, at a={a:.3f}, b={b:.3f}, w={w:.3f}, c={c:.3f}")
    return _right("your chain rule gives minigan's dL_G/da and dL_G/db, through D and G(z), on 3 random cases")


# ----------------------------------------------------------------------------- 03 the optimal discriminator

TWO_GAUSSIANS = {"mean_data": 0.0, "std_data": 1.0, "mean_g": 2.0, "std_g": 0.5}  # p_data and p_g of the exercise


@_checked
def check_d_star(d_star) -> Verdict:
    """Your ``d_star(x)`` for p_data = N(0, 1) and p_g = N(2, 0.5²) on 201 points from -4 to 6,
    against theory.optimal_discriminator."""
    p = TWO_GAUSSIANS
    p_data = GaussianMixture([[p["mean_data"]]], [p["std_data"]])
    p_g = GaussianMixture([[p["mean_g"]]], [p["std_g"]])
    x = np.linspace(-4, 6, 201)
    expected = theory.optimal_discriminator(p_data, p_g, x[:, None])
    yours = np.asarray(d_star(x), dtype=np.float64).ravel()
    if yours.shape != x.shape:
        return _wrong(f"d_star(x) should give one number per x ({x.shape[0]}), got shape {yours.shape}")
    problem = _worst(yours, expected, lambda i: f"D*(x) at x = {x[i[0]]:.2f}", atol=1e-9)
    if problem:
        return _wrong(problem)
    return _right("D*(x) = p_data/(p_data + p_g) on all 201 points from -4 to 6")


# ----------------------------------------------------------------------------- 04 the generator losses


@_checked
def check_non_saturating_loss(loss) -> Verdict:
    """Your ``loss(logits)`` (a Tensor of D's logits on fakes -> a one-element Tensor): its values,
    finite at logits of ±1000, and its gradient, by minigan's gradient checker."""
    rng = np.random.default_rng(2)
    for logits in (rng.normal(0, 3, (6, 1)), np.array([[-1000.0], [0.0], [1000.0]])):
        with np.errstate(all="ignore"):  # a log of 0 is said below, in words
            yours = loss(Tensor(logits)).numpy()
        expected = losses.non_saturating_generator_loss(Tensor(logits)).numpy()
        if not np.isfinite(yours).all():
            return _wrong(f"the loss is {yours.item()} at logits {logits.ravel().tolist()}: compute it from the "
                          "logit (softplus), never from D = σ(ℓ), whose log is -inf once σ rounds to 0")
        problem = _worst(yours, expected, _element("the loss"))
        if problem:
            return _wrong(f"{problem} at logits {np.round(logits.ravel(), 3).tolist()}")
    logits = Tensor(rng.normal(0, 3, (5, 1)), requires_grad=True)
    try:
        check_grad(loss, [logits])
    except GradientCheckError as exc:
        return _wrong(f"{exc} (index: which logit)")
    return _right("-E[ln D(G(z))] from the logits: right values, finite at ±1000, gradient checked")


# ----------------------------------------------------------------------------- 05 the lab: Adam


@_checked
def check_adam_step(adam_step) -> Verdict:
    """Your ``adam_step(theta, g, m, v, t, lr, betas, eps) -> (theta, m, v)`` over 5 steps of a
    3-element parameter, against minigan's optim.Adam given the same gradients."""
    rng = np.random.default_rng(3)
    lr, betas, eps = 0.1, (0.5, 0.999), 1e-8
    parameter = nn.Parameter(rng.normal(size=3).astype(np.float64))
    reference = optim.Adam([parameter], lr=lr, betas=betas, eps=eps)
    theta, m, v = parameter.numpy().copy(), np.zeros(3), np.zeros(3)
    for t in range(1, 6):
        g = rng.normal(size=3)
        parameter.grad = Tensor(g.copy())
        reference.step()
        theta, m, v = (np.asarray(a, dtype=np.float64) for a in adam_step(theta, g, m, v, t, lr, betas, eps))
        problem = _worst(theta, parameter.numpy(), _element(f"θ after step {t}, element"), atol=1e-12, rtol=1e-9)
        if problem:
            return _wrong(problem)
    return _right("your update gives optim.Adam's parameters after each of 5 steps (bias correction included)")


# ----------------------------------------------------------------------------- 06 the x·y game


@_checked
def check_xy_steps(simultaneous, alternating) -> Verdict:
    """Your ``simultaneous(x, y, lr)`` and ``alternating(x, y, lr)``, each one step (x, y) -> (x, y),
    iterated 20 steps from (1, 0) with η = 0.1, against minigan's game.play_bilinear_game."""
    for name, step, alternate in (("simultaneous", simultaneous, False), ("alternating", alternating, True)):
        expected = game.play_bilinear_game(1.0, 0.0, 0.1, 20, alternating=alternate)
        point = expected[0]
        for t in range(1, 21):  # the first step that goes wrong
            point = tuple(float(v) for v in step(*point, 0.1))
            problem = _worst(point, expected[t], lambda i, name=name, t=t: f"{name} game, {'xy'[i[0]]} after step {t}",
                             atol=1e-12, rtol=1e-10)
            if problem:
                return _wrong(problem)
    return _right("both games step as minigan's: the simultaneous one spirals out, the alternating one orbits")


# ----------------------------------------------------------------------------- 07 real digits: D's loss


@_checked
def check_discriminator_loss(loss) -> Verdict:
    """Your ``loss(logits_real, logits_fake)`` = L_D,r + L_D,f from D's logits, against
    losses.discriminator_losses: values (finite at ±1000) and gradients (minigan's checker)."""
    rng = np.random.default_rng(4)
    for real, fake in ((rng.normal(0, 3, (5, 1)), rng.normal(0, 3, (4, 1))),
                       (np.array([[1000.0], [-1000.0]]), np.array([[-1000.0], [1000.0]]))):
        with np.errstate(all="ignore"):
            yours = loss(Tensor(real), Tensor(fake)).numpy()
        expected = sum(part.numpy() for part in losses.discriminator_losses(Tensor(real), Tensor(fake)))
        if not np.isfinite(yours).all():
            return _wrong(f"L_D is {yours.item()} at logits of ±1000: compute it from the logits (softplus)")
        problem = _worst(yours, expected, _element("L_D"))
        if problem:
            return _wrong(f"{problem} (real logits {np.round(real.ravel(), 2).tolist()}, "
                          f"fake {np.round(fake.ravel(), 2).tolist()})")
    real, fake = (Tensor(rng.normal(0, 2, (n, 1)), requires_grad=True) for n in (4, 3))
    try:
        check_grad(loss, [real, fake])
    except GradientCheckError as exc:
        return _wrong(f"{exc} (input 0: the real logits, input 1: the fake ones)")
    return _right("L_D = L_D,r + L_D,f from the logits: right values, finite at ±1000, gradient checked")
