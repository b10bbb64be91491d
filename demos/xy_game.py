"""The x·y game: simultaneous gradient steps spiral away from the equilibrium (note 000).

Player 1 moves x to make x·y small, player 2 moves y to make it large. The equilibrium
is (0, 0), yet each simultaneous gradient step multiplies the distance to it by
exactly sqrt(1 + η²): the players circle the equilibrium and drift outwards. A GAN's
D-step and G-step are the same kind of game, which is why training can oscillate.

    python demos/xy_game.py [--quick] [--out DIR]
"""

import numpy as np

from _common import arguments, report
from minigan import plot
from minigan.game import play_bilinear_game

args = arguments(__doc__, "xy_game")
steps = 40 if args.quick else 400
fig, (ax_path, ax_radius) = plot.plt.subplots(1, 2, figsize=(11, 4.8))

for lr in (0.05, 0.1, 0.2):
    # minigan's autodiff gives each player its gradient, its SGD optimiser takes the step
    path = np.array(play_bilinear_game(x0=1.0, y0=0.0, lr=lr, steps=steps))
    radius = np.hypot(path[:, 0], path[:, 1])
    if lr == 0.1:  # one path drawn in full; the others would dwarf or hide it
        ax_path.plot(path[:, 0], path[:, 1], lw=0.8, color="tab:orange", label=f"path, η = {lr}")
    ax_radius.semilogy(radius, label=f"η = {lr}: measured")
    ax_radius.semilogy(np.sqrt(1 + lr**2) ** np.arange(steps + 1), "k:", lw=1)  # theory: √(1+η²) per step
    print(f"η = {lr}: distance from (0, 0) grew from {radius[0]:.3f} to {radius[-1]:.3f} in {steps} steps "
          f"(theory: ×{np.sqrt(1 + lr ** 2) ** steps:.3f})")

ax_path.plot(0, 0, "r*", markersize=12, label="equilibrium (0, 0)")
ax_path.plot(1, 0, "ko", label="start (1, 0)")
ax_path.set(xlabel="x (minimises x·y)", ylabel="y (maximises x·y)", title="simultaneous gradient play")
ax_path.set_aspect("equal", adjustable="datalim")
ax_path.legend(fontsize=8)
ax_radius.set(xlabel="step", ylabel="distance from equilibrium √(x² + y²)",
              title="grows by √(1 + η²) per step (dotted: theory)")
ax_radius.legend(fontsize=8)

report([plot.save(fig, args.out / "xy_game.png")], [
    "left: the paths circle the equilibrium and drift outwards; larger steps drift faster",
    "right: the measured distance lies on the dotted line √(1 + η²)^t: it never shrinks",
])
