"""Governance evidence: report properties, terminal summary, JSON summary,
pytest-html extras and Allure attachments."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from ..checking.discovery import UNREAD_NOTE, Pending
from ..checking.ledger import Kept
from ..checking.model import Artifact, printable
from ..checking.rules import REGISTRY, Rule
from ..record.build import UNFOLLOWED_HINT
from ..record.facts import artifact_facts
from ..record.view import governance_html
from ._keys import (
    CONTEXT_KEY,
    FACTS_WANTED_KEY,
    SERIES_SUMMARIES_KEY,
    SETTINGS_KEY,
    SHIPPED_KEY,
)
from .evidence import FACTS_PROPERTY, EvidenceRecorder, carries_outcome
from .granularity import GRANULARITY_PROPERTY, READ_AS_PROPERTY, ArtifactItem, RuleResult, item_checks
from .items import DiscoveryItem, RuleItem, WaiversItem
from .settings import RULE_COMMAND, Settings
from .wire import PROPERTY_PREFIX, CheckOutcome, Prop, packed, unpacked


def check_properties(result: RuleResult, artifact: Artifact, settings: Settings) -> list[tuple[str, str]]:
    """The named properties of one check (a rule on an artifact), starting with ``torghut_rule``:
    what JUnit XML and pytest-html show of it."""
    rule, verdict, waiver, findings = result.rule, result.verdict, result.waiver, result.findings
    unfollowed = verdict.unfollowed if verdict is not None else None
    waived = (
        [
            (Prop.WAIVER, str(waiver.index)),
            (Prop.WAIVER_OWNER, waiver.owner),
            (Prop.WAIVER_EXPIRES, waiver.expires.isoformat()),
            (Prop.WAIVER_REASON, waiver.reason),
        ]
        if waiver is not None
        else []
    )
    return [
        (Prop.RULE, rule.id),
        (Prop.SLUG, rule.slug),
        (Prop.SEVERITY, rule.severity.value),
        (Prop.SOURCE, rule.source),
        (Prop.ARTIFACT, artifact.display),
        (Prop.KIND, artifact.kind),
        (Prop.SHA256, artifact.sha256 or ""),
        (Prop.OUTCOME, str(result.outcome)),
        (Prop.DOC, settings.doc_link(rule.id, rule.anchor)),
        (Prop.FINDINGS, json.dumps([f.as_dict() for f in findings], sort_keys=True)),
        (Prop.NOT_EVALUATED, printable(verdict.not_evaluated or "" if verdict is not None else "")),
        (Prop.UNFOLLOWED, printable(unfollowed or "")),
        *waived,
    ]


def artifact_item_header(item: ArtifactItem) -> list[tuple[str, str]]:
    """The properties that say which rules an artifact item checked, left out, and could not apply."""
    unread = isinstance(item.parent.source, Pending) and item.parent.source.kind == UNREAD_NOTE
    return [
        (GRANULARITY_PROPERTY, "artifact"),
        # A note counted as a note at collection, and what it turned out to be once read.
        *([(READ_AS_PROPERTY, item.artifact.kind)] if unread and item.checked is not None else []),
        (Prop.RULES, " ".join(rule.id for rule in item.checked_rules)),
        (Prop.DESELECTED_RULES, " ".join(rule.id for rule in item.deselected_rules)),
        # Rules counted at collection for a note not read yet that do not apply to its kind.
        (Prop.INAPPLICABLE_RULES, " ".join(rule.id for rule in item.inapplicable)),
    ]


def named_properties(item: RuleItem | ArtifactItem, settings: Settings) -> list[tuple[str, str]]:
    """The properties JUnit XML and pytest-html show of an item: an artifact item's header, then
    one group of named properties per check, each starting at ``torghut_rule`` (so that JUnit XML
    lists every check as one test per rule would)."""
    header = artifact_item_header(item) if isinstance(item, ArtifactItem) else []
    return header + [pair for result in item_checks(item) for pair in check_properties(result, item.artifact, settings)]


def compact_check(result: RuleResult) -> list[Any]:
    """One check as it travels to the recorder: ``[rule id, outcome, findings, not evaluated,
    unfollowed, waiver]``. What the rule says of itself (slug, severity) the recorder takes from
    the registry, and what the artifact is, from the report's other properties (``item_evidence``).
    """
    verdict, waiver = result.verdict, result.waiver
    return [
        result.rule.id,
        str(result.outcome),
        [f.as_dict() for f in result.findings],
        printable(verdict.not_evaluated or "") if verdict is not None else "",
        printable(verdict.unfollowed or "") if verdict is not None else "",
        None
        if waiver is None
        else {
            "waiver": waiver.index,
            "owner": waiver.owner,
            "expires": waiver.expires.isoformat(),
            "reason": waiver.reason,
        },
    ]


def item_evidence(item: RuleItem | ArtifactItem) -> list[tuple[str, Any]]:
    """What an item's report carries for the recorder: an artifact item's header, the artifact,
    and each check in its compact form."""
    artifact = item.artifact
    header = artifact_item_header(item) if isinstance(item, ArtifactItem) else []
    return [
        *header,
        (Prop.ARTIFACT, artifact.display),
        (Prop.KIND, artifact.kind),
        (Prop.SHA256, artifact.sha256 or ""),
        (Prop.CHECKS, [compact_check(result) for result in item_checks(item)]),
    ]


def enrich_report(item: pytest.Item, report: pytest.TestReport) -> None:
    """Attach the evidence of a torghut item to its report (runs where the item ran)."""
    if not carries_outcome(report):
        return
    settings = item.config.stash[SETTINGS_KEY]
    if isinstance(item, DiscoveryItem):
        properties = [
            (Prop.DISCOVERY, json.dumps(item.discovery.by_kind, sort_keys=True)),
            (Prop.DISCOVERY_PROBLEMS, json.dumps([printable(p) for p in item.discovery.problems])),
        ]
        if item.discovery.lost:
            properties.append((Prop.LOST_SERIES, json.dumps(list(item.discovery.lost))))
    elif isinstance(item, WaiversItem):
        expired = [w.index for w in item.waivers.expired]
        properties = [(Prop.WAIVERS, json.dumps({"file": str(item.waivers.path), "expired": expired}))]
    elif isinstance(item, RuleItem | ArtifactItem):
        properties = item_evidence(item)
    else:
        return
    if report.skipped and isinstance(item, RuleItem | ArtifactItem) and isinstance(report.longrepr, tuple):
        # Say which check was not evaluated, not which line of this plugin skipped it (an
        # artifact has no line; the terminal reporter prints a None line number as nothing).
        report.longrepr = (item.nodeid, None, report.longrepr[2])  # type: ignore[assignment]
    # Each report copies item.user_properties when it is made, and JUnit XML writes the
    # properties of the teardown report: when it is written, record them on the item as well as
    # on this report. Otherwise the teardown report stays light (xdist ships every report).
    if item.config.getoption("xmlpath", None):
        named = named_properties(item, settings) if isinstance(item, RuleItem | ArtifactItem) else properties
        item.user_properties.extend(named)
    report.user_properties.append(packed(properties, ship=hasattr(item.config, "workerinput")))
    if not isinstance(item, RuleItem | ArtifactItem):
        return
    _ship_facts(item, report)
    # The findings travel as properties and extras, not as a report section: a section
    # would repeat the failure text in the terminal, JSON-encoded, for every failure.
    if not item.config.pluginmanager.hasplugin("html") or not item.config.getoption("htmlpath", None):
        return  # no HTML report is written: extras would only weigh down every report (and xdist)
    if isinstance(item, RuleItem):
        _html_extras(report, item, settings)
    else:
        _artifact_html_extras(report, item, properties, settings)


def _ship_facts(item: RuleItem | ArtifactItem, report: pytest.TestReport) -> None:
    """Send what the record says about the item's artifact, with its first report in this process.

    On this report only, not the item: JUnit XML writes the item's properties, and they would
    repeat the artifact's facts. The controller keeps the first it receives (all are the same).
    An artifact item made its facts while it held the document it read (it keeps none after).
    """
    if not item.config.stash.get(FACTS_WANTED_KEY, True):
        return
    artifact = item.artifact
    shipped = item.config.stash.setdefault(SHIPPED_KEY, set())
    if artifact.display in shipped:
        return
    if isinstance(item, ArtifactItem):
        if item.facts is None:
            return  # it did not run (a failed setup): its artifact was not read
        facts = item.facts
    else:
        context = item.config.stash[CONTEXT_KEY]
        summary = item.config.stash.get(SERIES_SUMMARIES_KEY, {}).get(artifact.path)
        facts = artifact_facts(item.parent.checked_artifact(), context, summary=summary)
    shipped.add(artifact.display)
    report.user_properties.append((FACTS_PROPERTY, json.dumps(facts, sort_keys=True)))


def _code_spans(escaped: str) -> str:
    """Show the `field` spans of a statement (already HTML-escaped) as code, as Allure's Markdown does."""
    return re.sub(r"`([^`\n]+)`", r"<code>\1</code>", escaped)


