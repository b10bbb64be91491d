"""The fast paths equal the plain ones: fused elementwise math, the fused optimiser under every way a user
touches its state, the call counter, the backends."""

import os
import subprocess
import sys

from unittest import mock

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigan
from minigan import Tensor, backend, data, gan, grad, guard, nn, ops, optim
from minigan.fast import fused as fused_update
from minigan.fast.counting import counting

_floats = hnp.arrays(np.float32, st.integers(1, 50),
                     elements=st.floats(-100, 100, width=32) | st.sampled_from([0.0, -0.0, 88.0, -88.0]))


@given(x=_floats)
def test_sigmoid_from_exp_minus_abs_is_the_two_sided_formula_exactly(x):
    e = np.exp(-np.abs(x))
    unfused = np.where(x >= 0, 1 / (1 + e), e / (1 + e))  # the textbook pair of stable forms
    np.testing.assert_array_equal(ops.sigmoid(Tensor(x)).data, unfused)


@given(x=_floats, seed=st.integers(0, 2**16))
def test_softplus_backward_reusing_its_exp_equals_gy_times_a_fresh_sigmoid(x, seed):
    gy = np.random.default_rng(seed).standard_normal(x.shape).astype(np.float32)
    t = Tensor(x, requires_grad=True)
    (gx,) = grad(ops.softplus(t), [t], grad_output=Tensor(gy))
    np.testing.assert_array_equal(gx.data, gy * ops.sigmoid(Tensor(x)).data)


def test_softplus_second_derivative_still_flows_through_the_reused_exp():
    # d²/dx² softplus(x) = σ(x)(1 - σ(x)); the backward's σ must stay in the graph for it
    x = Tensor(np.array([-3.0, 0.0, 2.0]), requires_grad=True)
    (first,) = grad(ops.softplus(x).sum(), [x], create_graph=True)
    (second,) = grad(first.sum(), [x])
    s = 1 / (1 + np.exp(-x.data))
    np.testing.assert_allclose(second.data, s * (1 - s), rtol=1e-12)


# ----------------------------------------------------------------------------- the fused optimiser, touched as users touch it


def _net_and_optimizer(fused, cls=optim.Adam, block=fused_update.BLOCK, **settings):
    model = nn.mlp([3, 5, 2], rng=np.random.default_rng(0))
    with mock.patch.object(fused_update, "BLOCK", block):
        opt = cls(model.parameters(), fused=fused, **settings)
    assert (opt.fused is not None) == fused
    return model, opt


def _loss(model, seed=1):
    x = Tensor(np.random.default_rng(seed).standard_normal((8, 3)).astype(np.float32))
    return (model(x) ** 2).mean()


