"""Every structural error the generated schemas can raise has exactly one owning rule.

Rules claim the JSON Schema errors they report (``Rule.owns``). This module lists every
place a schema can fail, as (keyword, pointer pattern) with ``*`` for an array index, and
checks the claims against them: no location claimed by two rules, none claimed by no rule.
Routing is then a lookup, not an order of precedence.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ..model import ArtifactKind
from .base import REGISTRY, Registry, claim_matches

#: The JSON Schema keywords whose failure ``schema`` turns into an issue at the instance location.
VALIDATION_KEYWORDS = frozenset(
    {"type", "enum", "const", "format", "minLength", "maxLength", "minimum", "maximum", "pattern", "minItems"}
)
#: Not a schema keyword: ``schema`` reports "more structural errors than listed" at the document.
SYNTHETIC = (("maxIssues", ""),)


def schema_locations(schema: dict[str, Any]) -> set[tuple[str, str]]:
    """Every (keyword, pointer pattern) at which ``schema`` can report an error."""
    found: set[tuple[str, str]] = set(SYNTHETIC)
    _walk(schema, schema, "", found)
    return found


def _walk(node: dict[str, Any], root: dict[str, Any], where: str, found: set[tuple[str, str]]) -> None:
    ref = node.get("$ref")
    if isinstance(ref, str):
        node = root["$defs"][ref.rsplit("/", 1)[-1]]
    for keyword, value in node.items():
        if keyword == "required":
            # ``schema`` reports a missing key at the key's own pointer.
            found.update(("required", f"{where}/{name}") for name in value)
        elif keyword in VALIDATION_KEYWORDS:
            found.add((keyword, where))
        elif keyword == "properties":
            for name, sub in value.items():
                _walk(sub, root, f"{where}/{name}", found)
        elif keyword in ("items", "additionalProperties") and isinstance(value, dict):
            _walk(value, root, f"{where}/*", found)
        elif keyword in ("anyOf", "oneOf", "allOf"):
            # A failing alternative is reported as the branch that says what was expected.
            for branch in value:
                _walk(branch, root, where, found)


def ownership_problems(kind: ArtifactKind, schema: dict[str, Any], registry: Registry = REGISTRY) -> list[str]:
    """Sentences naming every location with no owner or several, and every claim that covers nothing."""
    problems: list[str] = []
    locations = sorted(schema_locations(schema), key=lambda loc: (loc[1], loc[0]))
    for keyword, where in locations:
        owners = registry.owners(kind, keyword, where)
        shown = f"{keyword} error at {where or '(the document)'}"
        if not owners:
            problems.append(f"{kind}: no rule owns a {shown}")
        elif len(owners) > 1:
            problems.append(f"{kind}: a {shown} is owned by {', '.join(owners)} (exactly one expected)")
    for rule in registry:
        if kind not in rule.applies_to:
            continue
        for claim in rule.owns:
            if not any(claim_matches(claim, keyword, where) for keyword, where in locations):
                problems.append(f"{kind}: {rule.id} claims {claim!r}, which no schema error can reach")
    return problems


def owned_locations(rule_id: str, kinds: Iterable[tuple[ArtifactKind, dict[str, Any]]]) -> list[tuple[str, str]]:
    """The (keyword, pointer pattern) locations ``rule_id`` owns in the given schemas."""
    rule = REGISTRY[rule_id]
    return sorted(
        {
            (keyword, where)
            for kind, schema in kinds
            if kind in rule.applies_to
            for keyword, where in schema_locations(schema)
            if rule.owns_issue(keyword, where)
        },
        key=lambda loc: (loc[1], loc[0]),
    )
