"""The fast paths (compiled schema validator, libyaml's emitter) give exactly the reference paths' results.

Every check runs twice: as the plugin runs it, and inside ``schema.reference_only()``, where
only pure-Python jsonschema and PyYAML's own parser are used. Artifacts must come out equal in
everything the rules and the reports see: kind, parsed data (types included), error text, and
schema issues. ``pytest tests/test_fast_paths.py --hypothesis-show-statistics`` prints how many
examples ran and which path decided them; ``TORGHUT_DIFFERENTIAL_EXAMPLES=N`` runs N of each.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar

import pytest
import yaml
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pytest_torghut_rollout.checking.discovery import discover, manifest_artifact, note_artifact
from pytest_torghut_rollout.checking.model import Artifact
from pytest_torghut_rollout.checking.schema import (
    SchemaKind,
    compiled_verdict,
    manifest_issues,
    note_issues,
    reference_only,
)
from pytest_torghut_rollout.contract.models import NoteOutcome, SchedulerNote
from pytest_torghut_rollout.producer import (
    NOTE_FORMATS,
    NoteFormat,
    Scenario,
    build_note,
    manifest_data,
    note_fields,
    notes,
    render_note,
    write_scenario,
)
from pytest_torghut_rollout.producer.jsontext import dumps_indented
from pytest_torghut_rollout.testing.mutations import Mutation, candidates
from pytest_torghut_rollout.testing.strategies import manifests, mutations, scenarios, scheduler_notes

FIXTURES = Path(__file__).parent.parent / "fixtures"
EXAMPLES = int(os.environ.get("TORGHUT_DIFFERENTIAL_EXAMPLES", "300"))
DIFFERENTIAL = settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
)
TREES = settings(max_examples=max(EXAMPLES // 10, 20), deadline=None, suppress_health_check=[HealthCheck.too_slow])
NOWHERE = Path("/nonexistent/torghut")
T = TypeVar("T")


def _both(read: Callable[[], T]) -> tuple[T, T]:
    """``read()`` on the fast paths, then on the reference paths only."""
    fast = read()
    with reference_only():
        reference = read()
    return fast, reference


def _raised(read: Callable[[], T]) -> tuple[str, str] | None:
    """The exception ``read()`` escapes with, if any, on both paths alike.

    PyYAML's constructors raise plain Python errors for some explicit tags with odd values
    (``!!int`` on nothing: IndexError); discovery lets those through on both paths.
    """
    outcomes: list[tuple[str, str] | None] = []
    for reference in (False, True):
        try:
            if reference:
                with reference_only():
                    read()
            else:
                read()
        except (ValueError, TypeError, AttributeError, IndexError) as exc:
            outcomes.append((type(exc).__name__, str(exc)))
        else:
            outcomes.append(None)
    assert outcomes[0] == outcomes[1]
    return outcomes[0]


def _seen(artifact: Artifact) -> tuple[Any, ...]:
    """What rules and reports see of an artifact; ``repr`` keeps 1, 1.0 and True apart."""
    return (
        artifact.kind,
        artifact.display,
        repr(artifact.data),
        artifact.error,
        artifact.number,
        artifact.members,
        artifact.sha256,
        artifact.schema_issues,
    )


def _assert_same_verdict(kind: SchemaKind, data: Any) -> None:
    """The compiled validator accepts exactly what the reference finds no issue in, when it decides."""
    with reference_only():
        reference = manifest_issues(data) if kind == "manifest" else note_issues(data)
    verdict = compiled_verdict(kind, data)
    event(f"{kind}: " + {None: "not JSON data, reference decides", True: "valid", False: "invalid"}[verdict])
    if verdict is not None:
        assert verdict == (not reference), reference


# -- raw structural mutations ---------------------------------------------------------------------

#: Date-time-like strings around RFC 3339's edges: impossible dates, leap seconds, year 0000,
#: missing or malformed offsets, lowercase separators, and junk before or after.
DATE_TIME_LIKE = st.builds(
    lambda junk_before, y, mo, d, t, h, mi, s, frac, offset, junk_after: (
        f"{junk_before}{y:04d}-{mo:02d}-{d:02d}{t}{h:02d}:{mi:02d}:{s:02d}{frac}{offset}{junk_after}"
    ),
    st.sampled_from(["", "", "", " ", "\n", "x"]),
    st.sampled_from([0, 1, 1900, 2000, 2024, 2026, 9999]),
    st.integers(0, 13),
    st.integers(0, 32),
    st.sampled_from(["T", "t", " ", "_"]),
    st.integers(0, 25),
    st.integers(0, 60),
    st.integers(0, 61),
    st.sampled_from(["", ".5", ".507112", ".", ".x"]),
    st.sampled_from(["Z", "z", "", "+00:00", "-08:00", "+14:00", "+24:00", "+05:60", "+0530", "-00:00", "+5:30"]),
    st.sampled_from(["", "", "", "\n", " ", "Z", "\r\n"]),
)
ODD_VALUES: st.SearchStrategy[Any] = st.one_of(
    st.none(),
    st.booleans(),
    st.sampled_from([0, 1, -1, 6, 6.0, -0.0, 0.5, 1.0, 2**63, 2**64 + 1, 10**30, -(10**30), 1e308, 1e-308]),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(
        ["", " ", "pass", "fail", "skip", "skipped", "lane_completed", "paper", "live", "governance-slo-v1"]
    ),
    st.text(max_size=12),
    DATE_TIME_LIKE,
    st.lists(st.integers(0, 3) | st.text(max_size=3), max_size=3),
    st.dictionaries(
        st.sampled_from(["id", "status", "name", "x"]), st.integers(0, 3) | st.text(max_size=3), max_size=3
    ),
)


def _paths(data: Any, prefix: tuple[str | int, ...] = ()) -> list[tuple[str | int, ...]]:
    """Every path into ``data``, shallow ones first (they are what the schema constrains most)."""
    found: list[tuple[str | int, ...]] = []
    children = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in children:
        found.append((*prefix, key))
        found.extend(_paths(value, (*prefix, key)))
    return sorted(found, key=len)


@st.composite
def structural_edits(draw: st.DrawFn, document: dict[str, Any]) -> dict[str, Any]:
    """``document`` with one to three edits: a wrong value, a removed or renamed key, an extra key."""
    data = json.loads(json.dumps(document))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(data)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = data
        for part in path[:-1]:
            parent = parent[part]
        last = path[-1]
        action = draw(st.sampled_from(["value", "value", "value", "remove", "extra", "rename"]))
        if action == "value":
            parent[last] = draw(ODD_VALUES)
        elif action == "remove":
            del parent[last]
        elif action == "extra" and isinstance(parent, dict):
            parent[draw(st.sampled_from(["extra", "status", "outcome", "x-note", ""]))] = draw(ODD_VALUES)
        elif action == "rename" and isinstance(parent, dict):
            parent[f"{last}_"] = parent.pop(last)
    # Through JSON text, as discovery reads it: big ints stay ints, NaN and Infinity survive.
    edited: dict[str, Any] = json.loads(json.dumps(data))
    return edited


@st.composite
def edited_manifests(draw: st.DrawFn) -> dict[str, Any]:
    """A producer manifest as JSON data, structurally edited."""
    return draw(structural_edits(manifest_data(draw(manifests()))))


@st.composite
def edited_note_fields(draw: st.DrawFn) -> dict[str, Any]:
    """A producer note's fields, structurally edited."""
    note = draw(scheduler_notes())
    fields = note_fields(note.model_copy(update={"iteration": draw(st.integers(1, 10_000))}))
    return draw(structural_edits(fields))


