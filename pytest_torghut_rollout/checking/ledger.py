"""The notes ledger: the digest of every note a passing run saw, hash-chained (no pytest here).

READING.md section 3: a note, once written, never changes; with a recorded ledger of earlier
digests, any changed or removed earlier note is a violation.

The file is JSON Lines (UTF-8, one JSON object per line, every line ending in a newline):

- line 1, the header: ``{"type": "header", "format": "torghut-notes-ledger/1",
  "artifacts": [...], "created_at": ...}``. ``artifacts`` names the trees the ledger belongs to:
  each ``--torghut-artifacts`` path relative to the ledger's own directory, so that a workspace
  moved as a whole keeps its ledger, and a ledger of other trees is refused.
- one entry per recorded note: ``{"type": "note", "n": 1, "prev": ..., "series": "notes",
  "note": "iteration-1.md", "kind": "scheduler-note", "sha256": ..., "recorded_at": ...}``;
  ``series`` is the series' display path (its test id), so one ledger holds every series of
  the trees.
- the last line, the seal: ``{"type": "seal", "entries": N, "prev": ...}``.

``prev`` is the SHA-256 of the previous line's bytes (without its newline): editing an entry
breaks the chain at the next line, and cutting lines off the end loses the seal. Nothing
here is secret, so the chain catches careless and accidental edits, not a forger who
recomputes every digest; the run's evidence names the ledger's head digest, for comparison
with a copy kept elsewhere.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..contract.layout import note_number
from .model import NoteFile

FORMAT = "torghut-notes-ledger/1"
SHA256 = re.compile(r"[0-9a-f]{64}")
#: Notes of this kind live in run directories, which retention deletes: a series of them
#: that is gone altogether was pruned, not lost (READING.md section 1).
PRUNABLE_KIND = "lane-note"


class LedgerError(Exception):
    """The ledger cannot serve this run at all: a directory, or the ledger of other trees."""


@dataclass(frozen=True, kw_only=True)
class Entry:
    """One recorded note: its series, file name, kind and digest."""

    series: str
    note: str
    kind: str
    sha256: str


@dataclass(frozen=True, kw_only=True)
class Comparison:
    """How a series now departs from what the ledger recorded of it."""

    changed: tuple[tuple[Entry, str], ...] = ()
    """Recorded notes whose digest is now another (the entry, the current digest)."""
    removed: tuple[Entry, ...] = ()
    """Recorded notes that are not there any more."""
    unreadable: tuple[Entry, ...] = ()
    """Recorded notes that could not be read now, so could not be compared."""


@dataclass(frozen=True, kw_only=True)
class Ledger:
    """A ledger file as this run found it: its entries, or why it cannot be trusted."""

    path: Path
    artifacts: tuple[str, ...]
    """The trees it belongs to, as its header names them (relative to its directory)."""
    exists: bool = False
    entries: tuple[Entry, ...] = ()
    problem: str | None = None
    """Why the ledger cannot be trusted (edited, truncated, unreadable); None when it can."""
    file_sha256: str | None = None
    """Digest of the file's bytes as read: a ledger that changes during the run is not extended."""
    head: str | None = None
    """Digest of the seal line: what a copy kept elsewhere should also end in."""
    lines: tuple[str, ...] = field(default=(), repr=False)
    """The header and entry lines as read (without the seal), to extend verbatim."""

    @property
    def trusted(self) -> bool:
        """Whether the chain holds (or the ledger does not exist yet)."""
        return self.problem is None

    def recorded(self, series: str) -> dict[str, Entry]:
        """The recorded notes of ``series``, by file name."""
        return {e.note: e for e in self.entries if e.series == series}

    def compare(self, series: str, notes: Iterable[NoteFile]) -> Comparison:
        """Every recorded note of ``series`` that changed, disappeared or cannot be read now."""
        current = {n.name: n for n in notes}
        changed: list[tuple[Entry, str]] = []
        removed: list[Entry] = []
        unreadable: list[Entry] = []
        for entry in sorted(self.recorded(series).values(), key=lambda e: _note_order(e.note)):
            now = current.get(entry.note)
            if now is None:
                removed.append(entry)
            elif now.sha256 is None:
                unreadable.append(entry)
            elif now.sha256 != entry.sha256:
                changed.append((entry, now.sha256))
        return Comparison(changed=tuple(changed), removed=tuple(removed), unreadable=tuple(unreadable))

    def lost_series(self, present: Iterable[str]) -> dict[str, tuple[Entry, ...]]:
        """Recorded series that are gone altogether, except lane series pruned with their runs."""
        here = set(present)
        gone: dict[str, list[Entry]] = {}
        for entry in self.entries:
            if entry.series not in here:
                gone.setdefault(entry.series, []).append(entry)
        return {s: tuple(es) for s, es in sorted(gone.items()) if any(e.kind != PRUNABLE_KIND for e in es)}

    def render(self, new: Sequence[Entry], *, now: str) -> str:
        """The ledger's text with ``new`` appended and a fresh seal (a new header on first use)."""
        if self.exists:
            lines = list(self.lines)
        else:
            lines = [_dump({"type": "header", "format": FORMAT, "artifacts": list(self.artifacts), "created_at": now})]
        n = len(self.entries)
        for entry in new:
            n += 1
            record = {
                "type": "note",
                "n": n,
                "prev": line_digest(lines[-1]),
                "series": entry.series,
                "note": entry.note,
                "kind": entry.kind,
                "sha256": entry.sha256,
                "recorded_at": now,
            }
            lines.append(_dump(record))
        lines.append(_dump({"type": "seal", "entries": n, "prev": line_digest(lines[-1])}))
        return "\n".join(lines) + "\n"


