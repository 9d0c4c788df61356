"""Per-iteration notes: the scheduler's evidence note and the lane's stage note.

A note is numbered ``highest existing + 1`` and created exclusively (see ``storage``),
so concurrent writers never overwrite each other and never leave a gap; a note, once
written, is never rewritten. The scheduler note is Markdown with YAML front matter by
default, or the scheduler's JSON form on request; either is checked before it is written.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import yaml

from ..checking.schema import fast_paths_enabled
from ..contract.models import NoteOutcome, SchedulerNote, note_name
from .checking import RuleFinding, WriteResult, check_note_text
from .layout import ArtifactTree
from .storage import append_numbered

NoteFormat = Literal["markdown", "json"]
NOTE_FORMATS: tuple[NoteFormat, ...] = ("markdown", "json")
#: Where libyaml's emitter is known to write PyYAML's bytes: identifier keys and printable
#: ASCII text. It quotes an empty key and wraps a long one or escaped text differently, so
#: any other note is written by PyYAML's own emitter (a test compares the two).
_LIBYAML_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}")
_LIBYAML_TEXT = re.compile(r"[\x20-\x7e]*")
_SCALARS = (type(None), bool, int, float)


def build_note(
    *,
    outcome: NoteOutcome,
    timestamp: datetime,
    reason: str,
    target: str,
    manifest_path: str | None = None,
    run_output_dir: str | None = None,
    run_id: str | None = None,
    candidate_id: str | None = None,
    trace_id: str | None = None,
    evidence_path: str | None = None,
    emergency_stop_active: bool = False,
    throughput: Mapping[str, Any] | None = None,
    metrics: Mapping[str, Any] | None = None,
    error: str | None = None,
    promotion_action: str = "hold",
    promotion_eligible: bool = False,
    recommender: str | None = None,
) -> SchedulerNote:
    """Build a scheduler note; the manifest and evidence paths exist only for a completed lane."""
    completed = outcome == NoteOutcome.COMPLETED
    if completed and not manifest_path:
        raise ValueError("a lane_completed note must name its phase manifest")
    return SchedulerNote.model_validate(
        {
            "iteration": None,
            "status": str(outcome),
            "timestamp": timestamp,
            "reason": reason,
            "promotion_target": target,
            "run_output_dir": run_output_dir if completed else None,
            "phase_manifest_path": manifest_path if completed else None,
            "autonomy_run_id": run_id,
            "autonomy_candidate_id": candidate_id if completed else None,
            "recommender": recommender if completed else None,
            "promotion_action": promotion_action,
            "promotion_eligible": promotion_eligible and completed,
            "recommendation_trace_id": trace_id,
            "error": error,
            "emergency_stop_active": emergency_stop_active,
            "rollback_incident_evidence_path": evidence_path if completed else None,
            "throughput": dict(throughput) if throughput is not None else None,
            "metrics": dict(metrics) if metrics is not None else None,
        }
    )


def note_fields(note: SchedulerNote) -> dict[str, Any]:
    """The note as plain JSON data (the outcome under ``status``, as schedulers write it)."""
    data: dict[str, Any] = note.model_dump(mode="json")
    if data.get("outcome") is None:
        data.pop("outcome", None)
    if data.get("iteration") is None:
        data.pop("iteration", None)
    return data


def _value(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value)


def _libyaml_writes_alike(value: Any) -> bool:
    if isinstance(value, str):
        return _LIBYAML_TEXT.fullmatch(value) is not None
    if isinstance(value, dict):
        return all(
            isinstance(k, str) and _LIBYAML_KEY.fullmatch(k) and _libyaml_writes_alike(v) for k, v in value.items()
        )
    if isinstance(value, list):
        return all(map(_libyaml_writes_alike, value))
    return type(value) in _SCALARS


def _front_matter(data: dict[str, Any]) -> str:
    """``yaml.safe_dump`` of the note, through libyaml when it writes the same bytes (4x faster)."""
    fast = yaml.__with_libyaml__ and fast_paths_enabled() and _libyaml_writes_alike(data)
    dumper = yaml.CSafeDumper if fast else yaml.SafeDumper
    return yaml.dump(data, Dumper=dumper, sort_keys=True, default_flow_style=False, allow_unicode=False)


def render_note(note: SchedulerNote, fmt: NoteFormat = "markdown") -> str:
    """Render a note: YAML front matter and a readable body, or the scheduler's JSON object."""
    data = note_fields(note)
    if fmt == "json":
        return json.dumps(data, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    # ASCII-escaped: readers split lines on U+2028/U+0085 too, which would cut a raw scalar.
    front = _front_matter(data)
    title = f"# Scheduler iteration {data['iteration']}" if "iteration" in data else "# Scheduler iteration"
    body = [
        title,
        "",
        f"- outcome: {_value(data.get('status'))}",
        f"- reason: {_value(data.get('reason'))}",
        f"- promotion target: {_value(data.get('promotion_target'))}",
        f"- phase manifest: {_value(data.get('phase_manifest_path'))}",
        f"- rollback evidence: {_value(data.get('rollback_incident_evidence_path'))}",
        f"- emergency stop active: {_value(data.get('emergency_stop_active'))}",
        f"- recommendation trace: {_value(data.get('recommendation_trace_id'))}",
    ]
    return f"---\n{front}---\n\n" + "\n".join(body) + "\n"


def write_note(
    note: SchedulerNote,
    notes_dir: Path,
    tree: ArtifactTree,
    *,
    fmt: NoteFormat = "markdown",
    opt_ins: Sequence[str] = (),
) -> WriteResult:
    """Append ``note`` to the series in ``notes_dir`` as ``iteration-<n>.md`` (n = highest + 1)."""
    warnings: list[RuleFinding] = []

    def render(n: int) -> bytes:
        text = render_note(note.model_copy(update={"iteration": n}), fmt)
        warnings[:] = check_note_text(text, notes_dir / note_name(n), tree, number=n, opt_ins=opt_ins)
        return text.encode("utf-8")

    _, path = append_numbered(notes_dir, render)
    return WriteResult(path=path, warnings=tuple(warnings))


def render_lane_note(
    n: int,
    *,
    run_id: str,
    candidate_id: str,
    repository: str,
    base: str,
    head: str,
    stages: Sequence[tuple[str, str]] = (),
) -> str:
    """The autonomy lane's Markdown stage note: heading, run fields, stage progression."""
    lines = [
        f"# Autonomous lane iteration {n}",
        "",
        f"- run_id: {run_id}",
        f"- candidate_id: {candidate_id}",
        f"- repository: {repository}",
        f"- base: {base}",
        f"- head: {head}",
    ]
    if stages:
        lines += ["", "## Stage progression", ""]
        parent = None
        for index, (stage, trace) in enumerate(stages, 1):
            lines += [f"- {stage} (index {index})", f"  - trace={trace}"]
            if parent is not None:
                lines.append(f"  - parent: {parent}")
            parent = stage
    return "\n".join(lines) + "\n"


def write_lane_note(
    notes_dir: Path,
    tree: ArtifactTree,
    *,
    run_id: str,
    candidate_id: str,
    repository: str,
    base: str,
    head: str,
    stages: Sequence[tuple[str, str]] = (),
) -> WriteResult:
    """Append the lane's stage note to the run's own notes series."""
    warnings: list[RuleFinding] = []

    def render(n: int) -> bytes:
        text = render_lane_note(
            n, run_id=run_id, candidate_id=candidate_id, repository=repository, base=base, head=head, stages=stages
        )
        warnings[:] = check_note_text(text, notes_dir / note_name(n), tree, number=n)
        return text.encode("utf-8")

    _, path = append_numbered(notes_dir, render)
    return WriteResult(path=path, warnings=tuple(warnings))
