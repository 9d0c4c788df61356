"""Governance evidence: report properties, terminal summary, JSON summary,
pytest-html extras and Allure attachments."""

from __future__ import annotations

import html
import json
import os
import platform
import warnings
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ._keys import FINDINGS_KEY, OUTCOME_KEY, SETTINGS_KEY, VERDICT_KEY, WAIVER_KEY
from .contract import CONTRACT
from .granularity import GRANULARITY_PROPERTY, ArtifactItem
from .items import Discovery, DiscoveryItem, RuleItem, TorghutWaiverWarning, WaiversItem
from .ledger import Kept
from .model import NOTE_KINDS, Artifact, Finding, printable
from .rules import Rule, Verdict
from .rules.notes import APPEND_ONLY
from .selection import Selection
from .settings import RULE_COMMAND, Settings
from .waivers import Waiver

PROPERTY_PREFIX = "torghut_"
UNFOLLOWED_HINT = (
    "map production's absolute prefix with --torghut-path-map=OLD=NEW, "
    "or give the tree they lie in with --torghut-refs-root=DIR"
)
TRACKED_NOTES_OPT_OUT = {
    "option": "--torghut-allow-tracked-notes",
    "ini": "torghut_allow_tracked_notes",
    "rule": "TN022",
    "effect": "notes may be tracked by git: TN022 notes-untracked was not evaluated",
    "use": "a corpus of example artifacts kept in a repository on purpose",
}


def item_properties(item: RuleItem, settings: Settings) -> list[tuple[str, str]]:
    """The JUnit XML properties of a rule item: what was checked, against what, with what result."""
    findings: list[Finding] = item.stash.get(FINDINGS_KEY, [])
    return check_properties(
        item.rule,
        item.artifact,
        settings,
        outcome=item.stash.get(OUTCOME_KEY, "not-run"),
        findings=findings,
        verdict=item.stash.get(VERDICT_KEY, None),
        waiver=item.stash.get(WAIVER_KEY, None),
    )


def check_properties(
    rule: Rule,
    artifact: Artifact,
    settings: Settings,
    *,
    outcome: str,
    findings: Sequence[Finding],
    verdict: Verdict | None,
    waiver: Waiver | None,
) -> list[tuple[str, str]]:
    """The properties of one check (a rule on an artifact), starting with ``torghut_rule``."""
    unfollowed = verdict.unfollowed if verdict is not None else None
    waived = (
        [
            ("torghut_waiver", str(waiver.index)),
            ("torghut_waiver_owner", waiver.owner),
            ("torghut_waiver_expires", waiver.expires.isoformat()),
            ("torghut_waiver_reason", waiver.reason),
        ]
        if waiver is not None
        else []
    )
    return [
        ("torghut_rule", rule.id),
        ("torghut_slug", rule.slug),
        ("torghut_severity", rule.severity.value),
        ("torghut_source", rule.source),
        ("torghut_artifact", artifact.display),
        ("torghut_kind", artifact.kind),
        ("torghut_sha256", artifact.sha256 or ""),
        ("torghut_outcome", outcome),
        ("torghut_doc", settings.doc_link(rule.id, rule.anchor)),
        ("torghut_findings", json.dumps([f.as_dict() for f in findings], sort_keys=True)),
        ("torghut_not_evaluated", printable(verdict.not_evaluated or "" if verdict is not None else "")),
        ("torghut_unfollowed", printable(unfollowed or "")),
        *waived,
    ]


def artifact_item_properties(item: ArtifactItem, settings: Settings) -> list[tuple[str, str]]:
    """The properties of an artifact item: which rules it checked, then one group per rule's check.

    Each group is what a rule item would carry, so JUnit XML lists every check and the
    controller's EvidenceRecorder records one check per rule (see ``check_groups``).
    """
    artifact = item.artifact
    header = [
        (GRANULARITY_PROPERTY, "artifact"),
        ("torghut_rules", " ".join(rule.id for rule in item.checked_rules)),
        ("torghut_deselected_rules", " ".join(rule.id for rule in item.deselected_rules)),
        # Rules counted at collection for a note not read yet that do not apply to its kind.
        ("torghut_inapplicable_rules", " ".join(rule.id for rule in item.inapplicable)),
    ]
    groups: list[tuple[str, str]] = []
    for rule in item.checked_rules:
        result = item.results.get(rule.id)
        groups.extend(
            check_properties(
                rule,
                artifact,
                settings,
                outcome=result.outcome if result is not None else "not-run",
                findings=result.findings if result is not None else [],
                verdict=result.verdict if result is not None else None,
                waiver=result.waiver if result is not None else None,
            )
        )
    return header + groups


