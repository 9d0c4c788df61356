"""The pytest plugin end to end: options, collection, failure text, reporting, xdist (pytester)."""

from __future__ import annotations

import fnmatch
import gc
import hashlib
import html
import json
import os
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any

# The inner runs import hypothesis (through its pytest plugin) and pytester's in-process runs
# drop what they import, so each run would import and assertion-rewrite it again (~1 s).
import hypothesis  # noqa: F401
import pytest

import pytest_torghut_rollout
from pytest_torghut_rollout.checking.model import CHECK_REFS, ArtifactKind
from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.contract.models import (
    ADJACENT_TRANSITIONS,
    CANARY_PHASE,
    DRIFT_EVIDENCE_FILES,
    GATE_PHASE,
    PHASE_ORDER,
    PROOF_PHASE,
    RUNTIME_PHASE,
    phase_index,
)

TreeWriter = Callable[..., Path]

ADVISORY = "pytest_torghut_rollout.plugin.items.TorghutAdvisoryWarning"
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
#: Checks of each notes series that cannot judge a tree made here, skipped as not evaluated
#: (never passed): TN022, the tree lies outside any git work tree; TN023, no notes ledger is given.
UNJUDGED = 2
TREE_PASSED = TREE_ITEMS - UNJUDGED

MANIFEST_ID = "run1/rollout/phase-manifest.json"
PROD = "/srv/torghut/autonomy"
DRIFT_FILES = tuple(sorted(DRIFT_EVIDENCE_FILES))


def run(pytester: pytest.Pytester, *args: str | os.PathLike[str], xdist: Sequence[str] = ()) -> pytest.RunResult:
    """Run the inner pytest in-process, or in a subprocess when xdist workers are asked for."""
    if xdist:
        # Each process would import (and assertion-rewrite) hypothesis for its plugin: ~1 s apiece.
        return pytester.runpytest_subprocess("-p", "no:hypothesispytest", *xdist, *args)
    return pytester.runpytest(*args)


#: TM012's title, as reports show it (its count follows the contract's phase table).
ADJACENCY_TITLE = REGISTRY["TM012"].title
#: Where break_adjacency's missing last transition belongs.
LAST_TRANSITION = f"/phase_transitions/{len(ADJACENT_TRANSITIONS) - 1}"


def artifacts_arg(path: Path) -> str:
    """The ``--torghut-artifacts`` option for ``path``."""
    return f"--torghut-artifacts={path}"


def failed_ids(result: pytest.RunResult) -> list[str]:
    """The node ids of the short test summary's FAILED lines, sorted."""
    return sorted(m.group(1) for line in result.outlines if (m := re.match(r"FAILED (\S+)", line)))


def break_adjacency(manifest: dict[str, Any]) -> None:
    """Three TM012 findings: the transition into paper-canary skips it, the next starts wrong, the last is missing."""
    transitions = manifest["phase_transitions"]
    into = phase_index(CANARY_PHASE) - 1
    transitions[into]["to"] = PHASE_ORDER[into + 2]
    transitions[into + 1]["from"] = PHASE_ORDER[into]
    del transitions[-1]


def drop_promotion_gates(manifest: dict[str, Any]) -> None:
    """One TM016 (advisory) finding: gate-evaluation lists only its slo_* gates."""
    phase = manifest["phases"][phase_index(GATE_PHASE)]
    phase["slo_gates"] = [g for g in phase["slo_gates"] if g["id"].startswith("slo_")]


def trigger_rollback(manifest: dict[str, Any]) -> None:
    """A conforming rollback, written with production's absolute paths under PROD."""
    refs = [f"{PROD}/run1/{name}" for name in DRIFT_FILES]
    evidence = f"{PROD}/rollback-incidents/incident-1.json"
    for record in (manifest["runtime_governance"], manifest["rollback_proof"]):
        record.update(rollback_triggered=True, artifact_refs=list(refs), rollback_incident_evidence_path=evidence)
    manifest["runtime_governance"]["status"] = "fail"
    runtime, proof = manifest["phases"][phase_index(RUNTIME_PHASE)], manifest["phases"][phase_index(PROOF_PHASE)]
    runtime.update(status="fail", artifact_refs=list(refs))
    runtime["observations"]["rollback_triggered"] = True
    proof["artifact_refs"] = list(refs)
    proof["observations"].update(rollback_triggered=True, rollback_incident_evidence_path=evidence)
    manifest["phase_transitions"][phase_index(RUNTIME_PHASE) - 1]["status"] = "fail"
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
    manifest["phases"][phase_index(RUNTIME_PHASE)]["observations"]["drift_status"] = state


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
            "*--torghut-max-bytes=N*",
            "*--torghut-strict*",
            "*--torghut-check-refs*",
            "*--torghut-evidence=PATH*",
            "*--torghut-waivers=FILE*",
            "*--torghut-allow-tracked-notes*",
            "*--torghut-notes-ledger=FILE*",
        ]
    )
    for key in (
        "torghut_artifacts",
        "torghut_path_map",
        "torghut_min_artifacts",
        "torghut_max_bytes",
        "torghut_strict",
        CHECK_REFS.key,
        "torghut_evidence",
        "torghut_waivers",
        "torghut_allow_tracked_notes",
        "torghut_notes_ledger",
        "torghut_unhealthy_drift_states",
        "torghut_docs_url",
    ):
        result.stdout.fnmatch_lines([f"  {key} *"])


def test_ini_artifacts_key_runs_the_checks(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_artifacts = artifacts\n")
    result = pytester.runpytest()
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
    result.stdout.fnmatch_lines([f"{TREE_CHECKS - UNJUDGED} checks conformed."])


@pytest.mark.parametrize("source", ["option", "ini"])
def test_path_map_lets_production_absolute_paths_resolve(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], source: str
) -> None:
    root = write_rollback_tree(write_tree, manifest)

    unmapped = pytester.runpytest(artifacts_arg(root))
    unmapped.assert_outcomes(failed=2, passed=TREE_PASSED - 2, skipped=UNJUDGED)
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
    mapped.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)


