"""The notebooks' exercises check themselves: every check passes on the reference solutions and
fails on a wrong answer planted in each, in one line naming the wrong element and by how much."""

import sys
from pathlib import Path

import numpy as np
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "demos" / "notebooks"))
import exercises  # noqa: E402
import solutions  # noqa: E402

from minigan import ops  # noqa: E402


class SigmoidOffByOneElement(solutions.Sigmoid):
    def backward(self, gy):
        g = solutions.Sigmoid.backward(self, gy)
        bump = np.zeros(g.shape)
        bump[1, 2] = 1e-3  # one element of dL/dx wrong by 1e-3
        return g + bump


class SigmoidForgetsOneMinusY(solutions.Sigmoid):
    def backward(self, gy):
        return gy * self.output


def adam_without_bias_correction(theta, g, m, v, t, lr, betas, eps):
    beta1, beta2 = betas
    m = beta1 * m + (1 - beta1) * g
    v = beta2 * v + (1 - beta2) * g**2
    return theta - lr * m / (np.sqrt(v) + eps), m, v


def d_star_with_g_spread_squared(x):
    return solutions.d_star(x, std_g=0.25)


def alternating_but_simultaneous(x, y, lr):
    return solutions.simultaneous_step(x, y, lr)


CASES = {  # check: (the reference answers, a planted wrong answer, what its verdict must name)
    "check_sigmoid_backward": ((solutions.Sigmoid,), (SigmoidOffByOneElement,), "index (1, 2)"),
    "check_central_difference": ((solutions.central_difference,),
                                 (lambda f, x, eps: (f(x + eps) - f(x)) / eps,), "d/dx sin at x = -1.5"),
    "check_generator_gradient": ((solutions.generator_gradient,),
                                 (lambda a, b, w, c, z: (solutions.generator_gradient(a, b, w, c, z)[0],
                                                         -solutions.generator_gradient(a, b, w, c, z)[1]),),
                                 "dL_G/db"),
    "check_d_star": ((solutions.d_star,), (d_star_with_g_spread_squared,), "D*(x) at x = "),
    "check_non_saturating_loss": ((solutions.non_saturating_loss,),
                                  (lambda logits: -ops.log(ops.sigmoid(logits)).mean(),),
                                  "the loss is inf at logits [-1000.0"),
    "check_adam_step": ((solutions.adam_step,), (adam_without_bias_correction,), "θ after step 1, element"),
    "check_xy_steps": ((solutions.simultaneous_step, solutions.alternating_step),
                       (solutions.simultaneous_step, alternating_but_simultaneous),
                       "alternating game, y after step 2: yours 0.2, expected 0.199"),
    "check_discriminator_loss": ((solutions.discriminator_loss,),
                                 (lambda real, fake: ops.softplus(-real).mean() + ops.softplus(-fake).mean(),),
                                 "L_D: yours"),
}


def test_every_exercise_has_a_case():
    assert sorted(CASES) == sorted(exercises.__all__[1:])


@pytest.mark.parametrize("name", CASES)
def test_the_check_passes_on_the_reference_solution(name):
    verdict = getattr(exercises, name)(*CASES[name][0])
    assert verdict and repr(verdict).startswith("✓ right:"), repr(verdict)


@pytest.mark.parametrize("name", CASES)
def test_the_check_fails_on_a_planted_wrong_answer_and_names_where(name):
    verdict = getattr(exercises, name)(*CASES[name][1])
    line = repr(verdict)
    assert not verdict and line.startswith("✗ wrong:") and "\n" not in line, line
    assert CASES[name][2] in line, line


def test_a_wrong_element_is_named_with_both_numbers():
    line = repr(exercises.check_sigmoid_backward(SigmoidOffByOneElement))
    assert "index (1, 2)" in line and "error 0.001" in line
    line = repr(exercises.check_sigmoid_backward(SigmoidForgetsOneMinusY))
    assert "gradient mismatch at input 0, index" in line


def test_an_exercise_not_yet_written_is_said_so_in_one_line():
    class Unwritten(solutions.Sigmoid):
        def backward(self, gy):
            raise NotImplementedError

    verdict = exercises.check_sigmoid_backward(Unwritten)
    assert not verdict and repr(verdict).startswith("… not written yet")
