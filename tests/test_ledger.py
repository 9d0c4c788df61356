"""TN023 and the notes ledger: the file format, its chain, and the plugin keeping it (pytester)."""

from __future__ import annotations

import hashlib
import json
import shutil
from collections.abc import Callable, Sequence
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest

from pytest_torghut_rollout.checking.ledger import Entry, Ledger, LedgerError, identity, keep, line_digest, load_ledger
from pytest_torghut_rollout.checking.rules import REGISTRY

TreeWriter = Callable[..., Path]

SERIES_ID = "notes::TN023-notes-append-only"
LEDGER = "ledger.jsonl"
NOW = "2026-04-02T10:00:00+00:00"
#: Items of the conforming tree (a manifest, a series of two notes) and the discovery test.
ITEMS = 1 + sum(len(REGISTRY.for_kind(k)) for k in ("manifest", "notes-series", "scheduler-note", "scheduler-note"))
#: TN022 cannot judge a tree made here (outside any git work tree).
NOT_IN_GIT = 1


def digest(path: Path) -> str:
    """SHA-256 of a file's bytes."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def entry(series: str, n: int, sha: str = "a" * 64, kind: str = "scheduler-note") -> Entry:
    """A ledger entry for ``<series>/iteration-<n>.md``."""
    return Entry(series=series, note=f"iteration-{n}.md", kind=kind, sha256=sha)


def written(tmp_path: Path, entries: Sequence[Entry], *, tree: str = "tree") -> Path:
    """A ledger in ``tmp_path`` for the tree ``tmp_path/tree``, holding ``entries``."""
    (tmp_path / tree).mkdir(exist_ok=True)
    path = tmp_path / LEDGER
    blank = Ledger(path=path, artifacts=identity([tmp_path / tree], path))
    path.write_text(blank.render(entries, now=NOW), encoding="utf-8")
    return path


def loaded(path: Path, tree: str = "tree") -> Ledger:
    """The ledger at ``path``, loaded for the tree beside it."""
    return load_ledger(path, [path.parent / tree])


def add_note(notes: Path, n: int) -> Path:
    """Write ``iteration-<n>.md``: the series' second note, renumbered."""
    data = json.loads((notes / "iteration-2.md").read_text(encoding="utf-8"))
    data.update(iteration=n, timestamp=f"2026-04-02T09:{30 + n:02d}:00+00:00")
    path = notes / f"iteration-{n}.md"
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def rewrite(path: Path, change: Callable[[list[str]], list[str]]) -> None:
    """Edit the ledger's lines by hand (keeping the final newline)."""
    lines = path.read_text(encoding="utf-8").splitlines()
    path.write_text("\n".join(change(lines)) + "\n", encoding="utf-8")


# -- the format ----------------------------------------------------------------------------------------


def test_a_rendered_ledger_loads_back_with_its_entries_and_head(tmp_path: Path) -> None:
    entries = [entry("notes", 1), entry("notes", 2, "b" * 64), entry("run1/notes", 1, kind="lane-note")]
    path = written(tmp_path, entries)
    ledger = loaded(path)
    assert ledger.trusted
    assert ledger.exists
    assert ledger.entries == tuple(entries)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line)["type"] for line in lines] == ["header", "note", "note", "note", "seal"]
    assert json.loads(lines[0])["artifacts"] == ["tree"]
    assert all(json.loads(lines[i])["prev"] == line_digest(lines[i - 1]) for i in range(1, len(lines)))
    assert ledger.head == line_digest(lines[-1])
    assert ledger.recorded("notes") == {"iteration-1.md": entries[0], "iteration-2.md": entries[1]}


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            lambda lines: [lines[0], lines[1].replace("a" * 64, "c" * 64), *lines[2:]],
            "entry 2 (line 3) does not chain: it names *… as the digest of line 2, "
            "which is *… (edited, or lines removed)",
            id="entry-edited",
        ),
        pytest.param(
            lambda lines: [*lines[:2], lines[2].replace("b" * 64, "c" * 64), lines[3]],
            "the seal (line 4) does not chain: *",
            id="last-entry-edited",
        ),
        pytest.param(lambda lines: [lines[0], *lines[2:]], "entry 1 (line 2) does not chain: *", id="entry-removed"),
        pytest.param(
            lambda lines: lines[:-1],
            "it ends after line 3 without its seal: truncated, or edited by hand",
            id="no-seal",
        ),
        pytest.param(lambda lines: [*lines, lines[-1]], "line 5 follows the seal", id="line-after-the-seal"),
        pytest.param(
            lambda lines: [lines[0].replace('"tree"', '"other"'), *lines[1:]],
            "entry 1 (line 2) does not chain: *",
            id="header-edited",
        ),
        pytest.param(lambda lines: ["{", *lines[1:]], "line 1 is not a JSON object", id="header-not-json"),
    ],
)
def test_an_edited_or_truncated_ledger_cannot_be_trusted(
    tmp_path: Path, change: Callable[[list[str]], list[str]], problem: str
) -> None:
    path = written(tmp_path, [entry("notes", 1), entry("notes", 2, "b" * 64)])
    rewrite(path, change)
    ledger = loaded(path)
    assert not ledger.trusted
    assert ledger.problem is not None
    assert fnmatch(ledger.problem, problem), ledger.problem


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        (b"", "it is empty: truncated, or not a notes ledger"),
        (b'{"type": "header"', "it ends in the middle of line 1: truncated"),
        (b"\xff\n", "it is not UTF-8 text (byte 0)"),
        (b'{"type": "note"}\n', "line 1 is not the header of a torghut notes ledger"),
        (
            b'{"type": "header", "format": "torghut-notes-ledger/9", "artifacts": []}\n',
            "line 1 names the format 'torghut-notes-ledger/9'; this plugin reads 'torghut-notes-ledger/1'",
        ),
    ],
)
def test_a_file_that_is_no_ledger_cannot_be_trusted(tmp_path: Path, raw: bytes, problem: str) -> None:
    (tmp_path / LEDGER).write_bytes(raw)
    assert loaded(tmp_path / LEDGER).problem == problem


