"""Build the fixture corpus's case trees from their specs: one place per fact.

The golden trees (``fixtures/valid/``, ``fixtures/valid-absolute/``) are written by hand. Every
other case is a spec, ``fixtures/cases/<RULE>/<slug>.json`` or
``fixtures/cases/conforming/<slug>.json``: its ``case.json`` facts, a ``base`` (a directory
of a golden tree; none starts from an empty tree), optionally ``only`` (the base's paths to
take) and ``edits``, applied in order. This module writes each case's tree,
``fixtures/invalid/<RULE>/<slug>/`` or ``fixtures/conforming/<slug>/``, with its ``case.json``,
and tells whether the committed trees are the built ones::

    python -m pytest_torghut_rollout.testing.fixtures build   # write the trees
    python -m pytest_torghut_rollout.testing.fixtures check   # exit 1 naming every stale file

An edit is one of::

    {"file": F, "patch": [RFC 6902 operations]}     JSON in the golden's format, rewritten alike
    {"file": F, "replace": OLD, "with": NEW}        text; OLD occurs exactly "count" times (1)
    {"file": F, "write": TEXT}                      a file's whole text (or "write_base64": bytes)
    {"file": F, "truncate": N}                      the file's first N bytes, N smaller than its size
    {"delete": P}                                   a file or directory of the case
    {"copy": GOLDEN, "to": P}                       a file or directory of a golden tree
    {"move": P, "to": Q}                            a file or directory of the case
"""

from __future__ import annotations

import argparse
import base64
import binascii
import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from pytest_torghut_rollout.testing.jsonpatch import PatchError, apply_patch

__all__ = ["BuildError", "Case", "build", "build_case", "dump_json", "load_cases", "main", "stale_files", "write_trees"]

#: Hand-written trees, relative to the fixtures directory: the only bases and copy sources.
GOLDEN = ("valid", "valid-absolute")
#: Built trees, relative to the fixtures directory: written by ``build``, never by hand.
BUILT = ("invalid", "conforming")
CASES = "cases"
CONFORMING = "conforming"
CASE_JSON = "case.json"
FACT_KEYS = ("description", "rule", "fails", "not_evaluated", "options")
BUILD_KEYS = ("base", "only", "edits")
ACTIONS = ("patch", "replace", "write", "write_base64", "truncate", "delete", "copy", "move")

Tree = dict[str, bytes]


class BuildError(Exception):
    """A spec that cannot be built, naming its file, the edit and what went wrong."""


@dataclass(frozen=True, kw_only=True)
class Case:
    """One spec file and the tree it describes."""

    spec_path: Path
    #: Where the built tree goes, relative to the fixtures directory.
    target: PurePosixPath
    facts: dict[str, Any]
    #: A directory of a golden tree the case starts from; ``None`` starts from nothing.
    base: str | None
    #: The base's files and directories to take; ``None`` takes all of it.
    only: tuple[str, ...] | None
    edits: tuple[Mapping[str, Any], ...]


def dump_json(value: Any) -> bytes:
    """JSON the way the golden trees are written: two-space indent, a trailing newline."""
    return (json.dumps(value, indent=2, ensure_ascii=False) + "\n").encode("utf-8")


def _golden(path: str) -> bool:
    return any(path == g or path.startswith(f"{g}/") for g in GOLDEN)