def rule_html(rule: Rule) -> str:
    """The rule itself as HTML (title, source and statement): no documentation site is needed."""
    return (
        f"<h4>{html.escape(f'{rule.id} {rule.slug}: {rule.title}')}</h4>"
        f"<p>{html.escape(rule.source)}: {_code_spans(html.escape(rule.statement))}</p>"
        f"<p>Severity: {html.escape(rule.severity.value)}. "
        f"Printed by <code>{html.escape(RULE_COMMAND)} {html.escape(rule.id)}</code>.</p>"
    )


def _html_extras(report: pytest.TestReport, item: RuleItem, settings: Settings) -> None:
    """For a rule test: the rule's text (or link) and its check's evidence, every property by name."""
    extras = list(getattr(report, "extras", []))
    extras.append(_rule_extra(item.rule, settings))
    (result,) = item_checks(item)
    evidence: dict[str, Any] = {
        key.removeprefix(PROPERTY_PREFIX): value
        for key, value in check_properties(result, item.artifact, settings)
        if key != Prop.FINDINGS
    }
    evidence |= {"findings": [f.as_dict() for f in result.findings]}
    extras.append(_evidence_extra(item, evidence))
    report.extras = extras  # type: ignore[attr-defined]


def _evidence_extra(item: pytest.Item, evidence: dict[str, Any]) -> Any:
    import pytest_html

    if item.config.getoption("self_contained_html", False):
        # A single-file report would link the JSON as a data: URL, which browsers refuse to open
        # from a page (Chromium shows a blank tab): the evidence goes into the page instead.
        return pytest_html.extras.extra(evidence_html(evidence), pytest_html.extras.FORMAT_HTML, name="Evidence")
    return pytest_html.extras.json(evidence, name="Evidence")