def test_ini_path_map_is_relative_to_the_ini_file(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    write_rollback_tree(write_tree, manifest)
    pytester.makeini(f"[pytest]\ntorghut_artifacts = artifacts\ntorghut_path_map = {PROD}=artifacts\n")
    monkeypatch.chdir(pytester.mkdir("elsewhere"))
    result = pytester.runpytest()
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)


@pytest.mark.parametrize("source", ["option", "ini"])
def test_min_artifacts_raises_the_bar_for_discovery(pytester: pytest.Pytester, artifacts: Path, source: str) -> None:
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_min_artifacts = 5\n")
        result = pytester.runpytest(artifacts_arg(artifacts))
    else:
        result = pytester.runpytest(artifacts_arg(artifacts), "--torghut-min-artifacts=5")
    result.assert_outcomes(failed=1, passed=TREE_CHECKS - UNJUDGED, skipped=UNJUDGED)
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
    result.assert_outcomes(failed=1, passed=TREE_PASSED - 1, skipped=UNJUDGED)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM016-promotion-gate-entries"]
    result.stdout.fnmatch_lines(
        [
            "TM016 promotion-gate-entries: gate-evaluation lists no promotion gate entries (ids like *)",
            "1 check found violations in 1 artifact; fix the artifacts or their producer, see the failed checks.",
        ]
    )


@pytest.mark.parametrize("source", ["option", "ini"])
def test_check_refs_adds_the_opt_in_rule(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], source: str
) -> None:
    manifest["artifact_refs"].append("gates/gate-evaluation.json")
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root)).assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_check_refs = true\n")
        result = pytester.runpytest(artifacts_arg(root))
    else:
        result = pytester.runpytest(artifacts_arg(root), "--torghut-check-refs")
    assert rules_for("manifest", CHECK_REFS.key) == MANIFEST_RULES + 1
    result.assert_outcomes(failed=1, passed=TREE_PASSED, skipped=UNJUDGED)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM024-artifact-refs-exist"]
    result.stdout.fnmatch_lines(["  at:       /artifact_refs/4", '  found:    "gates/gate-evaluation.json"'])


@pytest.mark.parametrize("source", ["option", "ini"])
def test_evidence_option_writes_the_summary(pytester: pytest.Pytester, artifacts: Path, source: str) -> None:
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_evidence = out/evidence.json\n")
        result = pytester.runpytest(artifacts_arg(artifacts))
    else:
        result = pytester.runpytest(artifacts_arg(artifacts), "--torghut-evidence=out/evidence.json")
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
    result.stdout.fnmatch_lines(["Evidence summary written to *out/evidence.json."])
    summary = json.loads((pytester.path / "out" / "evidence.json").read_text(encoding="utf-8"))
    assert summary["result"] == "pass"
    assert summary["totals"]["passed"] == TREE_CHECKS - UNJUDGED


def test_evidence_path_in_the_ini_file_is_relative_to_that_file(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_evidence = out/evidence.json\n")
    elsewhere = pytester.mkdir("elsewhere")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        result = pytester.runpytest(
            artifacts_arg(artifacts), f"--rootdir={pytester.path}", f"-c={pytester.path / 'tox.ini'}"
        )
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
    assert (pytester.path / "out" / "evidence.json").is_file()
    assert not (elsewhere / "out").exists()


def test_unhealthy_drift_states_ini_decides_what_fails_runtime_governance(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    set_drift_status(manifest, "cooldown")
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root)).assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)

    pytester.makeini("[pytest]\ntorghut_unhealthy_drift_states = cooldown drift_detected\n")
    result = pytester.runpytest(artifacts_arg(root))
    result.assert_outcomes(failed=1, passed=TREE_PASSED - 1, skipped=UNJUDGED)
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
    result = pytester.runpytest(artifacts_arg(root), "--html=report.html", "--alluredir=allure")
    result.stdout.fnmatch_lines(["  see:      https://docs.example/torghut/rules.md#tm012"])
    url = "https://docs.example/torghut/rules.md#tm012"
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    (entry,) = json.loads(html.unescape(blob.group(1)))["tests"][f"{MANIFEST_ID}::TM012-transition-adjacency"]
    assert {"name": "TM012 rule", "format_type": "url", "content": url} in [
        {k: e[k] for k in ("name", "format_type", "content")} for e in entry["extras"]
    ]
    allure = [json.loads(p.read_text(encoding="utf-8")) for p in (pytester.path / "allure").glob("*-result.json")]
    (failing,) = [r for r in allure if r["name"] == "TM012-transition-adjacency"]
    assert {"type": "link", "url": url, "name": "TM012 transition-adjacency"} in failing["links"]


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
    pytester.runpytest(artifacts_arg(first), artifacts_arg(second)).assert_outcomes(
        passed=2 * (TREE_CHECKS - UNJUDGED) + 1, skipped=2 * UNJUDGED
    )


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
    pytester.runpytest(artifacts_arg(flat), artifacts_arg(nested)).assert_outcomes(
        passed=checks + 1 - 2 * UNJUDGED, skipped=2 * UNJUDGED
    )


def test_every_item_carries_the_conformance_marker(pytester: pytest.Pytester, artifacts: Path) -> None:
    selected = pytester.runpytest(artifacts_arg(artifacts), "--strict-markers", "-m", "torghut_conformance")
    selected.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
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
    result.assert_outcomes(passed=TREE_PASSED + 1, skipped=UNJUDGED)
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
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
    result.stdout.no_fnmatch_line("*test_plain*")


