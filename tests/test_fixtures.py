"""The fixture corpus: conforming trees find nothing; each invalid case trips exactly its listed rules.

Unit level: rules run on discovered artifacts with no pytest plugin involved. Plugin level:
the same trees through ``pytest --torghut-artifacts`` in-process (pytester).
"""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from pytest_torghut_rollout.checking.discovery import artifact_trees, discover
from pytest_torghut_rollout.checking.ledger import load_ledger
from pytest_torghut_rollout.checking.model import CHECK_REFS as CHECK_REFS_SWITCH
from pytest_torghut_rollout.checking.model import Artifact, ArtifactKind, Severity
from pytest_torghut_rollout.checking.paths import PathMapping, Resolver
from pytest_torghut_rollout.checking.rules import REGISTRY, CheckContext, check_artifact, evaluate_artifacts
from pytest_torghut_rollout.checking.vcs import tracked_files
from pytest_torghut_rollout.contract.models import SKIP_STATUSES

FIXTURES = Path(__file__).parent.parent / "fixtures"
VALID = FIXTURES / "valid"
VALID_ABSOLUTE = FIXTURES / "valid-absolute"
INVALID = FIXTURES / "invalid"
PRODUCTION_PREFIX = "/tmp/torghut/autonomy"
CHECK_REFS = CHECK_REFS_SWITCH.key
CASE_KEYS = frozenset({"description", "rule", "fails", "not_evaluated", "options"})
CASE_OPTIONS = frozenset({"check_refs", "strict", "notes_ledger", "commit_notes"})
#: A case's own ledger, given as --torghut-notes-ledger when its options say ``notes_ledger``.
CASE_LEDGER = "notes-ledger.jsonl"
ALLOW_TRACKED = "--torghut-allow-tracked-notes"
#: The corpus is committed to this repository on purpose, so it is checked with the opt-out
#: the contract provides for that (TN022 not evaluated), and without a notes ledger unless a
#: case brings one (TN023 not evaluated): neither rule can judge it in place.
CORPUS_UNJUDGED = frozenset({"TN022", "TN023"})
SLUG = re.compile(r"[a-z0-9]+(?:-[a-z0-9]+)*")
FAILED_RULE = re.compile(r"^FAILED \S+::(T[MN][0-9]{3}-[a-z0-9-]+)", re.MULTILINE)
#: Plugins unrelated to the checks; the per-case runs leave them out, since an in-process run
#: re-imports every plugin it loads (the full set is exercised on the conforming tree).
UNRELATED_PLUGINS = (
    "html",
    "html_fixtures",
    "metadata",
    "xdist",
    "xdist.looponfail",
    "allure_pytest",
    "hypothesispytest",
)
ADVISORY_WARNING = "pytest_torghut_rollout.plugin.items.TorghutAdvisoryWarning"
#: This suite's filterwarnings=error reaches into in-process runs; let advisory warnings be warnings there.
show_advisories = pytest.mark.filterwarnings(f"always::{ADVISORY_WARNING}")

#: Cases that expose a bug outside this corpus; strict xfail, so the fix makes them fail until removed here.
# -- loading -----------------------------------------------------------------------------------


def _context(path: Path, mappings: Sequence[PathMapping] = (), *, allow_tracked_notes: bool = True) -> CheckContext:
    """The context the plugin builds for ``--torghut-artifacts=path`` (the corpus: tracked notes allowed)."""
    return CheckContext(resolver=Resolver(artifact_trees([path]), mappings), allow_tracked_notes=allow_tracked_notes)


def _findings_by_rule(
    path: Path,
    *,
    mappings: Sequence[PathMapping] = (),
    opt_ins: tuple[str, ...] = (),
    context: CheckContext | None = None,
) -> dict[str, list[str]]:
    """Rule id -> '<artifact>: <message>' for every finding on every artifact under ``path``."""
    found: dict[str, list[str]] = {}
    context = context or _context(path, mappings)
    for artifact, verdicts in evaluate_artifacts(discover([path]), context, opt_ins=opt_ins):
        for rule_id, verdict in verdicts.items():
            messages = [f"{artifact.display}: {f.message}" for f in verdict.findings]
            if messages:
                found.setdefault(rule_id, []).extend(messages)
    return found


