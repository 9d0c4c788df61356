"""pytest nodes: one collector per artifact, one item per applicable rule."""

from __future__ import annotations

import warnings
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from _pytest._code.code import TerminalRepr

from ._keys import CONTEXT_KEY, FINDINGS_KEY, OUTCOME_KEY, SETTINGS_KEY
from .model import Artifact, Finding, Severity
from .rules import CheckContext, Rule
from .settings import MARKER, Settings

MAX_VALUE = 120


class RuleViolation(AssertionError):
    """An artifact does not conform to a rule (a failure, not an error)."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class TorghutAdvisoryWarning(pytest.PytestWarning):
    """An advisory rule found something; it fails the run only with --torghut-strict."""


def _clip(text: str) -> str:
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def describe_findings(rule: Rule, artifact: Artifact, findings: Sequence[Finding], *, doc: str, verbose: bool) -> str:
    """The failure text: rule, artifact, pointer, expected vs found, doc link, count of more."""
    first, rest = findings[0], findings[1:]
    lines = [f"{rule.id} {rule.slug}: {first.message}", f"  artifact: {artifact.display}"]
    shown = [first, *rest] if verbose else [first]
    for n, finding in enumerate(shown):
        if n:
            lines.append(f"  -- {finding.message}")
        lines.append(f"  at:       {finding.pointer or '(whole artifact)'}")
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


class ConformanceItem(pytest.Item):
    """A torghut check: marked ``torghut_conformance``; a RuleViolation reads as plain text."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.add_marker(MARKER)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str | TerminalRepr:
        """Domain text for violations; the usual report, with its stack, for real bugs."""
        if isinstance(excinfo.value, RuleViolation):
            return excinfo.value.text
        return super().repr_failure(excinfo, style=style)


@dataclass(frozen=True, kw_only=True)
class Discovery:
    """What discovery found under the artifacts paths, by kind, or why it could not search."""

    by_kind: dict[str, int]
    error: str | None = None

    @property
    def found(self) -> int:
        """Artifacts that count towards --torghut-min-artifacts: manifests and notes series."""
        return self.by_kind.get("manifest", 0) + self.by_kind.get("notes-series", 0)


class ArtifactFile(pytest.File):
    """A governance artifact; yields one RuleItem per rule that applies to its kind."""

    def __init__(self, *, artifact: Artifact, rules: Sequence[Rule], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.artifact = artifact
        self.rules = tuple(rules)

    def collect(self) -> Iterator[RuleItem]:
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

    def runtest(self) -> None:
        """Run the rule; raise RuleViolation on findings that count, warn on advisory ones."""
        settings: Settings = self.config.stash[SETTINGS_KEY]
        context: CheckContext = self.config.stash[CONTEXT_KEY]
        artifact = self.artifact
        if artifact.error is not None:
            findings = [Finding(pointer="", message=f"cannot check: {artifact.error}")]
        else:
            findings = self.rule.run(artifact, context)
        self.stash[FINDINGS_KEY] = findings
        if not findings:
            self.stash[OUTCOME_KEY] = "conforms"
            return
        text = describe_findings(
            self.rule,
            artifact,
            findings,
            doc=settings.doc_link(self.rule.anchor),
            verbose=self.config.get_verbosity() > 0,
        )
        counts = self.rule.severity is Severity.REQUIRED or settings.strict or artifact.error is not None
        self.stash[OUTCOME_KEY] = "violation" if counts else "advisory"
        if counts:
            raise RuleViolation(text)
        try:
            # Point the warning at the artifact, not at this module.
            warnings.warn_explicit(TorghutAdvisoryWarning(text), TorghutAdvisoryWarning, artifact.display, 0)
        except TorghutAdvisoryWarning as exc:
            # Warning filters made it an error (-W error, filterwarnings = error): that is a
            # violation with the usual text, not a crash with a traceback.
            self.stash[OUTCOME_KEY] = "violation"
            raise RuleViolation(text) from exc

    def reportinfo(self) -> tuple[Path, int | None, str]:
        """Point at the artifact and name the rule."""
        return self.artifact.path, None, f"[torghut] {self.rule.id} {self.rule.slug}"


class DiscoveryCollector(pytest.Collector):
    """The ``torghut`` node: holds the discovery test of the run."""

    def __init__(self, *, discovery: Discovery, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.discovery = discovery

    def collect(self) -> Iterator[DiscoveryItem]:
        """The single ``torghut::discovery`` item."""
        yield DiscoveryItem.from_parent(self, name="discovery", discovery=self.discovery)


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
            raise RuleViolation(f"discovery: {self.discovery.error}\n  under: {paths}")
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
