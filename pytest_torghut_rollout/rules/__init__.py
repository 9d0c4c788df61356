"""The rule registry: every contract statement as a small declarative, pytest-free rule."""

from __future__ import annotations

from ..model import Artifact, Finding
from . import governance, manifest, notes, phases  # noqa: F401 - importing registers the rules
from .base import REGISTRY, CheckContext, DuplicateRuleError, Registry, Rule, rule

__all__ = [
    "REGISTRY",
    "CheckContext",
    "DuplicateRuleError",
    "Registry",
    "Rule",
    "check_artifact",
    "rule",
]


def check_artifact(
    artifact: Artifact, context: CheckContext, *, opt_ins: tuple[str, ...] = ()
) -> dict[str, list[Finding]]:
    """Run every applicable rule on ``artifact``; map rule id to its findings (failing only).

    An artifact that could not be parsed fails every applicable rule with its error.
    """
    results: dict[str, list[Finding]] = {}
    for r in REGISTRY.for_kind(artifact.kind, opt_ins=opt_ins):
        if artifact.error is not None:
            results[r.id] = [Finding(pointer="", message=artifact.error)]
            continue
        findings = r.run(artifact, context)
        if findings:
            results[r.id] = findings
    return results
