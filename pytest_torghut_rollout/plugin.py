"""pytest hooks: options, configuration, collection of artifacts, reporting. Thin on purpose."""

from __future__ import annotations

from collections import Counter
from collections.abc import Generator

import pytest

from ._keys import CONTEXT_KEY, SETTINGS_KEY
from .discovery import DiscoveryError, artifact_trees, discover
from .items import MARKER, ArtifactFile, Discovery, DiscoveryCollector
from .model import Artifact
from .paths import Resolver
from .reporting import AllureEvidence, EvidenceRecorder, HtmlEvidence, enrich_report
from .rules import REGISTRY, CheckContext
from .schema import FormatCheckerError, ensure_date_time_checks
from .settings import Settings, add_options, read_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the torghut option group and ini keys."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; when artifacts are given, set up the run's conformance checks."""
    config.addinivalue_line("markers", f"{MARKER}: a torghut rollout contract conformance check")
    settings = read_settings(config)
    if settings is None:
        return
    try:
        ensure_date_time_checks()
    except FormatCheckerError as exc:
        raise pytest.UsageError(f"torghut: {exc}") from exc
    config.stash[SETTINGS_KEY] = settings
    config.stash[CONTEXT_KEY] = CheckContext(
        resolver=Resolver(artifact_trees(settings.artifacts), settings.path_map),
        unhealthy_drift_states=settings.unhealthy_drift_states,
    )
    if config.args_source != pytest.Config.ArgsSource.ARGS:
        # `pytest --torghut-artifacts=X` checks X only; name test paths to run tests as well.
        config.args = []
    conformance = Conformance(settings)
    config.pluginmanager.register(conformance, "torghut-conformance")
    if config.pluginmanager.hasplugin("html"):
        config.pluginmanager.register(HtmlEvidence(conformance.recorder), "torghut-html")
    if config.pluginmanager.hasplugin("allure_pytest") and getattr(config.option, "allure_report_dir", None):
        config.pluginmanager.register(AllureEvidence(), "torghut-allure")


class Conformance:
    """Collection and reporting of one conformance run."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.recorder = EvidenceRecorder(settings)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(
        self, session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        """Add the artifacts' items before -k/-m deselection sees the list."""
        try:
            artifacts, error = discover(self.settings.artifacts), None
        except DiscoveryError as exc:
            artifacts, error = [], str(exc)
        discovery = Discovery(by_kind=dict(sorted(Counter(a.kind for a in artifacts).items())), error=error)
        # A collector of its own, so the discovery test is counted and reported like the rest.
        status = DiscoveryCollector.from_parent(session, name="torghut", nodeid="torghut", discovery=discovery)
        ours: list[pytest.Item] = list(session.genitems(status))
        context = config.stash[CONTEXT_KEY]
        for artifact in artifacts:
            context.remember(artifact)
            ours.extend(session.genitems(self._collector(session, artifact)))
        items.extend(ours)

    def _collector(self, session: pytest.Session, artifact: Artifact) -> ArtifactFile:
        rules = REGISTRY.for_kind(artifact.kind, opt_ins=self.settings.opt_ins)
        return ArtifactFile.from_parent(
            session, path=artifact.path, nodeid=artifact.display, artifact=artifact, rules=rules
        )

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(
        self, item: pytest.Item, call: pytest.CallInfo[None]
    ) -> Generator[None, pytest.TestReport, pytest.TestReport]:
        """Give each torghut report its evidence (properties, html extras)."""
        report = yield
        enrich_report(item, report)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Record results where reports arrive (the controller under xdist)."""
        self.recorder.record(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Write the evidence summary once, on the controller."""
        if self.settings.evidence_path is not None and not hasattr(session.config, "workerinput"):
            self.recorder.write(self.settings.evidence_path, int(exitstatus))

    def pytest_terminal_summary(self, terminalreporter: pytest.TerminalReporter) -> None:
        """One sentence per outcome, ending in the next step."""
        if terminalreporter.config.option.collectonly:
            return  # nothing ran: "0 checks of 0 artifacts" would be wrong
        terminalreporter.section("torghut rollout conformance")
        for line in self.recorder.summary_lines():
            terminalreporter.write_line(line)
        if self.settings.evidence_path is not None:
            terminalreporter.write_line(f"Evidence summary written to {self.settings.evidence_path}.")
