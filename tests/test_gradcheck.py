"""The gradient checker itself: it must catch wrong gradients and say where."""

import numpy as np
import pytest

from minigan import Tensor
from minigan.autograd import Function
from minigan.gradcheck import GradientCheckError, check_grad, check_gradgrad, numerical_grad

from strategies import leaf


class SquareWithWrongGradient(Function):
    """y = x², but backward claims 2x + 0.001 at one element: a subtle bug."""

    def forward(self, x):
        return x * x

    def backward(self, gy):
        (x,) = self.inputs
        bump = np.zeros(x.shape)
        bump.flat[-1] = 1e-3
        return gy * (x * 2.0 + Tensor(bump))


class CubeWithWrongSecondDerivative(Function):
    """y = x³ with the right first derivative 3x², computed so its own derivative is wrong."""

    def forward(self, x):
        return x**3

    def backward(self, gy):
        (x,) = self.inputs
        return gy * Tensor(3.0 * x.data**2)  # a constant: its derivative (6x) is lost


def test_numerical_gradient_of_a_known_function():
    x = leaf([0.5, -1.0, 2.0])
    (g,) = numerical_grad(lambda t: (t**3).sum(), [x])
    np.testing.assert_allclose(g, 3 * np.array([0.5, -1.0, 2.0]) ** 2, rtol=1e-8)


def test_a_wrong_gradient_is_caught_and_its_worst_element_reported():
    x = leaf(np.arange(1.0, 7.0).reshape(2, 3))
    with pytest.raises(GradientCheckError, match=r"input 0, index \(1, 2\): analytic") as info:
        check_grad(lambda t: SquareWithWrongGradient()(t), [x])
    assert "numeric" in str(info.value) and "error" in str(info.value)


def test_directional_mode_catches_the_same_bug():
    x = leaf(np.arange(1.0, 7.0).reshape(2, 3))
    with pytest.raises(GradientCheckError, match="directional derivative mismatch"):
        check_grad(lambda t: SquareWithWrongGradient()(t), [x], directional=True)


def test_directional_mode_passes_a_correct_gradient_on_a_large_input():
    x = leaf(np.random.default_rng(1).standard_normal((300, 200)))
    check_grad(lambda t: (t * t * t).mean(), [x], directional=True)


def test_a_wrong_second_derivative_is_caught():
    x = leaf([0.5, 1.5])
    check_grad(lambda t: CubeWithWrongSecondDerivative()(t), [x])  # first order is right
    with pytest.raises(GradientCheckError):
        check_gradgrad(lambda t: CubeWithWrongSecondDerivative()(t), [x])


def test_float32_inputs_are_refused():
    x = Tensor(np.ones(3, dtype=np.float32), requires_grad=True)
    with pytest.raises(TypeError, match="float64"):
        check_grad(lambda t: t.sum(), [x])


def test_inputs_must_require_grad():
    with pytest.raises(ValueError, match="does not require grad"):
        check_grad(lambda t: t.sum(), [Tensor(np.ones(3))])
