"""Find governance artifacts under a path, classify them and parse each once.

Both layouts of interpretation §1 are found from one path: every
``rollout/phase-manifest.json`` is a manifest, every ``notes/`` directory holding
``iteration-*`` files is a notes series, and each of its files is a note.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Literal

import yaml

from ..contract.layout import (
    DEFAULT_MAX_BYTES,
    MANIFEST_DIR,
    MANIFEST_NAME,
    NOTE_PREFIX,
    NOTES_DIR,
    VCS_DIRS,
    is_manifest_file,
    note_number,
)
from .model import Artifact, ArtifactKind, NoteFile
from .parsing import ParseError, load_front_matter, loads_json
from .reading import UndecodableError as _UndecodableError
from .reading import display_name
from .reading import read_text as _read_text
from .schema import manifest_issues, note_issues

LANE_HEADING = re.compile(r"#\s+(?:Autonomous|Alpha) lane iteration\s+([0-9]+)\s*")
#: The value is stripped afterwards: a lazy ``(.*?)\s*`` before the end backtracks
#: quadratically on a long run of blanks inside a value.
LANE_FIELD = re.compile(r"-\s+([A-Za-z_][A-Za-z0-9_]*):(.*)")


#: Deeper documents are refused unchecked: no real artifact comes near, and validating one
#: would exhaust the interpreter's recursion limit.
MAX_DEPTH = 100
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels; refused unchecked"


class DiscoveryError(Exception):
    """An artifacts path that cannot be searched at all (missing)."""


@dataclass(frozen=True, kw_only=True)
class Search:
    """What a search found: the artifacts, and what it could not search, one reason each."""

    artifacts: list[Artifact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    """Directories not searched (unreadable, symlinked): a gate must not pass over them."""


#: The kind a note found by its path is given until it is read: which kind of note it is (and so
#: which rules apply) comes from its text. Discovery, the items and merged records count it so.
UNREAD_NOTE: Final = "note"


@dataclass(frozen=True, kw_only=True)
class Pending:
    """An artifact found by its path alone, to be read when its check runs (artifact granularity).

    What it is (manifest, notes series or note) comes from where it lies; which kind of
    note it is comes from its text, known once read.
    """

    kind: Literal["manifest", "notes-series", "note"]
    path: Path
    root: Path
    display: str
    max_bytes: int = DEFAULT_MAX_BYTES
    number: int | None = None
    members: tuple[str, ...] = ()
    """A series' ``iteration-*`` file names, sorted."""
    notes: tuple[Pending | Artifact, ...] = ()
    """A series' members: each a note to read, or one refused unread (a symlink out of the tree)."""
    withheld: str | None = None

    def load(self, *, note_files: Sequence[NoteFile] | None = None) -> Artifact:
        """Read, parse and validate the artifact, as discovery does when it reads everything at once.

        A series whose notes this process has already read (``light_notes``) takes their
        ``note_files`` instead of reading them again.
        """
        if self.kind == "manifest":
            return load_manifest(self.path, root=self.root, display=self.display, max_bytes=self.max_bytes)
        if self.kind == UNREAD_NOTE:
            return load_note(self.path, root=self.root, display=self.display, max_bytes=self.max_bytes)
        return Artifact(
            kind="notes-series",
            path=self.path,
            root=self.root,
            display=self.display,
            members=self.members,
            notes=tuple(note_files) if note_files is not None else note_files_of(self.light_notes()),
            withheld=self.withheld,
        )

    def light_notes(self) -> list[Artifact]:
        """A series' notes read and classified but not validated: what cross references and the ledger need."""
        return [note.load_light() if isinstance(note, Pending) else note for note in self.notes]

    def load_light(self) -> Artifact:
        """A note read and classified, without its JSON Schema validation."""
        return load_note(self.path, root=self.root, display=self.display, max_bytes=self.max_bytes, validate=False)


@dataclass(frozen=True, kw_only=True)
class Located:
    """What a search by path found without reading: artifacts to read, those refused unread, and problems."""

    entries: list[Pending | Artifact] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def locate(
    paths: Sequence[Path],
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    progress: Callable[[Pending | Artifact], None] | None = None,
) -> Located:
    """Find every artifact under ``paths`` by its path, reading none, in ``search``'s order and with its ids."""
    labels = _labels(paths) if len(paths) > 1 else [""] * len(paths)
    found = Located()
    for path, label in zip(paths, labels, strict=True):
        if not path.exists():
            raise DiscoveryError(f"--torghut-artifacts path does not exist: {path}")
        for entry in _discover_one(path.absolute(), label, max_bytes, found.problems, lazy=True):
            found.entries.append(entry)
            if progress is not None:
                progress(entry)
    return found