def test_a_ledger_cut_in_the_middle_of_a_line_is_truncated(tmp_path: Path) -> None:
    path = written(tmp_path, [entry("notes", 1)])
    path.write_bytes(path.read_bytes()[:-20])
    assert loaded(path).problem == "it ends in the middle of line 3: truncated"


def test_a_note_recorded_twice_cannot_be_trusted(tmp_path: Path) -> None:
    path = written(tmp_path, [entry("notes", 1), entry("notes", 1, "b" * 64)])
    assert loaded(path).problem == "entry 2 (line 3) records notes/iteration-1.md a second time"


def test_a_ledger_of_other_trees_is_refused(tmp_path: Path) -> None:
    path = written(tmp_path, [entry("notes", 1)])
    (tmp_path / "other").mkdir()
    with pytest.raises(LedgerError, match=r"records the notes of 'tree' \(relative to its directory\), not of 'other'"):
        load_ledger(path, [tmp_path / "other"])


def test_a_workspace_moved_as_a_whole_keeps_its_ledger(tmp_path: Path) -> None:
    (tmp_path / "ws1").mkdir()
    written(tmp_path / "ws1", [entry("notes", 1)])
    shutil.move(tmp_path / "ws1", tmp_path / "ws2")
    assert loaded(tmp_path / "ws2" / LEDGER).entries == (entry("notes", 1),)


def test_a_directory_is_no_ledger(tmp_path: Path) -> None:
    with pytest.raises(LedgerError, match="is a directory"):
        load_ledger(tmp_path, [tmp_path])


def test_only_a_series_with_scheduler_notes_is_lost_when_gone(tmp_path: Path) -> None:
    entries = [entry("notes", 1), entry("20260402T093000/notes", 1, kind="lane-note"), entry("old/notes", 1)]
    ledger = loaded(written(tmp_path, entries))
    # Retention deletes run directories, lane notes and all; never the scheduler's notes/.
    assert ledger.lost_series(["notes"]) == {"old/notes": (entries[2],)}


def test_keep_extends_only_a_passing_run_of_a_ledger_unchanged_on_disk(tmp_path: Path) -> None:
    path = written(tmp_path, [entry("notes", 1)])
    before = path.read_bytes()
    notes = {"notes/iteration-1.md": ("scheduler-note", "a" * 64), "notes/iteration-2.md": ("scheduler-note", "b" * 64)}
    failing = keep(loaded(path), passed=False, series=["notes"], notes=notes, now=NOW)
    assert (failing.status, failing.reason) == ("not extended", "the run did not pass")
    assert path.read_bytes() == before
    ledger = loaded(path)
    path.write_bytes(before + b"\n")
    moved = keep(ledger, passed=True, series=["notes"], notes=notes, now=NOW)
    assert (moved.status, moved.reason) == ("not extended", "it changed on disk during the run")
    path.write_bytes(before)
    kept = keep(loaded(path), passed=True, series=["notes"], notes=notes, now=NOW)
    assert (kept.status, kept.added, kept.total) == ("extended", 1, 2)
    assert path.read_bytes().startswith(before[: before.rindex(b'{"entries"')])
    assert loaded(path).entries == (entry("notes", 1), entry("notes", 2, "b" * 64))
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def test_keep_creates_no_ledger_when_no_series_was_checked(tmp_path: Path) -> None:
    ledger = Ledger(path=tmp_path / LEDGER, artifacts=("tree",))
    kept = keep(ledger, passed=True, series=[], notes={}, now=NOW)
    assert (kept.status, kept.reason) == ("not extended", "no notes series was checked against it (TN023 did not run)")
    assert not ledger.path.exists()


