"""Fuzzing checkpoints: every damaged or crafted file is refused with a CheckpointError, or
loads exactly what was saved. Never different data, never another exception.

The corruptions: one bit flipped in every byte of every header of a small checkpoint (zip
local headers, central directory, end record, .npy headers, the JSON record); flips and
truncations anywhere in a checkpoint of a real run; fields of the record rewritten to
values of the wrong type or out of range (with a valid CRC, so only the schema can catch
them); zip bombs and manifests that promise more than the file holds.
"""

import io
import json
import os
import struct
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from minigan import data
from minigan.app import checkpoint, probe, run_state
from minigan.gan import GAN, GANConfig, make_networks

RECORD = "__minigan__.json"


def _run_state() -> dict:
    """What `minigan train` saves, for a tiny GAN three steps into a run."""
    ring = data.ring()
    G, D = make_networks(ring, 2, hidden=4, depth=1, rng=np.random.default_rng(0))
    gan = GAN(G, D, ring, GANConfig(batch_size=8), rng=np.random.default_rng(1))
    history = gan.train(3)
    state = gan.state_dict()
    state.update(
        run={"data": "ring", "seed": 0, "overrides": {"batch_size": 8}, "mnist_path": None,
             "data_fingerprint": run_state.fingerprint(ring),
             "output": {"log_every": 10, "frames": 40, "checkpoint_every": 500}, "steps": 10},
        history=history.columns(),
        frames=[probe.snapshot(gan, gan.sample_noise(4, np.random.default_rng(2)), grid_points=3)],
    )
    return state


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """(state, bytes of its checkpoint)."""
    state = _run_state()
    path = tmp_path_factory.mktemp("fuzz") / "checkpoint.npz"
    checkpoint.save(path, state)
    return state, path.read_bytes()


@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """A checkpoint with one small array, small enough to damage every header byte in turn."""
    state = {"weights": np.arange(6, dtype=np.float32).reshape(2, 3), "step": 7}
    path = tmp_path_factory.mktemp("fuzz") / "small.npz"
    checkpoint.save(path, state)
    return state, path.read_bytes()


def _same(a, b) -> bool:
    """Equal in structure, types, dtypes, shapes and every bit of every array."""
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return (isinstance(a, np.ndarray) and isinstance(b, np.ndarray) and a.dtype == b.dtype
                and a.shape == b.shape and a.tobytes() == b.tobytes())
    if isinstance(a, dict):
        return isinstance(b, dict) and a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(_same, a, b))
    return type(a) is type(b) and a == b


def _outcome(path: Path, raw: bytes, original: dict, schema=None) -> str:
    """'refused' or 'identical'; anything else fails the test."""
    path.write_bytes(raw)
    try:
        loaded = checkpoint.load(path, schema) if schema is not None else checkpoint.load(path)
    except checkpoint.CheckpointError as exc:
        message = str(exc)
        assert str(path) in message and "\n" not in message, message  # one line, naming the file
        return "refused"
    assert _same(loaded, _tuples_as_lists(original)), "a damaged checkpoint loaded different content"
    return "identical"


