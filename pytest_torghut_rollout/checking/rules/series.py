"""TN020-TN023: rules on a notes series as a whole (names, numbering, git, the ledger)."""

from __future__ import annotations

from collections.abc import Iterator

from ...contract.models import NOTE_PREFIX, NOTES_DIR, note_name, note_number
from ..model import Artifact, ArtifactKind, Finding, pointer, show
from .base import CheckContext, NotEvaluated, rule
from .notes import APPEND_ONLY, NOTES, READING

_SERIES: tuple[ArtifactKind, ...] = ("notes-series",)


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
                pointer=pointer(note_name(first)),
                message=f"{missing} {'is' if count == 1 else f'({count} notes) are'} missing from the series",
                expected=f"iterations 1..{highest} with no gap",
                found=f"no iteration {first}" if first == last else f"no iterations {first} to {last}",
            )


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
    """Ask git (ls-files, once per work tree) and report every tracked iteration-* file of the series."""
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
