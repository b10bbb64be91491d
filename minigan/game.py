"""The x·y game (note 000): why simultaneous gradient steps need not find an equilibrium.

Player 1 picks x to minimise x·y; player 2 picks y to maximise it (minimise -x·y).
The only equilibrium is (0, 0). Each takes a gradient step at the same time:

    x ← x - η ∂(x·y)/∂x = x - η y
    y ← y - η ∂(-x·y)/∂y = y + η x

so (x, y) is multiplied by the matrix [[1, -η], [η, 1]], whose effect on the radius is
    x'² + y'² = (1 + η²)(x² + y²)
exactly: every step spirals outwards, the players circle the equilibrium and drift away
from it, as GAN training can. The two gradients here come from minigan's autodiff and
the updates from its SGD optimiser: the same machinery as a GAN's D-step and G-step.
"""

from __future__ import annotations

from minigan import nn, optim
from minigan.autograd import grad

__all__ = ["play_bilinear_game"]


def play_bilinear_game(x0: float, y0: float, lr: float, steps: int, dtype: str = "float64"):
    """Simultaneous gradient play on min_x max_y x·y; returns the path [(x, y), ...] of steps + 1 points."""
    x = nn.Parameter([float(x0)], name="x")
    y = nn.Parameter([float(y0)], name="y")
    x.data, y.data = x.data.astype(dtype), y.data.astype(dtype)
    player_x, player_y = optim.SGD([x], lr=lr), optim.SGD([y], lr=lr)
    path = [(x.item(), y.item())]
    for _ in range(steps):
        value = x * y
        (x.grad,) = grad(value, [x], retain_graph=True)  # player 1 descends x·y
        (y.grad,) = grad(-value, [y])  # player 2 descends -x·y; both at the same (x, y)
        player_x.step()
        player_y.step()
        path.append((x.item(), y.item()))
    return path