def check_groups(properties: Sequence[tuple[str, object]]) -> list[dict[str, object]]:
    """Split an artifact item's properties into one dict per check (each starts at ``torghut_rule``)."""
    groups: list[dict[str, object]] = []
    for key, value in properties:
        if key == "torghut_rule":
            groups.append({})
        if groups:
            groups[-1][key] = value
    return groups


def _carries_outcome(report: pytest.TestReport) -> bool:
    """The one report per check that says how it ended: its call, or a setup that failed."""
    return report.when == "call" or (report.when == "setup" and report.failed)


def enrich_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """Attach the evidence of a torghut item to its report (runs where the item ran)."""
    if not _carries_outcome(report):
        return
    settings = item.config.stash[SETTINGS_KEY]
    if isinstance(item, DiscoveryItem):
        properties = [
            ("torghut_discovery", json.dumps(item.discovery.by_kind, sort_keys=True)),
            ("torghut_discovery_problems", json.dumps([printable(p) for p in item.discovery.problems])),
        ]
        if item.discovery.lost:
            properties.append(("torghut_lost_series", json.dumps(list(item.discovery.lost))))
    elif isinstance(item, WaiversItem):
        expired = [w.index for w in item.waivers.expired]
        properties = [("torghut_waivers", json.dumps({"file": str(item.waivers.path), "expired": expired}))]
    elif isinstance(item, RuleItem):
        properties = item_properties(item, settings)
    elif isinstance(item, ArtifactItem):
        properties = artifact_item_properties(item, settings)
    else:
        return
    if report.skipped and isinstance(item, RuleItem | ArtifactItem) and isinstance(report.longrepr, tuple):
        # Say which check was not evaluated, not which line of this plugin skipped it (an
        # artifact has no line; the terminal reporter prints a None line number as nothing).
        report.longrepr = (item.nodeid, None, report.longrepr[2])  # type: ignore[assignment]
    # Each report copies item.user_properties when it is made, and JUnit XML writes the
    # properties of the teardown report: record them on the item as well as on this report.
    item.user_properties.extend(properties)
    report.user_properties.extend(properties)
    # The findings travel as properties and extras, not as a report section: a section
    # would repeat the failure text in the terminal, JSON-encoded, for every failure.
    if not item.config.pluginmanager.hasplugin("html"):
        return
    if isinstance(item, RuleItem):
        _html_extras(report, item, dict(properties), settings)
    elif isinstance(item, ArtifactItem):
        _artifact_html_extras(report, item, properties, settings)


def rule_html(rule: Rule) -> str:
    """The rule itself as HTML (title, source and statement): no documentation site is needed."""
    return (
        f"<h4>{html.escape(f'{rule.id} {rule.slug}: {rule.title}')}</h4>"
        f"<p>{html.escape(rule.source)}: {html.escape(rule.statement)}</p>"
        f"<p>Severity: {html.escape(rule.severity.value)}. "
        f"Printed by <code>{html.escape(RULE_COMMAND)} {html.escape(rule.id)}</code>.</p>"
    )


def _html_extras(report: pytest.TestReport, item: RuleItem, props: dict[str, str], settings: Settings) -> None:
    import pytest_html

    extras = list(getattr(report, "extras", []))
    extras.append(_rule_extra(item.rule, settings))
    findings = item.stash.get(FINDINGS_KEY, [])
    extras.append(
        pytest_html.extras.json(
            {key.removeprefix(PROPERTY_PREFIX): value for key, value in props.items() if key != "torghut_findings"}
            | {"findings": [f.as_dict() for f in findings]},
            name="Evidence",
        )
    )
    report.extras = extras  # type: ignore[attr-defined]