# -- YAML text ------------------------------------------------------------------------------------

YAML_TOKENS = st.sampled_from(
    [
        *"ab1 \n-:?[]{},#&*'\"%@`.\\\t!|>\r\x07\u00e9\ufeff\x85\u2028",
        *("- ", ": ", "\n  ", "\n- ", "\n  a: ", "~", "null", "yes", "No", "0x1f", "0o17", "1_000", "1e3", ".inf"),
        *(".NaN", "12:30:00", "190:20:30", "2026-04-02", "2026-04-02T09:30:00Z", "2026-04-02 09:30:00", "<<: "),
        *("&a ", "*a", "---", "...", "%YAML 1.1\n", "!!str ", "!!binary ", "!!set ", "!!omap ", "!!int ", "! "),
        *("| ", "|-\n", ">+\n", "|#", "'it''s'", '"\\x41"', '"\\u2028"', '"\\\n', "? ", "{a: 1}", "[1, 2]", "1: "),
    ]
)


def _note(text: str) -> Artifact:
    path = NOWHERE / "notes" / "iteration-3.md"
    return note_artifact(text, path=path, root=NOWHERE, display="notes/iteration-3.md", number=3)


def _manifest(data: dict[str, Any]) -> Artifact:
    path = NOWHERE / "run" / "rollout" / "phase-manifest.json"
    return manifest_artifact(data, path=path, root=path.parent.parent, display="run/rollout/phase-manifest.json")


def _conforming_note() -> dict[str, Any]:
    moment = datetime(2026, 4, 2, 9, 30, tzinfo=UTC)
    note = build_note(outcome=NoteOutcome.BLOCKED, timestamp=moment, reason="no_signals_in_window", target="paper")
    return note_fields(note.model_copy(update={"iteration": 3}))


# -- the tests ------------------------------------------------------------------------------------


def test_every_fixture_reads_the_same_on_both_paths() -> None:
    fast, reference = _both(lambda: discover([FIXTURES]))
    assert [_seen(a) for a in fast] == [_seen(a) for a in reference]
    checked = [a for a in fast if a.kind in ("manifest", "scheduler-note") and a.error is None]
    assert len(checked) > 80
    decided = 0
    for artifact in checked:
        kind: SchemaKind = "manifest" if artifact.kind == "manifest" else "note"
        verdict = compiled_verdict(kind, artifact.data)
        decided += verdict is not None
        if verdict is not None:
            assert verdict == (not artifact.schema_issues), artifact.display
    assert decided == len(checked)