def test_ini_artifacts_run_alongside_the_projects_testpaths(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    pytester.makeini("[pytest]\ntestpaths = tests\ntorghut_artifacts = artifacts\n")
    pytester.mkpydir("tests").joinpath("test_plain.py").write_text(PLAIN_TEST, encoding="utf-8")
    result = run(pytester, "-v", xdist=xdist_args)
    result.assert_outcomes(passed=TREE_PASSED + 1, skipped=UNJUDGED)
    result.stdout.fnmatch_lines(["*tests/test_plain.py::test_plain*"])
    result.stdout.fnmatch_lines([f"{TREE_CHECKS - UNJUDGED} checks conformed."])


def test_ini_artifacts_run_alongside_the_tests_of_the_current_directory(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    pytester.makeini("[pytest]\ntorghut_artifacts = artifacts\n")
    pytester.makepyfile(test_plain=PLAIN_TEST)
    result = pytester.runpytest("-v")
    result.assert_outcomes(passed=TREE_PASSED + 1, skipped=UNJUDGED)
    result.stdout.fnmatch_lines(["test_plain.py::test_plain PASSED*"])


# -- failure text ------------------------------------------------------------------------------------


def test_violation_prints_the_domain_failure_text(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, passed=TREE_PASSED - 1, skipped=UNJUDGED)
    result.stdout.fnmatch_lines(
        [
            "TM012 transition-adjacency: transition 4 does not join adjacent phases",
            f"  artifact: {MANIFEST_ID}",
            "  at:       /phase_transitions/3/to",
            "  expected: \"paper-canary\" (next after 'drift-gate')",
            '  found:    "runtime-governance"',
            f"  rule:     {ADJACENCY_TITLE} ?required?",
            "  see:      torghut-rollout rules TM012",
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
    into = phase_index(CANARY_PHASE) - 1
    manifest["phase_transitions"][into]["to"] = PHASE_ORDER[into + 2]
    manifest["phase_transitions"][into + 1]["from"] = PHASE_ORDER[into]
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
            f"  -- transition {ADJACENT_TRANSITIONS[-1][0]!r} -> {ADJACENT_TRANSITIONS[-1][1]!r} is missing",
            f"  at:       {LAST_TRANSITION}",
            "  see:      torghut-rollout rules TM012",
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
def test_unreadable_manifest_fails_one_check_and_evaluates_no_other(
    pytester: pytest.Pytester, artifacts: Path, content: bytes, reason: str
) -> None:
    (artifacts / MANIFEST_ID).write_bytes(content)
    result = pytester.runpytest(artifacts_arg(artifacts), "-rfEs")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # The manifest's other checks, and the cross-reference of the note naming it, cannot judge.
    result.assert_outcomes(failed=1, skipped=MANIFEST_RULES + UNJUDGED, passed=TREE_PASSED - MANIFEST_RULES - 1)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM001-top-level-fields"]
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1[]] notes/iteration-2.md::TN008-note-manifest-crossref: not evaluated: *(TM001 reports it)",
            f"SKIPPED [[]1[]] {MANIFEST_ID}::TM002-schema-version: not evaluated: "
            "the artifact cannot be read or parsed (TM001 reports it)",
        ]
    )
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
def test_broken_note_fails_one_check_and_evaluates_no_other(
    pytester: pytest.Pytester, artifacts: Path, content: bytes, kind: ArtifactKind, reason: str
) -> None:
    (artifacts / "notes" / "iteration-2.md").write_bytes(content)
    result = pytester.runpytest(artifacts_arg(artifacts))
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, skipped=rules_for(kind) - 1 + UNJUDGED, passed=TREE_PASSED - NOTE_RULES)
    assert failed_ids(result) == ["notes/iteration-2.md::TN001-note-recognised"]
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
            "Discovery failed, so this run cannot pass; see the torghut::discovery check.",
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
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, warnings=1)
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
    result.assert_outcomes(failed=1, passed=TREE_PASSED - 1, skipped=UNJUDGED)
    result.stdout.fnmatch_lines(
        [
            "TM016 promotion-gate-entries: gate-evaluation lists no promotion gate entries (ids like *)",
            "1 check found violations in 1 artifact; fix the artifacts or their producer, see the failed checks.",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*could not run*")


# -- reporting -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("junit", "evidence"), [(False, False), (True, False), (False, True)], ids=["plain", "junit", "evidence"]
)
def test_a_report_carries_its_evidence_in_one_property_and_only_what_is_asked_for(
    pytester: pytest.Pytester, artifacts: Path, junit: bool, evidence: bool
) -> None:
    """xdist serialises every report: the evidence travels packed, the teardown copy only for
    JUnit XML, the artifact's facts only for an evidence record (or an HTML report's summary),
    and pytest-html extras only when an HTML report is written."""
    # A plugin, not a conftest: conftest hooks only see items under the conftest's directory.
    pytester.syspathinsert()
    pytester.makepyfile(
        spyplug="""
        import json

        SEEN = []

        def pytest_runtest_logreport(report):
            if "TM012" in report.nodeid:
                names = [name for name, _ in report.user_properties]
                SEEN.append((report.when, names, bool(getattr(report, "extras", []))))

        def pytest_unconfigure(config):
            print("SEEN=" + json.dumps(SEEN))
        """
    )
    args = [artifacts_arg(artifacts), "-s", "-p", "spyplug"]
    if junit:
        args.append("--junitxml=junit.xml")
    if evidence:
        args.append("--torghut-evidence=evidence.json")
    result = pytester.runpytest(*args)
    (line,) = [x for x in result.outlines if x.startswith("SEEN=")]
    seen = {when: (names, extras) for when, names, extras in json.loads(line.removeprefix("SEEN="))}
    call_names, call_extras = seen["call"]
    # The artifact's facts ride along once per artifact, on whichever of its reports comes first,
    # when a record will show them.
    assert call_names[0] == "torghut_packed"
    assert set(call_names) <= {"torghut_packed", "torghut_artifact_facts"}
    if not evidence:
        assert call_names == ["torghut_packed"]
    assert call_extras is False  # no --html
    teardown_names, _ = seen["teardown"]
    assert ("torghut_rule" in teardown_names) is junit
    if junit:
        text = (pytester.path / "junit.xml").read_text(encoding="utf-8")
        assert '<property name="torghut_rule" value="TM012" />' in text
        assert "torghut_packed" not in text


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
    assert failing["torghut_doc"] == "torghut-rollout rules TM012"
    assert [f["pointer"] for f in json.loads(failing["torghut_findings"])] == [
        "/phase_transitions/3/to",
        "/phase_transitions/4/from",
        LAST_TRANSITION,
    ]
    assert properties("TM001-top-level-fields")["torghut_outcome"] == "conforms"
    assert json.loads(properties("discovery")["torghut_discovery"]) == {
        "manifest": 1,
        "notes-series": 1,
        "scheduler-note": 2,
    }


def test_junit_classnames_are_artifact_paths_and_the_suite_names_the_run(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    run(pytester, artifacts_arg(artifacts), "--junitxml=junit.xml", "-k", "TM0 or TN0", xdist=xdist_args)
    tree = ET.parse(pytester.path / "junit.xml")
    cases = list(tree.iter("testcase"))
    classnames = {case.get("classname") for case in cases}
    assert classnames == {MANIFEST_ID, "notes/iteration-1.md", "notes/iteration-2.md", "notes"}
    assert len(cases) == TREE_CHECKS  # one test case per check, none opened twice
    (suite,) = tree.iter("testsuite")
    suite_properties = suite.find("properties")
    assert suite_properties is not None
    props = {p.get("name"): p.get("value") for p in suite_properties.iter("property")}
    assert props == {
        "torghut_plugin_version": pytest_torghut_rollout.__version__,
        "torghut_contract": "rollout-contract-v6-06",
        "torghut_artifacts_paths": str(artifacts),
        "torghut_partial": "true",  # -k left the discovery test out
        "torghut_result": "incomplete",
    }


def test_junit_classname_keeps_the_junit_prefix(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.runpytest(artifacts_arg(artifacts), "--junitxml=junit.xml", "--junit-prefix=ci", "-k", "TM012")
    (case,) = ET.parse(pytester.path / "junit.xml").iter("testcase")
    assert case.get("classname") == f"ci.{MANIFEST_ID}"
    properties = {p.get("name"): p.get("value") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    assert properties["torghut_partial"] == "true"


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
    assert summary["discovery"] == {
        "found": {"manifest": 1, "notes-series": 1, "scheduler-note": 2},
        "failed": False,
        "run": True,
        "problems": [],
        "lost_series": [],
    }
    assert summary["selection"]["partial"] is False
    assert summary["options"]["allow_tracked_notes"] is False
    assert summary["options"]["notes_ledger"] is None
    assert summary["opt_outs"] == []
    assert summary["notes_ledger"] is None
    assert summary["totals"] == {
        "artifacts": 4,
        "checks": TREE_CHECKS,
        "passed": TREE_CHECKS - 1 - UNJUDGED,
        "failed": 1,
        "warning": 0,
        "not_evaluated": UNJUDGED,
        "waived": 0,
        "errors": 0,
    }
    assert summary["references_not_followed"] == {"count": 0, "references": [], "hint": ""}
    by_artifact = {a["path"]: a for a in summary["artifacts"]}
    assert list(by_artifact) == ["notes", "notes/iteration-1.md", "notes/iteration-2.md", MANIFEST_ID]
    checks = by_artifact[MANIFEST_ID]["checks"]
    assert [c["rule"] for c in checks] == sorted(c["rule"] for c in checks)
    (violation,) = [c for c in checks if c["outcome"] != "passed"]
    assert violation["rule"] == "TM012"
    assert violation["outcome"] == "failed"
    assert len(violation["findings"]) == 3
    # Values are JSON values, not JSON held in strings; the display text is kept beside them.
    skipped = violation["findings"][0]
    assert (skipped["found"], skipped["found_text"]) == ("runtime-governance", '"runtime-governance"')
    assert skipped["expected"] == skipped["expected_text"]  # prose stays text
    environment = summary["environment"]
    assert set(environment) == {
        "plugin",
        "contract",
        "python",
        "pytest",
        "command",
        "host",
        "started_at",
        "finished_at",
        "artifacts_paths",
        "git_commits",
    }
    assert environment["contract"] == "rollout-contract-v6-06"
    assert environment["pytest"] == pytest.__version__
    assert "--torghut-evidence=evidence.json" in environment["command"]
    assert environment["artifacts_paths"] == [str(root.resolve())]
    assert environment["started_at"] <= environment["finished_at"] == summary["generated_at"]


def test_a_keyword_filtered_run_is_partial_and_never_a_pass(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    result = run(
        pytester, artifacts_arg(artifacts), "-k", "TM012", "--torghut-evidence=evidence.json", xdist=xdist_args
    )
    assert result.ret == pytest.ExitCode.OK
    summary = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert summary["result"] == "incomplete"
    assert summary["selection"] == {
        "collected": TREE_ITEMS,
        "selected": 1,
        "deselected": TREE_ITEMS - 1,
        "reported": 1,
        "partial": True,
        "how": ["-k TM012"],
    }
    assert summary["discovery"] == {
        "found": {"manifest": 1, "notes-series": 1, "scheduler-note": 2},
        "failed": False,
        "run": False,
        "problems": [],
        "lost_series": [],
    }
    result.stdout.fnmatch_lines(
        [f"This was a partial run: 1 of {TREE_ITEMS} checks selected; it is not evidence of conformance."]
    )


def test_every_way_of_deselecting_is_named_and_partial(pytester: pytest.Pytester, artifacts: Path) -> None:
    deselect = f"{MANIFEST_ID}::TM001-top-level-fields"
    pytester.runpytest(
        artifacts_arg(artifacts), "--deselect", deselect, "-m", "torghut_conformance", "--torghut-evidence=e.json"
    )
    selection = json.loads((pytester.path / "e.json").read_text(encoding="utf-8"))["selection"]
    assert selection["how"] == ["-m torghut_conformance", f"--deselect {deselect}"]
    assert (selection["deselected"], selection["partial"]) == (1, True)
    pytester.runpytest(artifacts_arg(artifacts), "--torghut-evidence=e.json", "--collect-only")
    summary = json.loads((pytester.path / "e.json").read_text(encoding="utf-8"))
    assert (summary["result"], summary["selection"]["partial"], summary["selection"]["reported"]) == (
        "incomplete",
        True,
        0,
    )


def test_a_deselected_discovery_test_still_counts_an_empty_directory(pytester: pytest.Pytester) -> None:
    (pytester.path / "empty").mkdir()
    result = pytester.runpytest("--torghut-artifacts=empty", "-k", "not discovery", "--torghut-evidence=e.json")
    summary = json.loads((pytester.path / "e.json").read_text(encoding="utf-8"))
    assert summary["discovery"] == {"found": {}, "failed": True, "run": False, "problems": [], "lost_series": []}
    assert summary["result"] == "incomplete"
    result.stdout.fnmatch_lines(["Discovery found fewer artifacts than required; torghut::discovery was deselected*"])


def test_a_full_green_run_is_a_pass_and_not_partial(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    result = run(pytester, artifacts_arg(artifacts), "--torghut-evidence=evidence.json", xdist=xdist_args)
    assert result.ret == pytest.ExitCode.OK
    summary = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert summary["result"] == "pass"
    assert summary["selection"] == {
        "collected": TREE_ITEMS,
        "selected": TREE_ITEMS,
        "deselected": 0,
        "reported": TREE_ITEMS,
        "partial": False,
        "how": [],
    }
    result.stdout.no_fnmatch_line("*partial run*")


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
    # No documentation site is configured: the extra carries the rule itself, not a dead link.
    assert extras["TM012 rule"]["format_type"] == "html"
    assert ADJACENCY_TITLE in extras["TM012 rule"]["content"]
    assert "phase_transitions" in extras["TM012 rule"]["content"]
    assert not [e for e in entry["extras"] if e["format_type"] == "url"]
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
    assert not failing.get("links")  # no documentation site: the description carries the rule
    assert ADJACENCY_TITLE in failing["description"]
    assert {"name": "tag", "value": "torghut_conformance"} in failing["labels"]
    assert evidence(failing)["outcome"] == "violation"
    assert len(evidence(failing)["findings"]) == 3
    passing = by_name["TM001-top-level-fields"]
    assert passing["status"] == "passed"
    assert evidence(passing) == {"artifact": MANIFEST_ID, "findings": [], "outcome": "conforms", "rule": "TM001"}


def test_allure_results_are_labelled_unique_and_describe_the_run(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], xdist_args: list[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest, runs=("run1", "run2"))
    run(pytester, artifacts_arg(root), "--alluredir=allure", xdist=xdist_args)
    allure = pytester.path / "allure"
    results = [json.loads(p.read_text(encoding="utf-8")) for p in allure.glob("*-result.json")]
    checks = [r for r in results if r["name"] != "discovery"]
    assert len(checks) == 2 * MANIFEST_RULES + SERIES_RULES + 2 * NOTE_RULES
    history = [r["historyId"] for r in results]
    assert len(set(history)) == len(history)  # the same rule on two artifacts: two histories

    def labels(result: dict[str, Any]) -> dict[str, list[str]]:
        found: dict[str, list[str]] = {}
        for label in result["labels"]:
            found.setdefault(label["name"], []).append(label["value"])
        return found

    tm012 = [r for r in checks if r["name"] == "TM012-transition-adjacency"]
    # Allure shows a parameter's value as Python's repr.
    assert {p["value"] for r in tm012 for p in r["parameters"] if p["name"] == "artifact"} == {
        repr("run1/rollout/phase-manifest.json"),
        repr("run2/rollout/phase-manifest.json"),
    }
    one = labels(next(r for r in tm012 if r["parameters"][0]["value"] == repr(MANIFEST_ID)))
    assert one["epic"] == ["torghut rollout contract v6-06"]
    assert one["feature"] == ["manifest"]
    assert one["story"] == [f"TM012 {ADJACENCY_TITLE}"]
    assert one["suite"] == ["run1"]
    assert one["severity"] == ["critical"]
    canary = labels(next(r for r in checks if r["name"] == "TM018-paper-canary-outcome"))
    assert canary["feature"] == ["paper-canary"]
    note = labels(next(r for r in checks if r["name"] == "TN004-note-reason"))
    assert (note["feature"], note["suite"]) == (["scheduler-note"], ["notes"])
    failing = next(r for r in tm012 if r["status"] == "failed")
    assert "phase_transitions" in failing["description"]
    attachments = {a["name"]: (allure / a["source"]).read_text(encoding="utf-8") for a in failing["attachments"]}
    assert len(json.loads(attachments["Evidence"])["findings"]) == 3
    digest = hashlib.sha256((root / MANIFEST_ID).read_bytes()).hexdigest()
    assert attachments["Artifact SHA-256"] in (
        f"{digest}  {MANIFEST_ID}\n",
        f"{digest}  run2/rollout/phase-manifest.json\n",
    )

    environment = dict(
        line.split("=", 1) for line in (allure / "environment.properties").read_text(encoding="utf-8").splitlines()
    )
    assert environment["torghut.contract"] == "rollout-contract-v6-06"
    assert environment["pytest"] == pytest.__version__
    assert set(environment) == {"torghut.plugin", "torghut.contract", "python", "pytest", "torghut.artifacts"}
    categories = json.loads((allure / "categories.json").read_text(encoding="utf-8"))
    assert [c["name"] for c in categories] == [
        "Unreadable artifacts",
        "Missing evidence",
        "Schema violations",
        "Semantic violations",
    ]
    message = failing["statusDetails"]["message"]
    matched = next(c for c in categories if re.fullmatch(c["messageRegex"], message))
    assert matched["name"] == "Semantic violations"


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
            f"{checks - 4 - UNJUDGED} checks conformed.",
            "2 checks found violations in 2 artifacts; fix the artifacts or their producer, see the failed checks.",
            "2 advisory checks warned; rerun with --torghut-strict to make advisories fail.",
        ],
        consecutive=True,
    )
    one = pytester.runpytest(artifacts_arg(root / MANIFEST_ID), "-k", "TM001 or TM012 or TM016")
    one.stdout.fnmatch_lines(
        [
            "3 checks of 1 artifact against the rollout contract.",
            "1 check conformed.",
            "1 check found violations in 1 artifact; fix the artifacts or their producer, see the failed checks.",
            "1 advisory check warned; rerun with --torghut-strict to make advisories fail.",
        ],
        consecutive=True,
    )


# -- xdist ---------------------------------------------------------------------------------------------


def test_conforming_tree_passes(pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]) -> None:
    result = run(pytester, artifacts_arg(artifacts), xdist=xdist_args)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED)
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
    # TM005, TM012 and the one check of the broken note that reports it unparseable.
    assert len(failed_ids(serial)) == 3


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
    on_disk = (artifacts / manifest["path"]).read_bytes()
    assert manifest["sha256"] == hashlib.sha256(on_disk).hexdigest()
    assert all(e["sha256"] is None for e in entries if e["kind"] == "notes-series")


# -- waivers -------------------------------------------------------------------------------------------

WAIVER_WARNING = "pytest_torghut_rollout.plugin.items.TorghutWaiverWarning"
#: An unmatched waiver is a warning; this suite's filterwarnings=error would leak into in-process runs.
show_waiver_warnings = pytest.mark.filterwarnings(f"always::{WAIVER_WARNING}")
TM012_ID = f"{MANIFEST_ID}::TM012-transition-adjacency"
#: Dates far from any real run's: xdist workers are subprocesses, which a patched clock does not reach.
FUTURE, PAST = "2099-01-01", "2000-01-01"
REASON = "the producer drops transitions after a drift rollback, PROJ-12"


def waiver_table(
    rule: str = "TM012",
    artifact: str = "run*/rollout/phase-manifest.json",
    owner: str = "alice@example.com",
    expires: str = FUTURE,
    reason: str = REASON,
) -> str:
    """One ``[[waiver]]`` table; ``expires`` is written unquoted, as a TOML date."""
    return (
        f"[[waiver]]\nrule = {json.dumps(rule)}\nartifact = {json.dumps(artifact)}\n"
        f"reason = {json.dumps(reason)}\nowner = {json.dumps(owner)}\nexpires = {expires}\n\n"
    )


def write_waivers(pytester: pytest.Pytester, *tables: str) -> str:
    """Write ``waivers.toml`` in the test directory; return the ``--torghut-waivers`` option."""
    (pytester.path / "waivers.toml").write_text("".join(tables), encoding="utf-8")
    return "--torghut-waivers=waivers.toml"


def fix_today(monkeypatch: pytest.MonkeyPatch, today: str) -> None:
    """Make ``today`` the date waivers are judged by, for in-process runs."""
    monkeypatch.setattr("pytest_torghut_rollout.checking.waivers.today_utc", lambda: date.fromisoformat(today))


def test_live_waiver_reports_the_failure_as_an_xfail_naming_its_owner(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], xdist_args: list[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = run(pytester, artifacts_arg(root), write_waivers(pytester, waiver_table()), "-rx", xdist=xdist_args)
    assert result.ret == pytest.ExitCode.OK
    # Every check but TM012 passes, as do the discovery and waivers tests.
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, xfailed=1)
    result.stdout.fnmatch_lines(
        [
            f"{TREE_CHECKS - 1 - UNJUDGED} checks conformed.",
            "1 check failed under a waiver; open risks, not passes, until fixed:",
            f"  {TM012_ID} (3 findings) owned by alice@example.com, waiver 1 expires {FUTURE}: {REASON}",
        ],
        consecutive=True,
    )
    # Older pytest (8.1) writes "reason: " before the reason.
    result.stdout.fnmatch_lines(
        [f"XFAIL {TM012_ID} - *waived by waiver 1 (owned by alice@example.com, expires {FUTURE}): {REASON}"]
    )
    result.stdout.no_fnmatch_line("*found violations*")
    result.stdout.no_fnmatch_line("*waived no failure*")


def test_xfail_strict_does_not_make_a_waived_failure_pass(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.makeini("[pytest]\nxfail_strict = true\n")
    result = pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table()))
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, xfailed=1)


