"""The rollout contract (v6/06) as data: every fact the rules, the producer and the tests share.

One place per fact. The phase table says, for each phase in its fixed order, what it
establishes, which SLO gate ids it must declare and which stage writes it; the vocabularies,
the layout (directory and file names, the note-name pattern) and the evidence paths follow.
``contract`` re-exports all of it next to the pydantic models built from it.

Light on purpose (standard library only): option validation imports the layout facts on
every run, before any artifact is asked for.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from itertools import pairwise
from typing import Final


class Writer(enum.StrEnum):
    """The stage that writes a phase (contract, "Rollout execution flow")."""

    LANE = "lane"
    """``run_autonomous_lane``, the single phase-manifest producer."""
    SCHEDULER = "scheduler"
    """The scheduler, which appends runtime governance and rollback proof after drift policy evaluation."""


@dataclass(frozen=True, kw_only=True)
class PhaseSpec:
    """One phase of the canonical order."""

    name: str
    abbreviation: str
    """A short column name for tables (``rb-proof``)."""
    role: str
    """What the phase establishes, in one line of the contract."""
    gates: tuple[str, ...]
    """The SLO gate ids it must declare in ``slo_gates`` (contract, "SLO gate requirements")."""
    writer: Writer
    derived: bool = False
    """Its status follows from a contract rule (the patch, the drift verdict), not from a stage's own verdict."""


# The phases other facts name (rules and the producer treat them specially).
GATE_PHASE: Final = "gate-evaluation"
CANARY_PHASE: Final = "paper-canary"
RUNTIME_PHASE: Final = "runtime-governance"
PROOF_PHASE: Final = "rollback-proof"

#: The canonical phases, in the contract's fixed order ("Phase order is fixed and authoritative").
PHASES: Final[tuple[PhaseSpec, ...]] = (
    PhaseSpec(
        name=GATE_PHASE,
        abbreviation="gate",
        role="signal and decision counts meet their minimums; promotion gates are evaluated",
        gates=("slo_signal_count_minimum", "slo_decision_count_minimum"),
        writer=Writer.LANE,
    ),
    PhaseSpec(
        name="promotion-prerequisites",
        abbreviation="prereq",
        role="the artifacts promotion requires are present",
        gates=("slo_required_artifacts_present",),
        writer=Writer.LANE,
    ),
    PhaseSpec(
        name="rollback-readiness",
        abbreviation="rb-ready",
        role="the required rollback checks are present",
        gates=("slo_required_rollback_checks_present",),
        writer=Writer.LANE,
    ),
    PhaseSpec(
        name="drift-gate",
        abbreviation="drift",
        role="the drift gate allows the rollout",
        gates=("slo_drift_gate_allowed",),
        writer=Writer.LANE,
    ),
    PhaseSpec(
        name=CANARY_PHASE,
        abbreviation="canary",
        role="marks whether a paper strategy patch was produced",
        gates=("slo_paper_canary_patch_present",),
        writer=Writer.LANE,
        derived=True,
    ),
    PhaseSpec(
        name=RUNTIME_PHASE,
        abbreviation="runtime",
        role="fails when runtime drift/rollback policy is triggered or the drift state is unhealthy",
        gates=("slo_runtime_rollback_not_triggered",),
        writer=Writer.SCHEDULER,
        derived=True,
    ),
    PhaseSpec(
        name=PROOF_PHASE,
        abbreviation="rb-proof",
        role="passes when not rollback-triggered, or only when the evidence path exists if it is",
        gates=("slo_rollback_evidence_required_when_triggered",),
        writer=Writer.SCHEDULER,
        derived=True,
    ),
)
PHASE_NAMES: Final[tuple[str, ...]] = tuple(p.name for p in PHASES)
PHASE_SPECS: Final[dict[str, PhaseSpec]] = {p.name: p for p in PHASES}
ADJACENT_PAIRS: Final[tuple[tuple[str, str], ...]] = tuple(pairwise(PHASE_NAMES))
#: Phases the lane evaluates itself (a stage verdict each); the producer derives the others.
LANE_STAGE_PHASES: Final[tuple[str, ...]] = tuple(p.name for p in PHASES if p.writer is Writer.LANE and not p.derived)
#: Phases the scheduler (re)writes after drift policy evaluation.
SCHEDULER_PHASES: Final[tuple[str, ...]] = tuple(p.name for p in PHASES if p.writer is Writer.SCHEDULER)

SIGNAL_GATE, DECISION_GATE = PHASE_SPECS[GATE_PHASE].gates
(CANARY_GATE,) = PHASE_SPECS[CANARY_PHASE].gates
(RUNTIME_GATE,) = PHASE_SPECS[RUNTIME_PHASE].gates
(PROOF_GATE,) = PHASE_SPECS[PROOF_PHASE].gates

