"""WGAN-GP against the standard GAN on the ring of 8 Gaussians: D's probability map vs the critic's slope.

The Wasserstein GAN (Arjovsky, Chintala & Bottou 2017) compares p_g with p_data by the
Earth Mover distance instead of the Jensen-Shannon divergence; in WGAN-GP (Gulrajani et
al. 2017) D becomes a critic f with no sigmoid: it widens the gap E f(x) - E f(G(z)),
kept in check by a gradient penalty λ E[(‖∇f‖ - 1)²], and G climbs f. Both GANs train on the ring with the same networks, seed and
number of G-steps, trained plainly (constant learning rates): the standard one with the
ring preset's networks at batch 512 and lr 5e-4, WGAN-GP with 5 critic steps per
G-step, Adam betas (0.5, 0.9) and λ = 0.1. The pictures put D's map beside the critic's
surface, the printout compares modes covered and high-quality samples over training,
counted in G-steps and in D-steps (not in seconds, which depend on the machine's load), and
the gap E f(x) - E f(G(z)) (an estimate of the Wasserstein distance) is drawn beside D's loss.

    python demos/wgan_gp.py [--quick] [--out DIR]
"""

import numpy as np

from _common import PLAIN_RING, arguments, progress, report, save_results
from minigan import metrics
from minigan.app import plot, presets, probe

args = arguments(__doc__, "wgan_gp")
steps, every = (60, 20) if args.quick else (3000, 100)

SETTINGS = {  # both trained plainly (constant learning rates, G's own weights): the games are compared
    "standard GAN": PLAIN_RING,  # non-saturating loss, batch 512, lr 5e-4, k = 1
    # λ = 0.1 as in the WGAN-GP authors' own toy-data code; in our short tries the paper's λ = 10
    # (made for images) trained erratically here: mostly under 5% high-quality samples, once 30%
    "WGAN-GP": dict(PLAIN_RING, loss="wgan_gp", k=5, lr_g=3e-4, lr_d=3e-4, betas=(0.5, 0.9), gp_weight=0.1,
                    batch_size=128),
}

runs = {}
for name, overrides in SETTINGS.items():
    gan, _ = presets.build("ring", seed=0, **overrides)
    z_eval = gan.tensor(np.random.default_rng(1).standard_normal((1000, gan.config.latent_dim)))
    shots = [probe.snapshot(gan, z_eval)]

    def watch(gan, _record):  # called by gan.train after each step
        bar.update()
        if gan.step % every == 0:
            shots.append(probe.snapshot(gan, z_eval))

    with progress(steps, name) as bar:
        history = gan.train(steps, callbacks=watch)
    runs[name] = dict(gan=gan, shots=shots, history=history,
                      coverage=[metrics.mode_coverage(shot["fake"], gan.data) for shot in shots])

ring = runs["standard GAN"]["gan"].data
real = ring.sample(1000, np.random.default_rng(2))
checked = np.array([shot["step"] for shot in runs["standard GAN"]["shots"]])
high_quality = {name: np.array([100 * c.high_quality_fraction for c in run["coverage"]]) for name, run in runs.items()}

late = checked >= 2 * steps / 3  # the last third of training: one check alone is noisy
summary = {}
print(f"{steps} G-steps each on the {ring!r}, same networks (2-D z, two hidden layers of 128) and seed")
for name, run in runs.items():
    config, reached = run["gan"].config, np.flatnonzero(high_quality[name] >= 50)
    first = checked[reached[0]] if reached.size else np.inf
    summary[name] = dict(late=high_quality[name][late].mean(), first=first, first_d=first * config.k)
    print(f"{name:>12}: loss {config.loss}, k = {config.k} D-steps a G-step, batch {config.batch_size}, "
          f"lr {config.lr_g:g}, betas {config.betas}")
    print(f"{'':>12}  at the end {run['coverage'][-1]}; all 8 modes covered at "
          f"{np.mean([c.modes_covered == 8 for c in run['coverage']]):.0%} of the {len(checked)} checks")
comparisons = (
    ("fewer G-steps to reach 50% high quality", "first", min,
     lambda v: f"G-step {v:g}" if np.isfinite(v) else "never"),
    ("fewer D-steps to reach 50% high quality", "first_d", min,
     lambda v: f"{v:g} D-steps" if np.isfinite(v) else "never"),
    ("more high-quality samples over the last third", "late", max, lambda v: f"{v:.1f}%"),
)
for question, key, best, shown in comparisons:
    values = {name: summary[name][key] for name in summary}
    verdict = "a tie" if len(set(values.values())) == 1 else best(values, key=values.get)
    print(f"{question}: {verdict} ({', '.join(f'{name} {shown(v)}' for name, v in values.items())})")
print("(one seed and one budget: rerun with other seeds before trusting a small difference)")

