"""An active conformance run: set up when artifacts are given, then collection and reporting.

``plugin`` imports this module only once settings say the plugin is active, because what it
builds on (discovery, rules, the JSON Schemas, the pydantic contract, reporting) imports
pydantic, jsonschema and PyYAML, which a run without torghut artifacts must not pay for.
"""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Callable, Generator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from ..checking.discovery import DiscoveryError, Pending, artifact_trees, locate, search
from ..checking.ledger import Ledger, LedgerError, keep, load_ledger
from ..checking.model import NOTE_KINDS, Artifact
from ..checking.paths import Resolver
from ..checking.rules import REGISTRY, CheckContext
from ..checking.schema import FormatCheckerError, date_time_checker
from ..record.facts import series_summary
from ._keys import CONTEXT_KEY, FACTS_WANTED_KEY, SERIES_READ_KEY, SERIES_SUMMARIES_KEY, SETTINGS_KEY, SeriesRead
from .allure_report import AllureEvidence
from .evidence import EvidenceRecorder
from .granularity import ArtifactChecks, ArtifactItem, rules_for, select_rules, series_read
from .items import ArtifactFile, ConformanceItem, Discovery, RuleItem, RunCollector
from .junit import JunitEvidence
from .progress import CollectionProgress
from .reporting import HtmlEvidence, enrich_report, summary_lines
from .selection import deselection_options
from .settings import RUN_DATE, Settings
from .wire import WORKER_OUTPUT, Prop


def activate(config: pytest.Config, settings: Settings) -> None:
    """Set up the run's conformance checks and register the plugins that collect and report them."""
    try:
        date_time_checker()
    except FormatCheckerError as exc:
        raise pytest.UsageError(f"torghut: {exc}") from exc
    ledger: Ledger | None = None
    if settings.notes_ledger is not None:
        try:
            ledger = load_ledger(settings.notes_ledger, settings.artifacts)
        except LedgerError as exc:
            raise pytest.UsageError(f"torghut: {exc}") from exc
    config.stash[SETTINGS_KEY] = settings
    # Only the evidence record and an HTML report's governance summary show what each artifact is.
    config.stash[FACTS_WANTED_KEY] = settings.evidence_path is not None or bool(config.getoption("htmlpath", None))
    config.stash[CONTEXT_KEY] = CheckContext(
        resolver=Resolver(settings.refs_roots or artifact_trees(settings.artifacts), settings.path_map),
        unhealthy_drift_states=settings.unhealthy_drift_states,
        max_bytes=settings.max_bytes,
        allow_tracked_notes=settings.allow_tracked_notes,
        ledger=ledger,
        # Referenced files (a note's manifest) are kept parsed only for a while: no document is
        # kept for the whole run (items let go of theirs once their checks ran).
        json_cache_limit=JSON_CACHE_LIMIT,
    )
    if settings.artifacts_only:
        # No test paths to collect, so that only the artifacts' items (added later) run.
        config.args = []
    conformance = Conformance(
        settings, html_report=bool(config.getoption("htmlpath", None)), worker=hasattr(config, "workerinput")
    )
    conformance.recorder.selection.options = tuple(deselection_options(config))
    conformance.recorder.command = tuple(config.invocation_params.args)
    config.pluginmanager.register(conformance, "torghut-conformance")
    if config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(XdistSelection(conformance.recorder), "torghut-xdist")
    config.pluginmanager.register(JunitEvidence(config, conformance.recorder), "torghut-junit")
    if settings.waivers is not None and config.pluginmanager.hasplugin("xdist") and not hasattr(config, "workerinput"):
        config.pluginmanager.register(XdistRunDate(settings.waivers.today.isoformat()), "torghut-xdist-date")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlEvidence(conformance.recorder), "torghut-html")
    alluredir = getattr(config.option, "allure_report_dir", None)
    if config.pluginmanager.hasplugin("allure_pytest") and alluredir:
        config.pluginmanager.register(AllureEvidence(Path(alluredir)), "torghut-allure")


#: Report properties the recorder takes in full, dropped from reports once logged (see logreport).
_RECORDED = (Prop.PACKED, Prop.ARTIFACT_FACTS)
#: Files named inside artifacts (a note's manifest) kept parsed at once, at either granularity.
JSON_CACHE_LIMIT = 256