def test_runxfail_fails_a_waived_check_with_its_usual_text(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table()), "--runxfail")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == [TM012_ID]
    result.stdout.fnmatch_lines(
        [
            "TM012 transition-adjacency: transition 4 does not join adjacent phases",
            f"  waiver:   1, owned by alice@example.com, expires {FUTURE}: {REASON}",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    result.stdout.no_fnmatch_line("*waived no failure*")


def test_waiver_covers_an_advisory_failure_under_strict(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest)
    option = write_waivers(pytester, waiver_table(rule="TM016"))
    result = pytester.runpytest(artifacts_arg(root), option, "--torghut-strict")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, xfailed=1)
    result.stdout.fnmatch_lines([f"  {MANIFEST_ID}::TM016-promotion-gate-entries (1 finding) owned by alice@*"])


def test_junit_xml_carries_the_waiver_of_a_waived_check(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table()), "--junitxml=junit.xml")
    cases = {
        case.get("name"): case
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
        if case.get("classname", "").startswith("run1")
    }
    case = cases["TM012-transition-adjacency"]
    properties = {p.get("name", ""): p.get("value", "") for p in case.iter("property")}
    assert properties["torghut_outcome"] == "waived"
    assert properties["torghut_waiver_owner"] == "alice@example.com"
    assert properties["torghut_waiver_expires"] == FUTURE
    assert properties["torghut_waiver_reason"] == REASON
    assert len(json.loads(properties["torghut_findings"])) == 3
    skipped = case.find("skipped")
    assert skipped is not None
    assert skipped.get("type") == "pytest.xfail"
    assert "owned by alice@example.com" in skipped.get("message", "")
    assert "torghut_waiver_owner" not in {p.get("name") for p in cases["TM001-top-level-fields"].iter("property")}


