"""TN001-TN010: rules for each per-iteration note (contract; interpretation §3); the series is in ``series``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ...contract.layout import MANIFEST_DIR, MANIFEST_NAME
from ...contract.models import NOTE_FIELDS, NOTE_OUTCOMES
from ..model import NOTE_KINDS, Artifact, ArtifactKind, Finding, Severity, is_number, show
from .base import CheckContext, NotEvaluated, owned_schema_errors, rule, schema_findings

NOTES = "contract: Per-iteration notes artifact"
FLOW = "contract: Rollout execution flow"
READING = "interpretation §3: The notes"

#: The keys a note records beside its outcome, reason and timestamp (which TN003-TN005 judge).
RECORDED: tuple[str, ...] = tuple(k for k in NOTE_FIELDS if k not in ("timestamp", "reason"))
#: The note's outcome, as TN003 reads it (``status``, or ``outcome`` in front matter).
OUTCOME: tuple[str, ...] = ("/status", "/outcome")


def outcome(data: dict[str, Any]) -> Any:
    """The note's outcome: ``status`` as real schedulers write it, else ``outcome``."""
    return data.get("status", data.get("outcome"))


SCHEDULER: tuple[ArtifactKind, ...] = ("scheduler-note",)
_NUMBERED: tuple[ArtifactKind, ...] = ("scheduler-note", "lane-note")
_LANE: tuple[ArtifactKind, ...] = ("lane-note",)

rule(
    id="TN002",
    slug="note-fields",
    title="A note records every required key, with its type",
    source=FLOW,
    applies_to=SCHEDULER,
    statement=f"""The scheduler publishes a per-iteration notes artifact on every cycle and records:
    outcome, reason, phase manifest path, emergency-stop/rollback evidence path, throughput and
    recommendation trace identifiers (interpretation: the keys `{"`, `".join(RECORDED)}`; null is
    legal where real schedulers write it).""",
    owns=("", "required:/**", *(f"/{key}" for key in RECORDED)),
)(owned_schema_errors("TN002"))


@rule(
    id="TN001",
    slug="note-recognised",
    title="Every notes file is a scheduler note or a lane note",
    source=READING,
    applies_to=NOTE_KINDS,
    statement="""A file in a notes series that is neither a scheduler note (JSON, or Markdown with
    front matter) nor a recognisable lane note is a violation.""",
)
def check_note_recognised(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Only scheduler notes and lane stage notes may live in a notes series."""
    if artifact.kind == "unrecognised-note":
        yield Finding(
            pointer="",
            message="neither a scheduler note nor a lane stage note",
            expected="a JSON object, Markdown with YAML front matter, or '# Autonomous lane iteration <n>'",
            found=show((artifact.data or {}).get("first_line", "")),
        )


@rule(
    id="TN003",
    slug="note-outcome",
    title="The note's outcome is one of the three scheduler outcomes",
    source=FLOW,
    applies_to=SCHEDULER,
    needs=OUTCOME,
    owns=("type|enum:/status", "type|enum:/outcome"),
    statement="""outcome (`lane_completed`, `lane_execution_failed`, or `blocked_no_signal`)
    (interpretation: the outcome sits under the key `status`, or `outcome` in front matter).""",
)
def check_note_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """status/outcome is a known outcome, and the two agree when both are written."""
    yield from schema_findings(artifact, "TN003")
    data = artifact.data
    status, out = data.get("status"), data.get("outcome")
    if "status" in data and "outcome" in data and status != out:
        yield Finding(pointer="/outcome", message="status and outcome disagree", expected=show(status), found=show(out))
    value = outcome(data)
    if value is None and ("status" in data or "outcome" in data):
        key = "status" if "status" in data else "outcome"
        yield Finding(
            pointer=f"/{key}",
            message="the outcome is null",
            expected="one of " + ", ".join(NOTE_OUTCOMES),
            found="null",
        )


@rule(
    id="TN004",
    slug="note-reason",
    title="The note gives a non-empty reason",
    source=FLOW,
    applies_to=SCHEDULER,
    needs=("/reason",),
    owns=("type|minLength:/reason",),
    statement="Each note records a non-empty `reason`.",
)
def check_note_reason(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """reason is a string with some text in it."""
    yield from schema_findings(artifact, "TN004")
    reason = artifact.data.get("reason")
    if isinstance(reason, str) and reason and not reason.strip():
        yield Finding(
            pointer="/reason", message="reason is only white space", expected="a non-empty reason", found=show(reason)
        )


rule(
    id="TN005",
    slug="note-timestamp",
    title="The note's timestamp is RFC 3339 with an offset",
    source=READING,
    applies_to=SCHEDULER,
    needs=("/timestamp",),
    statement="""Each note records a timestamp; every timestamp the suite reads (a note's
    `timestamp`) is RFC 3339 with an offset.""",
    owns=("type|format:/timestamp",),
)(owned_schema_errors("TN005"))


@rule(
    id="TN006",
    slug="completed-note-manifest",
    title="A lane_completed note names its manifest",
    source=READING,
    applies_to=SCHEDULER,
    needs=(*OUTCOME, "/phase_manifest_path"),
    statement="""A `lane_completed` note names its manifest (manifest path and evidence path are
    null only for `blocked_no_signal` and `lane_execution_failed`).""",
)
def check_completed_note_manifest(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """lane_completed requires a non-empty phase_manifest_path."""
    path = artifact.data.get("phase_manifest_path")
    if outcome(artifact.data) == "lane_completed" and not (isinstance(path, str) and path.strip()):
        yield Finding(
            pointer="/phase_manifest_path",
            message="a lane_completed note must name its manifest",
            expected="the path of the run's phase-manifest.json",
            found=show(path),
        )


@rule(
    id="TN007",
    slug="note-iteration",
    title="A note's own iteration number matches its file name",
    source=READING,
    applies_to=_NUMBERED,
    owns=("/iteration",),
    statement="""A note's `iteration` field, where present, equals its n (a lane note's heading
    `# Autonomous lane iteration <n>` likewise).""",
)
def check_note_iteration(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """The number inside the note equals n of iteration-<n>.md."""
    yield from schema_findings(artifact, "TN007")
    data, n = artifact.data, artifact.number
    if n is None:
        raise NotEvaluated(f"{artifact.path.name} is not named iteration-<n>.md (TN020 reports it)", owner="TN020")
    key, where = ("heading_iteration", "/heading") if artifact.kind == "lane-note" else ("iteration", "/iteration")
    value = data.get(key)
    if is_number(value) and value != n:
        yield Finding(
            pointer=where,
            message=f"the note says iteration {value} but its file is {artifact.path.name}",
            expected=str(n),
            found=str(value),
        )


@rule(
    id="TN008",
    slug="note-manifest-crossref",
    title="A note's manifest, where present, is the run it names",
    source=READING,
    applies_to=SCHEDULER,
    needs=("/phase_manifest_path",),
    statement="""The scheduler records the phase manifest path (interpretation: the path need not
    resolve; where it names a manifest that is there, that manifest's `run_id` and `candidate_id`
    are the note's `autonomy_run_id` and `autonomy_candidate_id`, for the latest note naming it
    only, however the path is spelled).""",
)
def check_note_manifest_crossref(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Follow phase_manifest_path and compare run and candidate ids (latest note naming it only)."""
    data = artifact.data
    path = data.get("phase_manifest_path")
    if not (isinstance(path, str) and path.strip()):
        return  # nothing named: legal for blocked_no_signal and lane_execution_failed (TN006)
    resolution, manifest = context.read_json(path, artifact.root)
    if resolution.path is None:
        raise NotEvaluated(f"manifest path not followed: {resolution.reason}", unfollowed=path)
    if not resolution.exists:
        raise NotEvaluated(f"the manifest {path} is not there (retention prunes runs); nothing to compare")
    latest = context.latest_note_naming(artifact.path.parent, resolution.path)
    if latest is not None and artifact.number is not None and latest > artifact.number:
        return  # a later note names the same file, which now holds a later run (the flat layout)
    if not isinstance(manifest, dict):
        raise NotEvaluated(f"the manifest {path} cannot be read as a JSON object (TM001 reports it)", owner="TM001")
    for mine, theirs in (("autonomy_run_id", "run_id"), ("autonomy_candidate_id", "candidate_id")):
        if data.get(mine) is not None and manifest.get(theirs) != data.get(mine):
            yield Finding(
                pointer=f"/{mine}",
                message=f"the manifest at {show(path)} has another {theirs}",
                expected=show(manifest.get(theirs)),
                found=show(data.get(mine)),
            )


