"""The waivers file: reading, every way it can be malformed, matching and expiry (no pytest run)."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.checking.waivers import Waiver, WaiverBook, WaiverFileError, load_waivers

TODAY = date(2026, 6, 30)

WAIVER = """\
[[waiver]]
rule = "TM012"
artifact = "20260402T*/rollout/phase-manifest.json"
reason = "  producer writes one transition too few, fixed in 2.3  "
owner = "alice@example.com"
expires = 2026-07-01
"""


def load(tmp_path: Path, text: str, today: date = TODAY) -> WaiverBook:
    """Write ``text`` as ``waivers.toml`` and read it back."""
    path = tmp_path / "waivers.toml"
    path.write_text(text, encoding="utf-8")
    return load_waivers(path, today=today, rules=REGISTRY)


BASE = Waiver(
    index=1,
    rule="TM012",
    artifact="*/rollout/phase-manifest.json",
    reason="known",
    owner="alice@example.com",
    expires=date(2026, 7, 1),
)


def waiver(**fields: Any) -> Waiver:
    """A waiver of TM012 on every manifest, live until 2026-07-01, with ``fields`` changed."""
    return replace(BASE, **fields)


def test_a_waiver_is_read_with_its_position_and_a_trimmed_reason(tmp_path: Path) -> None:
    book = load(tmp_path, WAIVER + "\n" + WAIVER.replace("TM012", "TM005"))
    assert book.path == tmp_path / "waivers.toml"
    assert book.today == TODAY
    first, second = book.waivers
    assert first == Waiver(
        index=1,
        rule="TM012",
        artifact="20260402T*/rollout/phase-manifest.json",
        reason="producer writes one transition too few, fixed in 2.3",
        owner="alice@example.com",
        expires=date(2026, 7, 1),
    )
    assert (second.index, second.rule) == (2, "TM005")


def test_an_empty_file_waives_nothing(tmp_path: Path) -> None:
    assert load(tmp_path, "# no accepted risks\n").waivers == ()


def test_a_waiver_expires_on_its_date_not_the_day_after() -> None:
    live = waiver(expires=date(2026, 7, 1))
    assert not live.expired(date(2026, 6, 30))
    assert live.expired(date(2026, 7, 1))
    assert live.expired(date(2027, 1, 1))


def test_the_book_splits_live_from_expired_and_matches_only_live_waivers() -> None:
    gone = waiver(index=1, expires=date(2026, 6, 30), owner="bob@example.com")
    live = waiver(index=2)
    also = waiver(index=3, owner="carol@example.com")
    book = WaiverBook(path=Path("w.toml"), waivers=(gone, live, also), today=TODAY)
    assert book.expired == (gone,)
    assert book.live == (live, also)
    # The first live waiver in file order wins; the expired one is still found to explain a failure.
    assert book.waiver_for("TM012", "run1/rollout/phase-manifest.json") == live
    assert book.expired_for("TM012", "run1/rollout/phase-manifest.json") == gone
    assert book.waiver_for("TM013", "run1/rollout/phase-manifest.json") is None


@pytest.mark.parametrize(
    ("glob", "artifact", "matches"),
    [
        pytest.param("run1/rollout/phase-manifest.json", "run1/rollout/phase-manifest.json", True, id="exact"),
        pytest.param("*", "20260402T093000/rollout/phase-manifest.json", True, id="star-crosses-slashes"),
        pytest.param("2026040?T*/rollout/*", "20260402T093000/rollout/phase-manifest.json", True, id="question"),
        pytest.param("notes/iteration-[12].md", "notes/iteration-2.md", True, id="class"),
        pytest.param("notes/iteration-[12].md", "notes/iteration-3.md", False, id="class-miss"),
        pytest.param("RUN1/*", "run1/rollout/phase-manifest.json", False, id="case-sensitive"),
        pytest.param("run1", "run1/rollout/phase-manifest.json", False, id="whole-path"),
    ],
)
def test_the_artifact_glob_is_fnmatchcase_over_the_whole_test_id_path(glob: str, artifact: str, matches: bool) -> None:
    assert waiver(artifact=glob).matches("TM012", artifact) is matches
    assert not waiver(artifact=glob).matches("TM013", artifact)


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        pytest.param(
            "[[waiver]\nrule = 1\n",
            "is not valid TOML: Expected ']]' at the end of an array declaration (at line 1, column 9)",
            id="not-toml",
        ),
        pytest.param(
            WAIVER + "\n" + WAIVER.replace("2026-07-01", "2026-02-30"),
            "is not valid TOML: Invalid date or datetime (at line 13, column 11), in waiver 2",
            id="impossible-date",
        ),
        pytest.param(
            WAIVER.replace('owner = "alice@example.com"\n', ""), "  waiver 1: owner is missing", id="no-owner"
        ),
        pytest.param(WAIVER.replace("expires = 2026-07-01\n", ""), "  waiver 1: expires is missing", id="no-date"),
        pytest.param(
            WAIVER.replace("TM012", "TM999"),
            "  waiver 1: rule 'TM999' is not a rule of this plugin (`torghut-rollout rules` lists them)",
            id="unknown-rule",
        ),
        pytest.param(
            WAIVER.replace("2026-07-01", '"2026-07-01"'),
            "  waiver 1: expires must be a TOML date, unquoted (expires = 2026-06-30), found the string '2026-07-01'",
            id="quoted-date",
        ),
        pytest.param(
            WAIVER.replace("2026-07-01", "2026-07-01T00:00:00Z"),
            "  waiver 1: expires must be a TOML date, unquoted (expires = 2026-06-30), found a date-time",
            id="date-time",
        ),
        pytest.param(
            WAIVER.replace("2026-07-01", "12:00:00"),
            "  waiver 1: expires must be a TOML date, unquoted (expires = 2026-06-30), found a time",
            id="time",
        ),
        pytest.param(
            WAIVER + 'ticket = "PROJ-12"\n',
            "  waiver 1: unknown key 'ticket' (a waiver has rule, artifact, reason, owner, expires)",
            id="unknown-key",
        ),
        pytest.param(
            WAIVER.replace("  producer writes one transition too few, fixed in 2.3  ", "  "),
            "  waiver 1: reason is empty",
            id="blank-reason",
        ),
        pytest.param(WAIVER.replace('"TM012"', "12"), "  waiver 1: rule must be a string, found an integer", id="int"),
        pytest.param(
            'version = 1\n[[waiver]]\nrule = "TM012"\n' + WAIVER.split("\n", 2)[2],
            "  unknown top-level key 'version'; write each waiver as a [[waiver]] table",
            id="top-level-key",
        ),
        pytest.param(
            WAIVER.replace("[[waiver]]", "[waiver]"),
            "  'waiver' must be an array of tables; write each waiver as a [[waiver]] table",
            id="single-table",
        ),
        pytest.param(
            "waiver = [1]\n",
            "  waiver 1: must be a table of rule, artifact, reason, owner, expires, found an integer",
            id="not-a-table",
        ),
    ],
)
def test_a_malformed_file_names_the_file_the_waiver_and_the_problem(tmp_path: Path, text: str, problem: str) -> None:
    with pytest.raises(WaiverFileError) as excinfo:
        load(tmp_path, text)
    message = str(excinfo.value)
    assert message.startswith(f"waivers file {tmp_path / 'waivers.toml'} ")
    assert problem in message.splitlines() or message.endswith(problem), message


def test_every_problem_of_every_waiver_is_listed(tmp_path: Path) -> None:
    second = WAIVER.replace("TM012", "TM999").replace('owner = "alice@example.com"\n', 'owner = ""\n')
    with pytest.raises(WaiverFileError) as excinfo:
        load(tmp_path, WAIVER.replace("expires = 2026-07-01\n", "") + "\n" + second)
    assert str(excinfo.value).splitlines()[1:] == [
        "  waiver 1: expires is missing",
        "  waiver 2: owner is empty",
        "  waiver 2: rule 'TM999' is not a rule of this plugin (`torghut-rollout rules` lists them)",
    ]


def test_a_missing_or_unreadable_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(WaiverFileError, match=r"waivers file .*gone\.toml does not exist"):
        load_waivers(tmp_path / "gone.toml", today=TODAY, rules=REGISTRY)
    (tmp_path / "latin1.toml").write_bytes(b"# caf\xe9\n")
    with pytest.raises(WaiverFileError, match=r"latin1\.toml is not UTF-8 text \(byte 5\)"):
        load_waivers(tmp_path / "latin1.toml", today=TODAY, rules=REGISTRY)
    with pytest.raises(WaiverFileError, match=r"cannot be read: Is a directory"):
        load_waivers(tmp_path, today=TODAY, rules=REGISTRY)