@DIFFERENTIAL
@given(data=edited_manifests())
def test_edited_manifests_get_the_same_schema_issues_on_both_paths(data: dict[str, Any]) -> None:
    _assert_same_verdict("manifest", data)
    fast, reference = _both(lambda: _manifest(data))
    assert _seen(fast) == _seen(reference)


@DIFFERENTIAL
@given(fields=edited_note_fields(), fmt=st.sampled_from(NOTE_FORMATS))
def test_edited_notes_get_the_same_schema_issues_on_both_paths(fields: dict[str, Any], fmt: NoteFormat) -> None:
    _assert_same_verdict("note", fields)
    if fmt == "json":
        text = json.dumps(fields, indent=2, sort_keys=True) + "\n"
    else:
        text = "---\n" + yaml.safe_dump(fields, sort_keys=True, default_flow_style=False) + "---\n\n# Note\n"
    fast, reference = _both(lambda: _note(text))
    assert _seen(fast) == _seen(reference)


#: Text around what libyaml's emitter may write: YAML indicators, number- and date-like words,
#: long words that wrap, control and non-ASCII characters.
EMITTED_TEXT = st.one_of(
    st.lists(
        st.sampled_from(
            [
                *" abcXYZ019-:?[]{},#&*!|>'\"%@`.\\~=+_/\t\n\x85\u2028\u00e9\U0001f600",
                *("  ", ": ", " #", "- ", "null", "~", "yes", "No", "1e3", "0x1f", "1_000", ".inf", "2026-04-02"),
                *("12:30", "<<", "---", "...", "a" * 40, "word " * 10, "x" * 90),
            ]
        ),
        max_size=30,
    ).map("".join),
    st.text(max_size=100),
)
KEYS = st.one_of(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,70}", fullmatch=True), st.text(max_size=10))


@DIFFERENTIAL
@given(note=scheduler_notes(), reason=EMITTED_TEXT, error=EMITTED_TEXT, extra=st.dictionaries(KEYS, EMITTED_TEXT))
def test_notes_are_written_byte_for_byte_alike_with_libyaml_and_pyyaml(
    note: SchedulerNote, reason: str, error: str, extra: dict[str, str]
) -> None:
    changed = note.model_copy(update={"reason": reason or "x", "error": error, "throughput": extra or None})
    fast, reference = _both(lambda: render_note(changed))
    event("libyaml writes" if notes._libyaml_writes_alike(note_fields(changed)) else "PyYAML writes")
    assert fast == reference


@TREES
@given(mutation=mutations(), scenario=scenarios(min_cycles=2, completed_first=True), data=st.data())
def test_mutated_trees_read_the_same_on_both_paths(mutation: Mutation, scenario: Scenario, data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_scenario(scenario, root)
        options = list(candidates(mutation, discover([root])))
        assume(options)
        target = data.draw(st.sampled_from(options), label="target")
        assert mutation.apply(target) is not None
        fast, reference = _both(lambda: discover([root]))
        event(f"mutation target: {mutation.target}")
        assert [_seen(a) for a in fast] == [_seen(a) for a in reference]


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        (6, True),
        (6.0, True),
        (6.5, False),
        (True, False),
        (0, False),
        (10**30, True),
        (-(10**30), False),
        (float("nan"), False),
        (float("inf"), False),
        ("6", False),
    ],
    ids=repr,
)
def test_both_paths_agree_on_what_an_integer_iteration_is(value: Any, valid: bool) -> None:
    fields = _conforming_note()
    fields["iteration"] = json.loads(json.dumps(value))
    with reference_only():
        reference = note_issues(fields)
    assert (reference == ()) is valid
    assert compiled_verdict("note", fields) is valid
    assert note_issues(fields) == reference


@pytest.mark.parametrize(
    ("value", "valid"),
    [
        ("2026-04-02T09:30:00Z", True),
        ("1998-12-31T23:59:60Z", True),
        ("1998-12-31T15:59:60-08:00", True),
        ("1998-12-31T22:59:60Z", False),
        ("0000-01-01T00:00:00Z", True),
        ("2026-02-30T09:30:00Z", False),
        ("2026-04-02T09:30:00Z\n", False),
        ("2026-04-02T09:30:00", False),
        ("2026-04-02 09:30:00Z", False),
    ],
)
def test_both_paths_check_date_times_as_rfc_3339(value: str, valid: bool) -> None:
    fields = _conforming_note()
    fields["timestamp"] = value
    assert compiled_verdict("note", fields) is valid
    with reference_only():
        assert (note_issues(fields) == ()) is valid


def test_values_json_lacks_go_to_the_reference_validator() -> None:
    fields = _conforming_note()
    fields["iteration"] = Decimal(6)
    assert compiled_verdict("note", fields) is None
    assert [i.keyword for i in note_issues(fields)] == ["type"]


JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.sampled_from([10**30, -(2**64), 6.0, -0.0, 1e308, 1e-308, 1e16, 0.1])
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=30,
)


