"""Checkpoints: a whole run in one .npz file, written so that it is never lost.

``save(path, state)`` takes a nested dict (what ``GAN.state_dict()`` returns, plus
anything else a run wants to keep): every array in it is stored as an array of the
.npz under its path ('generator/0.weight', 'opt_d/buffers/m/3', ...), and
everything else (step, RNG state, config) as one JSON record, '__minigan__', with a
format marker and version. ``load(path)`` gives the same nested dict back, with NumPy
arrays, or refuses the file with a ``CheckpointError`` that says why.

Atomic: the file is written to a temporary name in the same folder, flushed to disk,
then renamed over the old checkpoint (``os.replace`` is atomic). A crash or a full
disk at any moment leaves the previous checkpoint whole.
"""

from __future__ import annotations

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np  # host side: checkpoints hold host copies of the arrays

from minigan import backend

__all__ = ["CheckpointError", "save", "load", "FORMAT", "VERSION"]

FORMAT = "minigan-checkpoint"
VERSION = 1
RECORD = "__minigan__"


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable, corrupt, or not minigan's."""


def _split(value, key: str, arrays: dict):
    """``value`` with every array replaced by {'__array__': key}; the arrays go into ``arrays``."""
    if backend.is_array(value):
        arrays[key] = backend.to_numpy(value)
        return {"__array__": key}
    if isinstance(value, dict):
        return {str(k): _split(v, f"{key}/{k}" if key else str(k), arrays) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_split(v, f"{key}/{i}", arrays) for i, v in enumerate(value)]
    return value


def _join(value, arrays: dict):
    if isinstance(value, dict):
        if set(value) == {"__array__"}:
            return arrays[value["__array__"]]
        return {k: _join(v, arrays) for k, v in value.items()}
    if isinstance(value, list):
        return [_join(v, arrays) for v in value]
    return value


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


def save(path, state: dict) -> Path:
    """Write ``state`` to ``path`` atomically; returns the path."""
    path = Path(path)
    arrays: dict = {}
    record = {"format": FORMAT, "version": VERSION, "state": _split(state, "", arrays)}
    if RECORD in arrays:
        raise ValueError(f"the key {RECORD!r} is reserved for the checkpoint's own record")
    text = json.dumps(record)  # fails here, before anything is written, if state is not serialisable
    _write_atomically(path, lambda stream: np.savez(stream, **{RECORD: np.array(text)}, **arrays))
    return path


def load(path) -> dict:
    """The state saved at ``path``; a CheckpointError if the file is missing, corrupt or foreign."""
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"no checkpoint file at {path}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if RECORD not in npz.files:
                raise CheckpointError(
                    f"{path} is an .npz file but not a minigan checkpoint (it has no {RECORD!r} record)"
                )
            record = json.loads(str(npz[RECORD]))
            arrays = {name: npz[name] for name in npz.files if name != RECORD}  # reading checks each CRC
    except CheckpointError:
        raise
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as exc:
        raise CheckpointError(f"{path} is not a readable checkpoint (corrupt or truncated: {exc})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise CheckpointError(f"{path} is not a minigan checkpoint (its record says {found!r}, not {FORMAT!r})")
    if record.get("version") != VERSION:
        raise CheckpointError(f"{path} has checkpoint format version {record.get('version')}; "
                              f"this minigan reads version {VERSION}")
    if "state" not in record:
        raise CheckpointError(f"{path} is incomplete: its record holds no state")
    try:
        return _join(record["state"], arrays)
    except KeyError as exc:
        raise CheckpointError(f"{path} is incomplete: array {exc} is missing") from None
