"""Checkpoints: a whole run in one file that is never lost and verifies itself when read.

``save(path, state)`` takes a nested dict (what ``GAN.state_dict()`` returns, plus
anything else a run wants to keep) and ``load(path)`` gives the same dict back, with
NumPy arrays, or refuses the file with a ``CheckpointError``: one line naming the file
and the part that is wrong.

The file (format version 2) is a zip archive that ``np.load`` reads as an ordinary .npz:

    __minigan__.json    the record: format marker, version, the state with every array
                        replaced by {"__array__": name}, and the manifest, which gives
                        each array's dtype, shape and SHA-256 digest
    <name>.npy          one member per array of the manifest, stored uncompressed

Loading trusts nothing in the file. Before a byte of data is read, the archive must hold
exactly the record and the members its manifest names, each stored (never compressed, so
nothing can expand) and exactly as large as its dtype and shape say. Every member is then
read whole, so its zip CRC-32 is checked, its .npy header must be byte for byte the one
``save`` writes, and the SHA-256 of its data must match the manifest's: a damaged file is
refused, never loaded with shifted or reshaped data. The record's size and nesting are
bounded, and a ``Schema`` (the same one for ``save`` and ``load``) can check every field
of the state by type and range: ``RUN_STATE`` is the one of ``minigan train``.

Saving is atomic: the file is written to a temporary name in the same folder, flushed to
disk, then renamed over the old checkpoint (``os.replace`` is atomic). A crash or a full
disk at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import stat
import tempfile
import zipfile
from pathlib import Path

import numpy as np  # host side: checkpoints hold host copies of the arrays

from minigan import backend

__all__ = ["CheckpointError", "save", "load", "remove_stale_temporaries", "FORMAT", "VERSION",
           "Schema", "GAN_STATE", "RUN_STATE"]

FORMAT = "minigan-checkpoint"
VERSION = 2
RECORD = "__minigan__.json"
RECORD_OF_VERSION_1 = "__minigan__.npy"
MAX_RECORD_BYTES = 4 * 2**20  # the record holds settings and names; arrays live in members
MAX_DEPTH = 32  # nesting of the record's JSON
DTYPES = {np.dtype(name).str: np.dtype(name) for name in (
    "bool", "int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64",
    "float16", "float32", "float64")}  # plain numbers only: nothing that needs pickle


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, corrupt, or not minigan's."""


# ----------------------------------------------------------------------------- schema


class SchemaError(ValueError):
    """A field of a state that does not fit its schema; ``part`` says where it is."""

    def __init__(self, part: str, problem: str):
        self.part, self.problem = part, problem
        super().__init__(f"{part or 'the state'}: {problem}")


class Schema:
    """What a state must look like, field by field; ``check(state)`` raises a SchemaError.

    A schema is built from: a dict {key: schema} (exactly these keys), ``Schema.each(s)``
    (a list of items), ``Schema.table(s)`` (a dict of any text keys), ``Schema.maybe(s)``
    (None or s), ``Schema.either(a, b)``, and leaves: functions that take a value and return
    the problem with it as text, or None when it is fine.
    """

    def __init__(self, spec):
        self.spec = spec

    def check(self, value, part: str = "") -> None:
        spec = self.spec
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise SchemaError(part, f"expected a record with fields {', '.join(spec)}, got {_brief(value)}")
            missing, unknown = [k for k in spec if k not in value], [k for k in value if k not in spec]
            if missing or unknown:
                raise SchemaError(part, "; ".join(filter(None, (
                    missing and f"missing {', '.join(map(repr, missing))}",
                    unknown and f"unexpected {', '.join(map(repr, unknown))}"))))
            for key, field in spec.items():
                Schema.of(field).check(value[key], _join_part(part, key))
        elif callable(spec):
            problem = spec(value)
            if problem:
                raise SchemaError(part, problem)
        else:
            raise TypeError(f"not a schema: {spec!r}")

    @staticmethod
    def of(spec) -> Schema:
        return spec if isinstance(spec, Schema) else Schema(spec)

    @staticmethod
    def each(item, length: int | None = None) -> Schema:
        def check(value, part):
            if not isinstance(value, list) or (length is not None and len(value) != length):
                raise SchemaError(part, f"expected a list{f' of {length}' if length else ''}, got {_brief(value)}")
            for i, element in enumerate(value):
                Schema.of(item).check(element, _join_part(part, i))
        return _Custom(check)

    @staticmethod
    def table(item) -> Schema:
        def check(value, part):
            if not isinstance(value, dict):
                raise SchemaError(part, f"expected a table of named entries, got {_brief(value)}")
            for key, element in value.items():
                Schema.of(item).check(element, _join_part(part, key))
        return _Custom(check)

    @staticmethod
    def maybe(item) -> Schema:
        return _Custom(lambda value, part: None if value is None else Schema.of(item).check(value, part))

    @staticmethod
    def either(first, second) -> Schema:
        def check(value, part):
            try:
                Schema.of(first).check(value, part)
            except SchemaError:
                Schema.of(second).check(value, part)
        return _Custom(check)


