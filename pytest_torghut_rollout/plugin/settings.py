"""The run's resolved configuration, read from options and ini keys in one place."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from ..checking import waivers as waiver_file
from ..checking.model import CHECK_REFS, DEFAULT_UNHEALTHY_DRIFT_STATES
from ..checking.paths import PathMapError, PathMapping
from ..checking.waivers import WaiverBook, WaiverFileError, load_waivers
from ..contract.layout import DEFAULT_MAX_BYTES, MANIFEST_NAME, NOTE_PREFIX, NOTES_DIR, is_artifact_file

GROUP = "torghut"
#: The marker every torghut item carries; ``-m torghut_conformance`` selects the checks.
MARKER = "torghut_conformance"
DEFAULT_DOCS = ""
"""No documentation site: ``see:`` names the installed command that prints the rule."""
RULE_COMMAND = "torghut-rollout rules"
#: The key of ``workerinput`` carrying the controller's date to xdist workers.
RUN_DATE = "torghut_run_date"
#: One test item per rule of each artifact (the default), or one per artifact checking them all.
GRANULARITIES = ("rule", "artifact")
DEFAULT_GRANULARITY = "rule"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the plugin needs to know about this run."""

    artifacts: tuple[Path, ...]
    artifacts_only: bool
    """Check the artifacts and nothing else: a bare ``pytest --torghut-artifacts=X``."""
    refs_roots: tuple[Path, ...] = ()
    """Where references inside artifacts may resolve; empty: the artifacts paths themselves."""
    path_map: tuple[PathMapping, ...]
    min_artifacts: int
    strict: bool
    check_refs: bool
    unhealthy_drift_states: frozenset[str]
    docs_url: str
    evidence_path: Path | None
    max_bytes: int = DEFAULT_MAX_BYTES
    """Larger artifacts are not read; they fail with their size."""
    waivers: WaiverBook | None = None
    """The run's waivers, judged by one date for the whole run; None without a waivers file."""
    allow_tracked_notes: bool = False
    """Notes may be tracked by git (a corpus of examples kept in a repository on purpose)."""
    notes_ledger: Path | None = None
    """The ledger of earlier note digests (absolute), or None."""
    granularity: str = DEFAULT_GRANULARITY
    """``rule``: one test item per rule and artifact; ``artifact``: one item per artifact."""

    @property
    def opt_ins(self) -> tuple[str, ...]:
        """Names of the opt-in rule switches that are on."""
        return (CHECK_REFS.key,) if self.check_refs else ()

    def doc_url(self, anchor: str) -> str | None:
        """The URL of a rule's documentation, when ``torghut_docs_url`` names a site; else None."""
        return f"{self.docs_url}#{anchor}" if self.docs_url else None

    def doc_link(self, rule_id: str, anchor: str) -> str:
        """Where to read a rule: its URL, or the command that prints it wherever the plugin is installed."""
        return self.doc_url(anchor) or f"{RULE_COMMAND} {rule_id}"


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


