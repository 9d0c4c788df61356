"""Where the contract puts artifacts (names from ``contract_data``), and how files are recognised.

Light on purpose (no parsing, no pytest): option validation imports it on every run.
"""

from __future__ import annotations

from pathlib import Path

# The contract's names, defined once in ``contract_data`` (standard library only, so still light).
from .data import (
    MANIFEST_DIR,
    MANIFEST_NAME,
    NOTE_NAME,
    NOTE_PREFIX,
    NOTES_DIR,
    note_name,
    note_number,
)

__all__ = [
    "DEFAULT_MAX_BYTES",
    "MANIFEST_DIR",
    "MANIFEST_NAME",
    "NOTES_DIR",
    "NOTE_NAME",
    "NOTE_PREFIX",
    "VCS_DIRS",
    "is_artifact_file",
    "is_manifest_file",
    "is_note_file",
    "note_name",
    "note_number",
]

#: Version-control metadata is never searched; every other directory is, hidden ones too
#: (a manifest under ``.staging/`` that is never found would fail open).
VCS_DIRS = frozenset({".git", ".hg", ".svn"})
#: Larger artifacts are not read (``--torghut-max-bytes``): real ones are a few KiB.
DEFAULT_MAX_BYTES = 16 * 1024 * 1024


def is_manifest_file(path: Path) -> bool:
    """A file given alone is a manifest only when it is named ``phase-manifest.json``."""
    return path.name == MANIFEST_NAME


def is_note_file(path: Path) -> bool:
    """A file given alone is a note when it is named ``iteration-*`` (TN020 judges the rest of the name)."""
    return path.name.startswith(NOTE_PREFIX)


def is_artifact_file(path: Path) -> bool:
    """Whether a single file may be given as an artifacts path."""
    return is_manifest_file(path) or is_note_file(path)
