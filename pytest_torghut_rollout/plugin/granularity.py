"""Artifact granularity: one test item per artifact, checking every rule that applies to it.

A tree of a year of cycles holds hundreds of thousands of (artifact, rule) pairs; one item per
artifact keeps collection, reports and xdist traffic proportional to artifacts, while the
evidence still lists each rule's check with its own outcome (carried in the item's
``user_properties``, one group of properties per rule, each group starting at ``torghut_rule``).
"""

from __future__ import annotations

import traceback
import warnings
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

import pytest

from ..checking.discovery import UNREAD_NOTE, Pending, note_files_of
from ..checking.model import NOTE_KINDS, Artifact, ArtifactKind, Finding, Severity, printable
from ..checking.rules import REGISTRY, CheckContext, Rule, Verdict
from ..checking.waivers import Waiver
from ..record.facts import artifact_facts, series_summary
from ._keys import (
    CONTEXT_KEY,
    FACTS_WANTED_KEY,
    FINDINGS_KEY,
    OUTCOME_KEY,
    SERIES_READ_KEY,
    SETTINGS_KEY,
    VERDICT_KEY,
    WAIVER_KEY,
    SeriesRead,
)
from .items import (
    ConformanceItem,
    RuleItem,
    RuleViolation,
    TorghutAdvisoryWarning,
    WaivedViolation,
    apply_waiver,
    describe_findings,
    waived_reason,
)
from .settings import Settings
from .wire import CheckOutcome, Prop

#: The name of an artifact item: its test id reads ``<artifact path>::checks``.
ITEM_NAME = "checks"
#: The property that marks a report of an artifact item; its value is the granularity.
GRANULARITY_PROPERTY = Prop.GRANULARITY
#: The property of an artifact item found as a note unread at collection: the kind it was read as.
READ_AS_PROPERTY = Prop.READ_AS
#: Outcomes that fail a check (a waived one fails under a waiver: an xfail, never a pass).
FAILING = (CheckOutcome.VIOLATION, CheckOutcome.WAIVED)


@dataclass(kw_only=True)
class RuleResult:
    """How one rule of an artifact item ended."""

    rule: Rule
    outcome: CheckOutcome
    """``conforms``, ``violation``, ``advisory``, ``not-evaluated``, ``waived`` or ``error``."""
    verdict: Verdict | None = None
    findings: list[Finding] = field(default_factory=list)
    text: str = ""
    """The failure text (with its waiver), for a failing or advisory check."""
    waiver: Waiver | None = None


def item_checks(item: RuleItem | ArtifactItem) -> list[RuleResult]:
    """How each check of an item ended: a rule item's one check, an artifact item's selected rules
    (``not-run`` for a rule its failed setup kept from running)."""
    if isinstance(item, RuleItem):
        findings: list[Finding] = item.stash.get(FINDINGS_KEY, [])
        outcome = item.stash.get(OUTCOME_KEY, CheckOutcome.NOT_RUN)
        verdict, waiver = item.stash.get(VERDICT_KEY, None), item.stash.get(WAIVER_KEY, None)
        return [RuleResult(rule=item.rule, outcome=outcome, verdict=verdict, findings=findings, waiver=waiver)]
    return [
        item.results.get(rule.id) or RuleResult(rule=rule, outcome=CheckOutcome.NOT_RUN) for rule in item.checked_rules
    ]


def series_read(notes: Sequence[Artifact]) -> SeriesRead:
    """What a series' own item needs of one read of its notes: its summary and note files."""
    return SeriesRead(summary=series_summary(notes), files=note_files_of(notes))


def rule_keywords(rule: Rule) -> set[str]:
    """The names ``-k`` matches a rule by: its id, slug and test-id name (``TM012-transition-adjacency``)."""
    return {rule.id, rule.slug, rule.name}


def rules_for(source: Artifact | Pending, opt_ins: Iterable[str]) -> list[Rule]:
    """The rules an artifact may need: its kind's, or for a note not read yet, those of every kind of note."""
    if isinstance(source, Artifact):
        return REGISTRY.for_kind(source.kind, opt_ins=opt_ins)
    if source.kind != UNREAD_NOTE:
        return REGISTRY.for_kind(source.kind, opt_ins=opt_ins)
    return list(_any_note_rules(frozenset(opt_ins)))


@cache
def _any_note_rules(opt_ins: frozenset[str]) -> tuple[Rule, ...]:
    """Every rule some kind of note needs, in the registry's order (asked once per note found)."""
    ids = {rule.id for kind in NOTE_KINDS for rule in REGISTRY.for_kind(kind, opt_ins=opt_ins)}
    return tuple(rule for rule in REGISTRY if rule.id in ids)


@cache
def _keywords_of(rules: tuple[Rule, ...]) -> frozenset[str]:
    """The ``-k`` names of every rule in ``rules`` (the same few sets, asked once per artifact)."""
    return frozenset().union(*(rule_keywords(rule) for rule in rules))


