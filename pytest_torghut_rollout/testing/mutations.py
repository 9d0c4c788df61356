"""Single-fault mutations of conforming artifacts, each declaring exactly the rules it breaks.

A mutation edits one artifact of a conforming tree on disk (a manifest, a note, a
lane note or a notes series) the way a faulty producer would, and declares the exact
set of rule ids that must then fail *on that artifact* and nowhere else. The
hypothesis strategies and the simulation's ``--faults`` both draw from ``MUTATIONS``;
the declarations are checked against real runs by the test suite, never copied from one.

Manifest mutations repair what they do not mean to break (transition statuses and the
failure policy follow the phases again), so they hold on any conforming base manifest.
"""

from __future__ import annotations

import copy
import json
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ..checking.model import CHECK_REFS, Artifact, ArtifactKind, Severity
from ..checking.rules import REGISTRY
from ..contract.layout import note_number
from ..contract.models import (
    CANARY_PHASE,
    DEFAULT_UNHEALTHY_DRIFT_STATES,
    EVIDENCE_PATH_KEYS,
    GATE_PHASE,
    NON_FAILING_STATUSES,
    NOTE_PREFIX,
    NOTE_SUFFIX,
    PATCH_PATH,
    PHASE_ORDER,
    PROOF_PHASE,
    RUNTIME_PHASE,
    SLO_GATE_PREFIX,
    count_word,
)
from ..producer.storage import write_atomic

#: How a lane stage note begins (the autonomy lane, the alpha lane).
LANE_HEADINGS = ("# Autonomous lane iteration", "# Alpha lane iteration")

Edit = Callable[[Artifact, frozenset[Path]], frozenset[Path] | None]
MISSING_INCIDENT = "rollback-incidents/incident-missing.json"
STALE_DRIFT_REF = "stale/drift/drift-action.json"
PATCH = PATCH_PATH
#: A note name with a leading zero, which TN020 refuses.
ZERO_PADDED = f"{NOTE_PREFIX}01{NOTE_SUFFIX}"
_OFF_BY_ONE = f"phase_count is {len(PHASE_ORDER) + 1} for {count_word(len(PHASE_ORDER))} phases"


def _always(artifact: Artifact) -> bool:
    return True


@dataclass(frozen=True, kw_only=True)
class Mutation:
    """A fault kind: what it does, to which kind of artifact, and which rules must fail there."""

    kind: str
    target: ArtifactKind
    rules: frozenset[str]
    description: str
    edit: Edit = field(repr=False)
    applicable: Callable[[Artifact], bool] = field(default=_always, repr=False)
    opt_ins: tuple[str, ...] = ()
    """Rule switches the check must enable for the declared rules to run."""

    @property
    def fails_by_default(self) -> bool:
        """True when every declared rule fails a default run (required, not opt-in)."""
        return not self.opt_ins and all(REGISTRY[r].severity is Severity.REQUIRED for r in self.rules)

    def apply(self, artifact: Artifact, avoid: frozenset[Path] = frozenset()) -> frozenset[Path] | None:
        """Mutate ``artifact`` on disk; return the paths touched, or None when it cannot apply."""
        if artifact.kind != self.target or artifact.error is not None or not self.applicable(artifact):
            return None
        return self.edit(artifact, avoid)


# -- manifest edits -------------------------------------------------------------------------


def _phase(data: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in data["phases"] if p["name"] == name)


def _resync(data: dict[str, Any]) -> None:
    """Make transitions and the failure policy follow the phases again."""
    by_name = {p["name"]: p for p in data["phases"]}
    for edge in data["phase_transitions"]:
        edge["status"] = by_name[edge["to"]]["status"]
    data["status"] = "fail" if any(p["status"] not in NON_FAILING_STATUSES for p in data["phases"]) else "pass"


def _set_gates(phase: dict[str, Any], status: str) -> None:
    for gate in phase["slo_gates"]:
        gate["status"] = status


