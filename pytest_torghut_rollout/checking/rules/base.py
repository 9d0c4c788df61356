"""The rule type, its registry and the context checks run in (no pytest here)."""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ...contract.layout import DEFAULT_MAX_BYTES
from ..ledger import Ledger
from ..model import DEFAULT_UNHEALTHY_DRIFT_STATES, OPT_INS, Artifact, ArtifactKind, Finding, Severity
from ..parsing import loads_json
from ..paths import Resolution, Resolver
from ..reading import UndecodableError, read_text
from ..vcs import GIT_TIMEOUT, GitIndex, TrackedFiles

#: Findings kept per rule and artifact; the rest are counted in one last finding, up to
#: MAX_COUNTED, after which the check stops (each finding may cost a file system lookup).
MAX_FINDINGS = 100
MAX_COUNTED = 10_000

RULE_ID = re.compile(r"T[MN][0-9]{3}")
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")


class DuplicateRuleError(ValueError):
    """Two rules were registered under one id or one slug."""


class NotEvaluated(Exception):
    """Raised by a check that cannot judge: what it reads is missing or malformed.

    ``owner`` is the rule that reports the defect, when one does; a rule never passes
    for want of input ("passed" means checked and conformed).
    """

    def __init__(self, reason: str, *, owner: str | None = None, unfollowed: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.owner = owner
        self.unfollowed = unfollowed


@dataclass(frozen=True, kw_only=True)
class Verdict:
    """What one rule concluded about one artifact: findings, or why it could not judge."""

    findings: tuple[Finding, ...] = ()
    not_evaluated: str | None = None
    """Why the rule could not judge (None when it did)."""
    owner: str | None = None
    """The rule that reports the defect which kept this one from judging."""
    unfollowed: str | None = None
    """A reference the rule would have followed, which resolves outside the trees."""

    @property
    def passed(self) -> bool:
        """Checked and conformed: evaluated, with no finding."""
        return self.not_evaluated is None and not self.findings


@dataclass(frozen=True, kw_only=True)
class CheckContext:
    """What checks may consult beyond the artifact: paths, configured vocabularies, the other notes."""

    resolver: Resolver
    unhealthy_drift_states: frozenset[str] = frozenset(DEFAULT_UNHEALTHY_DRIFT_STATES)
    max_bytes: int = DEFAULT_MAX_BYTES
    """A referenced file larger than this is not read (as for artifacts)."""
    allow_tracked_notes: bool = False
    """Notes may be tracked by git: the run opted out of TN022 (a corpus kept in a repository)."""
    ledger: Ledger | None = None
    """The notes ledger of earlier digests, when one was given."""
    git_timeout: float = GIT_TIMEOUT
    _git: GitIndex = field(default_factory=GitIndex, compare=False, repr=False)
    _json_cache: dict[Path, Any] = field(default_factory=dict, compare=False, repr=False)
    _manifest_refs: list[tuple[Path, str, Path, int]] = field(default_factory=list, compare=False, repr=False)
    _latest: dict[tuple[Path, Path], int] = field(default_factory=dict, compare=False, repr=False)
    _latest_lane: dict[Path, int] = field(default_factory=dict, compare=False, repr=False)
    _deferred: dict[Path, Callable[[], Iterable[Artifact]]] = field(default_factory=dict, compare=False, repr=False)
    json_cache_limit: int | None = None
    """Most referenced files kept parsed at once (None: all). Set when artifacts are read lazily,
    so that memory does not grow with the documents a run has read."""

    def resolve(self, ref: str, root: Path) -> Resolution:
        """Resolve a reference written in an artifact rooted at ``root``."""
        return self.resolver.resolve(ref, root)

    def remember(self, artifact: Artifact) -> None:
        """Learn what cross-reference checks need from every artifact, before any check runs.

        A manifest discovery already parsed is not read again, unless the cache is bounded
        (``json_cache_limit``: then the document is not kept for the run, and read again when a
        note names it); for each note naming a manifest, the series and its number (only the
        latest note naming a manifest is compared with it).
        """
        if artifact.kind == "manifest" and artifact.error is None and self.json_cache_limit is None:
            self._json_cache[Path(os.path.realpath(artifact.path))] = artifact.data
        elif artifact.kind == "lane-note" and artifact.number is not None:
            series = artifact.path.parent
            self._latest_lane[series] = max(artifact.number, self._latest_lane.get(series, 0))
        elif artifact.kind == "scheduler-note" and artifact.error is None and artifact.number is not None:
            ref = artifact.data.get("phase_manifest_path")
            if isinstance(ref, str) and ref.strip():
                self._manifest_refs.append((artifact.path.parent, ref, artifact.root, artifact.number))
                self._latest.clear()

    def defer(self, series: Path, notes: Callable[[], Iterable[Artifact]]) -> None:
        """Learn what cross-reference checks need from ``series`` when one first asks, from ``notes``.

        For artifacts read lazily: the notes are read (once per process) only when a note of the
        series is checked, so that a process reads only the series whose notes it checks.
        """
        self._deferred[series] = notes

    def learn(self, series: Path) -> None:
        """Read ``series``' deferred notes now, if not read yet in this process (see ``defer``)."""
        notes = self._deferred.pop(series, None)
        if notes is not None:
            for note in notes():
                self.remember(note)

    def latest_note_naming(self, series: Path, manifest: Path) -> int | None:
        """The highest ``n`` in ``series`` whose note names ``manifest`` (however spelled), if known."""
        self.learn(series)
        if not self._latest and self._manifest_refs:
            for directory, ref, root, number in self._manifest_refs:
                resolved = self.resolver.resolve(ref, root).path
                if resolved is not None:
                    key = (directory, resolved)
                    self._latest[key] = max(number, self._latest.get(key, 0))
        return self._latest.get((series, manifest))

    def tracked_files(self, directory: Path) -> TrackedFiles:
        """What git tracks directly in ``directory``; git is asked once per work tree."""
        return self._git.tracked_files(directory, timeout=self.git_timeout)

    def latest_lane_note(self, series: Path) -> int | None:
        """The highest ``n`` of a lane note in ``series``, if known."""
        self.learn(series)
        return self._latest_lane.get(series)

    def read_json(self, ref: str, root: Path) -> tuple[Resolution, Any]:
        """Resolve ``ref`` and read the JSON file it names, only if it lies inside the trees.

        The one way a check reads a file named by or beside an artifact: the data is None
        when the reference is unresolvable, missing, or not JSON.
        """
        resolution = self.resolver.resolve(ref, root)
        if not resolution.exists or resolution.path is None:
            return resolution, None
        key = resolution.path
        if key not in self._json_cache:
            if self.json_cache_limit is not None and len(self._json_cache) >= self.json_cache_limit:
                del self._json_cache[next(iter(self._json_cache))]  # the oldest: notes name recent manifests
            try:
                # As discovery reads an artifact: a regular file within the size, strict UTF-8.
                text, _ = read_text(key, self.max_bytes)
                self._json_cache[key] = loads_json(text)
            except (OSError, UndecodableError, ValueError, RecursionError):
                self._json_cache[key] = None
        return resolution, self._json_cache[key]


CheckFn = Callable[[Artifact, CheckContext], Iterable[Finding]]


@dataclass(frozen=True, kw_only=True)
class Rule:
    """A declarative conformance rule: metadata plus a pure check function."""

    id: str
    slug: str
    title: str
    source: str
    """Where the rule comes from: a section of the contract or of ``conformance/interpretation.md``."""
    statement: str
    """The sentence of the contract (as ``conformance/interpretation.md`` reads it) that the rule enforces."""
    severity: Severity
    applies_to: tuple[ArtifactKind, ...]
    check: CheckFn = field(repr=False)
    opt_in: str | None = None
    """The option that enables the rule; None means it always runs."""
    needs: tuple[str, ...] = ()
    """JSON Pointer patterns (``/phases/*/status``) of what the rule reads. A structural
    error at one of them that another rule owns leaves this rule not evaluated."""
    owns: tuple[str, ...] = ()
    """The structural (JSON Schema) errors this rule reports, as claims: a JSON Pointer pattern
    (``/phases/*/status``, ``/execution_context/**``; any keyword) or ``keyword|keyword:pattern``
    (``format:/**``). Every error the schemas can raise has exactly one owner (``ownership``)."""
    defined_at: tuple[str, int] = ("", 0)
    """Where the rule is declared: module name and line."""

    @property
    def name(self) -> str:
        """``TM003-transition-adjacency``: the rule's part of a test id."""
        return f"{self.id}-{self.slug}"

    @property
    def location(self) -> str:
        """``pytest_torghut_rollout.checking.rules.manifest:37``: where the rule is declared."""
        return f"{self.defined_at[0]}:{self.defined_at[1]}"

    def owns_issue(self, keyword: str, where: str) -> bool:
        """Whether one of this rule's claims covers a structural error ``keyword`` at ``where``."""
        return any(claim_matches(claim, keyword, where) for claim in self.owns)

    @property
    def anchor(self) -> str:
        """The rule's anchor in ``conformance/rules.md``."""
        return self.id.lower()

    def run(self, artifact: Artifact, context: CheckContext) -> list[Finding]:
        """Return every finding of this rule on ``artifact`` (empty also when not evaluated)."""
        return list(self.evaluate(artifact, context).findings)

    def evaluate(self, artifact: Artifact, context: CheckContext) -> Verdict:
        """Judge ``artifact``: its findings (deduplicated by pointer), or why it cannot be judged."""
        if artifact.error is not None:
            owner = UNREADABLE_OWNER.get(artifact.kind)
            if owner == self.id:
                return Verdict(findings=(Finding(pointer="", message=f"cannot check: {artifact.error}"),))
            return Verdict(not_evaluated=f"the artifact cannot be read or parsed ({owner} reports it)", owner=owner)
        if artifact.withheld is not None:
            return Verdict(not_evaluated=artifact.withheld)
        blocked = self._blocked_by(artifact)
        if blocked is not None:
            return blocked
        findings: list[Finding] = []
        seen: set[tuple[str, str]] = set()
        more = 0
        try:
            for finding in self.check(artifact, context):
                key = (finding.pointer, finding.message)
                if key not in seen:
                    seen.add(key)
                    if len(findings) < MAX_FINDINGS:
                        findings.append(finding)
                    elif more < MAX_COUNTED:
                        more += 1
                    else:
                        break
        except NotEvaluated as exc:
            return Verdict(not_evaluated=exc.reason, owner=exc.owner, unfollowed=exc.unfollowed)
        return Verdict(findings=(*findings, *_more_findings(more)))

    def _blocked_by(self, artifact: Artifact) -> Verdict | None:
        if not self.needs or not artifact.schema_issues:
            return None
        owners = schema_owners(artifact)
        for issue, owner in zip(artifact.schema_issues, owners, strict=True):
            if owner != self.id and any(glob_match(need, issue.pointer) for need in self.needs):
                # The structural errors this rule owns need no other input: they still count.
                own = tuple(schema_findings(artifact, self.id))
                if own:
                    return Verdict(findings=(*own[:MAX_FINDINGS], *_more_findings(len(own) - MAX_FINDINGS)))
                where = issue.pointer or "the document"
                return Verdict(not_evaluated=f"{where}: {issue.message} ({owner} reports it)", owner=owner)
        return None


def _more_findings(count: int) -> tuple[Finding, ...]:
    if count <= 0:
        return ()
    noun = "finding" if count == 1 else "findings"
    at_least = "at least " if count >= MAX_COUNTED else ""
    return (Finding(pointer="", message=f"… and {at_least}{count} more {noun} of this rule, not listed"),)


#: Which rule fails, with the reason, for an artifact that cannot be read or parsed; every
#: other rule of the artifact is not evaluated (one defect, one failure).
UNREADABLE_OWNER: dict[str, str] = {
    "manifest": "TM001",
    "scheduler-note": "TN001",
    "lane-note": "TN001",
    "unrecognised-note": "TN001",
}


def schema_findings(artifact: Artifact, rule_id: str) -> Iterator[Finding]:
    """Findings for the structural errors of ``artifact`` that ``rule_id`` owns."""
    for issue, owner in zip(artifact.schema_issues, schema_owners(artifact), strict=True):
        if owner == rule_id:
            yield Finding(pointer=issue.pointer, message=issue.message, expected=issue.expected, found=issue.found)


def owned_schema_errors(rule_id: str) -> CheckFn:
    """A check function reporting only the structural errors ``rule_id`` owns."""

    def check(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
        return schema_findings(artifact, rule_id)

    check.__doc__ = "Validate against the contract's JSON Schema; report the errors this rule owns."
    return check


def schema_owners(artifact: Artifact) -> tuple[str, ...]:
    """The owning rule id of each of ``artifact.schema_issues``, found once per artifact."""
    cached = artifact.memo.get("schema_owners")
    if cached is None:
        cached = tuple(REGISTRY.owner(artifact.kind, i.keyword, i.pointer) for i in artifact.schema_issues)
        artifact.memo["schema_owners"] = cached
    owners: tuple[str, ...] = cached
    return owners


def claim_matches(claim: str, keyword: str, where: str) -> bool:
    """Whether ``claim`` (``pattern`` or ``kw|kw:pattern``) covers ``keyword`` at ``where``."""
    keywords, pattern = ("*", claim) if claim == "" or claim.startswith("/") else claim.split(":", 1)
    return (keywords == "*" or keyword in keywords.split("|")) and glob_match(pattern, where)


class Registry:
    """Rules by id; refuses a second rule with an id or slug already taken."""

    def __init__(self) -> None:
        self._rules: dict[str, Rule] = {}
        self._by_kind: dict[tuple[ArtifactKind, frozenset[str]], tuple[Rule, ...]] = {}
        """``for_kind``'s answers (asked once per artifact), forgotten when a rule is added."""

    def add(self, rule: Rule) -> Rule:
        """Register ``rule``; raise DuplicateRuleError on a reused id or slug."""
        self._by_kind.clear()
        if not RULE_ID.fullmatch(rule.id):
            raise ValueError(f"rule id {rule.id!r} must look like TM001 or TN001")
        if not SLUG.fullmatch(rule.slug):
            raise ValueError(f"rule slug {rule.slug!r} must be lowercase words joined by '-'")
        if rule.opt_in is not None and rule.opt_in not in OPT_INS:
            raise ValueError(f"rule {rule.name} is enabled by an unknown switch {rule.opt_in!r}")
        if rule.owns and rule.opt_in is not None:
            raise ValueError(
                f"rule {rule.name} is opt-in, so it cannot own structural errors (they would go unreported)"
            )
        for claim in rule.owns:
            if not (claim == "" or claim.startswith("/") or re.fullmatch(r"[A-Za-z]+(\|[A-Za-z]+)*:(/.*)?", claim)):
                raise ValueError(
                    f"rule {rule.name} claims {claim!r}: expected '/pointer/pattern' or 'keyword:/pattern'"
                )
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

    def owners(self, kind: str, keyword: str, where: str) -> list[str]:
        """Every rule of ``kind`` whose claims cover a structural error ``keyword`` at ``where``."""
        return [r.id for r in self if kind in r.applies_to and r.owns_issue(keyword, where)]

    def owner(self, kind: str, keyword: str, where: str) -> str:
        """The one rule that reports a structural error ``keyword`` at ``where``.

        ``ownership.check_ownership`` proves over the generated schemas that every error they
        can raise has exactly one owner; an error outside them (never expected) goes to the
        owner of the document itself, so that it still fails the artifact.
        """
        owners = self.owners(kind, keyword, where)
        if len(owners) == 1:
            return owners[0]
        fallback = self.owners(kind, "type", "")
        return (owners or fallback or [UNREADABLE_OWNER.get(kind, "")])[0]

    def for_kind(self, kind: ArtifactKind, *, opt_ins: Iterable[str] = ()) -> list[Rule]:
        """Rules that apply to ``kind``, the opt-in ones only when enabled."""
        enabled = frozenset(opt_ins)
        key = (kind, enabled)
        if key not in self._by_kind:
            self._by_kind[key] = tuple(
                r for r in self if kind in r.applies_to and (r.opt_in is None or r.opt_in in enabled)
            )
        return list(self._by_kind[key])


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
    needs: Sequence[str] = (),
    owns: Sequence[str] = (),
    registry: Registry = REGISTRY,
) -> Callable[[CheckFn], CheckFn]:
    """Register the decorated check function as a rule (declared where ``rule(...)`` is called)."""
    caller = sys._getframe(1)
    defined_at = (str(caller.f_globals.get("__name__", "")), caller.f_lineno)

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
                needs=tuple(needs),
                owns=tuple(owns),
                defined_at=defined_at,
            )
        )
        return check

    return register


def glob_match(pattern: str, where: str) -> bool:
    """Match a JSON Pointer against ``/a/*/b`` (one segment) and ``/a/**`` (any depth)."""
    if pattern.endswith("/**"):
        head = pattern[:-3]
        return glob_match(head, where) or any(glob_match(head, where[:i]) for i in range(len(where)) if where[i] == "/")
    parts, actual = pattern.split("/"), where.split("/")
    return len(parts) == len(actual) and all(p in ("*", a) for p, a in zip(parts, actual, strict=True))