#: Every SLO gate id begins so; gate-evaluation's promotion gate entries (``gate0_...``) do not.
SLO_GATE_PREFIX: Final = "slo_"

#: The fields every phase payload includes (contract, "Every phase payload includes").
PHASE_FIELDS: Final[tuple[str, ...]] = ("name", "status", "timestamp", "slo_gates", "observations", "artifact_refs")

# -- vocabularies -------------------------------------------------------------------------

PHASE_STATUS_VALUES: Final[tuple[str, ...]] = ("pass", "fail", "skip", "skipped")
#: Phase statuses that do not fail a manifest (``skip`` and ``skipped`` are synonyms).
#: Tuples, not sets: a malformed status (a list, an object) must compare unequal, not raise.
NON_FAILING_STATUSES: Final[tuple[str, ...]] = ("pass", "skip", "skipped")
SKIP_STATUSES: Final[tuple[str, ...]] = ("skip", "skipped")
MANIFEST_STATUS_VALUES: Final[tuple[str, ...]] = ("pass", "fail")
PROMOTION_TARGET_VALUES: Final[tuple[str, ...]] = ("paper", "live")


class NoteOutcome(enum.StrEnum):
    """A scheduler note's outcome (contract, "Rollout execution flow")."""

    COMPLETED = "lane_completed"
    FAILED = "lane_execution_failed"
    BLOCKED = "blocked_no_signal"


NOTE_OUTCOME_VALUES: Final[tuple[str, ...]] = tuple(o.value for o in NoteOutcome)
#: The keys every scheduler note records beyond its outcome (interpretation §3).
NOTE_FIELDS: Final[tuple[str, ...]] = (
    "timestamp",
    "reason",
    "phase_manifest_path",
    "emergency_stop_active",
    "rollback_incident_evidence_path",
    "throughput",
    "recommendation_trace_id",
)

CONTRACT: Final = "rollout-contract-v6-06"
"""The contract the rules enforce, as the evidence names it."""
CONTRACT_TITLE: Final = "torghut rollout contract v6-06"
MANIFEST_SCHEMA_VERSION: Final = "autonomy-phase-manifest-v1"
SLO_CONTRACT_VERSION: Final = "governance-slo-v1"

#: ``drift_status`` values that count as unhealthy unless the ini key says otherwise.
DEFAULT_UNHEALTHY_DRIFT_STATES: Final[tuple[str, ...]] = ("drift_detected", "unhealthy")
#: Every drift state production writes (interpretation §2); all but the unhealthy ones are healthy.
DRIFT_STATES: Final[tuple[str, ...]] = (
    *DEFAULT_UNHEALTHY_DRIFT_STATES,
    "stable",
    "cooldown",
    "disabled",
    "queued",
    "unknown",
    "skipped",
)

# -- layout and evidence paths ----------------------------------------------------------

MANIFEST_DIR: Final = "rollout"
MANIFEST_NAME: Final = "phase-manifest.json"
NOTES_DIR: Final = "notes"
NOTE_PREFIX: Final = "iteration-"
NOTE_SUFFIX: Final = ".md"
NOTE_NAME: Final = re.compile(rf"{re.escape(NOTE_PREFIX)}([1-9][0-9]*){re.escape(NOTE_SUFFIX)}")
"""A well-formed note name: ``iteration-<n>.md``, n without leading zeros."""

#: The paper strategy patch, relative to the run directory.
PATCH_PATH: Final = "paper-candidate/strategy-configmap-patch.yaml"
EVIDENCE_PATH_KEYS: Final[tuple[str, ...]] = (
    "rollback_incident_evidence_path",
    "rollback_incident_evidence",
)
#: The drift evidence (``drift_last_{detection,action,outcome}_path``), relative to the run directory.
DRIFT_EVIDENCE_FILES: Final[tuple[str, ...]] = (
    "drift/drift-detection.json",
    "drift/drift-action.json",
    "drift/drift-outcome.json",
)


def note_name(n: int) -> str:
    """``iteration-<n>.md``."""
    return f"{NOTE_PREFIX}{n}{NOTE_SUFFIX}"


def note_number(name: str) -> int | None:
    """Return ``n`` of ``iteration-<n>.md``, or None when the name is malformed."""
    match = NOTE_NAME.fullmatch(name)
    return int(match.group(1)) if match else None


def phase_index(name: str) -> int:
    """The position of phase ``name`` in the canonical order."""
    return PHASE_NAMES.index(name)


_WORDS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve")


def count_word(n: int) -> str:
    """``seven`` for 7: counts in rule titles and statements follow the table."""
    return _WORDS[n] if 0 <= n < len(_WORDS) else str(n)
