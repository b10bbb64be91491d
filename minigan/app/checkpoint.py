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
of the state by type and range (``minigan.app.run_state.RUN_STATE`` is the one of a
``minigan train`` run).

Saving is atomic (``minigan.app.files.write_atomically``): the file is written to a
temporary name in the same folder, flushed to disk, then renamed over the old checkpoint.
A crash or a full disk at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import hashlib
import io
import json
import math
import os
import re
import zipfile
from pathlib import Path

import numpy as np  # host side: checkpoints hold host copies of the arrays

from minigan import backend, validate
from minigan.app.files import write_atomically
from minigan.data import open_regular_file

__all__ = ["CheckpointError", "SchemaError", "Schema", "save", "load", "FORMAT", "VERSION"]

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
    """A field of a state that does not fit its schema; the message starts with where it is."""


class Schema:
    """What a state must look like, field by field; ``check(state, name)`` raises a SchemaError.

    A schema is built from: a dict {key: schema} (exactly these keys), ``Schema.each(s)``
    (a list of items), ``Schema.table(s)`` (a dict of any text keys), ``Schema.maybe(s)``
    (None or s), ``Schema.tagged(key, {tag: s})``, ``Schema.choice(*options)``, and leaves: the checks
    of ``minigan.validate``, functions ``check(name, value)`` that raise a ValueError naming
    ``name`` (a field's place in the state, e.g. ``state/run/seed``).
    """

    def __init__(self, spec):
        self.spec = spec

    def check(self, value, part: str = "state") -> None:
        spec = self.spec
        if isinstance(spec, dict):
            if not isinstance(value, dict):
                raise SchemaError(f"{part}: expected a record with fields {', '.join(spec)}, "
                                  f"got {validate.brief(value)}")
            missing, unknown = [k for k in spec if k not in value], [k for k in value if k not in spec]
            if missing or unknown:
                raise SchemaError(f"{part}: " + "; ".join(filter(None, (
                    missing and f"missing {', '.join(map(repr, missing))}",
                    unknown and f"unexpected {', '.join(map(repr, unknown))}"))))
            for key, field in spec.items():
                Schema.of(field).check(value[key], f"{part}/{key}")
        elif callable(spec):
            try:
                spec(part, value)
            except ValueError as exc:
                raise SchemaError(str(exc)) from None
        else:
            raise TypeError(f"not a schema: {spec!r}")

    @staticmethod
    def of(spec) -> Schema:
        return spec if isinstance(spec, Schema) else Schema(spec)

    @staticmethod
    def each(item, length: int | None = None, most: int | None = None) -> Schema:
        """A list of items (exactly ``length`` of them, or at most ``most``, if given)."""
        def check(value, part):
            if not isinstance(value, list) or (length is not None and len(value) != length):
                raise SchemaError(f"{part}: expected a list{f' of {length}' if length else ''}, "
                                  f"got {validate.brief(value)}")
            if most is not None and len(value) > most:
                raise SchemaError(f"{part}: expected at most {most} items, got {len(value)}")
            for i, element in enumerate(value):
                Schema.of(item).check(element, f"{part}/{i}")
        return _Custom(check)

    @staticmethod
    def table(item, least: int = 0) -> Schema:
        """A dict of any text keys (at least ``least`` of them), each value an ``item``."""
        def check(value, part):
            if not isinstance(value, dict) or len(value) < least:
                at_least = f" (at least {least})" if least else ""
                raise SchemaError(f"{part}: expected a table of named entries{at_least}, got {validate.brief(value)}")
            for key, element in value.items():
                Schema.of(item).check(element, f"{part}/{key}")
        return _Custom(check)

    @staticmethod
    def maybe(item) -> Schema:
        return _Custom(lambda value, part: None if value is None else Schema.of(item).check(value, part))

    @staticmethod
    def tagged(key: str, options: dict) -> Schema:
        """A record whose field ``key`` names which of ``options`` (text -> schema) it must fit, so
        that a wrong field is named in that schema's words, not another's."""
        def check(value, part):
            tag = value.get(key) if isinstance(value, dict) else None
            if not isinstance(tag, str) or tag not in options:
                raise SchemaError(f"{part}/{key} must be one of {', '.join(options)}, got {validate.brief(tag)}")
            Schema.of(options[tag]).check(value, part)
        return _Custom(check)

    @staticmethod
    def choice(*options) -> Schema:
        """One of ``options`` (text), exactly."""
        def check(value, part):
            if not isinstance(value, str):
                raise SchemaError(f"{part} must be one of {', '.join(options)}, got {validate.brief(value)}")
            try:
                validate.one_of(part, value, options)
            except ValueError as exc:
                raise SchemaError(str(exc)) from None
        return _Custom(check)


class _Custom(Schema):
    def check(self, value, part: str = "state") -> None:
        self.spec(value, part)


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
    return write_atomically(path, lambda stream: _write_archive(stream, text, arrays))


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
            RECORD_SCHEMA.check(record, "record")
        except SchemaError as exc:
            raise CheckpointError(f"{self.path}: {exc}") from None
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

    def state(self, layout, arrays: dict, part: str = "state"):
        """The saved state: the record's layout with each {'__array__': name} replaced by its array."""
        if isinstance(layout, dict):
            if "__array__" in layout:
                name = layout["__array__"]
                if set(layout) != {"__array__"} or not isinstance(name, str) or name not in arrays:
                    self.refuse(part, f"refers to an array the manifest does not name: {validate.brief(layout)}")
                return arrays.pop(name)  # pop: an array is used once
            return {k: self.state(v, arrays, f"{part}/{k}") for k, v in layout.items()}
        if isinstance(layout, list):
            return [self.state(v, arrays, f"{part}/{i}") for i, v in enumerate(layout)]
        return layout


RECORD_SCHEMA = Schema({
    "format": Schema.choice(FORMAT), "version": validate.count,
    "state": lambda name, layout: None,  # the state: checked as it is rebuilt
    "arrays": Schema.table({"dtype": Schema.choice(*DTYPES), "shape": Schema.each(validate.count),
                            "sha256": validate.sha256}),
})
"""The record itself: its manifest names each array's dtype, shape and digest."""


def _open(path: Path):
    """``path`` opened for reading, and its size, if it is a regular file."""
    try:
        stream = open_regular_file(path, "checkpoint file")
    except (FileNotFoundError, ValueError) as exc:
        raise CheckpointError(str(exc)) from None
    return stream, os.fstat(stream.fileno()).st_size


def load(path, schema: Schema | dict | None = None) -> dict:
    """The state saved at ``path``, verified (and checked against ``schema`` if given);
    a CheckpointError naming the file and the part if anything is missing, corrupt or foreign."""
    path = Path(path)
    stream, size = _open(path)
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
            raise CheckpointError(f"{path}: {exc}") from None
    return state
