"""One scheduler cycle, end to end: evidence files, lane manifest, drift update, notes.

``run_cycle`` is what ``torghut-rollout produce`` runs once and the simulation runs
per cycle. It writes in the order a real system does (evidence before the manifest
that names it, the manifest before the note that names it), so every self-check sees
the files its rules look for, and every reference it writes points at a file it wrote.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from ..checking.model import Severity
from ..checking.rules import REGISTRY
from ..contract.models import (
    DEFAULT_UNHEALTHY_DRIFT_STATES,
    DRIFT_EVIDENCE_FILES,
    GATE_PHASE,
    PATCH_PATH,
    ExecutionContext,
    NoteOutcome,
    PhaseStatus,
    SloGate,
)
from .checking import ContractViolationError, RuleFinding
from .jsontext import dumps_indented
from .layout import ArtifactTree, RunPaths, stamp
from .manifest import (
    LANE_PHASES,
    DriftEvaluation,
    LaneResult,
    StageOutcome,
    apply_drift_evaluation,
    build_manifest,
    read_manifest,
    write_manifest,
)
from .notes import NoteFormat, build_note, write_lane_note, write_note
from .storage import write_atomic

Layout = Literal["nested", "flat"]
LAYOUTS: tuple[Layout, ...] = ("nested", "flat")
PATCH = PATCH_PATH
PROMOTION_GATES = ("gate0_data_integrity", "gate2_risk_capacity", "gate6_profitability_evidence")
REASONS: dict[str, str] = {
    NoteOutcome.COMPLETED: "completed",
    NoteOutcome.FAILED: "lane_execution_failed",
    NoteOutcome.BLOCKED: "no_signals_in_window",
}
_STAGE_REFS: dict[str, tuple[str, ...]] = {
    GATE_PHASE: ("gates/gate-evaluation.json", "gates/promotion-evidence-gate.json"),
    "promotion-prerequisites": ("research/candidate-spec.json", "backtest/evaluation-report.json"),
    "rollback-readiness": ("gates/rollback-readiness.json",),
    "drift-gate": DRIFT_EVIDENCE_FILES,
}


@dataclass(frozen=True, kw_only=True)
class CycleSpec:
    """What happened in one scheduler cycle; the producer derives every artifact from it."""

    timestamp: datetime
    """The scheduler's clock at the start of the cycle (names the run directory)."""
    run_id: str
    candidate_id: str
    outcome: NoteOutcome = NoteOutcome.COMPLETED
    target: Literal["paper", "live"] = "paper"
    trace_id: str | None = None
    repository: str = "proompteng/lab"
    base: str = "main"
    priority_id: str = ""
    signal_count: int = 412
    decision_count: int = 37
    trade_count: int = 11
    stage_statuses: Mapping[str, PhaseStatus] = field(default_factory=dict)
    """Statuses of the four lane phases by name (default pass)."""
    patch: bool = True
    drift_status: str = "stable"
    rollback_triggered: bool = False
    incident_evidence: bool = True
    """When a rollback triggers: whether the scheduler recorded the incident evidence."""
    lane_seconds: int = 41
    """How long the lane ran; the lane's phases are stamped this much after the cycle start."""
    error: str | None = None


@dataclass(frozen=True, kw_only=True)
class CycleResult:
    """The files one cycle wrote."""

    note: Path
    run_dir: Path | None = None
    manifest: Path | None = None
    warnings: tuple[RuleFinding, ...] = ()


def _json(path: Path, data: Any) -> None:
    write_atomic(path, (dumps_indented(data) + "\n").encode("utf-8"))


