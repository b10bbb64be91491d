"""Reference solutions to the notebooks' exercises, in one place (look only when stuck).

Each is what its notebook's exercise cell asks for; ``exercises.py`` checks them (and
``tests/test_exercises.py`` checks that every check passes on these answers).
"""

from __future__ import annotations

import math

import numpy as np

from minigan import Tensor, ops
from minigan.autograd import Function


# 01 autodiff: Sigmoid's backward, and a central difference

class Sigmoid(Function):
    """y = σ(x); the forward is given in the notebook."""

    def forward(self, x):
        return 1.0 / (1.0 + np.exp(-x))

    def backward(self, gy):
        y = self.output  # σ(x), kept by the forward pass
        return gy * y * (1.0 - y)  # dσ/dx = σ(1 - σ)


def central_difference(f, x: float, eps: float) -> float:
    """(f(x + ε) - f(x - ε)) / 2ε: error O(ε²)."""
    return (f(x + eps) - f(x - eps)) / (2 * eps)


# 02 the gradient through G(z): G(z) = a·z + b, logit ℓ = w·G(z) + c, L_G = mean softplus(-ℓ)

def generator_gradient(a, b, w, c, z):
    """dL_G/dℓ_i = -(1 - σ(ℓ_i))/n; dℓ_i/da = w·z_i, dℓ_i/db = w (the chain rule through D into G)."""
    z = np.asarray(z, dtype=np.float64)
    logits = w * (a * z + b) + c
    dloss_dlogit = -(1.0 - 1.0 / (1.0 + np.exp(-logits))) / len(z)
    return float(np.sum(dloss_dlogit * w * z)), float(np.sum(dloss_dlogit * w))


# 03 the optimal discriminator

def d_star(x, mean_data=0.0, std_data=1.0, mean_g=2.0, std_g=0.5):
    """D*(x) = p_data(x) / (p_data(x) + p_g(x)), here for two Normals."""
    def normal(x, mean, std):
        return np.exp(-0.5 * ((x - mean) / std) ** 2) / (std * math.sqrt(2 * math.pi))

    p_data, p_g = normal(np.asarray(x, dtype=np.float64), mean_data, std_data), normal(np.asarray(x), mean_g, std_g)
    return p_data / (p_data + p_g)


# 04 the generator losses

def non_saturating_loss(logits: Tensor) -> Tensor:
    """-E[ln D(G(z))] = -E[ln σ(ℓ)] = E[softplus(-ℓ)]: finite for every logit."""
    return ops.softplus(-logits).mean()


# 05 the lab: Adam's update

def adam_step(theta, g, m, v, t, lr, betas, eps):
    """One Adam step (Kingma & Ba 2015): moving averages of g and g², corrected for their start at 0."""
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    m_hat, v_hat = m / (1 - beta1**t), v / (1 - beta2**t)
    return theta - lr * m_hat / (np.sqrt(v_hat) + eps), m, v


# 06 the x·y game: x minimises x·y, y maximises it

def simultaneous_step(x, y, lr):
    """Both gradients at the same point: ∂(xy)/∂x = y, ∂(-xy)/∂y = -x."""
    return x - lr * y, y + lr * x


def alternating_step(x, y, lr):
    """x moves first; y answers the new x."""
    x = x - lr * y
    return x, y + lr * x


# 07 real digits: D's loss

def discriminator_loss(logits_real: Tensor, logits_fake: Tensor) -> Tensor:
    """L_D,r + L_D,f = E[softplus(-ℓ_real)] + E[softplus(ℓ_fake)]: -ln σ(ℓ) and -ln(1 - σ(ℓ))."""
    return ops.softplus(-logits_real).mean() + ops.softplus(logits_fake).mean()
