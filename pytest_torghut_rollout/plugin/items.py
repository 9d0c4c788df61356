"""pytest nodes: one collector per artifact, one item per applicable rule."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr
from _pytest.outcomes import XFailed

from ..checking.discovery import load_manifest, load_note
from ..checking.model import Artifact, Finding, Severity, printable
from ..checking.rules import CheckContext, Rule
from ..checking.waivers import Waiver, WaiverBook
from ._keys import CONTEXT_KEY, FINDINGS_KEY, OUTCOME_KEY, SETTINGS_KEY, VERDICT_KEY, WAIVER_KEY
from .settings import MARKER, Settings
from .wire import CheckOutcome

MAX_VALUE = 120


class RuleViolation(AssertionError):
    """An artifact does not conform to a rule (a failure, not an error)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class WaivedViolation(XFailed):
    """A violation a live waiver accepts: an expected failure (xfail), never a pass."""

    def __init__(self, reason: str, text: str) -> None:
        super().__init__(reason)
        self.text = text


class TorghutAdvisoryWarning(pytest.PytestWarning):
    """An advisory rule found something; it fails the run only with --torghut-strict."""


class TorghutWaiverWarning(pytest.PytestWarning):
    """A live waiver waived no failure in the run: stale, or its rule and glob name no failing check."""


def _clip(text: str) -> str:
    text = printable(text)
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def describe_findings(rule: Rule, artifact: Artifact, findings: Sequence[Finding], *, doc: str, verbose: bool) -> str:
    """The failure text: rule, artifact, pointer, expected vs found, doc link, count of more."""
    first, rest = findings[0], findings[1:]
    # Every string here may come from an artifact: control characters are written out, so
    # that none can clear the screen or forge a line such as "=== 999 passed ===".
    lines = [f"{rule.id} {rule.slug}: {printable(first.message)}", f"  artifact: {printable(artifact.display)}"]
    shown = [first, *rest] if verbose else [first]
    for n, finding in enumerate(shown):
        if n:
            lines.append(f"  -- {printable(finding.message)}")
        lines.append(f"  at:       {printable(finding.pointer) or '(whole artifact)'}")
        if finding.expected:
            lines.append(f"  expected: {_clip(finding.expected)}")
        if finding.found:
            lines.append(f"  found:    {_clip(finding.found)}")
    lines.append(f"  rule:     {rule.title} [{rule.severity.value}]")
    lines.append(f"  see:      {doc}")
    if rest and not verbose:
        more = "finding" if len(rest) == 1 else "findings"
        lines.append(f"  (+{len(rest)} more {more}; run with -v to list all)")
    return "\n".join(lines)


def apply_waiver(text: str, rule_id: str, display: str, book: WaiverBook | None) -> tuple[str, Waiver | None]:
    """The failure text of ``rule_id`` on ``display`` with its waiver named, and the live waiver, if any.

    An expired waiver that would have matched is named too: it waives nothing now.
    """
    if book is None:
        return text, None
    waiver = book.waiver_for(rule_id, display)
    if waiver is None:
        expired = book.expired_for(rule_id, display)
        if expired is not None:
            text += (
                f"\n  waiver:   {expired.index}, owned by {expired.owner}, expired on "
                f"{expired.expires.isoformat()}; it waives nothing now (see torghut::waivers)"
            )
        return text, None
    text += (
        f"\n  waiver:   {waiver.index}, owned by {waiver.owner}, expires {waiver.expires.isoformat()}: {waiver.reason}"
    )
    return text, waiver


def waived_reason(waiver: Waiver) -> str:
    """The xfail reason of a check a live waiver accepts."""
    return (
        f"waived by waiver {waiver.index} (owned by {waiver.owner}, expires {waiver.expires.isoformat()}): "
        f"{waiver.reason}"
    )


