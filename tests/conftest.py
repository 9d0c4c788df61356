"""Shared fixtures: a small conforming artifact tree built from dicts, and xdist variants.

Also the test tiers: tests marked ``slow`` (over about a second: the wheel build, the
simulations, property tests, xdist runs) are skipped unless ``--run-slow`` is given or
``-m`` names the marker; CI runs both tiers.
"""

from __future__ import annotations

import copy
import json
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Iterator
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest

# pytester's in-process runs drop the modules they import, and the plugin imports its checking
# session only when artifacts are given: loaded once here, every such run shares it instead of
# importing it (and its classes) anew.
import pytest_torghut_rollout.plugin.session  # noqa: F401
from pytest_torghut_rollout.contract.models import DRIFT_EVIDENCE_FILES, PATCH_PATH, PHASE_ORDER, REQUIRED_SLO_GATES

RUN_ID = "57d5a9d770b0e86281e11ac3"
CANDIDATE_ID = "cand-57d5a9d770b0"
STAMP = "2026-04-02T09:30:41.507112+00:00"
PATCH = PATCH_PATH
DRIFT_REFS = sorted(DRIFT_EVIDENCE_FILES)
PHASES = PHASE_ORDER


def _gate(gate_id: str, threshold: Any = None, value: Any = None) -> dict[str, Any]:
    return {"id": gate_id, "status": "pass", "threshold": threshold, "value": value}


def _phase(name: str, gates: list[dict[str, Any]], observations: dict[str, Any], refs: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "status": "pass",
        "timestamp": STAMP,
        "slo_gates": gates,
        "observations": observations,
        "artifact_refs": refs,
    }


def _in_order(*detailed: dict[str, Any]) -> list[dict[str, Any]]:
    """The phases in the contract's order; one this manifest does not detail passes its required gates."""
    by_name = {p["name"]: p for p in detailed}
    return [by_name.get(name) or _phase(name, [_gate(g) for g in REQUIRED_SLO_GATES[name]], {}, []) for name in PHASES]


def conforming_manifest() -> dict[str, Any]:
    """A passing paper-target manifest in the shape production writes, with relative paths."""
    governance = {
        "requested_promotion_target": "paper",
        "drift_status": "stable",
        "rollback_triggered": False,
        "rollback_incident_evidence_path": "",
        "artifact_refs": list(DRIFT_REFS),
        "status": "pass",
    }
    return {
        "schema_version": "autonomy-phase-manifest-v1",
        "run_id": RUN_ID,
        "candidate_id": CANDIDATE_ID,
        "execution_context": {
            "repository": "proompteng/lab",
            "base": "main",
            "head": "agentruns/torghut-autonomy-20260402T093000",
            "artifactPath": "run1",
            "priorityId": "",
        },
        "requested_promotion_target": "paper",
        "created_at": STAMP,
        "updated_at": "2026-04-02T09:30:00.218734+00:00",
        "phase_count": len(PHASES),
        "phase_transitions": [{"from": a, "to": b, "status": "pass"} for a, b in pairwise(PHASES)],
        "status": "pass",
        "observation_summary": {"signal_count": 412, "has_signals": True},
        "phases": _in_order(
            _phase(
                "gate-evaluation",
                [
                    _gate("gate0_data_integrity"),
                    _gate("slo_signal_count_minimum", 1, 412),
                    _gate("slo_decision_count_minimum", 1, 37),
                ],
                {"recommended_mode": "paper"},
                [],
            ),
            _phase("promotion-prerequisites", [_gate("slo_required_artifacts_present", 1, 1)], {}, [PATCH]),
            _phase("rollback-readiness", [_gate("slo_required_rollback_checks_present", 3, 3)], {}, []),
            _phase("drift-gate", [_gate("slo_drift_gate_allowed", True, True)], {}, list(DRIFT_REFS)),
            _phase(
                "paper-canary",
                [_gate("slo_paper_canary_patch_present", "patch exists for paper target", PATCH)],
                {"target": "paper", "patch_path": PATCH},
                [PATCH],
            ),
            _phase(
                "runtime-governance",
                [_gate("slo_runtime_rollback_not_triggered", False, False)],
                {"drift_status": "stable", "rollback_triggered": False},
                list(DRIFT_REFS),
            ),
            _phase(
                "rollback-proof",
                [_gate("slo_rollback_evidence_required_when_triggered", True, False)],
                {"rollback_triggered": False, "rollback_incident_evidence_path": ""},
                list(DRIFT_REFS),
            ),
        ),
        "runtime_governance": governance,
        "rollback_proof": copy.deepcopy(governance),
        "artifact_refs": [*DRIFT_REFS, PATCH],
        "slo_contract_version": "governance-slo-v1",
    }


