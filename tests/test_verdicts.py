"""Verdicts on production-shaped trees: no false failure, no false pass, honest outcomes."""

from __future__ import annotations

import json
import os
import tracemalloc
from pathlib import Path

import pytest

from pytest_torghut_rollout.checking.discovery import manifest_artifact
from pytest_torghut_rollout.checking.model import Artifact
from pytest_torghut_rollout.checking.paths import Resolver
from pytest_torghut_rollout.checking.rules import REGISTRY, CheckContext, evaluate_artifact
from pytest_torghut_rollout.contract.layout import note_name

FIXTURES = Path(__file__).parent.parent / "fixtures"
#: The fixture corpus is kept in this repository on purpose: its notes are tracked (TN022).
CORPUS = "--torghut-allow-tracked-notes"
NESTED = FIXTURES / "valid" / "nested"
ROLLBACK_RUN = NESTED / "20260402T101500"
MANIFEST_RULES = len(REGISTRY.for_kind("manifest"))


def test_one_run_of_a_nested_root_fails_tm021_naming_the_refs_root_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--torghut-artifacts={ROLLBACK_RUN}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        [
            "TM021 rollback-proof-outcome: rollback triggered *outside the artifact trees; "
            "give the tree it lies in with --torghut-refs-root=DIR"
        ]
    )


def test_one_run_of_a_nested_root_passes_with_the_root_as_refs_root(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(
        f"--torghut-artifacts={ROLLBACK_RUN}", f"--torghut-refs-root={NESTED}", "-p", "no:cacheprovider", CORPUS
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    assert result.parseoutcomes().get("failed", 0) == 0


def test_refs_root_from_the_ini_file_resolves_against_it(pytester: pytest.Pytester) -> None:
    pytester.makeini(f"[pytest]\ntorghut_refs_root = {NESTED}\n")
    result = pytester.runpytest(f"--torghut-artifacts={ROLLBACK_RUN}", "-p", "no:cacheprovider", CORPUS)
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]


def test_a_refs_root_that_is_not_a_directory_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--torghut-artifacts={ROLLBACK_RUN}", "--torghut-refs-root=nowhere")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--torghut-refs-root is not a directory: nowhere"])


def test_a_tree_whose_only_manifest_is_unparseable_fails_exactly_once(pytester: pytest.Pytester) -> None:
    manifest = pytester.path / "tree" / "rollout" / "phase-manifest.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text('{"run_id": ', encoding="utf-8")
    result = pytester.runpytest(f"--torghut-artifacts={manifest.parent.parent}", "-p", "no:cacheprovider", "-rfs")
    result.assert_outcomes(failed=1, skipped=MANIFEST_RULES - 1, passed=1)  # + torghut::discovery
    result.stdout.fnmatch_lines(
        [
            "TM001 top-level-fields: cannot check: invalid JSON at line 1, column 12: Expecting value",
            f"{MANIFEST_RULES - 1} checks not evaluated: *",
        ]
    )


def test_a_random_json_object_passes_no_semantic_rule(pytester: pytest.Pytester) -> None:
    case = FIXTURES / "invalid" / "TM001" / "random-json-object"
    spec = json.loads((case / "case.json").read_text(encoding="utf-8"))
    result = pytester.runpytest(f"--torghut-artifacts={case}", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=len(spec["fails"]), skipped=len(spec["not_evaluated"]), passed=1)


