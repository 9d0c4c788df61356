"""Each structural error has exactly one owning rule; each rule lives in the module of its id range."""

from __future__ import annotations

import re
from collections.abc import Iterator
from itertools import pairwise
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

import pytest_torghut_rollout.checking.rules as rules_package
from pytest_torghut_rollout.checking.model import CHECK_REFS, Artifact, ArtifactKind, Finding
from pytest_torghut_rollout.checking.rules import REGISTRY, CheckContext, Registry, rule
from pytest_torghut_rollout.checking.rules.ownership import ownership_problems, schema_locations
from pytest_torghut_rollout.contract.models import manifest_schema, note_schema

SCHEMAS: dict[ArtifactKind, Any] = {"manifest": manifest_schema, "scheduler-note": note_schema}


def _nothing(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    return iter(())


@pytest.mark.parametrize("kind", sorted(SCHEMAS))
def test_every_schema_error_location_has_exactly_one_owner(kind: ArtifactKind) -> None:
    assert ownership_problems(kind, SCHEMAS[kind]()) == []


def test_an_overlap_a_gap_and_an_idle_claim_are_each_named() -> None:
    registry = Registry()
    schema = {"type": "object", "required": ["a", "b"], "properties": {"a": {"type": "string"}}}
    for rule_id, owns in (("TM001", ("",)), ("TM002", ("/a", "/c")), ("TM003", ("type:/a",))):
        rule(id=rule_id, slug=rule_id.lower(), title="t", source="s", statement="s", applies_to=("manifest",),
             owns=owns, registry=registry)(_nothing)  # fmt: skip
    assert ownership_problems("manifest", schema, registry) == [
        "manifest: a type error at /a is owned by TM002, TM003 (exactly one expected)",
        "manifest: no rule owns a required error at /b",
        "manifest: TM002 claims '/c', which no schema error can reach",
    ]


def test_schema_locations_follow_refs_arrays_and_alternatives() -> None:
    locations = schema_locations(manifest_schema())
    assert ("enum", "/phases/*/name") in locations
    assert ("format", "/phases/*/timestamp") in locations
    assert ("required", "/execution_context/priorityId") in locations
    assert ("type", "/rollback_proof/rollback_triggered") in locations
    assert ("required", "/status") in schema_locations(note_schema())


def test_an_opt_in_rule_cannot_own_structural_errors() -> None:
    with pytest.raises(ValueError, match="opt-in"):
        rule(id="TM001", slug="x", title="t", source="s", statement="s", applies_to=("manifest",),
             opt_in=CHECK_REFS.key, owns=("/a",), registry=Registry())(_nothing)  # fmt: skip


def test_a_malformed_claim_is_refused() -> None:
    with pytest.raises(ValueError, match="claims 'phases'"):
        rule(id="TM001", slug="x", title="t", source="s", statement="s", applies_to=("manifest",),
             owns=("phases",), registry=Registry())(_nothing)  # fmt: skip


_LOCATIONS = sorted((kind, kw, where) for kind in SCHEMAS for kw, where in schema_locations(SCHEMAS[kind]()))


@given(st.sampled_from(_LOCATIONS), st.lists(st.integers(0, 10_000), min_size=4, max_size=4))
def test_a_concrete_error_goes_to_the_owner_of_its_location(location: tuple[str, str, str], indices: list[int]) -> None:
    kind, keyword, pattern = location
    parts = iter(indices)
    where = re.sub(r"\*", lambda _: str(next(parts)), pattern)
    (owner,) = REGISTRY.owners(kind, keyword, pattern)
    assert REGISTRY.owner(kind, keyword, where) == owner


def test_known_errors_keep_their_owners() -> None:
    assert REGISTRY.owner("manifest", "format", "/phases/3/timestamp") == "TM011"
    assert REGISTRY.owner("manifest", "type", "/phases/3/timestamp") == "TM009"
    assert REGISTRY.owner("manifest", "enum", "/phases/3/name") == "TM007"
    assert REGISTRY.owner("manifest", "required", "/execution_context") == "TM004"
    assert REGISTRY.owner("manifest", "maxIssues", "") == "TM001"
    assert REGISTRY.owner("scheduler-note", "required", "/reason") == "TN002"
    assert REGISTRY.owner("scheduler-note", "minLength", "/reason") == "TN004"


def _ranges() -> dict[str, tuple[str, str]]:
    doc = rules_package.__doc__ or ""
    found = re.findall(r"``rules/(\w+)\.py``\s+(T[MN]\d{3})-(T[MN]\d{3})", doc)
    return {f"pytest_torghut_rollout.checking.rules.{module}": (first, last) for module, first, last in found}


def test_each_rule_lives_in_the_module_of_its_id_range() -> None:
    ranges = _ranges()
    assert ranges, "rules/__init__.py documents the id ranges"
    for r in REGISTRY:
        module = r.defined_at[0]
        first, last = ranges[module]
        assert r.id[:2] == first[:2], f"{r.id} is declared in {r.location}"
        assert first <= r.id <= last, f"{r.id} is declared in {r.location}"


def test_the_documented_ranges_do_not_overlap() -> None:
    spans = sorted(_ranges().values())
    for (_, end), (start, _) in pairwise(spans):
        assert end < start
