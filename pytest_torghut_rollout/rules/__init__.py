"""The rule registry: every contract statement as a small declarative, pytest-free rule."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model import Artifact, Finding
from . import governance, manifest, notes, phases  # noqa: F401 - importing registers the rules
from .base import REGISTRY, CheckContext, DuplicateRuleError, NotEvaluated, Registry, Rule, Verdict, rule

__all__ = [
    "REGISTRY",
    "CheckContext",
    "DuplicateRuleError",
    "NotEvaluated",
    "Registry",
    "Rule",
    "Verdict",
    "check_artifact",
    "evaluate_artifact",
    "evaluate_artifacts",
    "rule",
]


def evaluate_artifact(
    artifact: Artifact, context: CheckContext, *, opt_ins: tuple[str, ...] = ()
) -> dict[str, Verdict]:
    """Judge ``artifact`` by every applicable rule: rule id to its verdict."""
    return {r.id: r.evaluate(artifact, context) for r in REGISTRY.for_kind(artifact.kind, opt_ins=opt_ins)}


def check_artifact(
    artifact: Artifact, context: CheckContext, *, opt_ins: tuple[str, ...] = ()
) -> dict[str, list[Finding]]:
    """Run every applicable rule on ``artifact``; map rule id to its findings (failing rules only).

    An artifact that cannot be read or parsed fails one rule (TM001, TN001) with the reason;
    its other rules are not evaluated, so they do not appear here.
    """
    verdicts = evaluate_artifact(artifact, context, opt_ins=opt_ins)
    return {rule_id: list(v.findings) for rule_id, v in verdicts.items() if v.findings}


def evaluate_artifacts(
    artifacts: Iterable[Artifact], context: CheckContext, *, opt_ins: tuple[str, ...] = ()
) -> Iterator[tuple[Artifact, dict[str, Verdict]]]:
    """Judge every artifact of a run, after the context has learnt them all (as the plugin does)."""
    every = list(artifacts)
    for artifact in every:
        context.remember(artifact)
    for artifact in every:
        yield artifact, evaluate_artifact(artifact, context, opt_ins=opt_ins)