class ConformanceItem(pytest.Item):
    """A torghut check: marked ``torghut_conformance``; a RuleViolation reads as plain text."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(MARKER)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        """Domain text for violations; the usual report, with its stack, for real bugs."""
        if isinstance(excinfo.value, RuleViolation | WaivedViolation):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)


@dataclass(frozen=True, kw_only=True)
class Discovery:
    """What discovery found under the artifacts paths, by kind, or why it could not search."""

    by_kind: dict[str, int]
    error: str | None = None
    problems: tuple[str, ...] = ()
    """Directories that were not searched (unreadable, symlinked), one reason each."""
    lost: tuple[str, ...] = ()
    """Notes series the ledger recorded that are gone altogether (not pruned runs' lane notes)."""

    @property
    def found(self) -> int:
        """Artifacts that count towards --torghut-min-artifacts: manifests and notes series."""
        return self.by_kind.get("manifest", 0) + self.by_kind.get("notes-series", 0)


class ArtifactFile(pytest.File):
    """A governance artifact; yields one RuleItem per rule that applies to its kind.

    The artifact was read at collection; its parsed document is let go once every rule item of
    it that this process runs has run (``finished``), so that memory does not grow with the
    documents a run has checked. An item run again after that (a rerun plugin) reads it again.
    """

    def __init__(self, *, artifact: Artifact, rules: Sequence[Rule], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.artifact = artifact
        """The artifact as read; without its parsed document once its items ran."""
        self.rules = tuple(rules)
        self.unfinished = 0
        """Rule items of this artifact still to run in this process (counted after collection)."""
        self.released = False

    def finished(self) -> None:
        """One of its rule items ran: after the last, keep what reports name, not the document."""
        self.unfinished -= 1
        if self.unfinished <= 0 and self.artifact.data is not None:
            self.artifact = replace(self.artifact, data=None, schema_issues=())
            self.released = True

    def checked_artifact(self) -> Artifact:
        """The artifact with its parsed document, read again if it was let go."""
        if self.released:
            artifact = self.artifact
            loaded = (load_manifest if artifact.kind == "manifest" else load_note)(
                artifact.path,
                root=artifact.root,
                display=artifact.display,
                max_bytes=self.config.stash[SETTINGS_KEY].max_bytes,
            )
            self.artifact, self.released = loaded, False
        return self.artifact

    def collect(self) -> Iterator[ConformanceItem]:
        """One item per applicable rule, in rule id order."""
        for rule in self.rules:
            yield RuleItem.from_parent(self, name=rule.name, rule=rule)


class RuleItem(ConformanceItem):
    """One rule checked against one artifact."""

    parent: ArtifactFile

    def __init__(self, *, rule: Rule, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rule = rule

    @property
    def artifact(self) -> Artifact:
        """The artifact this item checks."""
        return self.parent.artifact

    def release(self) -> None:
        """Forget the verdict and findings once the reports carry them (pytest keeps every item),
        and tell the artifact that one more of its checks is done."""
        if VERDICT_KEY in self.stash:
            del self.stash[VERDICT_KEY]
        if FINDINGS_KEY in self.stash:
            del self.stash[FINDINGS_KEY]
        self.parent.finished()

    def runtest(self) -> None:
        """Run the rule; raise RuleViolation on findings that count, warn on advisory ones.

        A rule that cannot judge (its input is missing or malformed, a defect another rule
        reports) is skipped as not evaluated, never passed.
        """
        settings: Settings = self.config.stash[SETTINGS_KEY]
        context: CheckContext = self.config.stash[CONTEXT_KEY]
        artifact = self.parent.checked_artifact()
        verdict = self.rule.evaluate(artifact, context)
        self.stash[VERDICT_KEY] = verdict
        findings = list(verdict.findings)
        self.stash[FINDINGS_KEY] = findings
        if verdict.not_evaluated is not None:
            self.stash[OUTCOME_KEY] = CheckOutcome.NOT_EVALUATED
            pytest.skip(f"not evaluated: {printable(verdict.not_evaluated)}")
        if not findings:
            self.stash[OUTCOME_KEY] = CheckOutcome.CONFORMS
            return
        text = describe_findings(
            self.rule,
            artifact,
            findings,
            doc=settings.doc_link(self.rule.id, self.rule.anchor),
            verbose=self.config.get_verbosity() > 0,
        )
        counts = self.rule.severity is Severity.REQUIRED or settings.strict or artifact.error is not None
        self.stash[OUTCOME_KEY] = CheckOutcome.VIOLATION if counts else CheckOutcome.ADVISORY
        if counts:
            raise self._failure(text, settings.waivers)
        try:
            # Point the warning at the artifact, not at this module.
            warnings.warn_explicit(TorghutAdvisoryWarning(text), TorghutAdvisoryWarning, artifact.display, 0)
        except TorghutAdvisoryWarning as exc:
            # Warning filters made it an error (-W error, filterwarnings = error): that is a
            # violation with the usual text, not a crash with a traceback.
            self.stash[OUTCOME_KEY] = CheckOutcome.VIOLATION
            raise self._failure(text, settings.waivers) from exc

    def _failure(self, text: str, book: WaiverBook | None) -> RuleViolation | WaivedViolation:
        """The violation to raise: waived (an xfail) when a live waiver matches this check."""
        text, waiver = apply_waiver(text, self.rule.id, self.artifact.display, book)
        if waiver is None:
            return RuleViolation(text)
        self.stash[WAIVER_KEY] = waiver
        if self.config.option.runxfail:
            # --runxfail reports expected failures as failures: this one with its usual text.
            return RuleViolation(text)
        self.stash[OUTCOME_KEY] = CheckOutcome.WAIVED
        return WaivedViolation(waived_reason(waiver), text)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Point at the artifact and name the rule."""
        return self.artifact.path, None, f"[torghut] {self.rule.id} {self.rule.slug}"


class RunCollector(pytest.Collector):
    """The ``torghut`` node: the tests of the run itself, discovery and (with a waivers file) waivers."""

    def __init__(self, *, discovery: Discovery, waivers: WaiverBook | None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.discovery = discovery
        self.waivers = waivers

    def collect(self) -> Iterator[DiscoveryItem | WaiversItem]:
        """``torghut::discovery``, then ``torghut::waivers`` when waivers are given."""
        yield DiscoveryItem.from_parent(self, name="discovery", discovery=self.discovery)
        if self.waivers is not None:
            yield WaiversItem.from_parent(self, name="waivers", waivers=self.waivers)


class DiscoveryItem(ConformanceItem):
    """Fails when the artifacts paths held fewer artifacts than required."""

    def __init__(self, *, discovery: Discovery, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.discovery = discovery

    def runtest(self) -> None:
        """Refuse a run that checked nothing (or less than asked)."""
        settings: Settings = self.config.stash[SETTINGS_KEY]
        paths = ", ".join(str(p) for p in settings.artifacts)
        if self.discovery.error is not None:
            raise RuleViolation(f"discovery: {printable(self.discovery.error)}\n  under: {printable(paths)}")
        if self.discovery.problems:
            count = len(self.discovery.problems)
            raise RuleViolation(
                "\n".join(
                    [
                        f"discovery: {count} {'place' if count == 1 else 'places'} under the artifacts paths "
                        "could not be searched; every artifact found was still checked",
                        *(f"  - {printable(problem)}" for problem in self.discovery.problems),
                        f"  under: {printable(paths)}",
                    ]
                )
            )
        if self.discovery.lost:
            count = len(self.discovery.lost)
            series = "notes series the ledger recorded is" if count == 1 else "notes series the ledger recorded are"
            raise RuleViolation(
                f"discovery: {count} {series} gone: {printable(', '.join(self.discovery.lost))}\n"
                f"  under:    {printable(paths)}\n"
                f"  ledger:   {settings.notes_ledger}\n"
                "  expected: every recorded series still there (TN023: a note, once written, is never "
                "removed; retention prunes only run directories)"
            )
        if self.discovery.found < settings.min_artifacts:
            noun = "artifact" if self.discovery.found == 1 else "artifacts"
            raise RuleViolation(
                f"discovery: found {self.discovery.found} {noun}, at least {settings.min_artifacts} required\n"
                f"  under:    {paths}\n"
                "  expected: rollout/phase-manifest.json files or notes/iteration-<n>.md series\n"
                "  (check the path, or lower --torghut-min-artifacts)"
            )

    def reportinfo(self) -> tuple[str, int | None, str]:
        """Name the discovery check."""
        return "torghut", None, "[torghut] discovery"


class WaiversItem(ConformanceItem):
    """Fails when a waiver has expired, naming its owner; the failures it covered fail again."""

    def __init__(self, *, waivers: WaiverBook, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.waivers = waivers

    def runtest(self) -> None:
        """Refuse a run with an expired waiver: accepted risk has a date, and it has come."""
        book = self.waivers
        expired = book.expired
        if not expired:
            return
        one = len(expired) == 1
        lines = [
            f"waivers: {len(expired)} {'waiver' if one else 'waivers'} in {book.path} "
            f"{'has' if one else 'have'} expired and waive nothing (today is {book.today.isoformat()}, UTC)"
        ]
        for waiver in expired:
            lines.append(
                f"  waiver {waiver.index}: {waiver.rule} on {waiver.artifact}, owned by {waiver.owner}, "
                f"expired on {waiver.expires.isoformat()}"
            )
            lines.append(f"    reason: {waiver.reason}")
        lines.append("  (fix the checks a waiver covered, or have its owner renew it with a later expires date)")
        raise RuleViolation("\n".join(lines))

    def reportinfo(self) -> tuple[str, int | None, str]:
        """Name the waivers check."""
        return "torghut", None, "[torghut] waivers"
