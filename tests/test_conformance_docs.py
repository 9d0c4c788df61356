"""The committed catalogue and schemas match the code; the registry and schemas behave."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator

from pytest_torghut_rollout.catalogue import SCHEMA_FILES, render_catalogue, render_schema
from pytest_torghut_rollout.checking.model import Severity
from pytest_torghut_rollout.checking.rules import REGISTRY, DuplicateRuleError, Registry, rule
from pytest_torghut_rollout.checking.schema import date_time_checker, manifest_issues
from pytest_torghut_rollout.contract.models import PhaseManifest
from pytest_torghut_rollout.contract.timestamps import is_rfc3339

CONFORMANCE = Path(__file__).parent.parent / "conformance"
REGENERATE = "regenerate with: python -c 'import pytest_torghut_rollout.catalogue as c; c.write_conformance()'"


def test_rule_catalogue_is_up_to_date() -> None:
    assert (CONFORMANCE / "rules.md").read_text(encoding="utf-8") == render_catalogue(), REGENERATE


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_json_schema_is_up_to_date(name: str) -> None:
    assert (CONFORMANCE / name).read_text(encoding="utf-8") == render_schema(SCHEMA_FILES[name]()), REGENERATE


@pytest.mark.parametrize("name", sorted(SCHEMA_FILES))
def test_json_schema_is_a_valid_draft_2020_12_schema(name: str) -> None:
    schema = json.loads((CONFORMANCE / name).read_text(encoding="utf-8"))
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema)


def test_every_rule_has_a_catalogue_section_and_every_section_a_rule() -> None:
    text = (CONFORMANCE / "rules.md").read_text(encoding="utf-8")
    anchors = set(re.findall(r'<a id="(t[mn]\d{3})"></a>', text))
    assert anchors == {r.anchor for r in REGISTRY}


def test_format_checker_really_checks_date_times() -> None:
    checker = date_time_checker()
    assert not checker.conforms("2026-02-30T10:00:00Z", "date-time")
    assert not checker.conforms("2026-04-02T09:30:00", "date-time")
    assert checker.conforms("2026-04-02T09:30:00Z", "date-time")
    assert checker.conforms("2026-04-02T09:30:41.507112+00:00", "date-time")
    assert not is_rfc3339(20260402)


def test_impossible_phase_date_is_a_schema_format_issue() -> None:
    issues = manifest_issues({"phases": [{"timestamp": "2026-02-30T10:00:00Z"}]})
    assert any(i.keyword == "format" and i.pointer == "/phases/0/timestamp" for i in issues)


def test_registry_refuses_a_reused_id_or_slug() -> None:
    registry = Registry()
    decorate = rule(
        id="TM900", slug="one", title="t", source="s", statement="x", applies_to=("manifest",), registry=registry
    )
    decorate(lambda artifact, context: ())
    with pytest.raises(DuplicateRuleError, match="TM900"):
        rule(id="TM900", slug="two", title="t", source="s", statement="x", applies_to=("manifest",), registry=registry)(
            lambda artifact, context: ()
        )
    with pytest.raises(DuplicateRuleError, match="one"):
        rule(id="TM901", slug="one", title="t", source="s", statement="x", applies_to=("manifest",), registry=registry)(
            lambda artifact, context: ()
        )


def test_registry_refuses_malformed_ids_and_slugs() -> None:
    with pytest.raises(ValueError, match="must look like"):
        rule(id="X1", slug="ok", title="t", source="s", statement="x", applies_to=("manifest",), registry=Registry())(
            lambda artifact, context: ()
        )
    with pytest.raises(ValueError, match="lowercase"):
        rule(
            id="TM902",
            slug="Not Ok",
            title="t",
            source="s",
            statement="x",
            applies_to=("manifest",),
            registry=Registry(),
        )(lambda artifact, context: ())


def test_every_rule_declares_its_contract_statement_and_a_known_kind() -> None:
    for r in REGISTRY:
        assert r.statement, r.id
        assert r.source, r.id
        assert r.title, r.id
        assert r.applies_to, r.id
        assert isinstance(r.severity, Severity)


def test_manifest_schema_requires_the_fourteen_contract_fields() -> None:
    required = set(PhaseManifest.model_json_schema()["required"])
    assert len(required) == 14
    assert {"schema_version", "phase_transitions", "observation_summary", "slo_contract_version"} <= required


def test_every_rule_cites_a_section_that_exists() -> None:
    page = (CONFORMANCE / "interpretation.md").read_text(encoding="utf-8")
    cited = page.split("## Contract sections cited", 1)[1].split("<a id=", 1)[0]
    contract_sections = {line[2:].strip() for line in cited.splitlines() if line.startswith("- ")}
    headings = set(re.findall(r"^## (§\d+ .+)$", page, re.MULTILINE))
    for rule_ in REGISTRY:
        kind, _, name = rule_.source.partition(": ")
        if kind == "contract":
            assert name in contract_sections, rule_.id
        else:
            section, _, title = rule_.source.removeprefix("interpretation ").partition(": ")
            assert kind.startswith("interpretation §"), rule_.id
            assert f"{section} {title}" in headings, rule_.id
    assert "READING.md" not in (CONFORMANCE / "rules.md").read_text(encoding="utf-8")
