"""The scheduler simulation: realistic, reproducible trees, and faults that fail exactly as declared."""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from pytest_torghut_rollout.checking.discovery import discover
from pytest_torghut_rollout.checking.rules import REGISTRY
from pytest_torghut_rollout.cli import EXIT_OK, EXIT_REFUSED, main
from pytest_torghut_rollout.testing.simulate import EPOCH, FAULTS_FILE, SimulationOptions, simulate

PREFIX = "/tmp/torghut/autonomy"


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _expected_failures(root: Path) -> set[str]:
    faults = json.loads((root / FAULTS_FILE).read_text())
    return {f"{fault['artifact']}::{REGISTRY[rule_id].name}" for fault in faults for rule_id in fault["rules"]}


def _failed_node_ids(pytester: pytest.Pytester, *args: str) -> tuple[set[str], int]:
    recorder = pytester.inline_run(*args)
    reports = recorder.getreports("pytest_runtest_logreport")
    return {r.nodeid for r in reports if r.failed}, sum(1 for r in reports if r.when == "call" and r.passed)


@pytest.fixture(scope="module")
def clean_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """``torghut-rollout simulate --runs 200 --seed 7 --out t``, made once for the module."""
    out = tmp_path_factory.mktemp("simulated") / "t"
    assert main(["simulate", "--runs", "200", "--seed", "7", "--out", str(out)]) == EXIT_OK
    return out


@pytest.mark.slow
def test_a_clean_200_run_simulation_passes_the_plugin(clean_tree: Path, pytester: pytest.Pytester) -> None:
    assert json.loads((clean_tree / FAULTS_FILE).read_text()) == []
    result = pytester.runpytest(f"--torghut-artifacts={clean_tree}")
    outcomes = result.parseoutcomes()
    assert result.ret == pytest.ExitCode.OK
    assert outcomes["passed"] > 5000
    # Only TN022 (no git work tree) and TN023 (no notes ledger) of each series cannot judge.
    series = sum(1 for a in discover([clean_tree]) if a.kind == "notes-series")
    assert outcomes == {"passed": outcomes["passed"], "skipped": 2 * series}


@pytest.mark.slow
def test_the_same_seed_gives_a_byte_identical_tree(clean_tree: Path, tmp_path: Path) -> None:
    simulate(SimulationOptions(runs=200, seed=7, out=tmp_path / "again"))
    again = _files(tmp_path / "again")
    assert again.keys() == _files(clean_tree).keys()
    assert again == _files(clean_tree)
    simulate(SimulationOptions(runs=30, seed=7, out=tmp_path / "seven"))
    simulate(SimulationOptions(runs=30, seed=8, out=tmp_path / "eight"))
    assert _files(tmp_path / "seven") != _files(tmp_path / "eight")


@pytest.mark.slow
def test_the_simulation_mixes_every_realistic_case(clean_tree: Path) -> None:
    artifacts = discover([clean_tree])
    notes = [a.data for a in artifacts if a.kind == "scheduler-note"]
    manifests = [a.data for a in artifacts if a.kind == "manifest"]
    assert len(notes) == 200
    assert Counter(n["status"] for n in notes).keys() == {
        "lane_completed",
        "lane_execution_failed",
        "blocked_no_signal",
    }
    assert {m["requested_promotion_target"] for m in manifests} == {"paper", "live"}
    phase: dict[str, Counter[str]] = {}
    for manifest in manifests:
        for p in manifest["phases"]:
            phase.setdefault(p["name"], Counter())[p["status"]] += 1
    assert {"pass", "fail", "skip"} <= set(phase["paper-canary"])
    assert {"pass", "fail"} <= set(phase["runtime-governance"]) & set(phase["rollback-proof"])
    assert {"fail", "skipped"} <= set().union(*(phase[n] for n in ("gate-evaluation", "drift-gate")))
    triggered = [m for m in manifests if m["rollback_proof"]["rollback_triggered"]]
    assert any(m["rollback_proof"]["status"] == "pass" for m in triggered)
    assert any(m["rollback_proof"]["status"] == "fail" for m in triggered)
    assert len(list((clean_tree / "rollback-incidents").iterdir())) > 0
    assert sum(1 for a in artifacts if a.kind == "lane-note") == len(manifests)
    stamps = [datetime.fromisoformat(n["timestamp"]) for n in sorted(notes, key=lambda n: n["iteration"])]
    assert stamps == sorted(stamps)
    # The simulated clock: 5 to 45 minutes a cycle from the epoch, whatever the wall clock says.
    assert EPOCH + timedelta(minutes=5) <= stamps[0] <= stamps[-1] <= EPOCH + timedelta(minutes=46 * 200)


@pytest.mark.slow
def test_faults_fail_exactly_the_tests_faults_json_lists(tmp_path: Path, pytester: pytest.Pytester) -> None:
    out = tmp_path / "t"
    assert main(["simulate", "--runs", "200", "--seed", "7", "--out", str(out), "--faults", "20"]) == EXIT_OK
    faults: list[dict[str, Any]] = json.loads((out / FAULTS_FILE).read_text())
    assert len(faults) == 20
    assert len({f["artifact"] for f in faults}) == 20
    assert all(set(f) == {"artifact", "rules", "fault"} for f in faults)
    failed, passed = _failed_node_ids(pytester, f"--torghut-artifacts={out}")
    assert failed == _expected_failures(out)
    assert passed > 5000


@pytest.mark.slow
@pytest.mark.parametrize(
    ("layout", "note_format", "extra"),
    [
        ("flat", "json", ["--runs", "40"]),
        ("nested", "json", ["--runs", "60", "--retain", "5", "--absolute-prefix", PREFIX]),
    ],
    ids=["flat", "nested-retained-absolute"],
)
def test_other_layouts_fail_exactly_as_declared_too(
    tmp_path: Path, pytester: pytest.Pytester, layout: str, note_format: str, extra: list[str]
) -> None:
    out = tmp_path / "t"
    args = ["simulate", "--seed", "11", "--out", str(out), "--faults", "8", "--layout", layout]
    assert main([*args, "--note-format", note_format, *extra]) == EXIT_OK
    path_map = [f"--torghut-path-map={PREFIX}={out}"] if PREFIX in extra else []
    failed, _ = _failed_node_ids(pytester, f"--torghut-artifacts={out}", *path_map)
    assert failed == _expected_failures(out)
    assert len(failed) >= 8


@pytest.mark.slow
def test_retention_keeps_notes_and_incidents_but_prunes_old_runs(tmp_path: Path, pytester: pytest.Pytester) -> None:
    result = simulate(SimulationOptions(runs=60, seed=3, out=tmp_path / "t", retain=4))
    runs = sorted(p.name for p in (tmp_path / "t").iterdir() if p.name[:1].isdigit())
    assert len(runs) == 4
    assert result.pruned == result.runs - 4
    assert len(list((tmp_path / "t" / "notes").iterdir())) == 60
    assert pytester.runpytest(f"--torghut-artifacts={tmp_path / 't'}").ret == pytest.ExitCode.OK


def test_the_simulation_refuses_what_it_cannot_do(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine\n")
    assert main(["simulate", "--runs", "3", "--seed", "1", "--out", str(tmp_path / "full")]) == EXIT_REFUSED
    assert "not an empty directory" in capsys.readouterr().err
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine\n"
    assert main(["simulate", "--runs", "1", "--seed", "1", "--out", str(tmp_path / "tiny"), "--faults", "40"]) == 1
    assert "room for only" in capsys.readouterr().err