def _not_evaluated(
    path: Path,
    *,
    mappings: Sequence[PathMapping] = (),
    opt_ins: tuple[str, ...] = (),
    context: CheckContext | None = None,
    unjudged: frozenset[str] = CORPUS_UNJUDGED,
) -> dict[str, list[str]]:
    """Rule id -> '<artifact>: <reason>' for every check that could not judge, except ``unjudged`` rules."""
    found: dict[str, list[str]] = {}
    context = context or _context(path, mappings)
    for artifact, verdicts in evaluate_artifacts(discover([path]), context, opt_ins=opt_ins):
        for rule_id, verdict in verdicts.items():
            if verdict.not_evaluated is not None and rule_id not in unjudged:
                found.setdefault(rule_id, []).append(f"{artifact.display}: {verdict.not_evaluated}")
    return found


def _absolute_map() -> PathMapping:
    return PathMapping(old=PRODUCTION_PREFIX, new=VALID_ABSOLUTE.absolute())


@dataclass(frozen=True, kw_only=True)
class Case:
    """One ``invalid/<RULE-ID>/<slug>/`` directory and its ``case.json``."""

    path: Path
    spec: dict[str, Any]

    @property
    def rule(self) -> str:
        return str(self.spec["rule"])

    @property
    def fails(self) -> set[str]:
        return set(self.spec["fails"])

    @property
    def options(self) -> dict[str, Any]:
        options: dict[str, Any] = self.spec.get("options", {})
        return options

    @property
    def opt_ins(self) -> tuple[str, ...]:
        return (CHECK_REFS,) if self.options.get("check_refs") else ()

    @property
    def unjudged(self) -> frozenset[str]:
        """The rules that cannot judge this case in place (a case may bring what one needs)."""
        judged = {"TN022"} if self.options.get("commit_notes") else set()
        judged |= {"TN023"} if self.options.get("notes_ledger") else set()
        return CORPUS_UNJUDGED - judged

    def prepare(self, request: pytest.FixtureRequest, tmp_path: Path) -> Path:
        """The tree to check: the case in place, or a copy when checking it needs one.

        A ledger case is checked from a copy, so that no run can ever extend a committed
        ledger. Tracked notes cannot be a static fixture (the whole corpus is committed on
        purpose), so a ``commit_notes`` case is copied into a fresh git repository, its notes
        committed at test time; without git the test is skipped, naming why.
        """
        if not (self.options.get("commit_notes") or self.options.get("notes_ledger")):
            return self.path
        copy = Path(shutil.copytree(self.path, tmp_path / "case"))
        if self.options.get("commit_notes"):
            request.getfixturevalue("commit_notes")(copy)
        return copy

    def context(self, path: Path) -> CheckContext:
        """The context the plugin builds for this case's options, checking ``path``."""
        context = _context(path, allow_tracked_notes=not self.options.get("commit_notes"))
        if self.options.get("notes_ledger"):
            context = replace(context, ledger=load_ledger(path / CASE_LEDGER, [path]))
        return context

    def plugin_args(self, path: Path) -> list[str]:
        args = [f"--torghut-artifacts={path}", "-p", "no:cacheprovider"]
        for plugin in UNRELATED_PLUGINS:
            args += ["-p", f"no:{plugin}"]
        if self.options.get("check_refs"):
            args.append("--torghut-check-refs")
        if self.options.get("strict"):
            args.append("--torghut-strict")
        if not self.options.get("commit_notes"):
            args.append(ALLOW_TRACKED)
        if self.options.get("notes_ledger"):
            args.append(f"--torghut-notes-ledger={path / CASE_LEDGER}")
        return args


def _load_case(path: Path) -> Case:
    return Case(path=path, spec=json.loads((path / "case.json").read_text(encoding="utf-8")))


CASE_DIRS = sorted(p for p in INVALID.glob("*/*") if p.is_dir())


