"""The reference producer: computed fields, scheduler update, atomic and exclusive writes, refusal."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
import yaml

from pytest_torghut_rollout.checking.discovery import note_artifact
from pytest_torghut_rollout.checking.model import CHECK_REFS
from pytest_torghut_rollout.checking.paths import PathMapping
from pytest_torghut_rollout.contract.models import (
    ADJACENT_TRANSITIONS,
    DRIFT_EVIDENCE_FILES,
    PHASE_ORDER,
    REQUIRED_SLO_GATES,
    SloGate,
    phase_index,
)
from pytest_torghut_rollout.producer import (
    ArtifactTree,
    ContractViolationError,
    CycleSpec,
    DriftEvaluation,
    LaneResult,
    RunPaths,
    StageOutcome,
    apply_drift_evaluation,
    build_manifest,
    build_note,
    create_exclusive,
    dumps_manifest,
    findings_in_tree,
    lane_result,
    manifest_data,
    read_manifest,
    run_cycle,
    scratch_writes,
    update_manifest,
    write_atomic,
    write_manifest,
    write_note,
)

T0 = datetime(2026, 4, 2, 9, 30, 0, 218734, tzinfo=UTC)
DRIFT = DRIFT_EVIDENCE_FILES


def _run(tmp_path: Path, prefix: str | None = None) -> RunPaths:
    return ArtifactTree(root=tmp_path, prefix=prefix).nested_run("20260402T093000")


def _spec(**changes: Any) -> CycleSpec:
    base: dict[str, Any] = {"timestamp": T0, "run_id": "a" * 24, "candidate_id": "cand-aaaa"}
    return CycleSpec(**{**base, **changes})


def _lane(run: RunPaths, **changes: Any) -> LaneResult:
    return lane_result(_spec(**changes), run)


def _touch(run: RunPaths, *relative: str) -> None:
    for rel in relative:
        path = run.run_dir / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}\n")


def _phase(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in data["phases"] if p["name"] == name)


def test_manifest_structure_is_computed_from_the_canonical_order(tmp_path: Path) -> None:
    run = _run(tmp_path)
    data = manifest_data(build_manifest(_lane(run), run))
    assert [p["name"] for p in data["phases"]] == list(PHASE_ORDER)
    assert data["phase_count"] == len(PHASE_ORDER)
    assert [(t["from"], t["to"]) for t in data["phase_transitions"]] == list(ADJACENT_TRANSITIONS)
    assert data["status"] == "pass"
    for phase in data["phases"]:
        ids = {g["id"] for g in phase["slo_gates"]}
        assert set(REQUIRED_SLO_GATES[phase["name"]]) <= ids


@pytest.mark.parametrize(
    ("target", "patch", "expected"),
    [("paper", True, "pass"), ("paper", False, "fail"), ("live", False, "skip"), ("live", True, "pass")],
)
def test_paper_canary_status_follows_target_and_patch(tmp_path: Path, target: str, patch: bool, expected: str) -> None:
    run = _run(tmp_path)
    data = manifest_data(build_manifest(_lane(run, target=target, patch=patch), run))
    canary = _phase(data, "paper-canary")
    assert canary["status"] == expected
    assert canary["artifact_refs"] == (["paper-candidate/strategy-configmap-patch.yaml"] if patch else [])
    assert data["status"] == ("fail" if expected == "fail" else "pass")
    assert data["phase_transitions"][phase_index("paper-canary") - 1]["status"] == expected


def test_a_failing_stage_fails_the_manifest_and_its_incoming_transition_only(tmp_path: Path) -> None:
    run = _run(tmp_path)
    data = manifest_data(build_manifest(_lane(run, stage_statuses={"rollback-readiness": "fail"}), run))
    assert data["status"] == "fail"
    statuses = [t["status"] for t in data["phase_transitions"]]
    assert statuses == ["fail" if to == "rollback-readiness" else "pass" for _, to in ADJACENT_TRANSITIONS]


def test_too_few_signals_fail_gate_evaluation_even_when_the_lane_says_pass(tmp_path: Path) -> None:
    run = _run(tmp_path)
    data = manifest_data(build_manifest(_lane(run, signal_count=0), run))
    gate = _phase(data, "gate-evaluation")
    assert gate["status"] == "fail"
    assert {g["id"]: g["status"] for g in gate["slo_gates"]}["slo_signal_count_minimum"] == "fail"
    assert data["status"] == "fail"


def test_a_caller_gate_for_a_required_id_is_kept_and_can_fail_its_phase(tmp_path: Path) -> None:
    run = _run(tmp_path)
    stage = StageOutcome(gates=(SloGate(id="slo_drift_gate_allowed", status="fail", threshold=True, value=False),))
    lane = LaneResult(**{**_lane(run).__dict__, "stages": {"drift-gate": stage}})
    drift = _phase(manifest_data(build_manifest(lane, run)), "drift-gate")
    assert drift["status"] == "fail"
    assert drift["slo_gates"] == [{"id": "slo_drift_gate_allowed", "status": "fail", "threshold": True, "value": False}]


def test_scheduler_update_with_rollback_and_evidence_passes_rollback_proof(tmp_path: Path) -> None:
    run = _run(tmp_path)
    incident = run.incident(T0)
    _touch(run, *DRIFT, incident)
    ev = DriftEvaluation(
        timestamp=T0,
        drift_status="drift_detected",
        rollback_triggered=True,
        evidence_path=incident,
        artifact_refs=DRIFT,
    )
    data = manifest_data(update_manifest(build_manifest(_lane(run), run), ev, run))
    assert _phase(data, "runtime-governance")["status"] == "fail"
    proof = _phase(data, "rollback-proof")
    assert proof["status"] == "pass"
    assert incident == "../rollback-incidents/incident-20260402T093000.json"
    assert incident in proof["artifact_refs"]
    assert data["rollback_proof"]["rollback_incident_evidence_path"] == incident
    assert data["status"] == "fail"


def test_scheduler_update_without_the_evidence_file_fails_rollback_proof(tmp_path: Path) -> None:
    run = _run(tmp_path)
    ev = DriftEvaluation(timestamp=T0, rollback_triggered=True, evidence_path="../rollback-incidents/gone.json")
    data = manifest_data(update_manifest(build_manifest(_lane(run), run), ev, run))
    assert _phase(data, "rollback-proof")["status"] == "fail"
    assert "../rollback-incidents/gone.json" not in _phase(data, "rollback-proof")["artifact_refs"]


def test_unhealthy_drift_alone_fails_runtime_governance(tmp_path: Path) -> None:
    run = _run(tmp_path)
    ev = DriftEvaluation(timestamp=T0, drift_status="unhealthy")
    data = manifest_data(update_manifest(build_manifest(_lane(run), run), ev, run))
    assert _phase(data, "runtime-governance")["status"] == "fail"
    assert _phase(data, "rollback-proof")["status"] == "pass"
    assert "rollback_incident_evidence_path" not in data["rollback_proof"]


def test_evidence_is_attached_only_when_a_rollback_is_triggered(tmp_path: Path) -> None:
    run = _run(tmp_path)
    _touch(run, "../rollback-incidents/x.json")
    triggered = DriftEvaluation(timestamp=T0, rollback_triggered=True, evidence_path="../rollback-incidents/x.json")
    first = update_manifest(build_manifest(_lane(run), run), triggered, run)
    calm = DriftEvaluation(timestamp=T0, evidence_path="../rollback-incidents/x.json")
    data = manifest_data(update_manifest(first, calm, run))
    text = json.dumps([data["runtime_governance"], data["rollback_proof"], _phase(data, "rollback-proof")])
    assert "rollback_incident_evidence" not in text
    assert _phase(data, "rollback-proof")["status"] == "pass"


def test_scheduler_update_keeps_unknown_keys_and_appends_missing_governed_phases(tmp_path: Path) -> None:
    run = _run(tmp_path)
    data = manifest_data(build_manifest(_lane(run), run))
    data["x_lane_build"] = {"commit": "abc123"}
    data["runtime_governance"]["governance_status"] = "legacy"
    data["phases"] = [p for p in data["phases"] if p["name"] not in ("runtime-governance", "rollback-proof")]
    data["phases"][0]["required"] = {"signal_count": 1}
    data["phases"].reverse()
    run.manifest_path.parent.mkdir(parents=True)
    run.manifest_path.write_text(json.dumps(data))
    _touch(run, *DRIFT)
    apply_drift_evaluation(run, DriftEvaluation(timestamp=T0 - timedelta(minutes=1), artifact_refs=DRIFT))
    updated = json.loads(run.manifest_path.read_text())
    assert [p["name"] for p in updated["phases"]] == list(PHASE_ORDER)
    assert updated["phase_count"] == len(PHASE_ORDER)
    assert updated["x_lane_build"] == {"commit": "abc123"}
    assert updated["runtime_governance"]["governance_status"] == "legacy"
    assert updated["phases"][0]["required"] == {"signal_count": 1}
    assert updated["updated_at"] < updated["created_at"]  # the scheduler's clock is read first


def test_manifest_text_is_deterministic_and_sorted(tmp_path: Path) -> None:
    run = _run(tmp_path)
    first, second = (dumps_manifest(build_manifest(_lane(run), run)) for _ in range(2))
    assert first == second
    assert first.endswith("}\n")
    assert first == json.dumps(json.loads(first), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def test_absolute_style_writes_production_paths_that_check_through_a_map(tmp_path: Path) -> None:
    tree = ArtifactTree(root=tmp_path, prefix="/tmp/torghut/autonomy")
    run_cycle(_spec(rollback_triggered=True, drift_status="drift_detected"), tree)
    manifest = json.loads(tree.nested_run("20260402T093000").manifest_path.read_text())
    assert manifest["rollback_proof"]["rollback_incident_evidence_path"] == (
        "/tmp/torghut/autonomy/rollback-incidents/incident-20260402T093000.json"
    )
    assert _phase(manifest, "rollback-proof")["status"] == "pass"
    mapping = PathMapping(old="/tmp/torghut/autonomy", new=tmp_path)
    assert findings_in_tree([tmp_path], mappings=[mapping], opt_ins=(CHECK_REFS.key,)) == {}


@pytest.mark.parametrize("layout", ["nested", "flat"])
@pytest.mark.parametrize("note_format", ["markdown", "json"])
def test_every_cycle_outcome_conforms_to_every_rule(tmp_path: Path, layout: Any, note_format: Any) -> None:
    specs = [
        _spec(outcome="blocked_no_signal", signal_count=0),
        _spec(outcome="lane_execution_failed", error="RuntimeError: timed out"),
        _spec(),
        _spec(target="live", patch=False, drift_status="drift_detected", rollback_triggered=True),
        _spec(rollback_triggered=True, incident_evidence=False, stage_statuses={"drift-gate": "skipped"}),
    ]
    for i, spec in enumerate(specs):
        tree = ArtifactTree(root=tmp_path / "flat" / str(i)) if layout == "flat" else ArtifactTree(root=tmp_path)
        moved = CycleSpec(**{**spec.__dict__, "timestamp": T0 + timedelta(minutes=5 * i)})
        result = run_cycle(moved, tree, layout=layout, note_format=note_format)
        assert result.warnings == ()
    assert findings_in_tree([tmp_path], opt_ins=(CHECK_REFS.key,)) == {}


def test_refuses_a_manifest_that_violates_a_required_rule_and_names_it(tmp_path: Path) -> None:
    run = _run(tmp_path)
    good = build_manifest(_lane(run, patch=False), run)
    write_manifest(good, run)
    before = run.manifest_path.read_bytes()
    bad = good.model_copy(update={"status": "pass"})
    with pytest.raises(ContractViolationError, match=r"TM014 failure-policy at /status") as excinfo:
        write_manifest(bad, run)
    assert excinfo.value.rule_ids == {"TM014"}
    assert excinfo.value.artifact == "20260402T093000/rollout/phase-manifest.json"
    assert run.manifest_path.read_bytes() == before


def test_refuses_a_rollback_whose_drift_evidence_was_never_written(tmp_path: Path) -> None:
    run = _run(tmp_path)
    ev = DriftEvaluation(timestamp=T0, rollback_triggered=True, artifact_refs=DRIFT)
    with pytest.raises(ContractViolationError, match=r"TM022 rollback-drift-evidence at /runtime_governance"):
        write_manifest(build_manifest(_lane(run), run, evaluation=ev), run)
    assert not run.manifest_path.exists()


def test_refuses_to_replace_another_runs_manifest_but_may_redo_its_own(tmp_path: Path) -> None:
    layout: Any = "nested"
    tree = ArtifactTree(root=tmp_path)
    run_cycle(_spec(), tree, layout=layout)
    manifest = next(tmp_path.rglob("phase-manifest.json"))
    before = manifest.read_bytes()
    with pytest.raises(ContractViolationError, match=r"TN008 note-manifest-crossref at /run_id") as excinfo:
        run_cycle(_spec(run_id="b" * 24), tree, layout=layout)
    assert excinfo.value.artifact == tree.display(manifest)
    assert manifest.read_bytes() == before
    run_cycle(_spec(decision_count=3), tree, layout=layout)  # the same run, evaluated again
    assert json.loads(manifest.read_text())["observation_summary"]["decision_count"] == 3
    assert findings_in_tree([tmp_path], opt_ins=(CHECK_REFS.key,)) == {}


def _note(**changes: Any) -> Any:
    fields: dict[str, Any] = {
        "outcome": "blocked_no_signal",
        "timestamp": T0,
        "reason": "no_signals_in_window",
        "target": "paper",
        "throughput": None,
    }
    return build_note(**{**fields, **changes})


def test_notes_are_numbered_after_the_highest_existing_one(tmp_path: Path) -> None:
    tree = ArtifactTree(root=tmp_path)
    tree.notes_dir.mkdir()
    for n in (1, 2, 3, 7):
        (tree.notes_dir / f"iteration-{n}.md").write_text(f'{{"untouched": {n}}}')
    written = write_note(_note(), tree.notes_dir, tree)
    assert written.path.name == "iteration-8.md"
    assert all((tree.notes_dir / f"iteration-{n}.md").read_text() == f'{{"untouched": {n}}}' for n in (1, 2, 3, 7))


def test_markdown_is_the_default_and_json_is_on_request(tmp_path: Path) -> None:
    tree = ArtifactTree(root=tmp_path)
    md = write_note(_note(), tree.notes_dir, tree).path.read_text()
    js = write_note(_note(), tree.notes_dir, tree, fmt="json").path.read_text()
    front = yaml.safe_load(md.split("---\n")[1])
    assert front["iteration"] == 1
    assert front["status"] == "blocked_no_signal"
    assert "# Scheduler iteration 1" in md
    assert json.loads(js)["iteration"] == 2
    assert js == json.dumps(json.loads(js), indent=2, sort_keys=True) + "\n"
    for n, text in ((1, md), (2, js)):
        path = tree.notes_dir / f"iteration-{n}.md"
        assert note_artifact(text, path=path, root=tmp_path, display="x", number=n).kind == "scheduler-note"


def test_blocked_and_failed_notes_never_name_a_manifest_or_evidence(tmp_path: Path) -> None:
    note = _note(outcome="lane_execution_failed", manifest_path="x/rollout/phase-manifest.json", evidence_path="e")
    assert note.phase_manifest_path is None
    assert note.rollback_incident_evidence_path is None
    with pytest.raises(ValueError, match="must name its phase manifest"):
        _note(outcome="lane_completed")


def test_a_flat_root_takes_a_new_run_every_cycle_and_conforms(tmp_path: Path) -> None:
    tree = ArtifactTree(root=tmp_path)
    run_ids = [f"{n:x}" * 24 for n in range(10, 15)]
    for n, run_id in enumerate(run_ids):
        run_cycle(_spec(run_id=run_id[:24], timestamp=T0 + timedelta(minutes=5 * n)), tree, layout="flat")
    manifest = json.loads((tmp_path / "rollout" / "phase-manifest.json").read_text())
    assert manifest["run_id"] == run_ids[-1][:24]
    assert findings_in_tree([tmp_path], opt_ins=(CHECK_REFS.key,)) == {}


def test_a_note_whose_manifest_path_leaves_the_tree_is_written_and_not_followed(tmp_path: Path) -> None:
    tree = ArtifactTree(root=tmp_path)
    note = _note(outcome="lane_completed", manifest_path="../../etc/rollout/phase-manifest.json")
    write_note(note, tree.notes_dir, tree)
    assert [p.name for p in tree.notes_dir.glob("iteration-*")] == ["iteration-1.md"]
    assert findings_in_tree([tmp_path]) == {}


def test_an_existing_note_is_never_overwritten(tmp_path: Path) -> None:
    path = tmp_path / "notes" / "iteration-1.md"
    assert create_exclusive(path, b"first\n")
    assert not create_exclusive(path, b"second\n")
    assert path.read_bytes() == b"first\n"
    assert [p.name for p in path.parent.iterdir()] == ["iteration-1.md"]  # no temporary left behind


def test_scratch_writes_skip_fsync_and_production_writes_keep_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real_fsync = os.fsync

    def fsync(fd: int) -> None:
        synced.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    tree = ArtifactTree(root=tmp_path)
    with scratch_writes():
        write_atomic(tmp_path / "scratch.json", b"{}\n")
        write_note(_note(), tree.notes_dir, tree)
    assert synced == []
    write_atomic(tmp_path / "durable.json", b"{}\n")
    assert len(synced) == 2  # the file, then its directory
    write_note(_note(), tree.notes_dir, tree)
    assert len(synced) == 4
    assert sorted(p.name for p in tree.notes_dir.iterdir()) == ["iteration-1.md", "iteration-2.md"]


def test_scratch_numbering_goes_on_from_its_own_note_and_lists_the_series_when_raced(tmp_path: Path) -> None:
    tree = ArtifactTree(root=tmp_path)
    with scratch_writes():
        assert write_note(_note(), tree.notes_dir, tree).path.name == "iteration-1.md"
        assert write_note(_note(), tree.notes_dir, tree).path.name == "iteration-2.md"
        for n in (3, 4):  # another scheduler appended meanwhile
            (tree.notes_dir / f"iteration-{n}.md").write_text(f'{{"other": {n}}}')
        assert write_note(_note(), tree.notes_dir, tree).path.name == "iteration-5.md"
    assert (tree.notes_dir / "iteration-3.md").read_text() == '{"other": 3}'
    assert sorted(p.name for p in tree.notes_dir.iterdir()) == [f"iteration-{n}.md" for n in range(1, 6)]


_APPENDER = textwrap.dedent(
    """
    import contextlib, sys, time
    from datetime import datetime, UTC
    from pathlib import Path
    from pytest_torghut_rollout.producer import ArtifactTree, build_note, scratch_writes, write_note

    root, writer, count, go = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3]), Path(sys.argv[4])
    tree = ArtifactTree(root=root)
    (go.parent / f"ready-{writer}").touch()  # imports done: the race starts only when both are
    while not go.exists():
        time.sleep(0.001)
    with scratch_writes() if sys.argv[5] == "scratch" else contextlib.nullcontext():
        for i in range(count):
            note = build_note(outcome="blocked_no_signal", timestamp=datetime(2026, 4, 2, tzinfo=UTC),
                              reason=f"{writer}-{i}", target="paper", throughput=None)
            write_note(note, tree.notes_dir, tree, fmt="json" if i % 2 else "markdown")
    """
)


def _append_concurrently(base: Path, mode: str) -> bool:
    """Two writers append 200 notes each into one series; check nothing was lost; say whether they raced."""
    go = base / "go"
    root = base / "tree"
    writers = [
        subprocess.Popen([sys.executable, "-c", _APPENDER, str(root), name, "200", str(go), mode])
        for name in ("a", "b")
    ]
    deadline = time.monotonic() + 120
    while not all((base / f"ready-{name}").exists() for name in ("a", "b")) and time.monotonic() < deadline:
        time.sleep(0.01)
    go.touch()
    assert [w.wait(timeout=240) for w in writers] == [0, 0]
    names = sorted(os.listdir(root / "notes"))
    assert names == sorted(f"iteration-{n}.md" for n in range(1, 401))
    reasons: list[str] = []
    for n in range(1, 401):
        text = (root / "notes" / f"iteration-{n}.md").read_text()
        artifact = note_artifact(text, path=root / "notes" / f"iteration-{n}.md", root=root, display="", number=n)
        assert artifact.data["iteration"] == n
        reasons.append(artifact.data["reason"])
    assert sorted(reasons) == sorted(f"{w}-{i}" for w in "ab" for i in range(200))
    assert findings_in_tree([root]) == {}
    writers_in_order = [r[0] for r in reasons]
    return sum(a != b for a, b in pairwise(writers_in_order)) > 1


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["durable", "scratch"])
def test_two_processes_appending_200_notes_each_lose_and_overwrite_nothing(tmp_path: Path, mode: str) -> None:
    # Every attempt must lose and overwrite nothing. On a loaded machine one writer can finish
    # before the other is scheduled (scratch writes take microseconds), which proves nothing
    # about races: try again, up to five times, until the two writers have interleaved.
    raced = False
    for attempt in range(5):
        base = tmp_path / str(attempt)
        base.mkdir()
        if _append_concurrently(base, mode):
            raced = True
            break
    assert raced, "the two writers never raced in five attempts"


def test_readers_only_ever_see_a_whole_manifest_while_it_is_rewritten(tmp_path: Path) -> None:
    path = tmp_path / "rollout" / "phase-manifest.json"
    versions = [json.dumps({"v": v, "pad": "x" * 300_000}).encode() for v in range(2)]
    write_atomic(path, versions[0])
    seen: set[bytes] = set()
    done = threading.Event()

    def read() -> None:
        while not done.is_set():
            seen.add(path.read_bytes())

    reader = threading.Thread(target=read)
    reader.start()
    for i in range(40):
        write_atomic(path, versions[i % 2])
    done.set()
    reader.join()
    assert seen <= set(versions)
    assert sorted(p.name for p in path.parent.iterdir()) == ["phase-manifest.json"]


_SLOW_WRITER = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    from pytest_torghut_rollout.producer import ArtifactTree, read_manifest, write_manifest
    from pytest_torghut_rollout.producer import storage

    real_write = os.write
    started = Path(sys.argv[2])
    def slow_write(fd, data):
        written = real_write(fd, data)
        started.touch()
        time.sleep(0.05)
        return written
    storage.os.write = slow_write

    paths = ArtifactTree(root=Path(sys.argv[1])).nested_run("20260402T093000")
    manifest = read_manifest(paths.manifest_path)
    big = {**manifest.observation_summary, "padding": ["x" * 1000] * 6000}
    write_manifest(manifest.model_copy(update={"observation_summary": big}), paths)
    print("finished", flush=True)
    """
)


