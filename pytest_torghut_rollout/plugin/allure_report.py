"""Allure results: labels, a parameter per check, the rule's text, findings; environment and categories."""

from __future__ import annotations

import json
import os
import platform
from collections.abc import Iterator
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from ..checking.model import Artifact
from ..checking.rules import REGISTRY, Rule
from ..contract.layout import MANIFEST_DIR, MANIFEST_NAME
from ..contract.models import CONTRACT, CONTRACT_TITLE, PHASE_ORDER
from ._keys import SETTINGS_KEY
from .granularity import ArtifactItem, item_checks
from .items import RuleItem
from .settings import Settings
from .wire import CheckOutcome

#: Rules that judge whether evidence a manifest or note points at exists.
EVIDENCE_RULES = ("TM021", "TM022", "TM024", "TN010")
SCHEMA_CHECK = "Validate against the contract's JSON Schema"


def rule_phase(rule: Rule) -> str | None:
    """The phase a phase-specific rule judges (named in its slug or title), else None."""
    return next((phase for phase in PHASE_ORDER if phase in rule.slug or phase in rule.title), None)


def artifact_suite(artifact: Artifact) -> str:
    """The run an artifact belongs to: its run directory, or its notes series."""
    display = PurePosixPath(artifact.display)
    if artifact.kind == "notes-series":
        return str(display)
    if artifact.kind == "manifest":
        run = display.parent.parent if display.parts[-2:] == (MANIFEST_DIR, MANIFEST_NAME) else display.parent
        return str(run) if str(run) != "." else artifact.root.name
    return str(display.parent) if str(display.parent) != "." else artifact.root.name


# Allure 2 (Java) and Allure 3 (JavaScript) both read these. JavaScript has no inline (?s) flag,
# and one such regex among the categories stops Allure 3 from rendering any report: "any text"
# is spelled [\s\S]*, which both read alike.
_ANY = "[\\s\\S]*"


def _ids_regex(ids: list[str]) -> str:
    return _ANY + "\\b(" + "|".join(ids) + ")\\b" + _ANY


def categories() -> list[dict[str, Any]]:
    """Allure categories: the first whose regex matches a failure's message names it."""
    schema = [r.id for r in REGISTRY if (r.check.__doc__ or "").strip().startswith(SCHEMA_CHECK)]
    return [
        {
            "name": "Unreadable artifacts",
            "description": "An artifact could not be read or parsed; none of its other rules ran.",
            "matchedStatuses": ["failed"],
            "messageRegex": _ANY + "\\b(TM001|TN001)\\b" + _ANY + ": cannot check: " + _ANY,
        },
        {
            "name": "Missing evidence",
            "description": "Evidence an artifact points at does not exist: " + ", ".join(EVIDENCE_RULES) + ".",
            "matchedStatuses": ["failed"],
            "messageRegex": _ids_regex(list(EVIDENCE_RULES)),
        },
        {
            "name": "Schema violations",
            "description": "A field is missing or has the wrong type or value (the contract's JSON Schema).",
            "matchedStatuses": ["failed"],
            "messageRegex": _ids_regex(schema),
        },
        {
            "name": "Semantic violations",
            "description": "The artifact is well formed but breaks a rule of the contract.",
            "matchedStatuses": ["failed"],
            "messageRegex": _ANY + "\\bT[MN][0-9]{3}\\b" + _ANY,
        },
    ]


def environment(settings: Settings) -> dict[str, str]:
    """What Allure's Environment widget shows: plugin, contract, Python, pytest, paths."""
    from .. import __version__

    return {
        "torghut.plugin": f"pytest-torghut-rollout {__version__}",
        "torghut.contract": CONTRACT,
        "python": platform.python_version(),
        "pytest": pytest.__version__,
        "torghut.artifacts": " ".join(str(p.resolve()) for p in settings.artifacts),
    }


def _escape_property(text: str) -> str:
    """java.util.Properties escaping for a key or value (one line, no separators)."""
    out = text.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r")
    return out.replace("=", "\\=").replace(":", "\\:").replace("#", "\\#").replace("!", "\\!")


def write_allure_files(directory: Path, settings: Settings) -> None:
    """Write environment.properties and categories.json into the results directory."""
    directory.mkdir(parents=True, exist_ok=True)
    props = "".join(f"{_escape_property(k)}={_escape_property(v)}\n" for k, v in sorted(environment(settings).items()))
    _write(directory / "environment.properties", props)
    _write(directory / "categories.json", json.dumps(categories(), indent=2, sort_keys=True) + "\n")


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


