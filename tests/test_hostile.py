"""Hostile input beside a good run: the hostile artifact fails with a one-line reason, the good
run's verdicts do not change, nothing crashes, hangs or reads outside the tree."""

from __future__ import annotations

import html
import json
import os
import re
import socket
import time
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import hypothesis  # noqa: F401  (imported once here, not by every in-process run)
import pytest

from pytest_torghut_rollout.checking import discovery
from pytest_torghut_rollout.checking.discovery import load_manifest, note_artifact
from pytest_torghut_rollout.checking.model import ArtifactKind
from pytest_torghut_rollout.checking.paths import Resolver
from pytest_torghut_rollout.checking.rules import REGISTRY, CheckContext, evaluate_artifacts
from pytest_torghut_rollout.checking.rules.base import MAX_FINDINGS

TreeWriter = Callable[..., Path]


def rules_for(kind: ArtifactKind) -> int:
    """How many rule items an artifact of ``kind`` gets."""
    return len(REGISTRY.for_kind(kind))


#: The good series' history checks (TN022 outside a git work tree, TN023 without a ledger) cannot judge.
UNJUDGED = 2
#: The good neighbour's passes: one run and a series of two notes, and the discovery test.
GOOD_ITEMS = rules_for("manifest") + rules_for("notes-series") + 2 * rules_for("scheduler-note") + 1 - UNJUDGED
HOSTILE_MANIFEST = "run2/rollout/phase-manifest.json"
HOSTILE_NOTE = "notes/iteration-3.md"
TM001 = f"{HOSTILE_MANIFEST}::TM001-top-level-fields"
TN001 = f"{HOSTILE_NOTE}::TN001-note-recognised"
DISCOVERY = "torghut::discovery"
FAST = 20.0
"""Seconds a hostile run may take on a loaded two-core machine (the good run alone takes ~1 s)."""


def failed_ids(result: pytest.RunResult) -> list[str]:
    """The node ids of the short test summary's FAILED lines, sorted."""
    return sorted(m.group(1) for line in result.outlines if (m := re.match(r"FAILED (\S+)", line)))


def run_beside_good(pytester: pytest.Pytester, root: Path, *args: str) -> tuple[pytest.RunResult, float]:
    """Run the conformance checks of ``root``; return the result and how long it took."""
    start = time.monotonic()
    result = pytester.runpytest(f"--torghut-artifacts={root}", "-p", "no:cacheprovider", *args)
    return result, time.monotonic() - start


def assert_fails_alone(result: pytest.RunResult, elapsed: float, failed: str, reason: str) -> None:
    """Exit 1, exactly ``failed`` failed, with ``reason`` shown; every check of the good run passed."""
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == [failed]
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 1
    # The good run's checks all pass (its discovery test too, unless that is the one failing).
    assert outcomes.get("passed", 0) == GOOD_ITEMS - (failed == DISCOVERY)
    text = result.stdout.str()
    assert reason in text
    assert "Traceback" not in text
    assert "ERROR collecting" not in text
    assert elapsed < FAST


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return json.dumps(manifest, indent=2).encode()


# -- manifest content --------------------------------------------------------------------------------


def _dup_status(m: dict[str, Any]) -> bytes:
    text = manifest_bytes(m).decode()
    return text.replace('"status": "pass",', '"status": "pass", "status": "fail",', 1).encode()


def _constant(name: str) -> Callable[[dict[str, Any]], bytes]:
    return lambda m: manifest_bytes(m).replace(b'"signal_count": 412', b'"signal_count": ' + name.encode())