@DIFFERENTIAL
@given(value=JSON_VALUES, ensure_ascii=st.booleans())
def test_indented_json_is_written_byte_for_byte_as_json_dumps_writes_it(value: Any, ensure_ascii: bool) -> None:
    expected = json.dumps(value, indent=2, sort_keys=True, ensure_ascii=ensure_ascii)
    assert dumps_indented(value, ensure_ascii=ensure_ascii) == expected


@pytest.mark.parametrize("value", [(1, 2), {1: "a", 2.5: None}, [True, {"a": (0,)}]], ids=repr)
def test_values_json_turns_into_json_are_left_to_json_dumps(value: Any) -> None:
    assert dumps_indented(value) == json.dumps(value, indent=2, sort_keys=True)


@pytest.mark.parametrize("value", [{"a": Decimal(1)}, [b"x"]], ids=repr)
def test_values_json_cannot_write_fail_as_json_dumps_fails(value: Any) -> None:
    with pytest.raises(TypeError):
        dumps_indented(value)


# -- front matter text: libyaml and PyYAML's own parser ---------------------------------------------

#: Pieces of YAML around the edges of what the strict loader refuses: repeated keys, flow and
#: block collections, quoting, special floats, tags, anchors, aliases, comments and odd spacing.
YAML_PIECES = st.sampled_from(
    [
        "iteration: 3",
        "iteration: 3",
        "outcome: lane_completed",
        "timestamp: 2026-04-02T10:00:00Z",
        "key: 1.0",
        "key: .nan",
        "key: -.inf",
        "key: 0x1f",
        "key: 1_000",
        "key: 0o17",
        "key: ~",
        "key: yes",
        "key: 'quoted: text'",
        'key: "esc \\u00e9 \\t"',
        "key: [1, 2, {a: b}]",
        "key: {a: 1, a: 2}",
        "? complex\n: value",
        "list:\n  - a\n  - b: c",
        "  indented: bad",
        "\tkey: tab",
        "key: |\n  block\n  text",
        "key: >\n  folded",
        "# a comment",
        "key: value # trailing",
        "key: &a 1",
        "other: *a",
        "key: !!str 3",
        "key: !!binary aGk=",
        "key: !custom x",
        "1: int key",
        "null: null key",
        "[a, b]: seq key",
        "key: 'unterminated",
        "key: @reserved",
        "key: `reserved",
        "%YAML 1.1",
        "---",
        "...",
        "key: \u2028line separator",
        "ключ: значение",
        "",
    ]
)


def _front_matter_outcome(text: str) -> tuple[str, str]:
    from pytest_torghut_rollout.checking.parsing import ParseError, load_front_matter

    try:
        return "data", repr(load_front_matter(text))
    except (ParseError, yaml.YAMLError, ValueError, TypeError, AttributeError, IndexError) as exc:
        return type(exc).__name__, str(exc)


@DIFFERENTIAL
@given(
    lines=st.lists(YAML_PIECES, max_size=8),
    noise=st.text(alphabet=":-[]{},#'\"&*!|>?\t \n", max_size=6) | st.text(max_size=4),
    at=st.integers(min_value=0),
)
def test_front_matter_reads_the_same_with_libyaml_and_pyyaml(lines: list[str], noise: str, at: int) -> None:
    joined = "\n".join(lines)
    cut = at % (len(joined) + 1)
    text = joined[:cut] + noise + joined[cut:]
    fast, reference = _both(lambda: _front_matter_outcome(text))
    event("fast path eligible" if not any(m in text for m in "&*!\t|>%@`") else "reference parser only")
    event(f"outcome: {fast[0]}")
    assert fast == reference


def test_front_matter_is_composed_by_libyaml_when_it_can_be() -> None:
    from pytest_torghut_rollout.checking import parsing

    if parsing._FastStrictLoader is None:
        pytest.skip("PyYAML was built without libyaml here: only its own parser runs")
    composed: list[str] = []
    original = parsing._load

    def spy(loader: Any, *, plain: bool = False) -> Any:
        composed.append(type(loader).__name__)
        return original(loader, plain=plain)

    parsing._load = spy
    try:
        parsing.load_front_matter("iteration: 3\noutcome: lane_completed\n")
        with pytest.raises(parsing.ParseError, match="alias"):
            parsing.load_front_matter("key: &a 1\nother: *a\n")
    finally:
        parsing._load = original
    assert composed == ["_FastStrictLoader", "_StrictLoader"]


# The refusal walks that name a place run only when a plain walk has seen a problem: both must
# agree on whether there is one, or a refusal would be missed.
PLAIN_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=3) | st.binary(max_size=2) | st.dates(),
    lambda inner: (
        st.lists(inner, max_size=3)
        | st.dictionaries(st.text(max_size=2) | st.integers(0, 3) | st.booleans(), inner, max_size=3)
    ),
    max_leaves=8,
)