class _Custom(Schema):
    def check(self, value, part: str = "") -> None:
        self.spec(value, part)


def _join_part(part: str, key) -> str:
    return f"{part}/{key}" if part else str(key)


def _brief(value) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:60] + '...' if len(text) > 60 else text}"


# Leaves: each returns the problem with a value, or None.


def whole(low: int = 0):
    def check(value):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            return f"expected a whole number ≥ {low}, got {_brief(value)}"
    return check


def positive(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not (math.isfinite(value) and value > 0):
        return f"expected a finite number > 0, got {_brief(value)}"


def fraction(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1:
        return f"expected a number in [0, 1), got {_brief(value)}"


def flag(value):
    if not isinstance(value, bool):
        return f"expected true or false, got {_brief(value)}"


def text(*choices):
    def check(value):
        if not isinstance(value, str) or (choices and value not in choices):
            return f"expected {'one of ' + ', '.join(choices) if choices else 'text'}, got {_brief(value)}"
    return check


def array(kinds: str = "f", finite: bool = True, ndim: int | None = None):
    """An array whose dtype kind is one of ``kinds`` (f float, i/u integer, b bool)."""
    def check(value):
        if not isinstance(value, np.ndarray) or value.dtype.kind not in kinds:
            return f"expected an array of kind {kinds!r}, got {_brief(value)}"
        if ndim is not None and value.ndim != ndim:
            return f"expected a {ndim}-D array, got shape {value.shape}"
        if finite and value.dtype.kind == "f" and not np.isfinite(value).all():
            return "holds NaN or infinite values"
    return check


def _gan_config(value, complete: bool = True):
    """The problem with ``value`` as GANConfig fields (all of them if ``complete``), or None."""
    from minigan.gan import GANConfig  # the run's settings are checked by the class that holds them

    if not isinstance(value, dict):
        return f"expected a record of GAN settings, got {_brief(value)}"
    missing = sorted(set(GANConfig.__dataclass_fields__) - set(value))
    if complete and missing:
        return f"missing {', '.join(map(repr, missing))}"
    settings = dict(value)
    if isinstance(settings.get("betas"), list):
        settings["betas"] = tuple(settings["betas"])  # JSON has no tuples
    try:
        GANConfig(**settings)
    except (TypeError, ValueError, KeyError) as exc:
        return str(exc)


def _rng_state(value):
    if not isinstance(value, dict) or set(value) != {"bit_generator", "state", "has_uint32", "uinteger"}:
        return f"expected the state of a PCG64 generator, got {_brief(value)}"
    inner = value["state"]
    numbers = [value["has_uint32"], value["uinteger"], *(inner.values() if isinstance(inner, dict) else [None])]
    if not isinstance(inner, dict) or set(inner) != {"state", "inc"} or any(whole()(n) for n in numbers):
        return f"expected whole numbers in the state of a PCG64 generator, got {_brief(value)}"
    try:
        np.random.PCG64().state = value  # NumPy checks every field of the generator's state
    except (TypeError, ValueError, KeyError, OverflowError) as exc:
        return f"not the state of a PCG64 generator ({exc})"


def _mnist_path(value):
    from minigan import data

    if value is None:
        return None
    if not isinstance(value, str):
        return f"expected a path, got {_brief(value)}"
    try:
        data.locate_mnist(value)  # exactly the check that --mnist-path gets
    except (OSError, ValueError) as exc:
        return str(exc)


def _number(value):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"expected a number, got {_brief(value)}"


def _frame(value):
    """A snapshot of ``minigan.app.probe``: its step counters, whether D is a critic, and numbers
    and host arrays about G and D at that step."""
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return f"expected a snapshot (a table of arrays), got {_brief(value)}"
    for key, item in value.items():
        if key in ("step", "d_steps", "g_steps"):
            problem = whole()(item)
        elif key == "critic":
            problem = flag(item)
        else:
            problem = array(finite=False)(item) and _number(item)
        if problem:
            return f"{key}: {problem}"
    if "step" not in value:
        return "has no step"


def _history(value):
    if not isinstance(value, dict) or not all(isinstance(v, np.ndarray) for v in value.values()):
        return f"expected a table of columns, got {_brief(value)}"
    if len({v.shape for v in value.values()}) > 1 or any(v.ndim != 1 or v.dtype.kind != "f" for v in value.values()):
        return "expected float columns of one length"
    if value and "step" not in value:
        return "has no 'step' column"


ADAM = {"type": text("Adam"),
        "hyperparameters": {"lr": positive, "betas": Schema.each(fraction, length=2), "eps": positive},
        "steps": Schema.each(whole()),
        "buffers": {"m": Schema.each(array()), "v": Schema.each(array())}}
SGD = {"type": text("SGD"),  # the GAN paper's MNIST preset learns by SGD with momentum
       "hyperparameters": {"lr": positive, "momentum": fraction},
       "steps": Schema.each(whole()),
       "buffers": {"velocity": Schema.each(array())}}
OPTIMISER = Schema.either(ADAM, SGD)

GAN_STATE = {
    "generator": Schema.table(array()),
    "discriminator": Schema.table(array()),
    "opt_g": OPTIMISER,
    "opt_d": OPTIMISER,
    "step": whole(),
    "d_steps": whole(),
    "g_steps": whole(),
    "g_average": Schema.maybe(Schema.table(array())),
    "rng": _rng_state,
    "config": _gan_config,
}
"""What ``GAN.state_dict()`` holds: finite float weights, Adam with a positive finite
learning rate and betas in [0, 1), step counters ≥ 0, a PCG64 state, settings GANConfig accepts."""

OVERRIDABLE = ("loss", "k", "batch_size", "lr_g", "lr_d", "latent_dim", "noise")

RUN_STATE = Schema({
    **GAN_STATE,
    "run": {
        "data": text("gaussian", "ring", "pacgan_ring", "grid", "digits", "mnist", "mnist_paper"),
        "seed": whole(),
        "overrides": _Custom(lambda value, part: _check_overrides(value, part)),
        "mnist_path": _mnist_path,
        "output": {"log_every": whole(1), "frames": whole(1), "checkpoint_every": whole(1)},
        "steps": whole(1),
    },
    "history": _history,
    "frames": Schema.each(_frame),
})
"""What ``minigan train`` saves: the GAN's state, the run's settings, its history and frames."""


def _check_overrides(value, part):
    if not isinstance(value, dict) or not set(value) <= set(OVERRIDABLE):
        raise SchemaError(part, f"expected settings among {', '.join(OVERRIDABLE)}, got {_brief(value)}")
    problem = _gan_config(value, complete=False)  # each one a value GANConfig accepts
    if problem:
        raise SchemaError(part, problem)


# ----------------------------------------------------------------------------- saving


def _split(value, key: str, arrays: dict):
    """``value`` with every array replaced by {'__array__': key}; the arrays go into ``arrays``."""
    if backend.is_array(value) and not isinstance(value, (int, float, bool)):
        arrays[key] = np.ascontiguousarray(backend.to_numpy(value))
        return {"__array__": key}
    if isinstance(value, dict):
        if "__array__" in value:
            raise ValueError(f"the key '__array__' (at {key or 'the top'}) is reserved for the checkpoint's arrays")
        return {str(k): _split(v, f"{key}/{k}" if key else str(k), arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _npy_header(dtype: np.dtype, shape) -> bytes:
    """The .npy header NumPy writes for a C-ordered array of ``dtype`` and ``shape``."""
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": np.lib.format.dtype_to_descr(dtype), "fortran_order": False, "shape": tuple(shape)})
    return header.getvalue()


def _manifest_entry(array: np.ndarray) -> dict:
    if array.dtype.str not in DTYPES:
        raise TypeError(f"checkpoints hold arrays of plain numbers; an array has dtype {array.dtype}")
    return {"dtype": array.dtype.str, "shape": list(array.shape), "sha256": hashlib.sha256(array.data).hexdigest()}


def _write_archive(stream, record_text: str, arrays: dict) -> None:
    with zipfile.ZipFile(stream, "w", zipfile.ZIP_STORED, allowZip64=True) as archive:
        archive.writestr(RECORD, record_text.encode())
        for name, array in arrays.items():
            header = _npy_header(array.dtype, array.shape)
            member = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            member.file_size = len(header) + array.nbytes
            with archive.open(member, "w") as out:
                out.write(header)
                out.write(array.data)


def _write_atomically(path: Path, write) -> None:
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # the permissions of an ordinary new file, not mkstemp's 0600
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)  # the moment the new checkpoint replaces the old one
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def remove_stale_temporaries(path) -> list[Path]:
    """Delete the temporary files that a save killed mid-write left next to ``path``.

    Call it only while no other process saves to ``path`` (the run driver holds a lock)."""
    path = Path(path)
    stale = sorted(path.parent.glob(f".{path.name}.*.tmp"))
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale


def save(path, state: dict, schema: Schema | dict | None = None) -> Path:
    """Write ``state`` to ``path`` atomically; returns the path.

    With a ``schema`` the state is checked first: a state that ``load`` would refuse is
    never written (a ValueError naming the part, and the old file stays).
    """
    path = Path(path)
    if schema is not None:
        Schema.of(schema).check(state)
    arrays: dict = {}
    layout = _split(state, "", arrays)
    manifest = {name: _manifest_entry(array) for name, array in arrays.items()}
    record = {"format": FORMAT, "version": VERSION, "state": layout, "arrays": manifest}
    # fails here, before anything is written, if the state is not serialisable or not finite
    text = json.dumps(record, allow_nan=False)
    if len(text.encode()) > MAX_RECORD_BYTES or _depth(text) > MAX_DEPTH:
        raise ValueError(f"the state is too large or too deeply nested to save outside arrays "
                         f"(limits: {MAX_RECORD_BYTES} bytes, {MAX_DEPTH} levels)")
    _write_atomically(path, lambda stream: _write_archive(stream, text, arrays))
    return path


# ----------------------------------------------------------------------------- loading


def _depth(text: str) -> int:
    """The deepest nesting of brackets in a JSON text, outside its strings."""
    brackets = re.findall(r"[\[\]{}]", re.sub(r'"(?:[^"\\]|\\.)*"', "", text))
    depth = deepest = 0
    for bracket in brackets:
        depth += 1 if bracket in "[{" else -1
        deepest = max(deepest, depth)
    return deepest


def _refuse_constant(name):
    raise ValueError(f"the record holds {name}, which minigan never writes")


class _Reader:
    """Reads one checkpoint file; every refusal names the file and the part."""

    def __init__(self, path: Path, archive: zipfile.ZipFile, file_size: int):
        self.path, self.archive, self.file_size = path, archive, file_size
        self.members = {}
        for info in archive.infolist():
            if info.filename in self.members:
                self.refuse(f"member {info.filename!r}", "appears twice in the archive")
            self.members[info.filename] = info

    def refuse(self, part: str, problem: str):
        raise CheckpointError(f"{self.path}: {part}: {problem}")

    def read_member(self, name: str, size: int) -> bytes:
        """The bytes of member ``name``, after checking that it is stored, ``size`` bytes long, and
        fits in the file; reading it whole makes zipfile check its CRC-32."""
        info = self.members[name]
        if info.flag_bits & 0x1:
            self.refuse(f"member {name!r}", "is marked encrypted; minigan never encrypts")
        if info.compress_type != zipfile.ZIP_STORED:
            self.refuse(f"member {name!r}", "is compressed; minigan stores members uncompressed")
        if info.file_size != size or info.compress_size != size or size > self.file_size:
            self.refuse(f"member {name!r}", f"is {info.file_size} bytes, expected {size}")
        return self.archive.read(info)  # zipfile.BadZipFile on a CRC mismatch

    def record(self) -> dict:
        if RECORD not in self.members:
            if RECORD_OF_VERSION_1 in self.members:
                self.refuse("format", f"version 1, which this minigan does not read (it reads version {VERSION}, "
                                      "whose arrays it can verify); start the run again, or resume it with the "
                                      "minigan that wrote it")
            self.refuse("record", f"missing: this is not a minigan checkpoint (no {RECORD!r} in the archive)")
        size = self.members[RECORD].file_size
        if size > MAX_RECORD_BYTES:
            self.refuse("record", f"is {size} bytes, more than the {MAX_RECORD_BYTES} allowed")
        try:
            text = self.read_member(RECORD, size).decode("utf-8")
        except UnicodeDecodeError:
            self.refuse("record", "is not UTF-8 text")
        if _depth(text) > MAX_DEPTH:
            self.refuse("record", f"is nested more than {MAX_DEPTH} levels deep")
        try:
            record = json.loads(text, parse_constant=_refuse_constant)
        except ValueError as exc:  # also numbers too long to convert
            self.refuse("record", f"is not valid JSON ({exc})")
        if not isinstance(record, dict) or record.get("format") != FORMAT:
            found = record.get("format") if isinstance(record, dict) else type(record).__name__
            self.refuse("record", f"says format {found!r}: this is not a minigan checkpoint")
        if record.get("version") != VERSION:
            self.refuse("format", f"version {record.get('version')!r}; this minigan reads version {VERSION}")
        try:
            RECORD_SCHEMA.check(record)
        except SchemaError as exc:
            self.refuse(f"record {exc.part}" if exc.part else "record", exc.problem)
        return record

    def arrays(self, manifest: dict) -> dict:
        members = {f"{name}.npy": name for name in manifest}
        unnamed = sorted(set(self.members) - set(members) - {RECORD})
        if unnamed:
            self.refuse(f"member {unnamed[0]!r}", "is not named in the manifest")
        missing = sorted(set(members) - set(self.members))
        if missing:
            self.refuse(f"array {members[missing[0]]!r}", "is missing")
        layout = {}
        for name, entry in manifest.items():
            dtype, shape = DTYPES[entry["dtype"]], tuple(entry["shape"])
            if len(shape) > 32:
                self.refuse(f"array {name!r}", f"has {len(shape)} dimensions")
            layout[name] = (dtype, shape, _npy_header(dtype, shape), math.prod(shape) * dtype.itemsize)
        needed = sum(len(header) + nbytes for _, _, header, nbytes in layout.values())
        if needed > self.file_size:  # nothing is allocated for sizes the file cannot hold
            self.refuse("manifest", f"promises {needed} bytes of arrays in a file of {self.file_size}")
        arrays = {}
        for name, (dtype, shape, header, nbytes) in layout.items():
            raw = self.read_member(f"{name}.npy", len(header) + nbytes)
            if raw[:len(header)] != header:
                self.refuse(f"array {name!r}", "has a .npy header that does not match its manifest entry")
            if hashlib.sha256(memoryview(raw)[len(header):]).hexdigest() != manifest[name]["sha256"]:
                self.refuse(f"array {name!r}", "does not match its SHA-256 digest (the data are corrupt)")
            arrays[name] = np.frombuffer(raw, dtype=dtype, offset=len(header)).reshape(shape).copy()
        return arrays

    def state(self, layout, arrays: dict, part: str = ""):
        """The saved state: the record's layout with each {'__array__': name} replaced by its array."""
        if isinstance(layout, dict):
            if "__array__" in layout:
                name = layout["__array__"]
                if set(layout) != {"__array__"} or not isinstance(name, str) or name not in arrays:
                    self.refuse(f"state {part or '/'}", f"refers to an array the manifest does not name: {layout!r:.80}")
                return arrays.pop(name)  # pop: an array is used once
            return {k: self.state(v, arrays, _join_part(part, k)) for k, v in layout.items()}
        if isinstance(layout, list):
            return [self.state(v, arrays, _join_part(part, i)) for i, v in enumerate(layout)]
        return layout


def _hex_digest(value):
    if not isinstance(value, str) or not re.fullmatch(r"[0-9a-f]{64}", value):
        return f"expected a SHA-256 digest (64 hex digits), got {_brief(value)}"


RECORD_SCHEMA = Schema({
    "format": text(FORMAT), "version": whole(), "state": lambda layout: None,  # the state: checked as it is rebuilt
    "arrays": Schema.table({"dtype": text(*DTYPES), "shape": Schema.each(whole()), "sha256": _hex_digest}),
})
"""The record itself: its manifest names each array's dtype, shape and digest."""


def _open_regular_file(path: Path):
    """``path`` opened for reading, if it is a regular file (not a folder, FIFO or device)."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise CheckpointError(f"no checkpoint file at {path}") from None
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if stat.S_ISDIR(info.st_mode):
        raise CheckpointError(f"{path}: is a folder, not a checkpoint file")
    if not stat.S_ISREG(info.st_mode):
        raise CheckpointError(f"{path}: is not a regular file (a FIFO, socket or device), so it is not read")
    try:
        return open(path, "rb"), info.st_size
    except OSError as exc:
        raise CheckpointError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def load(path, schema: Schema | dict | None = None) -> dict:
    """The state saved at ``path``, verified (and checked against ``schema`` if given);
    a CheckpointError naming the file and the part if anything is missing, corrupt or foreign."""
    path = Path(path)
    stream, size = _open_regular_file(path)
    try:
        with stream, zipfile.ZipFile(stream) as archive:
            reader = _Reader(path, archive, size)
            record = reader.record()
            arrays = reader.arrays(record["arrays"])
            state = reader.state(record["state"], arrays)
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, OSError, EOFError, KeyError,
            NotImplementedError, OverflowError, MemoryError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated: {exc})") from None
    if arrays:
        reader.refuse(f"array {next(iter(arrays))!r}", "is named in the manifest but not used by the state")
    if schema is not None:
        try:
            Schema.of(schema).check(state)
        except SchemaError as exc:
            raise CheckpointError(f"{path}: {exc.part or 'state'}: {exc.problem}") from None
    return state
