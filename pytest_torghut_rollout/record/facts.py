"""What the evidence record says about one artifact, read from the artifact itself (no pytest here).

Computed where the artifact's checks run (an xdist worker, or the one process) and shipped to
the controller as JSON: plain data, sorted keys, the same for the same file on any process.
References are resolved exactly as the rules resolve them (``CheckContext.resolve``: the path
map, containment in the artifact trees), so "exists" here means what it means to TM021/TM022.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterable, Iterator
from typing import Any

from ..checking.model import Artifact, printable
from ..checking.rules.base import CheckContext
from ..checking.rules.manifest_data import (
    as_dict,
    drift_refs,
    evidence_path,
    gates_of,
    nonempty,
    phase_named,
    phases_of,
    rollback_trigger,
)
from ..contract.models import CANARY_GATE, CANARY_PHASE

#: The manifest's scalar facts every manifest artifact entry carries (null where unreadable).
MANIFEST_FIELDS = (("run_id", "run_id"), ("candidate_id", "candidate_id"), ("target", "requested_promotion_target"))


def _text(value: Any) -> str | None:
    """An artifact's string, made printable; anything else is no value."""
    return printable(value) if isinstance(value, str) else None


def size_of(artifact: Artifact) -> int | None:
    """The file's size in bytes (None for a notes series, or a file that cannot be read)."""
    if artifact.kind == "notes-series":
        return None
    try:
        return os.stat(artifact.path).st_size
    except (OSError, ValueError):
        return None


def manifest_facts(artifact: Artifact) -> dict[str, Any]:
    """Run id, candidate, target and status as the manifest says them (null where it does not)."""
    data = as_dict(artifact.data) if artifact.error is None else {}
    facts: dict[str, Any] = {key: _text(data.get(field)) for key, field in MANIFEST_FIELDS}
    facts["status"] = _text(data.get("status"))
    return facts


def _evidence(role: str, where: str, ref: str, artifact: Artifact, context: CheckContext) -> dict[str, Any]:
    resolution = context.resolve(ref, artifact.root)
    return {
        "role": role,
        "pointer": where,
        "ref": printable(ref),
        "exists": resolution.exists,
        "unresolvable": printable(resolution.reason) if resolution.path is None else None,
    }


def _drift_refs(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """The drift evidence files TM022 checks, each once (where it is first named)."""
    seen: set[str] = set()
    for where, ref in drift_refs(data):
        if ref not in seen:
            seen.add(ref)
            yield where, ref


def _patch_ref(data: dict[str, Any]) -> tuple[str, str] | None:
    """The paper-canary patch path the canary phase names (observations first, then its gate)."""
    found = phase_named(data, CANARY_PHASE)
    if found is None:
        return None
    i, phase = found
    path = as_dict(phase.get("observations")).get("patch_path")
    if nonempty(path):
        return f"/phases/{i}/observations/patch_path", str(path)
    for j, gate in enumerate(gates_of(phase)):
        if gate.get("id") == CANARY_GATE and nonempty(gate.get("value")):
            return f"/phases/{i}/slo_gates/{j}/value", str(gate["value"])
    return None


def run_governance(artifact: Artifact, context: CheckContext) -> dict[str, Any]:
    """One manifest's governance at a glance: phases and their SLO gates, rollback, drift, evidence."""
    data = as_dict(artifact.data) if artifact.error is None else {}
    phases = [
        {
            "name": _text(phase.get("name")),
            "status": _text(phase.get("status")),
            "slo_gates": [{"id": _text(g.get("id")), "status": _text(g.get("status"))} for g in gates_of(phase)],
        }
        for _, phase in phases_of(data)
    ]
    governance = as_dict(data.get("runtime_governance"))
    evidence: list[dict[str, Any]] = []
    incident = evidence_path(data)
    if incident is not None:
        evidence.append(_evidence("rollback-incident", *incident, artifact, context))
    evidence.extend(_evidence("drift", where, ref, artifact, context) for where, ref in _drift_refs(data))
    patch = _patch_ref(data)
    if patch is not None:
        evidence.append(_evidence("paper-canary-patch", *patch, artifact, context))
    return {
        "phases": phases,
        "rollback_triggered": rollback_trigger(data) is not None if data else None,
        "drift_status": _text(governance.get("drift_status")),
        "evidence": sorted(evidence, key=lambda e: (e["role"], e["pointer"])),
    }


def series_summary(notes: Iterable[Artifact]) -> dict[str, Any]:
    """A notes series: how many iterations, how each ended, and the last one."""
    ordered = sorted(notes, key=lambda n: (n.number is None, n.number or 0, n.display))
    outcomes: Counter[str] = Counter()
    for note in ordered:
        outcomes[_outcome(note)] += 1
    last = ordered[-1] if ordered else None
    return {
        "iterations": len(ordered),
        "outcomes": dict(sorted(outcomes.items())),
        "last_iteration": None
        if last is None
        else {
            "number": last.number,
            "path": printable(last.display),
            "kind": last.kind,
            "outcome": _outcome(last),
            "timestamp": _text(as_dict(last.data).get("timestamp")) if last.error is None else None,
        },
    }


def _outcome(note: Artifact) -> str:
    """A scheduler note's ``status``; ``lane-note``, ``unrecognised-note`` or ``unreadable`` otherwise."""
    if note.error is not None:
        return "unreadable"
    if note.kind == "scheduler-note":
        status = as_dict(note.data).get("status")
        return printable(status) if isinstance(status, str) else "no-status"
    return note.kind


def artifact_facts(
    artifact: Artifact, context: CheckContext, notes: Iterable[Artifact] = (), *, summary: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Everything the record says about ``artifact`` beyond its checks; ``notes`` are a series' notes,
    or ``summary`` their ``series_summary`` when they were read apart (lazily)."""
    return {
        "path": printable(artifact.display),
        "kind": artifact.kind,
        "size": size_of(artifact),
        "sha256": artifact.sha256,
        "manifest": manifest_facts(artifact) if artifact.kind == "manifest" else None,
        "governance": run_governance(artifact, context) if artifact.kind == "manifest" else None,
        "series": None
        if artifact.kind != "notes-series"
        else summary
        if summary is not None
        else series_summary(notes),
    }
