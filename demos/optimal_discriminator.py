"""D trained to convergence finds D* = p_data / (p_data + p_g) and V(G, D) → -ln 4 + 2·JSD.

G is held fixed, so p_g is just a second distribution: D is an ordinary classifier,
trained with BCE on samples of p_data (label 1) and of p_g (label 0). Goodfellow et al.
2014 prove that the best such D is D*(x) = p_data(x) / (p_data(x) + p_g(x)) pointwise
(Proposition 1), and that its value is V(G, D*) = E_data[ln D*] + E_g[ln(1 - D*)]
= -ln 4 + 2·JSD(p_data ‖ p_g) (Theorem 1, their C(G)).
Two cases: two Gaussians, and a two-bump mixture (the data) against one wide Gaussian.

    python demos/optimal_discriminator.py [--quick] [--out DIR]
"""

import numpy as np

from _common import arguments, progress, report, save_results
from minigan import Tensor, data, losses, nn, no_grad, ops, optim, seed, theory
from minigan.app import plot

args = arguments(__doc__, "optimal_discriminator")
rng = seed(0)  # one seed: D's initial weights and every sample below
steps = 150 if args.quick else 3000
batch = 512
cases = {
    "two Gaussians": (data.gaussian_1d(4.0, 0.5), data.gaussian_1d(3.0, 1.0)),
    "mixture vs Gaussian": (data.mixture_1d(), data.gaussian_1d(0.0, 1.5)),
}


def value(D, real, fake) -> tuple[float, float]:
    """V(G, D) = mean ln D(x) over real x + mean ln(1 - D(x)) over fake x (minus D's two BCE losses),
    and the standard error of that estimate from the samples' spread."""
    with no_grad():
        ln_d_real = -losses.bce_with_logits(D(real), 1.0, reduction="none").numpy()  # ln D(x), one per sample
        ln_one_minus_d_fake = -losses.bce_with_logits(D(fake), 0.0, reduction="none").numpy()  # ln(1 - D(x))
    terms = (ln_d_real, ln_one_minus_d_fake)
    return sum(t.mean() for t in terms), np.sqrt(sum(t.var() / t.size for t in terms))


