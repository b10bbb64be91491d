"""The x·y game: simultaneous gradient steps spiral away from the equilibrium, alternating ones circle it.

Player 1 moves x to make x·y small, player 2 moves y to make it large; the equilibrium
is (0, 0) (the exercise on V(x, y) = x·y in Goodfellow's NIPS 2016 tutorial). With
simultaneous gradient steps each step multiplies the distance to (0, 0) by exactly
sqrt(1 + η²): the players circle the equilibrium and drift outwards. minigan's GAN
alternates, as Algorithm 1 of Goodfellow et al. 2014 does: D moves, then G answers the D
that just moved. Alternating steps on x·y keep x² + y² - η·x·y fixed: the players
circle the equilibrium on a closed orbit, neither drifting out nor converging.
A GAN's D-step and G-step are the same kind of game, which is why training can oscillate.

    python demos/xy_game.py [--quick] [--out DIR]
"""

import numpy as np

from _common import arguments, report, save_results
from minigan.app import plot
from minigan.game import play_bilinear_game

args = arguments(__doc__, "xy_game")
steps = 40 if args.quick else 400
RATES = (0.05, 0.1, 0.2)
fig, (ax_path, ax_radius) = plot.subplots(1, 2, figsize=(12, 5))
growth = {}  # (scheme, η) -> measured growth of the distance per step

print(f"distance from the equilibrium (0, 0), starting at (1, 0), after {steps} steps:")
for scheme, line in (("simultaneous", "-"), ("alternating", "--")):
    for lr, colour in zip(RATES, ("tab:blue", "tab:orange", "tab:green"), strict=True):
        # minigan's autodiff gives each player its gradient, its SGD optimiser takes the step
        path = np.array(play_bilinear_game(x0=1.0, y0=0.0, lr=lr, steps=steps, alternating=scheme == "alternating"))
        radius = np.hypot(path[:, 0], path[:, 1])
        per_step = (radius[-1] / radius[0]) ** (1 / steps)  # the measured growth factor of one step
        growth[f"{scheme} {lr}"] = dict(per_step=per_step, smallest=radius.min(), largest=radius.max())
        if lr == 0.1:  # one path of each kind drawn in full; the others would dwarf or hide it
            ax_path.plot(path[:, 0], path[:, 1], line, lw=0.8, color="tab:orange" if line == "-" else "tab:purple",
                         label=f"{scheme}, η = {lr}: ×{per_step:.5f} a step")
        ax_radius.semilogy(radius, line, color=colour, lw=1.2, label=f"{scheme}, η = {lr}: ×{per_step:.4f} a step")
        theory = f"theory ×{np.sqrt(1 + lr**2):.5f}" if scheme == "simultaneous" else "theory: bounded, ×1 on average"
        print(f"  {scheme:>12}, η = {lr}: {radius[0]:.3f} -> {radius[-1]:.3f}, between {radius.min():.3f} and "
              f"{radius.max():.3f}; ×{per_step:.5f} a step ({theory})")
        if scheme == "simultaneous":
            ax_radius.semilogy(np.sqrt(1 + lr**2) ** np.arange(steps + 1), "k:", lw=1)  # theory: √(1+η²) per step

ax_radius.plot([], [], "k:", lw=1, label="theory, simultaneous: √(1 + η²) per step")
ax_path.plot(0, 0, "r*", markersize=12, label="equilibrium (0, 0)")
ax_path.plot(1, 0, "ko", label="start (1, 0)")
ax_path.set(xlabel="x (minimises x·y)", ylabel="y (maximises x·y)", title="the players' path, η = 0.1")
ax_path.set_aspect("equal", adjustable="datalim")
ax_path.legend(fontsize=8, loc="lower left")
ax_radius.set(xlabel="step", ylabel="distance from equilibrium √(x² + y²), log scale",
              title="simultaneous steps drift out; alternating ones stay on an orbit")
ax_radius.legend(fontsize=7, loc="upper left")
fig.tight_layout()

save_results(args, steps=steps, growth=growth)
report(args, [plot.save(fig, args.out / "xy_game.png")], [
    "left: the simultaneous path spirals out from the start; the alternating one (dashed, as gan.py plays) "
    "goes round a closed orbit through the start",
    "right: simultaneous distances lie on the dotted √(1 + η²)^t and never shrink; alternating ones stay "
    "near 1 (a small wobble, larger for larger η): neither player gets any closer to the equilibrium",
])
