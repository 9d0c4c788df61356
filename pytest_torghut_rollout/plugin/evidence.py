"""The evidence record (``--torghut-evidence``): collected on the controller, written once.

The record is versioned (``schema``: ``torghut-evidence-v1``) and documented by
``conformance/evidence.schema.json``. Everything in it is sorted (keys, artifacts by path,
checks by rule, runs and series by path), so two runs over the same inputs write the same
bytes apart from the time fields and the command line, with or without xdist. Shards of one
run are combined by ``record_merge.merge`` into the record one job would have written.
"""

from __future__ import annotations

import json
import platform
import sys
import warnings
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

import pytest

from ..checking.discovery import UNREAD_NOTE
from ..checking.ledger import Kept
from ..checking.model import NOTE_KINDS, printable
from ..checking.rules import REGISTRY
from ..checking.rules.notes import APPEND_ONLY
from ..checking.vcs import head_commit
from ..checking.waivers import Waiver
from ..contract.models import CONTRACT
from ..record.build import (
    SCHEMA_ID,
    TOOL,
    artifact_entries,
    finding_values,
    governance,
    open_risks,
    record_check,
    totals,
    unfollowed_block,
    write_record,
)
from .granularity import GRANULARITY_PROPERTY, ITEM_NAME, READ_AS_PROPERTY
from .items import Discovery, TorghutWaiverWarning
from .selection import Selection
from .settings import Settings
from .wire import CheckOutcome, Prop, unpacked

FACTS_PROPERTY = Prop.ARTIFACT_FACTS
TRACKED_NOTES_OPT_OUT = {
    "option": "--torghut-allow-tracked-notes",
    "ini": "torghut_allow_tracked_notes",
    "rule": "TN022",
    "effect": "notes may be tracked by git: TN022 notes-untracked was not evaluated",
    "use": "a corpus of example artifacts kept in a repository on purpose",
}
#: Fields that differ between two records of the same inputs: times, and how pytest was invoked.
TIME_FIELDS = ("generated_at", "environment.started_at", "environment.finished_at")


def carries_outcome(report: pytest.TestReport) -> bool:
    """The one report per check that says how it ended: its call, or a setup that failed."""
    return report.when == "call" or (report.when == "setup" and report.failed)


class RecordedCheck(NamedTuple):
    """One check as the controller keeps it until the record is written.

    A run of 10,000 cycles records 315,000 checks: each is a tuple of references to strings it
    shares with the other checks of its rule or artifact, with findings only when it has some;
    a tuple of strings is also one the garbage collector stops following.
    """

    test: str
    """The test id of the artifact (the check's test id without its last part, ``name``)."""
    name: str
    rule: str
    slug: str
    severity: str
    artifact: str
    kind: str
    sha256: str | None
    outcome: str
    findings: tuple[dict[str, Any], ...]
    not_evaluated: str | None
    waiver: dict[str, Any] | None

    @classmethod
    def make(
        cls,
        *,
        test: str,
        name: str,
        rule: str,
        slug: str,
        severity: str,
        artifact: str,
        kind: str,
        sha256: str | None,
        outcome: str,
        findings: list[dict[str, str]],
        not_evaluated: str,
        waiver: dict[str, Any] | None,
    ) -> RecordedCheck:
        """A check, its strings shared with the checks recorded before it (the same few rules,
        outcomes and reasons repeat over every artifact; an artifact's over its rules)."""
        shared = sys.intern
        return cls(
            test=shared(test),
            name=shared(name),
            rule=shared(rule),
            slug=shared(slug),
            severity=shared(severity),
            artifact=shared(artifact),
            kind=shared(kind),
            sha256=shared(sha256) if sha256 else None,
            outcome=shared(str(outcome)),
            findings=tuple(finding_values(f) for f in findings),
            not_evaluated=shared(not_evaluated) if not_evaluated else None,
            waiver=waiver,
        )

    @property
    def nodeid(self) -> str:
        """The check's test id (at artifact granularity, the one its test has with one test per rule)."""
        return f"{self.test}::{self.name}" if self.test else self.name

    def as_dict(self) -> dict[str, Any]:
        """The check with the record's keys (see ``record.build.record_check``)."""
        return {
            "nodeid": self.nodeid,
            "rule": self.rule,
            "slug": self.slug,
            "severity": self.severity,
            "artifact": self.artifact,
            "kind": self.kind,
            "sha256": self.sha256,
            "outcome": self.outcome,
            "findings": list(self.findings),
            "not_evaluated": self.not_evaluated,
            "waiver": self.waiver,
        }


