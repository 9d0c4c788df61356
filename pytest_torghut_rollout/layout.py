"""Where the contract puts artifacts: directory and file names, the note-name pattern.

Light on purpose (no parsing, no pytest): option validation imports it on every run.
"""

from __future__ import annotations

import re
from pathlib import Path

MANIFEST_DIR = "rollout"
MANIFEST_NAME = "phase-manifest.json"
NOTES_DIR = "notes"
NOTE_PREFIX = "iteration-"
NOTE_NAME = re.compile(r"iteration-([1-9][0-9]*)\.md")
#: Version-control metadata is never searched; every other directory is, hidden ones too
#: (a manifest under ``.staging/`` that is never found would fail open).
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
#: Larger artifacts are not read (``--torghut-max-bytes``): real ones are a few KiB.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def note_name(n: int) -> str:
    """``iteration-<n>.md``."""
    return f"{NOTE_PREFIX}{n}.md"


def note_number(name: str) -> int | None:
    """Return ``n`` of ``iteration-<n>.md``, or None when the name is malformed."""
    match = NOTE_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def is_manifest_file(path: Path) -> bool:
    """A file given alone is a manifest only when it is named ``phase-manifest.json``."""
    return path.name == MANIFEST_NAME


def is_note_file(path: Path) -> bool:
    """A file given alone is a note when it is named ``iteration-*`` (TN020 judges the rest of the name)."""
    return path.name.startswith(NOTE_PREFIX)


def is_artifact_file(path: Path) -> bool:
    """Whether a single file may be given as an artifacts path."""
    return is_manifest_file(path) or is_note_file(path)