MANIFEST_CASES: list[Any] = [
    pytest.param(lambda m: b"", "invalid JSON at line 1, column 1: Expecting value", id="empty"),
    pytest.param(lambda m: manifest_bytes(m)[:200], "invalid JSON at line", id="truncated"),
    pytest.param(lambda m: bytes(range(7, 250)) * 3, "not UTF-8 text (byte 121)", id="random-bytes"),
    pytest.param(lambda m: b'{"run_id": "\xc3\x28"}', "not UTF-8 text (byte 12)", id="invalid-utf8"),
    pytest.param(lambda m: b'"just a string"', "expected a JSON object at the top level, found str", id="not-object"),
    pytest.param(
        lambda m: b'{"a": ' + b"[" * 50_000 + b"]" * 50_000 + b"}", "nested deeper than 100 levels", id="deep-nesting"
    ),
    pytest.param(_dup_status, 'not strict JSON: duplicate key "status" at /status', id="duplicate-key"),
    pytest.param(
        lambda m: manifest_bytes(m).replace(b'"gate0_data_integrity",', b'"gate0_data_integrity", "id": "x",', 1),
        'duplicate key "id" at /phases/0/slo_gates/0/id',
        id="duplicate-nested-key",
    ),
    pytest.param(
        _constant("NaN"), "NaN is not a JSON number (RFC 8259), at /observation_summary/signal_count", id="nan"
    ),
    pytest.param(_constant("Infinity"), "Infinity is not a JSON number (RFC 8259)", id="infinity"),
    pytest.param(_constant("-Infinity"), "-Infinity is not a JSON number (RFC 8259)", id="minus-infinity"),
    pytest.param(_constant("1e999"), "the number 1e999 is out of range", id="overflowing-float"),
    pytest.param(_constant("9" * 5000), "an integer of 5000 digits is too long", id="huge-integer"),
]


@pytest.mark.parametrize(("content", "reason"), MANIFEST_CASES)
def test_hostile_manifest_fails_alone_beside_a_good_run(
    pytester: pytest.Pytester,
    artifacts: Path,
    manifest: dict[str, Any],
    content: Callable[[dict[str, Any]], bytes],
    reason: str,
) -> None:
    path = artifacts / HOSTILE_MANIFEST
    path.parent.mkdir(parents=True)
    path.write_bytes(content(manifest))
    result, elapsed = run_beside_good(pytester, artifacts)
    assert_fails_alone(result, elapsed, TM001, reason)
    result.stdout.fnmatch_lines(["TM001 top-level-fields: cannot check: *"])


def test_a_byte_order_mark_before_a_good_manifest_is_accepted(
    pytester: pytest.Pytester, artifacts: Path, manifest: dict[str, Any]
) -> None:
    path = artifacts / "run1" / "rollout" / "phase-manifest.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    result, _ = run_beside_good(pytester, artifacts)
    result.assert_outcomes(passed=GOOD_ITEMS, skipped=UNJUDGED)


# -- note content ------------------------------------------------------------------------------------