class AllureEvidence:
    """Labels, parameter, description and attachments for Allure results (only with allure-pytest)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Iterator[None]:
        """After the check ran, attach its evidence, whatever the outcome."""
        try:
            return (yield)
        finally:
            if isinstance(item, RuleItem):
                self._attach(item)
            elif isinstance(item, ArtifactItem):
                self._attach_artifact(item)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        """Describe the run (environment) and sort failures (categories), once, on the controller."""
        if not hasattr(session.config, "workerinput"):
            write_allure_files(self.directory, session.config.stash[SETTINGS_KEY])

    @staticmethod
    def _attach(item: RuleItem) -> None:
        import allure

        settings = item.config.stash[SETTINGS_KEY]
        rule, artifact = item.rule, item.artifact
        dynamic: Any = allure.dynamic
        url = settings.doc_url(rule.anchor)
        if url is not None:  # without a documentation site the description carries the rule
            dynamic.link(url, name=f"{rule.id} {rule.slug}")
        _label(dynamic, artifact, feature=rule_phase(rule) or artifact.kind, story=f"{rule.id} {rule.title}")
        dynamic.label("torghut_rule", rule.id)
        dynamic.severity(_severity(required=rule.severity.value == "required"))
        dynamic.description(f"{rule.title}\n\n{rule.source}: {rule.statement}")
        (result,) = item_checks(item)
        allure.attach(
            json.dumps(
                {
                    "rule": rule.id,
                    "artifact": artifact.display,
                    "outcome": str(result.outcome),
                    "findings": [f.as_dict() for f in result.findings],
                },
                indent=2,
                sort_keys=True,
            ),
            name="Evidence",
            attachment_type=allure.attachment_type.JSON,
        )
        _attach_digest(artifact)

    @staticmethod
    def _attach_artifact(item: ArtifactItem) -> None:
        """An artifact item: labelled like its checks, one link or description per rule, and its
        digest as a parameter (left out of its history id).

        One Evidence attachment lists every check with its own outcome when a check did not
        conform; an artifact whose every check conformed needs none (its rules are its labels,
        and the evidence record lists its checks): a thousand runs wrote three files per artifact.
        """
        import allure

        settings = item.config.stash[SETTINGS_KEY]
        artifact = item.artifact
        dynamic: Any = allure.dynamic
        for rule in item.checked_rules:
            url = settings.doc_url(rule.anchor)
            if url is not None:
                dynamic.link(url, name=f"{rule.id} {rule.slug}")
            dynamic.label("torghut_rule", rule.id)
        _label(dynamic, artifact, feature=artifact.kind, story=f"every {artifact.kind} rule")
        dynamic.severity(_severity(required=any(rule.severity.value == "required" for rule in item.checked_rules)))
        dynamic.description(
            "\n\n".join(f"{rule.id} {rule.title}\n{rule.source}: {rule.statement}" for rule in item.checked_rules)
        )
        if artifact.sha256 is not None:
            dynamic.parameter("sha256", artifact.sha256, excluded=True)
        checks = [
            {"rule": result.rule.id, "outcome": result.outcome, "findings": [f.as_dict() for f in result.findings]}
            for result in item_checks(item)
        ]
        if all(check["outcome"] == CheckOutcome.CONFORMS for check in checks):
            return
        allure.attach(
            json.dumps(
                {
                    "artifact": artifact.display,
                    "sha256": artifact.sha256,
                    "checks": checks,
                    "deselected_rules": [rule.id for rule in item.deselected_rules],
                },
                indent=2,
                sort_keys=True,
            ),
            name="Evidence",
            attachment_type=allure.attachment_type.JSON,
        )


def _label(dynamic: Any, artifact: Artifact, *, feature: str, story: str) -> None:
    """The labels every torghut result carries: the contract, where the artifact lies, and the
    artifact as a parameter, so that one rule on two artifacts has two histories."""
    dynamic.epic(CONTRACT_TITLE)
    dynamic.feature(feature)
    dynamic.story(story)
    dynamic.parent_suite(CONTRACT_TITLE)
    dynamic.suite(artifact_suite(artifact))
    dynamic.sub_suite(artifact.display)
    dynamic.parameter("artifact", artifact.display)


def _severity(*, required: bool) -> Any:
    import allure

    return allure.severity_level.CRITICAL if required else allure.severity_level.MINOR


def _attach_digest(artifact: Artifact) -> None:
    """The artifact's SHA-256 in ``sha256sum`` format, when it was read."""
    import allure

    if artifact.sha256 is not None:
        allure.attach(
            f"{artifact.sha256}  {artifact.display}\n",
            name="Artifact SHA-256",
            attachment_type=allure.attachment_type.TEXT,
        )