def test_a_manifest_file_given_alone_is_checked(pytester: pytest.Pytester) -> None:
    manifest = NESTED / "20260402T093000" / "rollout" / "phase-manifest.json"
    result = pytester.runpytest(f"--torghut-artifacts={manifest}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.assert_outcomes(passed=MANIFEST_RULES + 1)


def test_a_note_given_alone_is_checked_and_its_series_rules_are_not_evaluated(pytester: pytest.Pytester) -> None:
    note = NESTED / "notes" / "iteration-3.md"
    result = pytester.runpytest(f"--torghut-artifacts={note}", "-p", "no:cacheprovider", "-rs")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    series = len(REGISTRY.for_kind("notes-series"))
    assert result.parseoutcomes()["skipped"] == series
    result.stdout.fnmatch_lines(
        ["SKIPPED * notes::TN021-notes-contiguous: not evaluated: only iteration-3.md was given*"]
    )


@pytest.mark.parametrize("name", ["case.json", "phase-manifest.yaml", "README.md"])
def test_any_other_file_given_alone_is_a_usage_error(pytester: pytest.Pytester, name: str) -> None:
    path = pytester.path / name
    path.write_text("{}", encoding="utf-8")
    result = pytester.runpytest(f"--torghut-artifacts={path}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [f"*file is neither a manifest nor a note: *{name}; give a directory, a phase-manifest.json or a notes/*"]
    )


def test_a_manifest_hidden_in_a_staging_directory_is_found_and_fails(pytester: pytest.Pytester) -> None:
    case = FIXTURES / "invalid" / "TM014" / "hidden-staging-run"
    result = pytester.runpytest(f"--torghut-artifacts={case}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["FAILED .staging/20260402T120000/rollout/phase-manifest.json::TM014-failure-policy*"])


def test_version_control_metadata_is_never_searched(pytester: pytest.Pytester) -> None:
    case = FIXTURES / "invalid" / "TM014" / "hidden-staging-run"
    tree = pytester.path / "tree"
    (tree / ".git" / "rollout").mkdir(parents=True)
    bad = (case / ".staging" / "20260402T120000" / "rollout" / "phase-manifest.json").read_text(encoding="utf-8")
    (tree / ".git" / "rollout" / "phase-manifest.json").write_text(bad, encoding="utf-8")
    result = pytester.runpytest(f"--torghut-artifacts={tree}", "-p", "no:cacheprovider")
    result.stdout.fnmatch_lines(["*discovery: found 0 artifacts, at least 1 required*"])


def test_a_production_tree_without_a_path_map_counts_the_references_it_did_not_follow(
    pytester: pytest.Pytester,
) -> None:
    case = FIXTURES / "conforming" / "absolute-manifest-path-unmapped"
    result = pytester.runpytest(
        f"--torghut-artifacts={case}", "-p", "no:cacheprovider", "--torghut-evidence=e.json", CORPUS
    )
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()[-3000:]
    result.stdout.fnmatch_lines(
        ["1 reference resolves outside the artifact trees and was not followed; map production's absolute prefix*"]
    )
    evidence = json.loads((pytester.path / "e.json").read_text(encoding="utf-8"))
    assert evidence["references_not_followed"]["count"] == 1
    assert evidence["references_not_followed"]["references"] == [
        "/tmp/torghut/autonomy/20260402T093000/rollout/phase-manifest.json"
    ]
    assert evidence["totals"]["not_evaluated"] == 3  # TN008, and TN022 (opted out) and TN023 (no ledger)


def test_a_gap_of_twenty_million_is_one_range_found_in_bounded_memory() -> None:
    series = Artifact(
        kind="notes-series",
        path=Path("/x/notes"),
        root=Path("/x"),
        display="notes",
        members=(note_name(1), note_name(20_000_000)),
    )
    tracemalloc.start()
    verdict = REGISTRY["TN021"].evaluate(series, CheckContext(resolver=Resolver([Path("/x")])))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    (finding,) = verdict.findings
    assert finding.message == "iteration-2.md to iteration-19999999.md (19999998 notes) are missing from the series"
    assert finding.found == "no iterations 2 to 19999999"
    assert peak < 1_000_000


def test_a_lane_notes_manifest_symlinked_out_of_the_tree_is_never_read(pytester: pytest.Pytester) -> None:
    outside = pytester.path / "outside.json"
    outside.write_text('{"run_id": "SECRET-RUN-ID"}', encoding="utf-8")
    run = pytester.path / "tree" / "20260402T093000"
    (run / "rollout").mkdir(parents=True)
    os.symlink(outside, run / "rollout" / "phase-manifest.json")
    (run / "notes").mkdir()
    (run / "notes" / "iteration-1.md").write_text(
        "# Autonomous lane iteration 1\n\n- run_id: other-run\n", encoding="utf-8"
    )
    result = pytester.runpytest(f"--torghut-artifacts={pytester.path / 'tree'}", "-p", "no:cacheprovider", "-rs")
    assert "SECRET-RUN-ID" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        ["SKIPPED * 20260402T093000/notes/iteration-1.md::TN009-lane-note-run-id: not evaluated: no manifest beside*"]
    )


def test_a_status_that_is_a_list_fails_its_rule_instead_of_raising() -> None:
    manifest = json.loads((FIXTURES / "valid" / "flat" / "rollout" / "phase-manifest.json").read_text("utf-8"))
    manifest["phase_transitions"][-1]["status"] = []
    artifact = manifest_artifact(manifest, path=Path("/x/rollout/phase-manifest.json"), root=Path("/x"), display="m")
    verdicts = evaluate_artifact(artifact, CheckContext(resolver=Resolver([Path("/x")])))
    assert {rule_id for rule_id, v in verdicts.items() if v.findings} == {"TM013"}
