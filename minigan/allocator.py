"""Keep freed array memory for the next training step: glibc's malloc, tuned for a loop.

A training step makes and frees the same arrays, step after step. glibc's malloc (the C
library's allocator on most Linux systems, which NumPy's arrays come from) gives blocks of
128 KiB and more back to the operating system when they are freed: it unmaps them, or trims
the top of its heap. The next step asks for them again, and the system hands them back page by
page, each page's first touch a page fault. A GAN of the ring preset (batch 256, 128 units: its
activations are 128 KiB arrays) on one BLAS thread, as ``minigan train`` runs it, took about
190 page faults a step that way, and 3.2 ms a step instead of 2.8 ms (``benchmarks/gan_step.py``
measures both, in benchmarks/RESULTS.md). With two BLAS threads we counted almost none, kept
or not (20 faults in 100 steps); we did not look into why.

``keep_freed_memory()`` raises glibc's two thresholds with ``mallopt``: blocks smaller than
``MMAP_THRESHOLD`` come from the heap, and up to ``TRIM_THRESHOLD`` of free memory stays in it,
so a process holds at most that much more than it uses. The command line calls it once per run
(``minigan train``, ``minigan lab``); nothing runs on import, so a program that imports minigan
keeps its allocator as it was, and can call it itself. Where the C library is not glibc (macOS,
Windows, musl), or where the user set glibc's own ``MALLOC_*_`` variables or its malloc tunables
(``GLIBC_TUNABLES``), it changes nothing.
"""

from __future__ import annotations

import ctypes
import os

__all__ = ["MMAP_THRESHOLD", "TRIM_THRESHOLD", "GLIBC_VARIABLES", "keep_freed_memory", "child_environment"]

MMAP_THRESHOLD = 32 * 2**20  # bytes: glibc's largest; a bigger array is still mapped and unmapped on its own
TRIM_THRESHOLD = 64 * 2**20  # bytes of free memory the heap keeps before giving any back
GLIBC_VARIABLES = ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_", "MALLOC_MMAP_MAX_")
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt's parameter numbers, from glibc's <malloc.h>


def _glibc() -> bool:
    try:
        return os.confstr("CS_GNU_LIBC_VERSION").startswith("glibc")  # e.g. 'glibc 2.36'
    except (AttributeError, ValueError, OSError):  # not a GNU system, or no such name here
        return False


def _why_not(environ) -> str | None:
    """Why the thresholds are left as they are, or None when they can be raised."""
    if not _glibc():
        return "the C library is not glibc"
    chosen = [name for name in GLIBC_VARIABLES if name in environ]
    if "glibc.malloc." in environ.get("GLIBC_TUNABLES", ""):
        chosen.append("GLIBC_TUNABLES (glibc.malloc)")
    return f"{', '.join(chosen)} set in the environment" if chosen else None


def keep_freed_memory(environ=os.environ) -> str:
    """Raise glibc's thresholds in this process (see the module's notes); returns what was done, in words."""
    reason = _why_not(environ)
    if reason is not None:
        return f"allocator left as it is: {reason}"
    libc = ctypes.CDLL(None)  # the C library this process already runs on
    done = [libc.mallopt(option, value) == 1 for option, value in
            ((_M_MMAP_THRESHOLD, MMAP_THRESHOLD), (_M_TRIM_THRESHOLD, TRIM_THRESHOLD))]
    if not all(done):
        return "allocator: glibc refused " + " and ".join(n for n, ok in zip(("the map threshold", "the trim threshold"), done) if not ok)
    return (f"freed memory kept for reuse (glibc: blocks under {MMAP_THRESHOLD >> 20} MiB from the heap, "
            f"up to {TRIM_THRESHOLD >> 20} MiB of it kept free)")


def child_environment(environ=os.environ) -> dict:
    """``environ`` plus glibc's own variables for the same thresholds, for a Python program started
    from here (``minigan demo``): glibc reads them when that program starts."""
    if _why_not(environ) is not None:
        return dict(environ)
    return {**environ, "MALLOC_MMAP_THRESHOLD_": str(MMAP_THRESHOLD), "MALLOC_TRIM_THRESHOLD_": str(TRIM_THRESHOLD)}
