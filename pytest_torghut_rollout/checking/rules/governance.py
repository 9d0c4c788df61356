"""TM018-TM024: manifest rules on the paper canary, governance records, rollback proof and references."""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

from ...contract.models import (
    CANARY_GATE,
    CANARY_PHASE,
    DRIFT_EVIDENCE_FILES,
    PROOF_PHASE,
    RUNTIME_PHASE,
    SKIP_STATUSES,
)
from ..model import CHECK_REFS, Artifact, Finding, pointer, show
from .base import CheckContext, owned_schema_errors, rule
from .manifest_data import (
    CANARY,
    GATES,
    GOVERNANCE,
    PHASES,
    READING,
    ROLLBACK,
    STATUSES,
    as_dict,
    drift_refs,
    evidence_path,
    gates_of,
    nonempty,
    phases_of,
    required_phase,
    rollback_trigger,
    unhealthy_drift,
)

# -- paper canary ---------------------------------------------------------------------------

#: What the paper-canary rules read to learn whether a patch was produced.
CANARY_READS: tuple[str, ...] = (*GATES, "/phases/*/observations", "/phases/*/artifact_refs")


def _patch(phase: dict[str, Any]) -> tuple[bool, str | None]:
    """(patch produced?, the patch path if one is named) from the paper-canary phase only."""
    path = as_dict(phase.get("observations")).get("patch_path")
    gate = next((g for g in gates_of(phase) if g.get("id") == CANARY_GATE), {})
    value = gate.get("value")
    named = path if nonempty(path) else value if nonempty(value) else None
    refs = phase.get("artifact_refs")
    produced = named is not None or value is True or (isinstance(refs, list) and bool(refs))
    return produced, named


@rule(
    id="TM018",
    slug="paper-canary-outcome",
    title="paper-canary fails (paper) or skips (live) without a patch",
    source=CANARY,
    applies_to=("manifest",),
    needs=(
        *GATES,
        "/phases/*/status",
        "/requested_promotion_target",
        "/phases/*/observations",
        "/phases/*/artifact_refs",
    ),
    statement="""For `paper` target, missing patch => `fail`. For `live` target, missing patch =>
    `skip` (interpretation: whether a patch was produced is read from the paper-canary phase only).""",
)
def check_paper_canary_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Without a patch the canary's status follows the target."""
    target = artifact.data.get("requested_promotion_target")
    i, phase = required_phase(artifact.data, CANARY_PHASE)
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
    needs=CANARY_READS,
    statement="""Canary completion path is captured in phase artifact references (interpretation: a
    patch that was produced appears in the phase's `artifact_refs`).""",
)
def check_paper_canary_patch_ref(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """The named patch path is among the phase's own references."""
    i, phase = required_phase(artifact.data, CANARY_PHASE)
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
    needs=(*STATUSES, "/phases/*/observations", *GOVERNANCE),
    statement="""`runtime-governance` status becomes `fail` when runtime drift/rollback policy is
    triggered or when drift state is unhealthy (interpretation: `rollback_triggered` true anywhere, or
    `drift_status` in the configured unhealthy set, default `drift_detected unhealthy`).""",
)
def check_runtime_governance_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """The runtime-governance phase must fail on a trigger or unhealthy drift."""
    i, phase = required_phase(artifact.data, RUNTIME_PHASE)
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
    needs=(*STATUSES, "/phases/*/observations", *GOVERNANCE),
    statement="""`rollback-proof` status becomes `pass` when not rollback-triggered; `pass` only when
    evidence path exists if rollback is triggered (interpretation: triggered, it may be `pass` only when
    `rollback_incident_evidence_path` or its alias is non-empty AND the file exists; otherwise it
    must be `fail`).""",
)
def check_rollback_proof_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Judge rollback-proof's status against the trigger and the evidence on disk."""
    i, phase = required_phase(artifact.data, PROOF_PHASE)
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


@rule(
    id="TM022",
    slug="rollback-drift-evidence",
    title="On a rollback, the drift evidence files referenced exist",
    source=ROLLBACK,
    applies_to=("manifest",),
    needs=(*PHASES, "/phases/*/observations", "/phases/*/artifact_refs", *GOVERNANCE),
    statement=f"""Evidence is referenced by `drift_last_detection_path`, `drift_last_action_path`,
    `drift_last_outcome_path` (interpretation: their values appear as `{"`, `".join(DRIFT_EVIDENCE_FILES)}` entries in
    `runtime_governance.artifact_refs` and the runtime-governance / rollback-proof phase refs; when a
    rollback is triggered, those drift files that are referenced there must exist).""",
)
def check_rollback_drift_evidence(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Every referenced drift file resolves and exists when a rollback was triggered."""
    if rollback_trigger(artifact.data) is None:
        return
    for where, ref in drift_refs(artifact.data):
        resolution = context.resolve(ref, artifact.root)
        if not resolution.exists:
            yield Finding(
                pointer=where,
                message=f"drift evidence {ref} {resolution.describe()}",
                expected="an existing file inside the artifact trees",
                found=show(ref),
            )


rule(
    id="TM023",
    slug="governance-records",
    title="runtime_governance and rollback_proof are well formed",
    source=READING,
    applies_to=("manifest",),
    statement="""`runtime_governance` and `rollback_proof` are objects; they may lack a `status`
    key (older producers), and their `artifact_refs` need not be sorted.""",
    owns=("/runtime_governance/**", "/rollback_proof/**"),
)(owned_schema_errors("TM023"))


@rule(
    id="TM024",
    slug="artifact-refs-exist",
    title="Every artifact reference exists (opt-in)",
    source=READING,
    applies_to=("manifest",),
    needs=("/artifact_refs", "/phases", "/phases/*", "/phases/*/artifact_refs"),
    opt_in=CHECK_REFS.key,
    statement="""Other `artifact_refs` need not exist (production refs dangle by design and
    retention prunes old runs); an opt-in strict mode checks them.""",
)
def check_artifact_refs_exist(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """With --torghut-check-refs, every top-level and phase reference must exist."""
    lists: list[tuple[str, Any]] = [("/artifact_refs", artifact.data.get("artifact_refs"))]
    lists += [(pointer("phases", i, "artifact_refs"), p.get("artifact_refs")) for i, p in phases_of(artifact.data)]
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