@rule(
    id="TN009",
    slug="lane-note-run-id",
    title="A lane note names the run of the manifest beside it",
    source=READING,
    applies_to=_LANE,
    severity=Severity.ADVISORY,
    statement="""A lane note's `run_id` should equal the run id of the manifest beside it (advisory);
    only the latest lane note of a series is compared, since the flat layout rewrites the one
    manifest every cycle.""",
)
def check_lane_note_run_id(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Compare the latest lane note's run_id with <root>/rollout/phase-manifest.json."""
    run_id = artifact.data.get("run_id")
    if run_id is None:
        raise NotEvaluated("the lane note has no '- run_id:' line")
    latest = context.latest_lane_note(artifact.path.parent)
    if latest is not None and artifact.number is not None and latest > artifact.number:
        return  # the manifest beside it has since been rewritten for a later run (the flat layout)
    resolution, manifest = context.read_json(f"{MANIFEST_DIR}/{MANIFEST_NAME}", artifact.root)
    if not resolution.exists:
        raise NotEvaluated(f"no manifest beside the lane note: {MANIFEST_DIR}/{MANIFEST_NAME} {resolution.describe()}")
    if not isinstance(manifest, dict):
        raise NotEvaluated("the manifest beside it cannot be read as a JSON object (TM001 reports it)", owner="TM001")
    if manifest.get("run_id") != run_id:
        yield Finding(
            pointer="/run_id",
            message="the lane note names another run than the manifest beside it",
            expected=show(manifest.get("run_id")),
            found=show(run_id),
        )


@rule(
    id="TN010",
    slug="note-evidence-exists",
    title="A note's rollback evidence path exists",
    source=FLOW,
    applies_to=SCHEDULER,
    needs=("/rollback_incident_evidence_path",),
    severity=Severity.ADVISORY,
    statement="""The scheduler records the emergency-stop/rollback evidence path (interpretation:
    retention never deletes `rollback-incidents/`, so a recorded incident should be there).""",
)
def check_note_evidence_exists(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """A non-null rollback_incident_evidence_path resolves to an existing file."""
    path = artifact.data.get("rollback_incident_evidence_path")
    if isinstance(path, str) and path.strip():
        resolution = context.resolve(path, artifact.root)
        if not resolution.exists:
            yield Finding(
                pointer="/rollback_incident_evidence_path",
                message=f"evidence {resolution.describe()}",
                expected="an existing incident file",
                found=show(path),
            )


#: The rule that compares notes with the ledger (in ``series``); the plugin extends the ledger after it.
APPEND_ONLY = "TN023"
