"""Plain data shared by discovery, rules, items and reporting (no pytest here)."""

from __future__ import annotations

import enum
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, get_args

# ``drift_status`` values that count as unhealthy unless the ini key says otherwise (from the
# light contract data, so that registering the plugin's options never imports pydantic).
from ..contract.data import DEFAULT_UNHEALTHY_DRIFT_STATES as DEFAULT_UNHEALTHY_DRIFT_STATES

ArtifactKind = Literal["manifest", "notes-series", "scheduler-note", "lane-note", "unrecognised-note"]
ARTIFACT_KINDS: tuple[ArtifactKind, ...] = get_args(ArtifactKind)
NOTE_KINDS: tuple[ArtifactKind, ...] = ("scheduler-note", "lane-note", "unrecognised-note")


class Severity(enum.Enum):
    """How a rule's findings count: ``required`` fails, ``advisory`` warns unless strict."""

    REQUIRED = "required"
    ADVISORY = "advisory"


@dataclass(frozen=True, kw_only=True)
class OptIn:
    """A switch that enables opt-in rules: its ini key (the name rules and checks use) and its flag."""

    key: str
    flag: str


CHECK_REFS = OptIn(key="torghut_check_refs", flag="--torghut-check-refs")
#: Every opt-in switch, by key.
OPT_INS: dict[str, OptIn] = {o.key: o for o in (CHECK_REFS,)}


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
class NoteFile:
    """One file of a notes series as discovery read it: what the notes ledger records."""

    name: str
    kind: ArtifactKind
    sha256: str | None
    """SHA-256 of its bytes (None when it could not be read)."""


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
    notes: tuple[NoteFile, ...] = ()
    """A notes series' files as read, in ``members`` order (kind and digest of each)."""
    sha256: str | None = None
    """SHA-256 of the file's bytes as read (None for a series or an unreadable file)."""
    schema_issues: tuple[SchemaIssue, ...] = field(default=(), repr=False)
    """Structural errors against the contract's JSON Schema, computed at parse time."""
    withheld: str | None = None
    """Why none of the artifact's rules can be evaluated although it was read (a notes
    series of which only one note was given)."""
    memo: dict[str, Any] = field(default_factory=dict, init=False, compare=False, repr=False)
    """Results derived once per artifact (the owners of its schema issues)."""


def is_number(value: Any) -> bool:
    """True for a JSON number: compared by value (``6.0`` is 6), and a boolean is never one."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def show(value: Any, limit: int = 80) -> str:
    """Render a JSON value for a message, truncated to ``limit`` characters."""
    try:
        text = json.dumps(value, sort_keys=True, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


#: C0 and C1 controls, DEL, line and paragraph separators, bidirectional overrides and
#: lone surrogates (undecodable file names): none may reach a terminal, XML or HTML raw.
_UNPRINTABLE = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def printable(text: str) -> str:
    """``text`` with every control or invisible character written as ``\\uXXXX`` (as JSON does)."""
    return _UNPRINTABLE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def pointer(*parts: str | int) -> str:
    """Build an RFC 6901 JSON Pointer from path parts."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)