def scheduler_note(iteration: int) -> dict[str, Any]:
    """A scheduler note in the JSON encoding; iteration 1 found no signal, later ones completed run1."""
    completed = iteration > 1
    return {
        "iteration": iteration,
        "status": "lane_completed" if completed else "blocked_no_signal",
        "timestamp": f"2026-04-02T09:{25 + iteration:02d}:00+00:00",
        "reason": "completed" if completed else "no_signals_in_window",
        "promotion_target": "paper",
        "phase_manifest_path": "run1/rollout/phase-manifest.json" if completed else None,
        "autonomy_run_id": RUN_ID if completed else None,
        "autonomy_candidate_id": CANDIDATE_ID if completed else None,
        "recommendation_trace_id": "3eb9d99026105d302ceebfda" if completed else None,
        "emergency_stop_active": False,
        "rollback_incident_evidence_path": None,
        "throughput": {"signal_count": 412 if completed else 0},
    }


def write_json(path: Path, data: Any) -> Path:
    """Write ``data`` as indented JSON, creating parent directories."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def write_run(root: Path, manifest: dict[str, Any] | None = None, *, run: str = "run1") -> Path:
    """Write one run directory (manifest plus the drift files and patch it references); return the manifest."""
    run_dir = root / run
    for ref in DRIFT_REFS:
        write_json(run_dir / ref, {"run_id": RUN_ID})
    (run_dir / PATCH).parent.mkdir(parents=True, exist_ok=True)
    (run_dir / PATCH).write_text("kind: ConfigMap\n", encoding="utf-8")
    return write_json(run_dir / "rollout" / "phase-manifest.json", manifest or conforming_manifest())


def write_notes(root: Path, count: int = 2) -> Path:
    """Write a JSON scheduler notes series ``iteration-1.md``..``iteration-<count>.md``; return ``notes/``."""
    for n in range(1, count + 1):
        write_json(root / "notes" / f"iteration-{n}.md", scheduler_note(n))
    return root / "notes"


TreeWriter = Callable[..., Path]
Git = Callable[..., "subprocess.CompletedProcess[str]"]
GIT = shutil.which("git")
NO_GIT = "git is not installed: this test needs a git repository built at test time"

SLOW_SKIP_REASON = "slow: run with --run-slow (or -m slow)"


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add ``--run-slow``, which runs the tests marked ``slow`` as well."""
    parser.addoption(
        "--run-slow",
        action="store_true",
        default=False,
        help="also run tests marked slow (wheel build, simulations, property tests, xdist runs). Default: skip them.",
    )


def _selects_slow(config: pytest.Config) -> bool:
    # An -m expression that names the marker (-m slow, -m "not slow") decides on its own;
    # skipping on top of it would turn "-m slow" into a run of skips.
    return re.search(r"\bslow\b", config.option.markexpr or "") is not None