def line_digest(line: str) -> str:
    """SHA-256 of one ledger line's bytes, without its newline."""
    return hashlib.sha256(line.encode("utf-8")).hexdigest()


def identity(artifacts: Sequence[Path], ledger: Path) -> tuple[str, ...]:
    """Each artifacts path relative to the ledger's directory, POSIX style."""
    base = ledger.absolute().parent.resolve()
    return tuple(Path(os.path.relpath(p.absolute().resolve(), base)).as_posix() for p in artifacts)


def load_ledger(path: Path, artifacts: Sequence[Path]) -> Ledger:
    """Read and verify the ledger at ``path`` for a run over ``artifacts``.

    A missing file is a ledger to create; a damaged one comes back with its ``problem``
    (the append-only rule reports it). A sound ledger of other trees raises LedgerError.
    """
    trees = identity(artifacts, path)
    if path.is_dir():
        raise LedgerError(f"the notes ledger {path} is a directory; give a file (it is created on first use)")
    if not path.exists() and not path.is_symlink():
        return Ledger(path=path, artifacts=trees)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        return Ledger(path=path, artifacts=trees, exists=True, problem=f"it cannot be read: {exc.strerror or exc}")
    digest = hashlib.sha256(raw).hexdigest()
    try:
        header, lines, entries, head = _verify(raw)
    except _Damage as exc:
        return Ledger(path=path, artifacts=trees, exists=True, problem=str(exc), file_sha256=digest)
    if tuple(header["artifacts"]) != trees:
        raise LedgerError(
            f"the notes ledger {path} records the notes of {_names(header['artifacts'])} (relative to its "
            f"directory), not of {_names(trees)}; give the ledger of these trees, or a new file to start one"
        )
    return Ledger(path=path, artifacts=trees, exists=True, entries=entries, lines=lines, file_sha256=digest, head=head)


class _Damage(Exception):
    """What makes a ledger untrustworthy."""


def _verify(raw: bytes) -> tuple[dict[str, Any], tuple[str, ...], tuple[Entry, ...], str]:
    """The header, header and entry lines, entries and head digest of a sound ledger; raise _Damage."""
    if not raw:
        raise _Damage("it is empty: truncated, or not a notes ledger")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _Damage(f"it is not UTF-8 text (byte {exc.start})") from exc
    lines = text.split("\n")
    if lines[-1]:
        raise _Damage(f"it ends in the middle of line {len(lines)}: truncated")
    lines.pop()
    records = [_record(line, number) for number, line in enumerate(lines, 1)]
    header = records[0]
    if header.get("type") != "header" or not isinstance(header.get("artifacts"), list):
        raise _Damage("line 1 is not the header of a torghut notes ledger")
    if header.get("format") != FORMAT:
        raise _Damage(f"line 1 names the format {header.get('format')!r}; this plugin reads {FORMAT!r}")
    if not all(isinstance(a, str) for a in header["artifacts"]):
        raise _Damage("line 1 names the trees it belongs to with something other than paths")
    entries: list[Entry] = []
    seen: set[tuple[str, str]] = set()
    for number, record in enumerate(records[1:], 2):
        what = f"entry {len(entries) + 1} (line {number})" if record.get("type") == "note" else f"line {number}"
        if record.get("type") == "seal":
            what = f"the seal (line {number})"
        expected = line_digest(lines[number - 2])
        if record.get("prev") != expected:
            raise _Damage(
                f"{what} does not chain: it names {_short(record.get('prev'))} as the digest of line "
                f"{number - 1}, which is {_short(expected)} (edited, or lines removed)"
            )
        if record.get("type") == "seal":
            if number != len(records):
                raise _Damage(f"line {number + 1} follows the seal")
            if record.get("entries") != len(entries):
                raise _Damage(f"the seal counts {record.get('entries')!r} entries; the ledger holds {len(entries)}")
            return header, tuple(lines[:-1]), tuple(entries), line_digest(lines[-1])
        entry = _entry(record, what, len(entries) + 1)
        if (entry.series, entry.note) in seen:
            raise _Damage(f"{what} records {entry.series}/{entry.note} a second time")
        seen.add((entry.series, entry.note))
        entries.append(entry)
    raise _Damage(f"it ends after line {len(lines)} without its seal: truncated, or edited by hand")