@dataclass
class EvidenceRecorder:
    """Collects torghut results from reports (also from xdist workers) on the controller."""

    settings: Settings
    checks: list[RecordedCheck] = field(default_factory=list)
    facts: dict[str, dict[str, Any]] = field(default_factory=dict)
    """What each artifact's first report said about it (``facts.artifact_facts``), by path."""
    discovery: dict[str, int] = field(default_factory=dict)
    discovery_failed: bool = False
    discovery_reported: bool = False
    discovery_problems: list[str] = field(default_factory=list)
    """Places under the artifacts paths that could not be searched."""
    unfollowed: set[str] = field(default_factory=set)
    """References a rule would have followed that resolve outside the trees."""
    selection: Selection = field(default_factory=Selection)
    command: tuple[str, ...] = ()
    """The pytest command line's arguments, as invoked."""
    started: datetime = field(default_factory=lambda: datetime.now(UTC))

    waivers_failed: bool = False
    waivers_reported: bool = False
    """The ``torghut::waivers`` check failed: a waiver has expired."""
    unmatched_is_error: bool = False
    """Warning filters turned the unmatched-waiver warning into an error, which fails the run."""

    lost_series: list[str] = field(default_factory=list)
    """Notes series the ledger recorded that discovery no longer found."""
    ledger: Kept | None = None
    """What became of the notes ledger (set on the controller at the end of the run)."""
    git: dict[str, str] | None = None
    """The commit of each artifacts path in a git work tree (asked once, when first recorded)."""
    read_notes: Counter[str] = field(default_factory=Counter)
    """Notes found unread at collection (artifact granularity, kind ``note``) that this run read,
    by the kind they turned out to be."""

    def take_discovery(self, discovery: Discovery) -> None:
        """Keep what discovery found at collection, so a deselected discovery test still counts it."""
        self.discovery = dict(discovery.by_kind)
        self.discovery_problems = [printable(p) for p in discovery.problems]
        self.lost_series = list(discovery.lost)
        self.discovery_failed = (
            discovery.error is not None
            or bool(discovery.problems)
            or bool(discovery.lost)
            or discovery.found < self.settings.min_artifacts
        )

    @property
    def reported(self) -> int:
        """Torghut tests (checks, the discovery and the waivers test) that reported an outcome."""
        return len(self.checks) + self.discovery_reported + self.waivers_reported

    @property
    def partial(self) -> bool:
        """Whether this run left checks out, so that it is no evidence of conformance."""
        return self.selection.is_partial(self.reported)

    def result(self, exitstatus: int) -> str:
        """``pass`` only for a full green run; a green partial run is ``incomplete``."""
        if exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.NO_TESTS_COLLECTED):
            return "fail"
        if self.partial:
            return "incomplete"
        return "pass" if exitstatus == pytest.ExitCode.OK else "fail"

    def record(self, report: pytest.TestReport) -> None:
        """Take what a report says about a torghut check (once: from its call or failed setup)."""
        if not carries_outcome(report):
            return
        properties = unpacked(report.user_properties)
        props = dict(properties)
        if Prop.DISCOVERY in props:
            self.discovery = json.loads(str(props[Prop.DISCOVERY]))
            self.discovery_failed = report.failed
            self.discovery_reported = True
            self.discovery_problems = json.loads(str(props.get(Prop.DISCOVERY_PROBLEMS, "[]")))
            self.lost_series = json.loads(str(props.get(Prop.LOST_SERIES, "[]")))
            return
        if Prop.WAIVERS in props:
            self.waivers_failed = report.failed
            self.waivers_reported = True
            return
        checks: list[list[Any]] | None = props.get(Prop.CHECKS)  # type: ignore[assignment]
        if checks is None:
            return
        artifact_item = props.get(GRANULARITY_PROPERTY) == "artifact"
        if artifact_item:
            self.selection.inapplicable += len(str(props.get(Prop.INAPPLICABLE_RULES, "")).split())
            if props.get(READ_AS_PROPERTY):
                self.read_notes[str(props[READ_AS_PROPERTY])] += 1
        artifact = str(props[Prop.ARTIFACT])
        if FACTS_PROPERTY in props and checks:
            self.facts.setdefault(artifact, json.loads(str(props[FACTS_PROPERTY])))
        # Each check under the test id it has with one test per rule, whatever the granularity.
        test = report.nodeid.removesuffix(f"::{ITEM_NAME}") if artifact_item else report.nodeid.rpartition("::")[0]
        kind, sha256 = str(props[Prop.KIND]), str(props.get(Prop.SHA256) or "") or None
        for rule_id, outcome, findings, not_evaluated, unfollowed, waiver in checks:
            rule = REGISTRY[rule_id]
            if unfollowed:
                self.unfollowed.add(unfollowed)
            # A check that could not run to a verdict: in an artifact item, one its failed setup
            # kept from running; in a rule item, any failure that is not the rule's violation.
            error = report.failed and (
                outcome == CheckOutcome.NOT_RUN if artifact_item else outcome != CheckOutcome.VIOLATION
            )
            self.checks.append(
                RecordedCheck.make(
                    test=test,
                    name=rule.name,
                    rule=rule.id,
                    slug=rule.slug,
                    severity=rule.severity.value,
                    artifact=artifact,
                    kind=kind,
                    sha256=sha256,
                    outcome=CheckOutcome.ERROR if error else outcome,
                    findings=findings,
                    not_evaluated=not_evaluated,
                    waiver=waiver,
                )
            )

    def open_risks(self) -> list[dict[str, Any]]:
        """Checks that failed under a live waiver: accepted for now, not conforming."""
        return open_risks(c.as_dict() for c in self.checks if c.outcome == CheckOutcome.WAIVED)

    def unmatched(self) -> list[tuple[Waiver, int]]:
        """Live waivers that waived no failure, each with how many checks it names ran."""
        book = self.settings.waivers
        if book is None:
            return []
        used = {c.waiver["waiver"] for c in self.checks if c.waiver is not None}
        return [
            (w, sum(1 for c in self.checks if w.matches(c.rule, c.artifact))) for w in book.live if w.index not in used
        ]

    def warn_unmatched(self) -> None:
        """Warn once per live waiver that waived nothing (on the controller, which sees every check)."""
        book = self.settings.waivers
        if book is None:
            return
        for waiver, ran in self.unmatched():
            why = (
                f"it names {_n(ran, 'check')} that ran, and none failed"
                if ran
                else "no check it names ran (deselected, or its rule and artifact glob name no check)"
            )
            message = (
                f"{waiver.label}, owned by {waiver.owner}, waived no failure in this run: {why}; "
                "remove it if stale, or correct its rule or artifact glob"
            )
            try:
                warnings.warn_explicit(TorghutWaiverWarning(message), TorghutWaiverWarning, str(book.path), 0)
            except TorghutWaiverWarning:
                # Warning filters made it an error (-W error): the run fails, with a summary line.
                self.unmatched_is_error = True

    def ledger_series(self) -> list[str]:
        """Series whose notes the ledger may take: the append-only check ran and did not fail."""
        return [
            c.artifact
            for c in self.checks
            if c.rule == APPEND_ONLY and c.outcome in (CheckOutcome.CONFORMS, CheckOutcome.NOT_EVALUATED)
        ]

    def note_digests(self) -> dict[str, tuple[str, str | None]]:
        """Each note the checks read: display path to kind and SHA-256."""
        return {c.artifact: (c.kind, c.sha256) for c in self.checks if c.kind in NOTE_KINDS}

    def totals(self) -> Counter[str]:
        """How many checks ended in each outcome (as the items recorded it)."""
        return Counter(check.outcome for check in self.checks)

    def summary(self, exitstatus: int) -> dict[str, Any]:
        """The evidence record of the run (see ``conformance/evidence.schema.json``)."""
        from .. import __version__

        finished = datetime.now(UTC).isoformat(timespec="seconds")
        book = self.settings.waivers
        artifacts = artifact_entries((record_check(c.as_dict()) for c in self.checks), self.facts)
        return {
            "schema": SCHEMA_ID,
            "tool": TOOL,
            "version": __version__,
            "contract": CONTRACT,
            "generated_at": finished,
            "environment": {
                "plugin": f"{TOOL} {__version__}",
                "contract": CONTRACT,
                "python": platform.python_version(),
                "pytest": pytest.__version__,
                "command": list(self.command),
                "host": platform.node(),
                "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": finished,
                "artifacts_paths": [str(p.resolve()) for p in self.settings.artifacts],
                "git_commits": self._git_commits(),
            },
            "artifacts_paths": [str(p) for p in self.settings.artifacts],
            "refs_roots": [str(p) for p in self.settings.refs_roots],
            "options": {
                "strict": self.settings.strict,
                "check_refs": self.settings.check_refs,
                "min_artifacts": self.settings.min_artifacts,
                "max_bytes": self.settings.max_bytes,
                "path_map": [f"{m.old}={m.new}" for m in self.settings.path_map],
                "unhealthy_drift_states": sorted(self.settings.unhealthy_drift_states),
                "allow_tracked_notes": self.settings.allow_tracked_notes,
                "notes_ledger": str(self.settings.notes_ledger) if self.settings.notes_ledger else None,
                "granularity": self.settings.granularity,
            },
            "opt_outs": [TRACKED_NOTES_OPT_OUT] if self.settings.allow_tracked_notes else [],
            "discovery": {
                "found": self.found(),
                "failed": self.discovery_failed,
                "run": self.discovery_reported,
                "problems": self.discovery_problems,
                "lost_series": self.lost_series,
            },
            "selection": self._selection(),
            "notes_ledger": self._ledger_summary(),
            "totals": totals(artifacts),
            "waivers": {
                "file": str(book.path) if book else None,
                "date": book.today.isoformat() if book else None,
                "count": len(book.waivers) if book else 0,
                "open_risks": self.open_risks(),
                "expired": [w.as_dict() for w in book.expired] if book else [],
                "unmatched": [w.as_dict() | {"checks_ran": ran} for w, ran in self.unmatched()],
            },
            "references_not_followed": unfollowed_block(self.unfollowed),
            "pytest_exit_status": exitstatus,
            "result": self.result(exitstatus),
            "artifacts": artifacts,
            "governance": governance(artifacts, self.facts),
        }

    def found(self) -> dict[str, int]:
        """The artifacts discovery found by kind; notes found unread at collection are counted by the
        kind they were read as, and only those this run did not read stay ``note``."""
        found = Counter(self.discovery)
        found.update(self.read_notes)
        found.subtract({UNREAD_NOTE: sum(self.read_notes.values())})
        return {kind: n for kind, n in sorted(found.items()) if n > 0}

    def _selection(self) -> dict[str, Any]:
        """The ``selection`` block; while notes stay unread, with what collection counted before reading
        them, for ``evidence merge`` to combine shards that each read some of them."""
        selection = self.selection.report(reported=self.reported)
        if self.found().get(UNREAD_NOTE):
            selection["before_reading"] = {
                "collected": self.selection.collected,
                "found": dict(sorted(self.discovery.items())),
            }
        return selection

    def _git_commits(self) -> dict[str, str]:
        if self.git is None:
            self.git = git_commits(self.settings.artifacts)
        return self.git

    def _ledger_summary(self) -> dict[str, Any] | None:
        if self.settings.notes_ledger is None:
            return None
        kept = self.ledger
        return {
            "path": str(self.settings.notes_ledger),
            "status": kept.status if kept else "not extended",
            "added": kept.added if kept else 0,
            "entries": kept.total if kept else 0,
            "reason": kept.reason if kept else "the run did not finish",
            "head_sha256": kept.head if kept else None,
        }

    def write(self, path: Path, exitstatus: int) -> None:
        """Write the record atomically next to its final place."""
        write_record(path, self.summary(exitstatus))


def git_commits(paths: Iterable[Path]) -> dict[str, str]:
    """The commit checked out at each artifacts path that lies in a git work tree (absolute path: commit)."""
    commits: dict[str, str] = {}
    for path in paths:
        where = path.resolve()
        commit = head_commit(where if where.is_dir() else where.parent)
        if commit is not None:
            commits[str(where)] = commit
    return dict(sorted(commits.items()))


def _n(count: int, noun: str) -> str:
    return (
        f"{count} {noun}" if count == 1 else f"{count} {noun}s" if not noun.endswith("y") else f"{count} {noun[:-1]}ies"
    )
