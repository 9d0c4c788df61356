"""The report wire format: property names declared once, outcomes sent as plain strings."""

from __future__ import annotations

import json

from pytest_torghut_rollout.plugin.wire import PROPERTY_PREFIX, CheckOutcome, Prop

NAMES = {name: value for name, value in vars(Prop).items() if name.isupper()}


def test_every_property_name_is_prefixed_and_unique() -> None:
    assert NAMES
    assert all(value.startswith(PROPERTY_PREFIX) for value in NAMES.values())
    assert len(set(NAMES.values())) == len(NAMES)


def test_property_names_are_exact_strings_that_xdist_can_send() -> None:
    assert all(type(value) is str for value in NAMES.values())


def test_an_outcome_reads_as_its_value_in_json_and_as_text() -> None:
    assert json.dumps({"outcome": CheckOutcome.NOT_EVALUATED}) == '{"outcome": "not-evaluated"}'
    assert type(str(CheckOutcome.WAIVED)) is str
    assert str(CheckOutcome.WAIVED) == "waived"