def _tuples_as_lists(value):
    if isinstance(value, dict):
        return {k: _tuples_as_lists(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_tuples_as_lists(v) for v in value]
    return value


def header_regions(raw: bytes) -> list[tuple[int, int, str]]:
    """(start, end, what) of every header in a zip archive of .npy members: each member's
    local header and .npy header (or the whole JSON record), the central directory, the end record."""
    regions = []
    with zipfile.ZipFile(io.BytesIO(raw)) as archive:
        members = archive.infolist()
    for info in members:
        start = info.header_offset
        name_length, extra_length = struct.unpack("<HH", raw[start + 26:start + 30])
        data_start = start + 30 + name_length + extra_length
        regions.append((start, data_start, f"local header of {info.filename}"))
        if info.filename.endswith(".npy"):
            npy_length = struct.unpack("<H", raw[data_start + 8:data_start + 10])[0]
            regions.append((data_start, data_start + 10 + npy_length, f".npy header of {info.filename}"))
        else:
            regions.append((data_start, data_start + info.file_size, f"member {info.filename}"))
    end = raw.rindex(b"PK\x05\x06")
    directory = struct.unpack("<I", raw[end + 16:end + 20])[0]
    regions += [(directory, end, "central directory"), (end, len(raw), "end record")]
    return regions


def _flip(raw: bytes, offset: int, mask: int) -> bytes:
    damaged = bytearray(raw)
    damaged[offset] ^= mask
    return bytes(damaged)


# ----------------------------------------------------------------------------- damaged bytes


def test_a_flipped_bit_in_every_header_byte_is_refused_or_harmless(small, tmp_path):
    """Every bit of every byte of the zip headers (local, central directory, end record) and of
    the .npy header's magic, version and length; bits 0, 5 and 7 of every byte of the .npy
    header's text (compared byte for byte, so each flip there is refused alike). The JSON
    record's bytes are sampled in the next test: its CRC guards them as it guards the data."""
    state, raw = small
    outcomes = {"refused": 0, "identical": 0}
    for start, end, what in header_regions(raw):
        if what == f"member {RECORD}":
            continue
        for offset in range(start, end):
            text = what.startswith(".npy header") and offset >= start + 10
            for bit in (0, 5, 7) if text else range(8):
                outcomes[_outcome(tmp_path / "c.npz", _flip(raw, offset, 1 << bit), state)] += 1
    assert outcomes["refused"] > 1000 and sum(outcomes.values()) > 2000


def test_a_shorter_npy_header_length_never_shifts_the_data(tmp_path):
    """The attack a review found: clear bit 5 of a member's .npy header length and NumPy reads
    the header 32 bytes early (still valid: the dict, then padding) and the data 32 bytes
    shifted; for an array as large as a layer of 128 × 128 it stops before the member's end,
    so the zip CRC is never checked. Before format 2, such a file loaded shifted weights."""
    state = {"m": np.random.default_rng(0).standard_normal((128, 128)).astype(np.float32)}
    path = checkpoint.save(tmp_path / "c.npz", state)
    raw = path.read_bytes()
    (start, _, _), = [region for region in header_regions(raw) if region[2] == ".npy header of m.npy"]
    assert raw[start + 8] & 0x20
    assert _outcome(path, _flip(raw, start + 8, 0x20), state) == "refused"


@settings(max_examples=300)
@given(choice=st.data())
def test_a_flipped_bit_in_any_header_of_a_run_checkpoint_is_refused_or_harmless(saved, tmp_path, choice):
    state, raw = saved
    start, end, _ = choice.draw(st.sampled_from(header_regions(raw)))
    offset, bit = choice.draw(st.integers(start, end - 1)), choice.draw(st.integers(0, 7))
    _outcome(tmp_path / "c.npz", _flip(raw, offset, 1 << bit), state)


@settings(max_examples=150)
@given(choice=st.data())
def test_flipped_bits_anywhere_are_refused_or_harmless(saved, tmp_path, choice):
    state, raw = saved
    damaged = bytearray(raw)
    for _ in range(choice.draw(st.integers(1, 4))):
        damaged[choice.draw(st.integers(0, len(raw) - 1))] ^= choice.draw(st.integers(1, 255))
    _outcome(tmp_path / "c.npz", bytes(damaged), state)


@settings(max_examples=100)
@given(length=st.integers(0, 10**7))
def test_a_truncated_checkpoint_is_refused(saved, tmp_path, length):
    state, raw = saved
    assert _outcome(tmp_path / "c.npz", raw[:length % len(raw)], state) == "refused"


# ----------------------------------------------------------------------------- crafted records


def _rewrite(raw: bytes, edit) -> bytes:
    """The archive with its JSON record replaced by ``edit(record)``: a valid zip, valid CRCs."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w") as target:
        for info in source.infolist():
            content = source.read(info)
            if info.filename == RECORD:
                content = edit(json.loads(content))
                content = content if isinstance(content, (bytes, str)) else json.dumps(content)
            target.writestr(info.filename, content)
    return out.getvalue()


def _leaves(value, path=()):
    """(path, value) of every number, text, truth value and null in a JSON tree."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _leaves(item, (*path, key))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _leaves(item, (*path, i))
    else:
        yield path, value


def _replace(tree, path, new):
    if not path:
        return new
    tree[path[0]] = _replace(tree[path[0]], path[1:], new)
    return tree


def _kind(value) -> str:
    return "bool" if isinstance(value, bool) else "number" if isinstance(value, (int, float)) else type(value).__name__


OTHER_KINDS = st.one_of(st.booleans(), st.integers(-10**30, 10**30), st.floats(allow_nan=False),
                        st.text(max_size=8), st.none(), st.lists(st.integers(), max_size=2),
                        st.dictionaries(st.text(max_size=3), st.integers(), max_size=2))


@pytest.fixture(scope="module")
def leaves(saved):
    with zipfile.ZipFile(io.BytesIO(saved[1])) as archive:
        record = json.loads(archive.read(RECORD))
    return [(path, value) for path, value in _leaves(record) if path[0] in ("state", "arrays")]


@settings(max_examples=100)
@given(choice=st.data())
def test_any_field_rewritten_to_another_type_is_refused(saved, leaves, tmp_path, choice):
    state, raw = saved
    path, value = choice.draw(st.sampled_from(leaves))
    new = choice.draw(OTHER_KINDS.filter(lambda v: _kind(v) != _kind(value)))
    crafted = _rewrite(raw, lambda r: _replace(r, path, new))
    assert _outcome(tmp_path / "c.npz", crafted, state, run_state.RUN_STATE) == "refused", (path, new)


def _fifo(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return str(fifo)


CRAFTED = {  # what a hostile or damaged record could say, each out of range or malformed
    "negative step": lambda s, tmp: s.update(step=-5),
    "negative learning rate": lambda s, tmp: s["opt_g"]["hyperparameters"].update(lr=-1),
    "zero learning rate": lambda s, tmp: s["opt_d"]["hyperparameters"].update(lr=0),
    "infinite learning rate (1e400 in JSON)": lambda s, tmp: s["opt_d"]["hyperparameters"].update(lr="INF"),
    "beta1 of 1": lambda s, tmp: s["opt_g"]["hyperparameters"].update(betas=[1.0, 0.999]),
    "three betas": lambda s, tmp: s["opt_g"]["hyperparameters"].update(betas=[0.5, 0.9, 0.999]),
    "negative Adam step count": lambda s, tmp: s["opt_g"]["steps"].__setitem__(0, -1),
    "missing run output": lambda s, tmp: s["run"].pop("output"),
    "missing history": lambda s, tmp: s.pop("history"),
    "unknown field": lambda s, tmp: s.update(extra=1),
    "negative seed": lambda s, tmp: s["run"].update(seed=-1),
    "zero checkpoint interval": lambda s, tmp: s["run"]["output"].update(checkpoint_every=0),
    "unknown loss": lambda s, tmp: s["config"].update(loss="hinge"),
    "zero batch size": lambda s, tmp: s["config"].update(batch_size=0),
    "unknown data set": lambda s, tmp: s["run"].update(data="cifar"),
    "override outside the list": lambda s, tmp: s["run"]["overrides"].update(dtype="float16"),
    "mnist path a number": lambda s, tmp: s["run"].update(mnist_path=5),
    "data fingerprint not a digest": lambda s, tmp: s["run"].update(data_fingerprint="a" * 63),
    "more frames asked for than a run may draw": lambda s, tmp: s["run"]["output"].update(frames=10**6),
    "foreign generator state": lambda s, tmp: s["rng"].update(bit_generator="MT19937"),
    "generator state out of range": lambda s, tmp: s["rng"]["state"].update(state=-1),
    "array placeholder of unknown name": lambda s, tmp: s["generator"].update({"0.weight": {"__array__": "nope"}}),
    "array placeholder with extra key": lambda s, tmp: s["generator"]["0.weight"].update(x=1),
    "array used twice": lambda s, tmp: s["discriminator"].update({"0.weight": s["generator"]["0.weight"]}),
    "an average of G's weights with no weights": lambda s, tmp: s.update(g_average={}),
}


@pytest.mark.parametrize("what", list(CRAFTED))
def test_a_crafted_field_is_refused_naming_the_file_and_the_part(saved, tmp_path, what):
    state, raw = saved

    def edit(record):
        CRAFTED[what](record["state"], tmp_path)
        return json.dumps(record).replace('"INF"', "1e400")

    assert _outcome(tmp_path / "c.npz", _rewrite(raw, edit), state, run_state.RUN_STATE) == "refused"


@pytest.mark.parametrize("what, field", [
    ("negative learning rate", "state/opt_g/hyperparameters/lr"), ("zero learning rate", "state/opt_d/hyperparameters/lr"),
    ("beta1 of 1", "state/opt_g/hyperparameters/betas"), ("three betas", "state/opt_g/hyperparameters/betas"),
    ("negative Adam step count", "state/opt_g/steps"),
])
def test_a_bad_optimiser_field_is_named_in_the_words_of_its_own_optimiser(saved, tmp_path, what, field):
    state, raw = saved

    def edit(record):
        CRAFTED[what](record["state"], tmp_path)
        return json.dumps(record)

    path = tmp_path / "c.npz"
    path.write_bytes(_rewrite(raw, edit))
    with pytest.raises(checkpoint.CheckpointError, match=field) as refused:
        checkpoint.load(path, run_state.RUN_STATE)
    assert "SGD" not in str(refused.value)  # not "unknown type 'Adam'", the other optimiser's complaint


def test_an_optimiser_of_an_unknown_type_is_refused_naming_the_known_ones(saved, tmp_path):
    state, raw = saved
    path = tmp_path / "c.npz"
    path.write_bytes(_rewrite(raw, lambda record: json.dumps(record).replace('"type": "Adam"', '"type": "RMSprop"', 1)))
    with pytest.raises(checkpoint.CheckpointError, match=r"state/opt_\w/type must be one of Adam, SGD, got 'RMSprop'"):
        checkpoint.load(path, run_state.RUN_STATE)


@pytest.mark.parametrize("text", [
    "[" * 100_000 + "]" * 100_000,  # nesting that would exhaust the parser's recursion
    '{"format": "minigan-checkpoint", "version": 2, "state": NaN, "arrays": {}}',
    '{"format": "minigan-checkpoint", "version": 2, "state": 1' + "0" * 5000 + ', "arrays": {}}',
    "\xff\xfe not text",
    " " * (5 * 2**20),  # more than checkpoint.MAX_RECORD_BYTES
])
def test_a_malformed_record_is_refused(saved, tmp_path, text):
    state, raw = saved
    crafted = _rewrite(raw, lambda record: text.encode("latin-1") if text.startswith("\xff") else text)
    assert _outcome(tmp_path / "c.npz", crafted, state) == "refused"


def test_a_manifest_entry_that_does_not_match_its_member_is_refused(saved, tmp_path):
    state, raw = saved
    for field, value in [("shape", [3, 1]), ("dtype", "<f8"), ("sha256", "0" * 64)]:
        def edit(record):
            record["arrays"]["generator/0.weight"][field] = value
            return record
        assert _outcome(tmp_path / "c.npz", _rewrite(raw, edit), state) == "refused"


# ----------------------------------------------------------------------------- bombs and foreign members


def _peak_memory_of_load(path: Path) -> tuple[int, str]:
    tracemalloc.start()
    try:
        with pytest.raises(checkpoint.CheckpointError) as refusal:
            checkpoint.load(path)
        return tracemalloc.get_traced_memory()[1], str(refusal.value)
    finally:
        tracemalloc.stop()


def test_a_zip_bomb_of_an_unnamed_member_is_refused_without_unpacking_it(saved, tmp_path):
    state, raw = saved
    path = tmp_path / "bomb.npz"
    path.write_bytes(raw)
    with zipfile.ZipFile(path, "a", zipfile.ZIP_DEFLATED) as archive, archive.open("bomb.npy", "w") as bomb:
        zeros = bytes(2**20)
        for _ in range(64):  # 64 MiB of zeros, about 64 KiB compressed
            bomb.write(zeros)
    assert path.stat().st_size < 2**20
    peak, message = _peak_memory_of_load(path)
    assert "'bomb.npy': is not named in the manifest" in message
    assert peak < 4 * 2**20  # nothing was unpacked


def test_a_manifest_promising_more_than_the_file_holds_is_refused_before_allocating(saved, tmp_path):
    state, raw = saved

    def edit(record):
        record["arrays"]["generator/0.weight"]["shape"] = [10**6, 10**6]  # 4 TB of float32
        return record

    path = tmp_path / "big.npz"
    path.write_bytes(_rewrite(raw, edit))
    peak, message = _peak_memory_of_load(path)
    assert "promises" in message and peak < 4 * 2**20


def test_a_compressed_member_is_refused(saved, tmp_path):
    state, raw = saved
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(raw)) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            target.writestr(info.filename, source.read(info))
    assert _outcome(tmp_path / "c.npz", out.getvalue(), state) == "refused"


def test_a_member_named_twice_is_refused(small, tmp_path):
    state, raw = small
    path = tmp_path / "twice.npz"
    path.write_bytes(raw)
    with pytest.warns(UserWarning, match="Duplicate name"), zipfile.ZipFile(path, "a") as archive:
        archive.writestr("weights.npy", b"other")
    with pytest.raises(checkpoint.CheckpointError, match="'weights.npy': appears twice"):
        checkpoint.load(path)


@pytest.mark.parametrize("make", [
    lambda tmp: tmp,  # a folder
    lambda tmp: Path(_fifo(tmp)),  # a FIFO: reading would wait for a writer forever
    lambda tmp: Path("/dev/zero"),  # a device: reading would never end
])
def test_a_path_that_is_not_a_regular_file_is_refused_without_reading(tmp_path, make):
    with pytest.raises(checkpoint.CheckpointError, match="is a folder|not a regular file"):
        checkpoint.load(make(tmp_path))


def test_save_refuses_a_state_that_load_would_refuse(tmp_path):
    state = _run_state()
    state["step"] = -1
    with pytest.raises(ValueError, match="state/step must be a whole number ≥ 0"):
        checkpoint.save(tmp_path / "c.npz", state, run_state.RUN_STATE)
    assert not (tmp_path / "c.npz").exists()
    state["step"] = 3
    checkpoint.save(tmp_path / "c.npz", state, run_state.RUN_STATE)
    assert _same(checkpoint.load(tmp_path / "c.npz", run_state.RUN_STATE), _tuples_as_lists(state))


def test_a_config_with_a_field_missing_is_refused(saved, tmp_path):
    state, raw = saved

    def edit(record):
        del record["state"]["config"]["gp_weight"]
        return record

    with pytest.raises(checkpoint.CheckpointError, match="config: missing 'gp_weight'"):
        (tmp_path / "c.npz").write_bytes(_rewrite(raw, edit))
        checkpoint.load(tmp_path / "c.npz", run_state.RUN_STATE)


def test_a_run_holding_the_most_snapshots_a_run_can_hold_saves_and_loads(tmp_path):
    """The record (names, shapes and digests of every array) grows with the snapshots: at the most
    a run can hold it must still fit its cap, or the run could never be saved or resumed."""
    state = _run_state()
    state["frames"] = state["frames"] * run_state.MAX_SNAPSHOTS
    state["run"]["output"]["frames"] = run_state.MAX_FRAMES
    run_state.save(tmp_path / "c.npz", state)
    with zipfile.ZipFile(tmp_path / "c.npz") as archive:
        record_size = archive.getinfo(RECORD).file_size
    assert record_size < checkpoint.MAX_RECORD_BYTES / 2, record_size  # with room to spare
    assert len(run_state.load(tmp_path / "c.npz")["frames"]) == run_state.MAX_SNAPSHOTS
    state["frames"].append(state["frames"][0])
    with pytest.raises(ValueError, match=f"state/frames: expected at most {run_state.MAX_SNAPSHOTS} items"):
        run_state.save(tmp_path / "c.npz", state)


def test_a_run_saved_before_runs_recorded_their_data_still_resumes(tmp_path):
    state = _run_state()
    del state["run"]["data_fingerprint"]
    checkpoint.save(tmp_path / "c.npz", state)
    assert run_state.load(tmp_path / "c.npz")["run"]["data_fingerprint"] is None


def test_the_file_format_knows_nothing_of_runs_and_reads_files_with_the_data_readers_check(tmp_path):
    """One home each: the file check is data.open_regular_file (checkpoints and IDX files say the
    same), the checks of fields are minigan.validate's, a run's schema lives in run_state."""
    assert not any(hasattr(checkpoint, name) for name in ("RUN_STATE", "GAN_STATE", "OVERRIDABLE"))
    fifo = Path(_fifo(tmp_path))
    with pytest.raises(checkpoint.CheckpointError) as refused:
        checkpoint.load(fifo)
    with pytest.raises(ValueError) as idx_refused:
        data.read_idx(fifo)
    assert str(refused.value).split(fifo.name)[-1] == str(idx_refused.value).split(fifo.name)[-1]
