"""Render the rule catalogue (``conformance/rules.md``) and schemas from the code."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .checking.model import OPT_INS
from .checking.rules import REGISTRY, Rule
from .contract.models import manifest_schema, note_schema
from .record.schema import evidence_schema

#: The fixture corpus, present in a checkout (not in an installed wheel).
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"

HEADER = """\
# Rule catalogue

Generated from the rule registry (`torghut-rollout rules` prints it); do not edit by hand
(`tests/test_conformance_docs.py` fails when this file is out of date).

Each rule enforces one statement of the rollout contract
(`rollout-contract-v6-06.md`) as [interpretation.md](interpretation.md) reads it. Test ids read
`<artifact path>::<id>-<slug>`. A *required* rule fails the run; an *advisory*
rule warns, and fails only with `--torghut-strict`. An *opt-in* rule runs only
when its option is given.

| Rule | Applies to | Severity | Title |
|---|---|---|---|
"""


def _row(rule: Rule) -> str:
    kinds = ", ".join(rule.applies_to)
    severity = rule.severity.value + (" (opt-in)" if rule.opt_in else "")
    return f"| [{rule.id}](#{rule.anchor}) `{rule.slug}` | {kinds} | {severity} | {rule.title} |"


def fixture_cases(rule: Rule, fixtures: Path = FIXTURES) -> list[str]:
    """The names of the invalid fixture cases of ``rule`` (``fixtures/invalid/<ID>/``), if any."""
    directory = fixtures / "invalid" / rule.id
    if not directory.is_dir():
        return []
    return sorted({p.name if p.is_dir() else p.name.split(".", 1)[0] for p in directory.iterdir()})


def _owned(rule: Rule) -> str:
    return ", ".join(f"`{claim or '(the document)'}`" for claim in rule.owns)


def _section(rule: Rule) -> str:
    option = f"\n- Enabled by: `{OPT_INS[rule.opt_in].flag}` (ini `{rule.opt_in}`)" if rule.opt_in else ""
    check = _check_summary(rule)
    how = f"\n- Check: {check}" if check else ""
    owns = f"\n- Owns schema errors at: {_owned(rule)}" if rule.owns else ""
    cases = fixture_cases(rule)
    fixtures = f"\n- Fixtures: {', '.join(f'`{c}`' for c in cases)}" if cases else ""
    return (
        f'<a id="{rule.anchor}"></a>\n'
        f"## {rule.id} `{rule.slug}`: {rule.title}\n\n"
        f"- Severity: {rule.severity.value}\n"
        f"- Applies to: {', '.join(rule.applies_to)}\n"
        f"- Source: {rule.source}{option}{how}{owns}\n"
        f"- Code: `{rule.location}`{fixtures}\n\n"
        f"> {rule.statement}\n"
    )


def _check_summary(rule: Rule) -> str:
    doc = (rule.check.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def render_rule(rule: Rule) -> str:
    """One rule as plain text: what ``torghut-rollout rules TM012`` prints."""
    option = f"enabled by:  {OPT_INS[rule.opt_in].flag}\n" if rule.opt_in else ""
    check = _check_summary(rule)
    owns = f"owns:        {', '.join(c or '(the document)' for c in rule.owns)}\n" if rule.owns else ""
    cases = fixture_cases(rule)
    fixtures = f"fixtures:    {', '.join(cases)}\n" if cases else ""
    return (
        f"{rule.id} {rule.slug}: {rule.title}\n\n"
        f"severity:    {rule.severity.value}\n"
        f"applies to:  {', '.join(rule.applies_to)}\n"
        f"source:      {rule.source}\n"
        f"{option}" + (f"check:       {check}\n" if check else "") + f"{owns}code:        {rule.location}\n"
        f"{fixtures}\n{rule.statement}\n"
    )


def rule_record(rule: Rule) -> dict[str, Any]:
    """One rule as JSON data: what ``torghut-rollout rules --format json`` prints per rule."""
    return {
        "id": rule.id,
        "slug": rule.slug,
        "title": rule.title,
        "severity": rule.severity.value,
        "applies_to": list(rule.applies_to),
        "opt_in": rule.opt_in,
        "source": rule.source,
        "statement": rule.statement,
        "check": _check_summary(rule),
        "owns": list(rule.owns),
        "code": rule.location,
        "fixtures": fixture_cases(rule),
    }


def find_rule(name: str) -> Rule | None:
    """The rule with this id (any case), slug or test name (``TM012-transition-adjacency``)."""
    wanted = name.strip().lower()
    return next((r for r in REGISTRY if wanted in (r.id.lower(), r.slug, r.name.lower())), None)


def render_catalogue() -> str:
    """The Markdown rule catalogue: a table, then one section per rule."""
    rules = list(REGISTRY)
    table = "\n".join(_row(r) for r in rules)
    sections = "\n".join(_section(r) for r in rules)
    return f"{HEADER}{table}\n\n{sections}"


def render_schema(schema: dict[str, Any]) -> str:
    """A schema as committed: sorted keys, two-space indent, trailing newline."""
    return json.dumps(schema, indent=2, sort_keys=True) + "\n"


SCHEMA_FILES: dict[str, Any] = {
    "evidence.schema.json": evidence_schema,
    "phase-manifest.schema.json": manifest_schema,
    "iteration-note.schema.json": note_schema,
}


def write_conformance(directory: Path | None = None) -> list[Path]:
    """Regenerate ``conformance/`` (rules.md and the schemas); return the files written."""
    target = directory or Path.cwd() / "conformance"
    target.mkdir(parents=True, exist_ok=True)
    written = [target / "rules.md"]
    written[0].write_text(render_catalogue(), encoding="utf-8")
    for name, schema in SCHEMA_FILES.items():
        (target / name).write_text(render_schema(schema()), encoding="utf-8")
        written.append(target / name)
    return written
