"""The evidence record: its schema, artifact facts, governance summary, determinism, merge and views."""

from __future__ import annotations

import copy
import hashlib
import html
import json
import re
import subprocess
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (see test_plugin: imported once for the inner runs)
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from pytest_torghut_rollout.checking.model import printable
from pytest_torghut_rollout.cli import main
from pytest_torghut_rollout.contract.models import CANARY_PHASE, PHASE_ORDER, phase_index
from pytest_torghut_rollout.record.view import governance_html, show_lines

TreeWriter = Callable[..., Path]
Git = Callable[..., "subprocess.CompletedProcess[str]"]
MANIFEST_ID = "run1/rollout/phase-manifest.json"
RUN_ID, CANDIDATE_ID = "57d5a9d770b0e86281e11ac3", "cand-57d5a9d770b0"
PATCH = "paper-candidate/strategy-configmap-patch.yaml"
SCHEMA = json.loads((Path(__file__).parent.parent / "conformance" / "evidence.schema.json").read_text("utf-8"))
#: What two records of the same inputs may differ in: when they ran, how pytest was invoked, the shards.
VARYING = ("generated_at", "environment.started_at", "environment.finished_at", "environment.command", "merged_from")
RUN2 = "run2/rollout/phase-manifest.json"
INCIDENT = "rollback-incidents/incident-7.json"
#: One test per rule, or one per artifact reading each artifact when its test runs: the same record.
GRANULARITIES = [[], ["--torghut-granularity=artifact"]]
GRANULARITY_IDS = ["rule", "artifact"]
by_granularity = pytest.mark.parametrize("granularity", GRANULARITIES, ids=GRANULARITY_IDS)


def run(pytester: pytest.Pytester, *args: str, xdist: list[str]) -> pytest.RunResult:
    """The inner pytest in-process, or in a subprocess when xdist options are given."""
    if xdist:
        return pytester.runpytest_subprocess("-p", "no:hypothesispytest", *xdist, *args)
    return pytester.runpytest(*args)


def artifacts_arg(path: Path) -> str:
    return f"--torghut-artifacts={path}"


def write_json(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def break_adjacency(manifest: dict[str, Any]) -> None:
    """Three TM012 findings: the transition into paper-canary skips it, the next starts wrong, the last is missing."""
    transitions = manifest["phase_transitions"]
    into = phase_index(CANARY_PHASE) - 1
    transitions[into]["to"] = PHASE_ORDER[into + 2]
    transitions[into + 1]["from"] = PHASE_ORDER[into]
    del transitions[-1]


def write_waivers(pytester: pytest.Pytester) -> str:
    """A live waiver of TM012 on every run, owned by alice; returns the option."""
    table = (
        '[[waiver]]\nrule = "TM012"\nartifact = "run*/rollout/phase-manifest.json"\n'
        'reason = "the producer drops transitions, PROJ-12"\nowner = "alice@example.com"\nexpires = 2099-01-01\n'
    )
    (pytester.path / "waivers.toml").write_text(table, encoding="utf-8")
    return "--torghut-waivers=waivers.toml"


def record_of(pytester: pytest.Pytester, *args: str, xdist: list[str] | None = None, name: str = "e.json") -> Any:
    """Run the inner pytest with ``--torghut-evidence`` and return the record it wrote."""
    run(pytester, *args, f"--torghut-evidence={name}", xdist=xdist or [])
    return json.loads((pytester.path / name).read_text(encoding="utf-8"))


def stripped(record: dict[str, Any]) -> dict[str, Any]:
    """``record`` without the fields that may vary between runs of the same inputs (``VARYING``)."""
    record = copy.deepcopy(record)
    for dotted in VARYING:
        *parents, last = dotted.split(".")
        holder = record
        for part in parents:
            holder = holder[part]
        holder.pop(last, None)
    return record


def validate(record: dict[str, Any]) -> None:
    errors = sorted(Draft202012Validator(SCHEMA).iter_errors(record), key=str)
    assert not errors, [f"{list(e.absolute_path)}: {e.message}" for e in errors[:5]]


def rollback_manifest(manifest: dict[str, Any], *, run_id: str = "run-two") -> dict[str, Any]:
    """``manifest`` made a second run whose drift policy rolled back, naming incident evidence."""
    manifest = copy.deepcopy(manifest)
    manifest["run_id"] = run_id
    for record in (manifest["runtime_governance"], manifest["rollback_proof"]):
        record.update(rollback_triggered=True, drift_status="drift_detected", rollback_incident_evidence_path=INCIDENT)
    return manifest


def two_runs(write_tree: TreeWriter, manifest: dict[str, Any]) -> Path:
    """A conforming run1, a run2 that rolled back without its incident file (violations), two notes."""
    root = write_tree(runs=("run1",))
    second = write_tree(runs=("run2",), manifest=rollback_manifest(manifest), notes=0)
    assert second == root
    return Path(root)


# -- the record and its schema -------------------------------------------------------------------------


@by_granularity
@pytest.mark.parametrize("case", ["clean", "failing", "partial", "waived"])
def test_real_records_validate_against_the_committed_schema(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], case: str, granularity: list[str]
) -> None:
    if case in ("failing", "waived"):
        break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    extra = {"partial": ["-k", "TM012"], "waived": [write_waivers(pytester)]}.get(case, [])
    record = record_of(pytester, artifacts_arg(root), *extra, *granularity)
    validate(record)
    assert record["schema"] == "torghut-evidence-v1"
    expected = {"clean": "pass", "failing": "fail", "partial": "incomplete", "waived": "pass"}[case]
    assert record["result"] == expected
    outcomes = {c["outcome"] for a in record["artifacts"] for c in a["checks"]}
    assert outcomes <= {"passed", "failed", "warning", "not-evaluated", "waived"}
    if case == "waived":
        assert "waived" in outcomes
        assert record["totals"]["waived"] == 1


