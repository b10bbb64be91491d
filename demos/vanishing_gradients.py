"""Vanishing gradients: when D is too good, minimax stops teaching G, non-saturating does not.

G is frozen far from the data (the 1-D Gaussian preset as initialised: p_g ≈ N(0, 0.18²)
against p_data = N(4, 0.5²)) and only D trains. Every few D-steps we measure how hard
each generator loss would push G: the norm of ∇θ_G L_G, by backpropagation through D
into G's parameters. As D learns to reject the fakes, D(G(z)) → 0 and the minimax
gradient, proportional to D(G(z)), collapses: early in learning "log(1 - D(G(z)))
saturates" (Goodfellow et al. 2014, section 3), and Arjovsky & Bottou 2017 prove that the
minimax gradient vanishes as D approaches a perfect discriminator (their section 2.2). The non-saturating loss,
-ln D(G(z)), keeps a gradient of useful size.

    python demos/vanishing_gradients.py [--quick] [--out DIR]
"""

import numpy as np

from _common import arguments, progress, report, save_results
from minigan import games, grad, nn, no_grad, ops
from minigan.app import plot, presets

args = arguments(__doc__, "vanishing_gradients")
gan, _ = presets.build("gaussian", seed=0)
d_steps = 200 if args.quick else 8000
every = d_steps // 100
z_eval = gan.tensor(np.random.default_rng(1).standard_normal((1024, gan.config.latent_dim)))
LOSSES = {"minimax": ("ln(1 - D(G(z)))", "tab:red"), "non_saturating": ("-ln D(G(z))", "tab:blue")}


def generator_gradient_norm(name: str) -> float:
    """‖∇θ_G L_G‖ for the loss called ``name``, D held fixed (nothing is updated)."""
    fake = gan.G(z_eval)
    with nn.frozen(gan.D):  # the gradient flows through D into G, D's own parameters get none
        loss = games.generator_loss(name, gan.D(fake))
    gradients = grad(loss, gan.G.parameters())
    return float(np.sqrt(sum((g.numpy() ** 2).sum() for g in gradients)))


with no_grad():
    fakes = gan.G(z_eval)  # G never changes here, so neither do its samples of z_eval
print(f"G frozen at about N({fakes.numpy().mean():.2f}, {fakes.numpy().std():.2f}²), p_data = {gan.data!r}; "
      "only D trains")


def mean_d_fake() -> float:
    with no_grad():
        return float(ops.sigmoid(gan.D(fakes)).numpy().mean())


rows = []  # (D-steps, mean D(G(z)), gradient norm for each loss)
with progress(d_steps, "D-steps") as bar:
    for step in range(d_steps + 1):
        if step % every == 0:
            rows.append((step, mean_d_fake(), *(generator_gradient_norm(name) for name in LOSSES)))
        if step < d_steps:
            gan.d_step()  # only D learns: G is never updated in this demo
            bar.update()
rows = np.array(rows)
save_results(args, d_steps=d_steps, d_fake_start=rows[0, 1], d_fake_end=rows[-1, 1],
             minimax_start=rows[0, 2], minimax_end=rows[-1, 2],
             non_saturating_start=rows[0, 3], non_saturating_end=rows[-1, 3])

print(f"{'D-steps':>7}  {'mean D(G(z))':>12}  {'‖∇θ_G‖ minimax':>15}  {'‖∇θ_G‖ non-saturating':>22}  "
      f"{'ratio':>7}  {'D/(1-D)':>7}")
for step, d_fake, minimax, non_saturating in rows[:: len(rows) // 10]:
    print(f"{step:>7.0f}  {d_fake:>12.3g}  {minimax:>15.3g}  {non_saturating:>22.3g}  "
          f"{minimax / non_saturating:>7.2g}  {d_fake / (1 - d_fake):>7.2g}")
print("ratio = minimax / non-saturating norm: roughly D/(1 - D), since per fake the gradients with respect to "
      "D's logit are -D and -(1 - D)")

fig, (ax_norm, ax_d) = plot.subplots(2, 1, figsize=(7.5, 7), sharex=True)
for column, (name, (formula, colour)) in enumerate(LOSSES.items(), start=2):
    ax_norm.semilogy(rows[:, 0], rows[:, column], color=colour, label=f"{name}: L_G = {formula}")
ax_norm.set(ylabel="‖∇θ_G L_G‖ (log scale)", title="How hard each loss pushes a frozen G, as D trains")
ax_norm.legend(fontsize=8, loc="center right")
ax_d.semilogy(rows[:, 0], rows[:, 1], color="tab:green")
ax_d.set(xlabel="D-steps (G frozen)", ylabel="mean D(G(z)) (log scale)", title="D learns to reject the fakes")

report(args, [plot.save(fig, args.out / "vanishing_gradients.png")], [
    "top: the minimax gradient collapses by orders of magnitude while the non-saturating one stays large "
    "(it even grows, as D's slope between the fakes and the data steepens)",
    "bottom: the collapse follows D(G(z)) → 0: a D that is too good leaves the minimax G nothing to learn from",
])
