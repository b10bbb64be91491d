"""A sharper G for free: the moving average of G's weights, on PacGAN's ring (Yazıcı et al. 2019).

PacGAN's ring has 8 modes of σ = 0.01 on a circle of radius 1: a sample is high quality
only within 0.03 of a mode's centre. With a constant learning rate G never stops
moving, and each snapshot of G is blurred by that jitter. One run, with the learning
rates held constant, is watched two ways at every check, on the same fixed noise z:
G's own weights θ, and their exponential moving average θ̄ ← β θ̄ + (1 - β) θ
(``GANConfig(g_average=β)``, ``minigan.averaging``). The average never feeds back into
training, so the two rows differ only in which weights make the samples.

    python demos/weight_average.py [--quick] [--out DIR]
"""

import numpy as np
from matplotlib.patches import Circle

from _common import arguments, progress, report, save_results
from minigan import metrics
from minigan.app import plot, presets

args = arguments(__doc__, "weight_average")
BETA = 0.999
steps, every = (200, 50) if args.quick else (6000, 500)

gan, _ = presets.build("pacgan_ring", seed=0, g_average=BETA, lr_decay_from=0, lr_decay_to=0)  # lr constant
ring = gan.data
z = gan.tensor(np.random.default_rng(2017).standard_normal((2500, gan.config.latent_dim)))


def samples_of(G):
    return G(z).numpy()


checks, own, averaged = [], [], []
with progress(steps) as bar:
    while gan.step < steps:
        gan.train(every, callbacks=lambda *_: bar.update())
        with gan.g_average.swapped_in() as G:
            averaged.append(samples_of(G))
        own.append(samples_of(gan.G))
        checks.append(gan.step)
score = {name: [metrics.mode_coverage(x, ring) for x in runs] for name, runs in (("own", own), ("averaged", averaged))}

print(f"{ring!r}, one run of {steps} steps at constant learning rates, 2,500 samples per check:")
for name, label in (("own", "G's own weights θ"), ("averaged", f"their average θ̄ (β = {BETA})")):
    print(f"  {label}: at the end {score[name][-1]}")

fig, _ = plot.subplots(figsize=(15, 9), layout="constrained")
fig.clear()
axes = fig.subplot_mosaic([["own", "averaged", "curve"], ["own zoom", "averaged zoom", "curve"]], height_ratios=(2, 1))
real = ring.sample(2500, np.random.default_rng(1))
mode = ring.means[0]  # the zoom: the mode at (1, 0)
for name, label in (("own", "G's own weights θ"), ("averaged", f"the average θ̄, β = {BETA}")):
    final, last = score[name][-1], (own if name == "own" else averaged)[-1]
    for ax, half_width in ((axes[name], 1.4), (axes[name + " zoom"], 0.12)):
        ax.scatter(real[:, 0], real[:, 1], s=2, c="black", alpha=0.4, label="real")
        ax.scatter(last[:, 0], last[:, 1], s=2, c="tab:green", alpha=0.4, label="G(z)")
        for centre in ring.means:  # the 3σ discs: a sample inside one is high quality
            ax.add_patch(Circle(centre, 3 * ring.stds[0], fill=False, color="tab:red", lw=0.8))
        centre = (0, 0) if half_width > 1 else mode
        ax.set(xlim=(centre[0] - half_width, centre[0] + half_width), aspect="equal", xlabel="x₁", ylabel="x₂",
               ylim=(centre[1] - half_width, centre[1] + half_width))
    axes[name].set_title(f"{label}, step {checks[-1]}\n{final.modes_covered}/8 modes, "
                         f"{100 * final.high_quality_fraction:.1f}% high quality, reverse KL {final.reverse_kl:.3f}")
    axes[name].legend(loc="center", markerscale=4, title="red circles: 3σ")
    axes[name + " zoom"].set_title("zoom on the mode at (1, 0)")
for name, label in (("own", "θ"), ("averaged", "θ̄")):
    axes["curve"].plot(checks, [100 * c.high_quality_fraction for c in score[name]], marker=".", label=label)
axes["curve"].set(xlabel="training step", ylabel="high-quality samples (%)", ylim=(0, 100),
                  title="the same run, sampled with θ and with θ̄")
axes["curve"].legend()
picture = plot.save(fig, args.out / "weight_average.png")
save_results(args, steps=steps, beta=BETA, **{name: {"modes_covered": score[name][-1].modes_covered,
                                                    "high_quality": score[name][-1].high_quality_fraction,
                                                    "reverse_kl": score[name][-1].reverse_kl} for name in score})

report(args, [picture], [
    "left and middle: the same run at the same step; the zooms below show one mode: with G's own weights "
    "the samples sit off-centre, partly outside the red 3σ circle (where this step's update left them), "
    "with the averaged weights they are centred in it",
    "the numbers in the titles: modes covered, high-quality samples and reverse KL (PacGAN's measures)",
    "right: early on the average lags behind (it still holds the weights of the last ~1/(1-β) steps, "
    "when G was worse); once G has found the modes, G's own weights swing up and down from check to "
    "check while the average climbs steadily above them",
])
