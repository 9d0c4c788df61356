"""RFC 3339 date-times as the grammar says: nothing around them, leap seconds and year 0000 allowed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_torghut_rollout.contract.timestamps import is_rfc3339


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-05T14:30:41.507112+00:00",
        "2026-03-05T14:30:41Z",
        "2026-03-05t14:30:41z",
        "1998-12-31T23:59:60Z",
        "1998-12-31T15:59:60.123-08:00",
        "0000-01-01T00:00:00Z",
        "0000-02-29T00:00:00Z",
        "2024-02-29T00:00:00+14:00",
    ],
)
def test_valid_date_times_are_accepted(value: str) -> None:
    assert is_rfc3339(value)


@pytest.mark.parametrize(
    "value",
    [
        "2026-03-05T14:30:41.507112+00:00\n",
        "\n2026-03-05T14:30:41Z",
        " 2026-03-05T14:30:41Z",
        "2026-03-05T14:30:41Z ",
        "2026-03-05T14:30:41",
        "2026-03-05 14:30:41Z",
        "2026-02-30T10:00:00Z",
        "2025-02-29T10:00:00Z",
        "1900-02-29T10:00:00Z",
        "2026-13-01T10:00:00Z",
        "2026-04-31T10:00:00Z",
        "2026-04-01T24:00:00Z",
        "2026-04-01T23:60:00Z",
        "1998-12-31T23:59:61Z",
        "1998-12-31T23:58:60Z",
        "1998-12-31T22:59:60Z",
        "2026-04-01T10:00:00+24:00",
        "2026-04-01T10:00:00+0000",
        "2026-04-01T10:00:00.Z",
        "\uff12\uff10\uff12\uff16-04-01T10:00:00Z",  # full-width digits
        "",
    ],
)
def test_invalid_date_times_are_refused(value: str) -> None:
    assert not is_rfc3339(value)


@pytest.mark.parametrize("value", [20260402, None, 1.5, True, b"2026-03-05T14:30:41Z", ["2026-03-05T14:30:41Z"]])
def test_only_strings_are_date_times(value: object) -> None:
    assert not is_rfc3339(value)


offsets = st.integers(min_value=-(23 * 60 + 59), max_value=23 * 60 + 59).map(
    lambda minutes: timezone(timedelta(minutes=minutes))
)


@given(st.datetimes(timezones=st.just(UTC) | offsets))
def test_every_aware_isoformat_is_a_date_time(moment: datetime) -> None:
    assert is_rfc3339(moment.isoformat())


@given(st.datetimes(timezones=offsets), st.sampled_from(["\n", " ", "\t", "x", "\r\n", "\x00"]), st.booleans())
def test_anything_around_a_date_time_is_refused(moment: datetime, extra: str, before: bool) -> None:
    text = moment.isoformat()
    assert not is_rfc3339(extra + text if before else text + extra)


@given(st.datetimes())
def test_a_naive_date_time_is_refused(moment: datetime) -> None:
    assert not is_rfc3339(moment.isoformat())
