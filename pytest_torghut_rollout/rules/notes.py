"""Rules for per-iteration notes and notes series (contract; interpretation §3)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..contract import NOTE_OUTCOMES
from ..layout import MANIFEST_DIR, MANIFEST_NAME, NOTE_PREFIX, NOTES_DIR, note_number
from ..model import NOTE_KINDS, Artifact, ArtifactKind, Finding, Severity, is_number, pointer, show
from .base import SCHEMA_ROUTES, CheckContext, NotEvaluated, SchemaRoutes, rule

NOTES = "contract: Per-iteration notes artifact"
FLOW = "contract: Rollout execution flow"
READING = "interpretation §3: The notes"

ROUTES = SchemaRoutes(
    routes=(
        ("required", "/**", "TN002"),
        ("*", "/status", "TN003"),
        ("*", "/outcome", "TN003"),
        ("*", "/reason", "TN004"),
        ("*", "/timestamp", "TN005"),
        ("*", "/iteration", "TN007"),
    ),
    default="TN002",
)
SCHEMA_ROUTES["scheduler-note"] = ROUTES
#: The note's outcome, as TN003 reads it (``status``, or ``outcome`` in front matter).
OUTCOME: tuple[str, ...] = ("/status", "/outcome")


def outcome(data: dict[str, Any]) -> Any:
    """The note's outcome: ``status`` as real schedulers write it, else ``outcome``."""
    return data.get("status", data.get("outcome"))


SCHEDULER: tuple[ArtifactKind, ...] = ("scheduler-note",)
_NUMBERED: tuple[ArtifactKind, ...] = ("scheduler-note", "lane-note")
_LANE: tuple[ArtifactKind, ...] = ("lane-note",)
_SERIES: tuple[ArtifactKind, ...] = ("notes-series",)

