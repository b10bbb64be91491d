"""Mode collapse on the ring of 8 Gaussians: one GAN covers every mode, another crowds near one and hops.

Nothing in G's loss asks for variety: a G that puts all its samples where D is fooled
right now is doing its job, until D catches up and G moves the whole lot elsewhere:
the "Helvetica scenario" that Goodfellow et al. 2014 warn of (section 6), which the NIPS
2016 tutorial (section 5.1.1) calls mode collapse. Two runs on the ring,
with the same loss (non-saturating), batch, learning rates, steps and seed, differ only
in the networks: the ring preset (z of 2 dimensions, D with two hidden layers) covers
the 8 modes; z of 256 dimensions with a D of one hidden layer (close to the toy setup
of Metz et al. 2017, "Unrolled GANs") collapses. Both are measured on fixed evaluation
noise as they train: modes covered and the fraction of high-quality samples (VEEGAN's
definitions, ``minigan.metrics.mode_coverage``), and which mode G's samples are nearest.

    python demos/mode_collapse.py [--quick] [--out DIR]
"""

import time

import numpy as np
from matplotlib.patches import Rectangle

import minigan
from _common import PLAIN_RING, arguments, progress, report, save_results
from minigan import data, metrics
from minigan.app import plot, presets, probe
from minigan.gan import GAN, GANConfig, make_networks

args = arguments(__doc__, "mode_collapse")
steps, every = (100, 20) if args.quick else (3000, 100)


def covering_gan():
    """The ring preset's networks, trained plainly (PLAIN_RING)."""
    gan, _ = presets.build("ring", seed=0, **PLAIN_RING)
    return gan


def collapsing_gan():
    """The same training, with a 256-D z and a D of one hidden layer."""
    minigan.seed(0)
    ring, config = data.ring(), GANConfig(**{**presets.PRESETS["ring"].config, **PLAIN_RING}, latent_dim=256)
    G, D = make_networks(ring, config.latent_dim, hidden=128, depth=1, generator_depth=2)
    return GAN(G, D, ring, config)


def train_and_watch(gan, what):
    """Train ``steps`` steps; every ``every`` steps keep a snapshot of G on the same fixed noise."""
    z_eval = gan.tensor(np.random.default_rng(1).standard_normal((1000, gan.config.latent_dim)))
    shots = [probe.snapshot(gan, z_eval)]
    with progress(steps, what) as bar:
        while gan.step < steps:
            gan.train(every)
            bar.update(every)
            shots.append(probe.snapshot(gan, z_eval))
    return shots


def nearest_mode_shares(fake, ring):
    """For each mode, the fraction of G's samples nearer to it than to any other mode."""
    nearest = ((fake[:, None, :] - ring.means[None]) ** 2).sum(axis=2).argmin(axis=1)
    return np.bincount(nearest, minlength=len(ring.means)) / len(fake)


runs = {}
for name, build in (("covers", covering_gan), ("collapses", collapsing_gan)):
    started = time.perf_counter()
    gan = build()
    shots = train_and_watch(gan, name)
    runs[name] = dict(
        gan=gan, shots=shots, seconds=time.perf_counter() - started,
        coverage=[metrics.mode_coverage(shot["fake"], gan.data) for shot in shots],
        shares=np.array([nearest_mode_shares(shot["fake"], gan.data) for shot in shots]).T,  # (modes, snapshots)
    )

ring = runs["covers"]["gan"].data
real = ring.sample(1000, np.random.default_rng(2))
checked = np.array([shot["step"] for shot in runs["covers"]["shots"]])
print(f"Two GANs on the {ring!r}, {steps} steps each; same loss, batch, learning rates and seed.")
print("They differ only in the networks: 'covers' is the ring preset (z in 2-D, D with two hidden layers "
      "of 128);\n'collapses' has z in 256-D and D with one hidden layer of 128 (G's hidden layers as in 'covers').")
for name, run in runs.items():
    covered = np.array([c.modes_covered for c in run["coverage"]])
    favourite = run["shares"].argmax(axis=0)  # the mode holding most samples, at each snapshot
    print(f"{name:>9}: at the end {run['coverage'][-1]}; over {len(covered)} checks, modes covered "
          f"{covered.min()}-{covered.max()} (median {np.median(covered):g}); the most crowded mode holds "
          f"{100 * run['shares'].max(axis=0).mean():.0f}% of the samples on average and changed "
          f"{np.count_nonzero(np.diff(favourite))} times ({run['seconds']:.0f} s)")