def _rule_extra(rule: Rule, settings: Settings) -> Any:
    import pytest_html

    url = settings.doc_url(rule.anchor)
    # A link needs somewhere to open: without a documentation site, carry the rule's text.
    if url is not None:
        return pytest_html.extras.url(url, name=f"{rule.id} rule")
    return pytest_html.extras.extra(rule_html(rule), pytest_html.extras.FORMAT_HTML, name=f"{rule.id} rule")


def _artifact_html_extras(
    report: pytest.TestReport, item: ArtifactItem, properties: list[tuple[str, Any]], settings: Settings
) -> None:
    """For an artifact with a check that did not conform: the text (or link) of each such rule,
    and one Evidence JSON listing every check with its outcome. An artifact whose every check
    conformed is one row (its rules named), and the evidence record lists its checks: a
    thousand runs with every rule's text and evidence made a report of fifty megabytes."""
    checks = dict(properties)[Prop.CHECKS]
    unsettled = {rule for rule, outcome, *_ in checks if outcome != CheckOutcome.CONFORMS}
    if not unsettled:
        return
    extras = list(getattr(report, "extras", []))
    extras.extend(_rule_extra(rule, settings) for rule in item.checked_rules if rule.id in unsettled)
    artifact = item.artifact
    evidence = {
        "artifact": artifact.display,
        "kind": artifact.kind,
        "sha256": artifact.sha256 or "",
        "deselected_rules": [rule.id for rule in item.deselected_rules],
        "checks": [_check_evidence(check) for check in checks],
    }
    extras.append(_evidence_extra(item, evidence))
    report.extras = extras  # type: ignore[attr-defined]