def test_a_record_missing_a_field_does_not_validate(pytester: pytest.Pytester, artifacts: Path) -> None:
    record = record_of(pytester, artifacts_arg(artifacts))
    del record["artifacts"][0]["sha256"]
    assert list(Draft202012Validator(SCHEMA).iter_errors(record))


def test_artifact_entries_carry_size_digest_and_manifest_facts(pytester: pytest.Pytester, artifacts: Path) -> None:
    record = record_of(pytester, artifacts_arg(artifacts))
    entries = {e["path"]: e for e in record["artifacts"]}
    assert list(entries) == sorted(entries)
    for path in (MANIFEST_ID, "notes/iteration-1.md", "notes/iteration-2.md"):
        data = (artifacts / path).read_bytes()
        assert entries[path]["sha256"] == hashlib.sha256(data).hexdigest()
        assert entries[path]["size"] == len(data)
    assert entries[MANIFEST_ID]["manifest"] == {
        "run_id": RUN_ID,
        "candidate_id": CANDIDATE_ID,
        "target": "paper",
        "status": "pass",
    }
    series = entries["notes"]
    assert (series["kind"], series["size"], series["sha256"], series["manifest"]) == ("notes-series", None, None, None)
    assert entries["notes/iteration-1.md"]["manifest"] is None


def test_an_unreadable_manifest_has_null_facts(pytester: pytest.Pytester) -> None:
    root = pytester.path / "tree"
    (root / "rollout").mkdir(parents=True)
    (root / "rollout" / "phase-manifest.json").write_text("{not json", encoding="utf-8")
    record = record_of(pytester, artifacts_arg(root))
    (entry,) = record["artifacts"]
    assert entry["manifest"] == {"run_id": None, "candidate_id": None, "target": None, "status": None}
    (row,) = record["governance"]["runs"]
    assert (row["phases"], row["evidence"], row["rollback_triggered"]) == ([], [], None)
    assert row["checks"]["failed"] == 1
    validate(record)


# -- governance summary --------------------------------------------------------------------------------