# 1. D's map and the critic's surface at the start, halfway and at the end, one run a row;
#    the last column cuts the final surface along the x-axis, through the modes at x = ±2
moments = np.linspace(0, len(checked) - 1, 3).round().astype(int)
fig, axes = plot.subplots(2, len(moments) + 1, figsize=(4.6 * (len(moments) + 1), 8), layout="constrained")
for row, (name, run) in zip(axes, runs.items()):
    for ax, i in zip(row, moments):
        plot.frame(ax, run["shots"][i], ring, real, title=f"{name}: step {checked[i]}")
    final = run["shots"][-1]
    on_axis = np.abs(final["grid_y"]).argmin()  # the row of the drawn grid nearest to y = 0
    row[-1].plot(final["grid_x"], final["d"][on_axis], color="tab:blue")
    for centre in (-2, 2):
        row[-1].axvline(centre, color="black", ls=":", lw=1)
    what = "critic f(x)" if run["gan"].config.loss == "wgan_gp" else "D(x)"
    row[-1].set(xlabel=f"x (y = {final['grid_y'][on_axis]:.2f}); dotted: the modes at x = ±2", ylabel=what,
                title=f"{name}: {what} along the x-axis, step {checked[-1]}")
surfaces = plot.save(fig, args.out / "wgan_gp_surfaces.png")

# How steep is the final critic? The penalty pulls ‖∇f‖ towards 1 (weakly, with λ = 0.1)
critic = runs["WGAN-GP"]["shots"][-1]
steepness = np.hypot(*np.gradient(critic["d"], critic["grid_y"], critic["grid_x"]))  # finite differences
low, median, high = np.percentile(steepness, [10, 50, 90])
print(f"final critic: ‖∇f‖ on the drawn grid has median {median:.2f} (10% of the grid below {low:.2f}, "
      f"10% above {high:.2f})")

# 2. Coverage over training, and what each loss says while G improves
window = max(1, steps // 60)  # running mean over `window` steps: per-step losses are noisy


def smoothed(values):
    return np.convolve(values, np.ones(window) / window, mode="valid")


fig, axes = plot.subplots(2, 2, figsize=(11, 7.5), layout="constrained")
for name, run in runs.items():
    axes[0, 0].plot(checked, [c.modes_covered for c in run["coverage"]], marker=".", label=name)
    axes[0, 1].plot(checked, high_quality[name], marker=".", label=name)
axes[0, 0].set(xlabel="G-step", ylabel="modes covered (of 8)", ylim=(-0.3, 8.5), title="modes covered")
axes[0, 1].set(xlabel="G-step", ylabel="high-quality samples (%)", ylim=(0, 100),
               title="samples within 3σ of a mode's centre")
gan_history, critic_history = runs["standard GAN"]["history"], runs["WGAN-GP"]["history"]
loss_steps = gan_history["step"][window - 1:]
axes[1, 0].plot(loss_steps, smoothed(gan_history["loss_d"]), color="tab:blue", label="L_D (BCE, real + fake)")
axes[1, 0].axhline(np.log(4), color="black", ls=":", label="ln 4: D can no longer tell")
axes[1, 0].set(xlabel="G-step", ylabel="D's loss", title="standard GAN: D's loss")
gap = critic_history["d_real"] - critic_history["d_fake"]  # E f(x) - E f(G(z)) on the critic's last batch
axes[1, 1].plot(loss_steps, smoothed(gap), color="tab:orange", label="E f(x) - E f(G(z))")
axes[1, 1].set(xlabel="G-step", ylabel="critic's gap", title="WGAN-GP: the critic's Wasserstein estimate")
for ax in axes.flat:
    ax.legend(fontsize=8)
curves = plot.save(fig, args.out / "wgan_gp_curves.png")

save_results(args, steps=steps, **{name: dict(
    first_g_step_50=summary[name]["first"], first_d_steps_50=summary[name]["first_d"], late_hq=summary[name]["late"],
    modes_covered=run["coverage"][-1].modes_covered, hq=run["coverage"][-1].high_quality_fraction,
    k=run["gan"].config.k) for name, run in runs.items()}, critic_slope_median=median)
report(args, [surfaces, curves], [
    "surfaces, top: D(x) is a probability: between the modes it is flat near 0 (red; the cut on the right "
    "is level from x ≈ -1 to 1): it says 'fake' there without saying how far from real; near the modes "
    "it rises to about ½ (white)",
    "surfaces, bottom: the critic f(x) is a landscape of ramps, highest (purple) at the modes; the cut is a "
    "V of straight slopes, kept from going flat or steep by the penalty (the printout gives ‖∇f‖): how far "
    "a sample is from the ring is in the score itself",
    "curves, top: how soon each covers the 8 modes and gathers its samples on them; the printout names "
    "the better one on each count",
    "curves, bottom: D's loss moves in a narrow band below ln 4 and is no direct gauge of G's quality; "
    "the critic's gap falls as G's samples settle on the modes: with WGAN-GP the loss tracks progress",
])
