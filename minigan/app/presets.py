"""Tested starting points: a configuration per data set that is known to train.

GANs are sensitive to their settings; these are the ones minigan's tests and demos
use, so a reader can start from something that works. ``build`` turns a preset
(plus any overrides) into a ready ``GAN``; ``minigan train`` does exactly that.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from minigan import backend, nn, optim, validate
from minigan import data as datasets
from minigan import rng as rng_module
from minigan.gan import GAN, GANConfig, make_networks
from minigan.spectral import SpectralNormLinear

__all__ = ["Preset", "PRESETS", "LAB_DATA_SETS", "build"]


@dataclass(frozen=True)
class Preset:
    steps: int  # training steps (G-steps) of a full run
    latent_dim: int
    hidden: int | tuple  # width of the hidden layers, or G's hidden widths in order (D mirrors them); for a
    # preset with its own ``networks``, only a description of G
    depth: int = 2  # hidden layers of D (and of G unless generator_depth says otherwise)
    generator_depth: int | None = None
    standardize: bool = False  # D standardises its input with the data's mean and spread
    config: dict = field(default_factory=dict)  # GANConfig fields
    lr_decay: tuple | None = None  # (start, end) as fractions of the run: both lrs fall linearly to 0 over it
    note: str = ""
    data: str | None = None  # the data set it trains on, when not the preset's own name ('mnist_paper': 'mnist')
    networks: Callable | None = None  # (data, latent_dim, dtype) -> (G, D), instead of make_networks' MLPs
    momentum: float | None = None  # both players learn by SGD with this momentum instead of Adam


# ----------------------------------------------------------------------------- MNIST's networks


def _uniform_weights(layer: nn.Linear, limit: float) -> nn.Linear:
    """W ~ U(-limit, limit), biases 0: how the GAN paper's code initialised every layer."""
    layer.weight.data[...] = backend.asarray(rng_module.resolve(None).uniform(-limit, limit, layer.weight.shape),
                                             dtype=layer.weight.dtype)
    return layer


def paper_mnist_networks(data, latent_dim: int, dtype: str = "float32"):
    """G and D of the GAN paper's MNIST model as its released configuration wrote them
    (Goodfellow et al. 2014; mnist.yaml of github.com/goodfeli/adversarial):

    G: z (100, Gaussian) -> 1200 ReLU -> 1200 ReLU -> 784 sigmoid; weights U(-0.05, 0.05), the
       output biases at the logit of each pixel's mean over the training images (clipped to
       [1e-7, 1 - 1e-7]), so G starts at the average image and the always-black border
       starts saturated
    D: x -> dropout 0.2 -> maxout 240 units × 5 pieces -> dropout 0.5 -> maxout 240 × 5
       -> dropout 0.5 -> 1 logit; weights U(-0.005, 0.005)

    The paper's pixels lie in [0, 1], minigan's images in [-1, 1]: G hands its sigmoid's y
    over as 2y - 1 and D's first step maps x back to (x + 1)/2 (both fixed affine maps, written
    as ``Standardize``), so inside both networks every number is the paper's, and dropout
    turns a dropped pixel black (0) as it did there.
    """
    marginals = np.clip((data.mean + 1.0) / 2.0, 1e-7, 1 - 1e-7)
    output = _uniform_weights(nn.Linear(1200, data.dim, dtype=dtype, name="G.4"), 0.05)
    output.bias.data[...] = backend.asarray(np.log(marginals / (1.0 - marginals)), dtype=dtype)
    G = nn.Sequential(
        _uniform_weights(nn.Linear(latent_dim, 1200, dtype=dtype, name="G.0"), 0.05), nn.ReLU(),
        _uniform_weights(nn.Linear(1200, 1200, dtype=dtype, name="G.2"), 0.05), nn.ReLU(),
        output, nn.Sigmoid(),
        nn.Standardize(0.5, 0.5, dtype=dtype),  # y in [0, 1] -> (y - 0.5) / 0.5 = 2y - 1 in [-1, 1]
    )
    D = nn.Sequential(
        nn.Standardize(-1.0, 2.0, dtype=dtype),  # x in [-1, 1] -> (x + 1) / 2 in [0, 1]
        nn.Dropout(0.2),
        _uniform_weights(nn.Maxout(data.dim, 240, 5, dtype=dtype, name="D.2"), 0.005), nn.Dropout(0.5),
        _uniform_weights(nn.Maxout(240, 240, 5, dtype=dtype, name="D.4"), 0.005), nn.Dropout(0.5),
        _uniform_weights(nn.Linear(240, 1, dtype=dtype, name="D.6"), 0.005),
    )
    return G, D



