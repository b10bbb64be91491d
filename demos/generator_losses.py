"""Minimax vs non-saturating vs maximum-likelihood: the losses, their gradients, training with each.

All three are functions of D's logit ℓ on a fake, D(G(z)) = σ(ℓ). Early in training D
rejects the fakes, D(G(z)) ≈ 0, and there the minimax loss ln(1 - D) and the
maximum-likelihood loss -D/(1 - D) are flat: their gradients -D and -D/(1 - D) vanish,
while the non-saturating -ln D keeps a gradient of about -1 (the comparison that
Goodfellow's NIPS 2016 tutorial draws in section 3.2, computed here with minigan's
autodiff). Then G is trained on the 1-D Gaussian with
each loss, once with Adam (the preset) and once with plain SGD for G, to see what the
flat start does to learning.

    python demos/generator_losses.py [--quick] [--out DIR]
"""

import numpy as np

from _common import arguments, progress, report, save_results
from minigan import Tensor, grad, losses, optim
from minigan.app import plot, presets

args = arguments(__doc__, "generator_losses")
STYLE = {  # max-likelihood dashed: where it coincides with minimax, both stay visible
    "minimax": dict(color="tab:red", lw=2.5),
    "non_saturating": dict(color="tab:blue", lw=1.5),
    "max_likelihood": dict(color="tab:orange", lw=1.5, ls="--"),
}
THEORY = {  # dL/dℓ as a function of D = σ(ℓ), from losses.py's docstring
    "minimax": lambda d: -d,
    "non_saturating": lambda d: -(1 - d),
    "max_likelihood": lambda d: -d / (1 - d),
}


def loss_and_slope(name: str, d_fake: float) -> tuple[float, float]:
    """L_G for one fake that D scores d_fake, and dL_G/dℓ by backpropagation (ℓ = D's logit)."""
    logit = Tensor(np.array([[np.log(d_fake / (1 - d_fake))]]), requires_grad=True)
    loss = losses.GENERATOR_LOSSES[name](logit)
    (slope,) = grad(loss, [logit])
    return loss.item(), slope.item()


# (a), (b), (c): the losses and their gradients along D(G(z)) ∈ (0, 1)
d_fake = np.concatenate([np.logspace(-6, -1, 200), np.linspace(0.1, 0.999, 300)])
curves = {name: np.array([loss_and_slope(name, d) for d in d_fake]) for name in losses.GENERATOR_LOSSES}

print("dL_G/dℓ from minigan's autodiff (theory: -D, -(1 - D), -D/(1 - D)):")
print(f"{'D(G(z))':>9}" + "".join(f"{name:>16}" for name in curves))
for d in (1e-4, 1e-2, 0.5, 0.99):
    print(f"{d:>9g}" + "".join(f"{loss_and_slope(name, d)[1]:>16.4g}" for name in curves))
print("largest |autodiff - theory| along the curve:"
      + "".join(f"  {name} {np.abs(values[:, 1] - THEORY[name](d_fake)).max():.1e}" for name, values in curves.items()))

largest_error = {name: np.abs(values[:, 1] - THEORY[name](d_fake)).max() for name, values in curves.items()}
fig, (ax_loss, ax_slope, ax_log) = plot.subplots(1, 3, figsize=(16, 4.6))
for name, values in curves.items():
    ax_loss.plot(d_fake, values[:, 0], **STYLE[name], label=name)
    ax_slope.plot(d_fake, values[:, 1], **STYLE[name], label=f"{name} (autodiff)")
    ax_slope.plot(d_fake, THEORY[name](d_fake), ":", color="black", lw=1)
    ax_log.loglog(d_fake, np.abs(values[:, 1]), **STYLE[name], label=name)
ax_slope.plot([], [], ":", color="black", lw=1, label="theory")
ax_loss.set(xlabel="D(G(z))", ylabel="L_G", ylim=(-5, 5), title="(a) the three losses (G minimises each)")
ax_slope.set(xlabel="D(G(z))", ylabel="dL_G / dℓ  (ℓ = D's logit)", ylim=(-3, 0.2),
             title="(b) their gradients with respect to ℓ")