@DIFFERENTIAL
@given(value=PLAIN_VALUES)
def test_the_plain_json_walk_sees_what_the_naming_walk_refuses(value: Any) -> None:
    from pytest_torghut_rollout.checking import parsing

    try:
        parsing._refuse_non_json_at(value)
    except parsing.ParseError:
        refused = True
    else:
        refused = False
    event(f"refused: {refused}")
    assert parsing._is_json_data(value) is not refused


@DIFFERENTIAL
@given(lines=st.lists(YAML_PIECES, max_size=8))
def test_the_plain_key_walk_sees_what_the_naming_walk_refuses(lines: list[str]) -> None:
    from pytest_torghut_rollout.checking import parsing

    loader = parsing._StrictLoader("\n".join(lines))
    try:
        node = loader.get_single_node()
    except (yaml.YAMLError, parsing.ParseError):
        assume(False)
    finally:
        loader.dispose()
    assume(node is not None)
    assert node is not None  # for the type checker: assume() has already ruled it out
    try:
        parsing._refuse_repeated_keys_at(node)
    except parsing.ParseError:
        refused = True
    else:
        refused = False
    event(f"refused: {refused}")
    assert parsing._repeats_a_key(node) is refused


# -- front matter data: the plain constructor and PyYAML's constructor ------------------------------
#
# ``_plain_data`` makes the data of front matter libyaml composed, for the common shape; for any
# node it does not recognise it doubts, and PyYAML's constructor decides. Where it decides, its
# data must be exactly PyYAML's reference result (types, key order, -0.0 included); where the
# reference refuses or PyYAML's constructor is needed, it must doubt.

DOUBTED = "doubted"


def _exactly(value: Any) -> Any:
    """``value`` with every type spelled out: keeps 1, 1.0, True, -0.0 and str subclasses apart."""
    if isinstance(value, dict):
        return ("dict", [(_exactly(key), _exactly(child)) for key, child in value.items()])
    if isinstance(value, list):
        return ("list", [_exactly(child) for child in value])
    return (type(value).__name__, repr(value))


def _reference_outcome(text: str) -> tuple[str, Any]:
    """What PyYAML's own parser and constructor make of ``text``: exact data, or the refusal."""
    from pytest_torghut_rollout.checking.parsing import ParseError, load_front_matter

    with reference_only():
        try:
            return "data", _exactly(load_front_matter(text))
        except (ParseError, yaml.YAMLError, RecursionError, ValueError, TypeError, AttributeError, IndexError) as exc:
            return type(exc).__name__, str(exc)


def _fast_outcome(text: str) -> tuple[str, Any]:
    """What ``load_front_matter`` makes of ``text`` on the fast paths."""
    from pytest_torghut_rollout.checking.parsing import ParseError, load_front_matter

    try:
        return "data", _exactly(load_front_matter(text))
    except (ParseError, yaml.YAMLError, RecursionError, ValueError, TypeError, AttributeError, IndexError) as exc:
        return type(exc).__name__, str(exc)


def _plain(text: str) -> Any:
    """What the plain constructor alone makes of what libyaml composed: exact data or ``DOUBTED``.

    ``None`` (as a string, not data) when libyaml refuses the text or it holds composer marks.
    """
    from pytest_torghut_rollout.checking import parsing

    assert parsing._FastStrictLoader is not None
    if any(mark in text for mark in parsing._COMPOSER_MARKS):
        return "not for libyaml"
    try:
        loader = parsing._FastStrictLoader(text)
    except UnicodeEncodeError:  # a lone surrogate
        return "libyaml refuses"
    try:
        node = loader.get_single_node()
        if node is None:
            return "empty"
        return _exactly(parsing._plain_data(node, loader, 0))
    except parsing._Doubt:
        return DOUBTED
    except yaml.YAMLError:
        return "libyaml refuses"
    finally:
        loader.dispose()


def _assert_plain_is_reference(text: str) -> str:
    """The plain constructor gives exactly the reference data or doubts; the fast path as a whole
    gives exactly the reference outcome. Returns which decided."""
    reference = _reference_outcome(text)
    assert _fast_outcome(text) == reference
    plain = _plain(text)
    if isinstance(plain, tuple):
        assert reference == ("data", plain)
        return "plain constructor"
    if plain == DOUBTED:
        return "PyYAML's constructor (doubted)"
    return str(plain)


def _front_matter_text(note: str) -> str | None:
    """The front matter of a Markdown note, as discovery cuts it; ``None`` for any other note."""
    lines = note.lstrip().replace("\r\n", "\n").split("\n")
    if lines[0].strip() != "---":
        return None
    ends = [i for i, line in enumerate(lines[1:], 1) if line.strip() in ("---", "...")]
    return "\n".join(lines[1 : ends[0]]) if ends else None


needs_libyaml = pytest.mark.skipif(
    getattr(yaml, "CSafeLoader", None) is None, reason="PyYAML was built without libyaml here: only its own parser runs"
)