save_results(args, steps=steps, **{name: dict(
    modes_covered=run["coverage"][-1].modes_covered, hq=run["coverage"][-1].high_quality_fraction,
    modes_covered_min=min(c.modes_covered for c in run["coverage"]),
    modes_covered_max=max(c.modes_covered for c in run["coverage"]),
    crowded_share=run["shares"].max(axis=0).mean(),
    hops=np.count_nonzero(np.diff(run["shares"].argmax(axis=0)))) for name, run in runs.items()})

# 1. The numbers over training, and where G's samples are
fig, axes = plot.subplots(2, 2, figsize=(11, 7.5), layout="constrained")
for name, run in runs.items():
    axes[0, 0].plot(checked, [c.modes_covered for c in run["coverage"]], marker=".", label=name)
    axes[0, 1].plot(checked, [100 * c.high_quality_fraction for c in run["coverage"]], marker=".", label=name)
axes[0, 0].set(xlabel="training step", ylabel="modes covered (of 8)", ylim=(-0.3, 8.5),
               title="modes with at least one high-quality sample")
axes[0, 1].set(xlabel="training step", ylabel="high-quality samples (%)", ylim=(0, 100),
               title="samples within 3σ of a mode's centre")
for ax, (name, run) in zip(axes[1], runs.items()):
    image = ax.imshow(run["shares"], aspect="auto", origin="lower", cmap="Greens", vmin=0, vmax=1,
                      extent=(checked[0], checked[-1], -0.5, len(ring.means) - 0.5), interpolation="nearest")
    ax.set(xlabel="training step", ylabel="mode (index on the ring)",
           title=f"{name}: share of samples nearest each mode")
fig.colorbar(image, ax=axes[1], label="share of G's samples")
for ax in axes[0]:
    ax.legend()
curves = plot.save(fig, args.out / "mode_collapse_curves.png")

# 2. GAN-Lab frames: the same moments of both runs, one run a row
moments = np.linspace(0, len(checked) - 1, 4).round().astype(int)
fig, axes = plot.subplots(2, len(moments), figsize=(4.6 * len(moments), 8.4), layout="constrained")
for row, (name, run) in zip(axes, runs.items()):
    for ax, i in zip(row, moments):
        shot = run["shots"][i]
        plot.frame(ax, shot, ring, real, title=f"{name}: step {checked[i]}")
        handles, labels = ax.get_legend_handles_labels()
        if ax.get_legend() is not None:
            ax.get_legend().remove()  # one legend for the figure, above it: none covers a blob of samples
        # a collapsed blob can leave the square where D is drawn: widen the axes to every sample
        (x0, x1), (y0, y1) = ax.get_xlim(), ax.get_ylim()
        low, high = shot["fake"].min(axis=0) - 0.2, shot["fake"].max(axis=0) + 0.2
        ax.set(xlim=(min(x0, low[0]), max(x1, high[0])), ylim=(min(y0, low[1]), max(y1, high[1])),
               facecolor="0.85")  # grey: outside the square D's map was not computed
outside = Rectangle((0, 0), 1, 1, facecolor="0.85")
fig.legend([*handles, outside], [*labels, "grey: beyond the square where D's map was computed"],
           loc="outside upper center", ncol=4, markerscale=3)
frames = plot.save(fig, args.out / "mode_collapse_frames.png")

# 3. The collapsing run as an animation: the whole batch of samples hopping from mode to mode
gif = plot.save_gif(runs["collapses"]["shots"], ring, args.out / "mode_collapse.gif", real=real)

report(args, [curves, frames, gif], [
    "curves, top: 'covers' reaches all 8 modes and most of its samples become high quality; 'collapses' "
    "touches one or two modes at a time and few of its samples are high quality",
    "curves, bottom: 'covers' spreads its samples evenly over the 8 modes (each about 1/8); in "
    "'collapses' one mode holds most samples, and which one changes over training: G hops",
    "frames: the green samples of 'collapses' form one blob sitting near a mode; D's map (blue = real) "
    "turns against that spot and the blob moves on, while 'covers' puts samples on every mode",
    "the GIF: the collapsing run step by step; the purple arrows, -∂L_G/∂x, all push the blob the same way",
])