def _check_evidence(check: list[Any]) -> dict[str, Any]:
    """One check of an artifact item (``compact_check``) for the reader: the rule and what it found."""
    rule_id, outcome, findings, not_evaluated, unfollowed, waiver = check
    rule = REGISTRY[rule_id]
    evidence: dict[str, Any] = {
        "rule": rule.id,
        "slug": rule.slug,
        "severity": rule.severity.value,
        "outcome": outcome,
        "findings": findings,
        "not_evaluated": not_evaluated,
        "unfollowed": unfollowed,
    }
    if waiver is not None:
        evidence["waiver"] = waiver
    return evidence


def evidence_html(evidence: dict[str, Any]) -> str:
    """A check's evidence as escaped, indented JSON under a disclosure the reader opens."""
    text = json.dumps(evidence, indent=2, sort_keys=True)
    summary = "<summary>Evidence (JSON)</summary>"
    return f'<details class="torghut-evidence">{summary}<pre>{html.escape(text)}</pre></details>'


def summary_lines(recorder: EvidenceRecorder) -> Iterator[str]:
    """Sentences for the terminal, one per outcome, ending in the next step."""
    totals = recorder.totals()
    artifacts = len({c.artifact for c in recorder.checks})
    yield f"{_n(len(recorder.checks), 'check')} of {_n(artifacts, 'artifact')} against the rollout contract."
    if totals[CheckOutcome.CONFORMS]:
        yield f"{_n(totals['conforms'], 'check')} conformed."
    yield from _waiver_lines(recorder)
    if totals[CheckOutcome.VIOLATION]:
        bad = len({c.artifact for c in recorder.checks if c.outcome == CheckOutcome.VIOLATION})
        yield (
            f"{_n(totals['violation'], 'check')} found violations in {_n(bad, 'artifact')}; "
            "fix the artifacts or their producer, see the failed checks."
        )
    if totals[CheckOutcome.ADVISORY]:
        yield (
            f"{_n(totals['advisory'], 'advisory check')} warned; rerun with --torghut-strict to make advisories fail."
        )
    if totals[CheckOutcome.NOT_EVALUATED]:
        yield (
            f"{_n(totals['not-evaluated'], 'check')} not evaluated: what they read is missing or malformed "
            "(another check reports it), was not followed, or is not there to compare with (no git work "
            "tree, no notes ledger); rerun with -rs to see why."
        )
    if recorder.settings.allow_tracked_notes:
        yield (
            "Tracked notes were allowed: --torghut-allow-tracked-notes opted this run out of TN022 "
            "notes-untracked, as for a corpus of example artifacts kept in a repository on purpose."
        )
    if recorder.unfollowed:
        one = len(recorder.unfollowed) == 1
        what = "reference resolves" if one else "references resolve"
        was = "was" if one else "were"
        yield f"{len(recorder.unfollowed)} {what} outside the artifact trees and {was} not followed; {UNFOLLOWED_HINT}."
    if totals[CheckOutcome.ERROR]:
        yield f"{_n(totals['error'], 'check')} could not run; see the checks that errored."
    if recorder.discovery_failed and recorder.discovery_reported:
        yield "Discovery failed, so this run cannot pass; see the torghut::discovery check."
    elif recorder.discovery_failed:
        yield ("Discovery found fewer artifacts than required; torghut::discovery was deselected, so it did not fail.")
    if recorder.partial:
        yield (
            f"This was a partial run: {recorder.selection.selected} of {_n(recorder.selection.checks, 'check')} "
            "selected; it is not evidence of conformance."
        )

    if recorder.ledger is not None:
        yield _ledger_line(recorder, recorder.ledger)