def discover(paths: Sequence[Path], *, max_bytes: int = DEFAULT_MAX_BYTES) -> list[Artifact]:
    """Return every artifact under ``paths``, in a deterministic order (see ``search``)."""
    return search(paths, max_bytes=max_bytes).artifacts


def search(
    paths: Sequence[Path], *, max_bytes: int = DEFAULT_MAX_BYTES, progress: Callable[[Artifact], None] | None = None
) -> Search:
    """Find and read every artifact under ``paths``; keep walking past what cannot be searched.

    With more than one path, each artifact's display path is prefixed with a label for its
    path (the directory name, made unique), so ids never collide. A file larger than
    ``max_bytes`` is not read: its artifact fails with its size. ``progress`` is called with
    each artifact as it is found.
    """
    labels = _labels(paths) if len(paths) > 1 else [""] * len(paths)
    found = Search()
    for path, label in zip(paths, labels, strict=True):
        if not path.exists():
            raise DiscoveryError(f"--torghut-artifacts path does not exist: {path}")
        for artifact in _discover_one(path.absolute(), label, max_bytes, found.problems):
            assert isinstance(artifact, Artifact)  # nothing is pending unless lazy
            found.artifacts.append(artifact)
            if progress is not None:
                progress(artifact)
    return found


def artifact_trees(paths: Sequence[Path]) -> list[Path]:
    """Return the directories references may point into: the given trees."""
    return [p if p.is_dir() else _file_root(p) for p in (q.absolute() for q in paths)]


def _labels(paths: Sequence[Path]) -> list[str]:
    labels: list[str] = []
    for path in paths:
        base = display_name(path.absolute().name or "root")
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}~{n}"
        labels.append(label)
    return labels


def _display(base: Path, path: Path, label: str) -> str:
    rel = path.relative_to(base).as_posix() if path != base else path.name
    rel = display_name(rel)
    return f"{label}/{rel}" if label else rel


def _file_root(path: Path) -> Path:
    """The artifact root of a manifest or a note given alone."""
    if is_manifest_file(path):
        return _manifest_root(path)
    return path.parent.parent if path.parent.name == NOTES_DIR else path.parent


def _manifest_root(path: Path) -> Path:
    # rollout/phase-manifest.json lies in its artifact root's rollout/ directory.
    return path.parent.parent if path.parent.name == MANIFEST_DIR else path.parent


def _discover_one(
    top: Path, label: str, max_bytes: int, problems: list[str], *, lazy: bool = False
) -> Iterator[Artifact | Pending]:
    if not top.is_dir():  # a file, or a FIFO or socket given by name: reading says what it is
        if is_manifest_file(top):
            root = _manifest_root(top)
            display = _display(root, top, label)
            if lazy:
                yield Pending(kind="manifest", path=top, root=root, display=display, max_bytes=max_bytes)
            else:
                yield load_manifest(top, root=root, display=display, max_bytes=max_bytes)
        else:
            yield from _lone_note(top, label, max_bytes, lazy=lazy)
        return
    real_top = Path(os.path.realpath(top))
    # Depth first, parents before children, siblings by name: the order os.walk gave, but
    # a directory that cannot be listed is reported and skipped instead of ending the walk.
    stack = [top]
    while stack:
        here = stack.pop()
        try:
            with os.scandir(here) as listing:
                entries = sorted(listing, key=lambda e: e.name)
        except OSError as exc:
            where = _display(top, here, label) if here != top else str(top)
            problems.append(f"cannot search {where}/: {_reason(exc)}; nothing under it was checked")
            continue
        subdirs: list[str] = []
        files: list[str] = []
        for entry in entries:
            if _is_real_dir(entry):
                if entry.name not in VCS_DIRS:
                    subdirs.append(entry.name)
            elif entry.is_symlink() and os.path.isdir(entry.path):
                reason = _linked_dir(Path(entry.path), real_top, _display(top, Path(entry.path), label))
                if here.name == NOTES_DIR and entry.name.startswith(NOTE_PREFIX):
                    files.append(entry.name)  # a member of the series: the note fails with its reason
                elif entry.name == MANIFEST_DIR:
                    manifest = Path(entry.path) / MANIFEST_NAME
                    yield _broken("manifest", manifest, here, _display(top, manifest, label), reason)
                else:
                    problems.append(reason)
            elif entry.name == MANIFEST_DIR and entry.is_symlink():
                # A looping or dangling rollout/ would hide its run's manifest without a word.
                manifest = Path(entry.path) / MANIFEST_NAME
                shown = _display(top, Path(entry.path), label)
                reason = f"{shown}/ is a symlink that leads to no directory (a loop, or nothing); not searched"
                yield _broken("manifest", manifest, here, _display(top, manifest, label), reason)
            else:
                files.append(entry.name)
        yield from _artifacts_in(here, top, label, real_top, subdirs, files, max_bytes, lazy=lazy)
        stack.extend(here / name for name in reversed(subdirs))


