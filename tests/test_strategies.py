"""Property tests: producer output always conforms; every mutation fails exactly its declared rules."""

from __future__ import annotations

import shutil
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from pytest_torghut_rollout.checking.discovery import discover, manifest_artifact, note_artifact
from pytest_torghut_rollout.checking.model import ARTIFACT_KINDS, CHECK_REFS
from pytest_torghut_rollout.checking.paths import PathMapping, Resolver
from pytest_torghut_rollout.checking.rules import REGISTRY, CheckContext, check_artifact
from pytest_torghut_rollout.contract.models import PhaseManifest, SchedulerNote
from pytest_torghut_rollout.producer import (
    NOTE_FORMATS,
    CycleSpec,
    NoteFormat,
    Scenario,
    findings_in_tree,
    manifest_data,
    render_note,
    write_scenario,
)
from pytest_torghut_rollout.testing.mutations import (
    HISTORY_RULES,
    MUTATIONS,
    Mutation,
    by_kind,
    candidates,
    killed_rules,
)
from pytest_torghut_rollout.testing.strategies import manifests, mutations, scenarios, scheduler_notes

PREFIX = "/tmp/torghut/autonomy"
PROPERTY = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
TREES = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
#: Every rule a mutation of a tree can break: all but those judged against git or a ledger.
EVERY_RULE = frozenset(r.id for r in REGISTRY) - HISTORY_RULES


def _failing(root: Path, scenario: Scenario, opt_ins: tuple[str, ...]) -> set[tuple[str, str]]:
    mappings = [PathMapping(old=scenario.prefix, new=root)] if scenario.prefix else []
    found = findings_in_tree([root], mappings=mappings, opt_ins=opt_ins)
    return {(display, rule_id) for display, rules in found.items() for rule_id in rules}


@PROPERTY
@given(manifest=manifests())
def test_every_producer_manifest_has_zero_findings(manifest: PhaseManifest) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "run" / "rollout" / "phase-manifest.json"
        artifact = manifest_artifact(manifest_data(manifest), path=path, root=path.parent.parent, display="run")
        assert check_artifact(artifact, CheckContext(resolver=Resolver([Path(tmp)]))) == {}


@pytest.mark.slow
@PROPERTY
@given(note=scheduler_notes(), fmt=st.sampled_from(NOTE_FORMATS), n=st.integers(1, 10_000))
def test_every_producer_note_has_zero_findings(note: SchedulerNote, fmt: NoteFormat, n: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        text = render_note(note.model_copy(update={"iteration": n}), fmt)
        path = Path(tmp) / "notes" / f"iteration-{n}.md"
        artifact = note_artifact(text, path=path, root=Path(tmp), display="note", number=n)
        assert artifact.kind == "scheduler-note"
        assert artifact.data["reason"] == note.reason
        assert check_artifact(artifact, CheckContext(resolver=Resolver([Path(tmp)]))) == {}


@pytest.mark.slow
@TREES
@given(scenario=scenarios(prefixes=(None, PREFIX)))
def test_every_producer_tree_has_zero_findings_even_with_strict_refs(scenario: Scenario) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        result = write_scenario(scenario, Path(tmp))
        assert result.warnings == ()
        assert _failing(Path(tmp), scenario, (CHECK_REFS.key,)) == set()


@pytest.mark.slow
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
@given(
    mutation=mutations(),
    scenario=scenarios(min_cycles=2, completed_first=True, prefixes=(None, PREFIX)),
    data=st.data(),
)
def test_every_mutation_fails_exactly_its_declared_rules(mutation: Mutation, scenario: Scenario, data: Any) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_scenario(scenario, root)
        options = list(candidates(mutation, discover([root])))
        assume(options)
        target = data.draw(st.sampled_from(options), label="target")
        assert mutation.apply(target) is not None
        assert _failing(root, scenario, mutation.opt_ins) == {(target.display, r) for r in mutation.rules}


def _base_scenario() -> Scenario:
    start = datetime(2026, 4, 2, 9, 30, 0, 218734, tzinfo=UTC)
    kinds: list[dict[str, Any]] = [
        {"outcome": "blocked_no_signal", "signal_count": 0},
        {},
        {"target": "live", "patch": False, "drift_status": "drift_detected", "rollback_triggered": True},
        {"rollback_triggered": True, "incident_evidence": False, "stage_statuses": {"gate-evaluation": "fail"}},
        {"outcome": "lane_execution_failed", "error": "RuntimeError: evaluation timed out"},
    ]
    cycles = tuple(
        CycleSpec(timestamp=start + timedelta(minutes=7 * i), run_id=f"{i:024x}", candidate_id=f"cand-{i:012x}", **kw)
        for i, kw in enumerate(kinds)
    )
    return Scenario(cycles=cycles)


@pytest.mark.slow
def test_mutations_kill_every_rule_of_the_registry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    base = tmp_path / "base"
    scenario = _base_scenario()
    write_scenario(scenario, base)
    assert _failing(base, scenario, (CHECK_REFS.key,)) == set()
    killed: set[str] = set()
    wrong: list[str] = []
    for mutation in MUTATIONS:
        work = tmp_path / mutation.kind
        shutil.copytree(base, work)
        target = next(candidates(mutation, discover([work])))
        assert mutation.apply(target) is not None, mutation.kind
        got = _failing(work, scenario, mutation.opt_ins)
        expected = {(target.display, r) for r in mutation.rules}
        if got != expected:
            wrong.append(f"{mutation.kind}: expected {sorted(expected)}, got {sorted(got)}")
        killed |= {rule_id for _, rule_id in got & expected}
    assert wrong == []
    with capsys.disabled():
        print(
            f"\nmutation coverage: {len(killed)}/{len(EVERY_RULE)} rules killed ({len(killed) / len(EVERY_RULE):.0%})"
        )
    assert killed == EVERY_RULE


def test_the_declared_rules_cover_the_whole_registry() -> None:
    assert killed_rules() == EVERY_RULE
    assert all(rule_id in REGISTRY for rule_id in HISTORY_RULES)
    assert all(m.rules <= EVERY_RULE and m.rules for m in MUTATIONS)
    assert len(by_kind()) == len(MUTATIONS)
    assert {m.target for m in MUTATIONS} <= set(ARTIFACT_KINDS)
    opt_in_rules = {r.id for r in REGISTRY if r.opt_in}
    assert all(bool(m.rules & opt_in_rules) == bool(m.opt_ins) for m in MUTATIONS)


@given(mutation=mutations(fails_by_default=True))
def test_default_failing_mutations_break_only_required_default_rules(mutation: Mutation) -> None:
    assert mutation.fails_by_default
    assert all(REGISTRY[r].opt_in is None and REGISTRY[r].severity.value == "required" for r in mutation.rules)


def test_a_mutation_refuses_an_artifact_of_another_kind(tmp_path: Path) -> None:
    write_scenario(_base_scenario(), tmp_path)
    note = next(a for a in discover([tmp_path]) if a.kind == "scheduler-note")
    before = note.path.read_bytes()
    assert by_kind()["status-flip"].apply(note) is None
    assert note.path.read_bytes() == before
