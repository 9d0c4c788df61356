"""Rules for the canonical phase manifest (contract; READING.md section 2)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ..contract import (
    ADJACENT_TRANSITIONS,
    DRIFT_EVIDENCE_FILES,
    EVIDENCE_PATH_KEYS,
    NON_FAILING_STATUSES,
    PHASE_ORDER,
    REQUIRED_SLO_GATES,
    SKIP_STATUSES,
)
from ..model import Artifact, Finding, SchemaIssue, Severity, pointer, show
from .base import CheckContext, glob_match, routed, rule

CONTRACT = "contract: Autonomous rollout contract"
SLO = "contract: SLO gate requirements"
CANARY = "contract: Canary promotion control"
ROLLBACK = "contract: Rollback-proof control"
READING = "READING.md section 2"

# Which rule reports a structural (JSON Schema) error, by keyword and pointer: first match wins.
_ROUTES: tuple[tuple[str, str, str], ...] = (
    ("format", "/**", "TM011"),
    ("*", "/schema_version", "TM002"),
    ("*", "/slo_contract_version", "TM003"),
    ("*", "/execution_context/**", "TM004"),
    ("*", "/requested_promotion_target", "TM005"),
    ("*", "/status", "TM006"),
    ("*", "/phases/*/name", "TM007"),
    ("*", "/phase_count", "TM008"),
    ("*", "/phases/*/status", "TM010"),
    ("*", "/phases/*/**", "TM009"),
    ("*", "/phase_transitions/*/status", "TM013"),
    ("*", "/phase_transitions/*/**", "TM012"),
    ("*", "/runtime_governance/**", "TM023"),
    ("*", "/rollback_proof/**", "TM023"),
)


def route(issue: SchemaIssue) -> str:
    """The manifest rule that owns a schema issue (TM001 for top-level fields)."""
    for keyword, pattern, rule_id in _ROUTES:
        if keyword in ("*", issue.keyword) and glob_match(pattern, issue.pointer):
            return rule_id
    return "TM001"


def _structural(rule_id: str) -> Any:
    def check(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
        return routed(artifact, rule_id, route)

    return check


# -- helpers -----------------------------------------------------------------------------


def _phases(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    phases = data.get("phases")
    if not isinstance(phases, list):
        return []
    return [(i, p) for i, p in enumerate(phases) if isinstance(p, dict)]


def _phase(data: dict[str, Any], name: str) -> tuple[int, dict[str, Any]] | None:
    return next(((i, p) for i, p in _phases(data) if p.get("name") == name), None)


def _norm(status: Any) -> Any:
    return "skip" if status in SKIP_STATUSES else status


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _nonempty_str(value: Any) -> bool:
    return isinstance(value, str) and bool(value.strip())


def rollback_trigger(data: dict[str, Any]) -> str | None:
    """Return the pointer of the first place saying a rollback was triggered, if any."""
    places: list[tuple[str, dict[str, Any]]] = [
        ("/runtime_governance", _dict(data.get("runtime_governance"))),
        ("/rollback_proof", _dict(data.get("rollback_proof"))),
    ]
    for name in ("runtime-governance", "rollback-proof"):
        found = _phase(data, name)
        if found:
            places.append((pointer("phases", found[0], "observations"), _dict(found[1].get("observations"))))
    return next((f"{where}/rollback_triggered" for where, obj in places if obj.get("rollback_triggered") is True), None)


def unhealthy_drift(data: dict[str, Any], states: frozenset[str]) -> tuple[str, str] | None:
    """Return (pointer, state) of an unhealthy drift status, if any."""
    places: list[tuple[str, dict[str, Any]]] = [("/runtime_governance", _dict(data.get("runtime_governance")))]
    found = _phase(data, "runtime-governance")
    if found:
        places.append((pointer("phases", found[0], "observations"), _dict(found[1].get("observations"))))
    for where, obj in places:
        state = obj.get("drift_status")
        if isinstance(state, str) and state in states:
            return f"{where}/drift_status", state
    return None


def evidence_path(data: dict[str, Any]) -> tuple[str, str] | None:
    """Return (pointer, path) of the first non-empty rollback incident evidence path."""
    places: list[tuple[str, dict[str, Any]]] = [("/rollback_proof", _dict(data.get("rollback_proof")))]
    found = _phase(data, "rollback-proof")
    if found:
        places.append((pointer("phases", found[0], "observations"), _dict(found[1].get("observations"))))
    places.append(("/runtime_governance", _dict(data.get("runtime_governance"))))
    for where, obj in places:
        for key in EVIDENCE_PATH_KEYS:
            if _nonempty_str(obj.get(key)):
                return f"{where}/{key}", str(obj[key])
    return None


# -- structural rules ---------------------------------------------------------------------

rule(
    id="TM001",
    slug="top-level-fields",
    title="Every top-level field is present, with its type",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""Every manifest must include all of these top-level fields: schema_version, run_id,
    candidate_id, execution_context, requested_promotion_target, status, phase_count,
    phase_transitions, phases, runtime_governance, rollback_proof, artifact_refs,
    slo_contract_version, observation_summary.""",
)(_structural("TM001"))
rule(
    id="TM002",
    slug="schema-version",
    title="schema_version is autonomy-phase-manifest-v1",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`schema_version` = `autonomy-phase-manifest-v1`",
)(_structural("TM002"))
rule(
    id="TM003",
    slug="slo-contract-version",
    title="slo_contract_version is governance-slo-v1",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`slo_contract_version` = `governance-slo-v1`",
)(_structural("TM003"))
rule(
    id="TM004",
    slug="execution-context",
    title="execution_context holds its five string keys",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`execution_context`: `repository`, `base`, `head`, `artifactPath`, `priorityId`
    (READING.md: the five keys present, each a string; placeholder values are legal).""",
)(_structural("TM004"))
rule(
    id="TM005",
    slug="promotion-target",
    title="requested_promotion_target is paper or live",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`requested_promotion_target` (`paper` | `live`) (READING.md: real lane runs can
    write `shadow`: that is a violation).""",
)(_structural("TM005"))
rule(
    id="TM006",
    slug="manifest-status",
    title="The manifest status is pass or fail",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`status` (`pass` | `fail`)",
)(_structural("TM006"))
rule(
    id="TM009",
    slug="phase-fields",
    title="Every phase carries its six fields, with their types",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""Every phase payload includes: `name`, `status`, `timestamp`, `slo_gates`,
    `observations`, `artifact_refs` (READING.md: `slo_gates` is a list of objects with `id` and
    `status`).""",
)(_structural("TM009"))
rule(
    id="TM010",
    slug="phase-status",
    title="Every phase status is pass, fail, skip or skipped",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`status` (`pass`, `fail`, `skip`, `skipped`) (READING.md: an unknown phase status
    such as `blocked` is itself a violation, never a pass).""",
)(_structural("TM010"))
rule(
    id="TM011",
    slug="timestamps",
    title="Every timestamp is RFC 3339 with an offset",
    source=READING,
    applies_to=("manifest",),
    statement="""`timestamp` is RFC 3339 with an offset (`+00:00` and `Z` both occur; an impossible
    date such as February 30th is invalid); so is every other timestamp the suite reads
    (`created_at`, `updated_at` where present).""",
)(_structural("TM011"))
rule(
    id="TM023",
    slug="governance-records",
    title="runtime_governance and rollback_proof are well formed",
    source=READING,
    applies_to=("manifest",),
    statement="""`runtime_governance` and `rollback_proof` are objects; they may lack a `status`
    key (older producers), and their `artifact_refs` need not be sorted.""",
)(_structural("TM023"))


