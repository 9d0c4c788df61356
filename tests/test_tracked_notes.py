"""TN022: notes stay out of source control. git is asked, against real repositories made here."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from pytest_torghut_rollout.checking import vcs
from pytest_torghut_rollout.checking.rules import REGISTRY

TreeWriter = Callable[..., Path]
Git = Callable[..., "subprocess.CompletedProcess[str]"]
Commit = Callable[[Path], Path]

SERIES_ID = "notes::TN022-notes-untracked"
ITEMS = 1 + sum(len(REGISTRY.for_kind(k)) for k in ("manifest", "notes-series", "scheduler-note", "scheduler-note"))
OPT_OUT = "--torghut-allow-tracked-notes"
posix_only = pytest.mark.skipif(sys.platform == "win32", reason="the stand-in git is a shell script")


def artifacts_arg(path: Path) -> str:
    """The ``--torghut-artifacts`` option for ``path``."""
    return f"--torghut-artifacts={path}"


def failed_ids(result: pytest.RunResult) -> list[str]:
    """The node ids of the short test summary's FAILED lines, sorted."""
    return sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED "))


def test_committed_notes_fail_naming_each_file(
    pytester: pytest.Pytester, write_tree: TreeWriter, commit_notes: Commit
) -> None:
    root = commit_notes(write_tree())
    result = pytester.runpytest(artifacts_arg(root), "-v")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == [SERIES_ID]
    result.stdout.fnmatch_lines(
        [
            "TN022 notes-untracked: iteration-1.md is tracked by git",
            "  artifact: notes",
            "  at:       /iteration-1.md",
            "  expected: untracked: notes stay out of source control (git rm --cached; ignore notes/)",
            "  found:    tracked: git ls-files lists notes/iteration-1.md",
            "  -- iteration-2.md is tracked by git",
            "  at:       /iteration-2.md",
        ],
        consecutive=True,
    )


def test_a_note_staged_but_never_committed_is_tracked_too(
    pytester: pytest.Pytester, write_tree: TreeWriter, git: Git
) -> None:
    root = write_tree()
    git(root, "init", "-q")
    git(root, "add", "notes/iteration-2.md")
    result = pytester.runpytest(artifacts_arg(root))
    assert failed_ids(result) == [SERIES_ID]
    result.stdout.fnmatch_lines(["TN022 notes-untracked: iteration-2.md is tracked by git"])
    result.stdout.no_fnmatch_line("*iteration-1.md is tracked*")


def test_untracked_series_inside_a_work_tree_passes(
    pytester: pytest.Pytester, write_tree: TreeWriter, git: Git
) -> None:
    root = write_tree()
    (root / ".gitignore").write_text("notes/\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", ".gitignore", "run1")
    git(root, "commit", "-q", "-m", "Keep the runs, not the notes")
    result = pytester.runpytest(artifacts_arg(root), "-v", "-rs")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"{SERIES_ID} PASSED*"])
    result.assert_outcomes(passed=ITEMS - 1, skipped=1)  # TN023: no notes ledger


def test_series_outside_any_git_work_tree_is_not_evaluated(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), "-rs")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: not inside a git work tree"])
    result.stdout.no_fnmatch_line(f"*{SERIES_ID} PASSED*")


def test_without_git_on_path_the_rule_is_not_evaluated(
    pytester: pytest.Pytester, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(pytester.mkdir("empty-bin")))
    result = pytester.runpytest(artifacts_arg(artifacts), "-rs")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: not inside a git work tree"])
    (artifacts / ".git").mkdir()  # a work tree, and no git to ask about it
    result = pytester.runpytest(artifacts_arg(artifacts), "-rs")
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: git is not installed (not found on PATH)*"]
    )


@pytest.mark.parametrize("source", ["option", "ini"])
def test_the_opt_out_is_reported_in_the_summary_and_the_evidence(
    pytester: pytest.Pytester, write_tree: TreeWriter, commit_notes: Commit, source: str
) -> None:
    root = commit_notes(write_tree())
    args = [artifacts_arg(root), "-rs", "--torghut-evidence=evidence.json"]
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_allow_tracked_notes = true\n")
    else:
        args.append(OPT_OUT)
    result = pytester.runpytest(*args)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=ITEMS - 2, skipped=2)  # TN022 opted out, TN023 without a ledger
    result.stdout.fnmatch_lines(
        [
            f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: --torghut-allow-tracked-notes was given: notes may be "
            "tracked by git in this run (a corpus of example artifacts kept in a repository on purpose)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "Tracked notes were allowed: --torghut-allow-tracked-notes opted this run out of TN022 "
            "notes-untracked, as for a corpus of example artifacts kept in a repository on purpose.",
        ]
    )
    summary: dict[str, Any] = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert summary["options"]["allow_tracked_notes"] is True
    (opt_out,) = summary["opt_outs"]
    assert opt_out["option"] == OPT_OUT
    assert opt_out["rule"] == "TN022"
    series = next(a for a in summary["artifacts"] if a["path"] == "notes")
    check = next(c for c in series["checks"] if c["rule"] == "TN022")
    assert check["outcome"] == "not-evaluated"
    assert check["not_evaluated"].startswith("--torghut-allow-tracked-notes was given")