def test_html_report_shows_a_waived_check_as_an_expected_failure(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table()), "--html=report.html")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    (entry,) = json.loads(html.unescape(blob.group(1)))["tests"][TM012_ID]
    assert entry["result"].lower() == "xfailed"
    assert "waiver:   1, owned by alice@example.com" in entry["log"]
    assert "1 check failed under a waiver" in page


@pytest.mark.parametrize(
    ("today", "outcome"),
    [pytest.param("2026-06-29", "xfailed", id="day-before"), pytest.param("2026-06-30", "failed", id="on-the-day")],
)
def test_waiver_expires_on_its_date(
    pytester: pytest.Pytester,
    write_tree: TreeWriter,
    manifest: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    today: str,
    outcome: str,
) -> None:
    fix_today(monkeypatch, today)
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table(expires="2026-06-30")))
    if outcome == "xfailed":
        assert result.ret == pytest.ExitCode.OK
        result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, xfailed=1)
        return
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=TREE_PASSED - 1, skipped=UNJUDGED, failed=2)
    assert failed_ids(result) == [TM012_ID, "torghut::waivers"]
    result.stdout.fnmatch_lines(
        [
            "waivers: 1 waiver in waivers.toml has expired and waive nothing (today is 2026-06-30, UTC)",
            "  waiver 1: TM012 on run*/rollout/phase-manifest.json, owned by alice@example.com, expired on 2026-06-30",
            f"    reason: {REASON}",
        ],
        consecutive=True,
    )
    # The failure it waived fails again, and says why.
    result.stdout.fnmatch_lines(
        [
            "TM012 transition-adjacency: transition 4 does not join adjacent phases",
            "  waiver:   1, owned by alice@example.com, expired on 2026-06-30; it waives nothing now "
            "(see torghut::waivers)",
        ]
    )
    result.stdout.fnmatch_lines(
        [
            "1 waiver expired and waived nothing: waiver 1 owned by alice@example.com (expired 2026-06-30); "
            "renew or remove it, see torghut::waivers above.",
            "1 check found violations in 1 artifact; *",
        ]
    )


