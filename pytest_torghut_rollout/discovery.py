"""Find governance artifacts under a path, classify them and parse each once.

Both layouts of READING.md section 1 are found from one path: every
``rollout/phase-manifest.json`` is a manifest, every ``notes/`` directory holding
``iteration-*`` files is a notes series, and each of its files is a note.
"""

from __future__ import annotations

import errno
import hashlib
import json
import os
import re
from collections.abc import Iterator, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from .model import Artifact, ArtifactKind
from .schema import fast_paths_enabled, manifest_issues, note_issues

MANIFEST_DIR = "rollout"
MANIFEST_NAME = "phase-manifest.json"
NOTES_DIR = "notes"
NOTE_PREFIX = "iteration-"
NOTE_NAME = re.compile(r"iteration-([1-9][0-9]*)\.md")
LANE_HEADING = re.compile(r"#\s+(?:Autonomous|Alpha) lane iteration\s+([0-9]+)\s*")
LANE_FIELD = re.compile(r"-\s+([A-Za-z_][A-Za-z0-9_]*):\s*(.*?)\s*")


#: Deeper documents are refused unchecked: no real artifact comes near, and validating one
#: would exhaust the interpreter's recursion limit.
MAX_DEPTH = 100
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels; refused unchecked"


class DiscoveryError(Exception):
    """An artifacts path that cannot be searched at all (missing, unreadable)."""


def discover(paths: Sequence[Path]) -> list[Artifact]:
    """Return every artifact under ``paths``, in a deterministic order.

    With more than one path, each artifact's display path is prefixed with a
    label for its path (the directory name, made unique), so ids never collide.
    """
    labels = _labels(paths) if len(paths) > 1 else [""] * len(paths)
    artifacts: list[Artifact] = []
    for path, label in zip(paths, labels, strict=True):
        if not path.exists():
            raise DiscoveryError(f"--torghut-artifacts path does not exist: {path}")
        artifacts.extend(_discover_one(path.absolute(), label))
    return artifacts


def artifact_trees(paths: Sequence[Path]) -> list[Path]:
    """Return the directories references may point into: the given trees."""
    return [p if p.is_dir() else _manifest_root(p) for p in (q.absolute() for q in paths)]


def _labels(paths: Sequence[Path]) -> list[str]:
    labels: list[str] = []
    for path in paths:
        base = path.absolute().name or "root"
        label, n = base, 1
        while label in labels:
            n += 1
            label = f"{base}~{n}"
        labels.append(label)
    return labels


def _display(base: Path, path: Path, label: str) -> str:
    rel = path.relative_to(base).as_posix() if path != base else path.name
    return f"{label}/{rel}" if label else rel


def _manifest_root(path: Path) -> Path:
    return path.parent.parent if path.parent.name == MANIFEST_DIR else path.parent


def _discover_one(top: Path, label: str) -> Iterator[Artifact]:
    if top.is_file():
        root = _manifest_root(top)
        yield load_manifest(top, root=root, display=_display(root, top, label))
        return
    real_top = Path(os.path.realpath(top))
    for dirpath, dirnames, filenames in os.walk(top, onerror=_raise, followlinks=False):
        dirnames[:] = sorted(d for d in dirnames if not d.startswith("."))
        here = Path(dirpath)
        if here.name == MANIFEST_DIR and MANIFEST_NAME in filenames:
            manifest = here / MANIFEST_NAME
            display = _display(top, manifest, label)
            escape = _escapes(manifest, real_top)
            if escape:
                yield _broken("manifest", manifest, here.parent, display, escape)
            else:
                yield load_manifest(manifest, root=here.parent, display=display)
        elif here.name == NOTES_DIR:
            members = sorted((f for f in filenames if f.startswith(NOTE_PREFIX)), key=_note_order)
            if members:
                yield from _load_series(here, members, _display(top, here, label), real_top)


def _raise(error: OSError) -> None:
    raise DiscoveryError(f"cannot search {error.filename}: {error.strerror}") from error


def _note_order(name: str) -> tuple[int, str]:
    digits = re.match(r"iteration-([0-9]+)", name)
    return (int(digits.group(1)) if digits else 1 << 62, name)


def note_number(name: str) -> int | None:
    """Return ``n`` of ``iteration-<n>.md``, or None when the name is malformed."""
    match = NOTE_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def _load_series(directory: Path, members: list[str], display: str, real_top: Path) -> Iterator[Artifact]:
    yield Artifact(
        kind="notes-series",
        path=directory,
        root=directory.parent,
        display=display,
        members=tuple(members),
    )
    for name in members:
        path, shown = directory / name, f"{display}/{name}"
        escape = _escapes(path, real_top)
        if escape:
            yield _broken("unrecognised-note", path, directory.parent, shown, escape, note_number(name))
        else:
            yield load_note(path, root=directory.parent, display=shown)


def _read_text(path: Path) -> tuple[str, str]:
    """The file's text and the SHA-256 of its bytes (the evidence names what was checked)."""
    if not path.is_file():
        # A FIFO or device would block or never end; only regular files are read.
        raise OSError(errno.EINVAL, "not a regular file")
    raw = path.read_bytes()
    digest = hashlib.sha256(raw).hexdigest()
    try:
        return raw.decode("utf-8").removeprefix("\ufeff"), digest
    except UnicodeDecodeError as exc:
        raise _UndecodableError(exc, digest) from exc


class _UndecodableError(Exception):
    def __init__(self, error: UnicodeDecodeError, digest: str) -> None:
        super().__init__(f"not UTF-8 text (byte {error.start})")
        self.digest = digest