def test_without_the_opt_out_the_summary_says_nothing_of_it(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts))
    result.stdout.no_fnmatch_line("*Tracked notes were allowed*")


def test_git_is_asked_once_per_work_tree_and_never_outside_one(
    pytester: pytest.Pytester, write_tree: TreeWriter, git: Git, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Thousands of series must not start thousands of processes: one listing per work tree.
    root = write_tree()
    lane = root / "run1" / "notes" / "iteration-1.md"
    lane.parent.mkdir()
    lane.write_text("# Autonomous lane iteration 1\n\n- run_id: 57d5a9d770b0e86281e11ac3\n", encoding="utf-8")
    asked: list[str] = []
    real = subprocess.run

    def counting(command: list[str], **kwargs: Any) -> subprocess.CompletedProcess[bytes]:
        if "ls-files" in command:
            asked.append(command[command.index("-C") + 1])
        return real(command, **kwargs)

    monkeypatch.setattr(subprocess, "run", counting)
    result = pytester.runpytest(artifacts_arg(root), "-rs")
    assert result.ret == pytest.ExitCode.OK
    assert asked == []  # under no .git: in no work tree, and git need not say so
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] {SERIES_ID}: not evaluated: not inside a git work tree"])

    git(root, "init", "-q")
    git(root / "run1", "init", "-q")  # a repository of its own inside the first
    result = pytester.runpytest(artifacts_arg(root), "-rs")
    assert result.ret == pytest.ExitCode.OK
    assert sorted(asked) == sorted({os.path.realpath(root), os.path.realpath(root / "run1")})


def test_each_directory_is_answered_from_its_work_tree_listing(
    tmp_path: Path, write_tree: TreeWriter, git: Git
) -> None:
    root = write_tree()
    (root / "run1" / "notes").mkdir(parents=True)
    (root / "run1" / "notes" / "iteration-1.md").write_text("{}\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "notes")
    index = vcs.GitIndex()
    assert index.tracked_files(root / "notes").names == ("iteration-1.md", "iteration-2.md")
    assert index.tracked_files(root / "run1" / "notes") == vcs.TrackedFiles()
    assert index.tracked_files(root) == vcs.TrackedFiles()
    link = tmp_path / "link"
    link.symlink_to(root / "notes", target_is_directory=True)
    assert index.tracked_files(link).names == ("iteration-1.md", "iteration-2.md")  # git answers for the target
    assert vcs.GitIndex().tracked_files(tmp_path.parent) == vcs.TrackedFiles(unknown="not inside a git work tree")


# -- git's answers, with a stand-in git --------------------------------------------------------------


def _fake_git(directory: Path, script: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Put a shell script named git first and alone on PATH (the tools it runs are named in full)."""
    tools = {name: shutil.which(name) for name in ("sleep", "env")}
    (directory / ".git").mkdir()  # a work tree, or git is not asked
    git = directory / "git"
    git.write_text(f"#!/bin/sh\n{script.format(**tools)}\n", encoding="utf-8")
    git.chmod(0o755)
    monkeypatch.setenv("PATH", str(directory))


@posix_only
def test_git_that_does_not_answer_in_time_leaves_the_rule_not_evaluated(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _fake_git(tmp_path, "exec {sleep} 30", monkeypatch)
    answer = vcs.tracked_files(tmp_path, timeout=0.5)
    assert answer.names == ()
    assert answer.unknown == "git did not answer within 0.5 s: cannot tell what it tracks"


@posix_only
def test_git_refusing_the_repository_says_why(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake_git(tmp_path, "echo \"fatal: detected dubious ownership in repository at '/x'\" >&2; exit 128", monkeypatch)
    answer = vcs.tracked_files(tmp_path)
    assert (
        answer.unknown == "git could not list what it tracks: fatal: detected dubious ownership in repository at '/x'"
    )


@posix_only
def test_git_is_not_pointed_at_another_repository_by_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A run started from a git hook has GIT_DIR set; the directory's own repository must answer.
    _fake_git(tmp_path, f'{{env}} > "{tmp_path / "seen"}"', monkeypatch)
    monkeypatch.setenv("GIT_DIR", "/elsewhere/.git")
    monkeypatch.setenv("GIT_INDEX_FILE", "/elsewhere/.git/index")
    assert vcs.tracked_files(tmp_path).unknown is None
    seen = (tmp_path / "seen").read_text(encoding="utf-8").splitlines()
    assert seen
    assert not [line for line in seen if line.startswith(("GIT_DIR=", "GIT_INDEX_FILE="))]


def test_only_files_of_the_directory_itself_are_listed(tmp_path: Path, write_tree: TreeWriter, git: Git) -> None:
    root = write_tree()
    (root / "notes" / "sub").mkdir()
    (root / "notes" / "sub" / "iteration-9.md").write_text("{}\n", encoding="utf-8")
    (root / "notes" / "README.md").write_text("notes\n", encoding="utf-8")
    git(root, "init", "-q")
    git(root, "add", "notes")
    answer = vcs.tracked_files(root / "notes")
    assert answer.unknown is None
    assert answer.names == ("README.md", "iteration-1.md", "iteration-2.md")
    assert os.path.isdir(root / ".git")