def test_live_waivers_pass_the_waivers_test(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table()), "-v")
    result.stdout.fnmatch_lines(["torghut::waivers PASSED*"])


def test_xdist_workers_judge_waivers_by_the_controllers_date(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    # Only the controller's clock says 2000-01-01; by the workers' own clocks the waiver has expired.
    pytester.makeconftest(
        """
        import datetime
        import pytest
        import pytest_torghut_rollout.checking.waivers as waivers

        @pytest.hookimpl(tryfirst=True)
        def pytest_configure(config):
            if not hasattr(config, "workerinput"):
                waivers.today_utc = lambda: datetime.date(2000, 1, 1)
        """
    )
    option = write_waivers(pytester, waiver_table(expires="2001-01-01"))
    result = run(pytester, artifacts_arg(root), option, xdist=["-n", "2"])
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, xfailed=1)


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        pytest.param(
            waiver_table().replace('owner = "alice@example.com"\n', ""), "waiver 2: owner is missing", id="owner"
        ),
        pytest.param(
            waiver_table(rule="TM999"),
            "waiver 2: rule 'TM999' is not a rule of this plugin (`torghut-rollout rules` lists them)",
            id="unknown-rule",
        ),
        pytest.param(
            waiver_table(expires="2026-02-30"), "*Invalid date or datetime (at line *), in waiver 2", id="date"
        ),
        pytest.param(
            waiver_table(expires='"soon"'),
            "waiver 2: expires must be a TOML date, unquoted (expires = 2026-06-30), found the string 'soon'",
            id="quoted-date",
        ),
        pytest.param(
            waiver_table().replace("expires = 2099-01-01\n", ""), "waiver 2: expires is missing", id="no-date"
        ),
        pytest.param(waiver_table(reason=" "), "waiver 2: reason is empty", id="empty-reason"),
        pytest.param(
            waiver_table() + 'ticket = "PROJ-12"\n',
            "waiver 2: unknown key 'ticket' (a waiver has rule, artifact, reason, owner, expires)",
            id="unknown-key",
        ),
        pytest.param("[[waiver]\n", "*is not valid TOML: Expected * (at line 8, column *), in waiver 1", id="not-toml"),
    ],
)
def test_malformed_waivers_file_is_a_usage_error_naming_file_waiver_and_problem(
    pytester: pytest.Pytester, artifacts: Path, table: str, problem: str
) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), write_waivers(pytester, waiver_table(), table))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    # The problem follows the file's name on the same line (TOML syntax) or on a line of its own.
    expected = f"*torghut: --torghut-waivers: waivers file waivers.toml *{problem}*"
    assert fnmatch.fnmatchcase(result.stderr.str(), expected), result.stderr.str()