@needs_libyaml
def test_every_fixture_note_is_made_by_the_plain_constructor_exactly_as_pyyaml_makes_it() -> None:
    """Markdown notes as written, and every scheduler note's data (most fixture notes are JSON)
    written as front matter by PyYAML's emitter, block style and flow style."""
    markdown = [_front_matter_text(path.read_text("utf-8")) for path in sorted(FIXTURES.rglob("*.md"))]
    texts = [text for text in markdown if text is not None]
    assert len(texts) >= 4
    notes = [a.data for a in discover([FIXTURES]) if a.kind == "scheduler-note" and isinstance(a.data, dict)]
    assert len(notes) > 40
    for data in notes:
        texts.append(yaml.safe_dump(data, sort_keys=False, allow_unicode=True, default_flow_style=False))
        texts.append(yaml.safe_dump(data, sort_keys=True, default_flow_style=None, width=60))
    decided = [_assert_plain_is_reference(text) for text in texts]
    assert decided == ["plain constructor"] * len(texts)


@needs_libyaml
@pytest.mark.parametrize(
    ("runs", "faults"),
    [pytest.param(120, 12, id="120-runs-with-faults"), pytest.param(1000, 0, id="1000-runs", marks=pytest.mark.slow)],
)
def test_simulated_notes_are_made_by_the_plain_constructor_exactly_as_pyyaml_makes_them(
    tmp_path: Path, runs: int, faults: int
) -> None:
    from pytest_torghut_rollout.testing.simulate import SimulationOptions, simulate

    simulate(SimulationOptions(runs=runs, seed=7, out=tmp_path / "t", faults=faults))
    texts = [_front_matter_text(path.read_text("utf-8")) for path in (tmp_path / "t" / "notes").glob("*.md")]
    decided = [_assert_plain_is_reference(text) for text in texts if text is not None]
    assert len(decided) >= runs - faults
    # Every note the scheduler writes has the common shape: none is left to PyYAML.
    assert decided.count("plain constructor") >= len(decided) - faults


@needs_libyaml
@pytest.mark.parametrize(
    ("text", "decided"),
    [
        ("a: yes\nb: No\nc: ON\nd: off\ne: y\nf: N\ng: tRUE\nh: True", "plain constructor"),
        ("a: 0\nb: -0\nc: 0b1_01\nd: 0x1F\ne: 017\nf: 0o17\ng: 1_000\nh: 190:20:30\ni: 08\nj: 0_", "plain constructor"),
        ("a: 1.0\nb: .5\nc: -0.0\nd: 1e3\ne: 1.0e+3\nf: 1.0e3\ng: 190:20:30.15\nh: 6.", "plain constructor"),
        ("a: ~\nb: null\nc: NULL\nd: nULL\ne:\nf: ''\ng: \"\"", "plain constructor"),
        ("a: 2026-04-02\nb: 2026-04-02T09:30:00Z\nc: 2026-04-02 09:30:00.5 +01:00", "plain constructor"),
        ("a: 'it''s: yes'\nb: \"\\u00e9\\x41\\t\\\"\"\nc: 'yes'\nd: \"1\"", "plain constructor"),
        ("a:\n  b:\n  - 1\n  - c: d\n    e: [f, {g: h}]\n'k': v\nключ: значение 😀", "plain constructor"),
        ("- a\n- 1", "plain constructor"),
        ("plain text", "plain constructor"),
        ("a: 1\nb:\n  a: 1\n  c: 2\n  a: 3", "PyYAML's constructor (doubted)"),
        ("a: 1\n'a': 2", "PyYAML's constructor (doubted)"),
        ("1: a", "PyYAML's constructor (doubted)"),
        ("null: a", "PyYAML's constructor (doubted)"),
        ("[a]: b", "PyYAML's constructor (doubted)"),
        ("a: .inf", "PyYAML's constructor (doubted)"),
        ("a: [1, -.Inf]", "PyYAML's constructor (doubted)"),
        ("a: .NaN", "PyYAML's constructor (doubted)"),
        ("a: 1.0e+999", "PyYAML's constructor (doubted)"),
        ("a: " + "9" * 4301, "PyYAML's constructor (doubted)"),
        ("<<: {a: 1}\nb: 2", "PyYAML's constructor (doubted)"),
        ("a: <<", "PyYAML's constructor (doubted)"),
        ("a: =", "PyYAML's constructor (doubted)"),
        ("=: a", "PyYAML's constructor (doubted)"),
        ("[" * 70 + "]" * 70, "PyYAML's constructor (doubted)"),
        ("[" * 1001 + "]" * 1001, "libyaml refuses"),
        ("a: b\n---\nc: d", "libyaml refuses"),
        ("a: \ud800", "libyaml refuses"),
        ("a: &x 1\nb: *x", "not for libyaml"),
        ("", "empty"),
    ],
)
def test_the_plain_constructor_makes_what_it_recognises_and_doubts_the_rest(text: str, decided: str) -> None:
    assert _assert_plain_is_reference(text) == decided


@needs_libyaml
def test_a_repeated_key_is_refused_alike_whoever_constructs() -> None:
    from pytest_torghut_rollout.checking.parsing import ParseError, load_front_matter

    with pytest.raises(ParseError, match=r'^duplicate key "a" at /b/a \(line 6\)$'):
        load_front_matter("a: 1\nb:\n  a: 1\n  c: 2\n  a: 3")


