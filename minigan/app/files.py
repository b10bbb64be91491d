"""Writing a file whole or not at all, and never through a link.

``write_atomically(path, write)`` calls ``write(stream)`` on a temporary file in the same
folder, flushes it to disk, then renames it over ``path`` (``os.replace``, atomic on POSIX
and Windows). A reader sees the old file or the new one, never half of one; a crash, a full
disk or a signal at any moment leaves the old file whole. The rename replaces whatever
entry ``path`` was, a symbolic link included: a link is replaced, never written through.
Every picture, table and checkpoint of a run is written this way.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

__all__ = ["write_atomically", "remove_stale_temporaries"]


def _temporary_prefix(path: Path) -> str:
    return f".{path.name}."


def write_atomically(path, write) -> Path:
    """Write ``path`` with ``write(stream)`` (a binary stream) atomically; returns the path.

    An OSError (a full disk, a quota, a read-only folder) is raised again naming ``path``,
    with the temporary file removed and the old ``path`` untouched.
    """
    path = Path(path)
    try:
        handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=_temporary_prefix(path), suffix=".tmp")
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)  # the permissions of an ordinary new file, not mkstemp's 0600
    try:
        with os.fdopen(handle, "wb") as stream:
            write(stream)
            stream.flush()
            os.fsync(stream.fileno())
        os.replace(temporary, path)  # the moment the new file replaces the old one
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror or str(exc), str(path)) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    if hasattr(os, "O_DIRECTORY"):  # make the rename itself durable
        folder = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)
    return path


def remove_stale_temporaries(path) -> list[Path]:
    """Delete the temporary files that a write of ``path`` killed midway left beside it.

    Call it only while nothing else writes ``path`` (a run holds its folder's lock)."""
    path = Path(path)
    stale = sorted(path.parent.glob(f"{_temporary_prefix(path)}*.tmp"))
    for leftover in stale:
        leftover.unlink(missing_ok=True)
    return stale