def _trigger_rollback(data: dict[str, Any], evidence: str | None) -> None:
    runtime, proof = _phase(data, RUNTIME_PHASE), _phase(data, PROOF_PHASE)
    for obj in (data["runtime_governance"], data["rollback_proof"], runtime["observations"], proof["observations"]):
        obj["rollback_triggered"] = True
    for obj in (data["runtime_governance"], data["rollback_proof"], proof["observations"]):
        for key in EVIDENCE_PATH_KEYS:
            obj.pop(key, None)
        if evidence is not None:
            obj["rollback_incident_evidence_path"] = evidence
    runtime["status"] = "fail"


def _manifest(change: Callable[[dict[str, Any]], None], *, resync: bool = True) -> Edit:
    def edit(artifact: Artifact, avoid: frozenset[Path]) -> frozenset[Path]:
        data = copy.deepcopy(artifact.data)
        change(data)
        if resync:
            _resync(data)
        write_atomic(artifact.path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode("utf-8"))
        return frozenset({artifact.path})

    return edit


def _flip_transition(data: dict[str, Any]) -> None:
    edge = data["phase_transitions"][0]
    target = _phase(data, edge["to"])["status"]
    edge["status"] = "pass" if target == "fail" else "fail"


def _passing_canary_without_refs(data: dict[str, Any], patch: str | None) -> None:
    """paper-canary passes with no artifact_refs; ``patch`` is what it claims was produced."""
    canary = _phase(data, CANARY_PHASE)
    canary.update(status="pass", artifact_refs=[])
    canary["observations"]["patch_path"] = patch
    _set_gates(canary, "pass")
    for gate in canary["slo_gates"]:
        gate["value"] = patch if patch is not None else False


def _strip_patch(data: dict[str, Any]) -> None:
    _passing_canary_without_refs(data, None)


def _unreferenced_patch(data: dict[str, Any]) -> None:
    _passing_canary_without_refs(data, PATCH)


def _ignore_drift(data: dict[str, Any]) -> None:
    runtime = _phase(data, RUNTIME_PHASE)
    runtime["status"] = "pass"
    unhealthy = DEFAULT_UNHEALTHY_DRIFT_STATES[0]
    runtime["observations"]["drift_status"] = unhealthy
    data["runtime_governance"]["drift_status"] = unhealthy
    _set_gates(runtime, "pass")


def _dangling_evidence(data: dict[str, Any]) -> None:
    _trigger_rollback(data, MISSING_INCIDENT)
    proof = _phase(data, PROOF_PHASE)
    proof["status"] = "pass"
    _set_gates(proof, "pass")


def _missing_drift_file(data: dict[str, Any]) -> None:
    _trigger_rollback(data, None)
    proof = _phase(data, PROOF_PHASE)
    proof["status"] = "fail"
    _set_gates(proof, "fail")
    data["runtime_governance"]["artifact_refs"].append(STALE_DRIFT_REF)


def _passing_over_failed_gate(data: dict[str, Any]) -> None:
    readiness = _phase(data, "rollback-readiness")
    readiness["status"] = "pass"
    _set_gates(readiness, "fail")


def _swap_first_phases(data: dict[str, Any]) -> None:
    data["phases"][0], data["phases"][1] = data["phases"][1], data["phases"][0]


def _set(path: Sequence[str | int], value: Any) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        target[path[-1]] = value

    return change


def _delete(path: Sequence[str | int]) -> Callable[[dict[str, Any]], None]:
    def change(data: dict[str, Any]) -> None:
        target: Any = data
        for part in path[:-1]:
            target = target[part]
        del target[path[-1]]

    return change


def _on_phase(name: str, change: Callable[[dict[str, Any]], None]) -> Callable[[dict[str, Any]], None]:
    return lambda data: change(_phase(data, name))


# -- note edits -------------------------------------------------------------------------------


