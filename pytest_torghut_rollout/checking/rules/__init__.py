"""The rule registry: every contract statement as a small declarative, pytest-free rule.

One module per contiguous range of rule ids, so an id tells where its rule lives:

========================  ===============================================================
``rules/manifest.py``     TM001-TM011: fields, versions, phase order and count, phase fields
``rules/phases.py``       TM012-TM017: transitions, the failure policy, SLO gates
``rules/governance.py``   TM018-TM024: paper canary, governance records, rollback proof, refs
``rules/notes.py``        TN001-TN010: each per-iteration note
``rules/series.py``       TN020-TN023: a notes series (names, numbering, git, the ledger)
========================  ===============================================================

``base`` holds the rule type and registry, ``manifest_data`` the defensive readers the
manifest rules share, ``ownership`` the proof that every structural error has one owner.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from ..model import Artifact, Finding
from . import governance, manifest, notes, phases, series  # noqa: F401 - importing registers the rules
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