def _rule_extra(rule: Rule, settings: Settings) -> Any:
    import pytest_html

    url = settings.doc_url(rule.anchor)
    # A link needs somewhere to open: without a documentation site, carry the rule's text.
    if url is not None:
        return pytest_html.extras.url(url, name=f"{rule.id} rule")
    return pytest_html.extras.extra(rule_html(rule), pytest_html.extras.FORMAT_HTML, name=f"{rule.id} rule")


def _artifact_html_extras(
    report: pytest.TestReport, item: ArtifactItem, properties: list[tuple[str, str]], settings: Settings
) -> None:
    """Each checked rule (its link or text), and one Evidence JSON listing every check with its outcome."""
    import pytest_html

    extras = list(getattr(report, "extras", []))
    extras.extend(_rule_extra(rule, settings) for rule in item.checked_rules)
    checks = []
    for group in check_groups(properties):
        check = {key.removeprefix(PROPERTY_PREFIX): value for key, value in group.items() if key != "torghut_findings"}
        check["findings"] = json.loads(str(group["torghut_findings"]))
        checks.append(check)
    artifact = item.artifact
    evidence = {
        "artifact": artifact.display,
        "kind": artifact.kind,
        "sha256": artifact.sha256 or "",
        "deselected_rules": [rule.id for rule in item.deselected_rules],
        "checks": checks,
    }
    extras.append(pytest_html.extras.json(evidence, name="Evidence"))
    report.extras = extras  # type: ignore[attr-defined]