ALIAS_BOMB = "\n".join(
    ["---", 'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{','.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["---", ""]
)
NOTE_CASES: list[Any] = [
    pytest.param(b"", "TN001 note-recognised: *", id="empty"),
    pytest.param(
        b'{"iteration": 3, "status": "lane_completed", "status": "blocked"}',
        'duplicate key "status" at /status',
        id="json-duplicate-key",
    ),
    pytest.param(
        b'{"iteration": 3, "throughput": {"signal_count": NaN}}',
        "NaN is not a JSON number (RFC 8259), at /throughput/signal_count",
        id="json-nan",
    ),
    pytest.param(
        b"---\nstatus: a\nstatus: b\n---\n",
        'refused YAML front matter: duplicate key "status" at /status (line 3)',
        id="yaml-duplicate-key",
    ),
    pytest.param(
        b"---\nthroughput:\n  signal_count: .nan\n---\n",
        "nan at /throughput/signal_count is not a JSON number",
        id="yaml-nan",
    ),
    pytest.param(
        b"---\nthroughput:\n  signal_count: -.inf\n---\n",
        "-inf at /throughput/signal_count is not a JSON number",
        id="yaml-inf",
    ),
    pytest.param(
        ALIAS_BOMB.encode(), "YAML anchor &a at line 2: anchors and aliases are refused", id="yaml-alias-bomb"
    ),
    pytest.param(b"---\nbase: &b {x: 1}\nother: *b\n---\n", "anchors and aliases are refused", id="yaml-anchor-alias"),
    pytest.param(
        b"---\nstatus: !!python/object/apply:os.system [echo hi]\n---\n",
        "could not determine a constructor for the tag 'tag:yaml.org,2002:python/object/apply:os.system'",
        id="yaml-python-tag",
    ),
    pytest.param(
        b"---\nstatus: !!binary aGk=\n---\n", "a value of type bytes at /status is not JSON data", id="yaml-binary"
    ),
    pytest.param(b"---\n1: x\n---\n", "the key 1 at / is not a string", id="yaml-int-key"),
    pytest.param(
        b"---\nreason: " + b"x" * (300 * 1024) + b"\n---\n",
        f"front matter of {300 * 1024 + 8} bytes is larger than 262144; not parsed",
        id="yaml-oversized-front-matter",
    ),
    pytest.param(b"\xff\xfe\x00", "not UTF-8 text (byte 0)", id="invalid-utf8"),
    pytest.param(b"[1, 2, 3]", "TN001 note-recognised: *", id="json-array"),
]


@pytest.mark.parametrize(("content", "reason"), NOTE_CASES)
def test_hostile_note_fails_alone_beside_a_good_series(
    pytester: pytest.Pytester, artifacts: Path, content: bytes, reason: str
) -> None:
    (artifacts / HOSTILE_NOTE).write_bytes(content)
    result, elapsed = run_beside_good(pytester, artifacts)
    if reason.endswith("*"):
        result.stdout.fnmatch_lines([reason])
        reason = "TN001"
    assert_fails_alone(result, elapsed, TN001, reason)


# -- what is not a regular file ------------------------------------------------------------------------


def _socket(path: Path) -> None:
    # A socket path must be short: bind from inside its directory.
    here = Path.cwd()
    os.chdir(path.parent)
    try:
        with socket.socket(socket.AF_UNIX) as sock:
            sock.bind(path.name)
    finally:
        os.chdir(here)


FILE_CASES: list[Any] = [
    pytest.param(lambda p: p.mkdir(), "iteration-3.md is a directory, not a regular file", id="directory"),
    pytest.param(os.mkfifo, "iteration-3.md is a FIFO, not a regular file", id="fifo"),
    pytest.param(_socket, "iteration-3.md is a socket, not a regular file", id="socket"),
    pytest.param(lambda p: p.symlink_to(p.name), "iteration-3.md is a symlink loop", id="symlink-loop"),
    pytest.param(lambda p: p.symlink_to("nowhere.md"), "iteration-3.md is a symlink to nothing", id="dangling-symlink"),
    pytest.param(
        lambda p: p.symlink_to("/etc/hostname"),
        "iteration-3.md is a symlink to /etc/hostname, outside the artifact tree; not read",
        id="symlink-out-of-tree",
    ),
]


@pytest.mark.parametrize(("make", "reason"), FILE_CASES)
def test_a_notes_member_that_is_not_a_regular_file_fails_naming_what_it_is(
    pytester: pytest.Pytester, artifacts: Path, make: Callable[[Path], object], reason: str
) -> None:
    make(artifacts / HOSTILE_NOTE)
    result, elapsed = run_beside_good(pytester, artifacts)
    assert_fails_alone(result, elapsed, TN001, reason)


def test_a_directory_named_like_a_manifest_fails_its_run(pytester: pytest.Pytester, artifacts: Path) -> None:
    (artifacts / HOSTILE_MANIFEST).mkdir(parents=True)
    result, elapsed = run_beside_good(pytester, artifacts)
    assert_fails_alone(result, elapsed, TM001, "phase-manifest.json is a directory, not a regular file")


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        pytest.param(
            "../run1/rollout",
            "run2/rollout/ is a symlink to run1/rollout/ inside the artifact tree; not followed",
            id="inside",
        ),
        pytest.param(
            "/etc", "run2/rollout/ is a symlink to /etc/, outside the artifact tree; not searched", id="outside"
        ),
        pytest.param(
            "rollout", "run2/rollout/ is a symlink that leads to no directory (a loop, or nothing)", id="loop"
        ),
        pytest.param(
            "gone", "run2/rollout/ is a symlink that leads to no directory (a loop, or nothing)", id="dangling"
        ),
    ],
)
def test_a_symlinked_rollout_directory_fails_its_run(
    pytester: pytest.Pytester, artifacts: Path, target: str, reason: str
) -> None:
    (artifacts / "run2").mkdir()
    (artifacts / "run2" / "rollout").symlink_to(target)
    result, elapsed = run_beside_good(pytester, artifacts)
    assert_fails_alone(result, elapsed, TM001, reason)


