"""minigan: a from-scratch, educational GAN engine.

Reading order, one concept per module:
    backend -> autograd -> ops -> gradcheck -> nn -> losses -> optim -> gan
and around them: rng, data, theory, metrics, probe, plot, checkpoint, run, cli.
"""

from minigan import backend, losses, nn, ops, optim, rng
from minigan.autograd import Tensor, grad, is_grad_enabled, no_grad
from minigan.rng import seed

__version__ = "0.1.0"
__all__ = [
    "Tensor", "grad", "no_grad", "is_grad_enabled", "seed",
    "backend", "ops", "nn", "losses", "optim", "rng",
]