def train_discriminator(p_data, p_g, eval_real, eval_fake):
    """A fresh MLP D trained with Adam on BCE; returns D and rows (D-step, V(G, D), its standard error)."""
    pooled = np.concatenate([p_data.sample(10_000, rng), p_g.sample(10_000, rng)])
    # Standardize first: data far from 0 would leave every LeakyReLU on one side of its kink
    D = nn.Sequential(nn.Standardize(pooled.mean(0), pooled.std(0), dtype="float64"),
                      *nn.mlp([1, 64, 64, 1], activation="leaky_relu", dtype="float64").layers)
    opt = optim.Adam(D.parameters(), lr=1e-3)
    values = [(0, *value(D, eval_real, eval_fake))]
    for step in tqdm_range(steps):
        real, fake = Tensor(p_data.sample(batch, rng)), Tensor(p_g.sample(batch, rng))
        loss_real, loss_fake = losses.discriminator_losses(D(real), D(fake))  # labels 1 and 0
        opt.zero_grad()
        (loss_real + loss_fake).backward()
        opt.step()
        if step % (steps // 20) == 0:
            values.append((step, *value(D, eval_real, eval_fake)))
    return D, np.array(values)


def tqdm_range(steps):
    """1, ..., steps with a progress bar."""
    with progress(steps, "D-steps") as bar:
        for step in range(1, steps + 1):
            yield step
            bar.update()


results = {}
fig, axes = plot.subplots(3, len(cases), figsize=(6 * len(cases), 9.5), gridspec_kw={"height_ratios": [1, 1.2, 1]})
for column, (name, (p_data, p_g)) in zip(axes.T, cases.items()):
    eval_real, eval_fake = Tensor(p_data.sample(20_000, rng)), Tensor(p_g.sample(20_000, rng))
    D, values = train_discriminator(p_data, p_g, eval_real, eval_fake)

    grid = theory.grid_for(p_data, p_g)
    low = min((d.means[:, 0] - 4 * d.stds).min() for d in (p_data, p_g))  # 4 standard deviations
    high = max((d.means[:, 0] + 4 * d.stds).max() for d in (p_data, p_g))  # beyond every component
    x = np.linspace(low, high, 600)[:, None]
    with no_grad():
        d_learnt = ops.sigmoid(D(Tensor(x))).numpy().ravel()
    d_star = theory.optimal_discriminator(p_data, p_g, x)
    # Where the densities matter: D* is a ratio of densities, and where both are ~0 no sample
    # ever taught D anything. Here: the average density (p_data + p_g) / 2 above 1% of its peak.
    average_density = (p_data.pdf(x) + p_g.pdf(x)) / 2
    matters = average_density > 0.01 * average_density.max()
    error = np.abs(d_learnt - d_star)[matters]
    jsd = theory.js_divergence(p_data, p_g, grid)
    c_of_g = theory.value_at_optimum(p_data, p_g, grid)
    results[name] = dict(max_error=error.max(), mean_error=error.mean(), value=values[-1, 1],
                         value_error=values[-1, 2], c_of_g=c_of_g, jsd=jsd)
    print(f"{name}: p_data = {p_data!r}, p_g = {p_g!r}")
    print(f"  |D(x) - D*(x)| where (p_data + p_g)/2 > 1% of its peak (x in [{x[matters][0, 0]:.2f}, "
          f"{x[matters][-1, 0]:.2f}]): max {error.max():.3f}, mean {error.mean():.3f}")
    print(f"  V(G, D) of the trained D, on 20,000 + 20,000 fresh samples: {values[-1, 1]:.4f} ± {values[-1, 2]:.4f}")
    print(f"  V(G, D*) = C(G), integrated:                               {c_of_g:.4f}")
    print(f"  -ln 4 + 2·JSD = {-np.log(4):.4f} + 2 × {jsd:.4f}                       = {-np.log(4) + 2 * jsd:.4f}")

    ax_density, ax_d, ax_value = column
    ax_density.plot(x, p_data.pdf(x), ":", color="black", lw=2, label="p_data")
    ax_density.plot(x, p_g.pdf(x), color="tab:green", label="p_g (G held fixed)")
    ax_density.set(ylabel="density", title=name, ylim=(0, 1.5 * p_data.pdf(x).max()))  # room for the legend
    ax_d.plot(x, d_star, color="tab:red", lw=3, alpha=0.6, label="D*(x) = p_data / (p_data + p_g)")
    ax_d.plot(x, d_learnt, "--", color="tab:blue", lw=1.5, label=f"D(x) after {steps} Adam steps")
    ax_d.set(ylabel="probability 'real'", ylim=(-0.03, 1.03))
    for ax in (ax_density, ax_d):
        ax.fill_between(x.ravel(), 0, 1, where=~matters, color="0.9", transform=ax.get_xaxis_transform(),
                        label="(p_data + p_g)/2 < 1% of peak")
        ax.set_xlim(x[0, 0], x[-1, 0])
        ax.legend(fontsize=7, loc="upper left")
    ax_d.set_xlabel("x")
    ax_value.plot(values[:, 0], values[:, 1], "o-", ms=3, color="tab:blue", label="V(G, D) of the D in training")
    ax_value.axhline(c_of_g, color="tab:red", label=f"C(G) = -ln 4 + 2·JSD = {c_of_g:.3f}")
    ax_value.axhline(-np.log(4), color="black", ls=":", label=f"-ln 4 = {-np.log(4):.3f} (p_g = p_data)")
    ax_value.set(xlabel="D-steps", ylabel="V(G, D)")
    ax_value.legend(fontsize=7, loc="best")

fig.tight_layout()
save_results(args, steps=steps, **results)
report(args, [plot.save(fig, args.out / "optimal_discriminator.png")], [
    "middle row: the trained D (dashed) lies on D*(x) (red) wherever there are samples; in the grey tails, "
    "where neither distribution puts mass, D is unconstrained and may wander",
    "right column: D* is high on both bumps of the mixture and low in the middle, where p_g's mass is",
    "bottom row: V(G, D) rises towards C(G) = -ln 4 + 2·JSD from below (no D can beat D*, up to the "
    "± sampling error printed); it would reach -ln 4 only if p_g = p_data",
])