def _is_real_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=False)
    except OSError:
        return False


def _linked_dir(link: Path, real_top: Path, shown: str) -> str:
    real = Path(os.path.realpath(link))
    if real.is_relative_to(real_top):
        return (
            f"{shown}/ is a symlink to {display_name(real.relative_to(real_top).as_posix() or '.')}/ inside the "
            "artifact tree; not followed (what lies there is checked where it lies)"
        )
    return f"{shown}/ is a symlink to {display_name(str(real))}/, outside the artifact tree; not searched"


def _artifacts_in(
    here: Path,
    top: Path,
    label: str,
    real_top: Path,
    subdirs: list[str],
    files: list[str],
    max_bytes: int,
    *,
    lazy: bool = False,
) -> Iterator[Artifact | Pending]:
    if here.name == MANIFEST_DIR and MANIFEST_NAME in (*files, *subdirs):
        manifest = here / MANIFEST_NAME
        display = _display(top, manifest, label)
        escape = _escapes(manifest, real_top)
        if escape:
            yield _broken("manifest", manifest, here.parent, display, escape)
        elif lazy:
            yield Pending(kind="manifest", path=manifest, root=here.parent, display=display, max_bytes=max_bytes)
        else:
            yield load_manifest(manifest, root=here.parent, display=display, max_bytes=max_bytes)
    elif here.name == NOTES_DIR:
        named = (f for f in (*files, *subdirs) if f.startswith(NOTE_PREFIX))
        members = sorted(named, key=_note_order)
        if members:
            series = _pending_series if lazy else _load_series
            yield from series(here, members, _display(top, here, label), real_top, max_bytes)


def _lone_note(path: Path, label: str, max_bytes: int, *, lazy: bool = False) -> Iterator[Artifact | Pending]:
    """A note given alone: checked as a note; its series' rules are not evaluated."""
    directory, root = path.parent, _file_root(path)
    display = _display(root, path, label)
    series = display.rsplit("/", 1)[0] if "/" in display else display_name(directory.name)
    withheld = f"only {display_name(path.name)} was given, not its {NOTES_DIR}/ directory: the series was not checked"
    if lazy:
        note = Pending(
            kind=UNREAD_NOTE, path=path, root=root, display=display, max_bytes=max_bytes, number=note_number(path.name)
        )
        yield Pending(
            kind="notes-series",
            path=directory,
            root=root,
            display=series,
            max_bytes=max_bytes,
            members=(path.name,),
            notes=(note,),
            withheld=withheld,
        )
        yield note
        return
    loaded = load_note(path, root=root, display=display, max_bytes=max_bytes)
    yield Artifact(
        kind="notes-series",
        path=directory,
        root=root,
        display=series,
        members=(path.name,),
        notes=(_note_file(loaded),),
        withheld=withheld,
    )
    yield loaded


def _note_order(name: str) -> tuple[int, str]:
    digits = re.match(rf"{re.escape(NOTE_PREFIX)}([0-9]{{1,18}})", name)
    return (int(digits.group(1)) if digits else 1 << 62, name)


def _load_series(
    directory: Path, members: list[str], display: str, real_top: Path, max_bytes: int
) -> Iterator[Artifact]:
    series = _series(directory, members, display, real_top, max_bytes)
    notes = [note.load() if isinstance(note, Pending) else note for note in series.notes]
    # The series first, knowing what each of its notes was when read (the ledger records that).
    yield series.load(note_files=note_files_of(notes))
    yield from notes


