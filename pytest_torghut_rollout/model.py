"""Plain data shared by discovery, rules, items and reporting (no pytest here)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

ArtifactKind = Literal["manifest", "notes-series", "scheduler-note", "lane-note", "unrecognised-note"]
ARTIFACT_KINDS: tuple[ArtifactKind, ...] = get_args(ArtifactKind)
NOTE_KINDS: tuple[ArtifactKind, ...] = ("scheduler-note", "lane-note", "unrecognised-note")

#: ``drift_status`` values that count as unhealthy unless the ini key says otherwise. Kept here,
#: not in ``contract``, so that registering the plugin's options never imports pydantic.
DEFAULT_UNHEALTHY_DRIFT_STATES: tuple[str, ...] = ("drift_detected", "unhealthy")


class Severity(enum.Enum):
    """How a rule's findings count: ``required`` fails, ``advisory`` warns unless strict."""

    REQUIRED = "required"
    ADVISORY = "advisory"


@dataclass(frozen=True, kw_only=True)
class Finding:
    """One place where an artifact departs from a rule."""

    pointer: str
    """RFC 6901 JSON Pointer into the artifact ("" is the whole document)."""
    message: str
    expected: str = ""
    found: str = ""

    def as_dict(self) -> dict[str, str]:
        """Return the finding as plain JSON-ready data."""
        return {
            "pointer": self.pointer,
            "message": self.message,
            "expected": self.expected,
            "found": self.found,
        }


@dataclass(frozen=True, kw_only=True)
class SchemaIssue:
    """One JSON Schema error, located by pointer and by the failing keyword."""

    pointer: str
    keyword: str
    message: str
    expected: str
    found: str


@dataclass(frozen=True, kw_only=True)
class Artifact:
    """A governance artifact found under an artifacts path, read and parsed once."""

    kind: ArtifactKind
    path: Path
    """The file (manifest, note) or the ``notes/`` directory (series), absolute."""
    root: Path
    """The artifact root: the parent of ``rollout/`` or of ``notes/``."""
    display: str
    """The artifact's path under the given artifacts path, POSIX style; the test id."""
    data: Any = None
    """The parsed document: a JSON object, front matter mapping, or lane note fields."""
    error: str | None = None
    """Why the artifact could not be read or parsed; rules are not run when set."""
    number: int | None = None
    """A note's ``n`` from ``iteration-<n>.md``, when the name is well formed."""
    members: tuple[str, ...] = ()
    """A notes series' ``iteration-*`` file names, sorted."""
    sha256: str | None = None
    """SHA-256 of the file's bytes as read (None for a series or an unreadable file)."""
    schema_issues: tuple[SchemaIssue, ...] = field(default=(), repr=False)
    """Structural errors against the contract's JSON Schema, computed at parse time."""


def show(value: Any, limit: int = 80) -> str:
    """Render a JSON value for a message, truncated to ``limit`` characters."""
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def pointer(*parts: str | int) -> str:
    """Build an RFC 6901 JSON Pointer from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