def _case_params() -> list[Any]:
    params = []
    for path in CASE_DIRS:
        case_id = f"{path.parent.name}/{path.name}"
        params.append(pytest.param(path, id=case_id))
    return params


VALID_ARTIFACTS = discover([VALID])


# -- unit level --------------------------------------------------------------------------------


@pytest.mark.parametrize("artifact", VALID_ARTIFACTS, ids=[a.display for a in VALID_ARTIFACTS])
def test_conforming_artifact_has_no_findings(artifact: Artifact) -> None:
    results = check_artifact(artifact, _context(VALID))
    listed = {rule_id: [f.message for f in findings] for rule_id, findings in results.items()}
    assert listed == {}


@pytest.mark.parametrize("case_dir", _case_params())
def test_invalid_case_trips_exactly_its_listed_rules(
    case_dir: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case = _load_case(case_dir)
    path = case.prepare(request, tmp_path)
    artifacts = discover([path])
    assert artifacts, "the case holds no artifact"
    assert all(a.path.name not in ("case.json", CASE_LEDGER) for a in artifacts)
    found = _findings_by_rule(path, opt_ins=case.opt_ins, context=case.context(path))
    assert set(found) == case.fails, found
    assert case.rule in found
    if "not_evaluated" in case.spec:
        skipped = _not_evaluated(path, opt_ins=case.opt_ins, context=case.context(path), unjudged=case.unjudged)
        assert set(skipped) == set(case.spec["not_evaluated"])


@pytest.mark.parametrize("case_id", ["TM021/evidence-path-escapes-tree", "TM024/ref-escapes-tree"])
def test_reference_escaping_the_tree_is_reported_unresolvable(case_id: str) -> None:
    case = _load_case(INVALID / case_id)
    messages = _findings_by_rule(case.path, opt_ins=case.opt_ins)[case.rule]
    assert messages
    assert all("unresolvable" in m and "outside the artifact trees" in m for m in messages)


@pytest.mark.parametrize(
    ("case_id", "kind", "error"),
    [
        ("TM001/manifest-not-json", "manifest", "invalid JSON"),
        ("TN001/note-broken-json", "scheduler-note", "invalid JSON note"),
        ("TN001/front-matter-never-closed", "scheduler-note", "never closed"),
    ],
)
def test_unparsable_artifact_fails_one_rule_with_the_parse_error_and_evaluates_no_other(
    case_id: str, kind: ArtifactKind, error: str
) -> None:
    case = _load_case(INVALID / case_id)
    found = _findings_by_rule(case.path)
    owner = "TM001" if kind == "manifest" else "TN001"
    assert set(found) == {owner} == case.fails
    assert all(error in m for messages in found.values() for m in messages)
    skipped = _not_evaluated(case.path)
    assert set(skipped) == {r.id for r in REGISTRY.for_kind(kind)} - {owner} - CORPUS_UNJUDGED
    assert all(f"({owner} reports it)" in m for messages in skipped.values() for m in messages)


def test_absolute_tree_conforms_through_the_path_map() -> None:
    assert _findings_by_rule(VALID_ABSOLUTE, mappings=[_absolute_map()]) == {}


def test_absolute_tree_without_the_path_map_reports_unresolvable_references() -> None:
    found = _findings_by_rule(VALID_ABSOLUTE)
    # Evidence and drift files of the rollback and the note's evidence: rules that need the file.
    assert set(found) == {"TM021", "TM022", "TN010"}
    for messages in found.values():
        assert all("outside the artifact trees" in m for m in messages), messages
    # The note's manifest path need not resolve: not followed, not a violation.
    (skipped,) = _not_evaluated(VALID_ABSOLUTE)["TN008"]
    assert "manifest path not followed" in skipped
    assert "--torghut-path-map" in skipped


# -- meta: the corpus itself -------------------------------------------------------------------


def test_every_registered_rule_has_an_invalid_case() -> None:
    covered = {path.parent.name for path in CASE_DIRS}
    assert {r.id for r in REGISTRY} - covered == set()


def test_invalid_tree_holds_only_rule_directories_of_case_directories() -> None:
    stray = [p for p in INVALID.iterdir() if not p.is_dir() or p.name not in REGISTRY]
    stray += [p for rule_dir in INVALID.iterdir() if rule_dir.is_dir() for p in rule_dir.iterdir() if not p.is_dir()]
    assert stray == []


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[f"{p.parent.name}/{p.name}" for p in CASE_DIRS])
def test_invalid_case_json_is_filed_under_its_registered_rule(case_dir: Path) -> None:
    case = _load_case(case_dir)
    spec = case.spec
    assert set(spec) <= CASE_KEYS
    assert {"description", "rule", "fails"} <= set(spec)
    assert case_dir.parent.name in REGISTRY
    assert spec["rule"] == case_dir.parent.name
    assert SLUG.fullmatch(case_dir.name)
    description = spec["description"]
    assert isinstance(description, str)
    assert description.endswith(".")
    assert description.strip() == description
    assert "\n" not in description
    assert isinstance(spec["fails"], list)
    assert spec["fails"] == sorted(set(spec["fails"]))
    assert all(rule_id in REGISTRY for rule_id in spec["fails"])
    assert spec["rule"] in spec["fails"]
    assert set(case.options) <= CASE_OPTIONS
    assert all(isinstance(v, bool) for v in case.options.values())
    opt_in = {REGISTRY[r].opt_in for r in spec["fails"]} - {None}
    assert opt_in <= set(case.opt_ins), "a case that trips an opt-in rule must enable it"
    if REGISTRY[case.rule].severity is Severity.ADVISORY:
        # So that the case warns by default and fails only with --torghut-strict.
        assert all(REGISTRY[r].severity is Severity.ADVISORY for r in spec["fails"])


