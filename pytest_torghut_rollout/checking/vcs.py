"""Ask git which files of a directory it tracks (no pytest here).

READING.md section 3: notes stay out of source control. git itself is the only judge of
what it tracks, so it is asked (``git ls-files``), with a timeout; when it cannot answer (not
installed, too slow, refusing the repository), the answer says why instead of guessing.

A tree of thousands of series must not start thousands of processes: ``GitIndex`` finds the
work tree holding a directory by its ``.git`` entry (the way git finds it, once the variables
that point git elsewhere are set aside), asks git once per work tree for everything it tracks,
and answers each directory from that list. A directory under no ``.git`` is in no work tree,
and git is not asked at all.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

#: Seconds git may take to list a directory's tracked files.
GIT_TIMEOUT = 10.0
#: Variables that point git at another repository or index than the directory's own: a run
#: started from a git hook has them set, and must still ask about the directory it checks.
_REDIRECTING = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR", "GIT_NAMESPACE", "GIT_PREFIX")
_NOT_A_WORK_TREE = ("not a git repository", "must be run in a work tree")


@dataclass(frozen=True, kw_only=True)
class TrackedFiles:
    """git's answer for one directory: the names it tracks there, or why it could not say."""

    names: tuple[str, ...] = ()
    """Files directly in the directory that git tracks (also those deleted from the work tree)."""
    unknown: str | None = None
    """Why git gave no answer; None when it did."""


def tracked_files(directory: Path, *, timeout: float = GIT_TIMEOUT) -> TrackedFiles:
    """List what git tracks directly in ``directory`` (one directory; ``GitIndex`` for many)."""
    return GitIndex().tracked_files(directory, timeout=timeout)


class GitIndex:
    """What git tracks, asked once per work tree and answered per directory."""

    def __init__(self) -> None:
        self._tops: dict[str, str | None] = {}
        self._listings: dict[str, dict[str, list[str]] | TrackedFiles] = {}

    def tracked_files(self, directory: Path, *, timeout: float = GIT_TIMEOUT) -> TrackedFiles:
        """The files directly in ``directory`` that git tracks (also those deleted from the work tree).

        ``timeout`` bounds the one ``git ls-files`` of the directory's work tree, if not asked yet.
        """
        real = os.path.realpath(directory)
        top = self._top(real)
        if top is None:
            return TrackedFiles(unknown="not inside a git work tree")
        if top not in self._listings:
            self._listings[top] = _list_work_tree(top, timeout)
        listing = self._listings[top]
        if isinstance(listing, TrackedFiles):
            return listing
        relative = os.path.relpath(real, top)
        return TrackedFiles(names=tuple(sorted(listing.get("" if relative == "." else relative, ()))))

    def _top(self, directory: str) -> str | None:
        """The nearest directory at or above ``directory`` holding a ``.git`` entry (file or folder)."""
        walked: list[str] = []
        current = directory
        while current not in self._tops:
            walked.append(current)
            if os.path.lexists(os.path.join(current, ".git")):
                self._tops[current] = current
                break
            parent = os.path.dirname(current)
            if parent == current:
                self._tops[current] = None
                break
            current = parent
        top = self._tops[current]
        for path in walked:
            self._tops[path] = top
        return top


def _list_work_tree(top: str, timeout: float) -> dict[str, list[str]] | TrackedFiles:
    """Every file git tracks in the work tree at ``top``, by directory relative to it; or why not."""
    git = shutil.which("git")
    if git is None:
        return TrackedFiles(unknown="git is not installed (not found on PATH): cannot tell what it tracks")
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING}
    try:
        done = subprocess.run(
            [git, "-C", top, "ls-files", "-z"],
            capture_output=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return TrackedFiles(unknown=f"git did not answer within {timeout:g} s: cannot tell what it tracks")
    except OSError as exc:
        return TrackedFiles(unknown=f"git could not be run: {exc.strerror or exc}")
    if done.returncode != 0:
        message = os.fsdecode(done.stderr).strip()
        if any(text in message for text in _NOT_A_WORK_TREE):
            return TrackedFiles(unknown="not inside a git work tree")
        first = message.splitlines()[0] if message else f"exit status {done.returncode}"
        return TrackedFiles(unknown=f"git could not list what it tracks: {first}")
    # Paths are relative to the top, "/"-separated; a series' own files are those directly in it.
    by_directory: dict[str, list[str]] = {}
    for raw in done.stdout.split(b"\0"):
        if raw:
            parent, _, name = os.fsdecode(raw).rpartition("/")
            by_directory.setdefault(os.path.normpath(parent) if parent else "", []).append(name)
    return by_directory


def head_commit(directory: Path, *, timeout: float = GIT_TIMEOUT) -> str | None:
    """The commit checked out in the work tree holding ``directory`` (``git rev-parse HEAD``).

    None when git is missing, does not answer in time, or ``directory`` is not in a work tree
    (or one without commits): the evidence then names no commit rather than a guessed one.
    """
    git = shutil.which("git")
    if git is None:
        return None
    env = {k: v for k, v in os.environ.items() if k not in _REDIRECTING}
    try:
        done = subprocess.run(
            [git, "-C", str(directory), "rev-parse", "--verify", "-q", "HEAD"],
            capture_output=True,
            env=env,
            timeout=timeout,
            check=False,
        )
    except (subprocess.TimeoutExpired, OSError):
        return None
    commit = os.fsdecode(done.stdout).strip()
    if done.returncode != 0 or len(commit) not in (40, 64) or any(c not in "0123456789abcdef" for c in commit):
        return None
    return commit