def mnist_networks(data, latent_dim: int, dtype: str = "float32"):
    """The 'mnist' preset's networks: G z-256-512-1024-784 with LeakyReLU ending in tanh, D
    784-512-256-1 with LeakyReLU and every layer spectrally normalised, and one idea of the
    paper's networks: G's output biases at atanh of each pixel's mean (clipped to ±0.999), the
    paper's start at the average image, so pixels black in every image start saturated and G's
    samples keep a clean black border instead of a speckled one.

    Spectral normalisation (``minigan.spectral``) keeps D from learning the 4,000 training
    images by heart without thinning what it sees, as the dropout of earlier versions of this
    preset did (0.2 on D's input, 0.5 after each hidden layer; a D that sees pixels dropped at
    random cannot see G's stray specks either). In trials on seed 0 it raised the classifier
    score from 8.30 to 8.57 and lowered the two-sample accuracy from 0.72 to 0.67, and D learning
    twice as fast as G (lr_d 4e-4) on top of it gave 8.61 and 0.65; benchmarks/RESULTS.md
    measures the preset on every seed.
    """
    G = nn.mlp([latent_dim, 256, 512, 1024, data.dim], activation="leaky_relu", output_activation="tanh", dtype=dtype, name="G")
    G.layers[-2].bias.data[...] = backend.asarray(np.arctanh(np.clip(data.mean, -0.999, 0.999)), dtype=dtype)
    D = nn.Sequential(
        SpectralNormLinear(data.dim, 512, init="he", dtype=dtype, name="D.0"), nn.LeakyReLU(0.2),
        SpectralNormLinear(512, 256, init="he", dtype=dtype, name="D.2"), nn.LeakyReLU(0.2),
        SpectralNormLinear(256, 1, dtype=dtype, name="D.4"),
    )
    return G, D

# Steps of a full run, measured with benchmarks/quality.py (5 seeds; RESULTS.md): the modes kept
# sharpening to the end of every shorter schedule. PacGAN's ring and the grid afford 36,000 and
# 30,000 steps in about 2 and 2.5 minutes a seed; the ring is `minigan train`'s default job, so it
# stays near a minute.
RING_STEPS, PACGAN_RING_STEPS, GRID_STEPS = 24000, 36000, 30000
PAPER_MNIST_STEPS, MNIST_STEPS = 6000, 18000

PRESETS = {
    # a 1-D Normal, as in Figure 1 of Goodfellow et al. 2014: G is affine (z ↦ a z + b), so it can learn exactly a mean and a spread
    "gaussian": Preset(steps=4000, latent_dim=1, hidden=32, generator_depth=0, standardize=True,
                       config=dict(batch_size=256, lr_g=2e-3, lr_d=1e-3),
                       note="N(4, 0.5²); checked: mean and std within 0.1"),
    # The three 2-D mixtures below use the two remedies that benchmarks/quality.py measured:
    # samples from the moving average of G's weights (g_average = β), and learning rates
    # that fall linearly to 0 over the last part of the run (``lr_decay``, fractions of the run's
    # steps, which ``build`` turns into GANConfig's lr_decay_from → lr_decay_to for the steps asked for).
    "ring": Preset(steps=RING_STEPS, latent_dim=2, hidden=128,
                   config=dict(batch_size=256, lr_g=1e-3, lr_d=1e-3, g_average=0.999), lr_decay=(1 / 3, 1),
                   note="8 Gaussians, radius 2, std 0.05; see benchmarks/RESULTS.md (quality)"),
    # PacGAN's 2D-ring (Lin et al. 2018): σ five times smaller relative to the ring's radius
    "pacgan_ring": Preset(steps=PACGAN_RING_STEPS, latent_dim=2, hidden=128,
                          config=dict(batch_size=256, lr_g=1e-3, lr_d=1e-3, g_average=0.999), lr_decay=(1 / 3, 1),
                          note="8 Gaussians, radius 1, std 0.01; see benchmarks/RESULTS.md (quality)"),
    # 25 modes as small as the ring's, 2 apart: slower to sharpen than the ring; D standardises
    # its input. A third hidden layer in both networks makes the modes sharp several times
    # sooner than two (in G alone it did not). z is uniform on the square [-1, 1]²: a 5 × 5 grid
    # of equal squares cuts it into 25 cells of equal mass, one per mode, while a Gaussian z has
    # no such cut and left some modes with half the mass of others, or none (reverse KL 0.117 and
    # 0.059 against 0.015 and 0.024 uniform, seeds 0 and 1 after 30,000 steps; over the 3 seeds of
    # the 15,000-step ablation, 0.161 against 0.067); see benchmarks/RESULTS.md.
    "grid": Preset(steps=GRID_STEPS, latent_dim=2, hidden=128, depth=3, standardize=True,
                   config=dict(batch_size=256, lr_g=1e-3, lr_d=1e-3, g_average=0.999, noise="uniform"),
                   lr_decay=(1 / 2, 1),
                   note="5×5 Gaussians, spacing 2, std 0.05; see benchmarks/RESULTS.md (quality)"),
    # 8×8 digits in [-1, 1]; G ends in tanh (make_networks does that for images). The average of G's
    # weights and learning rates falling to 0 over the second half, over 20,000 steps: a two-sample
    # test told 1,000 samples from 1,000 real digits with accuracy 0.607 (kNN) and 0.610 (logistic
    # regression) after the old 10,000 plain steps, 0.604 and 0.576 with both remedies over 10,000,
    # 0.573 and 0.581 over 20,000 (seed 0); benchmarks/mnist_quality.py measures every seed.
    "digits": Preset(steps=20000, latent_dim=16, hidden=256,
                     config=dict(batch_size=128, lr_g=5e-4, lr_d=5e-4, g_average=0.999), lr_decay=(1 / 2, 1),
                     note="scikit-learn's 1,797 digits; see benchmarks/RESULTS.md (digits_two_sample)"),
    # The GAN paper's MNIST model (Goodfellow et al. 2014), as its released configuration trained it:
    # its networks (paper_mnist_networks), SGD with momentum 0.5, learning rate 0.1, batch 100, the
    # non-saturating G loss. Its D minimised ½(L_D,r + L_D,f), minigan's D minimises L_D,r + L_D,f:
    # the same step needs lr_d = 0.05 here. What differs is listed in the README's MNIST section.
    "mnist_paper": Preset(steps=PAPER_MNIST_STEPS, latent_dim=100, hidden=1200, data="mnist",
                          networks=paper_mnist_networks, momentum=0.5,
                          config=dict(batch_size=100, lr_g=0.1, lr_d=0.05),
                          note="the GAN paper's MNIST networks and SGD; see benchmarks/RESULTS.md (mnist_quality)"),
    # Tuned for the bundled MNIST: mnist_networks (D spectrally normalised, G starting at the average
    # image), Adam with D learning twice as fast as G, the average of G's weights and learning rates
    # falling to 0 over the second half.
    "mnist": Preset(steps=MNIST_STEPS, latent_dim=100, hidden=(256, 512, 1024), networks=mnist_networks,
                    config=dict(batch_size=128, lr_g=2e-4, lr_d=4e-4, g_average=0.999), lr_decay=(1 / 2, 1),
                    note="see benchmarks/RESULTS.md (mnist_quality)"),
}

