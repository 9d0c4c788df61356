"""Build the canonical phase manifest, apply the scheduler's update, write it atomically.

Everything the contract fixes is computed here, never taken from the caller: the
canonical phase order, ``phase_count``, the adjacent transitions and their status, the
failure policy, the required SLO gate ids, the paper-canary rule and the
rollback-proof rule (which looks for the evidence file on disk).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import pairwise
from pathlib import Path
from typing import Any, Literal

from ..checking.model import DEFAULT_UNHEALTHY_DRIFT_STATES
from ..contract.models import (
    CANARY_GATE,
    CANARY_PHASE,
    DECISION_GATE,
    EVIDENCE_PATH_KEYS,
    GATE_PHASE,
    LANE_STAGE_PHASES,
    MANIFEST_SCHEMA_VERSION,
    NON_FAILING_STATUSES,
    PHASE_ORDER,
    PHASES,
    PROOF_GATE,
    PROOF_PHASE,
    REQUIRED_SLO_GATES,
    RUNTIME_GATE,
    RUNTIME_PHASE,
    SCHEDULER_PHASES,
    SIGNAL_GATE,
    SKIP_STATUSES,
    SLO_CONTRACT_VERSION,
    ExecutionContext,
    Phase,
    PhaseManifest,
    PhaseStatus,
    SloGate,
    Writer,
)
from .checking import WriteResult, check_manifest_data
from .jsontext import dumps_indented
from .layout import RunPaths
from .storage import write_atomic

#: The phases the autonomy lane evaluates itself; the producer derives the others (contract data).
LANE_PHASES: tuple[str, ...] = LANE_STAGE_PHASES
#: The phases the scheduler (re)writes after drift policy evaluation.
GOVERNED_PHASES: tuple[str, ...] = SCHEDULER_PHASES
#: The drift state the lane records before the scheduler has evaluated drift (healthy).
PENDING_DRIFT = "queued"


@dataclass(frozen=True, kw_only=True)
class StageOutcome:
    """A lane stage's own verdict: status, extra SLO gates, observations, references."""

    status: PhaseStatus = "pass"
    gates: tuple[SloGate, ...] = ()
    """Gates beyond the required ones, or values for required ids (kept as given)."""
    observations: Mapping[str, Any] = field(default_factory=dict)
    artifact_refs: tuple[str, ...] = ()
    """Paths relative to the run directory."""
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True)
class LaneResult:
    """What the autonomy lane hands the producer for one run."""

    run_id: str
    candidate_id: str
    target: Literal["paper", "live"]
    context: ExecutionContext
    timestamp: datetime
    signal_count: int
    decision_count: int
    trade_count: int = 0
    min_signals: int = 1
    min_decisions: int = 1
    stages: Mapping[str, StageOutcome] = field(default_factory=dict)
    """Outcomes of the lane phases (``LANE_PHASES``) by name; a missing stage passed with no details."""
    patch_path: str | None = None
    """The paper strategy patch, relative to the run directory; None when none was produced."""
    artifact_refs: tuple[str, ...] = ()
    observation_summary: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True)
class DriftEvaluation:
    """The scheduler's drift-policy verdict for a run, applied after the lane."""

    timestamp: datetime
    drift_status: str = "stable"
    rollback_triggered: bool = False
    action_type: str = "none"
    evidence_path: str | None = None
    """Rollback incident evidence, relative to the run directory (used only when triggered)."""
    artifact_refs: tuple[str, ...] = ()
    """Drift evidence (``drift/drift-*.json``), relative to the run directory."""
    reasons: tuple[str, ...] = ()
    unhealthy_states: frozenset[str] = frozenset(DEFAULT_UNHEALTHY_DRIFT_STATES)

    @property
    def unhealthy(self) -> bool:
        """True when the drift state alone fails runtime governance."""
        return self.drift_status in self.unhealthy_states


def _gate(gate_id: str, status: str, threshold: Any = None, value: Any = None) -> SloGate:
    return SloGate(id=gate_id, status=status, threshold=threshold, value=value)


def _gate_status(phase_status: str) -> str:
    return "skip" if phase_status in SKIP_STATUSES else phase_status


def _phase(name: str, status: str, timestamp: datetime, gates: Sequence[SloGate], **extra: Any) -> Phase:
    return Phase.model_validate(
        {
            "name": name,
            "status": status,
            "timestamp": timestamp,
            "slo_gates": [g.model_dump(mode="json") for g in gates],
            "observations": dict(extra.pop("observations", {})),
            "artifact_refs": list(extra.pop("artifact_refs", [])),
            **extra,
        }
    )