def _json_value(text: str) -> Any:
    """The value a finding's display text shows, when it is whole JSON; else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _finding_values(finding: dict[str, str]) -> dict[str, Any]:
    """A finding for the evidence file: expected and found as JSON values where the text is one
    (``"fail"`` becomes the string fail, not a string holding quotes), the display text beside."""
    return finding | {
        "expected": _json_value(finding["expected"]),
        "found": _json_value(finding["found"]),
        "expected_text": finding["expected"],
        "found_text": finding["found"],
    }


@dataclass
class EvidenceRecorder:
    """Collects torghut results from reports (also from xdist workers) on the controller."""

    settings: Settings
    checks: list[dict[str, Any]] = field(default_factory=list)
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
        if not _carries_outcome(report):
            return
        props = dict(report.user_properties)
        if "torghut_discovery" in props:
            self.discovery = json.loads(str(props["torghut_discovery"]))
            self.discovery_failed = report.failed
            self.discovery_reported = True
            self.discovery_problems = json.loads(str(props.get("torghut_discovery_problems", "[]")))
            self.lost_series = json.loads(str(props.get("torghut_lost_series", "[]")))
            return
        if "torghut_waivers" in props:
            self.waivers_failed = report.failed
            self.waivers_reported = True
            return
        if props.get(GRANULARITY_PROPERTY) == "artifact":
            self.selection.inapplicable += len(str(props.get("torghut_inapplicable_rules", "")).split())
            # One check per rule the artifact item ran, each with its own outcome.
            for group in check_groups(report.user_properties):
                failed = report.failed and group.get("torghut_outcome") == "not-run"
                self._record_check(report.nodeid, group, error=failed)
            return
        if "torghut_rule" not in props:
            return
        outcome = str(props["torghut_outcome"])
        self._record_check(report.nodeid, props, error=report.failed and outcome != "violation")

    def _record_check(self, nodeid: str, props: dict[str, Any], *, error: bool) -> None:
        """Record one check from its properties; ``error``: it could not run to a verdict."""
        outcome = "error" if error else str(props["torghut_outcome"])
        if props.get("torghut_unfollowed"):
            self.unfollowed.add(str(props["torghut_unfollowed"]))
        self.checks.append(
            {
                "nodeid": nodeid,
                "rule": props["torghut_rule"],
                "slug": props["torghut_slug"],
                "severity": props["torghut_severity"],
                "artifact": props["torghut_artifact"],
                "kind": props["torghut_kind"],
                "sha256": props.get("torghut_sha256") or None,
                "outcome": outcome,
                "findings": [_finding_values(f) for f in json.loads(str(props["torghut_findings"]))],
                "not_evaluated": str(props.get("torghut_not_evaluated") or "") or None,
                "waiver": _waiver_of(props),
            }
        )

    def open_risks(self) -> list[dict[str, Any]]:
        """Checks that failed under a live waiver: accepted for now, not conforming."""
        waived = sorted((c for c in self.checks if c["outcome"] == "waived"), key=lambda c: c["nodeid"])
        return [
            {"nodeid": c["nodeid"], "rule": c["rule"], "artifact": c["artifact"], "findings": len(c["findings"])}
            | c["waiver"]
            for c in waived
        ]

    def unmatched(self) -> list[tuple[Waiver, int]]:
        """Live waivers that waived no failure, each with how many checks it names ran."""
        book = self.settings.waivers
        if book is None:
            return []
        used = {c["waiver"]["waiver"] for c in self.checks if c["waiver"] is not None}
        return [
            (w, sum(1 for c in self.checks if w.matches(c["rule"], c["artifact"])))
            for w in book.live
            if w.index not in used
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
            c["artifact"]
            for c in self.checks
            if c["rule"] == APPEND_ONLY and c["outcome"] in ("conforms", "not-evaluated")
        ]

    def note_digests(self) -> dict[str, tuple[str, str | None]]:
        """Each note the checks read: display path to kind and SHA-256."""
        return {c["artifact"]: (c["kind"], c["sha256"]) for c in self.checks if c["kind"] in NOTE_KINDS}

    def totals(self) -> Counter[str]:
        """How many checks ended in each outcome."""
        return Counter(check["outcome"] for check in self.checks)

    def summary(self, exitstatus: int) -> dict[str, Any]:
        """The machine-readable evidence summary of the run."""
        from . import __version__

        by_artifact: dict[str, dict[str, Any]] = {}
        for check in sorted(self.checks, key=lambda c: (c["artifact"], c["rule"])):
            entry = by_artifact.setdefault(
                check["artifact"],
                {"artifact": check["artifact"], "kind": check["kind"], "sha256": check["sha256"], "checks": []},
            )
            keys = ("rule", "slug", "severity", "outcome", "findings", "not_evaluated", "waiver")
            entry["checks"].append({k: check[k] for k in keys})
        totals = self.totals()
        finished = datetime.now(UTC).isoformat(timespec="seconds")
        book = self.settings.waivers
        return {
            "tool": "pytest-torghut-rollout",
            "version": __version__,
            "contract": CONTRACT,
            "generated_at": finished,
            "environment": {
                "plugin": f"pytest-torghut-rollout {__version__}",
                "contract": CONTRACT,
                "python": platform.python_version(),
                "pytest": pytest.__version__,
                "command": list(self.command),
                "host": platform.node(),
                "started_at": self.started.isoformat(timespec="seconds"),
                "finished_at": finished,
                "artifacts_paths": [str(p.resolve()) for p in self.settings.artifacts],
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
            },
            "opt_outs": [TRACKED_NOTES_OPT_OUT] if self.settings.allow_tracked_notes else [],
            "discovery": {
                "found": self.discovery,
                "failed": self.discovery_failed,
                "run": self.discovery_reported,
                "problems": self.discovery_problems,
                "lost_series": self.lost_series,
            },
            "selection": self.selection.report(reported=self.reported),
            "notes_ledger": self._ledger_summary(),
            "totals": {
                "artifacts": len(by_artifact),
                "checks": len(self.checks),
                "conforms": totals["conforms"],
                "violations": totals["violation"],
                "advisories": totals["advisory"],
                "not_evaluated": totals["not-evaluated"],
                "waived": totals["waived"],
                "errors": totals["error"],
            },
            "waivers": {
                "file": str(book.path) if book else None,
                "date": book.today.isoformat() if book else None,
                "count": len(book.waivers) if book else 0,
                "open_risks": self.open_risks(),
                "expired": [w.as_dict() for w in book.expired] if book else [],
                "unmatched": [w.as_dict() | {"checks_ran": ran} for w, ran in self.unmatched()],
            },
            "references_not_followed": {
                "count": len(self.unfollowed),
                "references": sorted(self.unfollowed),
                "hint": UNFOLLOWED_HINT if self.unfollowed else "",
            },
            "pytest_exit_status": exitstatus,
            "result": self.result(exitstatus),
            "artifacts": list(by_artifact.values()),
        }

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
        """Write the summary atomically next to its final place."""
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.write_text(json.dumps(self.summary(exitstatus), indent=2, sort_keys=True) + "\n", encoding="utf-8")
        os.replace(tmp, path)

    def summary_lines(self) -> Iterator[str]:
        """Sentences for the terminal, one per outcome, ending in the next step."""
        totals = self.totals()
        artifacts = len({c["artifact"] for c in self.checks})
        yield f"{_n(len(self.checks), 'check')} of {_n(artifacts, 'artifact')} against the rollout contract."
        if totals["conforms"]:
            yield f"{_n(totals['conforms'], 'check')} conformed."
        yield from self._waiver_lines()
        if totals["violation"]:
            bad = len({c["artifact"] for c in self.checks if c["outcome"] == "violation"})
            yield (
                f"{_n(totals['violation'], 'check')} found violations in {_n(bad, 'artifact')}; "
                "fix the artifacts or their producer, see the failures above."
            )
        if totals["advisory"]:
            yield (
                f"{_n(totals['advisory'], 'advisory check')} warned; "
                "rerun with --torghut-strict to make advisories fail."
            )
        if totals["not-evaluated"]:
            yield (
                f"{_n(totals['not-evaluated'], 'check')} not evaluated: what they read is missing or malformed "
                "(another check reports it), was not followed, or is not there to compare with (no git work "
                "tree, no notes ledger); rerun with -rs to see why."
            )
        if self.settings.allow_tracked_notes:
            yield (
                "Tracked notes were allowed: --torghut-allow-tracked-notes opted this run out of TN022 "
                "notes-untracked, as for a corpus of example artifacts kept in a repository on purpose."
            )
        if self.unfollowed:
            one = len(self.unfollowed) == 1
            what = "reference resolves" if one else "references resolve"
            was = "was" if one else "were"
            yield f"{len(self.unfollowed)} {what} outside the artifact trees and {was} not followed; {UNFOLLOWED_HINT}."
        if totals["error"]:
            yield f"{_n(totals['error'], 'check')} could not run; see the errors above."
        if self.discovery_failed and self.discovery_reported:
            yield "Discovery failed, so this run cannot pass; see torghut::discovery above."
        elif self.discovery_failed:
            yield (
                "Discovery found fewer artifacts than required; torghut::discovery was deselected, so it did not fail."
            )
        if self.partial:
            yield (
                f"This was a partial run: {self.selection.selected} of {_n(self.selection.checks, 'check')} "
                "selected; it is not evidence of conformance."
            )

        if self.ledger is not None:
            yield self._ledger_line(self.ledger)

    def _waiver_lines(self) -> Iterator[str]:
        """Open risks, expired and unmatched waivers: counted apart from passes, each with its owner."""
        risks = self.open_risks()
        if risks:
            yield f"{_n(len(risks), 'check')} failed under a waiver; open risks, not passes, until fixed:"
            for risk in risks:
                # An artifact item's test id names no rule: say which of its checks the waiver covers.
                named = risk["nodeid"].rpartition("::")[2].startswith(risk["rule"])
                check = risk["nodeid"] if named else f"{risk['nodeid']} {risk['rule']}"
                yield (
                    f"  {check} ({_n(risk['findings'], 'finding')}) owned by {risk['owner']}, "
                    f"waiver {risk['waiver']} expires {risk['expires']}: {risk['reason']}"
                )
        book = self.settings.waivers
        expired = book.expired if book else ()
        if expired:
            owners = "; ".join(f"waiver {w.index} owned by {w.owner} (expired {w.expires})" for w in expired)
            them = "it" if len(expired) == 1 else "them"
            where = ", see torghut::waivers above" if self.waivers_failed else ""
            yield f"{_n(len(expired), 'waiver')} expired and waived nothing: {owners}; renew or remove {them}{where}."
        unmatched = self.unmatched()
        if unmatched:
            owners = "; ".join(f"waiver {w.index} owned by {w.owner}" for w, _ in unmatched)
            error = " Warning filters make this an error, so the run fails." if self.unmatched_is_error else ""
            yield (
                f"{_n(len(unmatched), 'waiver')} waived no failure in this run: {owners}; "
                f"remove stale waivers or correct their rule or artifact glob.{error}"
            )

    def _ledger_line(self, kept: Kept) -> str:
        path = self.settings.notes_ledger
        if kept.status == "created":
            return f"Notes ledger {path} created with {_n(kept.added, 'note')}."
        if kept.status == "extended":
            return f"Notes ledger {path} extended with {_n(kept.added, 'new note')} ({kept.total} recorded)."
        if kept.status == "unchanged":
            return f"Notes ledger {path} unchanged: no new notes ({kept.total} recorded)."
        if kept.reason.startswith("it cannot be trusted"):
            return f"Notes ledger {path} not extended: {kept.reason}; restore it from a copy you trust."
        return f"Notes ledger {path} not {'extended' if kept.existed else 'created'}: {kept.reason}."


def _waiver_of(props: dict[str, Any]) -> dict[str, Any] | None:
    """The waiver a check's properties name, if it matched one."""
    if not props.get("torghut_waiver"):
        return None
    return {
        "waiver": int(props["torghut_waiver"]),
        "owner": props["torghut_waiver_owner"],
        "expires": props["torghut_waiver_expires"],
        "reason": props["torghut_waiver_reason"],
    }


