"""A cross-entropy loss run as one op (minigan.fast.losses) equals the same loss run op by op:
values and gradients bit for bit, for every rule, both dtypes, logits from 0 and ±0 to ±1000, ±inf
and NaN, seeds including 0, inf and NaN; and what it does not cover is left to the plain path,
with the plain errors."""

import numpy as np
import pytest

from minigan import Tensor, games, gradcheck, grad
from minigan.app import presets
from minigan.fast import losses as fast_losses
from minigan.fast.switch import fusing

LOGITS = [0.0, -0.0, 1e-30, -1e-30, 0.3, -0.3, 2.5, -2.5, 17.0, -17.0, 40.0, -40.0, 120.0, -120.0, 1000.0, -1000.0,
          np.inf, -np.inf, np.nan]
SEEDS = [1.0, 0.37, -3.0, 0.0, -0.0, np.inf, np.nan]


def _bits(array) -> bytes:
    return np.ascontiguousarray(array).tobytes()  # equal bytes: equal values, signs of zeros included


def _generator_loss(name, fused, logits_host, seed):
    logits = Tensor(logits_host, requires_grad=True)
    with fusing(fused):
        loss = games.generator_loss(name, logits)
    assert type(loss.creator).__name__ == ("FusedLogitLoss" if fused else "Neg" if name != "non_saturating" else "Div")
    loss.backward(seed)
    return _bits(loss.data), _bits(logits.grad.data)


@pytest.mark.parametrize("name", ["non_saturating", "minimax", "max_likelihood"])
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(-1, 1), (-1,), (4, -1)])
def test_each_generator_loss_gives_the_plain_value_and_gradient_bit_for_bit(name, dtype, seed, shape):
    rng = np.random.default_rng(len(name))
    logits = np.concatenate([LOGITS, rng.normal(0, 4, 61)]).astype(dtype).reshape(shape)
    with np.errstate(all="ignore"):  # inf and NaN on purpose
        assert _generator_loss(name, True, logits, seed) == _generator_loss(name, False, logits, seed)


def _discriminator_losses(fused, real_host, fake_host, smoothing, seed):
    real, fake = Tensor(real_host, requires_grad=True), Tensor(fake_host, requires_grad=True)
    with fusing(fused):
        loss = games.discriminator_loss("non_saturating", lambda x: x, real, fake, real_label_smoothing=smoothing)
    assert (type(loss.real.creator).__name__ == "FusedLogitLoss") == fused
    loss.total.backward(seed)
    return [_bits(a) for a in (loss.total.data, loss.real.data, loss.fake.data, real.grad.data, fake.grad.data)]


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("smoothing", [0.0, 0.1, 0.25])
@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("shape", [(-1, 1), (-1,)])
def test_ds_two_cross_entropy_terms_give_the_plain_values_and_gradients_bit_for_bit(dtype, smoothing, seed, shape):
    rng = np.random.default_rng(7)
    real = np.concatenate([LOGITS, rng.normal(1, 3, 48)]).astype(dtype).reshape(shape)
    fake = np.concatenate([LOGITS[::-1], rng.normal(-1, 3, 48)]).astype(dtype).reshape(shape)
    with np.errstate(all="ignore"):  # inf and NaN on purpose
        assert (_discriminator_losses(True, real, fake, smoothing, seed)
                == _discriminator_losses(False, real, fake, smoothing, seed))


@pytest.mark.parametrize("rule", fast_losses.RULES)
def test_the_fused_losses_gradients_match_float64_central_differences(rule):
    logits = Tensor(np.random.default_rng(3).normal(0, 2, (9, 1)), requires_grad=True)
    targets = np.asarray(0.3) if rule == "bce" else None
    gradcheck.check_grad(lambda t: fast_losses.FusedLogitLoss(rule, targets)(t), [logits])


def _count_fused_losses(monkeypatch) -> list:
    made, original = [], fast_losses.FusedLogitLoss.__init__

    def counted(self, *args):
        made.append(args[0])
        original(self, *args)

    monkeypatch.setattr(fast_losses.FusedLogitLoss, "__init__", counted)
    return made


@pytest.mark.parametrize("loss, fused", [("non_saturating", True), ("minimax", True), ("max_likelihood", True),
                                         ("least_squares", False), ("wgan_gp", False)])
def test_a_training_step_fuses_the_cross_entropy_losses_and_leaves_the_others_plain(loss, fused, monkeypatch):
    """Equality of whole runs with and without fusing is checked by tests/test_fused_mlp.py, for every game."""
    made = _count_fused_losses(monkeypatch)
    model, _ = presets.build("ring", seed=0, loss=loss)
    model.train_step()
    assert made == (["bce", "bce", loss] if fused else [])
    made.clear()
    model.fused_networks = False
    model.train_step()
    model.d_step()  # by hand, outside train_step: op by op, as a learner traces it
    assert made == []


def test_a_fused_loss_refuses_to_be_differentiated_twice():
    logits = Tensor(np.ones((4, 1)), requires_grad=True)
    with fusing():
        loss = games.generator_loss("non_saturating", logits)
    with pytest.raises(RuntimeError, match=r"cannot be differentiated twice \(create_graph=True\)"):
        grad(loss, [logits], create_graph=True)


@pytest.mark.parametrize("call, error", [
    (lambda: games.generator_loss("non_saturating", Tensor(np.zeros((0, 1)), requires_grad=True)), r"mean of no elements"),
    (lambda: games.generator_loss("minimax", np.zeros((3, 1))), r"input 0 is a numpy.ndarray, not a Tensor"),
    (lambda: games.discriminator_loss("minimax", lambda x: x, Tensor(np.zeros((3, 1))), Tensor(np.zeros((3, 1))),
                                      real_label_smoothing=1.5), r"label_smoothing must"),
    (lambda: games.discriminator_loss("minimax", lambda x: x, Tensor(np.zeros((3, 1), np.int64)),
                                      Tensor(np.zeros((3, 1)))), r"float32 or float64"),
])
def test_what_the_plain_losses_refuse_gets_their_error_inside_fusing(call, error):
    with pytest.raises((ValueError, TypeError)) as plain:
        call()
    with fusing(), pytest.raises((ValueError, TypeError), match=error) as fused:
        call()
    assert str(fused.value) == str(plain.value)


def test_a_single_0d_logit_and_an_unknown_rule_run_the_plain_path():
    with fusing():
        assert type(games.generator_loss("minimax", Tensor(np.asarray(0.5), requires_grad=True)).creator).__name__ == "Neg"
        assert fast_losses.generator_loss("bce", Tensor(np.ones((3, 1)), requires_grad=True)) is None


@pytest.mark.parametrize("fused", [True, False])
def test_the_graph_is_checked_as_the_plain_one_is(fused):
    """Backpropagated twice with retain_graph, the same gradient; after an in-place change, refused."""
    logits = Tensor(np.linspace(-3, 3, 6).reshape(-1, 1), requires_grad=True)
    with fusing(fused):
        loss = games.generator_loss("non_saturating", logits)
    loss.backward(retain_graph=True)
    first = logits.grad.data.copy()
    logits.grad = None
    loss.backward(retain_graph=True)
    np.testing.assert_array_equal(logits.grad.data, first)
    logits.data = logits.data * 2.0  # a new array: the version moves on
    with pytest.raises(RuntimeError, match="was changed in place after the graph was built"):
        loss.backward()
