"""Resolve paths written inside artifacts, safely (interpretation §1).

Relative paths resolve against the artifact root; absolute ones are rewritten by
the user's prefix map first. Whatever resolves outside the given artifact trees
(``../../etc/passwd``, a symlink out of the tree) is never read: it comes back
unresolvable, with the reason.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path


class PathMapError(ValueError):
    """A ``--torghut-path-map`` value that is not ``OLD=NEW``."""


@dataclass(frozen=True, kw_only=True)
class PathMapping:
    """Rewrite the absolute prefix ``old`` (as production wrote it) to ``new``."""

    old: str
    new: Path

    @classmethod
    def parse(cls, text: str, *, base: Path | None = None) -> PathMapping:
        """Parse ``OLD=NEW``; a relative NEW is taken from ``base`` (default: cwd)."""
        old, sep, new = text.partition("=")
        old = old.strip().rstrip("/")
        new = new.strip()
        if not sep or not old or not new:
            raise PathMapError(f"invalid path map {text!r}: expected OLD=NEW, e.g. /tmp/torghut/autonomy=./downloaded")
        target = Path(new).expanduser()
        if not target.is_absolute():
            target = (base or Path.cwd()) / target
        return cls(old=old, new=target)

    def apply(self, ref: str) -> str | None:
        """Return ``ref`` rewritten, or None when the prefix does not match."""
        if ref == self.old:
            return str(self.new)
        if ref.startswith(self.old + "/"):
            return str(self.new / ref[len(self.old) + 1 :])
        return None


@dataclass(frozen=True, kw_only=True)
class Resolution:
    """Where a reference written in an artifact points, if it may be read."""

    ref: str
    path: Path | None
    """The resolved location inside the artifact trees, or None when unresolvable."""
    reason: str = ""
    """Why the reference cannot be read (empty when ``path`` is set)."""

    @property
    def exists(self) -> bool:
        """True when the reference resolves inside the trees to an existing file."""
        try:
            return self.path is not None and self.path.is_file()
        except OSError:  # a name too long for the file system, say: not there
            return False

    def describe(self) -> str:
        """Say in a few words what became of the reference."""
        if self.path is None:
            return f"unresolvable: {self.reason}"
        return "exists" if self.exists else f"missing (looked at {self.path})"


#: Longer references are refused unread: no real path comes near, and the OS would refuse them.
MAX_REF_LENGTH = 4096


class Resolver:
    """Resolve artifact references against roots, a prefix map and the trees they may resolve in.

    A relative reference may resolve only inside ``trees`` (the artifacts paths, or the
    ``--torghut-refs-root`` directories); a reference rewritten by a mapping may resolve
    inside those trees or inside that mapping's own target, never inside another's.
    """

    def __init__(self, trees: Iterable[Path], mappings: Sequence[PathMapping] = ()) -> None:
        # Longest prefix first, so /tmp/a/b=... wins over /tmp/a=...
        self._mappings = sorted(mappings, key=lambda m: len(m.old), reverse=True)
        self._trees = tuple(sorted({Path(os.path.realpath(t)) for t in trees}))
        self._targets = {m.old: Path(os.path.realpath(m.new)) for m in mappings}

    def resolve(self, ref: str, root: Path) -> Resolution:
        """Resolve ``ref`` as written in an artifact whose root is ``root``."""
        if not ref.strip():
            return Resolution(ref=ref, path=None, reason="the path is empty")
        if "\x00" in ref:
            return Resolution(ref=ref, path=None, reason="the path holds a NUL byte")
        if len(ref) > MAX_REF_LENGTH:
            return Resolution(ref=ref, path=None, reason=f"the path is longer than {MAX_REF_LENGTH} characters")
        mapping = next((m for m in self._mappings if m.apply(ref) is not None), None)
        mapped = mapping.apply(ref) if mapping is not None else None
        candidate = Path(mapped if mapped is not None else ref)
        if not candidate.is_absolute():
            candidate = root / candidate
        try:
            real = Path(os.path.realpath(candidate))
        except (OSError, ValueError) as exc:
            return Resolution(ref=ref, path=None, reason=f"cannot be resolved: {exc}")
        allowed = self._trees if mapping is None else (*self._trees, self._targets[mapping.old])
        if not any(real == tree or real.is_relative_to(tree) for tree in allowed):
            if mapping is not None:
                hint = ""
            elif Path(ref).is_absolute():
                hint = "; map the prefix with --torghut-path-map=OLD=NEW"
            else:
                hint = "; give the tree it lies in with --torghut-refs-root=DIR"
            return Resolution(ref=ref, path=None, reason=f"resolves to {real}, outside the artifact trees{hint}")
        return Resolution(ref=ref, path=real)
