"""Reference producer of torghut rollout artifacts, typed with the contract's pydantic models.

- ``build_manifest`` turns the lane's stage outcomes, target, execution context and
  observations into the canonical phase manifest; ``update_manifest`` is the scheduler's
  update after drift evaluation. Order, counts, transitions, statuses and required gates
  are computed, never taken on trust.
- ``write_manifest`` replaces a manifest atomically; ``write_note`` appends a note
  exclusively (numbered highest + 1, never overwriting, never leaving a gap).
- Every write first checks the artifact with the rule registry and refuses, with a
  ``ContractViolationError`` naming the rule and JSON Pointer, to write a violation.
"""

from __future__ import annotations

from .checking import ContractViolationError, RuleFinding, WriteResult, findings_in_tree
from .cycle import LAYOUTS, CycleResult, CycleSpec, Layout, drift_evaluation, lane_result, prune_runs, run_cycle
from .layout import ArtifactTree, RunPaths, stamp
from .manifest import (
    GOVERNED_PHASES,
    LANE_PHASES,
    DriftEvaluation,
    LaneResult,
    StageOutcome,
    apply_drift_evaluation,
    build_manifest,
    dumps_manifest,
    manifest_data,
    read_manifest,
    update_manifest,
    write_manifest,
)
from .notes import (
    NOTE_FORMATS,
    NoteFormat,
    build_note,
    note_fields,
    render_lane_note,
    render_note,
    write_lane_note,
    write_note,
)
from .scenario import Scenario, ScenarioResult, write_scenario
from .storage import NumberingError, append_numbered, create_exclusive, highest_number, scratch_writes, write_atomic

__all__ = [
    "GOVERNED_PHASES",
    "LANE_PHASES",
    "LAYOUTS",
    "NOTE_FORMATS",
    "ArtifactTree",
    "ContractViolationError",
    "CycleResult",
    "CycleSpec",
    "DriftEvaluation",
    "LaneResult",
    "Layout",
    "NoteFormat",
    "NumberingError",
    "RuleFinding",
    "RunPaths",
    "Scenario",
    "ScenarioResult",
    "StageOutcome",
    "WriteResult",
    "append_numbered",
    "apply_drift_evaluation",
    "build_manifest",
    "build_note",
    "create_exclusive",
    "drift_evaluation",
    "dumps_manifest",
    "findings_in_tree",
    "highest_number",
    "lane_result",
    "manifest_data",
    "note_fields",
    "prune_runs",
    "read_manifest",
    "render_lane_note",
    "render_note",
    "run_cycle",
    "scratch_writes",
    "stamp",
    "update_manifest",
    "write_atomic",
    "write_lane_note",
    "write_manifest",
    "write_note",
    "write_scenario",
]