@by_granularity
def test_governance_summary_has_a_row_per_run_and_per_series(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], granularity: list[str]
) -> None:
    root = two_runs(write_tree, manifest)
    record = record_of(pytester, artifacts_arg(root), *granularity)
    first, second = record["governance"]["runs"]
    assert (first["path"], first["run_id"], second["path"], second["run_id"]) == (MANIFEST_ID, RUN_ID, RUN2, "run-two")
    assert [p["name"] for p in first["phases"]] == list(PHASE_ORDER)
    assert {p["status"] for p in first["phases"]} == {"pass"}
    assert first["phases"][0]["slo_gates"][1] == {"id": "slo_signal_count_minimum", "status": "pass"}
    assert (first["rollback_triggered"], first["drift_status"]) == (False, "stable")
    assert first["checks"]["failed"] == 0
    assert first["sha256"] == hashlib.sha256((root / MANIFEST_ID).read_bytes()).hexdigest()
    roles = {(e["role"], e["ref"]): e["exists"] for e in first["evidence"]}
    assert roles == {
        ("drift", "drift/drift-action.json"): True,
        ("drift", "drift/drift-detection.json"): True,
        ("drift", "drift/drift-outcome.json"): True,
        ("paper-canary-patch", PATCH): True,
    }
    assert (second["rollback_triggered"], second["drift_status"]) == (True, "drift_detected")
    (incident,) = [e for e in second["evidence"] if e["role"] == "rollback-incident"]
    assert (incident["ref"], incident["exists"], incident["unresolvable"]) == (INCIDENT, False, None)
    assert second["checks"]["failed"] > 0
    assert record["result"] == "fail"
    (series,) = record["governance"]["notes_series"]
    assert series["path"] == "notes"
    assert (series["iterations"], series["outcomes"]) == (2, {"blocked_no_signal": 1, "lane_completed": 1})
    assert series["last_iteration"] == {
        "number": 2,
        "path": "notes/iteration-2.md",
        "kind": "scheduler-note",
        "outcome": "lane_completed",
        "timestamp": "2026-04-02T09:27:00+00:00",
    }


