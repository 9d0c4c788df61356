"""Hypothesis strategies for conforming rollout artifacts and single-fault mutations of them.

For your own tests of code that reads or writes torghut artifacts::

    from hypothesis import given
    from pytest_torghut_rollout import strategies as tst

    @given(tst.manifests())
    def test_reader_accepts_every_conforming_manifest(manifest): ...

- ``manifests()`` and ``scheduler_notes()`` are pydantic models built by the reference
  producer that conform with nothing on disk (no rule they pass depends on a file).
- ``cycle_specs()`` and ``scenarios()`` describe scheduler cycles; write a scenario into a
  directory with ``pytest_torghut_rollout.producer.write_scenario`` for a conforming tree.
- ``mutations()`` draws a single-fault kind from ``pytest_torghut_rollout.testing.mutations``:
  apply it to an artifact of that tree, and exactly its declared rules fail there.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

from hypothesis import strategies as st

from ..checking.model import ArtifactKind
from ..contract.models import (
    DRIFT_STATES,
    MANIFEST_DIR,
    MANIFEST_NAME,
    PHASE_STATUSES,
    PROMOTION_TARGETS,
    NoteOutcome,
    PhaseManifest,
    SchedulerNote,
)
from ..producer import (
    LANE_PHASES,
    LAYOUTS,
    NOTE_FORMATS,
    ArtifactTree,
    CycleSpec,
    Layout,
    Scenario,
    build_manifest,
    build_note,
    drift_evaluation,
    lane_result,
    stamp,
    update_manifest,
)
from .mutations import MUTATIONS, Mutation

__all__ = [
    "DRIFT_STATES",
    "cycle_specs",
    "identifiers",
    "manifests",
    "mutations",
    "scenarios",
    "scheduler_notes",
    "timestamps",
]

_OFFSETS = (UTC, timezone(timedelta(hours=2)), timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)))
_NOWHERE = Path("/nonexistent/torghut/autonomy")
_TEXT = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)


def timestamps() -> st.SearchStrategy[datetime]:
    """Aware datetimes in 2020..2035, in UTC or a fixed offset, with microseconds."""
    return st.datetimes(
        min_value=datetime(2020, 1, 1),
        max_value=datetime(2035, 12, 31),
        timezones=st.sampled_from(_OFFSETS),
    )


def identifiers(length: int = 24) -> st.SearchStrategy[str]:
    """Hex identifiers like the lane's run ids and trace ids."""
    return st.text("0123456789abcdef", min_size=length, max_size=length)


@st.composite
def cycle_specs(
    draw: st.DrawFn,
    *,
    timestamp: datetime | None = None,
    outcomes: tuple[NoteOutcome, ...] = tuple(NoteOutcome),
) -> CycleSpec:
    """One scheduler cycle: outcome, target, lane statuses, patch, drift, rollback, evidence."""
    run_id = draw(identifiers())
    outcome = draw(st.sampled_from(outcomes))
    return CycleSpec(
        timestamp=timestamp if timestamp is not None else draw(timestamps()),
        run_id=run_id,
        candidate_id=f"cand-{run_id[:12]}",
        outcome=outcome,
        target=draw(st.sampled_from(PROMOTION_TARGETS)),
        trace_id=draw(st.none() | identifiers()),
        priority_id=draw(st.sampled_from(("", "unknown", "P-17"))),
        signal_count=draw(st.integers(0, 5000)) if outcome != NoteOutcome.BLOCKED else 0,
        decision_count=draw(st.integers(0, 500)),
        trade_count=draw(st.integers(0, 100)),
        stage_statuses=draw(st.dictionaries(st.sampled_from(LANE_PHASES), st.sampled_from(PHASE_STATUSES))),
        patch=draw(st.booleans()),
        drift_status=draw(st.sampled_from(DRIFT_STATES)),
        rollback_triggered=draw(st.booleans()),
        incident_evidence=draw(st.booleans()),
        lane_seconds=draw(st.integers(0, 600)),
        error=draw(_TEXT) if outcome == NoteOutcome.FAILED else None,
    )