def test_keep_never_extends_a_ledger_it_cannot_trust(tmp_path: Path) -> None:
    path = written(tmp_path, [entry("notes", 1)])
    rewrite(path, lambda lines: lines[:-1])
    before = path.read_bytes()
    kept = keep(loaded(path), passed=True, series=["notes"], notes={}, now=NOW)
    assert kept.status == "not extended"
    assert kept.reason.startswith("it cannot be trusted: it ends after line 2 without its seal")
    assert path.read_bytes() == before


# -- the plugin keeps it -------------------------------------------------------------------------------


def run(pytester: pytest.Pytester, *args: str | Path, xdist: Sequence[str] = ()) -> pytest.RunResult:
    """The inner pytest in-process, or in a subprocess with xdist workers."""
    if xdist:
        return pytester.runpytest_subprocess("-p", "no:hypothesispytest", *xdist, *args)
    return pytester.runpytest(*args)


def check(pytester: pytest.Pytester, root: Path, *args: str, xdist: Sequence[str] = ()) -> pytest.RunResult:
    """Check ``root`` with the ledger ``ledger.jsonl`` beside it."""
    return run(pytester, f"--torghut-artifacts={root}", f"--torghut-notes-ledger={LEDGER}", *args, xdist=xdist)


def failed_ids(result: pytest.RunResult) -> list[str]:
    """The node ids of the short test summary's FAILED lines, sorted."""
    return sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))


@pytest.fixture
def recorded(pytester: pytest.Pytester, artifacts: Path) -> Path:
    """The conforming tree, after a first passing run recorded its two notes; returns the tree."""
    result = check(pytester, artifacts)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    return artifacts