def _record(line: str, number: int) -> dict[str, Any]:
    try:
        record = json.loads(line)
    except (ValueError, RecursionError):
        record = None
    if not isinstance(record, dict):
        raise _Damage(f"line {number} is not a JSON object")
    return record


def _entry(record: dict[str, Any], what: str, n: int) -> Entry:
    if record.get("type") != "note":
        raise _Damage(f"{what} is neither a note entry nor the seal")
    if record.get("n") != n:
        raise _Damage(f"{what} is numbered {record.get('n')!r}")
    fields = {key: record.get(key) for key in ("series", "note", "kind", "sha256")}
    if not all(isinstance(v, str) and v for v in fields.values()) or not SHA256.fullmatch(str(fields["sha256"])):
        raise _Damage(f"{what} lacks a series, note, kind or SHA-256 digest")
    return Entry(**{k: str(v) for k, v in fields.items()})


def new_entries(
    ledger: Ledger, series: Iterable[str], notes: Mapping[str, tuple[str, str | None]]
) -> tuple[list[Entry], str | None]:
    """The entries a passing run adds: each readable note of ``series`` not recorded yet.

    ``notes`` maps a note's display path (``<series>/<name>``) to its kind and digest, as
    the run's checks reported them. Returns the entries, or why none may be added (a
    recorded note now differs: the append-only rule should have failed).
    """
    entries: list[Entry] = []
    for name in sorted(set(series)):
        recorded = ledger.recorded(name)
        mine = {}
        for display, (kind, digest) in notes.items():
            parent, _, note = display.rpartition("/")
            if parent == name and digest is not None:
                mine[note] = (kind, digest)
        for note in sorted(mine, key=_note_order):
            kind, digest = mine[note]
            if note not in recorded:
                entries.append(Entry(series=name, note=note, kind=kind, sha256=digest))
            elif recorded[note].sha256 != digest:
                return [], f"{name}/{note} differs from its recorded digest"
    return entries, None


def write_ledger(path: Path, text: str) -> None:
    """Replace the ledger atomically: a temporary file beside it, fsynced, renamed over it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8"))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def file_digest(path: Path) -> str | None:
    """SHA-256 of the file's bytes now, or None when there is no file."""
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except FileNotFoundError:
        return None


def _dump(record: dict[str, Any]) -> str:
    return json.dumps(record, sort_keys=True)


def _short(value: Any) -> str:
    return f"{value[:12]}…" if isinstance(value, str) and len(value) > 12 else repr(value)


def _names(paths: Sequence[str]) -> str:
    return ", ".join(repr(p) for p in paths) or "no trees"


def _note_order(name: str) -> tuple[int, str]:
    number = note_number(name)
    return (number if number is not None else 1 << 62, name)


@dataclass(frozen=True, kw_only=True)
class Kept:
    """What became of the ledger at the end of a run."""

    status: str
    """``created``, ``extended``, ``unchanged`` or ``not extended``."""
    existed: bool = True
    """Whether the file was there when the run began."""
    added: int = 0
    total: int = 0
    reason: str = ""
    """Why it was not extended."""
    head: str | None = None
    """Digest of its seal line afterwards (None when there is no trustworthy ledger)."""


def keep(
    ledger: Ledger, *, passed: bool, series: Iterable[str], notes: Mapping[str, tuple[str, str | None]], now: str
) -> Kept:
    """Extend the ledger with the new notes of a passing run; never an untrusted or moved one."""
    total = len(ledger.entries)

    def refuse(reason: str) -> Kept:
        return Kept(status="not extended", existed=ledger.exists, total=total, reason=reason, head=ledger.head)

    if ledger.problem is not None:
        return refuse(f"it cannot be trusted: {ledger.problem}")
    if not passed:
        return refuse("the run did not pass")
    series = list(series)
    if not series:
        return refuse("no notes series was checked against it (TN023 did not run)")
    new, refused = new_entries(ledger, series, notes)
    if refused is not None:
        return refuse(refused)
    if ledger.exists and not new:
        return Kept(status="unchanged", total=total, head=ledger.head)
    try:
        on_disk = file_digest(ledger.path)
    except OSError as exc:
        return refuse(f"it cannot be read again: {exc.strerror or exc}")
    if on_disk != ledger.file_sha256:
        return refuse("it changed on disk during the run" if ledger.exists else "it appeared during the run")
    text = ledger.render(new, now=now)
    try:
        write_ledger(ledger.path, text)
    except OSError as exc:
        return refuse(f"it cannot be written: {exc.strerror or exc}")
    seal = text.rstrip("\n").rsplit("\n", 1)[-1]
    status = "extended" if ledger.exists else "created"
    return Kept(status=status, existed=ledger.exists, added=len(new), total=total + len(new), head=line_digest(seal))
