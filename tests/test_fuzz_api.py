"""Fuzzing the API: what it would get wrong, it refuses, with an error that names the culprit.

Never a silent wrong answer (a loss broadcast into a matrix, float64 out of integers) and
never an error from deep inside (AttributeError, ZeroDivisionError) for bad input.
"""

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigan import data, losses, metrics, nn, ops
from minigan.autograd import Tensor

NOT_NUMBERS = st.one_of(
    st.text(min_size=1, max_size=5), st.none(), st.dictionaries(st.text(max_size=2), st.integers(), max_size=2),
    st.just(object()), st.just(np.array([1, "a"], dtype=object)), st.just(np.array(["x", "y"])),
    st.just(np.ones(2, dtype=complex)), st.just([[1.0], [1.0, 2.0]]),  # ragged
)


@settings(max_examples=60)
@given(value=NOT_NUMBERS)
def test_a_tensor_of_anything_but_numbers_is_refused_at_construction(value):
    with pytest.raises(TypeError, match=r"Tensor\(data\) needs numbers"):
        Tensor(value)


UNARY = [ops.exp, ops.log, ops.tanh, ops.sigmoid, ops.relu, ops.softplus, ops.sqrt, ops.abs,
         lambda x: ops.sum(x), lambda x: ops.mean(x), lambda x: ops.reshape(x, (-1,)),
         losses.non_saturating_generator_loss, losses.minimax_generator_loss, losses.max_likelihood_generator_loss,
         losses.wasserstein_generator_loss]


@pytest.mark.parametrize("op", UNARY)
def test_a_raw_array_given_to_an_op_is_refused_with_how_to_wrap_it(op):
    with pytest.raises(TypeError, match=r"not a Tensor; wrap it|must be a Tensor.*wrap it"):
        op(np.ones((3, 1), dtype=np.float32))


@pytest.mark.parametrize("op", [ops.add, ops.sub, ops.mul, ops.div, ops.matmul, losses.critic_losses])
def test_two_raw_arrays_given_to_a_binary_op_are_refused_with_how_to_wrap_them(op):
    with pytest.raises(TypeError, match="wrap"):
        op(np.ones((2, 2), dtype=np.float32), np.ones((2, 2), dtype=np.float32))


@settings(max_examples=40)
@given(n=st.integers(1, 6), target_shape=st.sampled_from(["(n,)", "(1, n)", "(n, n)", "(n, 2)"]),
       loss=st.sampled_from([losses.bce_with_logits, losses.bce]))
def test_targets_of_another_shape_than_the_outputs_are_refused(n, target_shape, loss):
    """D's outputs are (n, 1); targets (n,) would broadcast to an (n, n) loss and average it."""
    shape = {"(n,)": (n,), "(1, n)": (1, n), "(n, n)": (n, n), "(n, 2)": (n, 2)}[target_shape]
    outputs = Tensor(np.full((n, 1), 0.5, dtype=np.float32), requires_grad=True)
    if shape == (n, 1) or (n == 1 and shape in ((1,), (1, 1))):
        return
    with pytest.raises(ValueError, match="do not match the shape"):
        loss(outputs, np.ones(shape, dtype=np.float32))


def test_matching_targets_and_a_single_number_are_fine():
    logits = Tensor(np.zeros((4, 1), dtype=np.float32))
    assert losses.bce_with_logits(logits, np.ones((4, 1), dtype=np.float32)).item() == pytest.approx(np.log(2))
    assert losses.bce_with_logits(logits, 1.0).item() == pytest.approx(np.log(2))


@settings(max_examples=40)
@given(weight=st.one_of(st.floats(max_value=-1e-300), st.just(float("nan")), st.just(float("inf")),
                        st.just(float("-inf")), st.just(True), st.text(max_size=3)))
def test_a_gradient_penalty_weight_that_is_negative_or_not_finite_is_refused(weight):
    critic = nn.mlp([2, 3, 1], rng=np.random.default_rng(0))
    real, fake = Tensor(np.zeros((4, 2), np.float32)), Tensor(np.ones((4, 2), np.float32))
    with pytest.raises(ValueError, match="gradient penalty weight must be a finite number ≥ 0"):
        losses.gradient_penalty(critic, real, fake, np.random.default_rng(0), weight=weight)


def test_a_gradient_penalty_of_mismatched_batches_is_refused():
    critic = nn.mlp([2, 3, 1], rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="real and fake must be batches of one shape"):
        losses.gradient_penalty(critic, Tensor(np.zeros((4, 2), np.float32)), Tensor(np.ones((3, 2), np.float32)),
                                np.random.default_rng(0))


@settings(max_examples=60)
@given(dtype=st.sampled_from([np.bool_, np.int8, np.int32, np.int64, np.uint8, np.float16]),
       op=st.sampled_from(["a + b", "a * 5", "a - 1", "a / b", "sum", "mean", "exp", "sqrt", "sigmoid", "a ** 2",
                           "a @ b", "relu", "max", "a[0]", "reshape"]))
