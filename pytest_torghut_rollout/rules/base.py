"""The rule type, its registry and the context checks run in (no pytest here)."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..model import DEFAULT_UNHEALTHY_DRIFT_STATES, Artifact, ArtifactKind, Finding, SchemaIssue, Severity
from ..paths import Resolution, Resolver

RULE_ID = re.compile(r"T[MN][0-9]{3}")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class DuplicateRuleError(ValueError):
    """Two rules were registered under one id or one slug."""


@dataclass(frozen=True, kw_only=True)
class CheckContext:
    """What checks may consult beyond the artifact: paths and configured vocabularies."""

    resolver: Resolver
    unhealthy_drift_states: frozenset[str] = frozenset(DEFAULT_UNHEALTHY_DRIFT_STATES)
    _json_cache: dict[Path, Any] = field(default_factory=dict, compare=False, repr=False)

    def resolve(self, ref: str, root: Path) -> Resolution:
        """Resolve a reference written in an artifact rooted at ``root``."""
        return self.resolver.resolve(ref, root)

    def remember(self, artifact: Artifact) -> None:
        """Let cross-reference checks use a manifest discovery already parsed, not read it again."""
        if artifact.kind == "manifest" and artifact.error is None:
            self._json_cache[Path(os.path.realpath(artifact.path))] = artifact.data

    def read_json(self, path: Path) -> Any:
        """Read a JSON file inside the trees once; None when unreadable."""
        key = Path(os.path.realpath(path))
        if key not in self._json_cache:
            try:
                self._json_cache[key] = json.loads(key.read_text(encoding="utf-8"))
            except (OSError, ValueError, RecursionError):
                self._json_cache[key] = None
        return self._json_cache[key]


CheckFn = Callable[[Artifact, CheckContext], Iterable[Finding]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A declarative conformance rule: metadata plus a pure check function."""

    id: str
    slug: str
    title: str
    source: str
    """Where the rule comes from: a section of the contract or of READING.md."""
    statement: str
    """The sentence of the contract (as READING.md reads it) that the rule enforces."""
    severity: Severity
    applies_to: tuple[ArtifactKind, ...]
    check: CheckFn = field(repr=False)
    opt_in: str | None = None
    """The option that enables the rule; None means it always runs."""

    @property
    def name(self) -> str:
        """``TM003-transition-adjacency``: the rule's part of a test id."""
        return f"{self.id}-{self.slug}"

    @property
    def anchor(self) -> str:
        """The rule's anchor in ``conformance/rules.md``."""
        return self.id.lower()

    def run(self, artifact: Artifact, context: CheckContext) -> list[Finding]:
        """Return every finding of this rule on ``artifact`` (deduplicated by pointer)."""
        findings: list[Finding] = []
        seen: set[tuple[str, str]] = set()
        for finding in self.check(artifact, context):
            key = (finding.pointer, finding.message)
            if key not in seen:
                seen.add(key)
                findings.append(finding)
        return findings


class Registry:
    """Rules by id; refuses a second rule with an id or slug already taken."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}

    def add(self, rule: Rule) -> Rule:
        """Register ``rule``; raise DuplicateRuleError on a reused id or slug."""
        if not RULE_ID.fullmatch(rule.id):
            raise ValueError(f"rule id {rule.id!r} must look like TM001 or TN001")
        if not SLUG.fullmatch(rule.slug):
            raise ValueError(f"rule slug {rule.slug!r} must be lowercase words joined by '-'")
        for other in self._rules.values():
            if rule.id == other.id or rule.slug == other.slug:
                raise DuplicateRuleError(f"rule {rule.name} reuses the id or slug of {other.name}")
        self._rules[rule.id] = rule
        return rule

    def __iter__(self) -> Iterator[Rule]:
        return iter(sorted(self._rules.values(), key=lambda r: r.id))

    def __len__(self) -> int:
        return len(self._rules)

    def __getitem__(self, rule_id: str) -> Rule:
        return self._rules[rule_id]

    def __contains__(self, rule_id: object) -> bool:
        return rule_id in self._rules

    def for_kind(self, kind: ArtifactKind, *, opt_ins: Iterable[str] = ()) -> list[Rule]:
        """Rules that apply to ``kind``, the opt-in ones only when enabled."""
        enabled = set(opt_ins)
        return [r for r in self if kind in r.applies_to and (r.opt_in is None or r.opt_in in enabled)]


REGISTRY = Registry()


def rule(
    *,
    id: str,
    slug: str,
    title: str,
    source: str,
    statement: str,
    applies_to: Sequence[ArtifactKind],
    severity: Severity = Severity.REQUIRED,
    opt_in: str | None = None,
    registry: Registry = REGISTRY,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated check function as a rule."""

    def register(check: CheckFn) -> CheckFn:
        registry.add(
            Rule(
                id=id,
                slug=slug,
                title=title,
                source=source,
                statement=" ".join(statement.split()),
                severity=severity,
                applies_to=tuple(applies_to),
                check=check,
                opt_in=opt_in,
            )
        )
        return check

    return register


@dataclass(frozen=True)
class SchemaRoutes:
    """Assigns each JSON Schema issue of an artifact kind to exactly one rule.

    ``routes`` are ``(keyword, pointer pattern, rule id)``, first match wins; ``*`` as the
    keyword matches any; issues nothing matches go to ``default``.
    """

    routes: tuple[tuple[str, str, str], ...]
    default: str

    def route(self, issue: SchemaIssue) -> str:
        """The rule id that owns ``issue``."""
        for keyword, pattern, rule_id in self.routes:
            if keyword in ("*", issue.keyword) and glob_match(pattern, issue.pointer):
                return rule_id
        return self.default

    def findings(self, artifact: Artifact, rule_id: str) -> Iterator[Finding]:
        """Findings for the schema issues routed to ``rule_id``."""
        for issue in artifact.schema_issues:
            if self.route(issue) == rule_id:
                yield Finding(pointer=issue.pointer, message=issue.message, expected=issue.expected, found=issue.found)

    def check(self, rule_id: str) -> CheckFn:
        """A check function reporting only the schema issues routed to ``rule_id``."""

        def check(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
            return self.findings(artifact, rule_id)

        check.__doc__ = "Validate against the contract's JSON Schema; report the errors this rule owns."
        return check


def glob_match(pattern: str, where: str) -> bool:
    """Match a JSON Pointer against ``/a/*/b`` (one segment) and ``/a/**`` (any depth)."""
    if pattern.endswith("/**"):
        head = pattern[:-3]
        return glob_match(head, where) or any(glob_match(head, where[:i]) for i in range(len(where)) if where[i] == "/")
    parts, actual = pattern.split("/"), where.split("/")
    return len(parts) == len(actual) and all(p in ("*", a) for p, a in zip(parts, actual, strict=True))
