"""Reading a manifest defensively: shared by the manifest rules (no pytest here).

Every helper tolerates malformed input (a missing key, a list where an object belongs):
the structural rules report those; the semantic rules look only at what they can read.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...contract.models import DRIFT_EVIDENCE_FILES, EVIDENCE_PATH_KEYS, PROOF_PHASE, RUNTIME_PHASE, SKIP_STATUSES
from ..model import pointer
from .base import NotEvaluated

CONTRACT = "contract: Autonomous rollout contract"
SLO = "contract: SLO gate requirements"
CANARY = "contract: Canary promotion control"
ROLLBACK = "contract: Rollback-proof control"
READING = "interpretation §2: The manifest"

#: What a rule that finds phases by name reads (see ``Rule.needs``) ...
PHASES: tuple[str, ...] = ("/phases", "/phases/*", "/phases/*/name")
#: ... and one that judges their statuses too.
STATUSES: tuple[str, ...] = (*PHASES, "/phases/*/status")
#: ... a rule that reads the governance records' trigger, drift state and evidence.
GOVERNANCE: tuple[str, ...] = tuple(
    f"/{record}{key}"
    for record in ("runtime_governance", "rollback_proof")
    for key in ("", "/rollback_triggered", "/drift_status", "/rollback_incident_evidence_path", "/artifact_refs")
)
#: ... and a rule that reads their SLO gates too.
GATES: tuple[str, ...] = (*PHASES, "/phases/*/slo_gates", "/phases/*/slo_gates/*", "/phases/*/slo_gates/*/id")


def phases_of(data: dict[str, Any]) -> list[tuple[int, dict[str, Any]]]:
    """(index, phase) for every phase that is an object."""
    phases = data.get("phases")
    if not isinstance(phases, list):
        return []
    return [(i, p) for i, p in enumerate(phases) if isinstance(p, dict)]


def phase_named(data: dict[str, Any], name: str) -> tuple[int, dict[str, Any]] | None:
    """(index, phase) of the first phase called ``name``, if any."""
    return next(((i, p) for i, p in phases_of(data) if p.get("name") == name), None)


def required_phase(data: dict[str, Any], name: str) -> tuple[int, dict[str, Any]]:
    """(index, phase) of the phase called ``name``; not evaluated when it is absent (TM007 says so)."""
    found = phase_named(data, name)
    if found is None:
        raise NotEvaluated(f"there is no {name!r} phase (TM007 reports it)", owner="TM007")
    return found


def normalised_status(status: Any) -> Any:
    """``skip`` and ``skipped`` mean the same everywhere."""
    return "skip" if status in SKIP_STATUSES else status


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` when it is an object, else an empty one."""
    return value if isinstance(value, dict) else {}


def nonempty(value: Any) -> bool:
    """True for a string with some text in it."""
    return isinstance(value, str) and bool(value.strip())


def rollback_trigger(data: dict[str, Any]) -> str | None:
    """Return the pointer of the first place saying a rollback was triggered, if any."""
    places: list[tuple[str, dict[str, Any]]] = [
        ("/runtime_governance", as_dict(data.get("runtime_governance"))),
        ("/rollback_proof", as_dict(data.get("rollback_proof"))),
    ]
    for name in (RUNTIME_PHASE, PROOF_PHASE):
        found = phase_named(data, name)
        if found:
            places.append((pointer("phases", found[0], "observations"), as_dict(found[1].get("observations"))))
    return next((f"{where}/rollback_triggered" for where, obj in places if obj.get("rollback_triggered") is True), None)


def unhealthy_drift(data: dict[str, Any], states: frozenset[str]) -> tuple[str, str] | None:
    """Return (pointer, state) of an unhealthy drift status, if any."""
    places: list[tuple[str, dict[str, Any]]] = [("/runtime_governance", as_dict(data.get("runtime_governance")))]
    found = phase_named(data, RUNTIME_PHASE)
    if found:
        places.append((pointer("phases", found[0], "observations"), as_dict(found[1].get("observations"))))
    for where, obj in places:
        state = obj.get("drift_status")
        if isinstance(state, str) and state in states:
            return f"{where}/drift_status", state
    return None


def evidence_path(data: dict[str, Any]) -> tuple[str, str] | None:
    """Return (pointer, path) of the first non-empty rollback incident evidence path."""
    places: list[tuple[str, dict[str, Any]]] = [("/rollback_proof", as_dict(data.get("rollback_proof")))]
    found = phase_named(data, PROOF_PHASE)
    if found:
        places.append((pointer("phases", found[0], "observations"), as_dict(found[1].get("observations"))))
    places.append(("/runtime_governance", as_dict(data.get("runtime_governance"))))
    for where, obj in places:
        for key in EVIDENCE_PATH_KEYS:
            if nonempty(obj.get(key)):
                return f"{where}/{key}", str(obj[key])
    return None


def drift_refs(data: dict[str, Any]) -> Iterator[tuple[str, str]]:
    """(pointer, ref) of every drift evidence file named in the governance record and the
    runtime-governance and rollback-proof phases, in that order (what TM022 checks)."""
    lists: list[tuple[str, Any]] = [
        ("/runtime_governance/artifact_refs", as_dict(data.get("runtime_governance")).get("artifact_refs"))
    ]
    for name in (RUNTIME_PHASE, PROOF_PHASE):
        found = phase_named(data, name)
        if found:
            lists.append((pointer("phases", found[0], "artifact_refs"), found[1].get("artifact_refs")))
    for where, refs in lists:
        for j, ref in enumerate(refs if isinstance(refs, list) else []):
            if isinstance(ref, str) and any(ref.endswith(name) for name in DRIFT_EVIDENCE_FILES):
                yield f"{where}/{j}", ref


def gates_of(phase: dict[str, Any]) -> list[dict[str, Any]]:
    """The phase's SLO gates that are objects."""
    gates = phase.get("slo_gates")
    return [g for g in gates if isinstance(g, dict)] if isinstance(gates, list) else []