def _pending_series(
    directory: Path, members: list[str], display: str, real_top: Path, max_bytes: int
) -> Iterator[Artifact | Pending]:
    series = _series(directory, members, display, real_top, max_bytes)
    yield series
    yield from series.notes


def _series(directory: Path, members: list[str], display: str, real_top: Path, max_bytes: int) -> Pending:
    """A notes series found by its path: each member a note to read, or one refused unread (it
    leads out of the tree)."""
    notes: list[Pending | Artifact] = []
    for name in members:
        path, shown = directory / name, f"{display}/{display_name(name)}"
        escape = _escapes(path, real_top)
        if escape:
            notes.append(_broken("unrecognised-note", path, directory.parent, shown, escape, note_number(name)))
        else:
            notes.append(
                Pending(
                    kind=UNREAD_NOTE,
                    path=path,
                    root=directory.parent,
                    display=shown,
                    max_bytes=max_bytes,
                    number=note_number(name),
                )
            )
    return Pending(
        kind="notes-series",
        path=directory,
        root=directory.parent,
        display=display,
        max_bytes=max_bytes,
        members=tuple(members),
        notes=tuple(notes),
    )


def _note_file(note: Artifact) -> NoteFile:
    return NoteFile(name=note.path.name, kind=note.kind, sha256=note.sha256)


def note_files_of(notes: Sequence[Artifact]) -> tuple[NoteFile, ...]:
    """What a series records of each of its notes, as read."""
    return tuple(_note_file(note) for note in notes)


def _escapes(path: Path, real_top: Path) -> str | None:
    """Why ``path`` may not be read: a symlink resolving outside the searched tree."""
    real = Path(os.path.realpath(path))
    if real.is_relative_to(real_top):
        return None
    return f"{display_name(path.name)} is a symlink to {display_name(str(real))}, outside the artifact tree; not read"


def load_manifest(path: Path, *, root: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES) -> Artifact:
    """Read and parse a phase manifest; a failure becomes the artifact's ``error``."""
    try:
        text, digest = _read_text(path, max_bytes)
    except _UndecodableError as exc:
        return replace(_broken("manifest", path, root, display, f"cannot read the file: {exc}"), sha256=exc.digest)
    except OSError as exc:
        return _broken("manifest", path, root, display, f"cannot read the file: {_reason(exc)}")
    return replace(_parse_manifest(text, path=path, root=root, display=display), sha256=digest)


def _parse_manifest(text: str, *, path: Path, root: Path, display: str) -> Artifact:
    try:
        data = loads_json(text)
    except RecursionError:
        return _broken("manifest", path, root, display, TOO_DEEP)
    except ParseError as exc:
        return _broken("manifest", path, root, display, f"not strict JSON: {exc}")
    except json.JSONDecodeError as exc:
        return _broken(
            "manifest",
            path,
            root,
            display,
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        )
    return manifest_artifact(data, path=path, root=root, display=display, parsed=True)


def manifest_artifact(data: Any, *, path: Path, root: Path, display: str, parsed: bool = False) -> Artifact:
    """Wrap already-parsed manifest data (the producer checks its output this way);
    ``parsed``: ``loads_json`` made it, so it holds JSON's own types only."""
    if not isinstance(data, dict):
        return _broken(
            "manifest",
            path,
            root,
            display,
            f"expected a JSON object at the top level, found {type(data).__name__}",
        )
    if _too_deep(data):
        return _broken("manifest", path, root, display, TOO_DEEP)
    return Artifact(
        kind="manifest",
        path=path,
        root=root,
        display=display,
        data=data,
        # Not too deep, and made by the strict parser: nothing else for the validator to rule out.
        schema_issues=manifest_issues(data, parsed=parsed),
    )


def load_note(
    path: Path, *, root: Path, display: str, max_bytes: int = DEFAULT_MAX_BYTES, validate: bool = True
) -> Artifact:
    """Read a notes-series file and classify it: scheduler note, lane note, or neither.

    ``validate=False`` leaves out the JSON Schema validation (a series' own checks need only
    each note's kind, number, digest and fields).
    """
    number = note_number(path.name)
    try:
        text, digest = _read_text(path, max_bytes)
    except _UndecodableError as exc:
        broken = _broken("unrecognised-note", path, root, display, f"cannot read the file: {exc}", number)
        return replace(broken, sha256=exc.digest)
    except OSError as exc:
        return _broken("unrecognised-note", path, root, display, f"cannot read the file: {_reason(exc)}", number)
    note = note_artifact(text, path=path, root=root, display=display, number=number, validate=validate)
    return replace(note, sha256=digest)


