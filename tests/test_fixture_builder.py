"""The fixture builder: RFC 6902 JSON Patch, case specs over golden trees, and stale trees.

The corpus's own case trees are the built ones (a test here fails when a spec or a golden
changed and ``build`` was not run); the builder's rules are checked on small trees of its own.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_torghut_rollout.testing import fixtures as builder
from pytest_torghut_rollout.testing.jsonpatch import PatchError, apply_patch, escape_token, json_equal, parse_pointer

FIXTURES = Path(__file__).parent.parent / "fixtures"
GOLDEN_MANIFEST: dict[str, Any] = {
    "run_id": "r1",
    "a/b": {"m~n": 1},
    "phases": [{"name": "one", "status": "pass"}, {"name": "two", "status": "pass"}],
    "status": "pass",
}
JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=8,
)


# -- JSON Patch --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("document", "patch", "expected"),
    [
        # RFC 6902 appendix A.1, A.2, A.3, A.4, A.5, A.6, A.7, A.8, A.10, A.16
        ({"foo": "bar"}, [{"op": "add", "path": "/baz", "value": "qux"}], {"foo": "bar", "baz": "qux"}),
        ({"foo": ["bar", "baz"]}, [{"op": "add", "path": "/foo/1", "value": "qux"}], {"foo": ["bar", "qux", "baz"]}),
        ({"baz": "qux", "foo": "bar"}, [{"op": "remove", "path": "/baz"}], {"foo": "bar"}),
        ({"foo": ["bar", "qux", "baz"]}, [{"op": "remove", "path": "/foo/1"}], {"foo": ["bar", "baz"]}),
        (
            {"baz": "qux", "foo": "bar"},
            [{"op": "replace", "path": "/baz", "value": "boo"}],
            {"baz": "boo", "foo": "bar"},
        ),
        (
            {"foo": {"bar": "baz", "waldo": "fred"}, "qux": {"corge": "grault"}},
            [{"op": "move", "from": "/foo/waldo", "path": "/qux/thud"}],
            {"foo": {"bar": "baz"}, "qux": {"corge": "grault", "thud": "fred"}},
        ),
        (
            {"foo": ["all", "grass", "cows", "eat"]},
            [{"op": "move", "from": "/foo/1", "path": "/foo/3"}],
            {"foo": ["all", "cows", "eat", "grass"]},
        ),
        (
            {"baz": "qux", "foo": ["a", 2, "c"]},
            [{"op": "test", "path": "/baz", "value": "qux"}, {"op": "test", "path": "/foo/1", "value": 2}],
            {"baz": "qux", "foo": ["a", 2, "c"]},
        ),
        (
            {"foo": "bar"},
            [{"op": "add", "path": "/child", "value": {"grandchild": {}}}],
            {"foo": "bar", "child": {"grandchild": {}}},
        ),
        (
            {"foo": ["bar"]},
            [{"op": "add", "path": "/foo/-", "value": ["abc", "def"]}],
            {"foo": ["bar", ["abc", "def"]]},
        ),
        # A.14: ~0 and ~1 escaping
        ({"/": 9, "~1": 10}, [{"op": "test", "path": "/~01", "value": 10}], {"/": 9, "~1": 10}),
        ({"/": 9, "~1": 10}, [{"op": "replace", "path": "/~1", "value": 0}], {"/": 0, "~1": 10}),
        ({"a": 1}, [{"op": "copy", "from": "/a", "path": "/b"}], {"a": 1, "b": 1}),
        ({"a": 1}, [{"op": "replace", "path": "", "value": [1]}], [1]),
    ],
)
def test_patch_applies_the_rfc_examples(document: Any, patch: list[dict[str, Any]], expected: Any) -> None:
    before = json.dumps(document)
    assert apply_patch(document, patch) == expected
    assert json.dumps(document) == before, "the input document is not changed"


def test_a_new_member_goes_last_and_a_replaced_one_keeps_its_place() -> None:
    patched = apply_patch(
        {"a": 1, "b": 2}, [{"op": "add", "path": "/c", "value": 3}, {"op": "replace", "path": "/a", "value": 0}]
    )
    assert list(patched.items()) == [("a", 0), ("b", 2), ("c", 3)]
    moved = apply_patch(patched, [{"op": "move", "from": "/a", "path": "/a"}])
    assert list(moved) == ["b", "c", "a"]


@pytest.mark.parametrize(
    ("document", "patch", "index", "pointer", "reason"),
    [
        ({"foo": "bar"}, [{"op": "test", "path": "/foo", "value": "baz"}], 0, "/foo", "test failed"),
        ({"foo": "bar"}, [{"op": "add", "path": "/baz/bat", "value": "qux"}], 0, "/baz/bat", "no member 'baz'"),
        (
            {"a": 1},
            [{"op": "test", "path": "/a", "value": 1}, {"op": "remove", "path": "/b"}],
            1,
            "/b",
            "no member 'b'",
        ),
        ({"a": [1]}, [{"op": "replace", "path": "/a/1", "value": 0}], 0, "/a/1", "past the end"),
        ({"a": [1, 2]}, [{"op": "remove", "path": "/a/01"}], 0, "/a/01", "not an array index"),
        ({"a": [1]}, [{"op": "add", "path": "/a/-1", "value": 0}], 0, "/a/-1", "not an array index"),
        ({"a": 1}, [{"op": "replace", "path": "/a~2", "value": 0}], 0, "/a~2", "'~' must be followed by 0 or 1"),
        ({"a": 1}, [{"op": "replace", "path": "a", "value": 0}], 0, "a", "starts with '/'"),
        ({"a": {"b": 1}}, [{"op": "move", "from": "/a", "path": "/a/b/c"}], 0, "/a", "its own child"),
        ({"a": 1}, [{"op": "copy", "from": "/x", "path": "/b"}], 0, "/x", "no member 'x'"),
        ({"a": 1}, [{"op": "add", "path": "/a/b", "value": 0}], 0, "/a/b", "the parent is a number"),
        ({"a": 1}, [{"op": "frobnicate", "path": "/a"}], 0, "/a", "unknown op"),
        ({"a": 1}, [{"op": ["add"], "path": "/a"}], 0, "/a", "unknown op"),
        ({"a": 1}, [{"op": "add", "path": "/b"}], 0, "/b", "no 'value' member"),
        ({"a": 1}, [{"op": "remove", "path": ""}], 0, "", "whole document"),
    ],
)
def test_an_operation_that_cannot_apply_names_its_index_and_pointer(
    document: Any, patch: list[dict[str, Any]], index: int, pointer: str, reason: str
) -> None:
    with pytest.raises(PatchError) as caught:
        apply_patch(document, patch)
    assert (caught.value.index, caught.value.pointer) == (index, pointer)
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"operation {index} ({patch[index]['op']}) at {pointer!r}: ")


@pytest.mark.parametrize(
    ("left", "right"), [(1, True), (0, False), (1, "1"), (None, 0), ([1], {"0": 1}), ({"a": 1}, {"a": True})]
)
def test_test_tells_json_types_apart(left: Any, right: Any) -> None:
    assert not json_equal(left, right)
    with pytest.raises(PatchError, match="test failed"):
        apply_patch({"v": left}, [{"op": "test", "path": "/v", "value": right}])


@pytest.mark.slow
@given(st.lists(st.text(max_size=6), max_size=4))
def test_a_pointer_of_escaped_tokens_parses_back_to_them(tokens: list[str]) -> None:
    assert parse_pointer("".join(f"/{escape_token(t)}" for t in tokens)) == tokens


@pytest.mark.slow
@given(st.dictionaries(st.text(max_size=6), JSON_VALUES, max_size=4), st.text(max_size=6), JSON_VALUES)
def test_add_then_test_then_remove_of_a_new_member_gives_back_the_document(
    document: dict[str, Any], key: str, value: Any
) -> None:
    document.pop(key, None)
    pointer = f"/{escape_token(key)}"
    added = apply_patch(document, [{"op": "add", "path": pointer, "value": value}])
    assert json_equal(added[key], value)
    restored = apply_patch(added, [{"op": "test", "path": pointer, "value": value}, {"op": "remove", "path": pointer}])
    assert json_equal(restored, document)
    assert list(restored) == list(document)


# -- specs over golden trees -------------------------------------------------------------------


def _corpus(tmp_path: Path, spec: dict[str, Any], name: str = "TM012/broken-case") -> Path:
    """A fixtures directory of one golden flat tree and one spec."""
    fixtures = tmp_path / "fixtures"
    golden = fixtures / "valid" / "flat"
    (golden / "rollout").mkdir(parents=True)
    (golden / "rollout" / "phase-manifest.json").write_bytes(builder.dump_json(GOLDEN_MANIFEST))
    (golden / "notes").mkdir()
    (golden / "notes" / "iteration-1.md").write_text("---\nstatus: ok\n---\n\n# Iteration 1\n", encoding="utf-8")
    spec_path = fixtures / "cases" / f"{name}.json"
    spec_path.parent.mkdir(parents=True)
    spec_path.write_text(json.dumps(spec), encoding="utf-8")
    return fixtures


def _spec(*edits: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {
        "description": "A case.",
        "rule": "TM012",
        "fails": ["TM012"],
        "base": "valid/flat",
        "edits": list(edits),
        **extra,
    }


MANIFEST = "rollout/phase-manifest.json"


def test_a_case_is_its_base_with_the_edits_applied_and_untouched_files_kept_byte_for_byte(tmp_path: Path) -> None:
    fixtures = _corpus(
        tmp_path,
        _spec(
            {
                "file": MANIFEST,
                "patch": [
                    {"op": "test", "path": "/phases/1/name", "value": "two"},
                    {"op": "replace", "path": "/phases/1/status", "value": "fail"},
                    {"op": "remove", "path": "/a~1b/m~0n"},
                ],
            },
            {"file": "notes/iteration-1.md", "replace": "status: ok", "with": "status: 'ok'"},
            {"move": "notes/iteration-1.md", "to": "notes/iteration-01.md"},
            {"copy": "valid/flat/notes", "to": "more"},
            {"delete": "more/iteration-1.md"},
            {"file": "raw.json", "write": '{"a": 1, "a": 2}'},
            {"file": "bytes.bin", "write_base64": "/wA="},
            {"file": "truncated.json", "write": "{}\n"},
            {"file": "truncated.json", "truncate": 1},
        ),
    )
    built = builder.build(fixtures)
    case = "invalid/TM012/broken-case"
    assert sorted(built) == sorted(
        f"{case}/{name}"
        for name in ["case.json", MANIFEST, "notes/iteration-01.md", "raw.json", "bytes.bin", "truncated.json"]
    )
    expected = json.loads(json.dumps(GOLDEN_MANIFEST))
    expected["phases"][1]["status"] = "fail"
    expected["a/b"] = {}
    assert built[f"{case}/{MANIFEST}"] == builder.dump_json(expected)
    assert built[f"{case}/notes/iteration-01.md"] == b"---\nstatus: 'ok'\n---\n\n# Iteration 1\n"
    assert built[f"{case}/raw.json"] == b'{"a": 1, "a": 2}'
    assert built[f"{case}/bytes.bin"] == b"\xff\x00"
    assert built[f"{case}/truncated.json"] == b"{"
    assert json.loads(built[f"{case}/case.json"]) == {"description": "A case.", "rule": "TM012", "fails": ["TM012"]}


def test_only_takes_part_of_the_base_and_no_base_starts_empty(tmp_path: Path) -> None:
    fixtures = _corpus(tmp_path, _spec(only=["rollout"]))
    (fixtures / "cases" / "conforming").mkdir()
    (fixtures / "cases" / "conforming" / "scratch.json").write_text(
        json.dumps({"description": "From nothing.", "edits": [{"file": "notes/iteration-1.md", "write": "{}\n"}]})
    )
    built = builder.build(fixtures)
    golden = (fixtures / "valid" / "flat" / MANIFEST).read_bytes()
    assert built["invalid/TM012/broken-case/rollout/phase-manifest.json"] == golden
    assert "invalid/TM012/broken-case/notes/iteration-1.md" not in built
    assert sorted(n for n in built if n.startswith("conforming/")) == [
        "conforming/scratch/case.json",
        "conforming/scratch/notes/iteration-1.md",
    ]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (
            {
                "file": MANIFEST,
                "patch": [
                    {"op": "replace", "path": "/status", "value": "fail"},
                    {"op": "test", "path": "/phases/0/name", "value": "zero"},
                ],
            },
            "edits[0] (patch rollout/phase-manifest.json): operation 1 (test) at '/phases/0/name': test failed",
        ),
        (
            {"file": MANIFEST, "patch": [{"op": "replace", "path": "/phase_transitions/3/to", "value": "x"}]},
            "edits[0] (patch rollout/phase-manifest.json): operation 0 (replace) at '/phase_transitions/3/to': "
            "no member 'phase_transitions'",
        ),
        ({"file": "notes/iteration-1.md", "patch": []}, "notes/iteration-1.md is not JSON"),
        ({"file": "notes/missing.md", "replace": "a", "with": "b"}, "no file 'notes/missing.md' in the case"),
        ({"file": "notes/iteration-1.md", "replace": "---", "with": "+++"}, "expected 1 occurrence(s) of '---'"),
        ({"delete": "drift"}, "no file or directory 'drift' in the case to delete"),
        ({"move": "notes", "to": "rollout"}, "'rollout' already exists in the case"),
        ({"copy": "valid/flat/notes", "to": "notes"}, "'notes' already exists in the case"),
        ({"copy": "invalid/TM001/x", "to": "y"}, "copies come from valid or valid-absolute"),
        ({"file": "../outside.json", "write": "{}"}, "expected a relative path without '.', '..'"),
        ({"file": MANIFEST, "truncate": 10_000}, "expected a byte count below the file's"),
        ({"file": MANIFEST, "write": "x", "delete": "notes"}, "expected exactly one of"),
        ({"file": "case.json", "write": "{}"}, "may not hold its own case.json"),
    ],
)
def test_an_edit_that_does_not_apply_fails_the_build_naming_the_spec_and_the_edit(
    tmp_path: Path, edit: dict[str, Any], message: str
) -> None:
    fixtures = _corpus(tmp_path, _spec(edit))
    with pytest.raises(builder.BuildError) as caught:
        builder.build(fixtures)
    assert str(caught.value).startswith(str(fixtures / "cases" / "TM012" / "broken-case.json"))
    assert message in str(caught.value)


def test_a_golden_not_written_as_the_goldens_are_cannot_be_patched(tmp_path: Path) -> None:
    fixtures = _corpus(tmp_path, _spec({"file": MANIFEST, "patch": []}))
    (fixtures / "valid" / "flat" / MANIFEST).write_text('{"run_id": "r1"}', encoding="utf-8")
    with pytest.raises(builder.BuildError, match="not written as the goldens are"):
        builder.build(fixtures)


@pytest.mark.parametrize(
    ("spec", "name", "message"),
    [
        (_spec(base="invalid/TM001"), "TM012/broken-case", "/base: expected a directory of valid or valid-absolute"),
        (_spec(base="valid/none"), "TM012/broken-case", "/base: no directory 'valid/none'"),
        (_spec(only=["drift"]), "TM012/broken-case", "/only: not in valid/flat: ['drift']"),
        ({"description": "x", "only": ["notes"]}, "conforming/x", "/only: names paths of a base"),
        (_spec(patch=[]), "TM012/broken-case", "unknown keys ['patch']"),
        (_spec(), "loose", "expected cases/<RULE>/<slug>.json"),
        (_spec(), "TM012/.", "expected cases/<RULE>/<slug>.json"),
        (_spec(), "TM012/deeper/case", "expected cases/<RULE>/<slug>.json"),
    ],
)
def test_a_malformed_spec_fails_the_build_naming_it(
    tmp_path: Path, spec: dict[str, Any], name: str, message: str
) -> None:
    fixtures = _corpus(tmp_path, spec, name=name)
    with pytest.raises(builder.BuildError, match="^" + str(fixtures / "cases")) as caught:
        builder.build(fixtures)
    assert message in str(caught.value)


# -- stale trees -------------------------------------------------------------------------------


def test_a_stale_tree_is_named_and_build_makes_it_current(tmp_path: Path) -> None:
    fixtures = _corpus(
        tmp_path, _spec({"file": MANIFEST, "patch": [{"op": "replace", "path": "/status", "value": "fail"}]})
    )
    case = fixtures / "invalid" / "TM012" / "broken-case"
    assert builder.stale_files(fixtures) == [
        f"invalid/TM012/broken-case/{name}: missing (built, not committed)"
        for name in ["case.json", "notes/iteration-1.md", MANIFEST]
    ]
    builder.write_trees(fixtures)
    assert builder.stale_files(fixtures) == []
    (case / MANIFEST).write_bytes((case / MANIFEST).read_bytes().replace(b'"fail"', b'"pass"'))
    (fixtures / "invalid" / "TM012" / "gone" / "rollout").mkdir(parents=True)
    (fixtures / "invalid" / "TM012" / "gone" / "rollout" / "phase-manifest.json").write_text("{}")
    assert builder.stale_files(fixtures) == [
        "invalid/TM012/gone/rollout/phase-manifest.json: not built by any spec",
        f"invalid/TM012/broken-case/{MANIFEST}: differs from its build",
    ]
    assert builder.write_trees(fixtures) == [
        "invalid/TM012/gone/rollout/phase-manifest.json",
        f"invalid/TM012/broken-case/{MANIFEST}",
    ]
    assert builder.stale_files(fixtures) == []
    assert not (fixtures / "invalid" / "TM012" / "gone").exists()
    assert builder.write_trees(fixtures) == []


def test_the_command_line_builds_checks_and_reports_a_broken_spec(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fixtures = _corpus(tmp_path, _spec())
    assert builder.main(["check", f"--fixtures={fixtures}"]) == 1
    err = capsys.readouterr().err
    assert "invalid/TM012/broken-case/case.json: missing (built, not committed)" in err
    assert "3 stale file(s)" in err
    assert "python -m pytest_torghut_rollout.testing.fixtures build" in err
    assert builder.main(["build", f"--fixtures={fixtures}"]) == 0
    assert "3 file(s) changed" in capsys.readouterr().out
    assert builder.main(["check", f"--fixtures={fixtures}"]) == 0
    assert "are the built ones" in capsys.readouterr().out
    spec = fixtures / "cases" / "TM012" / "broken-case.json"
    spec.write_text(json.dumps(_spec({"file": MANIFEST, "patch": [{"op": "remove", "path": "/gone"}]})))
    assert builder.main(["build", f"--fixtures={fixtures}"]) == 1
    err = capsys.readouterr().err
    assert err == f"error: {spec}: edits[0] (patch {MANIFEST}): operation 0 (remove) at '/gone': no member 'gone'\n"
    assert builder.main(["check", f"--fixtures={tmp_path / 'nowhere'}"]) == 1
    assert "no such directory" in capsys.readouterr().err


def test_the_builder_runs_as_a_module_and_imports_no_pytest() -> None:
    module = "pytest_torghut_rollout.testing.fixtures"
    run = [sys.executable, "-m", module, "check", f"--fixtures={FIXTURES}"]
    result = subprocess.run(run, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert "are the built ones" in result.stdout
    probe = f"import sys, {module}; print(sorted(m for m in sys.modules if m.split('.')[0] in ('pytest', '_pytest')))"
    imported = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert imported.stdout.strip() == "[]"


def test_the_committed_case_trees_are_the_built_ones() -> None:
    """Edit ``fixtures/cases/`` or a golden tree, then run the builder: the trees are never edited by hand."""
    stale = builder.stale_files(FIXTURES)
    assert stale == [], "run: python -m pytest_torghut_rollout.testing.fixtures build\n" + "\n".join(stale)


def test_building_twice_gives_the_same_bytes() -> None:
    assert builder.build(FIXTURES) == builder.build(FIXTURES)