def _render_like(original: str, data: dict[str, Any]) -> str:
    if original.lstrip().startswith("{"):
        return json.dumps(data, indent=2, sort_keys=True) + "\n"
    lines = original.lstrip().splitlines(keepends=True)
    end = next(i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "..."))
    front = yaml.safe_dump(data, sort_keys=True, default_flow_style=False, allow_unicode=False)
    return "---\n" + front + "".join(lines[end:])


def _note(change: Callable[[dict[str, Any]], None]) -> Edit:
    def edit(artifact: Artifact, avoid: frozenset[Path]) -> frozenset[Path]:
        data = copy.deepcopy(artifact.data)
        change(data)
        text = _render_like(artifact.path.read_text(encoding="utf-8"), data)
        write_atomic(artifact.path, text.encode("utf-8"))
        return frozenset({artifact.path})

    return edit


def _outcome_key(data: dict[str, Any]) -> str:
    return "status" if "status" in data else "outcome"


def _bad_outcome(data: dict[str, Any]) -> None:
    data[_outcome_key(data)] = "lane_succeeded"


def _completed_without_manifest(data: dict[str, Any]) -> None:
    data[_outcome_key(data)] = "lane_completed"
    data["phase_manifest_path"] = None


def _shift_iteration(data: dict[str, Any]) -> None:
    data["iteration"] = int(data["iteration"]) + 1


def _prose(artifact: Artifact, avoid: frozenset[Path]) -> frozenset[Path]:
    text = f"Scheduler iteration {artifact.number}\n\nThe lane completed; the manifest is in the run directory.\n"
    write_atomic(artifact.path, text.encode("utf-8"))
    return frozenset({artifact.path})


def _foreign_run_id(artifact: Artifact, avoid: frozenset[Path]) -> frozenset[Path]:
    other = "f" * 24 if artifact.data["run_id"] != "f" * 24 else "0" * 24
    lines = artifact.path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [f"- run_id: {other}\n" if line.startswith("- run_id:") else line for line in lines]
    write_atomic(artifact.path, "".join(lines).encode("utf-8"))
    return frozenset({artifact.path})


# -- series edits -----------------------------------------------------------------------------


def _numbered(artifact: Artifact) -> list[tuple[int, Path]]:
    pairs = ((note_number(name), artifact.path / name) for name in artifact.members)
    return sorted((n, p) for n, p in pairs if n is not None)


def _zero_padded_copy(artifact: Artifact, avoid: frozenset[Path]) -> frozenset[Path] | None:
    source = next((p for _, p in _numbered(artifact) if p not in avoid), None)
    if source is None or (artifact.path / ZERO_PADDED).exists():
        return None
    copy_path = artifact.path / ZERO_PADDED
    shutil.copyfile(source, copy_path)
    return frozenset({artifact.path, source, copy_path})


def _delete_a_note(artifact: Artifact, avoid: frozenset[Path]) -> frozenset[Path] | None:
    numbered = _numbered(artifact)
    victim = next((p for n, p in reversed(numbered[:-1]) if p not in avoid), None)
    if victim is None:
        return None
    victim.unlink()
    return frozenset({artifact.path, victim})


def _has_gap_room(artifact: Artifact) -> bool:
    return len(_numbered(artifact)) >= 2


def _later_notes(artifact: Artifact) -> Iterator[str]:
    """The texts of the notes numbered after ``artifact`` in its series."""
    n = artifact.number or 0
    for path in artifact.path.parent.glob(f"{NOTE_PREFIX}*{NOTE_SUFFIX}"):
        later = note_number(path.name)
        if later is not None and later > n:
            yield path.read_text(encoding="utf-8", errors="replace")


def _lane_note_beside_manifest(artifact: Artifact) -> bool:
    # Only the latest lane note of a series is compared with the manifest beside it (TN009).
    beside = (artifact.root / "rollout" / "phase-manifest.json").is_file() and "run_id" in artifact.data
    return beside and not any(text.lstrip().startswith(LANE_HEADINGS) for text in _later_notes(artifact))