def _lane_phase(name: str, lane: LaneResult, paths: RunPaths) -> Phase:
    stage = lane.stages.get(name, StageOutcome())
    gates = list(stage.gates)
    declared = {g.id for g in gates}
    if name == GATE_PHASE:
        counts = (
            (SIGNAL_GATE, lane.min_signals, lane.signal_count),
            (DECISION_GATE, lane.min_decisions, lane.decision_count),
        )
        gates += [_gate(i, "pass" if v >= t else "fail", t, v) for i, t, v in counts if i not in declared]
    gates += [_gate(i, _gate_status(stage.status)) for i in REQUIRED_SLO_GATES[name] if i not in {g.id for g in gates}]
    required = REQUIRED_SLO_GATES[name]
    # A phase never passes over one of its own failing required gates.
    failing_gate = any(g.id in required and g.status == "fail" for g in gates)
    status = "fail" if failing_gate else stage.status
    observations = dict(stage.observations)
    if name == GATE_PHASE:
        observations.setdefault(
            "throughput",
            {"signal_count": lane.signal_count, "decision_count": lane.decision_count, "trade_count": lane.trade_count},
        )
    return _phase(
        name,
        status,
        lane.timestamp,
        gates,
        observations=observations,
        artifact_refs=[paths.ref(r) for r in stage.artifact_refs],
        reasons=list(stage.reasons),
    )


def _paper_canary(lane: LaneResult, paths: RunPaths) -> Phase:
    gate = CANARY_GATE
    threshold = f"patch exists for {lane.target} target"
    if lane.patch_path:
        ref = paths.ref(lane.patch_path)
        observations = {"target": lane.target, "patch_path": ref}
        return _phase(
            CANARY_PHASE,
            "pass",
            lane.timestamp,
            [_gate(gate, "pass", threshold, ref)],
            observations=observations,
            artifact_refs=[ref],
        )
    # The contract: paper target without a patch fails, live target without one skips.
    status = "fail" if lane.target == "paper" else "skip"
    return _phase(
        CANARY_PHASE,
        status,
        lane.timestamp,
        [_gate(gate, status, threshold, False)],
        observations={"target": lane.target, "patch_path": None},
        artifact_refs=[],
    )


def build_manifest(lane: LaneResult, paths: RunPaths, *, evaluation: DriftEvaluation | None = None) -> PhaseManifest:
    """Build the run's manifest; without ``evaluation``, runtime governance is still pending."""
    phases = [
        _paper_canary(lane, paths) if spec.name == CANARY_PHASE else _lane_phase(spec.name, lane, paths)
        for spec in PHASES
        if spec.writer is Writer.LANE
    ]
    summary = {
        "signal_count": lane.signal_count,
        "decision_count": lane.decision_count,
        "has_signals": lane.signal_count > 0,
        "paper_canary_targeted": lane.target == "paper",
        "live_targeted": lane.target == "live",
        **lane.observation_summary,
    }
    draft = PhaseManifest.model_validate(
        {
            "schema_version": MANIFEST_SCHEMA_VERSION,
            "slo_contract_version": SLO_CONTRACT_VERSION,
            "run_id": lane.run_id,
            "candidate_id": lane.candidate_id,
            "execution_context": lane.context.model_dump(),
            "requested_promotion_target": lane.target,
            "status": "pass",
            "phase_count": 0,
            "phase_transitions": [],
            "phases": [p.model_dump(by_alias=True) for p in phases],
            "runtime_governance": {},
            "rollback_proof": {},
            "artifact_refs": sorted({paths.ref(r) for r in lane.artifact_refs}),
            "observation_summary": summary,
            "created_at": lane.timestamp,
        }
    )
    pending = DriftEvaluation(timestamp=lane.timestamp, drift_status=PENDING_DRIFT)
    return update_manifest(draft, evaluation or pending, paths)


def _scheduled(name: str, ev: DriftEvaluation) -> Phase:
    """A scheduler phase no contract rule derives: its required gates take the evaluation's verdict."""
    status = "fail" if ev.rollback_triggered or ev.unhealthy else "pass"
    return _phase(name, status, ev.timestamp, [_gate(i, status) for i in REQUIRED_SLO_GATES[name]])


def _governed(manifest: PhaseManifest, ev: DriftEvaluation, paths: RunPaths) -> tuple[Phase, Phase, dict[str, Any]]:
    target = manifest.requested_promotion_target
    triggered = ev.rollback_triggered
    drift_refs = [paths.ref(r) for r in ev.artifact_refs]
    runtime_status = "fail" if triggered or ev.unhealthy else "pass"
    runtime = _phase(
        RUNTIME_PHASE,
        runtime_status,
        ev.timestamp,
        [_gate(RUNTIME_GATE, "fail" if triggered else "pass", False, triggered)],
        observations={
            "requested_promotion_target": target,
            "drift_status": ev.drift_status,
            "action_type": ev.action_type,
            "action_triggered": ev.action_type != "none",
            "rollback_triggered": triggered,
        },
        artifact_refs=drift_refs,
        reasons=list(ev.reasons),
    )
    evidence = paths.ref(ev.evidence_path) if triggered and ev.evidence_path else None
    exists = evidence is not None and paths.tree.resolver().resolve(evidence, paths.run_dir).exists
    # The contract: not triggered passes; triggered passes only when the evidence file exists.
    proof_status = "pass" if not triggered or exists else "fail"
    proof_observations: dict[str, Any] = {"rollback_triggered": triggered}
    if evidence is not None:
        proof_observations["rollback_incident_evidence_path"] = evidence
    proof = _phase(
        PROOF_PHASE,
        proof_status,
        ev.timestamp,
        [_gate(PROOF_GATE, proof_status, True, exists if triggered else False)],
        observations=proof_observations,
        artifact_refs=drift_refs + ([evidence] if exists and evidence else []),
        reasons=list(ev.reasons),
    )
    record = {
        "requested_promotion_target": target,
        "rollback_triggered": triggered,
        "drift_status": ev.drift_status,
        "action_type": ev.action_type,
        "reasons": list(ev.reasons),
        **({"rollback_incident_evidence_path": evidence} if evidence is not None else {}),
    }
    return runtime, proof, record


