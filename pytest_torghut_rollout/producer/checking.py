"""The producer checks its own output with the rule registry before writing (dogfooding).

Findings of required rules refuse the write with a ``ContractViolationError`` naming
each rule and JSON Pointer; findings of advisory rules come back as warnings.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..checking.discovery import artifact_trees, discover, manifest_artifact, note_artifact
from ..checking.model import Artifact, Finding, Severity
from ..checking.paths import PathMapping, Resolver
from ..checking.rules import REGISTRY, CheckContext, check_artifact, evaluate_artifacts
from .layout import ArtifactTree


@dataclass(frozen=True, kw_only=True)
class RuleFinding:
    """A rule's finding on an artifact the producer was about to write."""

    rule_id: str
    slug: str
    severity: Severity
    artifact: str
    pointer: str
    message: str
    expected: str = ""
    found: str = ""

    def describe(self) -> str:
        """One line: rule, pointer, message, expected versus found."""
        where = self.pointer or "(whole artifact)"
        versus = f" (expected {self.expected}, found {self.found})" if self.expected or self.found else ""
        return f"{self.rule_id} {self.slug} at {where}: {self.message}{versus}"


class ContractViolationError(ValueError):
    """The producer refused to write an artifact that violates a required rule."""

    def __init__(self, artifact: str, violations: Sequence[RuleFinding]) -> None:
        self.artifact = artifact
        self.violations = tuple(violations)
        first = self.violations[0].describe() if self.violations else "no finding"
        more = len(self.violations) - 1
        tail = f" (+{more} more: {', '.join(sorted(self.rule_ids - {self.violations[0].rule_id}))})" if more else ""
        super().__init__(f"refusing to write {artifact}: {first}{tail}")

    @property
    def rule_ids(self) -> frozenset[str]:
        """Every rule id that refused the artifact."""
        return frozenset(v.rule_id for v in self.violations)


@dataclass(frozen=True, kw_only=True)
class WriteResult:
    """What a write produced: the file, and advisory findings that did not block it."""

    path: Path
    warnings: tuple[RuleFinding, ...] = ()


def check(artifact: Artifact, tree: ArtifactTree, *, opt_ins: Sequence[str] = ()) -> tuple[RuleFinding, ...]:
    """Check ``artifact`` against the registry; raise on required findings, return advisory ones."""
    context = CheckContext(resolver=tree.resolver())
    required: list[RuleFinding] = []
    advisory: list[RuleFinding] = []
    for rule_id, findings in check_artifact(artifact, context, opt_ins=tuple(opt_ins)).items():
        rule = REGISTRY[rule_id]
        bucket = required if rule.severity is Severity.REQUIRED else advisory
        bucket.extend(
            RuleFinding(
                rule_id=rule.id,
                slug=rule.slug,
                severity=rule.severity,
                artifact=artifact.display,
                pointer=f.pointer,
                message=f.message,
                expected=f.expected,
                found=f.found,
            )
            for f in findings
        )
    if required:
        raise ContractViolationError(artifact.display, required)
    return tuple(advisory)


def check_manifest_data(
    data: dict[str, Any], path: Path, tree: ArtifactTree, *, opt_ins: Sequence[str] = ()
) -> tuple[RuleFinding, ...]:
    """Check manifest JSON data as if written at ``path`` inside ``tree``."""
    artifact = manifest_artifact(data, path=path, root=path.parent.parent, display=tree.display(path))
    return check(artifact, tree, opt_ins=opt_ins)


def check_note_text(
    text: str, path: Path, tree: ArtifactTree, *, number: int, opt_ins: Sequence[str] = ()
) -> tuple[RuleFinding, ...]:
    """Check a note's text as if written at ``path`` (``<root>/notes/iteration-<n>.md``)."""
    artifact = note_artifact(text, path=path, root=path.parent.parent, display=tree.display(path), number=number)
    return check(artifact, tree, opt_ins=opt_ins)


def findings_in_tree(
    paths: Sequence[Path], *, mappings: Sequence[PathMapping] = (), opt_ins: Sequence[str] = ()
) -> dict[str, dict[str, list[Finding]]]:
    """Check every artifact under ``paths`` as the plugin does: display path -> rule id -> findings."""
    context = CheckContext(resolver=Resolver(artifact_trees(paths), mappings))
    results: dict[str, dict[str, list[Finding]]] = {}
    for artifact, verdicts in evaluate_artifacts(discover(paths), context, opt_ins=tuple(opt_ins)):
        failing = {rule_id: list(v.findings) for rule_id, v in verdicts.items() if v.findings}
        if failing:
            results[artifact.display] = failing
    return results