def test_without_a_ledger_the_rule_is_not_evaluated(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(f"--torghut-artifacts={artifacts}", "-rs")
    result.stdout.fnmatch_lines(
        [f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: no notes ledger was given (--torghut-notes-ledger=FILE)*"]
    )
    assert not (pytester.path / LEDGER).exists()


def test_a_passing_run_creates_the_ledger_and_the_next_records_new_notes(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    ledger = pytester.path / LEDGER
    first = check(pytester, artifacts, "-rs", xdist=xdist_args)
    assert first.ret == pytest.ExitCode.OK
    first.assert_outcomes(passed=ITEMS - NOT_IN_GIT - 1, skipped=NOT_IN_GIT + 1)
    first.stdout.fnmatch_lines(
        [
            f"Notes ledger {ledger} created with 2 notes.",
            f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: the notes ledger ledger.jsonl does not exist yet; "
            "a passing run creates it",
        ]
    )
    # Had a worker written it as well, the controller would have found it changed under it
    # and refused ("not extended: it appeared during the run"): one writer, the controller.
    notes = artifacts / "notes"
    assert loaded(ledger, "artifacts").entries == tuple(
        Entry(
            series="notes", note=f"iteration-{n}.md", kind="scheduler-note", sha256=digest(notes / f"iteration-{n}.md")
        )
        for n in (1, 2)
    )
    assert sorted(p.name for p in pytester.path.iterdir() if LEDGER in p.name) == [LEDGER]
    before = ledger.read_bytes()

    add_note(notes, 3)
    second = check(pytester, artifacts, "-v", xdist=xdist_args)
    assert second.ret == pytest.ExitCode.OK
    assert any(SERIES_ID in line and "PASSED" in line for line in second.outlines)
    second.stdout.fnmatch_lines([f"Notes ledger {ledger} extended with 1 new note (3 recorded)."])
    after = loaded(ledger, "artifacts")
    assert [e.note for e in after.entries] == ["iteration-1.md", "iteration-2.md", "iteration-3.md"]
    # Appended: the earlier lines stay as they were, only the seal moves.
    assert ledger.read_bytes().startswith(before.rsplit(b"\n", 2)[0])

    third = check(pytester, artifacts, xdist=xdist_args)
    third.stdout.fnmatch_lines([f"Notes ledger {ledger} unchanged: no new notes (3 recorded)."])


def test_a_changed_note_fails_naming_both_digests_and_the_ledger_stays(
    pytester: pytest.Pytester, recorded: Path
) -> None:
    note = recorded / "notes" / "iteration-1.md"
    was = digest(note)
    note.write_text(note.read_text(encoding="utf-8").replace("no_signals_in_window", "reworded"), encoding="utf-8")
    before = (pytester.path / LEDGER).read_bytes()
    result = check(pytester, recorded)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == [SERIES_ID]
    result.stdout.fnmatch_lines(
        [
            "TN023 notes-append-only: iteration-1.md changed after the ledger recorded it",
            "  artifact: notes",
            "  at:       /iteration-1.md",
            f"  expected: sha256 {was} (recorded)",
            f"  found:    sha256 {digest(note)}",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines([f"Notes ledger {pytester.path / LEDGER} not extended: the run did not pass."])
    assert (pytester.path / LEDGER).read_bytes() == before


def test_a_removed_note_fails(pytester: pytest.Pytester, recorded: Path) -> None:
    note = recorded / "notes" / "iteration-2.md"
    was = digest(note)
    note.unlink()
    result = check(pytester, recorded)
    assert failed_ids(result) == [SERIES_ID]
    result.stdout.fnmatch_lines(
        [
            "TN023 notes-append-only: iteration-2.md was removed after the ledger recorded it",
            "  artifact: notes",
            "  at:       /iteration-2.md",
            f"  expected: sha256 {was} (recorded)",
            "  found:    no such file",
        ],
        consecutive=True,
    )


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        pytest.param(
            lambda lines: [lines[0], lines[1].replace('"n": 1', '"n": 1 '), *lines[2:]],
            "entry 2 (line 3) does not chain: *",
            id="edited",
        ),
        pytest.param(
            lambda lines: lines[:-2],
            "it ends after line 2 without its seal: truncated, or edited by hand",
            id="truncated",
        ),
    ],
)
def test_an_edited_or_truncated_ledger_fails_and_is_never_extended(
    pytester: pytest.Pytester, recorded: Path, change: Callable[[list[str]], list[str]], problem: str
) -> None:
    ledger = pytester.path / LEDGER
    rewrite(ledger, change)
    before = ledger.read_bytes()
    add_note(recorded / "notes", 3)
    result = check(pytester, recorded)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == [SERIES_ID]
    result.stdout.fnmatch_lines(
        [
            f"TN023 notes-append-only: the notes ledger ledger.jsonl cannot be trusted: {problem}",
            "  artifact: notes",
            "  at:       (whole artifact)",
            "  expected: an intact ledger: every line names the digest of the line before it, the seal comes last",
            f"  found:    {ledger}",
        ],
        consecutive=True,
    )
    result.stdout.fnmatch_lines(
        [f"Notes ledger {ledger} not extended: it cannot be trusted: {problem}; restore it from a copy you trust."]
    )
    assert ledger.read_bytes() == before


def test_a_failing_run_does_not_extend_the_ledger(pytester: pytest.Pytester, recorded: Path) -> None:
    ledger = pytester.path / LEDGER
    before = ledger.read_bytes()
    add_note(recorded / "notes", 3)
    add_note(recorded / "notes", 5)  # a gap: TN021 fails
    result = check(pytester, recorded)
    assert failed_ids(result) == ["notes::TN021-notes-contiguous"]
    result.stdout.fnmatch_lines([f"Notes ledger {ledger} not extended: the run did not pass."])
    assert ledger.read_bytes() == before


def test_a_run_that_deselects_the_rule_records_nothing(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = check(pytester, artifacts, "-k", "TM012")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            f"Notes ledger {pytester.path / LEDGER} not created: "
            "no notes series was checked against it (TN023 did not run)."
        ]
    )
    assert not (pytester.path / LEDGER).exists()


def test_a_first_failing_run_creates_no_ledger(pytester: pytest.Pytester, artifacts: Path) -> None:
    add_note(artifacts / "notes", 4)
    result = check(pytester, artifacts)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines([f"Notes ledger {pytester.path / LEDGER} not created: the run did not pass."])
    assert not (pytester.path / LEDGER).exists()


def test_one_ledger_holds_the_series_of_several_trees(pytester: pytest.Pytester, write_tree: TreeWriter) -> None:
    first, second = write_tree("a/artifacts"), write_tree("b/artifacts")
    args = [f"--torghut-artifacts={first}", f"--torghut-artifacts={second}", f"--torghut-notes-ledger={LEDGER}"]
    assert pytester.runpytest(*args).ret == pytest.ExitCode.OK
    ledger = load_ledger(pytester.path / LEDGER, [first, second])
    assert ledger.artifacts == ("a/artifacts", "b/artifacts")
    assert sorted({e.series for e in ledger.entries}) == ["artifacts/notes", "artifacts~2/notes"]
    (second / "notes" / "iteration-2.md").write_text("{}\n", encoding="utf-8")
    result = pytester.runpytest(*args)
    assert "FAILED artifacts~2/notes::TN023-notes-append-only" in result.stdout.str()
    assert "FAILED artifacts/notes::TN023-notes-append-only" not in result.stdout.str()


def test_the_ledger_of_other_trees_is_a_usage_error(pytester: pytest.Pytester, write_tree: TreeWriter) -> None:
    first, second = write_tree("first"), write_tree("second")
    assert check(pytester, first).ret == pytest.ExitCode.OK
    result = check(pytester, second)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            f"*torghut: the notes ledger {pytester.path / LEDGER} records the notes of 'first' (relative to its "
            "directory), not of 'second'; give the ledger of these trees, or a new file to start one"
        ]
    )


