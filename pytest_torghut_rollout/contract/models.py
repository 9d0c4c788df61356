"""Pydantic v2 models of the rollout contract (v6/06), and the contract data they are built from.

The producer builds artifacts with these models, and the JSON Schemas in
``conformance/`` are generated from them (``manifest_schema()``/``note_schema()``).
The models say what a *structurally* valid artifact looks like; the rules in
``pytest_torghut_rollout.checking.rules`` judge the relations between fields. Every fact they use
(phases, gates, vocabularies, layout) is defined once, in ``contract_data``, and re-exported here.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING, Any, Final, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .data import (
    ADJACENT_PAIRS,
    CANARY_GATE,
    CANARY_PHASE,
    CONTRACT,
    CONTRACT_TITLE,
    DECISION_GATE,
    DEFAULT_UNHEALTHY_DRIFT_STATES,
    DRIFT_EVIDENCE_FILES,
    DRIFT_STATES,
    EVIDENCE_PATH_KEYS,
    GATE_PHASE,
    LANE_STAGE_PHASES,
    MANIFEST_DIR,
    MANIFEST_NAME,
    MANIFEST_SCHEMA_VERSION,
    MANIFEST_STATUS_VALUES,
    NON_FAILING_STATUSES,
    NOTE_FIELDS,
    NOTE_NAME,
    NOTE_OUTCOME_VALUES,
    NOTE_PREFIX,
    NOTE_SUFFIX,
    NOTES_DIR,
    PATCH_PATH,
    PHASE_FIELDS,
    PHASE_NAMES,
    PHASE_SPECS,
    PHASE_STATUS_VALUES,
    PHASES,
    PROMOTION_TARGET_VALUES,
    PROOF_GATE,
    PROOF_PHASE,
    RUNTIME_GATE,
    RUNTIME_PHASE,
    SCHEDULER_PHASES,
    SIGNAL_GATE,
    SKIP_STATUSES,
    SLO_CONTRACT_VERSION,
    SLO_GATE_PREFIX,
    NoteOutcome,
    PhaseSpec,
    Writer,
    count_word,
    note_name,
    note_number,
    phase_index,
)

__all__ = [
    "ADJACENT_PAIRS",
    "ADJACENT_TRANSITIONS",
    "CANARY_GATE",
    "CANARY_PHASE",
    "CONTRACT",
    "CONTRACT_TITLE",
    "DECISION_GATE",
    "DEFAULT_UNHEALTHY_DRIFT_STATES",
    "DRIFT_EVIDENCE_FILES",
    "DRIFT_STATES",
    "EVIDENCE_PATH_KEYS",
    "GATE_PHASE",
    "LANE_STAGE_PHASES",
    "MANIFEST_DIR",
    "MANIFEST_NAME",
    "MANIFEST_SCHEMA_VERSION",
    "NON_FAILING_STATUSES",
    "NOTES_DIR",
    "NOTE_FIELDS",
    "NOTE_NAME",
    "NOTE_OUTCOMES",
    "NOTE_PREFIX",
    "NOTE_SUFFIX",
    "PATCH_PATH",
    "PHASES",
    "PHASE_FIELDS",
    "PHASE_ORDER",
    "PHASE_SPECS",
    "PHASE_STATUSES",
    "PROMOTION_TARGETS",
    "PROOF_GATE",
    "PROOF_PHASE",
    "REQUIRED_SLO_GATES",
    "RUNTIME_GATE",
    "RUNTIME_PHASE",
    "SCHEDULER_PHASES",
    "SIGNAL_GATE",
    "SKIP_STATUSES",
    "SLO_CONTRACT_VERSION",
    "SLO_GATE_PREFIX",
    "ExecutionContext",
    "GovernanceRecord",
    "NoteOutcome",
    "Phase",
    "PhaseManifest",
    "PhaseName",
    "PhaseSpec",
    "PhaseStatus",
    "PromotionTarget",
    "SchedulerNote",
    "SloGate",
    "Transition",
    "Writer",
    "count_word",
    "manifest_schema",
    "note_name",
    "note_number",
    "note_schema",
    "phase_index",
]

# The value types the models validate are built from the contract data at run time; the
# type checker sees plain strings (a Literal cannot be spelt from a tuple it computes).
if TYPE_CHECKING:
    PhaseName = str
    PhaseStatus = str
    PromotionTarget = str
    ManifestStatus = str
    NoteOutcomeName = str
    SchemaVersion = str
    SloContractVersion = str
else:
    PhaseName = Literal[PHASE_NAMES]
    PhaseStatus = Literal[PHASE_STATUS_VALUES]
    PromotionTarget = Literal[PROMOTION_TARGET_VALUES]
    ManifestStatus = Literal[MANIFEST_STATUS_VALUES]
    NoteOutcomeName = Literal[NOTE_OUTCOME_VALUES]
    SchemaVersion = Literal[MANIFEST_SCHEMA_VERSION]
    SloContractVersion = Literal[SLO_CONTRACT_VERSION]

PHASE_ORDER: Final[tuple[str, ...]] = PHASE_NAMES
ADJACENT_TRANSITIONS: Final[tuple[tuple[str, str], ...]] = ADJACENT_PAIRS
#: SLO gate ids each phase must declare in ``slo_gates`` (contract, "SLO gate requirements").
REQUIRED_SLO_GATES: Final[dict[str, tuple[str, ...]]] = {p.name: p.gates for p in PHASES}
PHASE_STATUSES: Final[tuple[str, ...]] = PHASE_STATUS_VALUES
PROMOTION_TARGETS: Final[tuple[str, ...]] = PROMOTION_TARGET_VALUES
NOTE_OUTCOMES: Final[tuple[str, ...]] = NOTE_OUTCOME_VALUES

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
        json_schema_extra={"$comment": "Generated from pytest_torghut_rollout.contract.models; do not edit."},
    )

    schema_version: SchemaVersion
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
    slo_contract_version: SloContractVersion
    observation_summary: dict[str, Any]
    created_at: AwareDatetime | None = None
    updated_at: AwareDatetime | None = None


class SchedulerNote(BaseModel):
    """A scheduler's per-cycle evidence note (JSON body, or YAML front matter)."""

    model_config = ConfigDict(
        extra="allow",
        title="SchedulerNote",
        json_schema_extra={
            "$comment": "Generated from pytest_torghut_rollout.contract.models; do not edit.",
            "anyOf": [{"required": ["status"]}, {"required": ["outcome"]}],
        },
    )

    iteration: int | None = Field(default=None, ge=1)
    status: NoteOutcomeName | None = None
    outcome: NoteOutcomeName | None = None
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
