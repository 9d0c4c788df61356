"""Artifact granularity: one test per artifact, the same checks, outcomes and evidence as one per rule."""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
import shutil
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

# The inner runs import hypothesis (through its pytest plugin); imported once here (see test_plugin).
import hypothesis
import pytest
from hypothesis import strategies as st

from pytest_torghut_rollout.checking.model import ArtifactKind
from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.contract.models import CANARY_PHASE, GATE_PHASE, PHASE_ORDER, SLO_GATE_PREFIX, phase_index
from pytest_torghut_rollout.testing.simulate import SimulationOptions, simulate

TreeWriter = Callable[..., Path]

ARTIFACT = "--torghut-granularity=artifact"
MANIFEST_ID = "run1/rollout/phase-manifest.json"
MANIFEST_ITEM = f"{MANIFEST_ID}::checks"
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
ADVISORY = "pytest_torghut_rollout.plugin.items.TorghutAdvisoryWarning"
FUTURE = "2099-01-01"


def rules_for(kind: ArtifactKind) -> int:
    """How many rules apply to an artifact of ``kind`` (no opt-in rule)."""
    return len(REGISTRY.for_kind(kind))


MANIFEST_RULES = rules_for("manifest")
SERIES_RULES = rules_for("notes-series")
NOTE_RULES = rules_for("scheduler-note")
#: The conforming tree: a manifest, a series and its two notes; with one item per rule, each check is one test.
TREE_CHECKS = MANIFEST_RULES + SERIES_RULES + 2 * NOTE_RULES
#: With one item per artifact: four checks items and the discovery test.
TREE_ITEMS = 4 + 1
#: Notes are read when their item runs, so collection counts for each every rule any note may need.
NOTE_RULES_UNREAD = len(
    {rule.id for kind in ("scheduler-note", "lane-note", "unrecognised-note") for rule in REGISTRY.for_kind(kind)}
)
TREE_CHECKS_UNREAD = MANIFEST_RULES + SERIES_RULES + 2 * NOTE_RULES_UNREAD


def artifacts_arg(path: Path) -> str:
    """The ``--torghut-artifacts`` option for ``path``."""
    return f"--torghut-artifacts={path}"


def break_adjacency(manifest: dict[str, Any]) -> None:
    """Three TM012 findings: the transition into paper-canary skips it, the next starts wrong, the last is missing."""
    transitions = manifest["phase_transitions"]
    into = phase_index(CANARY_PHASE) - 1
    transitions[into]["to"] = PHASE_ORDER[into + 2]
    transitions[into + 1]["from"] = PHASE_ORDER[into]
    del transitions[-1]


def break_phase_count(manifest: dict[str, Any]) -> None:
    """A phase_count that does not count the phases (TM011's finding, beside TM012's)."""
    manifest["phase_count"] = len(manifest["phases"]) - 1


def drop_promotion_gates(manifest: dict[str, Any]) -> None:
    """One TM016 (advisory) finding: gate-evaluation lists only its slo_* gates."""
    phase = manifest["phases"][phase_index(GATE_PHASE)]
    phase["slo_gates"] = [g for g in phase["slo_gates"] if g["id"].startswith(SLO_GATE_PREFIX)]


def evidence(pytester: pytest.Pytester, name: str = "evidence.json") -> dict[str, Any]:
    """The evidence summary a run wrote."""
    loaded: dict[str, Any] = json.loads((pytester.path / name).read_text(encoding="utf-8"))
    return loaded


def checks_of(summary: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    """Each check of an evidence summary as (artifact, rule, outcome, findings as JSON)."""
    return {
        (artifact["path"], check["rule"], check["outcome"], json.dumps(check["findings"], sort_keys=True))
        for artifact in summary["artifacts"]
        for check in artifact["checks"]
    }


#: What records of the same tree may differ in: when and how pytest ran, at which granularity, the shards.
VARYING = (
    "generated_at",
    "environment.started_at",
    "environment.finished_at",
    "environment.command",
    "options.granularity",
    "merged_from",
)


def comparable(record: dict[str, Any]) -> str:
    """``record`` without what may vary (``VARYING``), as indented JSON for a readable difference."""
    record = copy.deepcopy(record)
    for dotted in VARYING:
        *parents, last = dotted.split(".")
        holder = record
        for part in parents:
            holder = holder[part]
        holder.pop(last, None)
    return json.dumps(record, indent=1, sort_keys=True)


def failing_rules(summary: dict[str, Any]) -> set[str]:
    """The rules whose checks found violations."""
    return {rule for _, rule, outcome, _ in checks_of(summary) if outcome == "failed"}


# -- the option ---------------------------------------------------------------------------------


def test_an_unknown_granularity_is_a_usage_error_naming_the_value(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), "--torghut-granularity=file")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*'file' is not a granularity: choose rule or artifact*"])