CONFORMING = FIXTURES / "conforming"
CONFORMING_DIRS = sorted(p for p in CONFORMING.iterdir() if p.is_dir())


@pytest.mark.parametrize("case_dir", CONFORMING_DIRS, ids=[p.name for p in CONFORMING_DIRS])
def test_conforming_case_trips_no_rule_and_leaves_exactly_its_listed_rules_unevaluated(case_dir: Path) -> None:
    spec = json.loads((case_dir / "case.json").read_text(encoding="utf-8"))
    assert set(spec) <= {"description", "not_evaluated"}
    assert spec["description"].endswith(".")
    assert _findings_by_rule(case_dir) == {}
    assert set(_not_evaluated(case_dir)) == set(spec.get("not_evaluated", []))


def test_no_conforming_fixture_trips_any_rule() -> None:
    kinds = {a.kind for a in VALID_ARTIFACTS}
    assert kinds == {"manifest", "notes-series", "scheduler-note", "lane-note"}
    assert _findings_by_rule(VALID) == {}


# -- meta: the conforming trees cover the real-producer quirks READING.md calls legal --------------


def _of(kind: ArtifactKind) -> Iterator[Artifact]:
    return (a for a in VALID_ARTIFACTS if a.kind == kind)


def _manifests() -> Iterator[dict[str, Any]]:
    return (a.data for a in _of("manifest"))


def _phase(manifest: dict[str, Any], name: str) -> dict[str, Any]:
    return next(p for p in manifest["phases"] if p["name"] == name)