def _waiver_lines(recorder: EvidenceRecorder) -> Iterator[str]:
    """Open risks, expired and unmatched waivers: counted apart from passes, each with its owner."""
    risks = recorder.open_risks()
    if risks:
        yield f"{_n(len(risks), 'check')} failed under a waiver; open risks, not passes, until fixed:"
        for risk in risks:
            yield (
                f"  {risk['nodeid']} ({_n(risk['findings'], 'finding')}) owned by {risk['owner']}, "
                f"waiver {risk['waiver']} expires {risk['expires']}: {risk['reason']}"
            )
    book = recorder.settings.waivers
    expired = book.expired if book else ()
    if expired:
        owners = "; ".join(f"waiver {w.index} owned by {w.owner} (expired {w.expires})" for w in expired)
        them = "it" if len(expired) == 1 else "them"
        where = ", see torghut::waivers above" if recorder.waivers_failed else ""
        yield f"{_n(len(expired), 'waiver')} expired and waived nothing: {owners}; renew or remove {them}{where}."
    unmatched = recorder.unmatched()
    if unmatched:
        owners = "; ".join(f"waiver {w.index} owned by {w.owner}" for w, _ in unmatched)
        error = " Warning filters make this an error, so the run fails." if recorder.unmatched_is_error else ""
        yield (
            f"{_n(len(unmatched), 'waiver')} waived no failure in this run: {owners}; "
            f"remove stale waivers or correct their rule or artifact glob.{error}"
        )


def _ledger_line(recorder: EvidenceRecorder, kept: Kept) -> str:
    path = recorder.settings.notes_ledger
    if kept.status == "created":
        return f"Notes ledger {path} created with {_n(kept.added, 'note')}."
    if kept.status == "extended":
        return f"Notes ledger {path} extended with {_n(kept.added, 'new note')} ({kept.total} recorded)."
    if kept.status == "unchanged":
        return f"Notes ledger {path} unchanged: no new notes ({kept.total} recorded)."
    if kept.reason.startswith("it cannot be trusted"):
        return f"Notes ledger {path} not extended: {kept.reason}; restore it from a copy you trust."
    return f"Notes ledger {path} not {'extended' if kept.existed else 'created'}: {kept.reason}."


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

    def pytest_html_results_summary(
        self, prefix: list[str], summary: list[str], postfix: list[str], session: pytest.Session
    ) -> None:
        """The governance summary (partial banner, environment, runs, notes series) on top, then the
        checked paths and options and the same sentences as the terminal summary.

        pytest-html calls this at session finish on the controller, which under xdist has every
        worker's reports, and with them each artifact's facts, by then.
        """
        recorder = self.recorder
        settings = recorder.settings
        prefix.extend(governance_html(recorder.summary(int(session.exitstatus))))
        paths = ", ".join(html.escape(str(p)) for p in settings.artifacts)
        options = (
            f"strict={settings.strict}, check_refs={settings.check_refs}, min_artifacts={settings.min_artifacts}, "
            f"allow_tracked_notes={settings.allow_tracked_notes}, notes_ledger={settings.notes_ledger}"
        )
        prefix.append(f"<p>Artifacts checked: {paths} ({html.escape(options)}).</p>")
        prefix.extend(f"<p>{html.escape(line)}</p>" for line in summary_lines(recorder))

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
        props = dict(unpacked(report.user_properties))
        checks: list[list[Any]] = props.get(Prop.CHECKS) or []  # type: ignore[assignment]
        checked = [REGISTRY[check[0]] for check in checks if check[0] in REGISTRY]
        # One row for every rule of an artifact item: name them all, and each severity among them.
        if props.get(GRANULARITY_PROPERTY) == "artifact":
            rule = str(props.get(Prop.RULES, ""))
        else:
            rule = " ".join(f"{r.id} {r.slug}" for r in checked)
        severity = " ".join(sorted({r.severity.value for r in checked}))
        cells[2:2] = [
            f"<td>{html.escape(rule)}</td>",
            f"<td>{html.escape(severity)}</td>",
            f"<td>{html.escape(str(props.get('torghut_artifact', '')))}</td>",
        ]
