"""The pytest plugin end to end: options, collection, failure text, reporting, xdist (pytester)."""

from __future__ import annotations

import hashlib
import html
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

# The inner runs import hypothesis (through its pytest plugin) and pytester's in-process runs
# drop what they import, so each run would import and assertion-rewrite it again (~1 s).
import hypothesis  # noqa: F401
import pytest

from pytest_torghut_rollout.model import ArtifactKind
from pytest_torghut_rollout.rules import REGISTRY

TreeWriter = Callable[..., Path]

ADVISORY = "pytest_torghut_rollout.items.TorghutAdvisoryWarning"
#: Advisory findings are warnings; this suite's filterwarnings=error would leak into in-process runs.
show_advisories = pytest.mark.filterwarnings(f"always::{ADVISORY}")


def rules_for(kind: ArtifactKind, *opt_ins: str) -> int:
    """How many rule items an artifact of ``kind`` gets."""
    return len(REGISTRY.for_kind(kind, opt_ins=opt_ins))


MANIFEST_RULES = rules_for("manifest")
SERIES_RULES = rules_for("notes-series")
NOTE_RULES = rules_for("scheduler-note")
#: Checks of the conforming tree (a manifest, a series of two notes); items add the discovery test.
TREE_CHECKS = MANIFEST_RULES + SERIES_RULES + 2 * NOTE_RULES
TREE_ITEMS = TREE_CHECKS + 1

MANIFEST_ID = "run1/rollout/phase-manifest.json"
PROD = "/srv/torghut/autonomy"
DRIFT_FILES = ("drift/drift-action.json", "drift/drift-detection.json", "drift/drift-outcome.json")


def run(pytester: pytest.Pytester, *args: str | os.PathLike[str], xdist: Sequence[str] = ()) -> pytest.RunResult:
    """Run the inner pytest in-process, or in a subprocess when xdist workers are asked for."""
    if xdist:
        # Each process would import (and assertion-rewrite) hypothesis for its plugin: ~1 s apiece.
        return pytester.runpytest_subprocess("-p", "no:hypothesispytest", *xdist, *args)
    return pytester.runpytest(*args)


def artifacts_arg(path: Path) -> str:
    """The ``--torghut-artifacts`` option for ``path``."""
    return f"--torghut-artifacts={path}"


def failed_ids(result: pytest.RunResult) -> list[str]:
    """The node ids of the short test summary's FAILED lines, sorted."""
    return sorted(m.group(1) for line in result.outlines if (m := re.match(r"FAILED (\S+)", line)))


def break_adjacency(manifest: dict[str, Any]) -> None:
    """Three TM012 findings: transition 4 skips a phase, transition 5 starts wrong, 6 is missing."""
    transitions = manifest["phase_transitions"]
    transitions[3]["to"] = "runtime-governance"
    transitions[4]["from"] = "drift-gate"
    del transitions[5]


def drop_promotion_gates(manifest: dict[str, Any]) -> None:
    """One TM016 (advisory) finding: gate-evaluation lists only its slo_* gates."""
    gates = manifest["phases"][0]["slo_gates"]
    manifest["phases"][0]["slo_gates"] = [g for g in gates if g["id"].startswith("slo_")]


def trigger_rollback(manifest: dict[str, Any]) -> None:
    """A conforming rollback, written with production's absolute paths under PROD."""
    refs = [f"{PROD}/run1/{name}" for name in DRIFT_FILES]
    evidence = f"{PROD}/rollback-incidents/incident-1.json"
    for record in (manifest["runtime_governance"], manifest["rollback_proof"]):
        record.update(rollback_triggered=True, artifact_refs=list(refs), rollback_incident_evidence_path=evidence)
    manifest["runtime_governance"]["status"] = "fail"
    runtime, proof = manifest["phases"][5], manifest["phases"][6]
    runtime.update(status="fail", artifact_refs=list(refs))
    runtime["observations"]["rollback_triggered"] = True
    proof["artifact_refs"] = list(refs)
    proof["observations"].update(rollback_triggered=True, rollback_incident_evidence_path=evidence)
    manifest["phase_transitions"][4]["status"] = "fail"
    manifest["status"] = "fail"


def write_rollback_tree(write_tree: TreeWriter, manifest: dict[str, Any]) -> Path:
    """Write a tree whose run rolled back, with its incident file under ``rollback-incidents/``."""
    trigger_rollback(manifest)
    root = write_tree(manifest=manifest)
    (root / "rollback-incidents").mkdir()
    (root / "rollback-incidents" / "incident-1.json").write_text("{}\n", encoding="utf-8")
    return root