def test_evidence_found_on_disk_is_marked_as_existing(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    root = two_runs(write_tree, manifest)
    write_json(root / "run2" / INCIDENT, {"incident": 7})
    record = record_of(pytester, artifacts_arg(root))
    (incident,) = [e for e in record["governance"]["runs"][1]["evidence"] if e["role"] == "rollback-incident"]
    assert incident["exists"] is True


def test_evidence_outside_the_trees_is_unresolvable_not_read(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    escaping = rollback_manifest(manifest, run_id=RUN_ID)
    for governance in (escaping["runtime_governance"], escaping["rollback_proof"]):
        governance["rollback_incident_evidence_path"] = "../../../etc/passwd"
    root = write_tree(manifest=escaping)
    record = record_of(pytester, artifacts_arg(root))
    (incident,) = [e for e in record["governance"]["runs"][0]["evidence"] if e["role"] == "rollback-incident"]
    assert incident["exists"] is False
    assert "outside the artifact trees" in incident["unresolvable"]


# -- environment ---------------------------------------------------------------------------------------


def test_environment_names_the_git_commit_of_an_artifacts_path(
    pytester: pytest.Pytester, artifacts: Path, git: Git
) -> None:
    outside = record_of(pytester, artifacts_arg(artifacts), "--torghut-allow-tracked-notes")
    assert outside["environment"]["git_commits"] == {}
    git(artifacts, "init", "-q")
    git(artifacts, "add", ".")
    git(artifacts, "commit", "-q", "-m", "Record the tree")
    head = git(artifacts, "rev-parse", "HEAD").stdout.strip()
    inside = record_of(pytester, artifacts_arg(artifacts), "--torghut-allow-tracked-notes")
    assert inside["environment"]["git_commits"] == {str(artifacts.resolve()): head}


# -- determinism and partial runs ----------------------------------------------------------------------


def test_a_keyword_run_is_partial_and_never_a_pass(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    root = two_runs(write_tree, manifest)
    record = record_of(pytester, artifacts_arg(root), "-k", "TM012")
    assert (record["selection"]["partial"], record["result"]) == (True, "incomplete")
    assert [r["run_id"] for r in record["governance"]["runs"]] == [RUN_ID, "run-two"]
    assert record["governance"]["notes_series"] == []


@by_granularity
def test_two_runs_of_the_same_tree_differ_only_in_times(
    pytester: pytest.Pytester, artifacts: Path, granularity: list[str]
) -> None:
    first = record_of(pytester, artifacts_arg(artifacts), *granularity, name="a.json")
    second = record_of(pytester, artifacts_arg(artifacts), *granularity, name="b.json")
    assert first["environment"]["command"] != second["environment"]["command"]  # the evidence file's name
    assert stripped(first) == stripped(second)


@pytest.mark.slow
@by_granularity
def test_xdist_record_equals_the_serial_record_apart_from_times(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], granularity: list[str]
) -> None:
    root = two_runs(write_tree, manifest)
    serial = record_of(pytester, artifacts_arg(root), *granularity, xdist=["-p", "no:xdist"], name="serial.json")
    parallel = record_of(pytester, artifacts_arg(root), *granularity, xdist=["-n", "2"], name="xdist.json")
    assert "-n" in parallel["environment"]["command"]
    assert parallel["governance"]["runs"]
    assert parallel["governance"]["notes_series"]
    serial["environment"].pop("command")
    parallel["environment"].pop("command")
    assert json.dumps(stripped(serial), indent=2, sort_keys=True) == json.dumps(
        stripped(parallel), indent=2, sort_keys=True
    )


# -- merge ---------------------------------------------------------------------------------------------


def merge_cli(pytester: pytest.Pytester, *names: str, out: str = "merged.json") -> int:
    return main(["evidence", "merge", *(str(pytester.path / n) for n in names), "-o", str(pytester.path / out)])


@by_granularity
@pytest.mark.parametrize("broken", [False, True], ids=["green", "violating"])
def test_merged_shards_equal_the_one_job_record(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], broken: bool, granularity: list[str]
) -> None:
    root = two_runs(write_tree, manifest) if broken else write_tree(runs=("run1", "run2"))
    one = record_of(pytester, artifacts_arg(root), *granularity, name="one.json")
    a = record_of(pytester, artifacts_arg(root), *granularity, "-k", "run1", name="a.json")
    b = record_of(pytester, artifacts_arg(root), *granularity, "-k", "not run1", name="b.json")
    assert (a["selection"]["partial"], b["selection"]["partial"]) == (True, True)
    if granularity:
        # The notes are read by b alone: a says what collection counted before reading them.
        assert "before_reading" in a["selection"]
        assert "before_reading" not in b["selection"]
        assert "before_reading" not in one["selection"]
    assert a["result"] != "pass"
    assert b["result"] != "pass"
    assert merge_cli(pytester, "a.json", "b.json") == 0
    merged = json.loads((pytester.path / "merged.json").read_text(encoding="utf-8"))
    validate(merged)
    assert [s["file"] for s in merged["merged_from"]] == [str(pytester.path / n) for n in ("a.json", "b.json")]
    assert merged["environment"]["command"] is None
    assert stripped(merged) == stripped(one)
    assert merged["result"] == ("fail" if broken else "pass")


def test_a_merge_that_leaves_checks_out_is_incomplete(pytester: pytest.Pytester, artifacts: Path) -> None:
    record_of(pytester, artifacts_arg(artifacts), "-k", "TM012", name="a.json")
    record_of(pytester, artifacts_arg(artifacts), "-k", "TN001", name="b.json")
    assert merge_cli(pytester, "a.json", "b.json") == 0
    merged = json.loads((pytester.path / "merged.json").read_text(encoding="utf-8"))
    assert (merged["result"], merged["selection"]["partial"]) == ("incomplete", True)
    assert merged["selection"]["how"] == ["-k TM012", "-k TN001"]


def test_artifact_shards_that_leave_a_note_unread_merge_into_an_incomplete_record(
    pytester: pytest.Pytester, artifacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    artifact = "--torghut-granularity=artifact"
    a = record_of(pytester, artifacts_arg(artifacts), artifact, "-k", "run1", name="a.json")
    b = record_of(pytester, artifacts_arg(artifacts), artifact, "-k", "iteration-2", name="b.json")
    # Neither read notes/iteration-1.md: each says what collection counted before reading notes.
    assert a["selection"]["before_reading"] == b["selection"]["before_reading"]
    assert (a["discovery"]["found"]["note"], b["discovery"]["found"]["note"]) == (2, 1)
    assert merge_cli(pytester, "a.json", "b.json") == 0
    merged = json.loads((pytester.path / "merged.json").read_text(encoding="utf-8"))
    validate(merged)
    assert (merged["result"], merged["selection"]["partial"]) == ("incomplete", True)
    assert merged["discovery"]["found"] == {"manifest": 1, "note": 1, "notes-series": 1, "scheduler-note": 1}
    assert merged["selection"]["before_reading"] == a["selection"]["before_reading"]
    # Shards of another collection (here: one that counted a check more) are refused.
    b["selection"]["before_reading"]["collected"] += 1
    write_json(pytester.path / "b.json", b)
    assert merge_cli(pytester, "a.json", "b.json", out="other.json") == 2
    assert "cannot merge records of different collections of the tree: selection.before_reading" in (
        capsys.readouterr().err
    )
    assert not (pytester.path / "other.json").exists()


def test_merge_refuses_records_of_different_versions(
    pytester: pytest.Pytester, artifacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_of(pytester, artifacts_arg(artifacts), "-k", "run1", name="a.json")
    b = record_of(pytester, artifacts_arg(artifacts), "-k", "not run1", name="b.json")
    write_json(pytester.path / "b.json", b | {"version": "9.9.9"})
    assert merge_cli(pytester, "a.json", "b.json") == 2
    err = capsys.readouterr().err
    assert "different schema, plugin or contract versions" in err
    assert str(pytester.path / "a.json") in err
    assert str(pytester.path / "b.json") in err
    assert not (pytester.path / "merged.json").exists()


def test_merge_refuses_records_covering_the_same_artifact_twice(
    pytester: pytest.Pytester, artifacts: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    record_of(pytester, artifacts_arg(artifacts), "-k", "TM001", name="a.json")
    record_of(pytester, artifacts_arg(artifacts), "-k", "TM012", name="b.json")
    assert merge_cli(pytester, "a.json", "b.json") == 2
    err = capsys.readouterr().err
    assert f"a.json and {pytester.path / 'b.json'} both cover {MANIFEST_ID}" in err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{", "is not JSON"),
        ("[]", "expected a JSON object"),
        ('{"schema": "other"}', '/schema is "other", expected "torghut-evidence-v1"'),
        ('{"schema": "torghut-evidence-v1"}', "(the record): 'artifacts' is a required property"),
    ],
)
def test_merge_and_show_refuse_what_is_not_a_record(
    pytester: pytest.Pytester, capsys: pytest.CaptureFixture[str], content: str, message: str
) -> None:
    bad = pytester.path / "bad.json"
    bad.write_text(content, encoding="utf-8")
    assert main(["evidence", "show", str(bad)]) == 2
    assert main(["evidence", "merge", str(bad), str(bad), "-o", str(pytester.path / "m.json")]) == 2
    err = capsys.readouterr().err
    assert err.count(str(bad)) == 2
    assert message in err


# -- views: evidence show and pytest-html --------------------------------------------------------------

HOSTILE_RUN = "run\x1b[2J<script>alert(1)</script>"


def test_show_summarises_a_record_with_every_string_escaped(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root = two_runs(write_tree, manifest)
    hostile = json.loads((root / MANIFEST_ID).read_text())
    write_json(root / MANIFEST_ID, hostile | {"run_id": HOSTILE_RUN})
    record_of(pytester, artifacts_arg(root), name="e.json")
    assert main(["evidence", "show", str(pytester.path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    lines = out.splitlines()
    assert "result: fail (pytest exit status 1)" in lines
    assert "partial: no, every collected check reported" in lines
    assert any(line.startswith("  run\\u001b[2J<script>") for line in lines)
    assert any(re.match(r"  run2/rollout/phase-manifest.json TM021 \S+: ", line) for line in lines)
    assert "    rollback-incident: rollback-incidents/incident-7.json (MISSING)" in lines
    last = "last 2 lane_completed at 2026-04-02T09:27:00+00:00"
    assert f"  notes: 2 iterations (blocked_no_signal 1, lane_completed 1); {last}" in lines


def test_show_lists_open_risks_and_the_partial_banner(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    break_adjacency(manifest)
    root = write_tree(manifest=manifest)
    record_of(pytester, artifacts_arg(root), write_waivers(pytester), "-k", "run1")
    assert main(["evidence", "show", str(pytester.path / "e.json")]) == 0
    out = capsys.readouterr().out
    assert "PARTIAL RUN:" in out
    assert "not evidence of conformance" in out
    assert "open risks (1)" in out
    assert "owned by alice@example.com, waiver 1 expires 2099-01-01" in out


def html_summary(pytester: pytest.Pytester) -> str:
    """The part of the pytest-html report before the results table."""
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    return page.split('id="results-table"')[0]


def test_html_report_opens_with_the_governance_summary(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    root = two_runs(write_tree, manifest)
    hostile = json.loads((root / MANIFEST_ID).read_text())
    write_json(root / MANIFEST_ID, hostile | {"candidate_id": "<img src=x onerror=alert(1)>"})
    record = record_of(pytester, artifacts_arg(root), "--html=report.html", "--self-contained-html")
    summary = html_summary(pytester)
    for row in record["governance"]["runs"]:
        assert html.escape(row["run_id"]) in summary
        assert row["sha256"] in summary
        assert row["sha256"] == hashlib.sha256((root / row["path"]).read_bytes()).hexdigest()
    assert "<img src=x" not in summary
    assert html.escape("<img src=x onerror=alert(1)>") in summary
    assert "torghut-partial" not in summary
    assert "<td>notes</td><td>2</td><td>blocked_no_signal 1, lane_completed 1</td>" in summary
    assert "data:" not in summary.split("Governance summary")[1]
    assert str(root.resolve()) in summary


def test_html_report_of_a_partial_run_carries_the_banner(pytester: pytest.Pytester, artifacts: Path) -> None:
    record_of(pytester, artifacts_arg(artifacts), "-k", "TM012", "--html=report.html")
    assert 'class="torghut-partial"' in html_summary(pytester)


@pytest.mark.slow
def test_html_governance_summary_is_complete_under_xdist(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    root = two_runs(write_tree, manifest)
    record = record_of(pytester, artifacts_arg(root), "--html=report.html", xdist=["-n", "2"])
    summary = html_summary(pytester)
    assert len(record["governance"]["runs"]) == 2
    for row in record["governance"]["runs"]:
        assert html.escape(row["run_id"]) in summary
        assert row["sha256"] in summary
    assert "<td>notes</td><td>2</td>" in summary


def test_show_says_when_a_rollback_names_no_incident_evidence(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    silent = rollback_manifest(manifest, run_id=RUN_ID)
    for governance in (silent["runtime_governance"], silent["rollback_proof"]):
        governance["rollback_incident_evidence_path"] = ""
    record_of(pytester, artifacts_arg(write_tree(manifest=silent)))
    assert main(["evidence", "show", str(pytester.path / "e.json")]) == 0
    assert "    rollback-incident: none named (MISSING)" in capsys.readouterr().out.splitlines()


def test_artifact_facts_stay_out_of_junit_xml(pytester: pytest.Pytester, artifacts: Path) -> None:
    record_of(pytester, artifacts_arg(artifacts), "--junitxml=junit.xml")
    names = {p.get("name") for p in ET.parse(pytester.path / "junit.xml").iter("property")}
    assert "torghut_rule" in names
    assert "torghut_artifact_facts" not in names


#: Text an artifact may hold: controls, markup, bidirectional overrides, separators, quotes.
hostile_text = st.text(st.sampled_from(["<", ">", "&", '"', "'", "\x1b", "\n", "\r", "\u202e", "\u2028", "a", "é"]))


def test_views_escape_every_artifact_string(pytester: pytest.Pytester, artifacts: Path) -> None:
    base = record_of(pytester, artifacts_arg(artifacts))

    @settings(max_examples=60, deadline=None)
    @given(values=st.lists(hostile_text, min_size=6, max_size=6))
    def escaped(values: list[str]) -> None:
        record = copy.deepcopy(base)
        (run_row,) = record["governance"]["runs"]
        run_row.update(run_id=values[0], candidate_id=values[1], target=values[2], status=values[3])
        run_row["phases"][0]["status"] = values[4]
        record["governance"]["notes_series"][0]["outcomes"] = {values[5]: 1}
        style, *rest = governance_html(record)
        assert style.startswith("<style>")
        assert style.count("<") == 2  # the summary's own style only
        page = "".join(rest)
        text = "\n".join(show_lines(record))
        for value in values:
            # Controls are written out as \uXXXX in the page too, then the markup is escaped.
            assert html.escape(printable(value)) in page
        assert not re.search(r"<(?!/?(h2|table|tr|th|td|div)\b)", page)
        assert not re.search(r"[\x00-\x09\x0b-\x1f\x7f\u2028\u202e]", text)

    escaped()
