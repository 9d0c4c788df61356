"""JUnit XML: one classname per artifact, and suite properties that name the run."""

from __future__ import annotations

import pytest

# pytest's only public ways in are the record_xml_attribute and record_testsuite_property
# fixtures, which items without fixtures cannot use; LogXML's key and methods are what they use.
from _pytest.junitxml import LogXML, xml_key

from ..contract.models import CONTRACT
from .evidence import EvidenceRecorder

TORGHUT_LOCATION = "[torghut]"


def junit_classname(nodeid: str, prefix: str | None) -> str:
    """The artifact path as one classname: ``run/rollout/phase-manifest.json``, not dotted packages."""
    artifact = nodeid.rpartition("::")[0] or nodeid
    return f"{prefix}.{artifact}" if prefix else artifact


class JunitEvidence:
    """Classnames and suite properties for ``--junitxml``; a no-op without it (and on xdist workers)."""

    def __init__(self, config: pytest.Config, recorder: EvidenceRecorder) -> None:
        self.config = config
        self.recorder = recorder

    def _xml(self) -> LogXML | None:
        return self.config.stash.get(xml_key, None)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Before JUnit XML opens a torghut test case, name its class after the artifact path.

        pytest makes the classname from the node id with every ``/`` turned into a ``.``, so
        ``20260402T143731.rollout.phase-manifest.json`` would read as packages to CI tools.
        """
        xml = self._xml()
        if xml is None or report.when != "setup" or not str(report.location[2]).startswith(TORGHUT_LOCATION):
            return
        # Attributes set before the report is recorded survive it (as record_xml_attribute's do).
        xml.node_reporter(report).add_attribute("classname", junit_classname(report.nodeid, xml.prefix))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        """Name the plugin, contract, paths and whether the run was partial, before the file is written."""
        from .. import __version__

        xml = self._xml()
        if xml is None:
            return
        recorder = self.recorder
        xml.add_global_property("torghut_plugin_version", __version__)
        xml.add_global_property("torghut_contract", CONTRACT)
        xml.add_global_property("torghut_artifacts_paths", " ".join(str(p) for p in recorder.settings.artifacts))
        xml.add_global_property("torghut_partial", "true" if recorder.partial else "false")
        xml.add_global_property("torghut_result", recorder.result(int(exitstatus)))