# -- phase order and transitions ------------------------------------------------------------


@rule(
    id="TM007",
    slug="phase-order",
    title="Phases are the seven canonical phases, in order",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""Phase order is fixed and authoritative for every manifest: gate-evaluation,
    promotion-prerequisites, rollback-readiness, drift-gate, paper-canary, runtime-governance,
    rollback-proof.""",
)
def check_phase_order(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Compare phase names position by position with the canonical order."""
    yield from routed(artifact, "TM007", route)
    phases = artifact.data.get("phases")
    if not isinstance(phases, list):
        return
    for i, expected in enumerate(PHASE_ORDER):
        if i >= len(phases):
            yield Finding(
                pointer=pointer("phases", i),
                message=f"phase {expected!r} is missing",
                expected=f"{expected!r} at position {i + 1}",
                found="missing",
            )
            continue
        name = phases[i].get("name") if isinstance(phases[i], dict) else None
        if name != expected:
            yield Finding(
                pointer=pointer("phases", i, "name"),
                message=f"phase {i + 1} is {show(name)}, the canonical order has {expected!r}",
                expected=show(expected),
                found=show(name),
            )
    for i in range(len(PHASE_ORDER), len(phases)):
        yield Finding(
            pointer=pointer("phases", i),
            message=f"unexpected phase after {PHASE_ORDER[-1]!r}",
            expected=f"{len(PHASE_ORDER)} phases",
            found=f"{len(phases)} phases",
        )


@rule(
    id="TM008",
    slug="phase-count",
    title="phase_count equals the number of phases",
    source=READING,
    applies_to=("manifest",),
    statement="`phase_count` equals the number of phases (and so 7).",
)
def check_phase_count(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """phase_count must count the phases actually listed."""
    yield from routed(artifact, "TM008", route)
    count, phases = artifact.data.get("phase_count"), artifact.data.get("phases")
    if isinstance(count, int) and not isinstance(count, bool) and isinstance(phases, list) and count != len(phases):
        yield Finding(
            pointer="/phase_count",
            message=f"phase_count says {count} but {len(phases)} phases are listed",
            expected=str(len(phases)),
            found=str(count),
        )


@rule(
    id="TM012",
    slug="transition-adjacency",
    title="Transitions are the six adjacent canonical pairs",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`phase_transitions` must be derived only from the canonical phase list and must
    include transitions between each adjacent phase (READING.md: exactly the six adjacent
    canonical pairs, in order, each `{from, to, status}`).""",
)
def check_transition_adjacency(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Each transition i must be (PHASE_ORDER[i], PHASE_ORDER[i+1])."""
    yield from routed(artifact, "TM012", route)
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
            message="transition beyond the six adjacent pairs",
            expected=f"{len(ADJACENT_TRANSITIONS)} transitions",
            found=f"{len(transitions)} transitions",
        )


@rule(
    id="TM013",
    slug="transition-status",
    title="Each transition carries the status of the phase it leads to",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""Transitions preserve the same failure state (READING.md: each transition's `status`
    equals the status of the phase it leads TO; `skip` and `skipped` mean the same).""",
)
def check_transition_status(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Compare each transition's status with its target phase's status."""
    yield from routed(artifact, "TM013", route)
    transitions = artifact.data.get("phase_transitions")
    if not isinstance(transitions, list):
        return
    for i, edge in enumerate(transitions):
        if not isinstance(edge, dict) or "status" not in edge:
            continue
        to = edge.get("to")
        target = _phase(artifact.data, to) if isinstance(to, str) else None
        if target is None:
            continue
        want = target[1].get("status")
        if _norm(edge["status"]) != _norm(want):
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
    statement="""manifest `status` is `fail` when any phase status is not `pass`/`skip`/`skipped`
    (READING.md: `status` is `fail` exactly when some phase status is not pass/skip/skipped).""",
)
def check_failure_policy(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """status must be fail iff some phase status is outside pass/skip/skipped."""
    status = artifact.data.get("status")
    if status not in ("pass", "fail"):
        return
    failing = [(i, p.get("status")) for i, p in _phases(artifact.data) if p.get("status") not in NON_FAILING_STATUSES]
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


def _gates(phase: dict[str, Any]) -> list[dict[str, Any]]:
    gates = phase.get("slo_gates")
    return [g for g in gates if isinstance(g, dict)] if isinstance(gates, list) else []


@rule(
    id="TM015",
    slug="slo-gates-declared",
    title="Every phase declares its required SLO gates",
    source=SLO,
    applies_to=("manifest",),
    statement="""Each phase must declare SLO checks in `slo_gates` (gate-evaluation:
    slo_signal_count_minimum, slo_decision_count_minimum; promotion-prerequisites:
    slo_required_artifacts_present; rollback-readiness: slo_required_rollback_checks_present;
    drift-gate: slo_drift_gate_allowed; paper-canary: slo_paper_canary_patch_present;
    runtime-governance: slo_runtime_rollback_not_triggered; rollback-proof:
    slo_rollback_evidence_required_when_triggered). READING.md: a placeholder phase with
    `slo_gates: []` violates the contract.""",
)
def check_slo_gates_declared(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Each canonical phase lists its required gate ids."""
    for i, phase in _phases(artifact.data):
        required = REQUIRED_SLO_GATES.get(str(phase.get("name")), ())
        declared = [g.get("id") for g in _gates(phase)]
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
    severity=Severity.ADVISORY,
    statement="""`gate-evaluation`: promotion gate-derived status checks (READING.md: ids like
    `gate0_data_integrity`; their absence is worth a warning, not a failure).""",
)
def check_promotion_gate_entries(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """gate-evaluation should list gates beyond its two slo_* checks."""
    found = _phase(artifact.data, "gate-evaluation")
    if found is None:
        return
    i, phase = found
    ids = [g.get("id") for g in _gates(phase)]
    if not any(isinstance(g, str) and not g.startswith("slo_") for g in ids):
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
    severity=Severity.ADVISORY,
    statement="""A phase that passes or skips while one of its required SLO gates fails is worth a
    warning (advisory), not a failure.""",
)
def check_slo_gate_consistency(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Warn when a phase's own required gate failed but the phase did not."""
    for i, phase in _phases(artifact.data):
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


# -- paper canary ---------------------------------------------------------------------------


def _patch(phase: dict[str, Any]) -> tuple[bool, str | None]:
    """(patch produced?, the patch path if one is named) from the paper-canary phase only."""
    path = _dict(phase.get("observations")).get("patch_path")
    gate = next((g for g in _gates(phase) if g.get("id") == "slo_paper_canary_patch_present"), {})
    value = gate.get("value")
    named = path if _nonempty_str(path) else value if _nonempty_str(value) else None
    refs = phase.get("artifact_refs")
    produced = named is not None or value is True or (isinstance(refs, list) and bool(refs))
    return produced, named


@rule(
    id="TM018",
    slug="paper-canary-outcome",
    title="paper-canary fails (paper) or skips (live) without a patch",
    source=CANARY,
    applies_to=("manifest",),
    statement="""For `paper` target, missing patch => `fail`. For `live` target, missing patch =>
    `skip` (READING.md: whether a patch was produced is read from the paper-canary phase only).""",
)
def check_paper_canary_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Without a patch the canary's status follows the target."""
    found = _phase(artifact.data, "paper-canary")
    target = artifact.data.get("requested_promotion_target")
    if found is None or target not in ("paper", "live"):
        return
    i, phase = found
    produced, _ = _patch(phase)
    if produced:
        return
    status = phase.get("status")
    if target == "paper" and status != "fail":
        yield Finding(
            pointer=pointer("phases", i, "status"),
            message="paper target and no strategy patch was produced, so paper-canary must fail",
            expected='"fail"',
            found=show(status),
        )
    elif target == "live" and status not in SKIP_STATUSES:
        yield Finding(
            pointer=pointer("phases", i, "status"),
            message="live target and no strategy patch was produced, so paper-canary must skip",
            expected='"skip" or "skipped"',
            found=show(status),
        )


@rule(
    id="TM019",
    slug="paper-canary-patch-ref",
    title="A produced patch is in paper-canary's artifact_refs",
    source=CANARY,
    applies_to=("manifest",),
    statement="""Canary completion path is captured in phase artifact references (READING.md: a
    patch that was produced appears in the phase's `artifact_refs`).""",
)
def check_paper_canary_patch_ref(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """The named patch path is among the phase's own references."""
    found = _phase(artifact.data, "paper-canary")
    if found is None:
        return
    i, phase = found
    produced, named = _patch(phase)
    refs: list[Any] = phase["artifact_refs"] if isinstance(phase.get("artifact_refs"), list) else []
    normalised = {os.path.normpath(r) for r in refs if isinstance(r, str)}
    if named is not None and os.path.normpath(named) not in normalised:
        yield Finding(
            pointer=pointer("phases", i, "artifact_refs"),
            message="the strategy patch is not among paper-canary's artifact_refs",
            expected=f"a reference to {show(named)}",
            found=show(refs),
        )
    elif produced and named is None and not refs:
        yield Finding(
            pointer=pointer("phases", i, "artifact_refs"),
            message="the patch gate says a patch exists but no reference names it",
            expected="the patch path in artifact_refs",
            found="[]",
        )


# -- runtime governance and rollback proof ----------------------------------------------------


@rule(
    id="TM020",
    slug="runtime-governance-outcome",
    title="runtime-governance fails when a rollback is triggered or drift is unhealthy",
    source=ROLLBACK,
    applies_to=("manifest",),
    statement="""`runtime-governance` status becomes `fail` when runtime drift/rollback policy is
    triggered or when drift state is unhealthy (READING.md: `rollback_triggered` true anywhere, or
    `drift_status` in the configured unhealthy set, default `drift_detected unhealthy`).""",
)
def check_runtime_governance_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """The runtime-governance phase must fail on a trigger or unhealthy drift."""
    found = _phase(artifact.data, "runtime-governance")
    if found is None:
        return
    i, phase = found
    trigger = rollback_trigger(artifact.data)
    drift = unhealthy_drift(artifact.data, context.unhealthy_drift_states)
    if phase.get("status") == "fail" or (trigger is None and drift is None):
        return
    cause = f"{trigger} is true" if trigger else f"{drift[0]} is {drift[1]!r}" if drift else ""
    yield Finding(
        pointer=pointer("phases", i, "status"),
        message=f"runtime-governance must fail because {cause}",
        expected='"fail"',
        found=show(phase.get("status")),
    )


@rule(
    id="TM021",
    slug="rollback-proof-outcome",
    title="rollback-proof passes only without a rollback, or with existing evidence",
    source=ROLLBACK,
    applies_to=("manifest",),
    statement="""`rollback-proof` status becomes `pass` when not rollback-triggered; `pass` only when
    evidence path exists if rollback is triggered (READING.md: triggered, it may be `pass` only when
    `rollback_incident_evidence_path` or its alias is non-empty AND the file exists; otherwise it
    must be `fail`).""",
)
def check_rollback_proof_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Judge rollback-proof's status against the trigger and the evidence on disk."""
    found = _phase(artifact.data, "rollback-proof")
    if found is None:
        return
    i, phase = found
    status, at = phase.get("status"), pointer("phases", i, "status")
    trigger = rollback_trigger(artifact.data)
    if trigger is None:
        if status != "pass":
            yield Finding(
                pointer=at,
                message="no rollback was triggered, so rollback-proof must pass",
                expected='"pass"',
                found=show(status),
            )
        return
    evidence = evidence_path(artifact.data)
    if evidence is None:
        proof = "no rollback incident evidence path is recorded"
        ok = False
    else:
        resolution = context.resolve(evidence[1], artifact.root)
        ok = resolution.exists
        proof = f"evidence {evidence[0]} = {show(evidence[1])}: {resolution.describe()}"
    if status == "pass" and not ok:
        yield Finding(
            pointer=at,
            message=f"rollback triggered ({trigger}) but {proof}",
            expected='"fail" (no existing evidence)',
            found=show(status),
        )
    elif status not in ("pass", "fail"):
        yield Finding(
            pointer=at,
            message=f"rollback triggered ({trigger}): rollback-proof must pass or fail",
            expected='"pass" with evidence, else "fail"',
            found=show(status),
        )


def _drift_refs(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    lists: list[tuple[str, Any]] = [
        ("/runtime_governance/artifact_refs", _dict(data.get("runtime_governance")).get("artifact_refs"))
    ]
    for name in ("runtime-governance", "rollback-proof"):
        found = _phase(data, name)
        if found:
            lists.append((pointer("phases", found[0], "artifact_refs"), found[1].get("artifact_refs")))
    for where, refs in lists:
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str) and any(ref.endswith(name) for name in DRIFT_EVIDENCE_FILES):
                yield f"{where}/{j}", ref


@rule(
    id="TM022",
    slug="rollback-drift-evidence",
    title="On a rollback, the drift evidence files referenced exist",
    source=ROLLBACK,
    applies_to=("manifest",),
    statement="""Evidence is referenced by `drift_last_detection_path`, `drift_last_action_path`,
    `drift_last_outcome_path` (READING.md: their values appear as `drift/drift-detection.json`,
    `drift/drift-action.json`, `drift/drift-outcome.json` entries in
    `runtime_governance.artifact_refs` and the runtime-governance / rollback-proof phase refs; when a
    rollback is triggered, those drift files that are referenced there must exist).""",
)
def check_rollback_drift_evidence(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Every referenced drift file resolves and exists when a rollback was triggered."""
    if rollback_trigger(artifact.data) is None:
        return
    for where, ref in _drift_refs(artifact.data):
        resolution = context.resolve(ref, artifact.root)
        if not resolution.exists:
            yield Finding(
                pointer=where,
                message=f"drift evidence {ref} {resolution.describe()}",
                expected="an existing file inside the artifact trees",
                found=show(ref),
            )


@rule(
    id="TM024",
    slug="artifact-refs-exist",
    title="Every artifact reference exists (opt-in)",
    source=READING,
    applies_to=("manifest",),
    opt_in="torghut_check_refs",
    statement="""Other `artifact_refs` need not exist (production refs dangle by design and
    retention prunes old runs); an opt-in strict mode checks them.""",
)
def check_artifact_refs_exist(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """With --torghut-check-refs, every top-level and phase reference must exist."""
    lists: list[tuple[str, Any]] = [("/artifact_refs", artifact.data.get("artifact_refs"))]
    lists += [(pointer("phases", i, "artifact_refs"), p.get("artifact_refs")) for i, p in _phases(artifact.data)]
    for where, refs in lists:
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str):
                resolution = context.resolve(ref, artifact.root)
                if not resolution.exists:
                    yield Finding(
                        pointer=f"{where}/{j}",
                        message=f"reference {resolution.describe()}",
                        expected="an existing file inside the artifact trees",
                        found=show(ref),
                    )
