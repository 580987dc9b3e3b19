"""Giving memory back to the system when rooms close.

A closed room drops its whole board at once. CPython frees the objects, but glibc keeps the
freed pages in the process for reuse, so the server's RSS stays at its peak long after a
lesson ends. ``malloc_trim`` hands them back; rooms close rarely, so the cost (milliseconds)
does not matter.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc

_libc_name = ctypes.util.find_library("c")
_malloc_trim = getattr(ctypes.CDLL(_libc_name), "malloc_trim", None) if _libc_name else None


def release_freed_memory() -> None:
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
