"""The moving average of G's weights (minigan.averaging): the recurrence, and that it only looks."""

import numpy as np
import pytest

from minigan.spectral import SpectralNormLinear
from minigan import Tensor, nn
from minigan.averaging import WeightAverage


def small_net():
    return nn.mlp([2, 3, 1], rng=np.random.default_rng(0), name="G")


def test_the_average_follows_the_recurrence():
    net = small_net()
    start = net.state_dict()
    average = WeightAverage(net, decay=0.9)
    name, weight = next(iter(net.named_parameters()))
    weight.data[...] += 1.0  # θ moves by 1: θ̄ = 0.9 θ̄ + 0.1 θ moves by 0.1
    average.update()
    np.testing.assert_allclose(average.average[name], start[name] + 0.1, rtol=1e-6)
    average.update()  # again, θ unchanged: the gap of 0.9 shrinks by 0.9 to 0.81
    np.testing.assert_allclose(average.average[name], start[name] + 0.19, rtol=1e-6)


def test_swapped_in_computes_with_the_average_and_then_restores_the_weights():
    net = small_net()
    average = WeightAverage(net, decay=0.5)
    before = net.state_dict()
    for p in net.parameters():
        p.data[...] = 0.0
    after = net.state_dict()
    average.update()  # θ̄ = (θ₀ + 0) / 2
    with average.swapped_in():
        for name, p in net.named_parameters():
            np.testing.assert_allclose(p.data, before[name] / 2, rtol=1e-6)
    for name, p in net.named_parameters():
        np.testing.assert_array_equal(p.data, after[name])


def test_the_average_round_trips_through_its_state_dict():
    net = small_net()
    average = WeightAverage(net, decay=0.5)
    for p in net.parameters():
        p.data[...] = 1.0
    average.update()
    saved = average.state_dict()
    other = WeightAverage(net, decay=0.5)
    other.load_state_dict(saved)
    for name in saved:
        np.testing.assert_array_equal(other.average[name], saved[name])
    with pytest.raises(ValueError, match="missing"):
        other.load_state_dict({})


@pytest.mark.parametrize("decay", [0.0, 1.0, -0.1, 1.5, "0.9"])
def test_a_decay_outside_0_1_is_refused(decay):
    with pytest.raises(ValueError, match="decay"):
        WeightAverage(small_net(), decay=decay)


def test_buffers_are_not_averaged_the_module_keeps_its_own():
    net = nn.Sequential(SpectralNormLinear(2, 3, rng=np.random.default_rng(0)), nn.LeakyReLU(),
                        SpectralNormLinear(3, 1, rng=np.random.default_rng(1)))
    average = WeightAverage(net, decay=0.5)
    assert sorted(average.state_dict()) == ["0.bias", "0.weight", "2.bias", "2.weight"]
    for _ in range(3):
        net(Tensor(np.ones((4, 2), dtype=np.float32)))  # training mode: the power iteration moves u and v
        average.update()
    live = {name: b.data.copy() for name, b in net.named_buffers()}
    with average.swapped_in():
        for name, b in net.named_buffers():
            np.testing.assert_array_equal(b.data, live[name])
    restored = WeightAverage(net, decay=0.5)
    restored.load_state_dict(average.state_dict())
    for name, value in average.state_dict().items():
        np.testing.assert_array_equal(restored.state_dict()[name], value)
    with pytest.raises(ValueError, match=r"missing entries \['2.bias'\]"):
        restored.load_state_dict({k: v for k, v in average.state_dict().items() if k != "2.bias"})
    with pytest.raises(ValueError, match=r"unexpected entries \['0.u'\]"):  # buffers are not averaged
        restored.load_state_dict({**average.state_dict(), "0.u": net.state_dict()["0.u"]})
