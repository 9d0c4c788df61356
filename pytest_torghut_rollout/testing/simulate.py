"""A seeded scheduler simulation: realistic artifact trees of any size, with known faults.

``simulate`` runs N scheduler cycles over a simulated clock (never the wall clock) with a
realistic mix: cycles blocked for lack of signal, lane failures, paper and live
targets, failing lane stages, drift detected, rollbacks with and without incident
evidence, and optional retention of old runs. The same options give byte-identical
trees. ``faults=K`` then injects K single faults, each of a known kind from
``pytest_torghut_rollout.testing.mutations``, into distinct artifacts, and ``faults.json``
lists them with the rule ids each kind declares; a clean simulation lists none.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal

from ..checking.discovery import discover
from ..checking.model import Artifact
from ..contract.models import DEFAULT_UNHEALTHY_DRIFT_STATES, NoteOutcome, PhaseStatus
from ..producer import LANE_PHASES, CycleSpec, Layout, NoteFormat, Scenario, write_scenario
from ..producer.storage import scratch_writes, write_atomic
from .mutations import MUTATIONS, Mutation, candidates

FAULTS_FILE = "faults.json"
EPOCH = datetime(2026, 4, 2, 9, 0, tzinfo=UTC)
_DRIFT = (
    ("stable", 45),
    ("drift_detected", 20),
    ("cooldown", 10),
    ("queued", 8),
    ("unhealthy", 5),
    ("disabled", 5),
    ("unknown", 4),
    ("skipped", 3),
)
_STAGE_TROUBLE: tuple[PhaseStatus, ...] = ("fail", "fail", "skipped")
_ERRORS = (
    "RuntimeError: evaluation stage timed out after 900s",
    "ClickHouseError: signal query failed: connection reset by peer",
    "ValueError: candidate spec missing universe_type",
)


class SimulationError(RuntimeError):
    """The simulation cannot run as asked (output not empty, too few targets for the faults)."""


@dataclass(frozen=True, kw_only=True)
class SimulationOptions:
    """Everything that determines a simulated tree (the same options give the same bytes)."""

    runs: int
    seed: int
    out: Path
    layout: Layout = "nested"
    faults: int = 0
    retain: int | None = None
    note_format: NoteFormat = "markdown"
    prefix: str | None = None


@dataclass(frozen=True, kw_only=True)
class Fault:
    """One injected fault: where, which rules must fail there, and what was done."""

    artifact: str
    """The artifact's path relative to the output directory (its test id)."""
    rules: tuple[str, ...]
    fault: str

    def as_dict(self) -> dict[str, object]:
        """The ``faults.json`` entry."""
        return {"artifact": self.artifact, "rules": list(self.rules), "fault": self.fault}


@dataclass(frozen=True, kw_only=True)
class SimulationResult:
    """What a simulation wrote."""

    root: Path
    cycles: int
    runs: int
    pruned: int
    faults: tuple[Fault, ...]


