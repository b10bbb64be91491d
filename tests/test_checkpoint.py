"""Checkpoints: round trip, atomic writes that survive a failed save, refusal of bad files."""

import zipfile

import numpy as np
import pytest

from minigan.app import checkpoint, presets


def _state():
    return {
        "weights": {"a": np.arange(6.0).reshape(2, 3), "b": np.ones(3, dtype=np.float32)},
        "buffers": [np.zeros(2), np.full(2, 7.0)],
        "step": 12,
        "rng": np.random.default_rng(5).bit_generator.state,
        "config": {"loss": "minimax", "betas": [0.5, 0.999]},
    }


def test_round_trip_keeps_arrays_dtypes_and_everything_else(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", _state())
    loaded = checkpoint.load(path)
    original = _state()
    np.testing.assert_array_equal(loaded["weights"]["a"], original["weights"]["a"])
    assert loaded["weights"]["b"].dtype == np.float32
    np.testing.assert_array_equal(loaded["buffers"][1], original["buffers"][1])
    assert loaded["step"] == 12 and loaded["config"] == original["config"]
    rng = np.random.default_rng()
    rng.bit_generator.state = loaded["rng"]
    assert rng.random() == np.random.default_rng(5).random()  # the generator continues identically


@pytest.mark.parametrize("settings", [{}, {"loss": "wgan_gp", "k": 2}, {"loss": "minimax", "k": 3}])
def test_a_gan_resumed_from_a_checkpoint_continues_bit_identically(tmp_path, settings):
    straight, _ = presets.build("ring", seed=3, batch_size=64, **settings)
    straight.train(20)

    first, _ = presets.build("ring", seed=3, batch_size=64, **settings)
    first.train(10)
    checkpoint.save(tmp_path / "half.npz", first.state_dict())
    resumed, _ = presets.build("ring", seed=99, batch_size=64, **settings)  # other weights, other RNG state
    resumed.load_state_dict(checkpoint.load(tmp_path / "half.npz"))
    resumed.train(10)

    for a, b in zip(straight.G.parameters() + straight.D.parameters(), resumed.G.parameters() + resumed.D.parameters(), strict=True):
        np.testing.assert_array_equal(a.data, b.data)


def test_a_failed_write_leaves_the_previous_checkpoint_whole(tmp_path, monkeypatch):
    path = checkpoint.save(tmp_path / "run.npz", _state())
    before = path.read_bytes()

    def crash_mid_write(stream, record, arrays):
        stream.write(b"PK\x03\x04 half a zip file")  # some bytes reach the disk, then the process "dies"
        raise OSError("simulated crash during save")

    monkeypatch.setattr(checkpoint, "_write_archive", crash_mid_write)
    with pytest.raises(OSError, match="simulated crash"):
        checkpoint.save(path, {"step": 13})
    assert path.read_bytes() == before
    assert checkpoint.load(path)["step"] == 12
    assert [p.name for p in tmp_path.iterdir()] == ["run.npz"]  # no temporary file left behind


def test_state_that_cannot_be_saved_fails_before_touching_the_file(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", _state())
    with pytest.raises(TypeError):
        checkpoint.save(path, {"callback": print})
    assert checkpoint.load(path)["step"] == 12


def test_truncated_file_is_refused(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", _state())
    path.write_bytes(path.read_bytes()[:-200])
    with pytest.raises(checkpoint.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load(path)


def test_flipped_bytes_inside_an_array_are_detected(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", {"big": np.zeros(10_000)})
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0xFF  # one corrupted byte in the middle of the array's data
    path.write_bytes(bytes(raw))
    with pytest.raises(checkpoint.CheckpointError, match="corrupt"):
        checkpoint.load(path)


def test_foreign_files_are_refused(tmp_path):
    np.savez(tmp_path / "other.npz", weights=np.ones(3))
    with pytest.raises(checkpoint.CheckpointError, match="not a minigan checkpoint"):
        checkpoint.load(tmp_path / "other.npz")
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(checkpoint.CheckpointError, match="not a readable checkpoint"):
        checkpoint.load(tmp_path / "notes.txt")
    with pytest.raises(checkpoint.CheckpointError, match="checkpoint file not found"):
        checkpoint.load(tmp_path / "missing.npz")


def _archive(path, **members):
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return path


def test_a_record_of_the_wrong_kind_is_refused(tmp_path):
    path = _archive(tmp_path / "odd.npz", **{"__minigan__.json": "[1, 2]"})
    with pytest.raises(checkpoint.CheckpointError, match="record: says format 'list': this is not a minigan"):
        checkpoint.load(path)
    path = _archive(tmp_path / "empty.npz", **{"__minigan__.json": '{"format": "minigan-checkpoint", "version": 2}'})
    with pytest.raises(checkpoint.CheckpointError, match="empty.npz: record: missing 'state', 'arrays'"):
        checkpoint.load(path)


def test_a_checkpoint_from_another_format_version_is_refused(tmp_path, monkeypatch):
    monkeypatch.setattr(checkpoint, "VERSION", 99)
    path = checkpoint.save(tmp_path / "future.npz", {"step": 1})
    monkeypatch.undo()
    with pytest.raises(checkpoint.CheckpointError, match="future.npz: format: version 99; this minigan reads version 2"):
        checkpoint.load(path)


def test_a_version_1_checkpoint_is_refused_with_what_to_do(tmp_path):
    np.savez(tmp_path / "old.npz", __minigan__=np.array('{"format": "minigan-checkpoint", "version": 1, "state": {}}'))
    with pytest.raises(checkpoint.CheckpointError, match="old.npz: format: version 1, .* start the run again"):
        checkpoint.load(tmp_path / "old.npz")


def test_checkpoint_is_a_plain_npz_a_reader_can_inspect(tmp_path):
    path = checkpoint.save(tmp_path / "run.npz", _state())
    with zipfile.ZipFile(path) as archive:
        names = sorted(archive.namelist())
    assert "__minigan__.json" in names and "weights/a.npy" in names
    with np.load(path) as npz:  # the arrays are ordinary .npy members
        np.testing.assert_array_equal(npz["weights/a"], _state()["weights"]["a"])