def _names_its_manifest_last(artifact: Artifact) -> bool:
    # TN008 compares a manifest that is there with the latest note naming it, and no other.
    path = artifact.data.get("phase_manifest_path")
    if not isinstance(path, str) or not path or path.startswith("/") or "autonomy_run_id" not in artifact.data:
        return False
    return (artifact.root / path).is_file() and not any(path in text for text in _later_notes(artifact))


# -- the registry -----------------------------------------------------------------------------


def _m(kind: str, target: ArtifactKind, rules: str, description: str, edit: Edit, **more: Any) -> Mutation:
    return Mutation(
        kind=kind, target=target, rules=frozenset(rules.split()), description=description, edit=edit, **more
    )


# fmt: off
MUTATIONS: tuple[Mutation, ...] = (
    _m("drop-observation-summary", "manifest", "TM001", "the top-level observation_summary is missing",
       _manifest(_delete(["observation_summary"]))),
    _m("next-schema-version", "manifest", "TM002", "schema_version is autonomy-phase-manifest-v2",
       _manifest(_set(["schema_version"], "autonomy-phase-manifest-v2"))),
    _m("next-slo-contract", "manifest", "TM003", "slo_contract_version is governance-slo-v2",
       _manifest(_set(["slo_contract_version"], "governance-slo-v2"))),
    _m("drop-priority-id", "manifest", "TM004", "execution_context lacks priorityId",
       _manifest(_delete(["execution_context", "priorityId"]))),
    _m("shadow-target", "manifest", "TM005", "requested_promotion_target is shadow, as real lane runs write",
       _manifest(_set(["requested_promotion_target"], "shadow"))),
    _m("passed-status", "manifest", "TM006", "the manifest status is 'passed'",
       _manifest(_set(["status"], "passed"), resync=False)),
    _m("swap-first-phases", "manifest", "TM007", "gate-evaluation and promotion-prerequisites swap places",
       _manifest(_swap_first_phases)),
    _m("phase-count-off-by-one", "manifest", "TM008", _OFF_BY_ONE,
       _manifest(_set(["phase_count"], len(PHASE_ORDER) + 1))),
    _m("drop-phase-observations", "manifest", "TM009", "promotion-prerequisites has no observations",
       _manifest(_on_phase("promotion-prerequisites", _delete(["observations"])))),
    _m("blocked-phase", "manifest", "TM010 TM013", "promotion-prerequisites is 'blocked' (and its transition too)",
       _manifest(_on_phase("promotion-prerequisites", _set(["status"], "blocked")))),
    _m("impossible-date", "manifest", "TM011", "gate-evaluation is stamped on February 30th",
       _manifest(lambda d: _set(["timestamp"], "2026-02-30T09:30:00+00:00")(d["phases"][0]))),
    _m("drop-last-transition", "manifest", "TM012", "the runtime-governance -> rollback-proof transition is missing",
       _manifest(lambda d: d["phase_transitions"].pop())),
    _m("transition-status-flip", "manifest", "TM013", "the first transition disagrees with the phase it leads to",
       _manifest(_flip_transition, resync=False)),
    _m("status-flip", "manifest", "TM014", "the manifest status contradicts its phases",
       _manifest(lambda d: d.update(status="pass" if d["status"] == "fail" else "fail"), resync=False)),
    _m("placeholder-gates", "manifest", "TM015", "rollback-readiness is a placeholder with slo_gates []",
       _manifest(_on_phase("rollback-readiness", _set(["slo_gates"], [])))),
    _m("no-promotion-gates", "manifest", "TM016", "gate-evaluation lists only its slo_* gates",
       _manifest(_on_phase(GATE_PHASE, lambda p: p.update(
           slo_gates=[g for g in p["slo_gates"] if str(g["id"]).startswith(SLO_GATE_PREFIX)])))),
    _m("pass-over-failed-gate", "manifest", "TM017", "rollback-readiness passes while its required gate failed",
       _manifest(_passing_over_failed_gate)),
    _m("canary-pass-without-patch", "manifest", "TM018", "paper-canary passes though no patch was produced",
       _manifest(_strip_patch)),
    _m("patch-not-referenced", "manifest", "TM019", "the produced patch is missing from paper-canary's refs",
       _manifest(_unreferenced_patch)),
    _m("ignore-drift", "manifest", "TM020", "runtime-governance passes while drift is detected",
       _manifest(_ignore_drift)),
    _m("dangling-evidence", "manifest", "TM021", "rollback triggered; rollback-proof passes on a missing incident",
       _manifest(_dangling_evidence)),
    _m("missing-drift-file", "manifest", "TM022", "rollback triggered; a referenced drift file does not exist",
       _manifest(_missing_drift_file)),
    _m("blocked-governance-record", "manifest", "TM023", "runtime_governance.status is 'blocked'",
       _manifest(_set(["runtime_governance", "status"], "blocked"))),
    _m("dangling-artifact-ref", "manifest", "TM024", "the top-level artifact_refs name a file that does not exist",
       _manifest(lambda d: d["artifact_refs"].append("gates/missing-report.json")),
       opt_ins=(CHECK_REFS.key,)),
    _m("prose-note", "scheduler-note", "TN001", "the note is prose, neither JSON nor front matter", _prose),
    _m("drop-throughput", "scheduler-note", "TN002", "the note lacks throughput", _note(_delete(["throughput"]))),
    _m("unknown-outcome", "scheduler-note", "TN003", "the outcome is 'lane_succeeded'", _note(_bad_outcome)),
    _m("empty-reason", "scheduler-note", "TN004", "the reason is empty", _note(_set(["reason"], ""))),
    _m("naive-timestamp", "scheduler-note", "TN005", "the timestamp has no T and no offset",
       _note(_set(["timestamp"], "2026-04-02 09:30:00"))),
    _m("completed-without-manifest", "scheduler-note", "TN006", "a lane_completed note names no manifest",
       _note(_completed_without_manifest)),
    _m("iteration-mismatch", "scheduler-note", "TN007", "the note's iteration is one more than its file name",
       _note(_shift_iteration), applicable=lambda a: isinstance(a.data.get("iteration"), int)),
    _m("foreign-run-id", "scheduler-note", "TN008", "the note names another run than the manifest it names",
       _note(_set(["autonomy_run_id"], "f" * 24)), applicable=_names_its_manifest_last),
    _m("lane-note-foreign-run", "lane-note", "TN009", "the lane note names another run than its manifest",
       _foreign_run_id, applicable=_lane_note_beside_manifest),
    _m("missing-incident", "scheduler-note", "TN010", "the note's rollback evidence does not exist",
       _note(_set(["rollback_incident_evidence_path"], MISSING_INCIDENT))),
    _m("zero-padded-name", "notes-series", "TN020", f"a copy of a note is named {ZERO_PADDED}", _zero_padded_copy),
    _m("deleted-note", "notes-series", "TN021", "a note below the highest was deleted", _delete_a_note,
       applicable=_has_gap_room),
)
# fmt: on


#: Rules judged against what no tree holds: git's index (TN022) and a ledger of earlier
#: digests (TN023). No edit of a tree can break them, so no mutation declares them; their
#: tests build a git repository or bring a ledger instead.
HISTORY_RULES = frozenset({"TN022", "TN023"})


def by_kind() -> dict[str, Mutation]:
    """The registry keyed by mutation kind."""
    return {m.kind: m for m in MUTATIONS}


def killed_rules(mutations: Sequence[Mutation] = MUTATIONS) -> frozenset[str]:
    """Every rule id some mutation declares it makes fail."""
    return frozenset(r for m in mutations for r in m.rules)


def candidates(
    mutation: Mutation, artifacts: Sequence[Artifact], avoid: frozenset[Path] = frozenset()
) -> Iterator[Artifact]:
    """The artifacts ``mutation`` can be applied to, skipping any already touched."""
    for artifact in artifacts:
        usable = artifact.kind == mutation.target and artifact.path not in avoid and artifact.error is None
        if usable and mutation.applicable(artifact):
            yield artifact
