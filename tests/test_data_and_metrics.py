"""Data sets (samplers, densities, the IDX reader) and the sample-based metrics."""

import gzip
import struct
import sys

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan import data, metrics, theory


@pytest.mark.parametrize("make", [data.gaussian_1d, data.mixture_1d, data.ring, data.grid])
def test_samples_follow_the_density(make):
    dist = make()
    samples = dist.sample(200_000, np.random.default_rng(0))
    assert samples.shape == (200_000, dist.dim)
    np.testing.assert_allclose(samples.mean(axis=0), dist.mean, atol=0.02)
    np.testing.assert_allclose(samples.std(axis=0), dist.std, rtol=0.01)
    grid = theory.grid_for(dist, points_per_axis=20001 if dist.dim == 1 else 1001)
    assert grid.integrate(dist.pdf(grid.points)) == pytest.approx(1.0, abs=1e-6)


def test_ring_and_grid_geometry():
    ring = data.ring()
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 2.0)
    assert len(ring.means) == 8
    grid = data.grid()
    assert len(grid.means) == 25 and set(np.unique(grid.means)) == {-4.0, -2.0, 0.0, 2.0, 4.0}


def test_pacgan_ring_is_the_ring_of_radius_1_and_std_0_01():
    ring = data.make("pacgan_ring")
    np.testing.assert_allclose(np.linalg.norm(ring.means, axis=1), 1.0)
    assert len(ring.means) == 8 and ring.stds.tolist() == [0.01] * 8


def test_log_pdf_is_finite_far_in_the_tails():
    assert np.isfinite(data.gaussian_1d(0, 1).log_pdf(np.array([1e3]))).all()


def test_bad_mixtures_are_refused():
    with pytest.raises(ValueError, match="weights must be 2 non-negative numbers summing to 1"):
        data.mixture_1d(weights=[0.5, 0.6])
    with pytest.raises(ValueError, match="standard deviations must be positive"):
        data.ring(std=0.0)


def test_unknown_data_set_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown data set 'cifar'; known: gaussian, mixture, ring, pacgan_ring, grid, two_gaussians, disjoint, line, digits, mnist"):
        data.make("cifar")


def _write_idx(path, array, type_byte=0x08):
    header = bytes([0, 0, type_byte, array.ndim]) + b"".join(struct.pack(">I", n) for n in array.shape)
    payload = header + array.astype(array.dtype.newbyteorder(">")).tobytes()
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wb") as handle:
        handle.write(payload)


def test_idx_reader_round_trips_plain_and_gzipped_files(tmp_path):
    images = np.random.default_rng(0).integers(0, 256, (5, 4, 3)).astype(np.uint8)
    _write_idx(tmp_path / "images-idx3-ubyte", images)
    _write_idx(tmp_path / "images-idx3-ubyte.gz", images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "images-idx3-ubyte"), images)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "images-idx3-ubyte.gz"), images)
    floats = np.linspace(-1, 1, 6).reshape(2, 3).astype(np.float32)
    _write_idx(tmp_path / "floats.idx", floats, type_byte=0x0D)
    np.testing.assert_array_equal(data.read_idx(tmp_path / "floats.idx"), floats)