def test_waivers_file_in_the_ini_file_is_relative_to_that_file(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    write_waivers(pytester, waiver_table())
    pytester.makeini("[pytest]\ntorghut_waivers = waivers.toml\n")
    elsewhere = pytester.mkdir("elsewhere")
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(elsewhere)
        result = pytester.runpytest(
            artifacts_arg(root), f"--rootdir={pytester.path}", f"-c={pytester.path / 'tox.ini'}"
        )
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_PASSED, skipped=UNJUDGED, xfailed=1)


def test_missing_waivers_file_from_the_ini_file_names_the_ini_key(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_waivers = gone.toml\n")
    result = pytester.runpytest(artifacts_arg(artifacts))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*torghut_waivers (in *tox.ini): waivers file *gone.toml does not exist"])


def test_waived_checks_are_listed_one_by_one(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest, runs=("run1", "run2"))
    result = pytester.runpytest(artifacts_arg(root), write_waivers(pytester, waiver_table()))
    assert result.ret == pytest.ExitCode.OK
    result.stdout.fnmatch_lines(
        [
            "2 checks failed under a waiver; open risks, not passes, until fixed:",
            f"  {TM012_ID} (3 findings) owned by alice@example.com, *",
            "  run2/rollout/phase-manifest.json::TM012-transition-adjacency (3 findings) owned by alice@example.com, *",
        ],
        consecutive=True,
    )


def test_waived_failure_keeps_its_findings_in_the_evidence(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], xdist_args: list[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    option = write_waivers(pytester, waiver_table())
    args = (artifacts_arg(root), option, "--torghut-evidence=evidence.json")
    assert run(pytester, *args, xdist=xdist_args).ret == pytest.ExitCode.OK
    summary = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert summary["result"] == "pass"
    assert summary["totals"]["waived"] == 1
    assert summary["totals"]["failed"] == 0
    assert summary["waivers"] == {
        "file": "waivers.toml",
        "date": summary["waivers"]["date"],
        "count": 1,
        "open_risks": [
            {
                "nodeid": TM012_ID,
                "rule": "TM012",
                "artifact": MANIFEST_ID,
                "findings": 3,
                "waiver": 1,
                "owner": "alice@example.com",
                "reason": REASON,
                "expires": FUTURE,
            }
        ],
        "expired": [],
        "unmatched": [],
    }
    (manifest_entry,) = [a for a in summary["artifacts"] if a["path"] == MANIFEST_ID]
    (waived,) = [c for c in manifest_entry["checks"] if c["waiver"] is not None]
    assert waived["outcome"] == "waived"
    assert [f["pointer"] for f in waived["findings"]] == [
        "/phase_transitions/3/to",
        "/phase_transitions/4/from",
        LAST_TRANSITION,
    ]


def test_expired_waiver_fails_the_run_under_xdist_too(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], xdist_args: list[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    option = write_waivers(pytester, waiver_table(expires=PAST, owner="bob@example.com"))
    result = run(pytester, artifacts_arg(root), option, "--torghut-evidence=evidence.json", xdist=xdist_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == [TM012_ID, "torghut::waivers"]
    result.stdout.fnmatch_lines([f"  waiver 1: TM012 on *, owned by bob@example.com, expired on {PAST}"])
    summary = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert [w["owner"] for w in summary["waivers"]["expired"]] == ["bob@example.com"]
    assert summary["waivers"]["open_risks"] == []
    assert summary["waivers"]["unmatched"] == []


@show_waiver_warnings
def test_waiver_on_a_conforming_check_leaves_it_passed_and_warns(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    option = write_waivers(pytester, waiver_table())
    result = run(pytester, artifacts_arg(artifacts), option, "--torghut-evidence=evidence.json", xdist=xdist_args)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_PASSED + 1, skipped=UNJUDGED, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*TorghutWaiverWarning: waiver 1 (TM012 on run*/rollout/phase-manifest.json), owned by alice@example.com, "
            "waived no failure in this run: it names 1 check that ran, and none failed; "
            "remove it if stale, or correct its rule or artifact glob",
            f"{TREE_CHECKS - UNJUDGED} checks conformed.",
            "1 waiver waived no failure in this run: waiver 1 owned by alice@example.com; "
            "remove stale waivers or correct their rule or artifact glob.",
        ]
    )
    result.stdout.no_fnmatch_line("*failed under a waiver*")
    summary = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert summary["totals"]["passed"] == TREE_CHECKS - UNJUDGED
    assert summary["waivers"]["open_risks"] == []
    assert [(w["waiver"], w["checks_ran"]) for w in summary["waivers"]["unmatched"]] == [(1, 1)]


@show_waiver_warnings
def test_waiver_on_a_check_not_evaluated_leaves_it_not_evaluated(
    pytester: pytest.Pytester, artifacts: Path, xdist_args: list[str]
) -> None:
    (artifacts / MANIFEST_ID).write_text("[1, 2]", encoding="utf-8")
    option = write_waivers(pytester, waiver_table(rule="TM002"))
    result = run(pytester, artifacts_arg(artifacts), option, "-rfs", xdist=xdist_args)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    # As without the waiver: TM001 fails with the reason, the manifest's other checks are not evaluated.
    result.assert_outcomes(failed=1, skipped=MANIFEST_RULES + UNJUDGED, passed=TREE_PASSED - MANIFEST_RULES, warnings=1)
    assert failed_ids(result) == [f"{MANIFEST_ID}::TM001-top-level-fields"]
    result.stdout.fnmatch_lines([f"SKIPPED [[]1[]] {MANIFEST_ID}::TM002-schema-version: not evaluated: *"])
    result.stdout.fnmatch_lines(["*waiver 1 (TM002 on *)*waived no failure in this run: it names 1 check that ran*"])


@show_waiver_warnings
@pytest.mark.parametrize(
    ("glob", "args"),
    [pytest.param("rnu1/*", (), id="glob-names-nothing"), pytest.param("run1/*", ("-k", "TM001"), id="deselected")],
)
def test_waiver_whose_checks_did_not_run_warns_that_it_matched_nothing(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], glob: str, args: tuple[str, ...]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    option = write_waivers(pytester, waiver_table(artifact=glob))
    result = pytester.runpytest(artifacts_arg(root), option, *args)
    result.stdout.fnmatch_lines(
        [
            f"*TorghutWaiverWarning: waiver 1 (TM012 on {glob}), owned by alice@example.com, waived no failure in "
            "this run: no check it names ran (deselected, or its rule and artifact glob name no check); *"
        ]
    )


def test_unmatched_waiver_fails_the_run_when_warnings_are_errors(pytester: pytest.Pytester, artifacts: Path) -> None:
    option = write_waivers(pytester, waiver_table())
    result = pytester.runpytest(artifacts_arg(artifacts), option, "-W", f"error::{WAIVER_WARNING}")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(passed=TREE_PASSED + 1, skipped=UNJUDGED)
    result.stdout.fnmatch_lines(
        ["1 waiver waived no failure in this run: *. Warning filters make this an error, so the run fails."]
    )
    assert "INTERNALERROR" not in result.stdout.str()


@show_waiver_warnings
def test_collect_only_says_nothing_about_waivers(pytester: pytest.Pytester, artifacts: Path) -> None:
    option = write_waivers(pytester, waiver_table())
    result = pytester.runpytest(artifacts_arg(artifacts), option, "--collect-only", "-q")
    assert result.ret == pytest.ExitCode.OK
    assert "torghut::waivers" in result.outlines
    result.stdout.no_fnmatch_line("*waived no failure*")
    result.stdout.no_fnmatch_line("*warning*")


# -- memory and the garbage collector ------------------------------------------------------------------


class _FreezeSpy:
    """Records how many objects the garbage collector had set aside while each check ran."""

    def __init__(self) -> None:
        self.frozen: list[int] = []

    def pytest_runtest_call(self, item: pytest.Item) -> None:
        self.frozen.append(gc.get_freeze_count())


def test_a_run_of_the_artifacts_alone_sets_collection_aside_from_the_collector_until_it_ends(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    # Items live to the end of the run: a full sweep while checks run would walk them again.
    assert gc.get_freeze_count() == 0
    spy = _FreezeSpy()
    pytester.inline_run(artifacts_arg(artifacts), plugins=[spy])
    assert spy.frozen
    assert min(spy.frozen) > 0
    assert gc.get_freeze_count() == 0  # given back at the end


def test_a_run_with_the_projects_own_tests_leaves_the_collector_alone(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    pytester.makepyfile(test_own="def test_own():\n    pass\n")
    spy = _FreezeSpy()
    pytester.inline_run(artifacts_arg(artifacts), "test_own.py", plugins=[spy])
    assert spy.frozen
    assert max(spy.frozen) == 0