def test_a_single_file_with_a_ledger_is_a_usage_error(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = check(pytester, artifacts / "notes" / "iteration-1.md")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*the notes ledger records whole notes series; give directories as*"])


def test_a_recorded_series_that_is_gone_fails_discovery(pytester: pytest.Pytester, recorded: Path) -> None:
    shutil.rmtree(recorded / "notes")
    result = check(pytester, recorded)
    assert failed_ids(result) == ["torghut::discovery"]
    result.stdout.fnmatch_lines(
        [
            "discovery: 1 notes series the ledger recorded is gone: notes (2 notes recorded)",
            f"  under:    {recorded}",
            f"  ledger:   {pytester.path / LEDGER}",
        ],
        consecutive=True,
    )


def test_a_run_pruned_with_its_lane_notes_is_not_a_lost_series(pytester: pytest.Pytester, artifacts: Path) -> None:
    lane = artifacts / "run2" / "notes" / "iteration-1.md"
    lane.parent.mkdir(parents=True)
    lane.write_text("# Autonomous lane iteration 1\n\n- run_id: 57d5a9d770b0e86281e11ac3\n", encoding="utf-8")
    assert check(pytester, artifacts).ret == pytest.ExitCode.OK
    assert {e.series for e in loaded(pytester.path / LEDGER, "artifacts").entries} == {"notes", "run2/notes"}
    shutil.rmtree(artifacts / "run2")  # retention
    result = check(pytester, artifacts)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]


@pytest.mark.parametrize("source", ["option", "ini"])
def test_the_evidence_records_the_ledger(pytester: pytest.Pytester, artifacts: Path, source: str) -> None:
    args = [f"--torghut-artifacts={artifacts}", "--torghut-evidence=evidence.json"]
    if source == "ini":
        pytester.makeini(f"[pytest]\ntorghut_notes_ledger = {LEDGER}\n")
    else:
        args.append(f"--torghut-notes-ledger={LEDGER}")
    assert pytester.runpytest(*args).ret == pytest.ExitCode.OK
    summary: dict[str, Any] = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    ledger = pytester.path / LEDGER
    assert summary["options"]["notes_ledger"] == str(ledger)
    last = ledger.read_text(encoding="utf-8").splitlines()[-1]
    assert summary["notes_ledger"] == {
        "path": str(ledger),
        "status": "created",
        "added": 2,
        "entries": 2,
        "reason": "",
        "head_sha256": line_digest(last),
    }


def test_the_ini_ledger_is_relative_to_the_ini_file(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_artifacts = artifacts\ntorghut_notes_ledger = ci/ledger.jsonl\n")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(pytester.mkdir("elsewhere"))
        result = pytester.runpytest(f"--rootdir={pytester.path}", f"-c={pytester.path / 'tox.ini'}")
    assert result.ret == pytest.ExitCode.OK
    assert loaded(pytester.path / "ci" / "ledger.jsonl", "../artifacts").artifacts == ("../artifacts",)
