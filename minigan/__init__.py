"""minigan: a from-scratch, educational GAN engine.

Reading order: backend -> autograd -> ops -> gradcheck -> nn -> losses -> optim -> gan.
"""

from minigan import backend, ops
from minigan.autograd import Tensor, grad, is_grad_enabled, no_grad

__version__ = "0.1.0"
__all__ = ["Tensor", "grad", "no_grad", "is_grad_enabled", "backend", "ops"]