#: Plain scalars around PyYAML 1.1's implicit resolvers: booleans in all spellings, integers in
#: all bases (sexagesimal too), floats, nulls, timestamps (strings for the strict loader), and
#: words that are none of these.
PLAIN_WORDS = [
    *("y", "Y", "yes", "Yes", "YES", "yEs", "n", "N", "no", "No", "NO", "true", "True", "TRUE", "tRue"),
    *("false", "False", "FALSE", "on", "On", "ON", "oN", "off", "Off", "OFF", "o", "t"),
    *("0", "-0", "+0", "7", "-7", "+7", "007", "0_", "08", "09", "0b101", "-0b1_0", "0b102", "0b", "0x1f", "0x1F"),
    *("0X1F", "-0x_a", "0x", "0o17", "1_000", "1__0", "_1", "10_", "190:20:30", "-1:30", "1:60", "1:5:9", "+1:0"),
    *("18446744073709551617", "-9223372036854775809"),
    *("1.0", "-1.5", "+.5", ".5", "1.", "1._", "._", ".", "-.", "1e3", "1.0e+3", "1.0e3", "1.0E-3", "1_0.5_0"),
    *("6.0", "-0.0", "190:20:30.15", ".Nan", ".infinity", "inf", "nan"),
    *("~", "null", "Null", "NULL", "nULL", "", "nul"),
    *("2026-04-02", "2026-4-2", "2026-04-02T09:30:00Z", "2026-04-02t09:30:00.5+01:00", "2026-04-02 09:30:00"),
    *("2001-12-14 21:59:43.10 -5", "12:30:00", "2026-04-02T09:30:00.041111Z", "<<x", "=="),
    *("stable", "lane_completed", "a b", "é", "ключ", "😀", "\u2028x", "x\x85y", "-", "--", "a:b", "it's", 'say "hi"'),
    *("cand-ca02135e92b1", "20260402T115310/rollout/phase-manifest.json", "x" * 90, "word " * 20),
]
#: Plain scalars the strict loader refuses or PyYAML's constructor must make: not finite, too
#: many digits, merge and value keys.
REFUSED_WORDS = [
    *("9" * 4301, "1.0e+999", "-1.0e+999", ".inf", "-.Inf", "+.INF", ".nan", ".NaN", "<<", "="),
]
#: Words that break a plain scalar, the line or the reader: YAML indicators, comments, control
#: characters, a byte order mark, a lone surrogate, and a continuation line.
HOSTILE_WORDS = [
    *("- x", "? x", ": x", "a: b", "a #b", "#c", "[", "]", "{", "}", ",", "\\", "a\\nb", " lead", "trail "),
    *("a\n  continued", "a\n- b", "\x07", "\ud800", "\ufeffx", "'", '"', "\r", "\x00"),
]
DOUBLE_ESCAPES = ["\\t", "\\n", "\\\\", '\\"', "\\u00e9", "\\x41", "\\U0001F600", "\\N", "\\_", "\\L", "\\P", "\\ "]
#: Keys of a well-formed document; quoted or not, they are strings.
COMMON_KEYS = [
    *("id", "status", "iteration", "metrics", "reason", "throughput", "a", "b", "'a'", '"b"', "'1'", "'null'"),
    *("é", "ключ", "x y", "_", "k-1", "on_", "nulls", "2026-04-02", "0.5x", "''", "'it''s'", '"\\u00e9"'),
]
#: Keys the strict loader refuses (not strings) or PyYAML's constructor must make (merge, value,
#: complex): ``1``, ``null``, ``yes``...
ODD_KEYS = ["1", "0x1", "yes", "null", "~", ".inf", "<<", "=", "? a", "[a]"]
PRINTABLE = st.characters(codec="utf-8", exclude_categories=["Cc", "Cs"], exclude_characters="\ufeff")
#: What a document of each kind is made of: its words and its keys.
MODES: dict[str, tuple[st.SearchStrategy[str], st.SearchStrategy[str]]] = {
    # Well-formed: the resolver's edge cases and any printable text; keys unique in a mapping.
    "clean": (
        st.one_of(*[st.sampled_from(PLAIN_WORDS)] * 4, st.text(PRINTABLE, max_size=6)),
        st.sampled_from(COMMON_KEYS),
    ),
    # Also what is refused, or left to PyYAML's constructor; keys may repeat.
    "refused": (
        st.one_of(*[st.sampled_from(PLAIN_WORDS)] * 6, st.sampled_from(REFUSED_WORDS)),
        st.one_of(*[st.sampled_from(COMMON_KEYS)] * 4, st.sampled_from(ODD_KEYS)),
    ),
    # Anything: broken lines, control characters, stray indicators.
    "hostile": (
        st.one_of(st.sampled_from(PLAIN_WORDS + REFUSED_WORDS), st.sampled_from(HOSTILE_WORDS), st.text(max_size=6)),
        st.sampled_from(COMMON_KEYS + ODD_KEYS),
    ),
}


