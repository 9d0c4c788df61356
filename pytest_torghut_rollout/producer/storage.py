"""Crash-safe file writes for the producer: atomic replace and exclusive numbered create.

A manifest is rewritten by writing a temporary file in the same directory, fsyncing
it and renaming it over the old one, so a reader or a crash sees the old file or the
new one, never a mix. A note is created under a name that must not exist yet: its
content is written and fsynced under a temporary name first, then hard-linked to the
final name, which fails when another writer took that name. Two writers therefore
never overwrite each other, and nobody ever sees a partial note.

Inside ``scratch_writes()`` files are written in place, without a temporary file, a
rename or an fsync: a note is still created exclusively (``O_EXCL``), so nothing is ever
overwritten, but a crash or a concurrent reader may meet a partial file. A note series
this block already appended to is not listed again: the next number is tried first, and
only a taken one makes it list the directory. The simulation writes its throwaway trees
that way, alone; production writes never do.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import tempfile
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from pathlib import Path

from ..contract.data import NOTE_PREFIX, NOTE_SUFFIX, note_name

CHUNK = 64 * 1024


def _read_umask() -> int:
    # os.umask can only be read by setting it; done once, at import, before any thread
    # of the producer could create a file under the briefly changed mask.
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


#: The mode new files get: what open(2) would give under the process umask. mkstemp makes
#: files 0600 whatever the umask, which would hide manifests from the readers of a shared tree.
FILE_MODE = 0o666 & ~_read_umask()
#: The name pattern of numbered files; ``n`` counts even when written with leading zeros.
NUMBERED = re.compile(rf"{re.escape(NOTE_PREFIX)}([0-9]+){re.escape(NOTE_SUFFIX)}")


#: Inside ``scratch_writes()``: the highest number claimed in each series by this block.
_SCRATCH: ContextVar[dict[Path, int] | None] = ContextVar("torghut_scratch_writes", default=None)


class NumberingError(RuntimeError):
    """No free number could be claimed for a note (the series kept moving under us)."""


@contextlib.contextmanager
def scratch_writes() -> Iterator[None]:
    """Within the block, write a throwaway tree: no fsyncs, no re-listing of a series it appends to."""
    token = _SCRATCH.set({})
    try:
        yield
    finally:
        _SCRATCH.reset(token)


def _durable() -> bool:
    return _SCRATCH.get() is None


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view[:CHUNK])
        view = view[written:]


def _fsync_dir(directory: Path) -> None:
    # Durability of the rename itself; not every platform can open a directory.
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _temporary(directory: Path, name: str, data: bytes) -> Path:
    """Write ``data`` to a fresh dot-file beside ``name`` and fsync it; return its path."""
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{name}.", suffix=".tmp")
    try:
        os.fchmod(fd, FILE_MODE)
        _write_all(fd, data)
        os.fsync(fd)
    except BaseException:
        os.close(fd)
        os.unlink(tmp)
        raise
    os.close(fd)
    return Path(tmp)


def _write_in_place(path: Path, data: bytes, flags: int) -> bool:
    """Scratch writes: open ``path`` with ``flags`` and write; False when O_EXCL finds it taken."""
    try:
        # The mode the umask gives, as durable writes get (FILE_MODE).
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | flags, 0o666)
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True)
        return _write_in_place(path, data, flags)
    except FileExistsError:
        return False
    try:
        _write_all(fd, data)
    finally:
        os.close(fd)
    return True


def write_atomic(path: Path, data: bytes) -> None:
    """Replace ``path`` with ``data`` atomically: temp file, fsync, rename, fsync directory."""
    if not _durable():
        _write_in_place(path, data, os.O_TRUNC)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path.parent, path.name, data)
    try:
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    _fsync_dir(path.parent)


def create_exclusive(path: Path, data: bytes) -> bool:
    """Create ``path`` holding ``data`` only if it does not exist; False when it does."""
    if not _durable():
        return _write_in_place(path, data, os.O_EXCL)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _temporary(path.parent, path.name, data)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV):
            raise
        return _create_without_links(path, data)
    finally:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
    _fsync_dir(path.parent)
    return True


def _create_without_links(path: Path, data: bytes) -> bool:
    # File systems without hard links: O_EXCL still refuses to overwrite, but a crash
    # mid-write could leave a short file, so this is only the fallback.
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    except FileExistsError:
        return False
    try:
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    _fsync_dir(path.parent)
    return True


def highest_number(directory: Path) -> int:
    """The highest ``n`` among ``iteration-<n>.md`` files in ``directory`` (0 when none)."""
    try:
        names = os.listdir(directory)
    except FileNotFoundError:
        return 0
    return max((int(m.group(1)) for m in map(NUMBERED.fullmatch, names) if m), default=0)


def append_numbered(directory: Path, render: Callable[[int], bytes], *, attempts: int = 10_000) -> tuple[int, Path]:
    """Create ``iteration-<n>.md`` with n = highest existing + 1, retrying when raced.

    ``render(n)`` builds the content for number ``n`` (it may raise to refuse).
    Returns the number claimed and the path written.
    """
    claimed = _SCRATCH.get()
    # Writers only ever add highest + 1, so while the number after ours is free it is the
    # next one; listing a series of 10,000 notes for every note would cost more than writing.
    guess = claimed.get(directory) if claimed is not None else None
    for _ in range(attempts):
        n = guess + 1 if guess is not None else highest_number(directory) + 1
        guess = None
        path = directory / note_name(n)
        if create_exclusive(path, render(n)):
            if claimed is not None:
                claimed[directory] = n
            return n, path
    raise NumberingError(f"could not claim a note number in {directory} after {attempts} attempts")