def test_an_unknown_granularity_in_the_ini_file_names_the_ini_key(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_granularity = checks\n")
    result = pytester.runpytest(artifacts_arg(artifacts))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*torghut_granularity (in *tox.ini): 'checks' is not a granularity*"])


@pytest.mark.parametrize("source", ["option", "ini"])
def test_artifact_granularity_collects_one_item_per_artifact(
    pytester: pytest.Pytester, artifacts: Path, source: str
) -> None:
    args = [artifacts_arg(artifacts), "--collect-only", "-q"]
    if source == "option":
        args.append(ARTIFACT)
    else:
        pytester.makeini("[pytest]\ntorghut_granularity = artifact\n")
    result = pytester.runpytest(*args)
    ids = [line for line in result.outlines if "::" in line]
    assert ids == [
        "torghut::discovery",
        "notes::checks",
        "notes/iteration-1.md::checks",
        "notes/iteration-2.md::checks",
        MANIFEST_ITEM,
    ]


def test_the_command_line_granularity_wins_over_the_ini_file(pytester: pytest.Pytester, artifacts: Path) -> None:
    pytester.makeini("[pytest]\ntorghut_granularity = artifact\n")
    result = pytester.runpytest(artifacts_arg(artifacts), "--torghut-granularity=rule", "--collect-only", "-q")
    assert f"{MANIFEST_ID}::TM012-transition-adjacency" in result.outlines


# -- outcomes ------------------------------------------------------------------------------------


def test_a_conforming_tree_passes_with_the_same_checks(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), ARTIFACT, "--torghut-evidence=evidence.json")
    assert result.ret == pytest.ExitCode.OK
    # The series' TN022 and TN023 cannot judge this tree, but its other rules conform: it passes.
    result.assert_outcomes(passed=TREE_ITEMS)
    summary = evidence(pytester)
    assert summary["result"] == "pass"
    assert summary["totals"]["checks"] == TREE_CHECKS
    assert summary["totals"]["not_evaluated"] == 2
    assert summary["selection"] == {
        "collected": TREE_CHECKS + 1,
        "selected": TREE_CHECKS + 1,
        "deselected": 0,
        "reported": TREE_CHECKS + 1,
        "partial": False,
        "how": [],
    }
    result.stdout.fnmatch_lines([f"{TREE_CHECKS} checks of 4 artifacts against the rollout contract."])


def test_an_artifact_item_fails_with_every_failing_rule_grouped_by_rule(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    break_phase_count(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), ARTIFACT, "--torghut-evidence=evidence.json")
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    failing = sorted(failing_rules(evidence(pytester)))
    assert "TM012" in failing
    assert len(failing) >= 2
    # Each failing rule's text, in rule order, as one item per rule would print it.
    text = result.stdout.str()
    starts = [text.index(f"{REGISTRY[rule].name.replace('-', ' ', 1)}: ") for rule in failing]
    assert starts == sorted(starts)
    result.stdout.fnmatch_lines(
        [
            "*_ [[]torghut] manifest checks _*",
            "TM012 transition-adjacency: transition 4 does not join adjacent phases",
            f"  artifact: {MANIFEST_ID}",
            "  at:       /phase_transitions/3/to",
            "  (+2 more findings; run with -v to list all)",
        ]
    )
    result.stdout.fnmatch_lines([f"FAILED {MANIFEST_ITEM} - TM008 phase-count: *"])
    assert "Traceback" not in text


def test_an_artifact_no_rule_of_which_can_judge_is_skipped_naming_why(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    # A single note given alone: the series rules of its series cannot judge it.
    note = artifacts / "notes" / "iteration-2.md"
    result = pytester.runpytest(artifacts_arg(note), ARTIFACT, "-rs")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=2, skipped=1)  # the discovery test and the note pass
    result.stdout.fnmatch_lines(
        ["SKIPPED [[]1] notes::checks: not evaluated: TN020: only iteration-2.md was given, not its notes/ *; TN021: *"]
    )