def set_drift_status(manifest: dict[str, Any], state: str) -> None:
    """Write ``state`` as the drift status wherever production writes it."""
    manifest["runtime_governance"]["drift_status"] = state
    manifest["phases"][5]["observations"]["drift_status"] = state


# -- the plugin is idle without artifacts; options and their ini twins ---------------------------


def test_plugin_stays_idle_without_artifacts(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*torghut rollout conformance*")
    collected = pytester.runpytest("--collect-only", "-q")
    assert [line for line in collected.outlines if "::" in line] == ["test_plain.py::test_plain"]


def test_a_run_without_artifacts_imports_no_checking_machinery(pytester: pytest.Pytester) -> None:
    # A fresh process: in-process runs would see whatever this suite already imported.
    pytester.makepyfile(
        test_modules="""
        import sys

        def test_only_the_light_plugin_module_is_loaded():
            assert "pytest_torghut_rollout.plugin" in sys.modules
            assert [m for m in ("pydantic", "jsonschema", "yaml") if m in sys.modules] == []
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)


def test_help_lists_the_torghut_options_and_ini_keys(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(
        [
            "torghut rollout conformance:",
            "*--torghut-artifacts=PATH*",
            "*--torghut-path-map=OLD=NEW*",
            "*--torghut-min-artifacts=N*",
            "*--torghut-strict*",
            "*--torghut-check-refs*",
            "*--torghut-evidence=PATH*",
        ]
    )
    for key in (
        "torghut_artifacts",
        "torghut_path_map",
        "torghut_min_artifacts",
        "torghut_strict",
        "torghut_check_refs",
        "torghut_evidence",
        "torghut_unhealthy_drift_states",
        "torghut_docs_url",
    ):
        result.stdout.fnmatch_lines([f"  {key} *"])


def test_ini_artifacts_key_runs_the_checks(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_artifacts = artifacts\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=TREE_ITEMS)
    result.stdout.fnmatch_lines([f"{TREE_CHECKS} checks conformed."])


@pytest.mark.parametrize("source", ["option", "ini"])
def test_path_map_lets_production_absolute_paths_resolve(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], source: str
) -> None:
    root = write_rollback_tree(write_tree, manifest)

    unmapped = pytester.runpytest(artifacts_arg(root))
    unmapped.assert_outcomes(failed=2, passed=TREE_ITEMS - 2)
    assert failed_ids(unmapped) == [
        f"{MANIFEST_ID}::TM021-rollback-proof-outcome",
        f"{MANIFEST_ID}::TM022-rollback-drift-evidence",
    ]
    unmapped.stdout.fnmatch_lines(["*outside the artifact trees; map the prefix with --torghut-path-map=OLD=NEW*"])

    mapping = f"{PROD}={root}"
    if source == "ini":
        pytester.makeini(f"[pytest]\ntorghut_path_map =\n    {mapping}\n")
        mapped = pytester.runpytest(artifacts_arg(root))
    else:
        mapped = pytester.runpytest(artifacts_arg(root), f"--torghut-path-map={mapping}")
    mapped.assert_outcomes(passed=TREE_ITEMS)


def test_ini_path_map_is_relative_to_the_ini_file(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rollback_tree(write_tree, manifest)
    pytester.makeini(f"[pytest]\ntorghut_artifacts = artifacts\ntorghut_path_map = {PROD}=artifacts\n")
    monkeypatch.chdir(pytester.mkdir("elsewhere"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=TREE_ITEMS)


@pytest.mark.parametrize("source", ["option", "ini"])
def test_min_artifacts_raises_the_bar_for_discovery(pytester: pytest.Pytester, artifacts: Path, source: str) -> None:
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_min_artifacts = 5\n")
        result = pytester.runpytest(artifacts_arg(artifacts))
    else:
        result = pytester.runpytest(artifacts_arg(artifacts), "--torghut-min-artifacts=5")
    result.assert_outcomes(failed=1, passed=TREE_CHECKS)
    assert failed_ids(result) == ["torghut::discovery"]
    result.stdout.fnmatch_lines(["discovery: found 2 artifacts, at least 5 required", f"  under:    {artifacts}"])


@show_advisories
@pytest.mark.parametrize("source", ["option", "ini"])
def test_strict_makes_advisory_findings_fail(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], source: str
) -> None:
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest)
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_strict = true\n")
        result = pytester.runpytest(artifacts_arg(root))
    else:
        result = pytester.runpytest(artifacts_arg(root), "--torghut-strict")
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM016-promotion-gate-entries"]
    result.stdout.fnmatch_lines(
        [
            "TM016 promotion-gate-entries: gate-evaluation lists no promotion gate entries (ids like *)",
            "1 check found violations in 1 artifact; fix the artifacts or their producer, see the failures above.",
        ]
    )


@pytest.mark.parametrize("source", ["option", "ini"])
def test_check_refs_adds_the_opt_in_rule(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], source: str
) -> None:
    manifest["artifact_refs"].append("gates/gate-evaluation.json")
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root)).assert_outcomes(passed=TREE_ITEMS)
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_check_refs = true\n")
        result = pytester.runpytest(artifacts_arg(root))
    else:
        result = pytester.runpytest(artifacts_arg(root), "--torghut-check-refs")
    assert rules_for("manifest", "torghut_check_refs") == MANIFEST_RULES + 1
    result.assert_outcomes(failed=1, passed=TREE_ITEMS)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM024-artifact-refs-exist"]
    result.stdout.fnmatch_lines(["  at:       /artifact_refs/4", '  found:    "gates/gate-evaluation.json"'])


@pytest.mark.parametrize("source", ["option", "ini"])
def test_evidence_option_writes_the_summary(pytester: pytest.Pytester, artifacts: Path, source: str) -> None:
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_evidence = out/evidence.json\n")
        result = pytester.runpytest(artifacts_arg(artifacts))
    else:
        result = pytester.runpytest(artifacts_arg(artifacts), "--torghut-evidence=out/evidence.json")
    result.assert_outcomes(passed=TREE_ITEMS)
    result.stdout.fnmatch_lines(["Evidence summary written to *out/evidence.json."])
    summary = json.loads((pytester.path / "out" / "evidence.json").read_text(encoding="utf-8"))
    assert summary["result"] == "pass"
    assert summary["totals"]["conforms"] == TREE_CHECKS


def test_evidence_path_in_the_ini_file_is_relative_to_that_file(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_evidence = out/evidence.json\n")
    elsewhere = pytester.mkdir("elsewhere")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        result = pytester.runpytest(
            artifacts_arg(artifacts), f"--rootdir={pytester.path}", f"-c={pytester.path / 'tox.ini'}"
        )
    result.assert_outcomes(passed=TREE_ITEMS)
    assert (pytester.path / "out" / "evidence.json").is_file()
    assert not (elsewhere / "out").exists()


def test_unhealthy_drift_states_ini_decides_what_fails_runtime_governance(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    set_drift_status(manifest, "cooldown")
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root)).assert_outcomes(passed=TREE_ITEMS)

    pytester.makeini("[pytest]\ntorghut_unhealthy_drift_states = cooldown drift_detected\n")
    result = pytester.runpytest(artifacts_arg(root))
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM020-runtime-governance-outcome"]
    result.stdout.fnmatch_lines(
        ["TM020 runtime-governance-outcome: runtime-governance must fail because *drift_status is 'cooldown'"]
    )


def test_docs_url_ini_changes_the_see_line(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.makeini("[pytest]\ntorghut_docs_url = https://docs.example/torghut/rules.md\n")
    result = pytester.runpytest(artifacts_arg(root))
    result.stdout.fnmatch_lines(["  see:      https://docs.example/torghut/rules.md#tm012"])


@pytest.mark.parametrize(
    ("args", "ini", "bad"),
    [
        pytest.param(["--torghut-min-artifacts=-1"], "", "'-1' is not a whole number >= 0", id="min-negative"),
        pytest.param(["--torghut-min-artifacts=few"], "", "'few' is not a whole number >= 0", id="min-word"),
        pytest.param(["--torghut-path-map=nonsense"], "", "invalid path map 'nonsense': expected OLD=NEW*", id="map"),
        pytest.param([], "torghut_min_artifacts = -2", "'-2' is not a whole number >= 0", id="ini-min"),
        pytest.param([], "torghut_path_map = /old=", "invalid path map '/old=': expected OLD=NEW*", id="ini-map"),
    ],
)
def test_invalid_option_values_are_usage_errors_naming_the_value(
    pytester: pytest.Pytester, artifacts: Path, args: list[str], ini: str, bad: str
) -> None:
    if ini:
        pytester.makeini(f"[pytest]\n{ini}\n")
    result = pytester.runpytest(artifacts_arg(artifacts), *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{bad}"])


def test_missing_artifacts_path_is_a_usage_error_naming_it(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--torghut-artifacts=no-such-dir")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--torghut-artifacts path does not exist: no-such-dir"])


# -- collection ------------------------------------------------------------------------------------


def test_collect_only_lists_rule_ids_under_each_artifact_path(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    ids = [line for line in result.outlines if "::" in line]
    assert len(ids) == len(set(ids)) == TREE_ITEMS
    assert ids[0] == "torghut::discovery"
    for expected in (
        f"{MANIFEST_ID}::TM001-top-level-fields",
        f"{MANIFEST_ID}::TM012-transition-adjacency",
        "notes::TN021-notes-contiguous",
        "notes/iteration-2.md::TN008-note-manifest-crossref",
    ):
        assert expected in ids
    assert "0 checks of 0 artifacts" not in result.stdout.str()


def test_collection_order_is_deterministic(pytester: pytest.Pytester, write_tree: TreeWriter) -> None:
    root = write_tree(runs=("run2", "run10", "run1"), notes=11)
    first = pytester.runpytest(artifacts_arg(root), "--collect-only", "-q").outlines
    second = pytester.runpytest(artifacts_arg(root), "--collect-only", "-q").outlines
    ids = [line for line in first if "::" in line]
    assert [line for line in second if "::" in line] == ids
    notes = [i.split("::")[0] for i in ids if i.startswith("notes/iteration-")]
    assert list(dict.fromkeys(notes)) == [f"notes/iteration-{n}.md" for n in range(1, 12)]


def test_two_roots_with_the_same_names_get_distinct_ids(pytester: pytest.Pytester, write_tree: TreeWriter) -> None:
    first, second = write_tree("a/artifacts"), write_tree("b/artifacts")
    collected = pytester.runpytest(artifacts_arg(first), artifacts_arg(second), "--collect-only", "-q")
    ids = [line for line in collected.outlines if "::" in line]
    assert len(ids) == len(set(ids)) == 2 * TREE_CHECKS + 1
    assert f"artifacts/{MANIFEST_ID}::TM012-transition-adjacency" in ids
    assert f"artifacts~2/{MANIFEST_ID}::TM012-transition-adjacency" in ids
    pytester.runpytest(artifacts_arg(first), artifacts_arg(second)).assert_outcomes(passed=2 * TREE_CHECKS + 1)


def test_a_single_manifest_file_is_a_valid_artifacts_path(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts / MANIFEST_ID), "-v")
    result.assert_outcomes(passed=MANIFEST_RULES + 1)
    result.stdout.fnmatch_lines(["rollout/phase-manifest.json::TM012-transition-adjacency PASSED*"])


def test_nested_and_flat_layouts_are_both_discovered(pytester: pytest.Pytester, write_tree: TreeWriter) -> None:
    flat = pytester.path / "flat"
    write_tree("flat_src", notes=1)
    (pytester.path / "flat_src" / "run1").rename(flat)
    (pytester.path / "flat_src" / "notes").rename(flat / "notes")
    nested = write_tree("nested", runs=("20260402T093000", "20260402T101500"), notes=1)
    result = pytester.runpytest(artifacts_arg(flat), artifacts_arg(nested), "--collect-only", "-q")
    result.stdout.fnmatch_lines(
        [
            "torghut::discovery",
            "flat/notes::TN020-note-file-names",
            "flat/notes/iteration-1.md::TN001-note-recognised",
            "flat/rollout/phase-manifest.json::TM001-top-level-fields",
            "nested/20260402T093000/rollout/phase-manifest.json::TM001-top-level-fields",
            "nested/20260402T101500/rollout/phase-manifest.json::TM001-top-level-fields",
            "nested/notes::TN020-note-file-names",
        ]
    )
    checks = 3 * MANIFEST_RULES + 2 * (SERIES_RULES + NOTE_RULES)
    pytester.runpytest(artifacts_arg(flat), artifacts_arg(nested)).assert_outcomes(passed=checks + 1)


def test_every_item_carries_the_conformance_marker(pytester: pytest.Pytester, artifacts: Path) -> None:
    selected = pytester.runpytest(artifacts_arg(artifacts), "--strict-markers", "-m", "torghut_conformance")
    selected.assert_outcomes(passed=TREE_ITEMS)
    none = pytester.runpytest(artifacts_arg(artifacts), "--strict-markers", "-m", "not torghut_conformance")
    none.assert_outcomes(deselected=TREE_ITEMS)
    assert none.ret == pytest.ExitCode.NO_TESTS_COLLECTED


def test_keyword_selects_one_rule(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), "-k", "TM012", "-v")
    result.assert_outcomes(passed=1, deselected=TREE_ITEMS - 1)
    result.stdout.fnmatch_lines([f"{MANIFEST_ID}::TM012-transition-adjacency PASSED*"])


def test_positional_test_paths_still_run_alongside_artifacts(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest("test_plain.py", artifacts_arg(artifacts), "-v")
    result.assert_outcomes(passed=TREE_ITEMS + 1)
    result.stdout.fnmatch_lines(["test_plain.py::test_plain PASSED*"])


PLAIN_TEST = "def test_plain():\n    assert True\n"


@pytest.mark.parametrize(
    "ini",
    [
        pytest.param("testpaths = tests", id="testpaths"),
        pytest.param("testpaths = tests\ntorghut_artifacts = artifacts", id="ini-artifacts-too"),
    ],
)
def test_a_bare_command_line_checks_the_artifacts_only(pytester: pytest.Pytester, artifacts: Path, ini: str) -> None:
    pytester.makeini(f"[pytest]\n{ini}\n")
    pytester.mkpydir("tests").joinpath("test_plain.py").write_text(PLAIN_TEST, encoding="utf-8")
    result = pytester.runpytest(artifacts_arg(artifacts), "-v")
    result.assert_outcomes(passed=TREE_ITEMS)
    result.stdout.no_fnmatch_line("*test_plain*")


def test_ini_artifacts_run_alongside_the_projects_testpaths(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    pytester.makeini("[pytest]\ntestpaths = tests\ntorghut_artifacts = artifacts\n")
    pytester.mkpydir("tests").joinpath("test_plain.py").write_text(PLAIN_TEST, encoding="utf-8")
    result = run(pytester, "-v", xdist=xdist_args)
    result.assert_outcomes(passed=TREE_ITEMS + 1)
    result.stdout.fnmatch_lines(["*tests/test_plain.py::test_plain*"])
    result.stdout.fnmatch_lines([f"{TREE_CHECKS} checks conformed."])


def test_ini_artifacts_run_alongside_the_tests_of_the_current_directory(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    pytester.makeini("[pytest]\ntorghut_artifacts = artifacts\n")
    pytester.makepyfile(test_plain=PLAIN_TEST)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=TREE_ITEMS + 1)
    result.stdout.fnmatch_lines(["test_plain.py::test_plain PASSED*"])


# -- failure text ------------------------------------------------------------------------------------


def test_violation_prints_the_domain_failure_text(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    result.stdout.fnmatch_lines(
        [
            "TM012 transition-adjacency: transition 4 does not join adjacent phases",
            f"  artifact: {MANIFEST_ID}",
            "  at:       /phase_transitions/3/to",
            "  expected: \"paper-canary\" (next after 'drift-gate')",
            '  found:    "runtime-governance"',
            "  rule:     Transitions are the six adjacent canonical pairs ?required?",
            "  see:      conformance/rules.md#tm012",
            "  (+2 more findings; run with -v to list all)",
        ],
        consecutive=True,
    )
    output = result.stdout.str()
    assert "Traceback" not in output
    assert "items.py" not in output
    result.stdout.no_fnmatch_line("E  *")
    # The hidden findings are not dumped after the text either.
    result.stdout.no_fnmatch_line("*/phase_transitions/4/from*")


def test_one_more_finding_is_counted_in_the_singular(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    manifest["phase_transitions"][3]["to"] = "runtime-governance"
    manifest["phase_transitions"][4]["from"] = "drift-gate"
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root))
    result.stdout.fnmatch_lines(["  (+1 more finding; run with -v to list all)"])


def test_verbose_lists_every_finding(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), "-v")
    result.stdout.fnmatch_lines(
        [
            "TM012 transition-adjacency: transition 4 does not join adjacent phases",
            "  at:       /phase_transitions/3/to",
            "  -- transition 5 does not join adjacent phases",
            "  at:       /phase_transitions/4/from",
            '  expected: "paper-canary"',
            '  found:    "drift-gate"',
            "  -- transition 'runtime-governance' -> 'rollback-proof' is missing",
            "  at:       /phase_transitions/5",
            "  see:      conformance/rules.md#tm012",
        ]
    )
    result.stdout.no_fnmatch_line("*more finding*")


# -- unreadable and broken inputs ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        pytest.param(b'{"schema_version": }', "invalid JSON at line 1, column 20: Expecting value", id="not-json"),
        pytest.param(b"\xff\xfe{}", "cannot read the file: not UTF-8 text (byte 0)", id="not-utf8"),
        pytest.param(b"[1, 2]", "expected a JSON object at the top level, found list", id="json-array"),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000, "nested deeper than 100 levels; refused unchecked", id="deep-array"
        ),
    ],
)
def test_unreadable_manifest_fails_its_checks_while_the_notes_pass(
    pytester: pytest.Pytester, artifacts: Path, content: bytes, reason: str
) -> None:
    (artifacts / MANIFEST_ID).write_bytes(content)
    result = pytester.runpytest(artifacts_arg(artifacts))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=MANIFEST_RULES, passed=TREE_ITEMS - MANIFEST_RULES)
    assert all(i.startswith(f"{MANIFEST_ID}::") for i in failed_ids(result))
    result.stdout.fnmatch_lines(
        [
            f"TM001 top-level-fields: cannot check: {reason}",
            f"  artifact: {MANIFEST_ID}",
            "  at:       (whole artifact)",
        ],
        consecutive=True,
    )
    result.stdout.no_fnmatch_line("*ERROR collecting*")
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("content", "kind", "reason"),
    [
        pytest.param(
            b'{"iteration": 2,',
            "scheduler-note",
            "invalid JSON note at line 1, column 17: Expecting property name enclosed in double quotes",
            id="broken-json",
        ),
        pytest.param(
            b"---\nstatus: lane_completed\n  reason: done\n---\nbody\n",
            "scheduler-note",
            "invalid YAML front matter at line 3: mapping values are not allowed here",
            id="broken-yaml",
        ),
        pytest.param(
            b"---\nstatus: lane_completed\n",
            "scheduler-note",
            "front matter opened with '---' on line 1 is never closed with '---'",
            id="unclosed-front-matter",
        ),
        pytest.param(
            b"\xffiteration", "unrecognised-note", "cannot read the file: not UTF-8 text (byte 0)", id="not-utf8"
        ),
        pytest.param(
            b"---\nx: " + b"[" * 5000 + b"]" * 5000 + b"\n---\n",
            "scheduler-note",
            "nested deeper than 100 levels; refused unchecked",
            id="deep-yaml",
        ),
        pytest.param(
            b'{"throughput": ' + b"[" * 200_000 + b"]" * 200_000 + b"}",
            "scheduler-note",
            "nested deeper than 100 levels; refused unchecked",
            id="deep-json",
        ),
    ],
)
def test_broken_note_fails_its_checks_while_other_artifacts_pass(
    pytester: pytest.Pytester, artifacts: Path, content: bytes, kind: ArtifactKind, reason: str
) -> None:
    (artifacts / "notes" / "iteration-2.md").write_bytes(content)
    result = pytester.runpytest(artifacts_arg(artifacts))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    failing = rules_for(kind)
    result.assert_outcomes(failed=failing, passed=TREE_ITEMS - NOTE_RULES)
    assert all(i.startswith("notes/iteration-2.md::") for i in failed_ids(result))
    result.stdout.fnmatch_lines([f"TN001 note-recognised: cannot check: {reason}", "  artifact: notes/iteration-2.md"])
    result.stdout.no_fnmatch_line("*ERROR collecting*")
    assert "Traceback" not in result.stdout.str()


# -- empty directory and discovery -------------------------------------------------------------------


def test_empty_directory_fails_only_the_discovery_test(pytester: pytest.Pytester) -> None:
    empty = pytester.mkdir("empty")
    result = pytester.runpytest(artifacts_arg(empty))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1)
    assert failed_ids(result) == ["torghut::discovery"]
    result.stdout.fnmatch_lines(
        [
            "discovery: found 0 artifacts, at least 1 required",
            "0 checks of 0 artifacts against the rollout contract.",
            "Discovery failed, so this run cannot pass; see torghut::discovery above.",
        ]
    )


def test_min_artifacts_zero_lets_an_empty_directory_pass(pytester: pytest.Pytester) -> None:
    empty = pytester.mkdir("empty")
    result = pytester.runpytest(artifacts_arg(empty), "--torghut-min-artifacts=0")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("Discovery failed*")


# -- advisory rules ------------------------------------------------------------------------------------


@show_advisories
def test_advisory_finding_warns_by_default(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root))
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_ITEMS, warnings=1)
    result.stdout.fnmatch_lines(
        [
            f"*{MANIFEST_ID}:0: TorghutAdvisoryWarning: TM016 promotion-gate-entries: *",
            "1 advisory check warned; rerun with --torghut-strict to make advisories fail.",
        ]
    )


@pytest.mark.parametrize("category", ["pytest_torghut_rollout.TorghutAdvisoryWarning", ADVISORY])
def test_warnings_as_errors_turn_an_advisory_into_a_plain_violation(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], category: str
) -> None:
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), "-W", f"error::{category}")
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    result.stdout.fnmatch_lines(
        [
            "TM016 promotion-gate-entries: gate-evaluation lists no promotion gate entries (ids like *)",
            "1 check found violations in 1 artifact; fix the artifacts or their producer, see the failures above.",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*could not run*")


# -- reporting -----------------------------------------------------------------------------------------


def test_junit_xml_carries_the_rule_properties(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), "--junitxml=junit.xml")
    text = (pytester.path / "junit.xml").read_text(encoding="utf-8")
    assert '<property name="torghut_rule" value="TM012" />' in text
    cases = {case.get("name"): case for case in ET.fromstring(text).iter("testcase")}

    def properties(name: str) -> dict[str, str]:
        return {p.get("name", ""): p.get("value", "") for p in cases[name].iter("property")}

    failing = properties("TM012-transition-adjacency")
    assert failing["torghut_rule"] == "TM012"
    assert failing["torghut_slug"] == "transition-adjacency"
    assert failing["torghut_severity"] == "required"
    assert failing["torghut_artifact"] == MANIFEST_ID
    assert failing["torghut_kind"] == "manifest"
    assert failing["torghut_outcome"] == "violation"
    assert failing["torghut_doc"] == "conformance/rules.md#tm012"
    assert [f["pointer"] for f in json.loads(failing["torghut_findings"])] == [
        "/phase_transitions/3/to",
        "/phase_transitions/4/from",
        "/phase_transitions/5",
    ]
    assert properties("TM001-top-level-fields")["torghut_outcome"] == "conforms"
    assert json.loads(properties("discovery")["torghut_discovery"]) == {
        "manifest": 1,
        "notes-series": 1,
        "scheduler-note": 2,
    }


def test_evidence_summary_is_complete_and_written_once(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], xdist_args: list[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = run(pytester, artifacts_arg(root), "--torghut-evidence=evidence.json", xdist=xdist_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert [p.name for p in pytester.path.iterdir() if "evidence" in p.name] == ["evidence.json"]
    summary = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert summary["result"] == "fail"
    assert summary["pytest_exit_status"] == 1
    assert summary["artifacts_paths"] == [str(root)]
    assert summary["discovery"] == {"found": {"manifest": 1, "notes-series": 1, "scheduler-note": 2}, "failed": False}
    assert summary["totals"] == {
        "artifacts": 4,
        "checks": TREE_CHECKS,
        "conforms": TREE_CHECKS - 1,
        "violations": 1,
        "advisories": 0,
        "errors": 0,
    }
    by_artifact = {a["artifact"]: a for a in summary["artifacts"]}
    assert list(by_artifact) == ["notes", "notes/iteration-1.md", "notes/iteration-2.md", MANIFEST_ID]
    checks = by_artifact[MANIFEST_ID]["checks"]
    assert [c["rule"] for c in checks] == sorted(c["rule"] for c in checks)
    (violation,) = [c for c in checks if c["outcome"] != "conforms"]
    assert violation["rule"] == "TM012"
    assert violation["outcome"] == "violation"
    assert len(violation["findings"]) == 3


def test_html_report_carries_the_evidence_extras(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), "--html=report.html")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    tests = json.loads(html.unescape(blob.group(1)))["tests"]
    (entry,) = tests[f"{MANIFEST_ID}::TM012-transition-adjacency"]
    extras = {extra["name"]: extra for extra in entry["extras"]}
    assert extras["TM012 rule"]["format_type"] == "url"
    assert extras["TM012 rule"]["content"] == "conformance/rules.md#tm012"
    assert extras["Evidence"]["format_type"] == "json"
    evidence = json.loads((pytester.path / extras["Evidence"]["content"]).read_text(encoding="utf-8"))
    assert evidence["rule"] == "TM012"
    assert evidence["outcome"] == "violation"
    assert len(evidence["findings"]) == 3
    assert "TM012 transition-adjacency" in entry["log"]
    assert "<th>Rule</th>" in page
    assert '<h1 id="title">torghut rollout contract conformance</h1>' in page
    assert "<td>TM012 transition-adjacency</td>" in html.unescape(blob.group(1))
    assert "found violations in 1 artifact" in page


def test_allure_results_carry_the_evidence_and_the_rule_link(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), "--alluredir=allure")
    results = [json.loads(p.read_text(encoding="utf-8")) for p in (pytester.path / "allure").glob("*-result.json")]
    by_name = {r["name"]: r for r in results if r["name"] != "discovery"}
    assert len(by_name) == MANIFEST_RULES + SERIES_RULES + NOTE_RULES  # names repeat across the two notes

    def evidence(result: dict[str, Any]) -> dict[str, Any]:
        (attachment,) = [a for a in result["attachments"] if a["name"] == "Evidence"]
        assert attachment["type"] == "application/json"
        loaded: dict[str, Any] = json.loads((pytester.path / "allure" / attachment["source"]).read_text("utf-8"))
        return loaded

    failing = by_name["TM012-transition-adjacency"]
    assert failing["status"] == "failed"
    assert {"type": "link", "url": "conformance/rules.md#tm012", "name": "TM012 transition-adjacency"} in failing[
        "links"
    ]
    assert {"name": "tag", "value": "torghut_conformance"} in failing["labels"]
    assert evidence(failing)["outcome"] == "violation"
    assert len(evidence(failing)["findings"]) == 3
    passing = by_name["TM001-top-level-fields"]
    assert passing["status"] == "passed"
    assert evidence(passing) == {"artifact": MANIFEST_ID, "findings": [], "outcome": "conforms", "rule": "TM001"}


@show_advisories
def test_terminal_summary_uses_plurals(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest, runs=("run1", "run2"))
    many = pytester.runpytest(artifacts_arg(root))
    checks = 2 * MANIFEST_RULES + SERIES_RULES + 2 * NOTE_RULES
    many.stdout.fnmatch_lines(
        [
            f"{checks} checks of 5 artifacts against the rollout contract.",
            f"{checks - 4} checks conformed.",
            "2 checks found violations in 2 artifacts; fix the artifacts or their producer, see the failures above.",
            "2 advisory checks warned; rerun with --torghut-strict to make advisories fail.",
        ],
        consecutive=True,
    )
    one = pytester.runpytest(artifacts_arg(root / MANIFEST_ID), "-k", "TM001 or TM012 or TM016")
    one.stdout.fnmatch_lines(
        [
            "3 checks of 1 artifact against the rollout contract.",
            "1 check conformed.",
            "1 check found violations in 1 artifact; fix the artifacts or their producer, see the failures above.",
            "1 advisory check warned; rerun with --torghut-strict to make advisories fail.",
        ],
        consecutive=True,
    )


# -- xdist ---------------------------------------------------------------------------------------------


def test_conforming_tree_passes(pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]) -> None:
    result = run(pytester, artifacts_arg(artifacts), xdist=xdist_args)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_ITEMS)
    result.stdout.fnmatch_lines([f"{TREE_CHECKS} checks of 4 artifacts against the rollout contract."])


@pytest.mark.slow
def test_violating_tree_fails_the_same_node_ids_with_and_without_xdist(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    manifest["requested_promotion_target"] = "shadow"
    root = write_tree(manifest=manifest, notes=3)
    (root / "notes" / "iteration-2.md").write_text('{"iteration": 2,', encoding="utf-8")
    serial = run(pytester, artifacts_arg(root), "-rf")
    parallel = run(pytester, artifacts_arg(root), "-rf", xdist=["-n", "2"])
    assert failed_ids(serial) == failed_ids(parallel)
    assert f"{MANIFEST_ID}::TM005-promotion-target" in failed_ids(serial)
    assert f"{MANIFEST_ID}::TM012-transition-adjacency" in failed_ids(serial)
    assert len(failed_ids(serial)) == 2 + NOTE_RULES  # TM005, TM012 and every check of the broken note


def test_missing_artifacts_path_from_the_ini_file_names_the_ini_key(pytester: pytest.Pytester) -> None:
    pytester.makeini("[pytest]\ntorghut_artifacts = gone\n")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*torghut_artifacts (in *tox.ini) path does not exist: *gone"])


def test_collected_count_includes_the_discovery_test(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), "--collect-only", "-q")
    ids = [line for line in result.outlines if "::" in line]
    result.stdout.fnmatch_lines([f"{len(ids)} tests collected*"])


def test_symlinked_manifest_outside_the_tree_is_never_read(pytester: pytest.Pytester, tmp_path: Path) -> None:
    secret = tmp_path / "secret.json"
    secret.write_text('{"schema_version": "leaked"}', encoding="utf-8")
    link = pytester.path / "tree" / "run1" / "rollout" / "phase-manifest.json"
    link.parent.mkdir(parents=True)
    link.symlink_to(secret)
    result = pytester.runpytest(artifacts_arg(pytester.path / "tree"), "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(
        ["*phase-manifest.json is a symlink to *secret.json, outside the artifact tree; not read"]
    )
    result.stdout.no_fnmatch_line("*leaked*")


def test_evidence_names_the_sha256_of_every_file_checked(pytester: pytest.Pytester, artifacts: Path) -> None:
    evidence = pytester.path / "evidence.json"
    result = pytester.runpytest(artifacts_arg(artifacts), f"--torghut-evidence={evidence}")
    assert result.ret == pytest.ExitCode.OK
    entries = json.loads(evidence.read_text(encoding="utf-8"))["artifacts"]
    manifest = next(e for e in entries if e["kind"] == "manifest")
    on_disk = (artifacts / manifest["artifact"]).read_bytes()
    assert manifest["sha256"] == hashlib.sha256(on_disk).hexdigest()
    assert all(e["sha256"] is None for e in entries if e["kind"] == "notes-series")