@st.composite
def scalar_texts(draw: st.DrawFn, words: st.SearchStrategy[str]) -> str:
    """A scalar as front matter writes it: plain, single-quoted or double-quoted (with escapes)."""
    word = draw(words)
    style = draw(st.sampled_from(["plain", "plain", "plain", "single", "double"]))
    if style == "single":
        return "'" + word.replace("'", "''") + "'"
    if style == "double":
        escaped = word.replace("\\", "\\\\").replace('"', '\\"')
        return '"' + escaped + "".join(draw(st.lists(st.sampled_from(DOUBLE_ESCAPES), max_size=2))) + '"'
    return word


@st.composite
def front_matter_documents(draw: st.DrawFn) -> tuple[str, str]:
    """Block front matter and its mode (``MODES``): nested mappings and sequences of scalars,
    empty values, comments and flow collections."""
    mode = draw(st.sampled_from(["clean", "clean", "refused", "hostile"]))
    words, keys = MODES[mode]
    lines: list[str] = []

    def scalar() -> str:
        return draw(scalar_texts(words))

    def comment() -> str:
        return draw(st.sampled_from(["", "", "", " # note", "  #"]))

    def key_of(used: set[str]) -> str:
        key = draw(keys)
        while mode == "clean" and key in used:
            key = f"{key.strip(chr(39) + chr(34))}_{len(used)}"
        used.add(key)
        return key

    def mapping(indent: int, depth: int, first: str = "") -> None:
        used: set[str] = set()
        for n in range(draw(st.integers(1, 4))):
            pad = first if n == 0 and first else " " * indent
            key = key_of(used)
            shape = draw(st.sampled_from(["scalar"] * 5 + ["empty", "mapping", "sequence", "flow"]))
            if shape in ("mapping", "sequence") and depth >= 3:
                shape = "scalar"
            if shape == "scalar":
                lines.append(f"{pad}{key}: {scalar()}{comment()}")
            elif shape == "empty":
                lines.append(f"{pad}{key}:{comment()}")
            elif shape == "flow":
                items = [scalar() for _ in range(draw(st.integers(0, 3)))]
                if draw(st.booleans()):
                    lines.append(f"{pad}{key}: [{', '.join(items)}]")
                else:
                    inner: set[str] = set()
                    lines.append(f"{pad}{key}: {{{', '.join(f'{key_of(inner)}: {item}' for item in items)}}}")
            elif shape == "mapping":
                lines.append(f"{pad}{key}:")
                mapping(indent + draw(st.sampled_from([2, 2, 1, 4])), depth + 1)
            else:
                lines.append(f"{pad}{key}:")
                sequence(indent + draw(st.sampled_from([0, 2])), depth + 1)

    def sequence(indent: int, depth: int) -> None:
        for _ in range(draw(st.integers(1, 3))):
            pad = " " * indent
            shape = draw(st.sampled_from(["scalar", "scalar", "empty", "mapping"]))
            if shape == "scalar":
                lines.append(f"{pad}- {scalar()}{comment()}")
            elif shape == "empty":
                lines.append(f"{pad}-")
            else:
                mapping(indent + 2, depth + 1, first=f"{pad}- ")

    if draw(st.integers(0, 9)) == 0:
        sequence(0, 0)
    else:
        mapping(0, 0)
    text = "\n".join(lines)
    if mode == "hostile" and draw(st.booleans()):  # a stray character somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from([*":-[]{},#'\"? \n", " ", "  ", "\u00e9"])) + text[at:]
    return mode, text + draw(st.sampled_from(["", "", "\n", "\n\n", "\n# end"]))


@needs_libyaml
@DIFFERENTIAL
@given(document=front_matter_documents())
def test_generated_front_matter_is_made_by_the_plain_constructor_exactly_as_pyyaml_makes_it(
    document: tuple[str, str],
) -> None:
    mode, text = document
    decided = _assert_plain_is_reference(text)
    event(f"{mode} document decided by: {decided}")
    event(f"reference outcome: {_reference_outcome(text)[0]}")


@DIFFERENTIAL
@given(
    value=st.sampled_from(PLAIN_WORDS + REFUSED_WORDS + HOSTILE_WORDS) | st.text(max_size=8),
    implicit=st.tuples(st.booleans(), st.booleans()),
    kind=st.sampled_from([ScalarNode, ScalarNode, ScalarNode, SequenceNode, MappingNode]),
)
def test_the_libyaml_loaders_resolver_tags_as_pyyaml_resolves(
    value: str, implicit: tuple[bool, bool], kind: type[Node]
) -> None:
    from pytest_torghut_rollout.checking import parsing

    resolver = parsing._StrictLoader("")
    try:
        expected = yaml.resolver.BaseResolver.resolve(resolver, kind, value, implicit)  # type: ignore[no-untyped-call]
    finally:
        resolver.dispose()
    event(f"tag: {expected}")
    assert parsing._resolve(None, kind, value, implicit) == expected
