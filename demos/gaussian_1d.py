"""A 1-D Gaussian learnt step by step: p_g slides onto N(4, 0.5²) and D flattens to ½.

Figure 1 of Goodfellow et al. 2014 ("Generative Adversarial Nets"), made by training:
G is affine, z ↦ a·z + b with z ~ N(0, 1), so p_g is exactly N(b, a²) and learning
means moving b to 4 and |a| to 0.5. Snapshots at regular steps show p_data (dotted),
the histogram of G's samples, D(x) (dashed) and the optimal discriminator
D*(x) = p_data / (p_data + p_g) of the paper's Proposition 1, computed from the exact
N(b, a²); at the end p_g covers p_data and D(x) ≈ D*(x) ≈ ½ everywhere: D can no longer
tell real from fake, the equilibrium of the paper's Theorem 1.

    python demos/gaussian_1d.py [--quick] [--out DIR]
"""

import numpy as np

from _common import arguments, progress, report, save_results
from minigan import data, theory
from minigan.app import plot, presets, probe

args = arguments(__doc__, "gaussian_1d")
gan, steps = presets.build("gaussian", seed=0)
if args.quick:
    steps = 200
every = steps // (8 if args.quick else 40)  # a snapshot every `every` steps: 41 frames for the GIF
p_data = gan.data

# Fixed evaluation noise from its own generator: every snapshot shows the same z pushed
# through the G of that moment, and drawing it does not disturb the training run's rng.
z_eval = gan.tensor(np.random.default_rng(1).standard_normal((4000, gan.config.latent_dim)))
weight, bias = gan.G.parameters()  # G(z) = a·z + b: a = weight, b = bias

snapshots, moments = [], []  # moments: (step, a, b, mean and std of G(z_eval))


def take_snapshot(gan, _record=None):  # called by gan.train after each step
    bar.update(_record is not None)
    if gan.step % every == 0:
        shot = probe.snapshot(gan, z_eval)
        a, b = weight.item(), bias.item()
        shot["p_g"] = data.gaussian_1d(b, abs(a)).pdf(shot["x"])  # exact: G(z) = a·z + b makes N(b, a²)
        snapshots.append(shot)
        moments.append((gan.step, a, b, shot["fake"].mean(), shot["fake"].std()))


bar = progress(steps)
take_snapshot(gan)  # step 0: G as initialised
history = gan.train(steps, callbacks=take_snapshot)
bar.close()

print(f"p_data = {p_data!r}: mean 4, std 0.5.  G(z) = a·z + b, so p_g = N(b, a²) exactly.")
print(f"{'step':>5}  {'a':>7}  {'b':>6}  {'mean G(z)':>9}  {'std G(z)':>8}  {'JSD(p_data ‖ p_g)':>17}")
for step, a, b, mean, std in moments[:: len(moments) // 8]:
    jsd = theory.js_divergence(p_data, data.gaussian_1d(b, abs(a)))  # exact: p_g is a Gaussian
    print(f"{step:>5}  {a:>7.3f}  {b:>6.3f}  {mean:>9.3f}  {std:>8.3f}  {jsd:>17.4f}")
print("(JSD = ln 2 = 0.6931 is its maximum: while p_g and p_data barely overlap, it cannot tell near from far)")
last = slice(-100, None)
print(f"last 100 steps: mean D(x) = {history['d_real'][last].mean():.3f}, mean D(G(z)) = "
      f"{history['d_fake'][last].mean():.3f} (½ at the equilibrium); L_D = {history['loss_d'][last].mean():.3f} "
      f"(ln 4 = {np.log(4):.3f}), L_G = {history['loss_g'][last].mean():.3f} (ln 2 = {np.log(2):.3f})")

# The classic figure: the start, three moments of the fast early change, and the end
panels = [shot for shot in snapshots if shot["step"] in (0, steps // 8, steps // 4, steps // 2, steps)]

# G's mean and spread against the data's, over training
steps_seen, a, b = np.array(moments)[:, :3].T
fig, ax = plot.subplots(figsize=(7, 3.8))
ax.plot(steps_seen, b, color="tab:green", label="mean of p_g = b")
ax.plot(steps_seen, np.abs(a), color="tab:purple", label="std of p_g = |a|")
ax.axhline(4.0, color="tab:green", ls=":", label="data mean 4")
ax.axhline(0.5, color="tab:purple", ls=":", label="data std 0.5")
ax.set(xlabel="training step", ylabel="value", title="G's Gaussian moves onto the data's")
ax.legend(fontsize=8)

# D* at the end, exactly, over the data's bulk (mean ± 2 std): how flat it lies at ½
_, a_end, b_end, _, _ = moments[-1]
x_bulk = np.linspace(3.0, 5.0, 201)[:, None]
p_g_end = data.gaussian_1d(b_end, abs(a_end))
d_star_end = theory.optimal_discriminator(p_data, p_g_end, x_bulk)
print(f"at step {steps}, D*(x) over x in [3, 5] lies between {d_star_end.min():.3f} and {d_star_end.max():.3f}")
save_results(args, steps=steps, mean=b_end, std=abs(a_end), jsd=theory.js_divergence(p_data, p_g_end),
             d_real=history["d_real"][last].mean(), d_fake=history["d_fake"][last].mean(),
             d_star_min=d_star_end.min(), d_star_max=d_star_end.max())
report(args, [
    plot.training_figure(panels, p_data, args.out / "training.png", panels=len(panels)),
    plot.save_gif(snapshots, p_data, args.out / "training.gif"),
    plot.save(fig, args.out / "moments.png"),
    plot.history_figure(history, args.out / "losses.png"),
], [
    "training.png: the orange histogram p_g slides from near 0 onto the dotted p_data; "
    "the dashed D(x) is high where p_data > p_g and flattens to ½ as they meet",
    "training.png: where the samples are, D(x) follows the red D*(x) = p_data / (p_data + p_g), drawn from "
    "the exact p_g = N(b, a²); in the last panel D* lies flat at ½ over the data",
    "training.gif: the same, one frame per snapshot",
    "moments.png: G's mean b and spread |a| settle at the data's 4 and 0.5",
    "losses.png: mean D(x) and D(G(z)) meet at ½; L_D,r, L_D,f and L_G settle at ln 2 ≈ 0.69, L_D at ln 4 ≈ 1.39",
])