def note_artifact(
    text: str, *, path: Path, root: Path, display: str, number: int | None, validate: bool = True
) -> Artifact:
    """Classify and parse the text of a note."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = loads_json(stripped)
        except RecursionError:
            return _broken("scheduler-note", path, root, display, TOO_DEEP, number)
        except ParseError as exc:
            return _broken("scheduler-note", path, root, display, f"not strict JSON: {exc}", number)
        except json.JSONDecodeError as exc:
            return _broken(
                "scheduler-note",
                path,
                root,
                display,
                f"invalid JSON note at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                number,
            )
        return _scheduler_note(data, path, root, display, number, "JSON body", validate)
    if stripped.startswith("---"):
        front, error = _front_matter(stripped)
        if error:
            return _broken("scheduler-note", path, root, display, error, number)
        return _scheduler_note(front, path, root, display, number, "YAML front matter", validate)
    lane = _lane_fields(stripped)
    if lane is not None:
        return Artifact(kind="lane-note", path=path, root=root, display=display, data=lane, number=number)
    first = _lines(stripped)[0][:60] if stripped else "(empty file)"
    return Artifact(
        kind="unrecognised-note",
        path=path,
        root=root,
        display=display,
        number=number,
        data={"first_line": first},
    )


def _scheduler_note(
    data: Any, path: Path, root: Path, display: str, number: int | None, form: str, validate: bool = True
) -> Artifact:
    if not isinstance(data, dict):
        return _broken(
            "scheduler-note",
            path,
            root,
            display,
            f"expected the {form} to be a mapping, found {type(data).__name__}",
            number,
        )
    if _too_deep(data):
        return _broken("scheduler-note", path, root, display, TOO_DEEP, number)
    return Artifact(
        kind="scheduler-note",
        path=path,
        root=root,
        display=display,
        data=data,
        number=number,
        # Made by the strict parsers (which refuse what JSON cannot hold), and not too deep.
        schema_issues=note_issues(data, parsed=True) if validate else (),
    )


def _front_matter(text: str) -> tuple[Any, str]:
    lines = _lines(text)
    if lines[0].strip() != "---":
        return None, "front matter must open with a line holding only '---'"
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "..."))
    except StopIteration:
        return None, "front matter opened with '---' on line 1 is never closed with '---'"
    try:
        return load_front_matter("\n".join(lines[1:end])), ""
    except RecursionError:
        return None, TOO_DEEP
    except ParseError as exc:
        return None, f"refused YAML front matter: {exc}"
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 2}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        return None, f"invalid YAML front matter{where}: {problem}"


def _lane_fields(text: str) -> dict[str, Any] | None:
    lines = _lines(text)
    heading = LANE_HEADING.fullmatch(lines[0].strip()) if lines else None
    if heading is None:
        return None
    fields: dict[str, Any] = {"heading_iteration": int(heading.group(1))}
    for line in lines[1:]:
        if line.startswith("#"):
            break
        field = LANE_FIELD.fullmatch(line.strip())
        if field:
            fields.setdefault(field.group(1), field.group(2).strip())
    return fields


def _too_deep(data: Any) -> bool:
    # Level by level rather than node by node with a depth each: a fifth of the time.
    level = [data]
    for _ in range(MAX_DEPTH):
        below: list[Any] = []
        for value in level:
            if isinstance(value, dict):
                below.extend(value.values())
            elif isinstance(value, list):
                below.extend(value)
        if not below:
            return False
        level = below
    return True


def _lines(text: str) -> list[str]:
    # Not str.splitlines(): it also breaks on U+2028, U+0085 and friends, which are
    # legal inside a YAML value and would silently change it.
    return text.replace("\r\n", "\n").split("\n")


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc)


def _broken(
    kind: ArtifactKind, path: Path, root: Path, display: str, error: str, number: int | None = None
) -> Artifact:
    return Artifact(kind=kind, path=path, root=root, display=display, error=error, number=number)
