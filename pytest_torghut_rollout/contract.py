"""Pydantic v2 models of the rollout contract (v6/06) and the constants it fixes.

The producer builds artifacts with these models, and the JSON Schemas in
``conformance/`` are generated from them (``manifest_schema()``/``note_schema()``).
The models say what a *structurally* valid artifact looks like; the rules in
``pytest_torghut_rollout.rules`` judge the relations between fields.
"""

from __future__ import annotations

from functools import cache
from itertools import pairwise
from typing import Any, Final, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

PhaseName = Literal[
    "gate-evaluation",
    "promotion-prerequisites",
    "rollback-readiness",
    "drift-gate",
    "paper-canary",
    "runtime-governance",
    "rollback-proof",
]
PhaseStatus = Literal["pass", "fail", "skip", "skipped"]
PromotionTarget = Literal["paper", "live"]
ManifestStatus = Literal["pass", "fail"]
NoteOutcome = Literal["lane_completed", "lane_execution_failed", "blocked_no_signal"]

CONTRACT: Final = "rollout-contract-v6-06"
"""The contract the rules enforce, as the evidence names it."""
CONTRACT_TITLE: Final = "torghut rollout contract v6-06"
MANIFEST_SCHEMA_VERSION: Final = "autonomy-phase-manifest-v1"
SLO_CONTRACT_VERSION: Final = "governance-slo-v1"

PHASE_ORDER: Final[tuple[PhaseName, ...]] = get_args(PhaseName)
ADJACENT_TRANSITIONS: Final[tuple[tuple[str, str], ...]] = tuple(pairwise(PHASE_ORDER))

#: SLO gate ids each phase must declare in ``slo_gates`` (contract, "SLO gate requirements").
REQUIRED_SLO_GATES: Final[dict[str, tuple[str, ...]]] = {
    "gate-evaluation": ("slo_signal_count_minimum", "slo_decision_count_minimum"),
    "promotion-prerequisites": ("slo_required_artifacts_present",),
    "rollback-readiness": ("slo_required_rollback_checks_present",),
    "drift-gate": ("slo_drift_gate_allowed",),
    "paper-canary": ("slo_paper_canary_patch_present",),
    "runtime-governance": ("slo_runtime_rollback_not_triggered",),
    "rollback-proof": ("slo_rollback_evidence_required_when_triggered",),
}

PHASE_STATUSES: Final[tuple[PhaseStatus, ...]] = get_args(PhaseStatus)
#: Phase statuses that do not fail a manifest (``skip`` and ``skipped`` are synonyms).
#: Tuples, not sets: a malformed status (a list, an object) must compare unequal, not raise.
NON_FAILING_STATUSES: Final[tuple[str, ...]] = ("pass", "skip", "skipped")
SKIP_STATUSES: Final[tuple[str, ...]] = ("skip", "skipped")
PROMOTION_TARGETS: Final[tuple[PromotionTarget, ...]] = get_args(PromotionTarget)

NOTE_OUTCOMES: Final[tuple[NoteOutcome, ...]] = get_args(NoteOutcome)

EVIDENCE_PATH_KEYS: Final[tuple[str, ...]] = (
    "rollback_incident_evidence_path",
    "rollback_incident_evidence",
)
DRIFT_EVIDENCE_FILES: Final[tuple[str, ...]] = (
    "drift/drift-detection.json",
    "drift/drift-action.json",
    "drift/drift-outcome.json",
)

_OPEN = ConfigDict(extra="allow", populate_by_name=True)


class SloGate(BaseModel):
    """One SLO check a phase declares; ``threshold`` and ``value`` are free-form."""

    model_config = _OPEN

    id: str = Field(min_length=1)
    status: str
    threshold: Any = None
    value: Any = None


class Phase(BaseModel):
    """One entry of ``phases``."""

    model_config = _OPEN

    name: PhaseName
    status: PhaseStatus
    timestamp: AwareDatetime
    slo_gates: list[SloGate]
    observations: dict[str, Any]
    artifact_refs: list[str]


class Transition(BaseModel):
    """One entry of ``phase_transitions``: an edge between adjacent phases."""

    model_config = _OPEN

    from_: PhaseName = Field(alias="from")
    to: PhaseName
    status: PhaseStatus


class ExecutionContext(BaseModel):
    """Where the run came from; placeholder values (``""``, ``"unknown"``) are legal."""

    model_config = _OPEN

    repository: str
    base: str
    head: str
    artifactPath: str
    priorityId: str


class GovernanceRecord(BaseModel):
    """``runtime_governance`` / ``rollback_proof``: older producers omit ``status``."""

    model_config = _OPEN

    status: PhaseStatus | None = None
    rollback_triggered: bool | None = None
    drift_status: str | None = None
    rollback_incident_evidence_path: str | None = None
    artifact_refs: list[str] = Field(default_factory=list)


class PhaseManifest(BaseModel):
    """The canonical phase manifest, ``<artifact_root>/rollout/phase-manifest.json``."""

    model_config = ConfigDict(
        extra="allow",
        populate_by_name=True,
        title="PhaseManifest",
        json_schema_extra={"$comment": "Generated from pytest_torghut_rollout.contract; do not edit."},
    )

    schema_version: Literal["autonomy-phase-manifest-v1"]
    run_id: str
    candidate_id: str
    execution_context: ExecutionContext
    requested_promotion_target: PromotionTarget
    status: ManifestStatus
    phase_count: int
    phase_transitions: list[Transition]
    phases: list[Phase]
    runtime_governance: GovernanceRecord
    rollback_proof: GovernanceRecord
    artifact_refs: list[str]
    slo_contract_version: Literal["governance-slo-v1"]
    observation_summary: dict[str, Any]
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class SchedulerNote(BaseModel):
    """A scheduler's per-cycle evidence note (JSON body, or YAML front matter)."""

    model_config = ConfigDict(
        extra="allow",
        title="SchedulerNote",
        json_schema_extra={
            "$comment": "Generated from pytest_torghut_rollout.contract; do not edit.",
            "anyOf": [{"required": ["status"]}, {"required": ["outcome"]}],
        },
    )

    iteration: int | None = Field(default=None, ge=1)
    status: NoteOutcome | None = None
    outcome: NoteOutcome | None = None
    timestamp: AwareDatetime
    reason: str = Field(min_length=1)
    phase_manifest_path: str | None
    emergency_stop_active: bool
    rollback_incident_evidence_path: str | None
    throughput: dict[str, Any] | None
    recommendation_trace_id: str | None


@cache
def manifest_schema() -> dict[str, Any]:
    """Return the Draft 2020-12 JSON Schema of the phase manifest."""
    return _with_dialect(PhaseManifest.model_json_schema(by_alias=True))


@cache
def note_schema() -> dict[str, Any]:
    """Return the Draft 2020-12 JSON Schema of a scheduler note."""
    return _with_dialect(SchedulerNote.model_json_schema(by_alias=True))


def _with_dialect(schema: dict[str, Any]) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", **schema}
