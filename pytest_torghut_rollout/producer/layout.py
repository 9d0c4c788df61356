"""Where the producer writes, and how it writes paths inside artifacts.

An artifact *tree* is the directory a scheduler owns (``settings.trading_autonomy_artifact_dir``);
a *run* is one artifact root inside it: ``<tree>/<stamp>/`` in the nested (production) layout,
the tree itself in the flat (doc's) layout. Paths written inside artifacts are relative
to the artifact that holds them by default, so a tree checks wherever it is copied; with a
``prefix`` they are absolute production-style paths (``/tmp/torghut/autonomy/<stamp>/...``),
and the prefix stands for the tree.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path

from ..checking.paths import PathMapping, Resolver
from ..contract.layout import MANIFEST_DIR, MANIFEST_NAME, NOTES_DIR

INCIDENTS_DIR = "rollback-incidents"


def stamp(moment: datetime) -> str:
    """The run directory name for a moment: ``YYYYmmddTHHMMSS`` in UTC."""
    return moment.astimezone(UTC).strftime("%Y%m%dT%H%M%S")


@dataclass(frozen=True, kw_only=True)
class ArtifactTree:
    """The directory artifacts are written into, and the style of paths written inside them."""

    root: Path
    prefix: str | None = None
    """Write absolute paths under this prefix (it stands for ``root``); None: relative paths."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", Path(os.path.abspath(self.root)))
        if self.prefix is not None:
            if not self.prefix.startswith("/"):
                raise ValueError(f"path prefix {self.prefix!r} must be absolute, e.g. /tmp/torghut/autonomy")
            object.__setattr__(self, "prefix", self.prefix.rstrip("/") or "/")

    @property
    def notes_dir(self) -> Path:
        """The scheduler's notes series for the whole tree (nested layout)."""
        return self.root / NOTES_DIR

    @property
    def incidents_dir(self) -> Path:
        """Where rollback incident evidence lives; retention never deletes it."""
        return self.root / INCIDENTS_DIR

    def resolver(self) -> Resolver:
        """Resolve references the way the suite does, the prefix mapped back to the tree."""
        return _resolver(self.root, self.prefix)

    def display(self, path: Path) -> str:
        """``path`` relative to the tree, POSIX style: the suite's test id for it."""
        return Path(os.path.abspath(path)).relative_to(self.root).as_posix()

    def ref(self, target: Path, *, base: Path) -> str:
        """How an artifact whose root is ``base`` names ``target`` (an existing or future file)."""
        if target.is_absolute() and base.is_absolute():
            # A pure function of the paths then; each run names the same files many times.
            return _ref(self.root, self.prefix, target, base)
        return _ref.__wrapped__(self.root, self.prefix, Path(os.path.abspath(target)), Path(os.path.abspath(base)))

    def nested_run(self, run_stamp: str) -> RunPaths:
        """A run in the production layout: ``<tree>/<stamp>/``."""
        return RunPaths(tree=self, run_dir=self.root / run_stamp)

    def flat_run(self) -> RunPaths:
        """A run in the doc's layout: the tree is the run's artifact root."""
        return RunPaths(tree=self, run_dir=self.root)


@lru_cache(maxsize=64)
def _resolver(root: Path, prefix: str | None) -> Resolver:
    # Built for every self-check otherwise (a realpath each time); a Resolver never changes.
    mappings = [PathMapping(old=prefix, new=root)] if prefix else []
    return Resolver([root], mappings)


@lru_cache(maxsize=4096)
def _ref(root: Path, prefix: str | None, target: Path, base: Path) -> str:
    target = Path(os.path.normpath(target))
    if prefix is not None:
        inside = target.relative_to(root).as_posix()
        return prefix if inside == "." else f"{prefix.rstrip('/')}/{inside}"
    return Path(os.path.relpath(target, base)).as_posix()


@dataclass(frozen=True, kw_only=True)
class RunPaths:
    """One run's artifact root inside a tree."""

    tree: ArtifactTree
    run_dir: Path

    @property
    def manifest_path(self) -> Path:
        """``<run>/rollout/phase-manifest.json``."""
        return self.run_dir / MANIFEST_DIR / MANIFEST_NAME

    @property
    def notes_dir(self) -> Path:
        """``<run>/notes``: the lane's stage notes (nested) or the scheduler's notes (flat)."""
        return self.run_dir / NOTES_DIR

    @property
    def flat(self) -> bool:
        """True when the run is the tree itself (the doc's layout)."""
        return Path(os.path.abspath(self.run_dir)) == self.tree.root

    def ref(self, relative: str) -> str:
        """Write ``relative`` (a path relative to the run directory) in the tree's style."""
        if os.path.isabs(relative):
            return relative
        return self.tree.ref(self.run_dir / relative, base=self.run_dir)

    def incident(self, moment: datetime) -> str:
        """The run-relative path of the rollback incident evidence for a moment."""
        target = self.tree.incidents_dir / f"incident-{stamp(moment)}.json"
        return Path(os.path.relpath(target, self.run_dir)).as_posix()
