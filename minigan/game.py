"""The x·y game: why gradient steps need not find an equilibrium (the exercise on V(x, y) = x·y
in Goodfellow's NIPS 2016 tutorial).

Player 1 picks x to minimise x·y; player 2 picks y to maximise it (minimise -x·y).
The only equilibrium is (0, 0). Each takes a gradient step at the same time:

    x ← x - η ∂(x·y)/∂x = x - η y
    y ← y - η ∂(-x·y)/∂y = y + η x

so (x, y) is multiplied by the matrix [[1, -η], [η, 1]], whose effect on the radius is
    x'² + y'² = (1 + η²)(x² + y²)
exactly: every step spirals outwards, the players circle the equilibrium and drift away
from it, as GAN training can.

``minigan.gan`` alternates instead: D moves, then G answers the D that just moved. Here
x moves first and y answers the new x, y ← y + η x', and the matrix becomes
[[1, -η], [η, 1 - η²]], of determinant 1: the players still circle the equilibrium, on a
closed orbit that neither spirals out nor in (for η < 2). The two gradients come from
minigan's autodiff and the updates from its SGD optimiser: the same machinery as a GAN's
D-step and G-step.
"""

from __future__ import annotations

from minigan import nn, optim
from minigan.autograd import grad

__all__ = ["play_bilinear_game"]


def play_bilinear_game(x0: float, y0: float, lr: float, steps: int, dtype: str = "float64",
                       alternating: bool = False):
    """Gradient play on min_x max_y x·y; returns the path [(x, y), ...] of steps + 1 points.

    Simultaneous by default: both gradients at the same (x, y). ``alternating``: y's
    gradient is taken after x has moved, as gan.py's G-step follows the D-step.
    """
    x = nn.Parameter([float(x0)], name="x")
    y = nn.Parameter([float(y0)], name="y")
    x.data, y.data = x.data.astype(dtype), y.data.astype(dtype)
    player_x, player_y = optim.SGD([x], lr=lr), optim.SGD([y], lr=lr)
    path = [(x.item(), y.item())]
    for _ in range(steps):
        (x.grad,) = grad(x * y, [x])  # player 1 descends x·y
        if alternating:
            player_x.step()  # x moves first; y answers the new x
        (y.grad,) = grad(-(x * y), [y])  # player 2 descends -x·y
        if not alternating:
            player_x.step()  # both gradients were taken at the same (x, y)
        player_y.step()
        path.append((x.item(), y.item()))
    return path