def _n(count: int, noun: str) -> str:
    return (
        f"{count} {noun}" if count == 1 else f"{count} {noun}s" if not noun.endswith("y") else f"{count} {noun[:-1]}ies"
    )


_TEST_ID_CELL = '<td class="col-testId">'


class HtmlEvidence:
    """Rule and artifact columns, a title and a summary for pytest-html (only when it is active)."""

    def __init__(self, recorder: EvidenceRecorder) -> None:
        self.recorder = recorder

    def pytest_html_report_title(self, report: Any) -> None:
        """Say what the report is evidence of."""
        report.title = "torghut rollout contract conformance"

    def pytest_html_results_summary(self, prefix: list[str], summary: list[str], postfix: list[str]) -> None:
        """The checked paths and options, then the same sentences as the terminal summary."""
        settings = self.recorder.settings
        paths = ", ".join(html.escape(str(p)) for p in settings.artifacts)
        options = (
            f"strict={settings.strict}, check_refs={settings.check_refs}, min_artifacts={settings.min_artifacts}, "
            f"allow_tracked_notes={settings.allow_tracked_notes}, notes_ledger={settings.notes_ledger}"
        )
        prefix.append(f"<p>Artifacts checked: {paths} ({html.escape(options)}).</p>")
        prefix.extend(f"<p>{html.escape(line)}</p>" for line in self.recorder.summary_lines())

    def pytest_html_results_table_header(self, cells: list[str]) -> None:
        """Add Rule, Severity and Artifact columns after the test name."""
        cells[2:2] = ["<th>Rule</th>", "<th>Severity</th>", "<th>Artifact</th>"]

    def pytest_html_results_table_row(self, report: pytest.TestReport, cells: list[str]) -> None:
        """Fill the torghut columns from the report's properties (empty for other tests)."""
        # pytest-html puts the test id into the page as HTML, unescaped: a directory named
        # <img src=x onerror=...> would run in the auditor's browser.
        for n, cell in enumerate(cells):
            if cell.startswith(_TEST_ID_CELL) and cell.endswith("</td>"):
                cells[n] = _TEST_ID_CELL + html.escape(cell[len(_TEST_ID_CELL) : -len("</td>")]) + "</td>"
        props = dict(report.user_properties)
        rule = f"{props.get('torghut_rule', '')} {props.get('torghut_slug', '')}".strip()
        severity = str(props.get("torghut_severity", ""))
        if props.get(GRANULARITY_PROPERTY) == "artifact":
            # One row for every rule of an artifact: name them all, and each severity among them.
            rule = str(props.get("torghut_rules", ""))
            severities = {str(v) for k, v in report.user_properties if k == "torghut_severity"}
            severity = " ".join(sorted(severities))
        cells[2:2] = [
            f"<td>{html.escape(rule)}</td>",
            f"<td>{html.escape(severity)}</td>",
            f"<td>{html.escape(str(props.get('torghut_artifact', '')))}</td>",
        ]
