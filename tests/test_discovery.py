"""Unit tests of note classification and parsing in discovery."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_torghut_rollout.checking.discovery import load_manifest, load_note, note_artifact
from pytest_torghut_rollout.checking.paths import Resolver
from pytest_torghut_rollout.checking.rules import CheckContext
from pytest_torghut_rollout.contract.layout import note_number

ROOT = Path("/artifacts")


def _note(text: str) -> tuple[str, object]:
    artifact = note_artifact(text, path=ROOT / "notes" / "iteration-1.md", root=ROOT, display="n", number=1)
    return artifact.kind, artifact.data if artifact.error is None else artifact.error


def test_front_matter_keeps_line_separator_characters_inside_values() -> None:
    kind, data = _note('---\nstatus: lane_completed\nreason: "a\u2028b"\n---\nbody\n')
    assert kind == "scheduler-note"
    assert isinstance(data, dict)
    assert data["reason"] == "a\u2028b"


def test_front_matter_with_windows_line_endings_is_a_scheduler_note() -> None:
    kind, data = _note("---\r\nstatus: blocked_no_signal\r\nreason: r\r\n---\r\nbody\r\n")
    assert kind == "scheduler-note"
    assert data == {"status": "blocked_no_signal", "reason": "r"}


def test_front_matter_timestamps_stay_strings_for_the_rfc3339_check() -> None:
    _, data = _note("---\ntimestamp: 2026-04-02T09:30:00+00:00\n---\n")
    assert data == {"timestamp": "2026-04-02T09:30:00+00:00"}


def test_json_note_with_a_byte_order_mark_is_parsed(tmp_path: Path) -> None:
    path = tmp_path / "notes" / "iteration-1.md"
    path.parent.mkdir()
    path.write_bytes(b'\xef\xbb\xbf{"status": "lane_completed"}')
    artifact = load_note(path, root=tmp_path, display="notes/iteration-1.md")
    assert artifact.kind == "scheduler-note"
    assert artifact.data == {"status": "lane_completed"}


@pytest.mark.parametrize(
    ("heading", "n"), [("# Autonomous lane iteration 3", 3), ("# Alpha lane iteration 12", 12)], ids=["lane", "alpha"]
)
def test_lane_stage_notes_are_recognised_by_their_heading(heading: str, n: int) -> None:
    kind, data = _note(f"{heading}\n\n- run_id: abc\n- base: main\n\n## Stage progression\n\n- run_id: later\n")
    assert kind == "lane-note"
    assert data == {"heading_iteration": n, "run_id": "abc", "base": "main"}


def test_a_note_of_neither_kind_is_unrecognised_and_shows_its_first_line() -> None:
    kind, data = _note("just some text\nmore\n")
    assert kind == "unrecognised-note"
    assert data == {"first_line": "just some text"}


def test_unclosed_front_matter_is_a_parse_error_naming_the_line() -> None:
    kind, error = _note("---\nstatus: lane_completed\n")
    assert kind == "scheduler-note"
    assert error == "front matter opened with '---' on line 1 is never closed with '---'"


@pytest.mark.parametrize(
    ("name", "n"),
    [
        ("iteration-1.md", 1),
        ("iteration-400.md", 400),
        ("iteration-01.md", None),
        ("iteration-0.md", None),
        ("iteration-1.json", None),
        ("iteration-x.md", None),
    ],
)
def test_note_numbers_are_positive_without_leading_zeros(name: str, n: int | None) -> None:
    assert note_number(name) == n


def test_a_manifest_nested_deeper_than_the_limit_is_refused_unchecked(tmp_path: Path) -> None:
    path = tmp_path / "rollout" / "phase-manifest.json"
    path.parent.mkdir()
    path.write_text('{"observation_summary": ' + '{"a": ' * 150 + "1" + "}" * 151, encoding="utf-8")
    artifact = load_manifest(path, root=tmp_path, display="rollout/phase-manifest.json")
    assert artifact.error == "nested deeper than 100 levels; refused unchecked"
    assert artifact.schema_issues == ()


def test_a_manifest_at_the_depth_limit_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "rollout" / "phase-manifest.json"
    path.parent.mkdir()
    path.write_text('{"observation_summary": ' + '{"a": ' * 98 + "1" + "}" * 99, encoding="utf-8")
    artifact = load_manifest(path, root=tmp_path, display="rollout/phase-manifest.json")
    assert artifact.error is None
    assert any(issue.keyword == "required" for issue in artifact.schema_issues)


def test_a_fifo_named_like_a_manifest_is_refused_without_blocking(tmp_path: Path) -> None:
    path = tmp_path / "rollout" / "phase-manifest.json"
    path.parent.mkdir()
    os.mkfifo(path)
    artifact = load_manifest(path, root=tmp_path, display="rollout/phase-manifest.json")
    assert artifact.error == "cannot read the file: phase-manifest.json is a FIFO, not a regular file"


def test_the_check_context_reuses_a_manifest_discovery_parsed(tmp_path: Path) -> None:
    path = tmp_path / "rollout" / "phase-manifest.json"
    path.parent.mkdir()
    path.write_text('{"run_id": "r1"}', encoding="utf-8")
    artifact = load_manifest(path, root=tmp_path, display="rollout/phase-manifest.json")
    context = CheckContext(resolver=Resolver([tmp_path]))
    context.remember(artifact)
    path.write_text('{"run_id": "changed on disk"}', encoding="utf-8")
    _, data = context.read_json("rollout/../rollout/phase-manifest.json", tmp_path)
    assert data == {"run_id": "r1"}