class Conformance:
    """Collection and reporting of one conformance run."""

    def __init__(self, settings: Settings, *, html_report: bool = False, worker: bool = False) -> None:
        self.settings = settings
        self.worker = worker
        """An xdist worker: its reports are recorded where they arrive, on the controller."""
        self.recorder = EvidenceRecorder(settings)
        self.html_report = html_report
        """pytest-html fills its rows from the reports when it writes the page, at the end."""
        self.frozen = False
        """Collection's objects are kept out of the garbage collector's sweeps (``gc.freeze``)."""

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Add the artifacts' items before -k/-m deselection sees the list."""
        progress = CollectionProgress.for_config(config)
        paths, max_bytes = self.settings.artifacts, self.settings.max_bytes
        artifacts: Sequence[Artifact | Pending]
        error: str | None = None
        try:
            if self.settings.granularity == "artifact":
                # Read when each artifact's item runs: collection needs only where artifacts lie.
                located = locate(paths, max_bytes=max_bytes, progress=progress)
                artifacts, problems = located.entries, located.problems
            else:
                found = search(paths, max_bytes=max_bytes, progress=progress)
                artifacts, problems = found.artifacts, found.problems
        except DiscoveryError as exc:
            artifacts, problems, error = [], [], str(exc)
        if progress is not None:
            progress.finish()
        ledger = config.stash[CONTEXT_KEY].ledger
        lost: tuple[str, ...] = ()
        if ledger is not None and ledger.trusted and error is None:
            gone = ledger.lost_series(a.display for a in artifacts if a.kind == "notes-series")
            lost = tuple(f"{series} ({_notes(len(entries))} recorded)" for series, entries in gone.items())
        discovery = Discovery(
            by_kind=dict(sorted(Counter(a.kind for a in artifacts).items())),
            error=error,
            problems=tuple(problems),
            lost=lost,
        )
        self.recorder.take_discovery(discovery)
        # A collector of its own, so the discovery test is counted and reported like the rest.
        status = RunCollector.from_parent(
            session, name="torghut", nodeid="torghut", discovery=discovery, waivers=self.settings.waivers
        )
        ours: list[pytest.Item] = list(session.genitems(status))
        context = config.stash[CONTEXT_KEY]
        # Read lazily, a series' notes are read once per process, when a check or its facts need them.
        summaries = config.stash.setdefault(SERIES_READ_KEY, {})
        if self.settings.granularity != "artifact":
            # Summarised now, while every note is read: a note's item lets go of its document.
            read = [a for a in artifacts if isinstance(a, Artifact)]
            config.stash[SERIES_SUMMARIES_KEY] = {
                path: series_summary(notes) for path, notes in series_notes(read).items()
            }
        for artifact in artifacts:
            if isinstance(artifact, Artifact):
                context.remember(artifact)
            elif artifact.kind == "notes-series":
                context.defer(artifact.path, _summarising(artifact, summaries))
            ours.extend(session.genitems(self._collector(session, artifact)))
        # The selection counts checks, one per rule and artifact, whatever the granularity.
        self.recorder.selection.collected += sum(_checks(item) for item in ours)
        self.recorder.selection.seen = True
        unmatched, left_out = select_rules(config, ours)
        self.recorder.selection.deselected += left_out
        if unmatched:
            config.hook.pytest_deselected(items=unmatched)
            dropped = set(unmatched)
            ours = [item for item in ours if item not in dropped]
        items.extend(ours)

    @pytest.hookimpl(trylast=True)
    def pytest_collection_finish(self, session: pytest.Session) -> None:
        """Count each artifact's rule items that are to run (see ``ArtifactFile.finished``).

        In a run of the artifacts alone, keep what collection built out of the garbage
        collector's sweeps until the run ends (``gc.freeze``).

        Every item and collector lives to the end of the run anyway; a tree of ten thousand
        cycles builds millions of objects, and each full sweep of the cyclic collector while the
        checks run would walk them all again (a sixth of such a run's time). Only when nothing
        but this plugin's items runs, and undone at the end (``pytest_unconfigure``).
        """
        for item in session.items:
            if isinstance(item, RuleItem):
                item.parent.unfinished += 1  # its document is let go once they all ran
        if self.settings.artifacts_only and not self.frozen:
            gc.collect()
            gc.freeze()
            self.frozen = True

    @pytest.hookimpl(trylast=True)
    def pytest_unconfigure(self) -> None:
        """Give the objects kept out of the collector's sweeps back to it (see collection_finish).

        Last, after pytest's own final sweep for unraisable exceptions: that sweep would
        otherwise walk the whole run's objects once more, only to find them alive.
        """
        if self.frozen:
            gc.unfreeze()
            self.frozen = False

    def pytest_deselected(self, items: Sequence[pytest.Item]) -> None:
        """Count the checks that -k, -m, --deselect, --lf or another plugin took out of the run."""
        self.recorder.selection.deselected += sum(_checks(item) for item in items)

    def _collector(self, session: pytest.Session, artifact: Artifact | Pending) -> pytest.File:
        opt_ins = self.settings.opt_ins
        if self.settings.granularity == "artifact":
            rules = rules_for(artifact, opt_ins)
            return ArtifactChecks.from_parent(
                session, path=artifact.path, nodeid=artifact.display, source=artifact, rules=rules
            )
        assert isinstance(artifact, Artifact)  # read at collection, one item per rule
        rules = REGISTRY.for_kind(artifact.kind, opt_ins=opt_ins)
        return ArtifactFile.from_parent(
            session, path=artifact.path, nodeid=artifact.display, artifact=artifact, rules=rules
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Give each torghut report its evidence (properties, html extras); once the item is done,
        let go of what only its reports needed (the rules' results, the artifact's facts)."""
        report = yield
        enrich_report(item, report)
        if report.when == "teardown" and isinstance(item, ArtifactItem | RuleItem):
            item.release()
        return report

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        """Record results where reports arrive (the controller under xdist).

        Once every plugin has seen the report, its packed evidence and the artifact's facts are
        dropped unless an HTML report still needs them: pytest keeps every report to the end of
        the run, and the recorder has what it needs.
        """
        if not self.worker:
            self.recorder.record(report)
        try:
            return (yield)
        finally:
            if not self.html_report:
                report.user_properties[:] = [p for p in report.user_properties if p[0] not in _RECORDED]

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Once, on the controller: warn of unmatched waivers, extend the notes ledger after a
        passing run, write the evidence. A worker sends the controller what it collected instead.
        """
        workeroutput: dict[str, Any] | None = getattr(session.config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput[WORKER_OUTPUT] = self.recorder.selection.as_output() | {
                "discovery": self.recorder.discovery,
                "discovery_failed": self.recorder.discovery_failed,
                "discovery_problems": self.recorder.discovery_problems,
            }
            return
        ran = exitstatus in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
        if ran and not session.config.option.collectonly:
            self.recorder.warn_unmatched()
            if self.recorder.unmatched_is_error and session.exitstatus == pytest.ExitCode.OK:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        ledger = session.config.stash[CONTEXT_KEY].ledger
        if ledger is not None:
            self.recorder.ledger = keep(
                ledger,
                passed=session.exitstatus == pytest.ExitCode.OK,
                series=self.recorder.ledger_series(),
                notes=self.recorder.note_digests(),
                now=datetime.now(UTC).isoformat(timespec="seconds"),
            )
        if self.settings.evidence_path is not None:
            self.recorder.write(self.settings.evidence_path, int(session.exitstatus))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """One sentence per outcome, ending in the next step."""
        if terminalreporter.config.option.collectonly:
            return  # nothing ran: "0 checks of 0 artifacts" would be wrong
        terminalreporter.section("torghut rollout conformance")
        for line in summary_lines(self.recorder):
            terminalreporter.write_line(line)
        if self.settings.evidence_path is not None:
            terminalreporter.write_line(f"Evidence summary written to {self.settings.evidence_path}.")


class XdistSelection:
    """On an xdist controller, which collects nothing, take what the workers collected."""

    def __init__(self, recorder: EvidenceRecorder) -> None:
        self.recorder = recorder

    def pytest_testnodedown(self, node: Any, error: object) -> None:
        """Adopt the first worker's selection counts and discovery (every worker collects the same)."""
        output = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
        if output is None or self.recorder.selection.seen:
            return
        self.recorder.selection.take_output(output)
        if not self.recorder.discovery_reported:
            self.recorder.discovery = dict(output["discovery"])
            self.recorder.discovery_failed = bool(output["discovery_failed"])
            self.recorder.discovery_problems = list(output.get("discovery_problems", []))


class XdistRunDate:
    """Hand the controller's date to every xdist worker: a waiver expires for the whole run at once."""

    def __init__(self, today: str) -> None:
        self.today = today

    def pytest_configure_node(self, node: Any) -> None:
        """Put the run's date into the worker's input."""
        node.workerinput[RUN_DATE] = self.today


def _checks(item: pytest.Item) -> int:
    """How many checks an item stands for: one per selected rule of an artifact item, else one."""
    if isinstance(item, ArtifactItem):
        return len(item.selected)
    return 1 if isinstance(item, ConformanceItem) else 0


def series_notes(artifacts: Sequence[Artifact]) -> dict[Path, tuple[Artifact, ...]]:
    """Each notes series directory's notes (the series' summary in the evidence reads them)."""
    series = {a.path for a in artifacts if a.kind == "notes-series"}
    notes: dict[Path, list[Artifact]] = {path: [] for path in series}
    for artifact in artifacts:
        if artifact.kind in NOTE_KINDS and artifact.path.parent in notes:
            notes[artifact.path.parent].append(artifact)
    return {path: tuple(found) for path, found in notes.items()}


def _summarising(series: Pending, summaries: dict[Path, SeriesRead]) -> Callable[[], list[Artifact]]:
    """Read ``series``' notes (as cross-reference checks need them) and keep what the series' own
    item needs of them (its summary and note files), so that no process reads a series twice."""

    def read() -> list[Artifact]:
        notes = series.light_notes()
        summaries[series.path] = series_read(notes)
        return notes

    return read


def _notes(count: int) -> str:
    return f"{count} note" if count == 1 else f"{count} notes"