def test_bool_integer_and_half_tensors_are_refused_by_every_op_rather_than_given_a_wrong_number(dtype, op):
    """NumPy would sum 200 int8 ones to -56, keep `mask * 5` boolean and overflow a float16 mean;
    minigan refuses these dtypes in one line instead, naming the op and what it computes on."""
    a = Tensor(np.ones((2, 2), dtype=dtype))
    b = Tensor(np.ones((2, 2), dtype=dtype))
    compute = {"a + b": lambda: a + b, "a * 5": lambda: a * 5, "a - 1": lambda: a - 1, "a / b": lambda: a / b,
               "sum": a.sum, "mean": a.mean, "exp": a.exp, "sqrt": a.sqrt, "sigmoid": a.sigmoid,
               "a ** 2": lambda: a ** 2, "a @ b": lambda: a @ b, "relu": a.relu, "max": a.max,
               "a[0]": lambda: a[0], "reshape": lambda: a.reshape(4)}[op]
    with pytest.raises(TypeError, match=f"computes on float32 or float64 tensors, not {np.dtype(dtype)}"):
        compute()


@settings(max_examples=40)
@given(points=hnp.arrays(np.float64, st.tuples(st.integers(2, 6), st.integers(1, 3)),
                         elements=st.floats(-5, 5, allow_nan=False)))
def test_mmd_of_samples_that_all_coincide_is_refused_not_divided_by_zero(points):
    collapsed = np.repeat(points[:1], len(points), axis=0)
    with pytest.raises(ValueError, match="median heuristic gives bandwidth 0"):
        metrics.mmd(collapsed, collapsed)
    assert metrics.mmd(collapsed, collapsed, bandwidth=1.0) == pytest.approx(0.0, abs=1e-12)


BAD_CALLS = {  # degenerate inputs of data sets and metrics, each refused with a ValueError
    "ring(0)": lambda: data.ring(0),
    "ring(-3)": lambda: data.ring(-3),
    "ring(2.5)": lambda: data.ring(2.5),
    "ring radius 0": lambda: data.ring(8, radius=0.0),
    "ring radius nan": lambda: data.ring(8, radius=float("nan")),
    "grid(0)": lambda: data.grid(0),
    "grid spacing -1": lambda: data.grid(3, spacing=-1.0),
    "gaussian mean nan": lambda: data.gaussian_1d(float("nan"), 1.0),
    "gaussian mean inf": lambda: data.gaussian_1d(float("inf"), 1.0),
    "gaussian std inf": lambda: data.gaussian_1d(0.0, float("inf")),
    "empty mixture": lambda: data.mixture_1d((), ()),
    "mixture of text": lambda: data.mixture_1d(("a", "b")),
    "sample -1": lambda: data.ring().sample(-1),
    "sample 2.5": lambda: data.ring().sample(2.5),
    "dataset sample -1": lambda: data.ArrayDataset(np.zeros((3, 2))).sample(-1),
    "mnist path for the ring": lambda: data.make("ring", mnist_path="x"),
    "mnist from /dev/zero": lambda: data.load_mnist("/dev/zero"),
    "idx from a folder": lambda: data.read_idx("/"),
    "mmd bandwidth 0": lambda: metrics.mmd(np.eye(3), np.eye(3)[::-1], bandwidth=0.0),
    "mmd bandwidth -1": lambda: metrics.mmd(np.eye(3), np.eye(3)[::-1], bandwidth=-1.0),
    "mmd of nothing": lambda: metrics.mmd([], []),
    "mmd of text": lambda: metrics.mmd(["a", "b"], ["c", "d"]),
    "coverage n_std -1": lambda: metrics.mode_coverage(np.zeros((3, 2)), data.ring(), n_std=-1.0),
    "coverage min_samples 0": lambda: metrics.mode_coverage(np.zeros((3, 2)), data.ring(), min_samples=0),
    "kde bandwidth -1": lambda: metrics.kde(np.arange(5.0), bandwidth=-1.0),
    "js of 2-D data": lambda: metrics.js_from_samples(np.arange(5.0), data.ring()),
    "js max_samples 0": lambda: metrics.js_from_samples(np.arange(5.0), data.gaussian_1d(), max_samples=0),
    "kl bandwidth nan": lambda: metrics.kl_from_samples(np.arange(5.0), data.gaussian_1d(), bandwidth=float("nan")),
}


@pytest.mark.parametrize("call", list(BAD_CALLS))
def test_degenerate_inputs_of_data_sets_and_metrics_are_refused_clearly(call):
    with pytest.raises(ValueError) as refusal:
        BAD_CALLS[call]()
    assert "\n" not in str(refusal.value)


def test_an_mnist_path_that_is_a_fifo_is_refused_without_opening_it(tmp_path):
    fifo = tmp_path / "train-images-idx3-ubyte"
    os.mkfifo(fifo)
    with pytest.raises(ValueError, match="not a regular file"):
        data.load_mnist(fifo)
    with pytest.raises(FileNotFoundError, match="no MNIST images file"):
        data.load_mnist(tmp_path)  # a folder whose only candidate is a FIFO


def test_a_gzipped_idx_file_is_read_only_as_far_as_its_header_promises(tmp_path):
    import gzip

    header = bytes([0, 0, 0x08, 3]) + b"".join(n.to_bytes(4, "big") for n in (2, 2, 2))
    with gzip.open(tmp_path / "images-idx3-ubyte.gz", "wb") as stream:
        stream.write(header + bytes(8) + bytes(2**20))  # 8 promised bytes, then a megabyte more
    with pytest.raises(ValueError, match="but the file has more"):
        data.read_idx(tmp_path / "images-idx3-ubyte.gz")