def test_mnist_loader_scales_to_minus_one_one(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    images[:, 0, 0] = 255
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    mnist = data.load_mnist(tmp_path)  # a folder holding the file
    assert mnist.dim == 784 and len(mnist) == 3 and mnist.image_shape == (28, 28)
    assert mnist.samples.min() == -1.0 and mnist.samples.max() == 1.0
    assert mnist.sample(7, np.random.default_rng(0)).shape == (7, 784)


def test_corrupt_idx_files_are_refused_clearly(tmp_path):
    images = np.zeros((4, 2, 2), dtype=np.uint8)
    _write_idx(tmp_path / "good", images)
    raw = (tmp_path / "good").read_bytes()
    (tmp_path / "truncated").write_bytes(raw[:-3])
    (tmp_path / "foreign").write_bytes(b"PK\x03\x04 not an idx file")
    (tmp_path / "broken.gz").write_bytes(b"\x1f\x8b\x08 definitely not gzip")
    with pytest.raises(ValueError, match=r"header promises shape \(4, 2, 2\) .* but the file has 29 bytes"):
        data.read_idx(tmp_path / "truncated")
    with pytest.raises(ValueError, match="not an IDX file"):
        data.read_idx(tmp_path / "foreign")
    with pytest.raises(ValueError, match="cannot be read as an IDX file"):
        data.read_idx(tmp_path / "broken.gz")
    with pytest.raises(FileNotFoundError, match="IDX file not found"):
        data.read_idx(tmp_path / "missing")
    with pytest.raises(FileNotFoundError, match="no MNIST images file of the training set"):
        data.load_mnist(tmp_path / "..")


def test_a_folder_of_mnist_as_distributed_gives_the_training_images_never_the_test_set(tmp_path):
    """MNIST comes as train-images-idx3-ubyte.gz (60,000 images) and t10k-images-idx3-ubyte.gz
    (the 10,000 of the test set), and t10k sorts first: the folder must still give the training set."""
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", np.zeros((3, 28, 28), dtype=np.uint8))
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", np.zeros((5, 28, 28), dtype=np.uint8))
    (tmp_path / "train-labels-idx1-ubyte.gz").write_bytes(b"")
    assert data.locate_mnist(tmp_path) == tmp_path / "train-images-idx3-ubyte.gz"
    assert len(data.load_mnist(tmp_path)) == 3
    assert len(data.load_mnist(tmp_path / "t10k-images-idx3-ubyte.gz")) == 5  # named, the test set is used


def test_a_folder_with_two_training_files_or_only_the_test_set_is_refused_naming_them(tmp_path):
    images = np.zeros((3, 28, 28), dtype=np.uint8)
    _write_idx(tmp_path / "t10k-images-idx3-ubyte.gz", images)
    with pytest.raises(FileNotFoundError, match=r"only the test set \(t10k-images-idx3-ubyte.gz\)"):
        data.locate_mnist(tmp_path)
    _write_idx(tmp_path / "train-images-idx3-ubyte", images)
    _write_idx(tmp_path / "train-images-idx3-ubyte.gz", images)
    with pytest.raises(ValueError, match="2 MNIST training images files "
                                         r"\(train-images-idx3-ubyte, train-images-idx3-ubyte.gz\); name the file"):
        data.locate_mnist(tmp_path)


@pytest.mark.parametrize("images, type_byte, problem", [
    (np.zeros((0, 28, 28), dtype=np.uint8), 0x08, r"holds no pixels \(shape \(0, 28, 28\)\)"),
    (np.zeros((5, 28, 0), dtype=np.uint8), 0x08, r"holds no pixels \(shape \(5, 28, 0\)\)"),
    (np.full((2, 2, 2), 1000, dtype=np.int16), 0x0B, r"holds int16 values; MNIST images are bytes"),
    (np.zeros((2, 2, 2), dtype=np.float32), 0x0D, r"holds float32 values"),
    (None, 0x08, r"IDX header says 65 dimensions; at most 64"),  # NumPy cannot make such an array
])
def test_idx_images_that_are_empty_not_bytes_or_of_too_many_dimensions_are_refused_naming_the_file(
        tmp_path, images, type_byte, problem):
    path = tmp_path / "train-images-idx3-ubyte"
    if images is None:
        path.write_bytes(bytes([0, 0, type_byte, 65]) + struct.pack(">I", 1) * 65 + b"\x00")
    else:
        _write_idx(path, images, type_byte)
    with pytest.raises(ValueError, match=f"^{path}: {problem}"):
        data.load_mnist(path)


def test_an_idx_shape_with_a_zero_beside_sizes_no_array_can_have_is_refused_naming_the_file(tmp_path):
    """0 × 2³² × 2³² values are no bytes at all, but NumPy cannot make an array of that shape."""
    path = tmp_path / "images-idx3-ubyte"
    path.write_bytes(bytes([0, 0, 0x08, 3]) + struct.pack(">III", 0, 2**32 - 1, 2**32 - 1))
    with pytest.raises(ValueError, match=f"^{path}: IDX header promises shape \\(0, 4294967295, 4294967295\\)"):
        data.read_idx(path)


@settings(max_examples=200)
@given(header=st.binary(min_size=0, max_size=24), body=st.binary(max_size=64), gzipped=st.booleans())
def test_an_idx_file_with_any_header_is_read_exactly_or_refused_in_one_line_naming_it(tmp_path_factory, header,
                                                                                      body, gzipped):
    path = tmp_path_factory.mktemp("idx") / ("images-idx3-ubyte" + (".gz" if gzipped else ""))
    raw = bytes([0, 0]) + header + body if header[:1] != b"\xff" else header + body  # mostly valid magic
    (gzip.open if gzipped else open)(path, "wb").write(raw)
    try:
        array = data.read_idx(path)
    except ValueError as exc:
        assert str(path) in str(exc) and "\n" not in str(exc)
        return
    dtype, ndim = np.dtype(data._IDX_TYPES[raw[2]]), raw[3]
    shape = tuple(int.from_bytes(raw[4 + 4 * i: 8 + 4 * i], "big") for i in range(ndim))
    assert array.shape == shape and array.dtype == dtype.newbyteorder("=")
    assert array.tobytes() == np.frombuffer(raw[4 + 4 * ndim:], dtype=dtype).astype(array.dtype).tobytes()


def test_digits_load_as_64_features_in_unit_range():
    pytest.importorskip("sklearn", reason="the 8x8 digits need scikit-learn (the 'demos' extra)")
    digits = data.load_digits()
    assert digits.dim == 64 and len(digits) == 1797 and digits.image_shape == (8, 8)
    assert digits.samples.min() == -1.0 and digits.samples.max() == 1.0


def test_digits_without_scikit_learn_say_how_to_get_it(monkeypatch):
    monkeypatch.setitem(sys.modules, "sklearn", None)  # as if it were not installed
    monkeypatch.setitem(sys.modules, "sklearn.datasets", None)
    with pytest.raises(ImportError, match=r"pip install -e '\.\[demos\]'"):
        data.load_digits()


def test_array_dataset_refuses_bad_arrays():
    with pytest.raises(ValueError, match="NaN or infinite"):
        data.ArrayDataset(np.array([[0.0, np.nan]]))
    with pytest.raises(ValueError, match=r"expected a non-empty 2-D array .* got shape \(3,\)"):
        data.ArrayDataset(np.zeros(3))
    with pytest.raises(ValueError, match=r"got shape \(5, 0\)"):
        data.ArrayDataset(np.zeros((5, 0)))
    with pytest.raises(ValueError, match="must be a rectangular array of real numbers"):
        data.ArrayDataset([[1.0], [1.0, 2.0]])
    with pytest.raises(ValueError, match="the samples must be real numbers, got ndarray of dtype complex128"):
        data.ArrayDataset(np.array([[1 + 5j, 2]]))
    for shape in [(28, 28), "abc", (2, 3, 1)]:
        with pytest.raises(ValueError, match=r"image_shape must be \(height, width\) with height × width = 10 features"):
            data.ArrayDataset(np.zeros((5, 10)), image_shape=shape)
    assert data.ArrayDataset(np.zeros((5, 10)), image_shape=[2, 5]).image_shape == (2, 5)


def test_points_of_another_dimension_are_refused_by_a_mixtures_density_not_reshaped():
    with pytest.raises(ValueError, match=r"ring of 8: points must have shape \(n, 2\), got \(2, 3\)"):
        data.ring().log_pdf(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"points must have shape \(n, 2\), got \(4,\)"):
        data.ring().pdf(np.zeros(4))
    with pytest.raises(ValueError, match=r"points must have shape \(n, 1\) or \(n,\), got \(2, 2\)"):
        data.gaussian_1d().log_pdf(np.zeros((2, 2)))
    one_d = data.gaussian_1d()
    assert np.array_equal(one_d.log_pdf(np.arange(3.0)), one_d.log_pdf(np.arange(3.0)[:, None]))
    with pytest.raises(ValueError, match=r"standard deviations must be one number, 2 \(one per component\)"):
        data.GaussianMixture([[0.0], [1.0]], [1.0, 1.0, 1.0])
    with pytest.raises(ValueError, match=r"labels must be a 1-D array"):
        data.held_out_rows(np.zeros((2, 3)))
    with pytest.raises(ValueError, match=r"a data set's name must be a string, got \['ring'\]"):
        data.make(["ring"])


def test_a_seed_given_where_a_generator_belongs_is_refused_not_ignored():
    from minigan import nn
    from minigan.app import presets

    gan, _ = presets.build("ring", seed=0)
    for call in [lambda: data.ring().sample(2, rng=42), lambda: nn.Dropout(0.5, rng=3),
                 lambda: gan.generate(3, rng=0), lambda: gan.sample_real(3, rng=0)]:
        with pytest.raises(TypeError, match=r"rng must be a numpy.random.Generator or None, got int \(for a seed: np.random.default_rng\("):
            call()


# ----------------------------------------------------------------------------- metrics


def test_mode_coverage_counts_modes_and_high_quality_samples():
    ring = data.ring(std=0.1)
    centres = ring.means
    samples = np.concatenate([
        centres[0] + 0.05 * np.ones((6, 2)),  # within 3σ = 0.3 of mode 0
        centres[3] + np.array([[0.25, 0.0]] * 3),  # within 3σ of mode 3
        centres[5] + np.array([[0.5, 0.0]]),  # nearest mode 5 but 0.5 > 0.3 away: low quality
    ])
    coverage = metrics.mode_coverage(samples, ring)
    assert coverage.modes_covered == 2 and coverage.n_modes == 8
    assert coverage.high_quality_fraction == pytest.approx(0.9)
    assert coverage.high_quality_per_mode.tolist() == [6, 0, 0, 3, 0, 0, 0, 0]
    assert metrics.mode_coverage(samples, ring, min_samples=4).modes_covered == 1


def test_reverse_kl_of_the_mode_histogram_is_pacgans():
    grid = data.grid()
    on_every_mode = grid.means.repeat(4, axis=0)  # 4 perfect samples on each of the 25 modes
    assert metrics.mode_coverage(on_every_mode, grid).reverse_kl == pytest.approx(0.0, abs=1e-12)
    on_one_mode = grid.means[[7] * 10]
    assert metrics.mode_coverage(on_one_mode, grid).reverse_kl == pytest.approx(np.log(25))  # log K
    # 3 samples on mode 0, 1 on mode 1, one far off (not high quality, so not counted);
    # the 23 empty modes add 0 log 0 = 0: KL = 3/4 log(3/4 · 25) + 1/4 log(1/4 · 25)
    samples = np.concatenate([grid.means[[0, 0, 0, 1]], [[1.0, 1.0]]])
    expected = 0.75 * np.log(0.75 * 25) + 0.25 * np.log(0.25 * 25)
    assert metrics.mode_coverage(samples, grid).reverse_kl == pytest.approx(expected)


def test_reverse_kl_without_any_high_quality_sample_is_infinite():
    assert metrics.mode_coverage([[1.0, 1.0]], data.grid()).reverse_kl == float("inf")


def test_mode_coverage_of_real_samples_is_complete():
    ring = data.ring()
    coverage = metrics.mode_coverage(ring.sample(5000, np.random.default_rng(0)), ring)
    assert coverage.modes_covered == 8
    assert coverage.high_quality_fraction == pytest.approx(0.9889, abs=0.005)  # P(χ²₂ ≤ 9) = 1 - e^-4.5


def test_mmd_is_near_zero_for_one_distribution_and_large_for_two():
    rng = np.random.default_rng(0)
    ring, grid = data.ring(), data.grid()
    same = metrics.mmd(ring.sample(500, rng), ring.sample(500, rng))
    different = metrics.mmd(ring.sample(500, rng), grid.sample(500, rng))
    assert abs(same) < 0.01 and different > 0.1


def test_divergences_from_samples_of_p_data_itself_are_small_and_grow_with_mismatch():
    rng = np.random.default_rng(0)
    p = data.gaussian_1d(0, 1)
    assert metrics.js_from_samples(p.sample(2000, rng), p) < 0.005
    assert metrics.kl_from_samples(p.sample(2000, rng), p) < 0.01
    shifted = data.gaussian_1d(1, 1).sample(2000, rng)
    assert metrics.kl_from_samples(shifted, p) == pytest.approx(0.5, abs=0.05)
    assert metrics.kl_from_samples(shifted, p, reverse=True) == pytest.approx(0.5, abs=0.05)


def test_metrics_refuse_wrong_shapes_and_nan():
    with pytest.raises(ValueError, match=r"samples must have shape \(n, 2\)"):
        metrics.mode_coverage(np.zeros((4, 3)), data.ring())
    with pytest.raises(ValueError, match="NaN or infinite"):
        metrics.mode_coverage(np.full((4, 2), np.nan), data.ring())
    with pytest.raises(ValueError, match="for 1-D data"):
        metrics.js_from_samples(np.zeros((10, 2)), data.ring())


def test_divergences_stay_meaningful_when_g_has_collapsed_to_almost_one_point():
    p = data.gaussian_1d(4, 0.5)
    spike = 4 + 1e-4 * np.random.default_rng(0).standard_normal(2000)
    jsd = metrics.js_from_samples(spike, p)
    assert 0.4 < jsd <= np.log(2)  # far from p_data, and never above the JSD's maximum
    assert metrics.kl_from_samples(spike, p) > 10  # p_data's mass where p_g has none


def test_standardize_needs_a_positive_spread_and_works_for_array_data():
    from minigan import gan, nn

    with pytest.raises(ValueError, match="every standard deviation must be positive"):
        nn.Standardize([0.0, 1.0], [1.0, 0.0])
    table = data.ArrayDataset(np.random.default_rng(0).standard_normal((50, 3)) * 5 + 2)
    G, D = gan.make_networks(table, latent_dim=2, hidden=8, standardize=True)
    assert isinstance(D.layers[0], nn.Standardize)


def test_js_monte_carlo_matches_the_quadrature_of_the_kernel_blurred_estimate():
    # The KDE of n samples of q, bandwidth h, has expectation q * N(0, h²I); for q one of the
    # ring's modes N(μ, σ²I) and h = σ that is N(μ, 2σ²I), whose JSD to the ring a 2-D grid
    # integrates independently (theory.js_divergence); likewise for q = p_data itself.
    ring = data.ring()
    grid = theory.Grid([-2.6, -2.6], [2.6, 2.6], 801)
    rng = np.random.default_rng(1)
    collapsed = ring.means[0] + 0.05 * rng.standard_normal((2000, 2))
    blurred_mode = data.GaussianMixture(ring.means[:1], np.sqrt(2) * 0.05)
    assert metrics.js_monte_carlo(collapsed, ring) == pytest.approx(theory.js_divergence(ring, blurred_mode, grid),
                                                                    abs=0.02)
    perfect = ring.sample(2000, rng)
    blurred_ring = data.GaussianMixture(ring.means, np.sqrt(2) * 0.05)
    floor = theory.js_divergence(ring, blurred_ring, grid)
    assert 0.03 < floor < 0.08 and metrics.js_monte_carlo(perfect, ring) == pytest.approx(floor, abs=0.02)


def test_js_monte_carlo_approaches_ln2_for_samples_far_from_the_data():
    far = 10.0 + np.random.default_rng(0).standard_normal((500, 2))
    assert metrics.js_monte_carlo(far, data.ring()) == pytest.approx(np.log(2), abs=1e-3)