def _record(old: Any, new: Mapping[str, Any], status: str, refs: list[str]) -> dict[str, Any]:
    # Keep the unknown keys an earlier writer put there; drop stale evidence.
    kept = {k: v for k, v in old.model_dump(exclude_none=True).items() if k not in EVIDENCE_PATH_KEYS}
    return {**kept, **new, "status": status, "artifact_refs": refs}


def update_manifest(manifest: PhaseManifest, evaluation: DriftEvaluation, paths: RunPaths) -> PhaseManifest:
    """Apply the scheduler's drift evaluation: (re)place the two governed phases, recompute the rest."""
    runtime, proof, record = _governed(manifest, evaluation, paths)
    derived = {runtime.name: runtime, proof.name: proof}
    governed = [derived.get(name) or _scheduled(name, evaluation) for name in GOVERNED_PHASES]
    old = {p.name: p for p in manifest.phases if p.name in GOVERNED_PHASES}
    phases: list[Phase] = []
    for phase in [p for p in manifest.phases if p.name not in GOVERNED_PHASES] + governed:
        previous = old.get(phase.name) if phase.name in GOVERNED_PHASES else None
        if previous is not None and previous.model_extra:
            merged = {**previous.model_extra, **phase.model_dump(by_alias=True)}
            phase = Phase.model_validate(merged)
        phases.append(phase)
    order = {name: i for i, name in enumerate(PHASE_ORDER)}
    phases.sort(key=lambda p: order[p.name])
    by_name = {p.name: p for p in phases}
    transitions = [{"from": a, "to": b, "status": by_name[b].status} for a, b in pairwise(p.name for p in phases)]
    failing = any(p.status not in NON_FAILING_STATUSES for p in phases)
    refs = set(manifest.artifact_refs)
    for phase in phases:
        refs.update(phase.artifact_refs)
    summary = {
        **manifest.observation_summary,
        "drift_status": evaluation.drift_status,
        "rollback_triggered": evaluation.rollback_triggered,
    }
    data = manifest.model_dump(by_alias=True, exclude_none=True)
    data.update(
        phases=[p.model_dump(by_alias=True) for p in phases],
        phase_count=len(phases),
        phase_transitions=transitions,
        status="fail" if failing else "pass",
        runtime_governance=_record(manifest.runtime_governance, record, runtime.status, runtime.artifact_refs),
        rollback_proof=_record(
            manifest.rollback_proof,
            {k: v for k, v in record.items() if k not in ("drift_status", "action_type")},
            proof.status,
            proof.artifact_refs,
        ),
        artifact_refs=sorted(refs),
        observation_summary=summary,
        updated_at=evaluation.timestamp,
    )
    return PhaseManifest.model_validate(data)


def manifest_data(manifest: PhaseManifest) -> dict[str, Any]:
    """The manifest as the JSON document the producer writes."""
    data: dict[str, Any] = manifest.model_dump(mode="json", by_alias=True, exclude_none=True)
    return data


def dumps_manifest(manifest: PhaseManifest) -> str:
    """Serialise deterministically: sorted keys, two-space indent, trailing newline."""
    return dumps_indented(manifest_data(manifest), ensure_ascii=False) + "\n"


def write_manifest(manifest: PhaseManifest, paths: RunPaths, *, opt_ins: Sequence[str] = ()) -> WriteResult:
    """Self-check, then replace ``<run>/rollout/phase-manifest.json`` atomically."""
    text = dumps_manifest(manifest)
    warnings = check_manifest_data(json.loads(text), paths.manifest_path, paths.tree, opt_ins=opt_ins)
    write_atomic(paths.manifest_path, text.encode("utf-8"))
    return WriteResult(path=paths.manifest_path, warnings=warnings)


def read_manifest(path: Path) -> PhaseManifest:
    """Read a manifest, keeping every unknown key."""
    return PhaseManifest.model_validate_json(path.read_bytes())


def apply_drift_evaluation(paths: RunPaths, evaluation: DriftEvaluation, *, opt_ins: Sequence[str] = ()) -> WriteResult:
    """The scheduler's step: read the run's manifest, update it, write it back atomically."""
    updated = update_manifest(read_manifest(paths.manifest_path), evaluation, paths)
    return write_manifest(updated, paths, opt_ins=opt_ins)