def _relative(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise BuildError(f"{where}: expected a relative path, found {value!r}")
    path = PurePosixPath(value)
    if path.is_absolute() or "\\" in value or any(part in ("", ".", "..") for part in value.split("/")):
        raise BuildError(f"{where}: expected a relative path without '.', '..' or '\\', found {value!r}")
    return value


def _load_case(spec_path: Path, cases_dir: Path) -> Case:
    name = spec_path.relative_to(cases_dir).as_posix()
    try:
        spec = json.loads(spec_path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise BuildError(f"{spec_path}: cannot read the spec: {error}") from None
    if not isinstance(spec, dict):
        raise BuildError(f"{spec_path}: expected a JSON object, found {type(spec).__name__}")
    unknown = set(spec) - {*FACT_KEYS, *BUILD_KEYS}
    if unknown:
        raise BuildError(f"{spec_path}: unknown keys {sorted(unknown)}; expected {[*FACT_KEYS, *BUILD_KEYS]}")
    group, slug = name.removesuffix(".json").split("/", 1) if "/" in name else ("", name)
    if not group or "/" in slug or slug in (".", ".."):
        raise BuildError(f"{spec_path}: expected {CASES}/<RULE>/<slug>.json or {CASES}/{CONFORMING}/<slug>.json")
    target = PurePosixPath(CONFORMING, slug) if group == CONFORMING else PurePosixPath("invalid", group, slug)
    base = spec.get("base")
    if base is not None and (not isinstance(base, str) or not _golden(base)):
        raise BuildError(f"{spec_path}: /base: expected a directory of {' or '.join(GOLDEN)}, found {base!r}")
    only = spec.get("only")
    if base is None and only is not None:
        raise BuildError(f"{spec_path}: /only: names paths of a base, and the spec has no base")
    edits = spec.get("edits", [])
    if not isinstance(only, list | None) or not isinstance(edits, list):
        raise BuildError(f"{spec_path}: /only and /edits are JSON arrays")
    return Case(
        spec_path=spec_path,
        target=target,
        facts={k: v for k, v in spec.items() if k in FACT_KEYS},
        base=None if base is None else _relative(base, f"{spec_path}: /base"),
        only=None if only is None else tuple(_relative(p, f"{spec_path}: /only/{i}") for i, p in enumerate(only)),
        edits=tuple(edits),
    )


def load_cases(fixtures: Path) -> list[Case]:
    """Every spec under ``fixtures/cases/``, sorted by path."""
    cases_dir = fixtures / CASES
    if not cases_dir.is_dir():
        raise BuildError(f"{cases_dir}: no such directory; expected the fixtures directory holding {CASES}/")
    return [_load_case(p, cases_dir) for p in sorted(cases_dir.rglob("*.json"))]


def _read_tree(root: Path) -> Tree:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _under(tree: Tree, path: str) -> list[str]:
    return [name for name in tree if name == path or name.startswith(f"{path}/")]


def _file(tree: Tree, path: str, where: str) -> bytes:
    if path not in tree:
        raise BuildError(f"{where}: no file {path!r} in the case (it has {sorted(tree)})")
    return tree[path]


def _text(data: bytes, where: str) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as error:
        raise BuildError(f"{where}: not UTF-8 text ({error}); use write_base64") from None


def _patch(tree: Tree, path: str, patch: Any, where: str) -> None:
    data = _file(tree, path, where)
    try:
        document = json.loads(_text(data, where))
    except json.JSONDecodeError as error:
        raise BuildError(f"{where}: {path} is not JSON ({error}); use text edits") from None
    if dump_json(document) != data:
        raise BuildError(f"{where}: {path} is not written as the goldens are (two-space indent, final newline)")
    try:
        tree[path] = dump_json(apply_patch(document, patch))
    except PatchError as error:
        raise BuildError(f"{where}: {error}") from None


def _replace(tree: Tree, path: str, edit: Mapping[str, Any], where: str) -> None:
    old, new, count = edit["replace"], edit.get("with"), edit.get("count", 1)
    if not isinstance(old, str) or not old or not isinstance(new, str):
        raise BuildError(f"{where}: 'replace' and 'with' are strings, 'replace' not empty")
    text = _text(_file(tree, path, where), where)
    found = text.count(old)
    if found != count:
        raise BuildError(f"{where}: expected {count} occurrence(s) of {old!r} in {path}, found {found}")
    tree[path] = text.replace(old, new).encode("utf-8")


def _write(tree: Tree, path: str, edit: Mapping[str, Any], where: str) -> None:
    if "write" in edit:
        if not isinstance(edit["write"], str):
            raise BuildError(f"{where}: 'write' is the file's text, a string")
        tree[path] = edit["write"].encode("utf-8")
        return
    try:
        tree[path] = base64.b64decode(edit["write_base64"], validate=True)
    except (binascii.Error, TypeError, ValueError) as error:
        raise BuildError(f"{where}: 'write_base64' is not base64: {error}") from None


def _truncate(tree: Tree, path: str, size: Any, where: str) -> None:
    data = _file(tree, path, where)
    if not isinstance(size, int) or isinstance(size, bool) or not 0 <= size < len(data):
        raise BuildError(f"{where}: expected a byte count below the file's {len(data)}, found {size!r}")
    tree[path] = data[:size]


def _copy(tree: Tree, fixtures: Path, source: str, to: str, where: str) -> None:
    if not _golden(source):
        raise BuildError(f"{where}: copies come from {' or '.join(GOLDEN)}, not {source!r}")
    if _under(tree, to):
        raise BuildError(f"{where}: {to!r} already exists in the case")
    origin = fixtures / source
    if origin.is_file():
        tree[to] = origin.read_bytes()
    elif origin.is_dir():
        tree.update({f"{to}/{name}": data for name, data in _read_tree(origin).items()})
    else:
        raise BuildError(f"{where}: no file or directory {source!r} under {fixtures}")


def _move(tree: Tree, source: str, to: str, where: str) -> None:
    names = _under(tree, source)
    if not names:
        raise BuildError(f"{where}: no file or directory {source!r} in the case")
    if _under(tree, to):
        raise BuildError(f"{where}: {to!r} already exists in the case")
    for name in names:
        tree[to + name[len(source) :]] = tree.pop(name)


def _apply_edit(tree: Tree, fixtures: Path, edit: Any, where: str) -> None:
    if not isinstance(edit, Mapping):
        raise BuildError(f"{where}: an edit is a JSON object")
    actions = [a for a in ACTIONS if a in edit]
    if len(actions) != 1:
        raise BuildError(f"{where}: expected exactly one of {list(ACTIONS)}, found {actions}")
    action = actions[0]
    if action in ("delete", "copy", "move"):
        subject = _relative(edit[action], f"{where}: /{action}")
        if action == "delete":
            names = _under(tree, subject)
            if not names:
                raise BuildError(f"{where}: no file or directory {subject!r} in the case to delete")
            for name in names:
                del tree[name]
            return
        to = _relative(edit.get("to"), f"{where}: /to")
        (_copy(tree, fixtures, subject, to, where) if action == "copy" else _move(tree, subject, to, where))
        return
    path = _relative(edit.get("file"), f"{where}: /file")
    where = f"{where} ({action} {path})"
    if action == "patch":
        _patch(tree, path, edit["patch"], where)
    elif action == "replace":
        _replace(tree, path, edit, where)
    elif action == "truncate":
        _truncate(tree, path, edit["truncate"], where)
    else:
        _write(tree, path, edit, where)


def build_case(case: Case, fixtures: Path) -> Tree:
    """The files of one case's tree, ``case.json`` included, by path relative to the case."""
    tree: Tree = {}
    if case.base is not None:
        base = fixtures / case.base
        if not base.is_dir():
            raise BuildError(f"{case.spec_path}: /base: no directory {case.base!r} under {fixtures}")
        tree = _read_tree(base)
    if case.only is not None:
        missing = [p for p in case.only if not _under(tree, p)]
        if missing:
            raise BuildError(f"{case.spec_path}: /only: not in {case.base}: {missing}")
        taken = {name for p in case.only for name in _under(tree, p)}
        tree = {name: data for name, data in tree.items() if name in taken}
    for index, edit in enumerate(case.edits):
        _apply_edit(tree, fixtures, edit, f"{case.spec_path}: edits[{index}]")
    if CASE_JSON in tree:
        raise BuildError(f"{case.spec_path}: the tree may not hold its own {CASE_JSON}; its facts are the spec's")
    tree[CASE_JSON] = dump_json(case.facts)
    return tree


def build(fixtures: Path) -> Tree:
    """Every built file, by path relative to ``fixtures``."""
    built: Tree = {}
    for case in load_cases(fixtures):
        built.update({f"{case.target}/{name}": data for name, data in build_case(case, fixtures).items()})
    return built


def _committed(fixtures: Path) -> Tree:
    committed: Tree = {}
    for top in BUILT:
        if (fixtures / top).is_dir():
            committed.update({f"{top}/{n}": d for n, d in _read_tree(fixtures / top).items()})
    return committed


def stale_files(fixtures: Path) -> list[str]:
    """Each difference between the committed trees and a fresh build, as a sentence; none when current."""
    built, committed = build(fixtures), _committed(fixtures)
    problems = [f"{name}: missing (built, not committed)" for name in sorted(built.keys() - committed.keys())]
    problems += [f"{name}: not built by any spec" for name in sorted(committed.keys() - built.keys())]
    problems += [
        f"{name}: differs from its build"
        for name in sorted(built.keys() & committed.keys())
        if committed[name] != built[name]
    ]
    return problems


def write_trees(fixtures: Path, built: Tree | None = None) -> list[str]:
    """Make the built trees on disk exactly ``built`` (default: a fresh build); the paths changed."""
    built = build(fixtures) if built is None else built
    committed = _committed(fixtures)
    changed = []
    for name in sorted(committed.keys() - built.keys()):
        (fixtures / name).unlink()
        changed.append(name)
    for name, data in sorted(built.items()):
        if committed.get(name) != data:
            (fixtures / name).parent.mkdir(parents=True, exist_ok=True)
            (fixtures / name).write_bytes(data)
            changed.append(name)
    for top in BUILT:
        for directory in sorted((fixtures / top).rglob("*"), key=lambda p: len(p.parts), reverse=True):
            if directory.is_dir() and not any(directory.iterdir()):
                directory.rmdir()
    return changed


def _print(lines: Iterable[str], stream: Any) -> None:
    for line in lines:
        print(line, file=stream)


def main(argv: Sequence[str] | None = None) -> int:
    """``build`` or ``check`` the case trees; 0 when done or current, 1 when stale or a spec fails."""
    parser = argparse.ArgumentParser(
        prog="python -m pytest_torghut_rollout.testing.fixtures",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "command", choices=("build", "check"), help="write the case trees, or compare them with a build"
    )
    parser.add_argument(
        "--fixtures", type=Path, default=Path("fixtures"), help="the fixtures directory (default: ./fixtures)"
    )
    args = parser.parse_args(argv)
    fixtures: Path = args.fixtures
    try:
        if args.command == "build":
            changed = write_trees(fixtures)
            _print([f"wrote {fixtures / name}" for name in changed], sys.stdout)
            print(f"{len(changed)} file(s) changed under {fixtures}.")
            return 0
        problems = stale_files(fixtures)
    except BuildError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    if problems:
        _print(problems, sys.stderr)
        print(f"{len(problems)} stale file(s) under {fixtures}; run: {parser.prog} build", file=sys.stderr)
        return 1
    print(f"The case trees under {fixtures} are the built ones.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