def _write_evidence(run: RunPaths, spec: CycleSpec) -> None:
    d, target = run.run_dir, spec.target
    statuses = {name: spec.stage_statuses.get(name, "pass") for name in LANE_PHASES}
    gates = [{"id": g, "status": statuses[GATE_PHASE]} for g in PROMOTION_GATES]
    _json(d / "gates/gate-evaluation.json", {"run_id": spec.run_id, "gates": gates, "recommended_mode": target})
    _json(d / "gates/promotion-evidence-gate.json", {"run_id": spec.run_id, "status": statuses[GATE_PHASE]})
    _json(d / "gates/rollback-readiness.json", {"missing_checks": [], "status": statuses["rollback-readiness"]})
    _json(d / "research/candidate-spec.json", {"candidate_id": spec.candidate_id, "run_id": spec.run_id})
    _json(d / "backtest/evaluation-report.json", {"decision_count": spec.decision_count, "run_id": spec.run_id})
    drifted = spec.drift_status in DEFAULT_UNHEALTHY_DRIFT_STATES
    action = "rollback" if spec.rollback_triggered else "none"
    detection, action_file, outcome = DRIFT_EVIDENCE_FILES
    _json(d / detection, {"drift_detected": drifted, "run_id": spec.run_id})
    _json(d / action_file, {"action_type": action, "triggered": spec.rollback_triggered})
    _json(d / outcome, {"drift_status": spec.drift_status, "run_id": spec.run_id})
    if spec.patch:
        patch = (
            "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: torghut-strategy-config\n"
            f"  annotations:\n    torghut.proompteng.ai/candidate-id: {spec.candidate_id}\n"
        )
        write_atomic(d / PATCH, patch.encode("utf-8"))


def lane_result(spec: CycleSpec, run: RunPaths) -> LaneResult:
    """The lane's result for a completed cycle (evidence paths relative to the run)."""
    statuses = {name: spec.stage_statuses.get(name, "pass") for name in LANE_PHASES}
    stages = {
        name: StageOutcome(
            status=statuses[name],
            gates=tuple(SloGate(id=g, status=statuses[name]) for g in PROMOTION_GATES) if name == GATE_PHASE else (),
            artifact_refs=_STAGE_REFS.get(name, ())
            + ((PATCH,) if name == "promotion-prerequisites" and spec.patch else ()),
            observations={"recommended_mode": spec.target} if name == GATE_PHASE else {},
        )
        for name in LANE_PHASES
    }
    return LaneResult(
        run_id=spec.run_id,
        candidate_id=spec.candidate_id,
        target=spec.target,
        context=ExecutionContext(
            repository=spec.repository,
            base=spec.base,
            head=f"agentruns/torghut-autonomy-{stamp(spec.timestamp)}",
            artifactPath=run.tree.ref(run.run_dir, base=run.tree.root),
            priorityId=spec.priority_id,
        ),
        timestamp=spec.timestamp + timedelta(seconds=spec.lane_seconds),
        signal_count=spec.signal_count,
        decision_count=spec.decision_count,
        trade_count=spec.trade_count,
        stages=stages,
        patch_path=PATCH if spec.patch else None,
        artifact_refs=tuple(r for refs in _STAGE_REFS.values() for r in refs) + ((PATCH,) if spec.patch else ()),
    )


def drift_evaluation(spec: CycleSpec, run: RunPaths) -> DriftEvaluation:
    """The scheduler's drift verdict for a completed cycle."""
    evidence = run.incident(spec.timestamp) if spec.rollback_triggered and spec.incident_evidence else None
    reasons = ("drift_detected",) if spec.drift_status == "drift_detected" else ()
    return DriftEvaluation(
        timestamp=spec.timestamp,
        drift_status=spec.drift_status,
        rollback_triggered=spec.rollback_triggered,
        action_type="rollback" if spec.rollback_triggered else "none",
        evidence_path=evidence,
        artifact_refs=DRIFT_EVIDENCE_FILES,
        reasons=reasons + (("rollback_triggered",) if spec.rollback_triggered else ()),
    )


def _throughput(spec: CycleSpec) -> dict[str, Any]:
    blocked = spec.outcome == NoteOutcome.BLOCKED
    return {
        "signal_count": 0 if blocked else spec.signal_count,
        "decision_count": 0 if blocked else spec.decision_count,
        "trade_count": 0 if blocked else spec.trade_count,
        "no_signal_window": blocked,
        "no_signal_reason": REASONS[NoteOutcome.BLOCKED] if blocked else None,
    }