def positive_int(text: str) -> int:
    """argparse type: a whole number >= 1."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def granularity(text: str) -> str:
    """argparse type: one of GRANULARITIES."""
    if text not in GRANULARITIES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a granularity: choose {' or '.join(GRANULARITIES)} (one test per rule, or per artifact)"
        )
    return text


def path_mapping(text: str) -> str:
    """argparse type: validate OLD=NEW now, keep the text (resolved at configure time)."""
    try:
        PathMapping.parse(text)
    except PathMapError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from exc
    return text


def add_options(parser: pytest.Parser) -> None:
    """Register the torghut options and their ini keys."""
    group = parser.getgroup(GROUP, "torghut rollout conformance")
    group.addoption(
        "--torghut-artifacts",
        action="append",
        dest="torghut_artifacts",
        metavar="PATH",
        default=None,
        help="check every phase manifest and notes series under PATH (an artifact root, a tree of "
        "runs, or one manifest file); repeatable. Default: none, the plugin stays idle.",
    )
    group.addoption(
        "--torghut-path-map",
        action="append",
        dest="torghut_path_map",
        metavar="OLD=NEW",
        type=path_mapping,
        default=None,
        help="rewrite the absolute prefix OLD written by production to NEW before resolving "
        "paths inside artifacts; repeatable. Default: none.",
    )
    group.addoption(
        "--torghut-refs-root",
        action="append",
        dest="torghut_refs_root",
        metavar="DIR",
        default=None,
        help="let paths written inside artifacts resolve anywhere under DIR (to check one run "
        "directory of a nested root, give the root); nothing outside is read; repeatable. "
        "Default: the artifacts paths.",
    )
    group.addoption(
        "--torghut-min-artifacts",
        dest="torghut_min_artifacts",
        metavar="N",
        type=non_negative_int,
        default=None,
        help="fail the discovery test when fewer than N artifacts are found. Default: 1.",
    )
    group.addoption(
        "--torghut-max-bytes",
        dest="torghut_max_bytes",
        metavar="N",
        type=positive_int,
        default=None,
        help="do not read an artifact larger than N bytes; it fails with its size. "
        f"Default: {DEFAULT_MAX_BYTES} (16 MiB).",
    )
    group.addoption(
        "--torghut-strict",
        action="store_true",
        dest="torghut_strict",
        default=None,
        help="fail on advisory findings too. Default: advisory findings only warn.",
    )
    group.addoption(
        CHECK_REFS.flag,
        action="store_true",
        dest=CHECK_REFS.key,
        default=None,
        help="also require every artifact_refs entry to exist (rule TM024). Default: off.",
    )
    group.addoption(
        "--torghut-evidence",
        dest="torghut_evidence",
        metavar="PATH",
        default=None,
        help="write a machine-readable JSON evidence summary of the run to PATH. Default: none.",
    )
    group.addoption(
        "--torghut-waivers",
        dest="torghut_waivers",
        metavar="FILE",
        default=None,
        help="TOML file of [[waiver]] tables (rule, artifact glob, reason, owner, expires): a failure a "
        "live waiver matches is an xfail, reported as an open risk. Default: none.",
    )
    group.addoption(
        "--torghut-allow-tracked-notes",
        action="store_true",
        dest="torghut_allow_tracked_notes",
        default=None,
        help="let notes be tracked by git, for a corpus of example artifacts kept in a repository on "
        "purpose: rule TN022 is not evaluated and the report says so. Default: off, tracked notes fail.",
    )
    group.addoption(
        "--torghut-notes-ledger",
        dest="torghut_notes_ledger",
        metavar="FILE",
        default=None,
        help="compare every note with the digest FILE recorded (rule TN023) and record the new notes "
        "when the run passes; FILE is created on first use. Default: none, TN023 is not evaluated.",
    )
    group.addoption(
        "--torghut-granularity",
        dest="torghut_granularity",
        metavar="rule|artifact",
        type=granularity,
        default=None,
        help="one test per rule of each artifact (rule), or one test per artifact failing with the findings "
        f"of all its rules (artifact), for trees of thousands of artifacts. Default: {DEFAULT_GRANULARITY}.",
    )
    parser.addini("torghut_artifacts", "artifact paths to check (as --torghut-artifacts)", type="paths", default=[])
    parser.addini(
        "torghut_refs_root", "directories references may resolve in (default: the artifacts paths)", type="paths"
    )
    parser.addini("torghut_path_map", "OLD=NEW prefix rewrites, one per line", type="linelist", default=[])
    parser.addini("torghut_min_artifacts", "fewest artifacts a run may find (default 1)", default="1")
    parser.addini("torghut_max_bytes", f"largest artifact read, in bytes (default {DEFAULT_MAX_BYTES})", default=None)
    parser.addini("torghut_strict", "fail on advisory findings (default false)", type="bool", default=False)
    parser.addini(CHECK_REFS.key, "require artifact_refs to exist (default false)", type="bool", default=False)
    parser.addini(
        "torghut_evidence", "path of the JSON evidence summary, relative to the ini file (default: none)", type="paths"
    )
    parser.addini("torghut_waivers", "waivers file, relative to the ini file (default: none)", type="paths")
    parser.addini(
        "torghut_allow_tracked_notes",
        "let notes be tracked by git, reported (default false)",
        type="bool",
        default=False,
    )
    parser.addini(
        "torghut_notes_ledger", "path of the notes ledger, relative to the ini file (default: none)", type="paths"
    )
    parser.addini(
        "torghut_granularity",
        f"one test per rule (rule) or per artifact (artifact) (default {DEFAULT_GRANULARITY})",
        default=DEFAULT_GRANULARITY,
    )
    parser.addini(
        "torghut_unhealthy_drift_states",
        "drift_status values that are unhealthy",
        type="args",
        default=list(DEFAULT_UNHEALTHY_DRIFT_STATES),
    )
    parser.addini(
        "torghut_docs_url",
        "base URL of the rule documentation; links read <url>#tm012 (default: none, "
        f"'see:' names '{RULE_COMMAND} <id>', which prints the rule)",
        default=DEFAULT_DOCS,
    )


def read_settings(config: pytest.Config) -> Settings | None:
    """Build Settings from the command line and ini; None when no artifacts were asked for."""
    option = config.option
    cli_paths: list[str] | None = option.torghut_artifacts
    artifacts = [Path(p) for p in cli_paths] if cli_paths else list(config.getini("torghut_artifacts"))
    if not artifacts:
        return None
    source = "--torghut-artifacts" if cli_paths else f"torghut_artifacts (in {config.inipath})"
    for path in artifacts:
        if not path.exists():
            raise pytest.UsageError(f"{source} path does not exist: {path}")
        if not path.is_dir() and not is_artifact_file(path):
            raise pytest.UsageError(
                f"{source} file is neither a manifest nor a note: {path}; give a directory, "
                f"a {MANIFEST_NAME} or a {NOTES_DIR}/{NOTE_PREFIX}<n>.md file"
            )
    cli_roots: list[str] | None = option.torghut_refs_root
    refs_roots = [Path(p) for p in cli_roots] if cli_roots else list(config.getini("torghut_refs_root"))
    for root in refs_roots:
        if not root.is_dir():
            where = "--torghut-refs-root" if cli_roots else f"torghut_refs_root (in {config.inipath})"
            raise pytest.UsageError(f"{where} is not a directory: {root}")
    maps = option.torghut_path_map
    base = config.invocation_params.dir
    if not maps:
        # Like torghut_artifacts (an ini "paths" key), a relative NEW in the ini file is
        # relative to that file, not to wherever pytest happens to be started.
        maps = config.getini("torghut_path_map")
        base = config.inipath.parent if config.inipath is not None else base
    try:
        mappings = tuple(PathMapping.parse(m, base=base) for m in maps)
        min_artifacts = (
            option.torghut_min_artifacts
            if option.torghut_min_artifacts is not None
            else non_negative_int(config.getini("torghut_min_artifacts"))
        )
        ini_max_bytes = config.getini("torghut_max_bytes")
        max_bytes = (
            option.torghut_max_bytes
            if option.torghut_max_bytes is not None
            else positive_int(ini_max_bytes)
            if ini_max_bytes
            else DEFAULT_MAX_BYTES
        )
    except (PathMapError, argparse.ArgumentTypeError) as exc:
        raise pytest.UsageError(f"torghut: {exc}") from exc
    chosen = option.torghut_granularity
    if chosen is None:
        try:
            chosen = granularity(str(config.getini("torghut_granularity")).strip())
        except argparse.ArgumentTypeError as exc:
            raise pytest.UsageError(f"torghut: torghut_granularity (in {config.inipath}): {exc}") from exc
    ini_evidence: list[Path] = config.getini("torghut_evidence")
    evidence = Path(option.torghut_evidence) if option.torghut_evidence else next(iter(ini_evidence), None)
    waivers = _read_waivers(config)
    ledger = _notes_ledger(config)
    if ledger is not None:
        single = next((path for path in artifacts if not path.is_dir()), None)
        if single is not None:
            raise pytest.UsageError(
                f"torghut: the notes ledger records whole notes series; give directories as "
                f"{source}, not the file {single}"
            )
    return Settings(
        artifacts=tuple(artifacts),
        refs_roots=tuple(refs_roots),
        # Only the command line asks for the artifacts alone: the ini key is project
        # configuration and must not stop the project's own tests (testpaths, cwd) from running.
        artifacts_only=bool(cli_paths) and config.args_source is not pytest.Config.ArgsSource.ARGS,
        path_map=mappings,
        min_artifacts=min_artifacts,
        strict=bool(option.torghut_strict or config.getini("torghut_strict")),
        check_refs=bool(getattr(option, CHECK_REFS.key) or config.getini(CHECK_REFS.key)),
        unhealthy_drift_states=frozenset(config.getini("torghut_unhealthy_drift_states")),
        docs_url=str(config.getini("torghut_docs_url")),
        evidence_path=evidence,
        max_bytes=max_bytes,
        waivers=waivers,
        allow_tracked_notes=bool(option.torghut_allow_tracked_notes or config.getini("torghut_allow_tracked_notes")),
        notes_ledger=ledger,
        granularity=chosen,
    )


def run_date(config: pytest.Config) -> date:
    """The date (UTC) waivers expire by: the controller's under xdist, so one date holds for the run."""
    workerinput = getattr(config, "workerinput", {})
    # Looked up on the module at call time, so that tests can fix "today".
    return date.fromisoformat(workerinput[RUN_DATE]) if RUN_DATE in workerinput else waiver_file.today_utc()


def _read_waivers(config: pytest.Config) -> WaiverBook | None:
    given: str | None = config.option.torghut_waivers
    ini: list[Path] = config.getini("torghut_waivers")
    path = Path(given) if given else next(iter(ini), None)
    if path is None:
        return None
    from ..checking.rules import REGISTRY  # the rule registry is heavy: only an active run reads waivers

    try:
        return load_waivers(path, today=run_date(config), rules=REGISTRY)
    except WaiverFileError as exc:
        where = "--torghut-waivers" if given else f"torghut_waivers (in {config.inipath})"
        raise pytest.UsageError(f"torghut: {where}: {exc}") from exc


def _notes_ledger(config: pytest.Config) -> Path | None:
    """The ledger path, absolute: from the command line (against the current directory) or the ini file."""
    given: str | None = config.option.torghut_notes_ledger
    if given:
        return config.invocation_params.dir / given
    ini: list[Path] = config.getini("torghut_notes_ledger")
    return next(iter(ini), None)