def test_an_unreadable_artifact_fails_once_and_its_other_rules_are_not_evaluated(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    (artifacts / "run1" / "rollout" / "phase-manifest.json").write_text("{not json", encoding="utf-8")
    result = pytester.runpytest(artifacts_arg(artifacts), ARTIFACT, "--torghut-evidence=evidence.json")
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    result.stdout.fnmatch_lines(["TM001 top-level-fields: cannot check: *"])
    outcomes = {rule: outcome for art, rule, outcome, _ in checks_of(evidence(pytester)) if art == MANIFEST_ID}
    assert outcomes.pop("TM001") == "failed"
    assert set(outcomes.values()) == {"not-evaluated"}


def test_a_broken_note_fails_its_test_named_as_a_note_before_it_is_read(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    (artifacts / "notes" / "iteration-2.md").write_text("{not json", encoding="utf-8")
    result = pytester.runpytest(artifacts_arg(artifacts), ARTIFACT, "--torghut-evidence=evidence.json")
    result.stdout.fnmatch_lines(["*_ [[]torghut] note checks _*", "TN001 *: *invalid JSON note at line 1*"])
    outcomes = {rule: out for art, rule, out, _ in checks_of(evidence(pytester)) if art == "notes/iteration-2.md"}
    assert outcomes.pop("TN001") == "failed"
    # Read, a JSON note is a scheduler note: its rules, not evaluated; never a lane note's TN009.
    assert set(outcomes.values()) == {"not-evaluated"}
    assert "TN009" not in outcomes


@pytest.mark.filterwarnings(f"always::{ADVISORY}")
def test_an_advisory_finding_warns_and_passes(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), ARTIFACT)
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=TREE_ITEMS, warnings=1)
    result.stdout.fnmatch_lines(
        [
            f"*{MANIFEST_ID}:0: TorghutAdvisoryWarning: TM016 promotion-gate-entries: *",
            "1 advisory check warned; rerun with --torghut-strict to make advisories fail.",
        ]
    )


def test_warnings_as_errors_make_an_advisory_a_violation(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    drop_promotion_gates(manifest)
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), ARTIFACT, "-W", f"error::{ADVISORY}")
    result.assert_outcomes(failed=1, passed=TREE_ITEMS - 1)
    result.stdout.fnmatch_lines(["TM016 promotion-gate-entries: *", "1 check found violations in 1 artifact;*"])
    result.stdout.fnmatch_lines(["*_ [[]torghut] manifest checks _*"])
    assert "Traceback" not in result.stdout.str()


# -- -k picks the rules an artifact item checks --------------------------------------------------