@pytest.mark.parametrize("block", [fused_update.BLOCK, 4])  # 4: the fused update in blocks across parameters
@pytest.mark.parametrize("cls, settings", [(optim.Adam, {}), (optim.SGD, {"lr": 0.1, "momentum": 0.9})])
def test_gradients_edited_in_place_are_what_both_ways_apply(cls, settings, block):
    """Clipping by hand: the norm is read, the gradients scaled in place, then the step. Both
    ways apply the edited gradients, whatever was read before (zero gradients: Adam and SGD
    leave θ where it is on a first step)."""
    results = []
    for fused in (True, False):
        model, opt = _net_and_optimizer(fused, cls, block, **settings)
        before = [p.data.copy() for p in model.parameters()]
        _loss(model).backward()
        float(guard.gradient_norm(opt))  # read the norm first, as a clipping loop does
        for p in model.parameters():
            p.grad.data *= 0  # then clip to nothing, in place
        opt.step()
        for b, p in zip(before, model.parameters(), strict=True):
            np.testing.assert_array_equal(b, p.data)
        for scale in (0.5, 2.0):  # and later steps with gradients scaled in place
            opt.zero_grad()
            _loss(model).backward()
            for p in model.parameters():
                p.grad.data *= scale
            opt.step()
        results.append([p.data.copy() for p in model.parameters()])
    for a, b in zip(*results, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("fused", [True, False])
def test_backward_through_a_graph_whose_weights_the_optimizer_has_since_updated_is_refused(fused):
    """As in PyTorch: one loss, an update, then a second backward through the old graph would mix
    the old activations with the new weights. Both ways bump the parameters' versions."""
    model, opt = _net_and_optimizer(fused)
    loss = _loss(model)
    loss.backward(retain_graph=True)
    opt.step()
    with pytest.raises(RuntimeError, match=r"tensor '\S+', an input of Linear, was changed in place after the graph "
                                           r"was built \(an optimiser step\?\)"):
        loss.backward()


@pytest.mark.parametrize("fused", [True, False])
def test_loading_a_state_into_a_model_makes_its_old_graphs_stale(fused):
    model, opt = _net_and_optimizer(fused)
    loss = _loss(model)
    model.load_state_dict(model.state_dict())
    with pytest.raises(RuntimeError, match="was changed in place"):
        loss.backward()


def test_a_gan_sharing_one_d_of_g_of_z_between_both_losses_gets_a_clear_error_not_a_mixed_gradient():
    """The classic mistake: D(G(z)) computed once, D's loss stepped, then G's loss backpropagated
    through the same D(G(z)), whose graph holds D's weights from before D's update."""
    minigan.seed(0)
    G, D = nn.mlp([2, 8, 2], name="G"), nn.mlp([2, 8, 1], name="D")
    opt_d, opt_g = optim.Adam(D.parameters()), optim.Adam(G.parameters())
    z = Tensor(np.random.default_rng(0).standard_normal((16, 2)).astype(np.float32))
    out_fake = D(G(z))
    from minigan import losses
    loss_d = losses.bce_with_logits(out_fake, 0.0)
    loss_d.backward(retain_graph=True)
    opt_d.step()
    loss_g = losses.non_saturating_generator_loss(out_fake)
    with pytest.raises(RuntimeError, match=r"tensor 'D\.\d\.(weight|bias)', an input of Linear, was changed in place"):
        loss_g.backward()


def test_a_model_built_before_its_optimizer_still_backpropagates_its_first_loss():
    """Moving the parameters into the fused update's flat array keeps their values: not a change."""
    model = nn.mlp([3, 5, 2], rng=np.random.default_rng(0))
    loss = _loss(model)
    opt = optim.Adam(model.parameters())
    loss.backward()
    opt.step()
    assert all(p.grad is not None for p in model.parameters())


# ----------------------------------------------------------------------------- counting array calls


def _small_gan(steps):
    minigan.seed(0)
    G = nn.mlp([2, 16, 16, 2], activation="relu", name="G")
    D = nn.mlp([2, 16, 16, 1], activation="leaky_relu", name="D")
    model = gan.GAN(G, D, data.ring(), gan.GANConfig(batch_size=32))
    records = [model.train_step() for _ in range(steps)]
    return model, records


def test_counting_changes_no_number_of_a_training_run():
    plain, plain_records = _small_gan(3)
    with counting() as tally:
        counted, counted_records = _small_gan(3)
    assert plain_records == counted_records
    for a, b in zip(plain.G.parameters() + plain.D.parameters(), counted.G.parameters() + counted.D.parameters(),
                    strict=True):
        np.testing.assert_array_equal(a.data, b.data)
    assert backend.current() is np  # the block restores plain NumPy
    assert tally.calls["matmul"] > 0 and tally.readbacks > 0


@pytest.mark.parametrize("loss", ["non_saturating", "least_squares", "wgan_gp"])
def test_a_training_step_waits_for_the_device_once_per_update(loss):
    # on a GPU each read-back is a wait: the records, gradient norm and finiteness check of an
    # update come back together, and checks of plain-number arguments stay on the host
    with counting() as tally:
        minigan.seed(0)
        G, D = nn.mlp([2, 16, 2], name="G"), nn.mlp([2, 16, 1], name="D")
        model = gan.GAN(G, D, data.ring(), gan.GANConfig(batch_size=32, loss=loss, k=2))
        model.train_step()
        tally.reset()
        model.train_step()
    assert tally.readbacks == 3  # two D-steps, one G-step


def test_counting_works_before_anything_has_chosen_the_backend():
    # in a fresh process the backend is chosen on first use; counting() must not mistake
    # "not chosen yet" for "not NumPy" (benchmarks/gan_step.py starts this way)
    code = ("from minigan import backend\nfrom minigan.fast.counting import counting\n"
            "with counting() as tally:\n    backend.current().ones(3).sum()\nprint(tally.total)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            env={k: v for k, v in os.environ.items() if k != "MINIGAN_BACKEND"})
    assert result.returncode == 0, result.stderr
    assert int(result.stdout) >= 2


def test_counting_tallies_operators_functions_writes_and_read_backs():
    with counting() as tally:
        a = backend.current().ones(3)
        b = a * 2.0 + a  # multiply, add
        np.concatenate([a, b])  # a NumPy function
        b[0] = 5.0  # a write
        total = float(b.sum())  # add.reduce, then a read-back
    assert dict(tally.calls) == {"ones": 1, "multiply": 1, "add": 1, "concatenate": 1, "__setitem__": 1,
                                 "add.reduce": 1}
    assert tally.readbacks == 1 and total == 11.0


def test_a_fused_adam_step_is_a_handful_of_array_calls_whatever_the_depth():
    counts = []
    for depth in (2, 6):
        with counting() as tally:
            model = nn.mlp([4] + [8] * depth + [1])
            opt = minigan.optim.Adam(model.parameters())
            for p in model.parameters():
                p.grad = Tensor(backend.current().ones(p.shape, dtype=p.dtype))
            tally.reset()
            opt.step()
        counts.append(tally.total)
    assert counts[0] == counts[1] == 15  # 13 for the rule, 1 to gather the gradients, 1 to keep θ for undo_step()


# ----------------------------------------------------------------------------- the backends


def _first_steps(backend_name, steps=3):
    backend.use(backend_name)
    try:
        model, records = _small_gan(steps)
        return records, [backend.to_numpy(p.data) for p in model.G.parameters() + model.D.parameters()]
    finally:
        backend.use("numpy")


@pytest.mark.parametrize("other", [b for b in backend.KNOWN if b != "numpy"])
def test_a_seeded_run_starts_the_same_on_every_backend_within_float32_rounding(other):
    if other not in backend.available():
        pytest.skip(f"backend {other!r} unavailable here (CuPy with a CUDA GPU needed)")
    reference_records, reference_params = _first_steps("numpy")
    records, params = _first_steps(other)
    # Same seed, same host random numbers; the libraries sum in different orders, so the
    # numbers agree to float32 rounding, not bit for bit (and drift apart over long runs).
    for ours, theirs in zip(records, reference_records, strict=True):
        assert ours.keys() == theirs.keys()
        for key in ours:
            assert ours[key] == pytest.approx(theirs[key], rel=1e-4, abs=1e-5), key
    for ours, theirs in zip(params, reference_params, strict=True):
        np.testing.assert_allclose(ours, theirs, rtol=1e-4, atol=1e-5)