@st.composite
def scenarios(
    draw: st.DrawFn,
    *,
    min_cycles: int = 1,
    max_cycles: int = 6,
    layouts: tuple[Layout, ...] = LAYOUTS,
    completed_first: bool = False,
    prefixes: tuple[str | None, ...] = (None,),
) -> Scenario:
    """Cycles in clock order (at least a minute apart), a layout, a note form, maybe retention."""
    start = draw(timestamps())
    gaps = draw(st.lists(st.integers(60, 6 * 3600), min_size=min_cycles, max_size=max_cycles))
    cycles: list[CycleSpec] = []
    moment = start
    for i, gap in enumerate(gaps):
        moment += timedelta(seconds=gap)
        outcomes: tuple[NoteOutcome, ...] = (
            (NoteOutcome.COMPLETED,) if completed_first and i == 0 else tuple(NoteOutcome)
        )
        cycles.append(draw(cycle_specs(timestamp=moment, outcomes=outcomes)))
    return Scenario(
        cycles=tuple(cycles),
        layout=draw(st.sampled_from(layouts)),
        note_format=draw(st.sampled_from(NOTE_FORMATS)),
        retain=draw(st.none() | st.integers(1, 3)),
        prefix=draw(st.sampled_from(prefixes)),
    )


@st.composite
def manifests(draw: st.DrawFn) -> PhaseManifest:
    """A producer-built manifest that conforms with nothing on disk.

    A triggered rollback has no evidence file here, so rollback-proof fails, and the
    scheduler records no drift files for it (they would have to exist).
    """
    spec = draw(cycle_specs(outcomes=(NoteOutcome.COMPLETED,)))
    run = ArtifactTree(root=_NOWHERE).nested_run(stamp(spec.timestamp))
    evaluation = drift_evaluation(spec, run)
    if evaluation.rollback_triggered:
        evaluation = replace(evaluation, artifact_refs=())
    return update_manifest(build_manifest(lane_result(spec, run), run), evaluation, run)


@st.composite
def scheduler_notes(draw: st.DrawFn) -> SchedulerNote:
    """A producer-built scheduler note (no iteration yet) that conforms with nothing on disk.

    A completed cycle's manifest may have been pruned by retention, and no rollback
    evidence is named (a named incident would have to exist).
    """
    outcome = draw(st.sampled_from(tuple(NoteOutcome)))
    completed = outcome == NoteOutcome.COMPLETED
    run = stamp(draw(timestamps()))
    return build_note(
        outcome=outcome,
        timestamp=draw(timestamps()),
        reason=draw(_TEXT.filter(str.strip)),
        target=draw(st.sampled_from(PROMOTION_TARGETS)),
        manifest_path=f"{run}/{MANIFEST_DIR}/{MANIFEST_NAME}" if completed else None,
        run_output_dir=run if completed else None,
        run_id=draw(st.none() | identifiers()),
        candidate_id=draw(st.none() | identifiers(12)),
        trace_id=draw(st.none() | identifiers()),
        emergency_stop_active=draw(st.booleans()),
        throughput=draw(st.none() | st.fixed_dictionaries({"signal_count": st.integers(0, 5000)})),
        metrics=draw(st.none() | st.fixed_dictionaries({"drift_status": st.sampled_from(DRIFT_STATES)})),
        error=draw(st.none() | _TEXT),
        promotion_eligible=draw(st.booleans()),
    )


def mutations(
    *, target: ArtifactKind | None = None, fails_by_default: bool | None = None
) -> st.SearchStrategy[Mutation]:
    """A single-fault mutation kind, optionally only for one artifact kind or one failing mode."""
    chosen = [
        m
        for m in MUTATIONS
        if (target is None or m.target == target)
        and (fails_by_default is None or m.fails_by_default == fails_by_default)
    ]
    return st.sampled_from(chosen)