def _weighted(rng: random.Random, table: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([v for v, _ in table], weights=[w for _, w in table])[0]


def _cycle(rng: random.Random, moment: datetime) -> CycleSpec:
    roll = rng.random()
    outcome = NoteOutcome.BLOCKED if roll < 0.15 else NoteOutcome.FAILED if roll < 0.25 else NoteOutcome.COMPLETED
    target: Literal["paper", "live"] = "paper" if rng.random() < 0.6 else "live"
    run_id = f"{rng.getrandbits(96):024x}"
    stages: dict[str, PhaseStatus] = {}
    if rng.random() < 0.15:
        stages[rng.choice(LANE_PHASES)] = rng.choice(_STAGE_TROUBLE)
    drift = _weighted(rng, _DRIFT)
    return CycleSpec(
        timestamp=moment,
        run_id=run_id,
        candidate_id=f"cand-{run_id[:12]}",
        outcome=outcome,
        target=target,
        trace_id=f"{rng.getrandbits(96):024x}" if outcome == NoteOutcome.COMPLETED else None,
        signal_count=0 if outcome == NoteOutcome.BLOCKED or rng.random() < 0.03 else rng.randint(1, 900),
        decision_count=rng.randint(1, 80),
        trade_count=rng.randint(0, 30),
        stage_statuses=stages,
        patch=rng.random() < (0.8 if target == "paper" else 0.5),
        drift_status=drift,
        rollback_triggered=drift in DEFAULT_UNHEALTHY_DRIFT_STATES and rng.random() < 0.6,
        incident_evidence=rng.random() < 0.85,
        lane_seconds=rng.randint(20, 240),
        error=rng.choice(_ERRORS) if outcome == NoteOutcome.FAILED else None,
    )


def simulated_cycles(runs: int, seed: int) -> tuple[CycleSpec, ...]:
    """The cycles of a simulation: a seeded mix over a simulated clock, 5 to 45 minutes apart."""
    rng = random.Random(seed)
    moment = EPOCH
    cycles: list[CycleSpec] = []
    for _ in range(runs):
        moment += timedelta(seconds=rng.randint(300, 2700))
        cycles.append(_cycle(rng, moment.replace(microsecond=rng.randrange(1_000_000))))
    return tuple(cycles)


def inject_faults(root: Path, count: int, seed: int) -> tuple[Fault, ...]:
    """Inject ``count`` faults into distinct artifacts under ``root``, kinds in a seeded rotation.

    Only kinds whose declared rules all fail a default run are used; ``rules`` is the
    kind's declaration, not the output of a check.
    """
    rng = random.Random(seed)
    kinds: list[Mutation] = [m for m in MUTATIONS if m.fails_by_default]
    rng.shuffle(kinds)
    artifacts = discover([root])
    touched: set[Path] = set()
    faults: list[Fault] = []
    for i in range(count):
        for mutation in kinds[i % len(kinds) :] + kinds[: i % len(kinds)]:
            fault = _inject(mutation, artifacts, touched, rng)
            if fault is not None:
                faults.append(fault)
                break
        else:
            raise SimulationError(f"the tree has room for only {len(faults)} of {count} faults; simulate more runs")
    return tuple(sorted(faults, key=lambda f: f.artifact))


def _inject(mutation: Mutation, artifacts: list[Artifact], touched: set[Path], rng: random.Random) -> Fault | None:
    options = list(candidates(mutation, artifacts, frozenset(touched)))
    rng.shuffle(options)
    for target in options:
        changed = mutation.apply(target, frozenset(touched))
        if changed is not None:
            touched.update(changed)
            return Fault(
                artifact=target.display,
                rules=tuple(sorted(mutation.rules)),
                fault=f"{mutation.kind}: {mutation.description}",
            )
    return None


def simulate(options: SimulationOptions) -> SimulationResult:
    """Write the simulated tree into ``options.out`` (which must be empty), then its faults."""
    out = options.out
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise SimulationError(f"{out} is not an empty directory; the simulation writes a fresh tree")
    if options.runs < 1:
        raise SimulationError("a simulation needs at least one run")
    scenario = Scenario(
        cycles=simulated_cycles(options.runs, options.seed),
        layout=options.layout,
        note_format=options.note_format,
        retain=options.retain,
        prefix=options.prefix,
    )
    out.mkdir(parents=True, exist_ok=True)
    # A simulated tree is rebuilt from its seed, never recovered after a crash, and written by
    # this process alone: no fsyncs, no listing of the notes series before each note.
    with scratch_writes():
        result = write_scenario(scenario, out)
        faults = inject_faults(out, options.faults, options.seed) if options.faults else ()
        body = json.dumps([f.as_dict() for f in faults], indent=2, sort_keys=True) + "\n"
        write_atomic(out / FAULTS_FILE, body.encode("utf-8"))
    return SimulationResult(
        root=out,
        cycles=len(scenario.cycles),
        runs=sum(1 for c in result.cycles if c.manifest is not None),
        pruned=len(result.pruned),
        faults=faults,
    )