LAB_DATA_SETS = ("ring", "grid", "two_gaussians", "disjoint", "line", "drawn")  # the lab's 2-D data sets (drawn: your own)


def build(data_name: str = "ring", *, seed: int | None = None, mnist_path=None, preset: Preset | None = None,
          steps: int | None = None, **overrides) -> tuple[GAN, int]:
    """A GAN for ``data_name`` from its preset, with GANConfig fields overridden by ``overrides``,
    for a run of ``steps`` training steps (default: the preset's).

    Returns the GAN and the run's number of steps; a preset's ``lr_decay`` is laid over those
    steps (so ``steps=48000`` decays twice as slowly as the ring's own 24,000). ``seed`` (if given) reseeds minigan
    first, so the networks' initial weights and the whole run are reproducible. ``preset``
    replaces the data set's own preset (e.g. ``dataclasses.replace(PRESETS['grid'], depth=2)``).
    """
    if data_name not in PRESETS:
        raise ValueError(f"unknown data set {data_name!r}; known: {', '.join(PRESETS)}")
    if seed is not None:
        rng_module.seed(seed)
    preset = preset or PRESETS[data_name]
    steps = preset.steps if steps is None else validate.positive_int("steps", steps)
    schedule = {}
    if preset.lr_decay is not None:
        start, end = preset.lr_decay
        schedule = {"lr_decay_from": round(start * steps), "lr_decay_to": round(end * steps)}
    data = datasets.make(preset.data or data_name, mnist_path=mnist_path)
    config = GANConfig(**{"latent_dim": preset.latent_dim, **preset.config, **schedule, **overrides})
    if preset.networks is not None:
        G, D = preset.networks(data, config.latent_dim, config.dtype)
    else:
        G, D = make_networks(data, config.latent_dim, hidden=preset.hidden, depth=preset.depth,
                             generator_depth=preset.generator_depth, standardize=preset.standardize,
                             dtype=config.dtype)
    gan = GAN(G, D, data, config)
    if preset.momentum is not None:  # SGD in place of the Adam that GAN made (its betas then go unused)
        gan.opt_g = optim.SGD(G.parameters(), lr=config.lr_g, momentum=preset.momentum)
        gan.opt_d = optim.SGD(D.parameters(), lr=config.lr_d, momentum=preset.momentum)
    return gan, steps
