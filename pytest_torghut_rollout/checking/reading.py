"""Reading an artifact's text as the contract allows it (no pytest here).

One way for every file a run reads, an artifact or a file an artifact names: only a regular
file (a FIFO or device would block, or never end), no larger than the limit (checked before
and while reading), strict UTF-8 (a byte order mark is dropped), with the SHA-256 of its bytes.
"""

from __future__ import annotations

import errno
import hashlib
import os
import stat
from pathlib import Path

from ..contract.layout import DEFAULT_MAX_BYTES
from .model import printable


def display_name(text: str) -> str:
    """A path as test ids show it: backslashes doubled, control and invisible characters as ``\\uXXXX``.

    Names are data: an ESC or a newline in a directory name must neither reach a terminal
    nor break JUnit XML, and two different names must never get one id.
    """
    return printable(text.replace("\\", "\\\\"))


FILE_TYPES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def not_regular(path: Path, mode: int) -> OSError:
    """The error for a path that is not a regular file, naming what it is."""
    what = next((name for test, name in FILE_TYPES if test(mode)), "not a regular file")
    return OSError(errno.EINVAL, f"{display_name(path.name)} is {what}, not a regular file")


def read_text(path: Path, max_bytes: int = DEFAULT_MAX_BYTES) -> tuple[str, str]:
    """The file's text and the SHA-256 of its bytes (the evidence names what was checked).

    Only a regular file of at most ``max_bytes`` is read, and never more than that: the
    size is checked before reading and again while reading (the file may grow).
    """
    try:
        info = os.stat(path)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise OSError(exc.errno, f"{display_name(path.name)} is a symlink loop") from exc
        if exc.errno == errno.ENOENT and path.is_symlink():
            raise OSError(exc.errno, f"{display_name(path.name)} is a symlink to nothing") from exc
        raise
    if not stat.S_ISREG(info.st_mode):
        # A FIFO or device would block or never end; only regular files are read.
        raise not_regular(path, info.st_mode)
    if info.st_size > max_bytes:
        raise too_large(info.st_size, max_bytes)
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0))
    with os.fdopen(fd, "rb") as handle:
        if not stat.S_ISREG(os.fstat(fd).st_mode):  # swapped for something else since the stat
            raise not_regular(path, os.fstat(fd).st_mode)
        raw = handle.read(max_bytes + 1)
    if len(raw) > max_bytes:
        raise too_large(len(raw), max_bytes, grew=True)
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff"), digest
    except UnicodeDecodeError as exc:
        raise UndecodableError(exc, digest) from exc


def too_large(size: int, limit: int, *, grew: bool = False) -> OSError:
    """The error for a file over the size limit (``grew``: it grew past it while read)."""
    more = "more than " if grew else ""
    return OSError(errno.EFBIG, f"the file is {more}{size} bytes, larger than --torghut-max-bytes={limit}; not read")


class UndecodableError(Exception):
    """Bytes that are not UTF-8 text; the SHA-256 of what was read is kept for the evidence."""

    def __init__(self, error: UnicodeDecodeError, digest: str) -> None:
        super().__init__(f"not UTF-8 text (byte {error.start})")
        self.digest = digest