def _refuse_replacing_another_run(run: RunPaths, spec: CycleSpec) -> None:
    """A nested run directory holds one run: replacing it would leave that run's notes naming another.

    The flat layout rewrites its one manifest every cycle, by design: only the latest note
    naming it is compared with it (TN008), so a later run may replace an earlier one there.
    """
    if run.flat or not run.manifest_path.is_file():
        return
    held = read_manifest(run.manifest_path).run_id
    if held != spec.run_id:
        rule = REGISTRY["TN008"]
        finding = RuleFinding(
            rule_id=rule.id,
            slug=rule.slug,
            severity=Severity.REQUIRED,
            artifact=run.tree.display(run.manifest_path),
            pointer="/run_id",
            message="the run directory already holds another run, whose notes name this manifest",
            expected=repr(held),
            found=repr(spec.run_id),
        )
        raise ContractViolationError(finding.artifact, [finding])


def run_cycle(
    spec: CycleSpec,
    tree: ArtifactTree,
    *,
    layout: Layout = "nested",
    note_format: NoteFormat = "markdown",
    opt_ins: tuple[str, ...] = (),
) -> CycleResult:
    """Write every artifact of one cycle into ``tree``; each write is self-checked first.

    In the flat layout the tree is the artifact root and its one manifest is rewritten
    every cycle; in the nested layout a different run is refused rather than replacing
    the manifest of a run directory whose notes name it.
    """
    warnings: list[RuleFinding] = []
    run = tree.nested_run(stamp(spec.timestamp)) if layout == "nested" else tree.flat_run()
    manifest_ref = evidence_ref = None
    status = "fail"
    if spec.outcome == NoteOutcome.COMPLETED:
        _refuse_replacing_another_run(run, spec)
        lane = lane_result(spec, run)
        _write_evidence(run, spec)
        drafted = write_manifest(build_manifest(lane, run), run, opt_ins=opt_ins)
        lane_note = write_lane_note(
            run.notes_dir,
            tree,
            run_id=spec.run_id,
            candidate_id=spec.candidate_id,
            repository=spec.repository,
            base=spec.base,
            head=lane.context.head,
            stages=[("candidate-generation", spec.run_id[:12]), ("evaluation", spec.run_id[12:])],
        )
        evaluation = drift_evaluation(spec, run)
        if evaluation.evidence_path is not None:
            incident = {"run_id": spec.run_id, "triggered_at": spec.timestamp.isoformat(), "reasons": ["drift"]}
            _json(run.run_dir / evaluation.evidence_path, incident)
        final = apply_drift_evaluation(run, evaluation, opt_ins=opt_ins)
        warnings += drafted.warnings + lane_note.warnings + final.warnings
        status = read_manifest(final.path).status
        manifest_ref = tree.ref(run.manifest_path, base=tree.root)
        if evaluation.evidence_path is not None:
            evidence_ref = tree.ref(run.run_dir / evaluation.evidence_path, base=tree.root)
    completed = spec.outcome == NoteOutcome.COMPLETED
    note = build_note(
        outcome=spec.outcome,
        timestamp=spec.timestamp,
        reason=REASONS[spec.outcome],
        target=spec.target,
        manifest_path=manifest_ref,
        run_output_dir=tree.ref(run.run_dir, base=tree.root) if completed else None,
        run_id=spec.run_id,
        candidate_id=spec.candidate_id,
        trace_id=spec.trace_id,
        evidence_path=evidence_ref,
        emergency_stop_active=completed and spec.rollback_triggered,
        throughput=_throughput(spec),
        metrics={"drift_status": spec.drift_status if completed else "unknown"},
        error=spec.error if spec.outcome == NoteOutcome.FAILED else None,
        promotion_action="promote" if status == "pass" else "hold",
        promotion_eligible=status == "pass",
        recommender=spec.target,
    )
    written = write_note(note, tree.notes_dir, tree, fmt=note_format, opt_ins=opt_ins)
    warnings += written.warnings
    return CycleResult(
        note=written.path,
        run_dir=run.run_dir if completed else None,
        manifest=run.manifest_path if completed else None,
        warnings=tuple(warnings),
    )


def prune_runs(tree: ArtifactTree, keep: int) -> list[Path]:
    """Retention: delete all but the ``keep`` newest run directories (never notes or incidents)."""
    runs = sorted(p for p in tree.root.iterdir() if p.is_dir() and len(p.name) == 15 and p.name[8] == "T")
    doomed = runs[: max(len(runs) - keep, 0)]
    for path in doomed:
        shutil.rmtree(path)
    return doomed