def _escapes(path: Path, real_top: Path) -> str | None:
    """Why ``path`` may not be read: a symlink resolving outside the searched tree."""
    real = Path(os.path.realpath(path))
    if real.is_relative_to(real_top):
        return None
    return f"{path.name} is a symlink to {real}, outside the artifact tree; not read"


def load_manifest(path: Path, *, root: Path, display: str) -> Artifact:
    """Read and parse a phase manifest; a failure becomes the artifact's ``error``."""
    try:
        text, digest = _read_text(path)
    except _UndecodableError as exc:
        return replace(_broken("manifest", path, root, display, f"cannot read the file: {exc}"), sha256=exc.digest)
    except OSError as exc:
        return _broken("manifest", path, root, display, f"cannot read the file: {_reason(exc)}")
    return replace(_parse_manifest(text, path=path, root=root, display=display), sha256=digest)


def _parse_manifest(text: str, *, path: Path, root: Path, display: str) -> Artifact:
    try:
        data = json.loads(text)
    except RecursionError:
        return _broken("manifest", path, root, display, TOO_DEEP)
    except json.JSONDecodeError as exc:
        return _broken(
            "manifest",
            path,
            root,
            display,
            f"invalid JSON at line {exc.lineno}, column {exc.colno}: {exc.msg}",
        )
    return manifest_artifact(data, path=path, root=root, display=display)


def manifest_artifact(data: Any, *, path: Path, root: Path, display: str) -> Artifact:
    """Wrap already-parsed manifest data (the producer checks its output this way)."""
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
        schema_issues=manifest_issues(data),
    )


def load_note(path: Path, *, root: Path, display: str) -> Artifact:
    """Read a notes-series file and classify it: scheduler note, lane note, or neither."""
    number = note_number(path.name)
    try:
        text, digest = _read_text(path)
    except _UndecodableError as exc:
        broken = _broken("unrecognised-note", path, root, display, f"cannot read the file: {exc}", number)
        return replace(broken, sha256=exc.digest)
    except OSError as exc:
        return _broken("unrecognised-note", path, root, display, f"cannot read the file: {_reason(exc)}", number)
    return replace(note_artifact(text, path=path, root=root, display=display, number=number), sha256=digest)


def note_artifact(text: str, *, path: Path, root: Path, display: str, number: int | None) -> Artifact:
    """Classify and parse the text of a note."""
    stripped = text.lstrip()
    if stripped.startswith("{"):
        try:
            data = json.loads(stripped)
        except RecursionError:
            return _broken("scheduler-note", path, root, display, TOO_DEEP, number)
        except json.JSONDecodeError as exc:
            return _broken(
                "scheduler-note",
                path,
                root,
                display,
                f"invalid JSON note at line {exc.lineno}, column {exc.colno}: {exc.msg}",
                number,
            )
        return _scheduler_note(data, path, root, display, number, "JSON body")
    if stripped.startswith("---"):
        front, error = _front_matter(stripped)
        if error:
            return _broken("scheduler-note", path, root, display, error, number)
        return _scheduler_note(front, path, root, display, number, "YAML front matter")
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


def _scheduler_note(data: Any, path: Path, root: Path, display: str, number: int | None, form: str) -> Artifact:
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
        schema_issues=note_issues(data),
    )


#: The safe resolvers minus ``timestamp``: the rules check timestamps as RFC 3339 strings.
_RESOLVERS_WITHOUT_TIMESTAMPS = {
    first: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:timestamp"]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


class _NoTimestampLoader(yaml.SafeLoader):
    """Safe YAML that keeps timestamps as written: the reference parser."""

    yaml_implicit_resolvers = _RESOLVERS_WITHOUT_TIMESTAMPS


_FastNoTimestampLoader: type[yaml.CSafeLoader] | None = None
if yaml.__with_libyaml__:

    class _LibyamlNoTimestampLoader(yaml.CSafeLoader):
        """The same loader on libyaml's parser: same constructor and resolvers, ten times faster."""

        yaml_implicit_resolvers = _RESOLVERS_WITHOUT_TIMESTAMPS

    _FastNoTimestampLoader = _LibyamlNoTimestampLoader

#: Where libyaml and PyYAML's own parser are known to disagree: libyaml accepts tabs and a
#: block scalar header running into a comment (``|#``) that PyYAML refuses, reads an empty
#: scalar with the non-specific tag ``!`` as ``''`` (PyYAML: None), and treats a byte order
#: mark and NEL/LS/PS differently. Text holding any of these goes to the reference parser.
_LIBYAML_DIFFERS = re.compile("[\t\ufeff\x85\u2028\u2029!|>]")


def _load_yaml(text: str) -> Any:
    """Parse like ``_NoTimestampLoader``; through libyaml when it is known to agree on ``text``."""
    if _FastNoTimestampLoader is not None and fast_paths_enabled() and not _LIBYAML_DIFFERS.search(text):
        try:
            return yaml.load(text, Loader=_FastNoTimestampLoader)
        except yaml.YAMLError:
            pass  # The reference parser says why, in its own words and line numbers.
    return yaml.load(text, Loader=_NoTimestampLoader)


def _front_matter(text: str) -> tuple[Any, str]:
    lines = _lines(text)
    if lines[0].strip() != "---":
        return None, "front matter must open with a line holding only '---'"
    try:
        end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "..."))
    except StopIteration:
        return None, "front matter opened with '---' on line 1 is never closed with '---'"
    try:
        return _load_yaml("\n".join(lines[1:end])), ""
    except RecursionError:
        return None, TOO_DEEP
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
            fields.setdefault(field.group(1), field.group(2))
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