def pytest_report_header(config: pytest.Config) -> str:
    """Say which test tier runs, so that a fast run never passes for a full one."""
    if config.getoption("--run-slow"):
        return "slow tests: included (--run-slow)"
    if _selects_slow(config):
        return "slow tests: as -m selects them"
    return "slow tests: skipped; --run-slow (or -m slow) runs them"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Skip the tests marked ``slow`` unless ``--run-slow`` is given or ``-m`` names the marker."""
    if config.getoption("--run-slow") or _selects_slow(config):
        return
    # Skipped rather than deselected: naming a slow test by its node id then says why it did not run.
    skip = pytest.mark.skip(reason=SLOW_SKIP_REASON)
    for item in items:
        if item.get_closest_marker("slow") is not None:
            item.add_marker(skip)


@pytest.fixture
def manifest() -> dict[str, Any]:
    """A fresh conforming manifest dict, for a test to break before writing it with ``write_tree``."""
    return conforming_manifest()


@pytest.fixture
def write_tree(pytester: pytest.Pytester) -> TreeWriter:
    """Return ``write(name="artifacts", manifest=None, notes=2, runs=("run1",))``, which writes a tree.

    The tree goes to ``<pytester.path>/<name>``: one run directory per name in ``runs``
    (``rollout/phase-manifest.json`` plus the drift files and patch it references) and a JSON
    scheduler notes series ``notes/iteration-1.md``..``iteration-<notes>.md`` (none for
    ``notes=0``). ``manifest`` (default: conforming) is written into every run. Returns the root.
    """

    def write(
        name: str = "artifacts",
        manifest: dict[str, Any] | None = None,
        notes: int = 2,
        runs: tuple[str, ...] = ("run1",),
    ) -> Path:
        root = pytester.path / name
        for run in runs:
            write_run(root, manifest, run=run)
        if notes:
            write_notes(root, notes)
        return root

    return write


@pytest.fixture
def artifacts(write_tree: TreeWriter) -> Path:
    """A conforming tree at ``<pytester.path>/artifacts``: a manifest and a two-note series (2 artifacts)."""
    return write_tree()


@pytest.fixture(scope="session", autouse=True)
def trees_outside_git(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Trees made under the temporary directory lie outside any git work tree, unless a test makes one.

    Should the temporary directory itself lie in a repository, git would stop its search
    there instead of finding that repository (TN022 counts on it, as its tests do).
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GIT_CEILING_DIRECTORIES", str(tmp_path_factory.getbasetemp().resolve()))
        yield


@pytest.fixture(params=[pytest.param([], id="serial"), pytest.param(["-n", "2"], id="xdist", marks=pytest.mark.slow)])
def xdist_args(request: pytest.FixtureRequest) -> list[str]:
    """Extra arguments running the inner pytest without and with two xdist workers."""
    return list(request.param)


@pytest.fixture
def git() -> Git:
    """Return ``git(directory, *args)``: git run there, apart from the user's configuration and hooks.

    Skips the test when git is not installed (only tests that build a repository ask for it).
    """
    if GIT is None:
        pytest.skip(NO_GIT)
    executable = GIT
    # Not the repository a hook or a shell may point at, nor the user's settings (signing, hooks).
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull)
    identity = ["-c", "user.name=torghut tests", "-c", "user.email=tests@example.invalid"]
    settings = ["-c", "commit.gpgsign=false", "-c", f"core.hooksPath={os.devnull}", "-c", "init.defaultBranch=main"]

    def run(directory: Path, *args: str) -> subprocess.CompletedProcess[str]:
        command = [executable, "-C", str(directory), *identity, *settings, *args]
        return subprocess.run(command, capture_output=True, text=True, env=env, check=True, timeout=60)

    return run


@pytest.fixture
def commit_notes(git: Git) -> Callable[[Path], Path]:
    """Return ``commit(root)``: make ``root`` a git repository and commit its ``notes/``; returns root."""

    def commit(root: Path) -> Path:
        git(root, "init", "-q")
        git(root, "add", "notes")
        git(root, "commit", "-q", "-m", "Record the notes")
        return root

    return commit