def test_a_writer_killed_mid_write_leaves_the_previous_manifest_intact(tmp_path: Path) -> None:
    run_cycle(_spec(), ArtifactTree(root=tmp_path))
    manifest = tmp_path / "20260402T093000" / "rollout" / "phase-manifest.json"
    before = manifest.read_bytes()
    started = tmp_path / "started"
    command = [sys.executable, "-c", _SLOW_WRITER, str(tmp_path), str(started)]
    writer = subprocess.Popen(command, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    while not started.exists() and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    assert started.exists(), "the slowed writer never started writing"
    assert writer.poll() is None, "the writer finished before it could be killed"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert writer.returncode == -signal.SIGKILL
    assert manifest.read_bytes() == before
    assert read_manifest(manifest).run_id == "a" * 24
    assert findings_in_tree([tmp_path]) == {}


@pytest.mark.parametrize("umask", [0o022, 0o027, 0o002])
def test_written_files_follow_the_umask_like_any_other_file(tmp_path: Path, umask: int) -> None:
    # The umask is read once, at import: set it first, in a process of its own.
    script = textwrap.dedent(
        f"""
        import os, sys
        from pathlib import Path
        os.umask({umask})
        from pytest_torghut_rollout.producer.storage import append_numbered, write_atomic
        root = Path(sys.argv[1])
        write_atomic(root / "rollout" / "phase-manifest.json", b"{{}}")
        append_numbered(root / "notes", lambda n: b"note")
        """
    )
    subprocess.run([sys.executable, "-c", script, str(tmp_path)], check=True)
    for path in (tmp_path / "rollout" / "phase-manifest.json", tmp_path / "notes" / "iteration-1.md"):
        assert oct(path.stat().st_mode & 0o777) == oct(0o666 & ~umask), path
