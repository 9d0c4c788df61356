"""Resolve paths written inside artifacts, safely (READING.md section 1).

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
        return self.path is not None and self.path.is_file()

    def describe(self) -> str:
        """Say in a few words what became of the reference."""
        if self.path is None:
            return f"unresolvable: {self.reason}"
        return "exists" if self.exists else f"missing (looked at {self.path})"


class Resolver:
    """Resolve artifact references against roots, a prefix map and allowed trees."""

    def __init__(self, trees: Iterable[Path], mappings: Sequence[PathMapping] = ()) -> None:
        # Longest prefix first, so /tmp/a/b=... wins over /tmp/a=...
        self._mappings = sorted(mappings, key=lambda m: len(m.old), reverse=True)
        allowed = {Path(os.path.realpath(t)) for t in trees}
        allowed.update(Path(os.path.realpath(m.new)) for m in mappings)
        self._trees = tuple(sorted(allowed))

    @property
    def trees(self) -> tuple[Path, ...]:
        """The directories inside which references may be read."""
        return self._trees

    def resolve(self, ref: str, root: Path) -> Resolution:
        """Resolve ``ref`` as written in an artifact whose root is ``root``."""
        if not ref.strip():
            return Resolution(ref=ref, path=None, reason="the path is empty")
        mapped = next((new for new in (m.apply(ref) for m in self._mappings) if new is not None), None)
        candidate = Path(mapped if mapped is not None else ref)
        if not candidate.is_absolute():
            candidate = root / candidate
        real = Path(os.path.realpath(candidate))
        if not any(real == tree or real.is_relative_to(tree) for tree in self._trees):
            hint = (
                ""
                if mapped is not None or not Path(ref).is_absolute()
                else ("; map the prefix with --torghut-path-map=OLD=NEW")
            )
            return Resolution(
                ref=ref,
                path=None,
                reason=f"resolves to {real}, outside the artifact trees{hint}",
            )
        return Resolution(ref=ref, path=real)
