"""The contract data is the one source: the models, schemas and producer agree with it."""

from __future__ import annotations

from pytest_torghut_rollout.checking.model import DEFAULT_UNHEALTHY_DRIFT_STATES
from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.contract.layout import NOTE_NAME as LAYOUT_NOTE_NAME
from pytest_torghut_rollout.contract.models import (
    ADJACENT_TRANSITIONS,
    NOTE_FIELDS,
    NOTE_NAME,
    PHASE_FIELDS,
    PHASE_ORDER,
    PHASES,
    REQUIRED_SLO_GATES,
    Phase,
    Writer,
    count_word,
    manifest_schema,
    note_name,
    note_number,
    note_schema,
)
from pytest_torghut_rollout.producer import LANE_PHASES
from pytest_torghut_rollout.producer.manifest import GOVERNED_PHASES


def test_the_phase_table_gives_the_schema_its_phase_names() -> None:
    names = manifest_schema()["$defs"]["Phase"]["properties"]["name"]["enum"]
    assert names == list(PHASE_ORDER) == [p.name for p in PHASES]


def test_every_phase_requires_at_least_one_gate_and_gate_ids_are_unique() -> None:
    gates = [g for p in PHASES for g in p.gates]
    assert all(p.gates for p in PHASES)
    assert len(gates) == len(set(gates))
    assert {p.name: p.gates for p in PHASES} == REQUIRED_SLO_GATES


def test_the_lane_writes_a_prefix_of_the_order_and_the_scheduler_the_rest() -> None:
    writers = [p.writer for p in PHASES]
    first_scheduler = writers.index(Writer.SCHEDULER)
    assert set(writers[:first_scheduler]) == {Writer.LANE}
    assert set(writers[first_scheduler:]) == {Writer.SCHEDULER}
    assert PHASE_ORDER[first_scheduler:] == GOVERNED_PHASES
    assert set(LANE_PHASES) < set(PHASE_ORDER[:first_scheduler])


def test_transitions_join_each_adjacent_pair() -> None:
    assert len(ADJACENT_TRANSITIONS) == len(PHASE_ORDER) - 1
    assert all(a == PHASE_ORDER[i] and b == PHASE_ORDER[i + 1] for i, (a, b) in enumerate(ADJACENT_TRANSITIONS))


def test_phase_fields_are_the_models_required_fields() -> None:
    assert tuple(n for n, f in Phase.model_fields.items() if f.is_required()) == PHASE_FIELDS


def test_note_fields_are_the_schemas_required_keys() -> None:
    assert tuple(note_schema()["required"]) == NOTE_FIELDS


def test_the_note_name_pattern_is_defined_once() -> None:
    assert LAYOUT_NOTE_NAME is NOTE_NAME
    assert note_number(note_name(12)) == 12
    assert note_number("iteration-012.md") is None


def test_rule_titles_count_what_the_table_holds() -> None:
    assert count_word(len(PHASE_ORDER)) in REGISTRY["TM007"].title
    assert count_word(len(ADJACENT_TRANSITIONS)) in REGISTRY["TM012"].title
    assert all(", ".join(p.gates) in REGISTRY["TM015"].statement for p in PHASES)


def test_drift_states_come_from_the_contract_data() -> None:
    assert DEFAULT_UNHEALTHY_DRIFT_STATES == ("drift_detected", "unhealthy")


def test_phase_abbreviations_are_unique_and_short() -> None:
    abbreviations = [p.abbreviation for p in PHASES]
    assert len(set(abbreviations)) == len(abbreviations)
    assert all(0 < len(a) <= 8 for a in abbreviations)