def _timestamps(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("timestamp", "created_at", "updated_at") and isinstance(item, str):
                yield item
            yield from _timestamps(item)
    elif isinstance(value, list):
        for item in value:
            yield from _timestamps(item)


def _text(note: Artifact) -> str:
    return note.path.read_text(encoding="utf-8").lstrip()


def _form(note: Artifact) -> str:
    return _text(note)[:1]


def _resolves_missing(ref: str, artifact: Artifact) -> bool:
    resolution = _context(VALID).resolve(ref, artifact.root)
    return resolution.path is not None and not resolution.exists


def _note_outcome(artifact: Artifact) -> Any:
    return artifact.data.get("status", artifact.data.get("outcome"))


QUIRKS: dict[str, Callable[[], bool]] = {
    "json-note": lambda: any(_form(n) == "{" and "status" in n.data for n in _of("scheduler-note")),
    "front-matter-outcome": lambda: any(_form(n) == "-" and "outcome" in n.data for n in _of("scheduler-note")),
    "front-matter-status": lambda: any(_form(n) == "-" and "status" in n.data for n in _of("scheduler-note")),
    "autonomous-lane-note": lambda: any(_text(n).startswith("# Autonomous lane iteration") for n in _of("lane-note")),
    "alpha-lane-note": lambda: any(_text(n).startswith("# Alpha lane iteration") for n in _of("lane-note")),
    "skip-and-skipped": lambda: any(
        {p["status"] for p in m["phases"]} & {"skipped"} and {t["status"] for t in m["phase_transitions"]} & {"skip"}
        for m in _manifests()
    ),
    "updated-before-created": lambda: any(
        datetime.fromisoformat(m["updated_at"]) < datetime.fromisoformat(m["created_at"]) for m in _manifests()
    ),
    "dangling-refs": lambda: any(_resolves_missing(ref, a) for a in _of("manifest") for ref in a.data["artifact_refs"]),
    "placeholder-context": lambda: any(
        any(v in ("unknown", "") for v in m["execution_context"].values()) for m in _manifests()
    ),
    "z-offset": lambda: any(t.endswith("Z") for m in _manifests() for t in _timestamps(m)),
    "plus-offset": lambda: any(t.endswith("+00:00") for m in _manifests() for t in _timestamps(m)),
    "unsorted-governance-refs": lambda: any(
        m[key]["artifact_refs"] != sorted(m[key]["artifact_refs"])
        for m in _manifests()
        for key in ("runtime_governance", "rollback_proof")
    ),
    "governance-without-status": lambda: any(
        "status" not in m["runtime_governance"] and "status" not in m["rollback_proof"] for m in _manifests()
    ),
    "extra-keys": lambda: any("created_at" in m and "reasons" in m["runtime_governance"] for m in _manifests()),
    "paper-run-promotes": lambda: any(
        m["requested_promotion_target"] == "paper" and m["status"] == "pass" for m in _manifests()
    ),
    "rollback-with-existing-evidence": lambda: any(
        m["runtime_governance"]["rollback_triggered"] is True
        and _phase(m, "runtime-governance")["status"] == "fail"
        and _phase(m, "rollback-proof")["status"] == "pass"
        for m in _manifests()
    ),
    "live-run-without-patch": lambda: any(
        m["requested_promotion_target"] == "live"
        and _phase(m, "paper-canary")["status"] in SKIP_STATUSES
        and _phase(m, "paper-canary")["artifact_refs"] == []
        for m in _manifests()
    ),
    "paper-run-without-patch": lambda: any(
        m["requested_promotion_target"] == "paper"
        and _phase(m, "paper-canary")["status"] == "fail"
        and m["status"] == "fail"
        for m in _manifests()
    ),
    "null-paths-when-not-completed": lambda: (
        {
            _note_outcome(n)
            for n in _of("scheduler-note")
            if n.data["phase_manifest_path"] is None and n.data["rollback_incident_evidence_path"] is None
        }
        >= {"blocked_no_signal", "lane_execution_failed"}
    ),
    "completed-note-of-pruned-run": lambda: any(
        _note_outcome(n) == "lane_completed" and _resolves_missing(n.data["phase_manifest_path"], n)
        for n in _of("scheduler-note")
    ),
}


@pytest.mark.parametrize("quirk", sorted(QUIRKS))
def test_conforming_fixtures_include_the_legal_producer_quirk(quirk: str) -> None:
    assert QUIRKS[quirk]()


# -- plugin level ------------------------------------------------------------------------------


def _failed_rule_names(result: pytest.RunResult) -> set[str]:
    return set(FAILED_RULE.findall(result.stdout.str()))


@show_advisories
def test_plugin_passes_the_conforming_fixtures_and_says_tracked_notes_were_allowed(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest(f"--torghut-artifacts={VALID}", ALLOW_TRACKED, "-p", "no:cacheprovider")
    assert result.ret == 0, result.stdout.str()[-3000:]
    checks = sum(len(REGISTRY.for_kind(a.kind)) for a in VALID_ARTIFACTS)
    # The one note whose run retention pruned cannot be compared with its manifest.
    pruned = sum(len(reasons) for reasons in _not_evaluated(VALID).values())
    assert pruned == 1
    # And on every series, TN022 (opted out) and TN023 (no ledger): not evaluated, never passed.
    series = sum(1 for a in VALID_ARTIFACTS if a.kind == "notes-series")
    unjudged = len(CORPUS_UNJUDGED) * series
    assert _not_evaluated(VALID, unjudged=frozenset()).keys() == {"TN008", *CORPUS_UNJUDGED}
    skipped = pruned + unjudged
    assert result.parseoutcomes() == {"passed": checks + 1 - skipped, "skipped": skipped}  # + torghut::discovery
    result.stdout.fnmatch_lines(["Tracked notes were allowed: --torghut-allow-tracked-notes opted this run out of *"])


def test_without_the_opt_out_the_committed_fixtures_fail_tn022_on_every_series(pytester: pytest.Pytester) -> None:
    answer = tracked_files(VALID / "flat" / "notes")
    if answer.unknown is not None or not answer.names:
        pytest.skip(f"the fixtures are not tracked by git here ({answer.unknown or 'an unpacked sdist'})")
    result = pytester.runpytest(f"--torghut-artifacts={VALID}", "-p", "no:cacheprovider")
    assert result.ret == 1
    series = [a.display for a in VALID_ARTIFACTS if a.kind == "notes-series"]
    assert sorted(line.split()[1] for line in result.outlines if line.startswith("FAILED ")) == sorted(
        f"{s}::{REGISTRY['TN022'].name}" for s in series
    )
    result.stdout.fnmatch_lines(["TN022 notes-untracked: iteration-1.md is tracked by git"])


@show_advisories
def test_plugin_checks_the_absolute_tree_only_through_the_path_map(pytester: pytest.Pytester) -> None:
    args = [f"--torghut-artifacts={VALID_ABSOLUTE}", ALLOW_TRACKED, "-p", "no:cacheprovider"]
    mapped = pytester.runpytest(*args, f"--torghut-path-map={PRODUCTION_PREFIX}={VALID_ABSOLUTE}")
    assert mapped.ret == 0, mapped.stdout.str()[-3000:]
    assert "warnings" not in mapped.parseoutcomes()
    unmapped = pytester.runpytest(*args)
    assert unmapped.ret == 1
    names = {REGISTRY[r].name for r in ("TM021", "TM022")}
    assert _failed_rule_names(unmapped) == names
    unmapped.stdout.fnmatch_lines(
        [
            "*TN010 note-evidence-exists*unresolvable*outside the artifact trees*",
            "1 reference resolves outside the artifact trees and was not followed; map production's*",
        ]
    )


@show_advisories
@pytest.mark.parametrize("case_dir", _case_params())
def test_plugin_fails_each_invalid_case_naming_its_rule(
    pytester: pytest.Pytester, case_dir: Path, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    case = _load_case(case_dir)
    path = case.prepare(request, tmp_path)
    rule = REGISTRY[case.rule]
    required = {REGISTRY[r].name for r in case.fails if REGISTRY[r].severity is Severity.REQUIRED}
    result = pytester.runpytest(*case.plugin_args(path))
    failed = _failed_rule_names(result)
    if rule.severity is Severity.REQUIRED or case.options.get("strict"):
        assert result.ret == 1, result.stdout.str()[-3000:]
        assert rule.name in failed
        assert required <= failed <= {REGISTRY[r].name for r in case.fails}
        return
    # Advisory: a warning naming the rule, and a failure only with --torghut-strict.
    assert result.ret == 0, result.stdout.str()[-3000:]
    assert failed == set()
    assert result.parseoutcomes().get("warnings", 0) >= 1
    result.stdout.fnmatch_lines([f"*TorghutAdvisoryWarning: {rule.id} {rule.slug}:*"])
    strict = pytester.runpytest(*case.plugin_args(path), "--torghut-strict")
    assert strict.ret == 1, strict.stdout.str()[-3000:]
    assert _failed_rule_names(strict) == {REGISTRY[r].name for r in case.fails}