def test_keyword_checks_only_the_matching_rule_and_the_run_is_partial(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_phase_count(manifest)  # fails a rule other than TM012: it must not run
    root = write_tree(manifest=manifest)
    result = pytester.runpytest(artifacts_arg(root), ARTIFACT, "-k", "TM012", "-v", "--torghut-evidence=e.json")
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(passed=1, deselected=TREE_ITEMS - 1)
    result.stdout.fnmatch_lines([f"{MANIFEST_ITEM} PASSED*"])
    summary = evidence(pytester, "e.json")
    assert {(art, rule) for art, rule, _, _ in checks_of(summary)} == {(MANIFEST_ID, "TM012")}
    assert summary["result"] == "incomplete"
    # The notes were never read (deselected): each counts every rule a note may need.
    assert summary["selection"] == {
        "collected": TREE_CHECKS_UNREAD + 1,
        "selected": 1,
        "deselected": TREE_CHECKS_UNREAD,
        "reported": 1,
        "partial": True,
        "how": ["-k TM012"],
        # What collection counted before any note was read, for evidence merge.
        "before_reading": {
            "collected": TREE_CHECKS_UNREAD + 1,
            "found": {"manifest": 1, "note": 2, "notes-series": 1},
        },
    }
    assert summary["discovery"]["found"] == {"manifest": 1, "note": 2, "notes-series": 1}
    result.stdout.fnmatch_lines(
        [f"This was a partial run: 1 of {TREE_CHECKS_UNREAD + 1} checks selected; it is not evidence of conformance."]
    )


def test_a_negated_keyword_leaves_one_rule_out_of_every_item(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest(artifacts_arg(artifacts), ARTIFACT, "-k", "not TM012", "--torghut-evidence=e.json")
    result.assert_outcomes(passed=TREE_ITEMS)
    checks = checks_of(evidence(pytester, "e.json"))
    assert len(checks) == TREE_CHECKS - 1
    assert "TM012" not in {rule for _, rule, _, _ in checks}
    assert evidence(pytester, "e.json")["selection"]["deselected"] == 1


def test_keywords_match_rule_slugs_and_select_the_same_checks_as_one_item_per_rule(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    expression = "transition-adjacency or (TN0 and not notes-contiguous) or not (TM001 or phase)"
    pytester.runpytest(artifacts_arg(artifacts), "-k", expression, "--torghut-evidence=rule.json")
    pytester.runpytest(artifacts_arg(artifacts), ARTIFACT, "-k", expression, "--torghut-evidence=artifact.json")
    per_rule, per_artifact = evidence(pytester, "rule.json"), evidence(pytester, "artifact.json")
    assert checks_of(per_artifact) == checks_of(per_rule)
    assert per_artifact["selection"] == per_rule["selection"]


# -- evidence, JUnit, pytest-html, Allure ---------------------------------------------------------


def test_junit_xml_lists_every_check_of_the_artifact_item(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), ARTIFACT, "--junitxml=junit.xml")
    cases = {
        (case.get("classname"), case.get("name")): case
        for case in ET.parse(pytester.path / "junit.xml").iter("testcase")
    }
    case = cases[(MANIFEST_ID, "checks")]
    properties = [(p.get("name", ""), p.get("value", "")) for p in case.iter("property")]
    rules = [value for name, value in properties if name == "torghut_rule"]
    assert rules == [rule.id for rule in REGISTRY.for_kind("manifest")]
    outcomes = dict(zip(rules, [v for n, v in properties if n == "torghut_outcome"], strict=True))
    assert outcomes["TM012"] == "violation"
    assert outcomes["TM001"] == "conforms"
    assert case.find("failure") is not None


def test_html_report_carries_one_row_per_artifact_with_every_checks_evidence(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), ARTIFACT, "--html=report.html")
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    (entry,) = json.loads(html.unescape(blob.group(1)))["tests"][MANIFEST_ITEM]
    extras = {extra["name"]: extra for extra in entry["extras"]}
    assert "TM012 rule" in extras
    assert "TM001 rule" not in extras  # it conformed: named in the row, its text not repeated
    loaded = json.loads((pytester.path / extras["Evidence"]["content"]).read_text(encoding="utf-8"))
    outcomes = {check["rule"]: check["outcome"] for check in loaded["checks"]}
    assert outcomes["TM012"] == "violation"
    assert len(outcomes) == MANIFEST_RULES
    rules = " ".join(rule.id for rule in REGISTRY.for_kind("manifest"))
    assert f"<td>{rules}</td>" in html.unescape(blob.group(1))
    # An artifact whose every check conformed is its row alone: no rule texts, no evidence extra.
    tests = json.loads(html.unescape(blob.group(1)))["tests"]
    # (The notes series is not: TN022 and TN023 are not evaluated outside git and without a ledger.)
    conforming = [rows[0] for name, rows in tests.items() if "/iteration-" in name]
    assert conforming
    assert all(row["result"] == "Passed" and row["extras"] == [] for row in conforming), conforming


def test_allure_result_of_an_artifact_item_lists_every_check(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    pytester.runpytest(artifacts_arg(root), ARTIFACT, "--alluredir=allure")
    results = [json.loads(p.read_text(encoding="utf-8")) for p in (pytester.path / "allure").glob("*-result.json")]
    (result,) = [r for r in results if {"name": "artifact", "value": repr(MANIFEST_ID)} in r.get("parameters", [])]
    assert result["status"] == "failed"
    labelled = {label["value"] for label in result["labels"] if label["name"] == "torghut_rule"}
    assert labelled == {rule.id for rule in REGISTRY.for_kind("manifest")}
    (attachment,) = [a for a in result["attachments"] if a["name"] == "Evidence"]
    loaded = json.loads((pytester.path / "allure" / attachment["source"]).read_text(encoding="utf-8"))
    assert {check["rule"]: check["outcome"] for check in loaded["checks"]}["TM012"] == "violation"
    digest = hashlib.sha256((root / MANIFEST_ID).read_bytes()).hexdigest()
    assert {"name": "sha256", "value": repr(digest), "excluded": True} in result["parameters"]
    # An artifact whose every check conformed has no attachment: its rules are its labels, and
    # the evidence record lists its checks (three files per artifact made a year of cycles heavy).
    notes = [r for r in results if "/iteration-" in r["fullName"] or "iteration-" in str(r.get("parameters"))]
    assert notes
    for note in notes:
        assert note["status"] == "passed"
        assert note.get("attachments", []) == []
        assert [p["name"] for p in note["parameters"]] == ["artifact", "sha256"]


# -- waivers -------------------------------------------------------------------------------------


def waiver_table(rule: str, owner: str = "alice@example.com") -> str:
    """One live ``[[waiver]]`` table covering ``rule`` on the manifests of the tree."""
    return (
        f'[[waiver]]\nrule = "{rule}"\nartifact = "run*/rollout/phase-manifest.json"\n'
        f'reason = "known, PROJ-12"\nowner = "{owner}"\nexpires = {FUTURE}\n\n'
    )


@pytest.fixture
def today(monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge waivers by a fixed date, for in-process runs."""
    monkeypatch.setattr("pytest_torghut_rollout.checking.waivers.today_utc", lambda: date(2026, 4, 2))


@pytest.mark.usefixtures("today")
def test_a_waiver_covering_every_failure_of_an_artifact_makes_it_an_xfail(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    (pytester.path / "waivers.toml").write_text(waiver_table("TM012"), encoding="utf-8")
    result = pytester.runpytest(
        artifacts_arg(root), ARTIFACT, "--torghut-waivers=waivers.toml", "-rx", "--torghut-evidence=e.json"
    )
    assert result.ret == pytest.ExitCode.OK
    result.assert_outcomes(xfailed=1, passed=TREE_ITEMS)  # with the waivers test
    result.stdout.fnmatch_lines(
        [
            "1 check failed under a waiver; open risks, not passes, until fixed:",
            # The check's id, as with one test per rule; the test that ran it is the artifact's.
            f"  {MANIFEST_ID}::TM012-transition-adjacency (3 findings) owned by alice@example.com, "
            f"waiver 1 expires {FUTURE}: *",
        ]
    )
    result.stdout.fnmatch_lines([f"XFAIL {MANIFEST_ITEM} - *waived by waiver 1 (owned by alice@example.com*"])
    risks = evidence(pytester, "e.json")["waivers"]["open_risks"]
    assert [(risk["nodeid"], risk["rule"], risk["owner"]) for risk in risks] == [
        (f"{MANIFEST_ID}::TM012-transition-adjacency", "TM012", "alice@example.com")
    ]


@pytest.mark.usefixtures("today")
def test_a_waiver_covering_part_of_an_artifacts_failures_does_not_make_it_an_xfail(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    break_adjacency(manifest)
    break_phase_count(manifest)
    root = write_tree(manifest=manifest)
    (pytester.path / "waivers.toml").write_text(waiver_table("TM012"), encoding="utf-8")
    result = pytester.runpytest(
        artifacts_arg(root), ARTIFACT, "--torghut-waivers=waivers.toml", "--torghut-evidence=e.json"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.assert_outcomes(failed=1, passed=TREE_ITEMS)
    result.stdout.fnmatch_lines(["  waiver:   1, owned by alice@example.com, expires 2099-01-01: known, PROJ-12"])
    checks = checks_of(evidence(pytester, "e.json"))
    outcomes = {rule: outcome for art, rule, outcome, _ in checks if art == MANIFEST_ID}
    # The waived check is an open risk in the evidence even though its item failed for another rule.
    assert outcomes["TM012"] == "waived"
    assert "failed" in outcomes.values()


# -- the same checks at both granularities --------------------------------------------------------


def fixture_trees() -> list[Any]:
    """Every fixture tree: fixtures/valid, valid-absolute (unmapped), conforming/*, invalid/<rule>."""
    trees = [
        FIXTURES / "valid",
        FIXTURES / "valid-absolute",
        *sorted((FIXTURES / "conforming").iterdir()),
        *sorted((FIXTURES / "invalid").iterdir()),
    ]
    # A few in the fast tier (a manifest rule, cross references, a series); every tree with --run-slow.
    fast = {"valid", "invalid/TM012", "invalid/TN008", "invalid/TN009", "invalid/TN021"}
    return [
        pytest.param(tree, id=name, marks=() if name in fast else pytest.mark.slow)
        for tree in trees
        if tree.is_dir()
        for name in (tree.relative_to(FIXTURES).as_posix(),)
    ]


def both_granularities(pytester: pytest.Pytester, *args: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The evidence of a run at rule and at artifact granularity, with the same arguments."""
    pytester.runpytest(*args, "--torghut-evidence=rule.json", "-p", "no:randomly")
    pytester.runpytest(*args, ARTIFACT, "--torghut-evidence=artifact.json", "-p", "no:randomly")
    return evidence(pytester, "rule.json"), evidence(pytester, "artifact.json")


@pytest.mark.filterwarnings(f"always::{ADVISORY}")
@pytest.mark.parametrize("tree", fixture_trees())
def test_every_fixture_tree_gets_the_same_checks_at_both_granularities(pytester: pytest.Pytester, tree: Path) -> None:
    per_rule, per_artifact = both_granularities(pytester, artifacts_arg(tree), "--torghut-allow-tracked-notes")
    assert per_rule["totals"]["checks"] > 0
    assert (per_rule["options"]["granularity"], per_artifact["options"]["granularity"]) == ("rule", "artifact")
    # The whole record, facts and governance summary included, not only the checks.
    assert comparable(per_artifact) == comparable(per_rule)


@pytest.mark.slow
@pytest.mark.filterwarnings(f"always::{ADVISORY}")
@hypothesis.settings(max_examples=8, deadline=None, suppress_health_check=list(hypothesis.HealthCheck))
@hypothesis.given(seed=st.integers(0, 2**16), runs=st.integers(1, 6), faults=st.integers(0, 4))
def test_simulated_trees_with_faults_get_the_same_checks_at_both_granularities(
    pytester: pytest.Pytester, seed: int, runs: int, faults: int
) -> None:
    out = pytester.path / f"t-{seed}-{runs}-{faults}"
    simulate(SimulationOptions(runs=runs, seed=seed, out=out, faults=min(faults, runs)))
    per_rule, per_artifact = both_granularities(pytester, artifacts_arg(out), "--torghut-allow-tracked-notes")
    assert comparable(per_artifact) == comparable(per_rule)


@pytest.mark.slow
@pytest.mark.parametrize("keyword", [[], ["-k", "TM012 or TN0"]], ids=["all", "keyword"])
def test_xdist_workers_report_every_check_of_an_artifact_item(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], keyword: list[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest, runs=("run1", "run2"))
    args = [artifacts_arg(root), ARTIFACT, *keyword]
    pytester.runpytest(*args, "--torghut-evidence=serial.json")
    # Each worker process would import hypothesis for its plugin: ~1 s apiece.
    pytester.runpytest_subprocess("-p", "no:hypothesispytest", "-n", "2", *args, "--torghut-evidence=xdist.json")
    serial, xdist = evidence(pytester, "serial.json"), evidence(pytester, "xdist.json")
    assert comparable(xdist) == comparable(serial)
    assert xdist["result"] == serial["result"] == "fail"


# -- sharding with pytest-split ------------------------------------------------------------------


#: The ``torghut-rollout`` command as installed beside this Python (its module when the script is not found).
TORGHUT_ROLLOUT = (
    [script]
    if (script := shutil.which("torghut-rollout", path=str(Path(sys.executable).parent)))
    else [sys.executable, "-m", "pytest_torghut_rollout"]
)


def executed(recorder: pytest.HookRecorder) -> list[str]:
    """The node ids that ran to an outcome: each test's call, or its setup when it did not get that far."""
    reports = recorder.getreports("pytest_runtest_logreport")
    return [r.nodeid for r in reports if r.when == "call" or (r.when == "setup" and not r.passed)]


@pytest.mark.slow
@pytest.mark.filterwarnings(f"always::{ADVISORY}")
@pytest.mark.parametrize("granularity", ["rule", "artifact"])
def test_pytest_split_groups_partition_the_checks_exactly(pytester: pytest.Pytester, granularity: str) -> None:
    pytest.importorskip("pytest_split")
    out = pytester.path / "t"
    simulate(SimulationOptions(runs=4, seed=11, out=out, faults=2))
    args = [artifacts_arg(out), f"--torghut-granularity={granularity}", "-p", "no:randomly"]
    full = executed(pytester.inline_run(*args, "--torghut-evidence=full.json"))
    assert len(full) == len(set(full)) > 3
    groups = [
        executed(pytester.inline_run(*args, "--splits", "3", "--group", str(k), f"--torghut-evidence=g{k}.json"))
        for k in (1, 2, 3)
    ]
    shards = [node for group in groups for node in group]
    assert all(groups)
    assert sorted(shards) == sorted(full)  # every check in exactly one group: none lost, none twice
    # Each shard is partial evidence, named as such; together they hold the full run's checks.
    parts = [evidence(pytester, f"g{k}.json") for k in (1, 2, 3)]
    assert all(part["selection"]["partial"] for part in parts)
    assert [part["selection"]["how"] for part in parts] == [[f"--splits 3 --group {k}"] for k in (1, 2, 3)]
    # Merged with the command CI runs, the shards' records are the one job's record.
    merge = [*TORGHUT_ROLLOUT, "evidence", "merge", "g1.json", "g2.json", "g3.json", "-o", "merged.json"]
    done = subprocess.run(merge, cwd=pytester.path, capture_output=True, text=True, check=False)
    covered = [{entry["path"] for entry in part["artifacts"]} for part in parts]
    split = sorted({path for k, mine in enumerate(covered) for other in covered[k + 1 :] for path in mine & other})
    if granularity == "rule" and split:
        # One test per rule: pytest-split may put an artifact's rules in two groups, which merge
        # refuses (the README shards at artifact granularity for this reason).
        assert done.returncode == 2
        assert "shards must check disjoint artifacts" in done.stderr
        assert any(f"both cover {path}:" in done.stderr for path in split)
        return
    assert not split
    assert done.returncode == 0, done.stderr
    merged, one_job = evidence(pytester, "merged.json"), evidence(pytester, "full.json")
    assert [shard["file"] for shard in merged["merged_from"]] == ["g1.json", "g2.json", "g3.json"]
    assert comparable(merged) == comparable(one_job)
    assert merged["result"] == one_job["result"] == "fail"


# -- lazy reading --------------------------------------------------------------------------------

#: Records, per process, every artifact file read and every test that ran there.
SPY_CONFTEST = """
import os

import pytest_torghut_rollout.checking.discovery as discovery

_read_text = discovery._read_text
WORKER = os.environ.get("PYTEST_XDIST_WORKER", "main")


def _spy(path, *args, **kwargs):
    with open(f"reads-{WORKER}.txt", "a", encoding="utf-8") as log:
        log.write(f"{path}\\n")
    return _read_text(path, *args, **kwargs)


discovery._read_text = _spy


class Ran:
    # Registered, not a conftest hook: conftest hooks reach only items under the conftest's directory.
    def pytest_runtest_logreport(self, report):
        if "PYTEST_XDIST_WORKER" in os.environ and report.when == "setup":
            with open(f"ran-{WORKER}.txt", "a", encoding="utf-8") as log:
                log.write(f"{report.nodeid}\\n")


def pytest_configure(config):
    config.pluginmanager.register(Ran(), "ran")
"""


@pytest.fixture
def spy(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    """Log, in the runs of this test, each file read and each test run, by process (``logged``).

    The runs are subprocesses: under xdist they would inherit this suite's own worker name and
    log under it, so it is cleared (the runs' own workers set theirs).
    """
    monkeypatch.delenv("PYTEST_XDIST_WORKER", raising=False)
    pytester.makeconftest(SPY_CONFTEST)


def logged(pytester: pytest.Pytester, kind: str) -> dict[str, list[str]]:
    """What the spy logged, by process: ``reads`` (files) or ``ran`` (node ids)."""
    return {
        path.stem.removeprefix(f"{kind}-"): path.read_text(encoding="utf-8").split()
        for path in sorted(pytester.path.glob(f"{kind}-*.txt"))
    }


@pytest.mark.usefixtures("spy")
def test_collection_at_artifact_granularity_reads_no_artifact(pytester: pytest.Pytester, artifacts: Path) -> None:
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", artifacts_arg(artifacts), ARTIFACT, "--co")
    assert result.ret == pytest.ExitCode.OK
    assert logged(pytester, "reads") == {}
    # One item per rule needs each note's kind to know its rules, so it reads at collection.
    pytester.runpytest_subprocess("-p", "no:hypothesispytest", artifacts_arg(artifacts), "--co")
    assert len(logged(pytester, "reads")["main"]) == 3


@pytest.mark.usefixtures("spy")
def test_a_process_reads_each_note_once_for_its_series_and_once_for_its_own_check(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    # The series' cross references, its summary and its own checks share one read of its notes.
    result = pytester.runpytest_subprocess("-p", "no:hypothesispytest", artifacts_arg(artifacts), ARTIFACT)
    assert result.ret == pytest.ExitCode.OK
    reads = Counter(logged(pytester, "reads")["main"])
    notes = {path: count for path, count in reads.items() if Path(path).name.startswith("iteration-")}
    assert len(notes) == 2
    assert set(notes.values()) == {2}, notes


def test_an_artifact_item_keeps_no_parsed_document_once_it_ran(pytester: pytest.Pytester, artifacts: Path) -> None:
    from pytest_torghut_rollout.plugin.granularity import ArtifactItem

    recorder = pytester.inline_run(artifacts_arg(artifacts), ARTIFACT)
    (call,) = recorder.getcalls("pytest_collection_finish")
    items = [item for item in call.session.items if isinstance(item, ArtifactItem)]
    assert len(items) == 4
    for item in items:
        assert item.checked is not None
        assert item.checked.data is None
        assert item.checked.schema_issues == ()
        assert item.results == {}  # the reports carry them; pytest keeps every item to the end
        assert item.facts is None
    assert {item.artifact.kind for item in items} == {"manifest", "notes-series", "scheduler-note"}
    assert all(item.artifact.sha256 for item in items if item.artifact.kind != "notes-series")


def test_one_test_per_rule_lets_an_artifacts_document_go_once_its_rules_ran(
    pytester: pytest.Pytester, artifacts: Path
) -> None:
    from pytest_torghut_rollout.plugin.items import ArtifactFile, RuleItem

    recorder = pytester.inline_run(artifacts_arg(artifacts), "--torghut-evidence=evidence.json")
    (call,) = recorder.getcalls("pytest_collection_finish")
    files = {item.parent for item in call.session.items if isinstance(item, RuleItem)}
    assert {f.artifact.kind for f in files} == {"manifest", "notes-series", "scheduler-note"}
    for file in files:
        assert isinstance(file, ArtifactFile)
        assert file.unfinished == 0
        assert file.artifact.data is None  # memory does not grow with the documents checked
        assert file.artifact.sha256 or file.artifact.kind == "notes-series"
    # The evidence was made while the documents were there: the run's phases and series summary.
    record = evidence(pytester, "evidence.json")
    (run,) = record["governance"]["runs"]
    assert len(run["phases"]) == len(PHASE_ORDER)
    (series,) = record["governance"]["notes_series"]
    assert series["iterations"] == 2
    assert series["last_iteration"]["outcome"] != "unreadable"
    # Run again (as a rerun plugin would), a check reads its artifact again.
    manifest = next(f for f in files if f.artifact.kind == "manifest")
    assert manifest.checked_artifact().data["schema_version"]
    assert manifest.artifact.data is not None


def test_a_deselected_rule_does_not_hold_its_artifacts_document(pytester: pytest.Pytester, artifacts: Path) -> None:
    from pytest_torghut_rollout.plugin.items import RuleItem

    recorder = pytester.inline_run(artifacts_arg(artifacts), "-k", "not TM012")
    (call,) = recorder.getcalls("pytest_collection_finish")
    files = {item.parent for item in call.session.items if isinstance(item, RuleItem)}
    manifest = next(f for f in files if f.artifact.kind == "manifest")
    # Only the items that ran count: TM012 never ran, and the others let the document go.
    assert manifest.artifact.data is None


@pytest.mark.slow
@pytest.mark.parametrize("dist", ["loadfile", "load"])
@pytest.mark.usefixtures("spy")
def test_each_xdist_worker_reads_only_the_artifacts_of_the_items_it_runs(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], dist: str
) -> None:
    break_adjacency(manifest)
    runs = tuple(f"run{n}" for n in range(1, 7))
    root = write_tree(manifest=manifest, runs=runs, notes=0)
    args = ["-p", "no:hypothesispytest", artifacts_arg(root), ARTIFACT]
    pytester.runpytest_subprocess(*args, "--torghut-evidence=serial.json")
    (serial_reads,) = logged(pytester, "reads").values()
    assert len(serial_reads) == len(set(serial_reads)) == len(runs)
    for log in pytester.path.glob("reads-*.txt"):
        log.unlink()
    pytester.runpytest_subprocess(*args, "-n", "2", "--dist", dist, "--torghut-evidence=xdist.json")
    reads, ran = logged(pytester, "reads"), logged(pytester, "ran")
    assert "main" not in reads  # the controller reads nothing
    assert set(reads) == set(ran) == {"gw0", "gw1"}
    for worker, files in reads.items():
        # Each manifest is read once, by the worker that ran its item, and by no other.
        mine = {str(root / node.removesuffix("::checks")) for node in ran[worker] if node.endswith("::checks")}
        assert sorted(files) == sorted(mine)
    assert sorted(reads["gw0"] + reads["gw1"]) == sorted(serial_reads)
    serial, xdist = evidence(pytester, "serial.json"), evidence(pytester, "xdist.json")
    assert comparable(xdist) == comparable(serial)