rule(
    id="TN002",
    slug="note-fields",
    title="A note records every required key, with its type",
    source=FLOW,
    applies_to=SCHEDULER,
    statement="""The scheduler publishes a per-iteration notes artifact on every cycle and records:
    outcome, reason, phase manifest path, emergency-stop/rollback evidence path, throughput and
    recommendation trace identifiers (interpretation: the keys `phase_manifest_path`,
    `emergency_stop_active`, `rollback_incident_evidence_path`, `throughput`,
    `recommendation_trace_id`; null is legal where real schedulers write it).""",
)(ROUTES.check("TN002"))


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
    statement="""outcome (`lane_completed`, `lane_execution_failed`, or `blocked_no_signal`)
    (interpretation: the outcome sits under the key `status`, or `outcome` in front matter).""",
)
def check_note_outcome(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """status/outcome is a known outcome, and the two agree when both are written."""
    yield from ROUTES.findings(artifact, "TN003")
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
    statement="Each note records a non-empty `reason`.",
)
def check_note_reason(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """reason is a string with some text in it."""
    yield from ROUTES.findings(artifact, "TN004")
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
)(ROUTES.check("TN005"))


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
    statement="""A note's `iteration` field, where present, equals its n (a lane note's heading
    `# Autonomous lane iteration <n>` likewise).""",
)
def check_note_iteration(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """The number inside the note equals n of iteration-<n>.md."""
    yield from ROUTES.findings(artifact, "TN007")
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


# -- series ---------------------------------------------------------------------------------


@rule(
    id="TN020",
    slug="note-file-names",
    title="Notes are named iteration-<n>.md, n without leading zeros",
    source=NOTES,
    applies_to=_SERIES,
    statement="""Each scheduler cycle writes an evidence notes file at
    `${artifactPath}/notes/iteration-<n>.md` (interpretation: n a positive integer with no leading
    zeros).""",
)
def check_note_file_names(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Every iteration-* file has a well-formed name."""
    for name in artifact.members:
        if note_number(name) is None:
            yield Finding(
                pointer=pointer(name),
                message=f"{name} is not named iteration-<n>.md",
                expected="iteration-<n>.md, n = 1, 2, 3, … without leading zeros",
                found=show(name),
            )


@rule(
    id="TN021",
    slug="notes-contiguous",
    title="The series runs from 1 to its highest n with no gap",
    source=NOTES,
    applies_to=_SERIES,
    statement="""`n` increments from the existing highest `iteration-*` file in the notes folder
    (interpretation: a series runs 1..max with no gap; a gap is a deleted note: evidence lost).""",
)
def check_notes_contiguous(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Report every gap between 1 and the highest note, as ranges (bounded by the files, not by n)."""
    numbers = sorted({n for n in map(note_number, artifact.members) if n is not None})
    if not numbers:
        raise NotEvaluated("no file of the series is named iteration-<n>.md (TN020 reports it)", owner="TN020")
    highest = numbers[-1]
    for before, after in zip([0, *numbers], numbers, strict=False):
        if after - before > 1:
            first, last = before + 1, after - 1
            missing = f"iteration-{first}.md" if first == last else f"iteration-{first}.md to iteration-{last}.md"
            count = last - first + 1
            yield Finding(
                pointer=pointer(f"iteration-{first}.md"),
                message=f"{missing} {'is' if count == 1 else f'({count} notes) are'} missing from the series",
                expected=f"iterations 1..{highest} with no gap",
                found=f"no iteration {first}" if first == last else f"no iterations {first} to {last}",
            )


#: The rule that compares notes with the ledger; the plugin extends the ledger after it.
APPEND_ONLY = "TN023"


@rule(
    id="TN022",
    slug="notes-untracked",
    title="No note of the series is tracked by git",
    source=READING,
    applies_to=_SERIES,
    statement="""Notes remain uncommitted: when a series lies inside a git work tree, no iteration
    file of it may be tracked by git. A corpus of example artifacts kept in a repository on purpose
    opts out explicitly (`--torghut-allow-tracked-notes`), and the report records it.""",
)
def check_notes_untracked(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Ask git (ls-files, once per series) and report every tracked iteration-* file."""
    if context.allow_tracked_notes:
        raise NotEvaluated(
            "--torghut-allow-tracked-notes was given: notes may be tracked by git in this run "
            "(a corpus of example artifacts kept in a repository on purpose)"
        )
    answer = context.tracked_files(artifact.path)
    if answer.unknown is not None:
        raise NotEvaluated(answer.unknown)
    for name in answer.names:
        if name.startswith(NOTE_PREFIX):
            yield Finding(
                pointer=pointer(name),
                message=f"{name} is tracked by git",
                expected=f"untracked: notes stay out of source control (git rm --cached; ignore {NOTES_DIR}/)",
                found=f"tracked: git ls-files lists {artifact.display}/{name}",
            )


@rule(
    id=APPEND_ONLY,
    slug="notes-append-only",
    title="No note the ledger recorded has changed or disappeared",
    source=READING,
    applies_to=_SERIES,
    statement="""Append-only: a note, once written, never changes. With a recorded ledger of
    earlier digests (`--torghut-notes-ledger`), any changed or removed earlier note is a
    violation; a ledger that does not chain cannot be trusted.""",
)
def check_notes_append_only(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Compare each recorded note's SHA-256 with the note now; a broken ledger chain fails too."""
    ledger = context.ledger
    if ledger is None:
        raise NotEvaluated("no notes ledger was given (--torghut-notes-ledger=FILE): no earlier digests to compare")
    if ledger.problem is not None:
        yield Finding(
            pointer="",
            message=f"the notes ledger {ledger.path.name} cannot be trusted: {ledger.problem}",
            expected="an intact ledger: every line names the digest of the line before it, the seal comes last",
            found=str(ledger.path),
        )
        return
    if not ledger.exists:
        raise NotEvaluated(f"the notes ledger {ledger.path.name} does not exist yet; a passing run creates it")
    if not ledger.recorded(artifact.display):
        raise NotEvaluated(f"the notes ledger records no note of {artifact.display} yet; a passing run records them")
    comparison = ledger.compare(artifact.display, artifact.notes)
    findings = [
        Finding(
            pointer=pointer(entry.note),
            message=f"{entry.note} changed after the ledger recorded it",
            expected=f"sha256 {entry.sha256} (recorded)",
            found=f"sha256 {digest}",
        )
        for entry, digest in comparison.changed
    ]
    findings += [
        Finding(
            pointer=pointer(entry.note),
            message=f"{entry.note} was removed after the ledger recorded it",
            expected=f"sha256 {entry.sha256} (recorded)",
            found="no such file",
        )
        for entry in comparison.removed
    ]
    if not findings and comparison.unreadable:
        names = ", ".join(e.note for e in comparison.unreadable)
        raise NotEvaluated(f"{names} cannot be read now (TN001 reports it): not compared", owner="TN001")
    yield from sorted(findings, key=lambda f: _ledger_order(f.pointer))


def _ledger_order(where: str) -> tuple[int, str]:
    number = note_number(where.lstrip("/"))
    return (number if number is not None else 1 << 62, where)