ax_log.set(xlabel="D(G(z)), log scale", ylabel="|dL_G / dℓ|, log scale",
           title="(c) |gradient| on log scales: two vanish as D → 0")
ax_log.axvspan(1e-6, 1e-2, color="0.92", label="D rejects the fakes")
for ax in (ax_loss, ax_slope, ax_log):
    ax.legend(fontsize=8)
fig.tight_layout()

# Training with each loss on the 1-D Gaussian: G(z) = a·z + b, so b is exactly G's mean
runs = {}
bar = progress(6 * (100 if args.quick else presets.PRESETS["gaussian"].steps), "6 training runs")  # (optimiser, loss) -> per-step G mean, final std, last D(G(z)), early ‖∇θ_G L_G‖
for optimiser in ("Adam", "SGD"):
    for name in losses.GENERATOR_LOSSES:
        gan, steps = presets.build("gaussian", seed=0, loss=name)
        if args.quick:
            steps = 100
        if optimiser == "SGD":  # plain gradient steps: the step is as small as the gradient
            gan.opt_g = optim.SGD(gan.G.parameters(), lr=0.01)
        weight, bias = gan.G.parameters()
        means = []
        history = gan.train(steps, callbacks=lambda _gan, _record: (means.append(bias.item()), bar.update()))
        runs[optimiser, name] = (np.array(means), abs(weight.item()), history["d_fake"][-100:].mean(),
                                 np.median(history["grad_norm_g"][: steps // 8]))

bar.close()
print(f"\ntraining on N(4, 0.5²) for {steps} steps, same seed and D for every run:")
print(f"{'G optimiser':<12}{'loss':<16}{'G mean':>7}{'G std':>7}{'D(G(z))':>9}  "
      f"median ‖∇θ_G L_G‖, first {steps // 8} steps")
for (optimiser, name), (means, std, d_last, early_norm) in runs.items():
    print(f"{optimiser:<12}{name:<16}{means[-1]:>7.3f}{std:>7.3f}{d_last:>9.2g}  {early_norm:.3g}")

fig_train, axes = plot.subplots(1, 2, figsize=(12, 4.2), sharey=True)
for ax, optimiser, title in zip(axes, ("Adam", "SGD"), (
        "G with Adam (the preset): its step size does not follow |gradient|",
        "G with plain SGD, lr 0.01: its step is lr × gradient")):
    for name in losses.GENERATOR_LOSSES:
        ax.plot(runs[optimiser, name][0], **STYLE[name], label=name)
    ax.axhline(4.0, color="black", ls=":", label="data mean 4")
    ax.set(xlabel="training step", title=title)
    ax.legend(fontsize=8, loc="center right")
axes[0].set_ylabel("G's mean b")

save_results(args, steps=steps, largest_gradient_error=largest_error,
             final_mean={f"{optimiser} {name}": run[0][-1] for (optimiser, name), run in runs.items()},
             final_std={f"{optimiser} {name}": run[1] for (optimiser, name), run in runs.items()})
report(args, [
    plot.save(fig, args.out / "losses_and_gradients.png"),
    plot.save(fig_train, args.out / "training_with_each_loss.png"),
], [
    "losses_and_gradients.png (a): near D(G(z)) = 0 the minimax and max-likelihood losses are flat, "
    "the non-saturating one is steep",
    "(b): the autodiff gradients lie on the dotted theory; only non-saturating gives about -1 "
    "where D rejects the fakes",
    "(c): minimax and max-likelihood gradients shrink in proportion to D(G(z)); non-saturating stays ≈ 1",
    "training_with_each_loss.png, SGD: minimax and max-likelihood barely move (tiny gradients, tiny steps); "
    "non-saturating reaches 4",
    "training_with_each_loss.png, Adam: minimax reaches 4 as well, because Adam divides each step by the gradient's "
    "running size; max-likelihood stalls far from 4 (its gradient, -D/(1 - D) per fake, comes mostly from the "
    "few fakes D likes best; the printout gives each run's final spread too)",
])