class ArtifactChecks(pytest.File):
    """A governance artifact at artifact granularity: yields one ArtifactItem for all its rules.

    The artifact is read when its item runs, not at collection: collection needs only where
    it lies, so the item list never depends on file contents (xdist workers agree on it).
    """

    def __init__(self, *, source: Artifact | Pending, rules: Sequence[Rule], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.rules = tuple(rules)

    def collect(self) -> Iterator[ArtifactItem]:
        """One item, ``<artifact path>::checks``, when any rule applies."""
        if self.rules:
            yield ArtifactItem.from_parent(self, name=ITEM_NAME, rules=self.rules)


class ArtifactItem(ConformanceItem):
    """Every applicable rule checked against one artifact; fails with the findings of each, by rule."""

    parent: ArtifactChecks

    def __init__(self, *, rules: Sequence[Rule], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.rules = tuple(rules)
        self.selected: tuple[Rule, ...] = self.rules
        """The rules this run checks: all of them, unless ``-k`` selects some (see ``select_rules``)."""
        self.results: dict[str, RuleResult] = {}
        self.inapplicable: tuple[Rule, ...] = ()
        """Selected rules that, once the note was read, do not apply to its kind (no check, no outcome)."""
        self.checked: Artifact | None = None
        """The artifact as read, without its parsed document once its rules have run."""
        self.facts: dict[str, Any] | None = None
        """What the evidence record says of the artifact (``facts.artifact_facts``), once it ran."""
        self.extra_keyword_matches.update(_keywords_of(self.rules))

    @property
    def artifact(self) -> Artifact:
        """The artifact this item checks: as read once it ran, else what its path says of it."""
        if self.checked is not None:
            return self.checked
        source = self.parent.source
        if isinstance(source, Artifact):
            return source
        kind: ArtifactKind = "unrecognised-note" if source.kind == UNREAD_NOTE else source.kind
        return Artifact(kind=kind, path=source.path, root=source.root, display=source.display, number=source.number)

    @property
    def checked_rules(self) -> tuple[Rule, ...]:
        """The selected rules that apply to the artifact (as far as known before it is read)."""
        return tuple(rule for rule in self.selected if rule not in self.inapplicable)

    @property
    def deselected_rules(self) -> tuple[Rule, ...]:
        """Applicable rules that ``-k`` left out of this run."""
        return tuple(rule for rule in self.rules if rule not in self.selected)

    def runtest(self) -> None:
        """Run every selected rule; fail with the findings of every failing one, grouped by rule.

        Advisory findings warn as with one item per rule; the item is skipped only when no
        rule could judge; a waiver turns it into an xfail only when it covers every failure.
        """
        settings: Settings = self.config.stash[SETTINGS_KEY]
        context: CheckContext = self.config.stash[CONTEXT_KEY]
        source = self.parent.source
        series: SeriesRead | None = None
        if isinstance(source, Artifact):
            artifact = source
        elif source.kind == "notes-series":
            # One read of the notes per process serves the cross references, the summary and the series.
            context.learn(source.path)
            series = self.config.stash.get(SERIES_READ_KEY, {}).pop(source.path, None)
            if series is None:  # run again (a rerun plugin): read again
                series = series_read(source.light_notes())
            artifact = source.load(note_files=series.files)
        else:
            artifact = source.load()
        applicable = {rule.id for rule in REGISTRY.for_kind(artifact.kind, opt_ins=settings.opt_ins)}
        self.inapplicable = tuple(rule for rule in self.selected if rule.id not in applicable)
        try:
            self._run(artifact, applicable, settings, context)
        finally:
            # The evidence's facts need the document; keep what the report names (kind, digest)
            # and those facts, not the document: memory stays flat.
            if self.config.stash.get(FACTS_WANTED_KEY, True):
                self.facts = artifact_facts(artifact, context, summary=None if series is None else series.summary)
            self.checked = replace(artifact, data=None, schema_issues=())

    def release(self) -> None:
        """Forget the rules' results and the artifact's facts once the reports carry them
        (pytest keeps every item to the end of the run)."""
        self.results = {}
        self.facts = None

    def _run(self, artifact: Artifact, applicable: set[str], settings: Settings, context: CheckContext) -> None:
        errors: list[BaseException] = []
        for rule in self.selected:
            if rule.id not in applicable:
                continue
            try:
                result = self._judge(rule, artifact, settings, context)
            except Exception as exc:
                # A bug in a rule: the other rules still run; the item reports the stack.
                exc.add_note(f"while checking {artifact.display} with {rule.name}")
                errors.append(exc)
                result = RuleResult(
                    rule=rule, outcome=CheckOutcome.ERROR, text="".join(traceback.format_exception_only(exc))
                )
            self.results[rule.id] = result
        if errors:
            raise errors[0]
        failing = [r for r in self.results.values() if r.outcome in FAILING]
        if failing:
            text = "\n\n".join(r.text for r in failing)
            waived = [r.waiver for r in failing if r.outcome == "waived" and r.waiver is not None]
            if len(waived) == len(failing):
                reason = "; ".join(waived_reason(w) for w in _unique(waived))
                raise WaivedViolation(reason, text)
            raise RuleViolation(text)
        if not self.results:
            names = ", ".join(rule.id for rule in self.inapplicable)
            pytest.skip(f"no selected rule applies to a {artifact.kind}: {names}")
        if all(r.outcome == "not-evaluated" for r in self.results.values()):
            reasons = "; ".join(
                f"{r.rule.id}: {printable(r.verdict.not_evaluated or '')}"
                for r in self.results.values()
                if r.verdict is not None
            )
            pytest.skip(f"not evaluated: {reasons}")

    def _judge(self, rule: Rule, artifact: Artifact, settings: Settings, context: CheckContext) -> RuleResult:
        verdict = rule.evaluate(artifact, context)
        findings = list(verdict.findings)
        if verdict.not_evaluated is not None:
            return RuleResult(rule=rule, outcome=CheckOutcome.NOT_EVALUATED, verdict=verdict, findings=findings)
        if not findings:
            return RuleResult(rule=rule, outcome=CheckOutcome.CONFORMS, verdict=verdict)
        text = describe_findings(
            rule,
            artifact,
            findings,
            doc=settings.doc_link(rule.id, rule.anchor),
            verbose=self.config.get_verbosity() > 0,
        )
        counts = rule.severity is Severity.REQUIRED or settings.strict or artifact.error is not None
        if not counts:
            try:
                warnings.warn_explicit(TorghutAdvisoryWarning(text), TorghutAdvisoryWarning, artifact.display, 0)
            except TorghutAdvisoryWarning:
                counts = True  # warning filters made it an error: a violation, as with one item per rule
            else:
                return RuleResult(
                    rule=rule, outcome=CheckOutcome.ADVISORY, verdict=verdict, findings=findings, text=text
                )
        text, waiver = apply_waiver(text, rule.id, artifact.display, settings.waivers)
        # --runxfail reports expected failures as failures, each with its waiver named.
        outcome = (
            CheckOutcome.WAIVED if waiver is not None and not self.config.option.runxfail else CheckOutcome.VIOLATION
        )
        return RuleResult(rule=rule, outcome=outcome, verdict=verdict, findings=findings, text=text, waiver=waiver)

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Point at the artifact and say that it is checked against all its rules."""
        # Computed before the item runs: a note not read yet is only known to be a note.
        source = self.parent.source
        return source.path, None, f"[torghut] {source.kind} checks"


def _unique(waivers: Iterable[Waiver]) -> list[Waiver]:
    seen: dict[int, Waiver] = {}
    for waiver in waivers:
        seen.setdefault(waiver.index, waiver)
    return list(seen.values())


def select_rules(config: pytest.Config, items: Sequence[pytest.Item]) -> tuple[list[pytest.Item], int]:
    """Under ``-k``, let each artifact item check only the rules whose own keywords match.

    A rule is matched with the names its item would have with one item per rule (the
    artifact's, the markers', and the rule's id, slug and name), never another rule's, so
    ``-k "not TM012"`` checks every rule but TM012. Each item then carries the keywords of
    its selected rules only, for pytest's own ``-k`` deselection to agree. Returns the items
    no rule of which is selected (for the caller to deselect) and how many rules were left out
    of the items that stay.
    """
    expression_text = (config.option.keyword or "").lstrip()
    if not expression_text:
        return [], 0
    try:
        # pytest's own -k matching; private, so guarded: without it every rule of a selected item runs.
        from _pytest.mark import KeywordMatcher
        from _pytest.mark.expression import Expression

        expression = Expression.compile(expression_text)
    except Exception:  # an expression pytest refuses is reported by pytest itself, as a usage error
        return [], 0
    unmatched: list[pytest.Item] = []
    left_out = 0
    for item in items:
        if not isinstance(item, ArtifactItem):
            continue
        every = set().union(*(rule_keywords(rule) for rule in item.rules))
        own = item.extra_keyword_matches - every

        def matches(item: ArtifactItem, names: set[str], own: set[str] = own) -> bool:
            item.extra_keyword_matches = own | names
            return bool(expression.evaluate(KeywordMatcher.from_item(item)))

        chosen = tuple(rule for rule in item.rules if matches(item, rule_keywords(rule)))
        if not chosen:
            item.extra_keyword_matches = own | every
            unmatched.append(item)
            continue
        if not matches(item, set().union(*(rule_keywords(rule) for rule in chosen))):
            # An expression such as "not (TM012 and TM013)" holds for each rule but not for both
            # together: the first selected rule's keywords then stand for the item.
            matches(item, rule_keywords(chosen[0]))
        left_out += len(item.rules) - len(chosen)
        item.selected = chosen
    return unmatched, left_out
