"""Waivers: failures an owner has accepted until a date, read from a TOML file (no pytest here).

A waiver names a rule and a glob over artifact paths as test ids show them. A failing check
it matches is an open risk, reported apart from passes; a waiver never makes a check pass,
and from its ``expires`` date on (UTC) it waives nothing.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Container
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

FIELDS = ("rule", "artifact", "reason", "owner", "expires")
#: A ``[[waiver]]`` header line, to say which waiver a TOML syntax error is in.
HEADER = re.compile(r"\s*\[\[\s*waiver\s*\]\]")
TOML_ERROR_LINE = re.compile(r"at line (\d+)")


class WaiverFileError(ValueError):
    """The waivers file cannot be read, is not TOML, or a waiver in it is malformed."""


def today_utc() -> date:
    """Today in UTC: the date waivers expire by (replaced by tests)."""
    return datetime.now(UTC).date()


@dataclass(frozen=True, kw_only=True)
class Waiver:
    """One accepted failure: a rule on the artifacts a glob matches, owned by someone until a date."""

    index: int
    """Position in the file, from 1: ``waiver 2`` is the second ``[[waiver]]`` table."""
    rule: str
    artifact: str
    """An ``fnmatch`` glob over artifact paths as test ids show them; ``*`` also matches ``/``."""
    reason: str
    owner: str
    expires: date
    """The first day (UTC) the waiver no longer applies."""

    def matches(self, rule_id: str, artifact: str) -> bool:
        """True when this waiver names the check of ``rule_id`` on ``artifact``."""
        return rule_id == self.rule and fnmatchcase(artifact, self.artifact)

    def expired(self, today: date) -> bool:
        """True from the ``expires`` date on."""
        return today >= self.expires

    @property
    def label(self) -> str:
        """``waiver 2 (TM012 on 2026*/rollout/phase-manifest.json)``."""
        return f"waiver {self.index} ({self.rule} on {self.artifact})"

    def as_dict(self) -> dict[str, Any]:
        """Return the waiver as plain JSON-ready data."""
        return {
            "waiver": self.index,
            "rule": self.rule,
            "artifact": self.artifact,
            "reason": self.reason,
            "owner": self.owner,
            "expires": self.expires.isoformat(),
        }


@dataclass(frozen=True, kw_only=True)
class WaiverBook:
    """The waivers of one run and the date (UTC) they are judged by."""

    path: Path
    waivers: tuple[Waiver, ...]
    today: date

    @property
    def live(self) -> tuple[Waiver, ...]:
        """Waivers that still apply today."""
        return tuple(w for w in self.waivers if not w.expired(self.today))

    @property
    def expired(self) -> tuple[Waiver, ...]:
        """Waivers whose date has come: they waive nothing and fail the run."""
        return tuple(w for w in self.waivers if w.expired(self.today))

    def waiver_for(self, rule_id: str, artifact: str) -> Waiver | None:
        """The first live waiver, in file order, matching the check of ``rule_id`` on ``artifact``."""
        return next((w for w in self.live if w.matches(rule_id, artifact)), None)

    def expired_for(self, rule_id: str, artifact: str) -> Waiver | None:
        """The first expired waiver matching the check, to say why a known failure fails again."""
        return next((w for w in self.expired if w.matches(rule_id, artifact)), None)


def load_waivers(path: Path, *, today: date, rules: Container[str]) -> WaiverBook:
    """Read and check the waivers file; raise WaiverFileError naming every problem found."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise WaiverFileError(f"waivers file {path} does not exist") from None
    except UnicodeDecodeError as exc:
        raise WaiverFileError(f"waivers file {path} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise WaiverFileError(f"waivers file {path} cannot be read: {exc.strerror or exc}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise WaiverFileError(f"waivers file {path} is not valid TOML: {exc}{_where(text, str(exc))}") from None
    problems: list[str] = []
    unknown = sorted(set(data) - {"waiver"})
    if unknown:
        keys = ", ".join(map(repr, unknown))
        problems.append(f"unknown top-level key {keys}; write each waiver as a [[waiver]] table")
    tables = data.get("waiver", [])
    if not isinstance(tables, list):
        problems.append("'waiver' must be an array of tables; write each waiver as a [[waiver]] table")
        tables = []
    waivers: list[Waiver] = []
    for index, table in enumerate(tables, 1):
        waiver, errors = _parse_waiver(index, table, rules)
        problems.extend(f"waiver {index}: {error}" for error in errors)
        if waiver is not None:
            waivers.append(waiver)
    if problems:
        raise WaiverFileError(f"waivers file {path} is invalid:\n" + "\n".join(f"  {p}" for p in problems))
    return WaiverBook(path=path, waivers=tuple(waivers), today=today)


def _where(text: str, message: str) -> str:
    """``, in waiver 2`` for a syntax error after the second ``[[waiver]]`` header."""
    match = TOML_ERROR_LINE.search(message)
    if match is None:
        return ""
    line = int(match.group(1))
    index = sum(1 for n, row in enumerate(text.splitlines(), 1) if n <= line and HEADER.match(row))
    return f", in waiver {index}" if index else ""


def _parse_waiver(index: int, table: Any, rules: Container[str]) -> tuple[Waiver | None, list[str]]:
    if not isinstance(table, dict):
        return None, [f"must be a table of {', '.join(FIELDS)}, found {_kind(table)}"]
    errors = [f"{name} is missing" for name in FIELDS if name not in table]
    errors.extend(f"unknown key {key!r} (a waiver has {', '.join(FIELDS)})" for key in sorted(set(table) - set(FIELDS)))
    for name in ("rule", "artifact", "reason", "owner"):
        value = table.get(name)
        if name not in table:
            continue
        if not isinstance(value, str):
            errors.append(f"{name} must be a string, found {_kind(value)}")
        elif not value.strip():
            errors.append(f"{name} is empty")
    rule_id = table.get("rule")
    if isinstance(rule_id, str) and rule_id.strip() and rule_id not in rules:
        errors.append(f"rule {rule_id!r} is not a rule of this plugin (`torghut-rollout rules` lists them)")
    expires = table.get("expires")
    if "expires" in table and (isinstance(expires, datetime) or not isinstance(expires, date)):
        found = f"the string {expires!r}" if isinstance(expires, str) else _kind(expires)
        errors.append(f"expires must be a TOML date, unquoted (expires = 2026-06-30), found {found}")
    if errors:
        return None, errors
    return (
        Waiver(
            index=index,
            rule=table["rule"],
            artifact=table["artifact"],
            reason=table["reason"].strip(),
            owner=table["owner"].strip(),
            expires=table["expires"],
        ),
        [],
    )


def _kind(value: Any) -> str:
    """What TOML type ``value`` was written as."""
    kinds: tuple[tuple[type, str], ...] = (
        (bool, "a boolean"),
        (int, "an integer"),
        (float, "a float"),
        (str, "a string"),
        (list, "an array"),
        (dict, "a table"),
        (datetime, "a date-time"),
        (date, "a date"),
        (time, "a time"),
    )
    return next((name for kind, name in kinds if isinstance(value, kind)), type(value).__name__)
