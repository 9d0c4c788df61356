"""TM012-TM017: manifest rules on transitions, the failure policy and SLO gates."""

from __future__ import annotations

from collections.abc import Iterator

from ...contract.models import (
    ADJACENT_TRANSITIONS,
    GATE_PHASE,
    NON_FAILING_STATUSES,
    PHASES,
    REQUIRED_SLO_GATES,
    SLO_GATE_PREFIX,
    count_word,
)
from ..model import Artifact, Finding, Severity, pointer, show
from .base import CheckContext, rule, schema_findings
from .manifest_data import (
    CONTRACT,
    GATES,
    READING,
    SLO,
    STATUSES,
    gates_of,
    normalised_status,
    phase_named,
    phases_of,
    required_phase,
)

_PAIRS = count_word(len(ADJACENT_TRANSITIONS))

# -- transitions ---------------------------------------------------------------------------


@rule(
    id="TM012",
    slug="transition-adjacency",
    title=f"Transitions are the {count_word(len(ADJACENT_TRANSITIONS))} adjacent canonical pairs",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=("/phase_transitions",),
    owns=("/phase_transitions/*", "/phase_transitions/*/from", "/phase_transitions/*/to"),
    statement=f"""`phase_transitions` must be derived only from the canonical phase list and must
    include transitions between each adjacent phase (interpretation: exactly the {_PAIRS} adjacent
    canonical pairs, in order, each `{{from, to, status}}`).""",
)
def check_transition_adjacency(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Each transition i must be (PHASE_ORDER[i], PHASE_ORDER[i+1])."""
    yield from schema_findings(artifact, "TM012")
    transitions = artifact.data.get("phase_transitions")
    if not isinstance(transitions, list):
        return
    for i, (source, target) in enumerate(ADJACENT_TRANSITIONS):
        if i >= len(transitions):
            yield Finding(
                pointer=pointer("phase_transitions", i),
                message=f"transition {source!r} -> {target!r} is missing",
                expected=f"{{from: {source!r}, to: {target!r}}}",
                found="missing",
            )
            continue
        edge = transitions[i] if isinstance(transitions[i], dict) else {}
        for key, want in (("from", source), ("to", target)):
            if edge.get(key) != want:
                after = f" (next after {source!r})" if key == "to" else ""
                yield Finding(
                    pointer=pointer("phase_transitions", i, key),
                    message=f"transition {i + 1} does not join adjacent phases",
                    expected=f"{show(want)}{after}",
                    found=show(edge.get(key)),
                )
    for i in range(len(ADJACENT_TRANSITIONS), len(transitions)):
        yield Finding(
            pointer=pointer("phase_transitions", i),
            message=f"transition beyond the {count_word(len(ADJACENT_TRANSITIONS))} adjacent pairs",
            expected=f"{len(ADJACENT_TRANSITIONS)} transitions",
            found=f"{len(transitions)} transitions",
        )


@rule(
    id="TM013",
    slug="transition-status",
    title="Each transition carries the status of the phase it leads to",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=(*STATUSES, "/phase_transitions", "/phase_transitions/*", "/phase_transitions/*/to"),
    owns=("/phase_transitions/*/status",),
    statement="""Transitions preserve the same failure state (interpretation: each transition's `status`
    equals the status of the phase it leads TO; `skip` and `skipped` mean the same).""",
)
def check_transition_status(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Compare each transition's status with its target phase's status."""
    yield from schema_findings(artifact, "TM013")
    transitions = artifact.data.get("phase_transitions")
    if not isinstance(transitions, list):
        return
    for i, edge in enumerate(transitions):
        if not isinstance(edge, dict) or "status" not in edge:
            continue
        to = edge.get("to")
        target = phase_named(artifact.data, to) if isinstance(to, str) else None
        if target is None:
            continue
        want = target[1].get("status")
        if normalised_status(edge["status"]) != normalised_status(want):
            yield Finding(
                pointer=pointer("phase_transitions", i, "status"),
                message=f"transition to {edge['to']!r} has another status than that phase",
                expected=f"{show(want)} (status of /phases/{target[0]})",
                found=show(edge["status"]),
            )


@rule(
    id="TM014",
    slug="failure-policy",
    title="The manifest fails exactly when a phase fails",
    source="contract: Failure policy",
    applies_to=("manifest",),
    needs=(*STATUSES, "/status"),
    statement="""manifest `status` is `fail` when any phase status is not `pass`/`skip`/`skipped`
    (interpretation: `status` is `fail` exactly when some phase status is not pass/skip/skipped).""",
)
def check_failure_policy(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """status must be fail iff some phase status is outside pass/skip/skipped."""
    status = artifact.data.get("status")
    if status not in ("pass", "fail"):
        return
    failing = [(i, p.get("status")) for i, p in phases_of(artifact.data) if p.get("status") not in NON_FAILING_STATUSES]
    if failing and status != "fail":
        i, phase_status = failing[0]
        yield Finding(
            pointer="/status",
            message=f"status is 'pass' but /phases/{i}/status is {show(phase_status)}",
            expected='"fail"',
            found=show(status),
        )
    elif not failing and status != "pass":
        yield Finding(
            pointer="/status",
            message="status is 'fail' but every phase passed or skipped",
            expected='"pass"',
            found=show(status),
        )


# -- SLO gates ----------------------------------------------------------------------------

_REQUIRED_GATES = "; ".join(f"{p.name}: {', '.join(p.gates)}" for p in PHASES)


@rule(
    id="TM015",
    slug="slo-gates-declared",
    title="Every phase declares its required SLO gates",
    source=SLO,
    applies_to=("manifest",),
    needs=GATES,
    statement=f"""Each phase must declare SLO checks in `slo_gates` ({_REQUIRED_GATES}) (interpretation: a
    placeholder phase with `slo_gates: []` violates the contract).""",
)
def check_slo_gates_declared(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Each canonical phase lists its required gate ids."""
    for i, phase in phases_of(artifact.data):
        required = REQUIRED_SLO_GATES.get(str(phase.get("name")), ())
        declared = [g.get("id") for g in gates_of(phase)]
        for gate in required:
            if gate not in declared:
                yield Finding(
                    pointer=pointer("phases", i, "slo_gates"),
                    message=f"phase {phase['name']!r} does not declare SLO gate {gate!r}",
                    expected=f"a gate with id {gate!r}",
                    found=show(declared),
                )


@rule(
    id="TM016",
    slug="promotion-gate-entries",
    title="gate-evaluation carries the promotion gates' entries",
    source=SLO,
    applies_to=("manifest",),
    needs=GATES,
    severity=Severity.ADVISORY,
    statement="""`gate-evaluation`: promotion gate-derived status checks (interpretation: ids like
    `gate0_data_integrity`; their absence is worth a warning, not a failure).""",
)
def check_promotion_gate_entries(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """gate-evaluation should list gates beyond its two slo_* checks."""
    i, phase = required_phase(artifact.data, GATE_PHASE)
    ids = [g.get("id") for g in gates_of(phase)]
    if not any(isinstance(g, str) and not g.startswith(SLO_GATE_PREFIX) for g in ids):
        yield Finding(
            pointer=pointer("phases", i, "slo_gates"),
            message="gate-evaluation lists no promotion gate entries (ids like gate0_data_integrity)",
            expected="at least one promotion gate entry",
            found=show(ids),
        )


@rule(
    id="TM017",
    slug="slo-gate-consistency",
    title="A passing or skipped phase has no failing required gate",
    source=READING,
    applies_to=("manifest",),
    needs=(*GATES, "/phases/*/status", "/phases/*/slo_gates/*/status"),
    severity=Severity.ADVISORY,
    statement="""A phase that passes or skips while one of its required SLO gates fails is worth a
    warning (advisory), not a failure.""",
)
def check_slo_gate_consistency(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Warn when a phase's own required gate failed but the phase did not."""
    for i, phase in phases_of(artifact.data):
        if phase.get("status") not in NON_FAILING_STATUSES:
            continue
        required = REQUIRED_SLO_GATES.get(str(phase.get("name")), ())
        for j, gate in enumerate(phase.get("slo_gates") or []):
            if isinstance(gate, dict) and gate.get("id") in required and gate.get("status") == "fail":
                yield Finding(
                    pointer=pointer("phases", i, "slo_gates", j, "status"),
                    message=f"phase {phase['name']!r} is {phase['status']!r} but its gate {gate['id']!r} failed",
                    expected="a passing gate, or a failing phase",
                    found=show(gate.get("status")),
                )
