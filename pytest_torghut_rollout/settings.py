"""The run's resolved configuration, read from options and ini keys in one place."""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

import pytest

from .model import DEFAULT_UNHEALTHY_DRIFT_STATES
from .paths import PathMapError, PathMapping

GROUP = "torghut"
#: The marker every torghut item carries; ``-m torghut_conformance`` selects the checks.
MARKER = "torghut_conformance"
DEFAULT_DOCS = "conformance/rules.md"


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything the plugin needs to know about this run."""

    artifacts: tuple[Path, ...]
    artifacts_only: bool
    """Check the artifacts and nothing else: a bare ``pytest --torghut-artifacts=X``."""
    path_map: tuple[PathMapping, ...]
    min_artifacts: int
    strict: bool
    check_refs: bool
    unhealthy_drift_states: frozenset[str]
    docs_url: str
    evidence_path: Path | None

    @property
    def opt_ins(self) -> tuple[str, ...]:
        """Names of the opt-in rule switches that are on."""
        return ("torghut_check_refs",) if self.check_refs else ()

    def doc_link(self, anchor: str) -> str:
        """Where a rule's documentation lives."""
        return f"{self.docs_url}#{anchor}"


def non_negative_int(text: str) -> int:
    """argparse type: a whole number >= 0."""
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return value


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
        "--torghut-min-artifacts",
        dest="torghut_min_artifacts",
        metavar="N",
        type=non_negative_int,
        default=None,
        help="fail the discovery test when fewer than N artifacts are found. Default: 1.",
    )
    group.addoption(
        "--torghut-strict",
        action="store_true",
        dest="torghut_strict",
        default=None,
        help="fail on advisory findings too. Default: advisory findings only warn.",
    )
    group.addoption(
        "--torghut-check-refs",
        action="store_true",
        dest="torghut_check_refs",
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
    parser.addini("torghut_artifacts", "artifact paths to check (as --torghut-artifacts)", type="paths", default=[])
    parser.addini("torghut_path_map", "OLD=NEW prefix rewrites, one per line", type="linelist", default=[])
    parser.addini("torghut_min_artifacts", "fewest artifacts a run may find (default 1)", default="1")
    parser.addini("torghut_strict", "fail on advisory findings (default false)", type="bool", default=False)
    parser.addini("torghut_check_refs", "require artifact_refs to exist (default false)", type="bool", default=False)
    parser.addini(
        "torghut_evidence", "path of the JSON evidence summary, relative to the ini file (default: none)", type="paths"
    )
    parser.addini(
        "torghut_unhealthy_drift_states",
        "drift_status values that are unhealthy",
        type="args",
        default=list(DEFAULT_UNHEALTHY_DRIFT_STATES),
    )
    parser.addini("torghut_docs_url", "where rule documentation links point", default=DEFAULT_DOCS)


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
    except (PathMapError, argparse.ArgumentTypeError) as exc:
        raise pytest.UsageError(f"torghut: {exc}") from exc
    ini_evidence: list[Path] = config.getini("torghut_evidence")
    evidence = Path(option.torghut_evidence) if option.torghut_evidence else next(iter(ini_evidence), None)
    return Settings(
        artifacts=tuple(artifacts),
        # Only the command line asks for the artifacts alone: the ini key is project
        # configuration and must not stop the project's own tests (testpaths, cwd) from running.
        artifacts_only=bool(cli_paths) and config.args_source is not pytest.Config.ArgsSource.ARGS,
        path_map=mappings,
        min_artifacts=min_artifacts,
        strict=bool(option.torghut_strict or config.getini("torghut_strict")),
        check_refs=bool(option.torghut_check_refs or config.getini("torghut_check_refs")),
        unhealthy_drift_states=frozenset(config.getini("torghut_unhealthy_drift_states")),
        docs_url=str(config.getini("torghut_docs_url")),
        evidence_path=evidence,
    )
