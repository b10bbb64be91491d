"""Fingerprints of seeded training runs: does a change of the code change the numbers?

Trains a few short seeded runs (the ring preset with its weight average and learning-rate
decay, WGAN-GP's second-order penalty, the MNIST-size networks on random images, and a
small network under SGD with momentum) and prints the SHA-256 of every parameter and
optimiser buffer at the end of each, one BLAS thread. Run it before and after a change that
should not change any number (a refactor, a faster path): the same fingerprints mean runs
are bit for bit the same.

    python benchmarks/run_hash.py
"""

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # a matrix product's rounding may depend on the threads

import hashlib  # noqa: E402

import numpy as np  # noqa: E402

import minigan  # noqa: E402
from minigan import data, gan, nn, optim  # noqa: E402
from minigan.app import presets  # noqa: E402


def fingerprint(arrays) -> str:
    digest = hashlib.sha256()
    for array in arrays:
        digest.update(np.ascontiguousarray(minigan.backend.to_numpy(array)).tobytes())
    return digest.hexdigest()[:16]


def of_gan(model) -> str:
    arrays = [p.data for p in model.G.parameters() + model.D.parameters()]
    for opt in (model.opt_g, model.opt_d):
        arrays += [b for buffers in opt.state_dict()["buffers"].values() for b in buffers]
    return fingerprint(arrays)


def ring_preset() -> str:
    model, _ = presets.build("ring", seed=0, steps=600)  # the decay starts at step 200
    model.train(500)
    return of_gan(model)


def wgan_gp() -> str:
    model, _ = presets.build("ring", seed=1, steps=600, loss="wgan_gp", k=2)
    model.train(100)
    return of_gan(model)


def mnist_size() -> str:
    minigan.seed(0)
    G = nn.mlp([100, 256, 512, 784], activation="relu", output_activation="tanh", name="G")
    D = nn.mlp([784, 512, 256, 1], activation="leaky_relu", name="D")
    images = data.ArrayDataset(np.random.default_rng(0).uniform(-1, 1, (2000, 784)), image_shape=(28, 28))
    model = gan.GAN(G, D, images, gan.GANConfig(batch_size=128, latent_dim=100, lr_g=2e-4, lr_d=2e-4))
    model.train(30)
    return of_gan(model)


def sgd_momentum() -> str:
    minigan.seed(3)
    net = nn.mlp([4, 32, 1], activation="tanh")
    opt = optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    x = minigan.Tensor(np.random.default_rng(4).normal(size=(64, 4)).astype(np.float32))
    for _ in range(50):
        opt.zero_grad()
        (net(x) ** 2).mean().backward()
        opt.step()
    return fingerprint([p.data for p in net.parameters()] + opt.state_dict()["buffers"]["velocity"])


if __name__ == "__main__":
    for run in (ring_preset, wgan_gp, mnist_size, sgd_momentum):
        print(f"{run.__name__:<14} {run()}")
