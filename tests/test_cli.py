"""The ``torghut-rollout`` command line: produce, schema, rules; parse -> build -> run -> exit code."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest

from pytest_torghut_rollout.catalogue import SCHEMA_FILES, render_catalogue, render_schema
from pytest_torghut_rollout.checking.discovery import discover
from pytest_torghut_rollout.checking.model import CHECK_REFS
from pytest_torghut_rollout.checking.paths import PathMapping
from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE, ProduceCommand, main, parse
from pytest_torghut_rollout.contract.models import manifest_schema
from pytest_torghut_rollout.producer import findings_in_tree

STAMP = "2026-04-02T09:30:00.218734+00:00"


def _tree_bytes(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_produce_parses_flags_into_a_plain_command() -> None:
    fixed = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
    command = parse(["produce", "--out", "x", "--rollback", "--stage", "drift-gate=skipped"], now=lambda: fixed)
    assert isinstance(command, ProduceCommand)
    assert command.spec.timestamp == fixed
    assert command.spec.rollback_triggered is True
    assert command.spec.drift_status == "drift_detected"
    assert command.spec.stage_statuses == {"drift-gate": "skipped"}
    assert command.spec.candidate_id == f"cand-{command.spec.run_id[:12]}"
    again = parse(["produce", "--out", "x"], now=lambda: fixed)
    assert isinstance(again, ProduceCommand)
    assert again.spec.run_id == command.spec.run_id


def test_produce_writes_a_conforming_run_and_lists_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["produce", "--out", str(tmp_path), "--timestamp", STAMP, "--rollback"]) == EXIT_OK
    out = capsys.readouterr().out.splitlines()
    assert out == ["20260402T093000/rollout/phase-manifest.json", "notes/iteration-1.md"]
    manifest = json.loads((tmp_path / out[0]).read_text())
    assert manifest["status"] == "fail"
    assert manifest["rollback_proof"]["status"] == "pass"
    assert findings_in_tree([tmp_path], opt_ins=(CHECK_REFS.key,)) == {}


def test_the_plugin_passes_a_produced_tree(tmp_path: Path, pytester: pytest.Pytester) -> None:
    root = pytester.path / "produced"
    for minute, extra in ((30, []), (35, ["--outcome", "blocked_no_signal"]), (40, ["--target", "live", "--no-patch"])):
        args = ["produce", "--out", str(root), "--timestamp", f"2026-04-02T09:{minute}:00Z", *extra]
        assert main(args) == EXIT_OK
    result = pytester.runpytest(f"--torghut-artifacts={root}", "--torghut-check-refs", "--torghut-strict")
    passed = result.parseoutcomes()["passed"]
    # Only TN022 (no git work tree) and TN023 (no notes ledger) of each series cannot judge.
    series = sum(1 for a in discover([root]) if a.kind == "notes-series")
    result.assert_outcomes(passed=passed, skipped=2 * series)
    assert passed > 3 * 9
    assert result.ret == pytest.ExitCode.OK


def test_produce_from_an_input_file_matches_the_same_flags(tmp_path: Path) -> None:
    spec = {"timestamp": STAMP, "target": "live", "trace_id": "3eb9d990", "patch": False, "signal_count": 3}
    (tmp_path / "cycle.json").write_text(json.dumps(spec))
    assert main(["produce", "--out", str(tmp_path / "a"), "--input", str(tmp_path / "cycle.json")]) == EXIT_OK
    flags = ["--timestamp", STAMP, "--target", "live", "--trace-id", "3eb9d990", "--no-patch", "--signals", "3"]
    assert main(["produce", "--out", str(tmp_path / "b"), *flags]) == EXIT_OK
    assert _tree_bytes(tmp_path / "a") == _tree_bytes(tmp_path / "b")
    assert "live" in (tmp_path / "a" / "notes" / "iteration-1.md").read_text()


def test_flags_override_the_input_file(tmp_path: Path) -> None:
    (tmp_path / "cycle.json").write_text(json.dumps({"timestamp": STAMP, "outcome": "lane_completed"}))
    args = ["produce", "--out", str(tmp_path / "t"), "--input", str(tmp_path / "cycle.json")]
    assert main([*args, "--outcome", "blocked_no_signal"]) == EXIT_OK
    assert not list((tmp_path / "t").glob("*/rollout"))
    assert "blocked_no_signal" in (tmp_path / "t" / "notes" / "iteration-1.md").read_text()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ({"timestamp": STAMP, "colour": "red"}, "unknown keys colour"),
        ({"timestamp": "2026-02-30T10:00:00Z"}, "not an RFC 3339 timestamp"),
        ({"target": "shadow"}, "target 'shadow' is not one of paper, live"),
        ({"signal_count": "many"}, "signal_count must be a int"),
        ({"stage_statuses": {"paper-canary": "pass"}}, "stage_statuses: 'paper-canary=pass' is not NAME=STATUS"),
        ([1, 2], "must hold a JSON object, found list"),
    ],
    ids=["unknown-key", "impossible-date", "bad-target", "bad-count", "derived-phase", "not-an-object"],
)
def test_bad_input_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: Any, message: str
) -> None:
    (tmp_path / "cycle.json").write_text(json.dumps(content))
    assert main(["produce", "--out", str(tmp_path / "t"), "--input", str(tmp_path / "cycle.json")]) == EXIT_USAGE
    assert message in capsys.readouterr().err
    assert not (tmp_path / "t").exists()


def test_flat_layout_and_json_notes(tmp_path: Path) -> None:
    args = ["produce", "--out", str(tmp_path), "--timestamp", STAMP, "--layout", "flat", "--note-format", "json"]
    assert main(args) == EXIT_OK
    assert (tmp_path / "rollout" / "phase-manifest.json").is_file()
    lane, scheduler = (tmp_path / "notes" / f"iteration-{n}.md" for n in (1, 2))
    assert lane.read_text().startswith("# Autonomous lane iteration 1")
    assert json.loads(scheduler.read_text())["phase_manifest_path"] == "rollout/phase-manifest.json"
    assert findings_in_tree([tmp_path], opt_ins=(CHECK_REFS.key,)) == {}


def test_five_completed_cycles_into_a_flat_root_conform(tmp_path: Path) -> None:
    args = ["produce", "--out", str(tmp_path), "--layout", "flat", "--note-format", "json"]
    for minute in range(0, 25, 5):
        assert main([*args, "--timestamp", f"2026-04-02T10:{minute:02d}:00Z"]) == EXIT_OK
    notes = sorted((tmp_path / "notes").glob("iteration-*.md"), key=lambda p: int(p.stem.split("-")[1]))
    runs = {json.loads(p.read_text())["autonomy_run_id"] for p in notes if p.read_text().startswith("{")}
    assert len(runs) == 5  # five runs, each named by its note; the manifest holds the last
    assert findings_in_tree([tmp_path], opt_ins=(CHECK_REFS.key,)) == {}


def test_absolute_prefix_writes_production_paths(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    prefix = "/tmp/torghut/autonomy"
    assert main(["produce", "--out", str(tmp_path), "--timestamp", STAMP, "--absolute-prefix", prefix]) == EXIT_OK
    note = (tmp_path / "notes" / "iteration-1.md").read_text()
    assert f"phase_manifest_path: {prefix}/20260402T093000/rollout/phase-manifest.json" in note
    mapping = PathMapping(old=prefix, new=tmp_path)
    assert findings_in_tree([tmp_path], mappings=[mapping], opt_ins=(CHECK_REFS.key,)) == {}
    assert main(["produce", "--out", str(tmp_path), "--absolute-prefix", "relative/dir"]) == EXIT_USAGE
    assert "not an absolute path prefix" in capsys.readouterr().err


def test_a_refused_write_exits_1_naming_the_rule(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    # The run's drift directory is a symlink out of the tree: the evidence cannot be read there.
    outside = tmp_path / "outside"
    outside.mkdir()
    root = tmp_path / "tree"
    (root / "20260402T093000").mkdir(parents=True)
    (root / "20260402T093000" / "drift").symlink_to(outside)
    args = ["produce", "--out", str(root), "--timestamp", STAMP, "--rollback"]
    assert main(args) == EXIT_REFUSED
    err = capsys.readouterr().err
    assert "refusing to write 20260402T093000/rollout/phase-manifest.json: TM022 rollback-drift-evidence" in err
    assert not (root / "notes").exists()


def test_schema_prints_each_schema_as_committed(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema", "--kind", "manifest"]) == EXIT_OK
    assert capsys.readouterr().out == render_schema(manifest_schema())
    assert main(["schema"]) == EXIT_OK
    both = json.loads(capsys.readouterr().out)
    assert both == {name: json.loads(render_schema(build())) for name, build in SCHEMA_FILES.items()}


def test_rules_prints_the_catalogue_or_the_registry(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules"]) == EXIT_OK
    assert capsys.readouterr().out == render_catalogue()
    assert main(["rules", "--format", "json"]) == EXIT_OK
    listed = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in listed] == [r.id for r in REGISTRY]
    assert {r["id"] for r in listed if r["opt_in"]} == {"TM024"}


def test_rules_prints_one_rule_with_its_statement_source_and_check(capsys: pytest.CaptureFixture[str]) -> None:
    tm012 = next(r for r in REGISTRY if r.id == "TM012")
    for name in ("TM012", "tm012", "transition-adjacency", "TM012-transition-adjacency"):
        assert main(["rules", name]) == EXIT_OK
        text = capsys.readouterr().out
        assert text.startswith(f"TM012 transition-adjacency: {REGISTRY['TM012'].title}\n")
        assert tm012.statement in text
        assert f"source:      {tm012.source}" in text
        assert "check:       Each transition" in text
    assert main(["rules", "TM012", "--format", "json"]) == EXIT_OK
    record = json.loads(capsys.readouterr().out)
    assert (record["id"], record["statement"], record["source"]) == ("TM012", tm012.statement, tm012.source)
    assert record["check"].startswith("Each transition")


def test_rules_refuses_an_unknown_rule_naming_it(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "TM999"]) == EXIT_USAGE
    assert "no rule 'TM999'" in capsys.readouterr().err


def test_usage_errors_and_help_return_exit_codes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert main(["produce"]) == EXIT_USAGE
    assert "--out" in capsys.readouterr().err
    assert main(["--help"]) == EXIT_OK
    assert "produce" in capsys.readouterr().out


def test_module_and_console_script_run_the_same_main(tmp_path: Path) -> None:
    (script,) = entry_points(group="console_scripts", name="torghut-rollout")
    assert script.load() is main
    done = subprocess.run(
        [sys.executable, "-m", "pytest_torghut_rollout", "rules", "--format", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0
    assert len(json.loads(done.stdout)) == len(REGISTRY)