@pytest.mark.parametrize("where", ["inside", "outside"])
def test_a_symlinked_run_directory_fails_discovery_and_the_rest_is_checked(
    pytester: pytest.Pytester, artifacts: Path, tmp_path: Path, write_tree: TreeWriter, where: str
) -> None:
    if where == "inside":
        target, reason = artifacts / "run1", "run2/ is a symlink to run1/ inside the artifact tree; not followed"
    else:
        target = write_tree(name="elsewhere", notes=0) / "run1"
        reason = f"run2/ is a symlink to {target}/, outside the artifact tree; not searched"
    (artifacts / "run2").symlink_to(target)
    result, elapsed = run_beside_good(pytester, artifacts)
    assert_fails_alone(result, elapsed, DISCOVERY, reason)
    result.stdout.fnmatch_lines(["discovery: 1 place under the artifacts paths could not be searched; *"])


def test_an_unreadable_directory_fails_discovery_and_the_walk_goes_on(
    pytester: pytest.Pytester, artifacts: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Tests run as root here, where chmod 000 stops nothing: refuse the listing instead.
    locked = artifacts / "aaa-locked"
    locked.mkdir()
    real_scandir = os.scandir

    def scandir(path: Any) -> Any:
        if Path(path) == locked:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    result, elapsed = run_beside_good(pytester, artifacts, "--torghut-evidence=evidence.json")
    reason = "cannot search aaa-locked/: Permission denied; nothing under it was checked"
    assert_fails_alone(result, elapsed, DISCOVERY, f"  - {reason}")
    evidence = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    assert evidence["discovery"]["problems"] == [reason]
    assert evidence["discovery"]["failed"] is True


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a chmod 000 directory")
def test_a_chmod_000_directory_fails_discovery_and_the_walk_goes_on(pytester: pytest.Pytester, artifacts: Path) -> None:
    locked = artifacts / "aaa-locked"
    locked.mkdir()
    locked.chmod(0)
    try:
        result, elapsed = run_beside_good(pytester, artifacts)
    finally:
        locked.chmod(0o755)
    assert_fails_alone(result, elapsed, DISCOVERY, "cannot search aaa-locked/: Permission denied")


# -- size and time -------------------------------------------------------------------------------------


@pytest.mark.parametrize("source", ["option", "ini"])
def test_an_artifact_over_max_bytes_is_not_read_and_fails_with_its_size(
    pytester: pytest.Pytester, artifacts: Path, manifest: dict[str, Any], source: str
) -> None:
    path = artifacts / HOSTILE_MANIFEST
    path.parent.mkdir(parents=True)
    path.write_bytes(manifest_bytes(manifest) + b" " * 40_000)
    size = path.stat().st_size
    if source == "ini":
        pytester.makeini("[pytest]\ntorghut_max_bytes = 30000\n")
        result, elapsed = run_beside_good(pytester, artifacts)
    else:
        result, elapsed = run_beside_good(pytester, artifacts, "--torghut-max-bytes=30000")
    assert_fails_alone(
        result, elapsed, TM001, f"cannot read the file: the file is {size} bytes, larger than --torghut-max-bytes=30000"
    )


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_max_bytes_must_be_a_positive_whole_number(pytester: pytest.Pytester, artifacts: Path, value: str) -> None:
    result = pytester.runpytest(f"--torghut-artifacts={artifacts}", f"--torghut-max-bytes={value}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([f"*{value!r} is not a whole number >= 1*"])


def test_a_file_is_read_only_up_to_the_limit(tmp_path: Path) -> None:
    path = tmp_path / "rollout" / "phase-manifest.json"
    path.parent.mkdir()
    path.write_bytes(b"{}" + b" " * 100)
    assert load_manifest(path, root=tmp_path, display="m", max_bytes=102).error is None
    error = load_manifest(path, root=tmp_path, display="m", max_bytes=101).error
    assert error == "cannot read the file: the file is 102 bytes, larger than --torghut-max-bytes=101; not read"


def test_a_megabyte_line_in_a_lane_note_is_read_in_linear_time() -> None:
    line = "- run_id:" + " " * 1_000_000 + "abc" + " \t" * 1000
    start = time.monotonic()
    artifact = note_artifact(
        f"# Autonomous lane iteration 1\n{line}\n",
        path=Path("/a/notes/iteration-1.md"),
        root=Path("/a"),
        display="n",
        number=1,
    )
    assert time.monotonic() - start < 2.0
    assert artifact.data == {"heading_iteration": 1, "run_id": "abc"}


def test_two_hundred_thousand_bad_refs_are_judged_in_seconds_with_capped_findings(manifest: dict[str, Any]) -> None:
    manifest["artifact_refs"] = list(range(200_000))
    root = Path("/artifacts/run1")
    start = time.monotonic()
    artifact = discovery.manifest_artifact(
        manifest, path=root / "rollout" / "phase-manifest.json", root=root, display="m"
    )
    ((_, verdicts),) = evaluate_artifacts([artifact], CheckContext(resolver=Resolver([root.parent])))
    assert time.monotonic() - start < FAST
    findings = verdicts["TM001"].findings
    assert len(findings) == MAX_FINDINGS + 1
    assert re.fullmatch(r"… and [0-9]+ more findings of this rule, not listed", findings[-1].message)


def test_a_check_stops_counting_after_ten_thousand_findings(manifest: dict[str, Any]) -> None:
    manifest["artifact_refs"] = [f"missing/{n}.json" for n in range(200_000)]
    root = Path("/artifacts/run1")
    artifact = discovery.manifest_artifact(
        manifest, path=root / "rollout" / "phase-manifest.json", root=root, display="m"
    )
    context = CheckContext(resolver=Resolver([root.parent]))
    start = time.monotonic()
    verdict = REGISTRY["TM024"].evaluate(artifact, context)
    assert time.monotonic() - start < FAST
    assert len(verdict.findings) == MAX_FINDINGS + 1
    assert verdict.findings[-1].message == "… and at least 10000 more findings of this rule, not listed"


# -- markup and control characters ---------------------------------------------------------------------

MARKUP_DIR = "<img src=x onerror=alert(4)>"
CONTROL_DIR = "run\x1b[2J\x07\n=== 999 passed ==="
SCRIPT = "<script>alert(1)</script>"


def test_markup_and_control_characters_are_escaped_in_every_report(
    pytester: pytest.Pytester, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    manifest["requested_promotion_target"] = f"{SCRIPT}\x1b[2J"  # quoted by TM005
    root = write_tree(manifest=manifest, runs=(MARKUP_DIR, CONTROL_DIR))
    note = json.loads((root / "notes" / "iteration-2.md").read_text(encoding="utf-8"))
    note["phase_manifest_path"] = "gone\x1b[2J\n=== 999 passed ===/rollout/phase-manifest.json"  # quoted by TN008
    (root / "notes" / "iteration-2.md").write_text(json.dumps(note), encoding="utf-8")
    result = pytester.runpytest(
        f"--torghut-artifacts={root}", "--junitxml=junit.xml", "--html=report.html", "--alluredir=allure", "-v", "-rs"
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    text = result.stdout.str()
    assert "\x1b" not in text
    assert "\x07" not in text
    assert not any(line.startswith("=== 999 passed") for line in result.outlines)
    assert "run\\u001b[2J\\u0007\\u000a=== 999 passed ===/rollout/phase-manifest.json::TM005-promotion-target" in text
    assert '"<script>alert(1)</script>\\u001b[2J"' in text
    assert "not evaluated: the manifest gone\\u001b[2J\\u000a=== 999 passed ===/rollout/phase-manifest.json" in text
    # JUnit XML stays well-formed, and names the escaped id.
    tree = ET.parse(pytester.path / "junit.xml")
    names = {case.get("classname", "") for case in tree.iter("testcase")}
    assert any("\\u001b" in name for name in names)
    # pytest-html: no raw markup from the tree anywhere in the page's data.
    page = (pytester.path / "report.html").read_text(encoding="utf-8")
    blob = re.search(r'data-jsonblob="([^"]*)"', page)
    assert blob is not None
    tests = json.loads(html.unescape(blob.group(1)))["tests"]
    # The cells and the log go into the page as HTML; the keys and ids only as data.
    shown = [piece for runs in tests.values() for t in runs for piece in (*t["resultsTableRow"], t["log"])]
    assert not [piece for piece in shown if "<img" in piece or "<script" in piece]
    assert any("&lt;img src=x onerror=alert(4)&gt;/rollout" in piece for piece in shown)
    assert any("&lt;script&gt;alert(1)&lt;/script&gt;" in piece for piece in shown)
    # Allure: JSON files, the name escaped as the terminal shows it.
    results = [json.loads(p.read_text(encoding="utf-8")) for p in (pytester.path / "allure").glob("*-result.json")]
    assert results
    assert all("\x1b" not in json.dumps(r, ensure_ascii=False) for r in results)


def test_an_undecodable_file_name_gets_a_stable_printable_id(pytester: pytest.Pytester, artifacts: Path) -> None:
    os.mkdir(os.fsencode(artifacts) + b"/run\xff")
    (artifacts / "run1").rename(artifacts / os.fsdecode(b"run\xff") / "x")
    result, _ = run_beside_good(pytester, artifacts, "--collect-only", "-q")
    assert "run\\udcff/x/rollout/phase-manifest.json::TM001-top-level-fields" in result.stdout.str()
    assert "Traceback" not in result.stdout.str()


def test_a_fifo_given_as_the_artifacts_path_fails_without_blocking(pytester: pytest.Pytester) -> None:
    fifo = pytester.path / "phase-manifest.json"
    os.mkfifo(fifo)
    result, elapsed = run_beside_good(pytester, fifo)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == ["phase-manifest.json::TM001-top-level-fields"]
    result.stdout.fnmatch_lines(["*cannot read the file: phase-manifest.json is a FIFO, not a regular file"])
    assert elapsed < FAST


def test_a_hostile_tree_fails_the_same_checks_with_and_without_xdist(
    pytester: pytest.Pytester, artifacts: Path, write_tree: TreeWriter, manifest: dict[str, Any]
) -> None:
    (artifacts / HOSTILE_MANIFEST).parent.mkdir(parents=True)
    (artifacts / HOSTILE_MANIFEST).write_bytes(_dup_status(manifest))
    os.mkfifo(artifacts / HOSTILE_NOTE)
    (artifacts / "run3").symlink_to(write_tree(name="elsewhere", notes=0) / "run1")
    (artifacts / "run\x1b[2J").mkdir()
    (artifacts / "run\x1b[2J" / "rollout").mkdir()
    (artifacts / "run\x1b[2J" / "rollout" / "phase-manifest.json").write_bytes(b"{NaN}")
    serial = pytester.runpytest(f"--torghut-artifacts={artifacts}", "-p", "no:cacheprovider")
    parallel = pytester.runpytest_subprocess(
        "-p", "no:hypothesispytest", "-n", "2", f"--torghut-artifacts={artifacts}", "-p", "no:cacheprovider"
    )
    expected = [
        TN001,
        TM001,
        "run\\u001b[2J/rollout/phase-manifest.json::TM001-top-level-fields",
        DISCOVERY,
    ]
    assert failed_ids(serial) == sorted(expected)
    assert failed_ids(parallel) == sorted(expected)
    assert serial.parseoutcomes()["passed"] == parallel.parseoutcomes()["passed"] == GOOD_ITEMS - 1
    assert "Traceback" not in serial.stdout.str() + parallel.stdout.str()


@pytest.mark.parametrize("value", ["!!int abc", "!!int", "!!timestamp x", "!!float zz"])
def test_a_tagged_value_its_tag_cannot_take_fails_the_note_instead_of_the_run(
    pytester: pytest.Pytester, value: str
) -> None:
    notes = pytester.path / "tree" / "notes"
    notes.mkdir(parents=True)
    (notes / "iteration-1.md").write_text(f"---\niteration: {value}\n---\nbody\n", encoding="utf-8")
    result = pytester.runpytest(f"--torghut-artifacts={notes.parent}", "-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        ["TN001 note-recognised: cannot check: *a tagged value cannot be read as its tag says*"]
    )


def _tn008(pytester: pytest.Pytester) -> dict[str, Any]:
    """The evidence record's TN008 check of notes/iteration-2.md."""
    record = json.loads((pytester.path / "evidence.json").read_text(encoding="utf-8"))
    (note,) = [a for a in record["artifacts"] if a["path"] == "notes/iteration-2.md"]
    (check,) = [c for c in note["checks"] if c["rule"] == "TN008"]
    return dict(check)


@pytest.mark.parametrize("granularity", ["rule", "artifact"])
def test_a_note_naming_a_fifo_as_its_manifest_does_not_block_the_run(
    pytester: pytest.Pytester, write_tree: TreeWriter, granularity: str
) -> None:
    # A name that leads to no regular file is not followed: nothing there to compare with.
    root = write_tree()
    os.mkfifo(root / "run1" / "rollout" / "pipe.json")
    note = json.loads((root / "notes" / "iteration-2.md").read_text(encoding="utf-8"))
    note["phase_manifest_path"] = "run1/rollout/pipe.json"
    (root / "notes" / "iteration-2.md").write_text(json.dumps(note), encoding="utf-8")
    args = (f"--torghut-granularity={granularity}", "--torghut-evidence=evidence.json")
    result, elapsed = run_beside_good(pytester, root, *args)
    assert elapsed < FAST
    assert result.ret == pytest.ExitCode.OK
    check = _tn008(pytester)
    assert check["outcome"] == "not-evaluated"
    assert "run1/rollout/pipe.json is not there" in check["not_evaluated"]


@pytest.mark.parametrize("granularity", ["rule", "artifact"])
def test_a_manifest_with_a_byte_order_mark_is_read_alike_where_a_note_names_it(
    pytester: pytest.Pytester, artifacts: Path, granularity: str
) -> None:
    # Discovery drops a byte order mark; a note's cross reference reads the file the same way.
    path = artifacts / "run1" / "rollout" / "phase-manifest.json"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    args = (f"--torghut-granularity={granularity}", "--torghut-evidence=evidence.json")
    result, _ = run_beside_good(pytester, artifacts, *args)
    assert result.ret == pytest.ExitCode.OK
    assert _tn008(pytester)["outcome"] == "passed"
