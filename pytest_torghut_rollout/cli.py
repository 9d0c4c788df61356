"""torghut-rollout: a thin command line over the reference producer.

Each subcommand parses its arguments into a plain command object, builds what it
needs and runs it, returning an exit code: 0 done, 1 the producer refused to write a
violation or could not write (or simulate as asked), 2 bad usage or input.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

from pydantic import AwareDatetime, TypeAdapter, ValidationError

from .catalogue import SCHEMA_FILES, find_rule, render_catalogue, render_rule, render_schema, rule_record
from .checking.model import printable
from .checking.rules import REGISTRY, Rule
from .contract.models import DEFAULT_UNHEALTHY_DRIFT_STATES, NOTE_OUTCOMES, PHASE_STATUSES, PROMOTION_TARGETS
from .producer import (
    LANE_PHASES,
    LAYOUTS,
    NOTE_FORMATS,
    ArtifactTree,
    ContractViolationError,
    CycleSpec,
    Layout,
    NoteFormat,
    run_cycle,
)
from .record.build import write_record
from .record.merge import RecordError, load_record, merge
from .record.view import show_lines
from .testing.simulate import FAULTS_FILE, SimulationError, SimulationOptions, simulate

EXIT_OK, EXIT_REFUSED, EXIT_USAGE = 0, 1, 2
SCHEMA_KINDS = {
    "manifest": "phase-manifest.schema.json",
    "note": "iteration-note.schema.json",
    "evidence": "evidence.schema.json",
}
_TIMESTAMP: TypeAdapter[datetime] = TypeAdapter(AwareDatetime)


class InputError(ValueError):
    """A produce input (file or flag) that does not describe a cycle."""


@dataclass(frozen=True, kw_only=True)
class ProduceCommand:
    """Write one cycle's artifacts into ``out``."""

    out: Path
    spec: CycleSpec
    layout: Layout
    note_format: NoteFormat
    prefix: str | None


@dataclass(frozen=True, kw_only=True)
class SimulateCommand:
    """Simulate a seeded scheduler run into a fresh directory."""

    options: SimulationOptions


@dataclass(frozen=True, kw_only=True)
class SchemaCommand:
    """Print one JSON Schema, or all of them keyed by file name."""

    kind: str | None


@dataclass(frozen=True, kw_only=True)
class RulesCommand:
    """Print the rule catalogue (Markdown) or the registry as JSON, or one rule."""

    fmt: str
    rule: Rule | None = None


@dataclass(frozen=True, kw_only=True)
class EvidenceMergeCommand:
    """Merge the evidence records of shards into the record of one run."""

    files: tuple[Path, ...]
    out: Path


@dataclass(frozen=True, kw_only=True)
class EvidenceShowCommand:
    """Print a terminal summary of one evidence record."""

    file: Path


# -- parsing --------------------------------------------------------------------------------


def _timestamp(text: str) -> datetime:
    try:
        return _TIMESTAMP.validate_python(text)
    except ValidationError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an RFC 3339 timestamp with an offset") from None


def _stage(text: str) -> tuple[str, str]:
    name, sep, status = text.partition("=")
    if not sep or name not in LANE_PHASES or status not in PHASE_STATUSES:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not NAME=STATUS with NAME in {', '.join(LANE_PHASES)} "
            f"and STATUS in {', '.join(PHASE_STATUSES)}"
        )
    return name, status


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return int(text)


def _count(text: str) -> int:
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 0")
    return int(text)


def _prefix(text: str) -> str:
    if not text.startswith("/"):
        raise argparse.ArgumentTypeError(f"{text!r} is not an absolute path prefix, e.g. /tmp/torghut/autonomy")
    return text


def _add_tree_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layout", choices=LAYOUTS, default="nested", help="run layout (default: nested)")
    parser.add_argument(
        "--note-format", choices=NOTE_FORMATS, default="markdown", help="scheduler note form (default: markdown)"
    )
    parser.add_argument(
        "--absolute-prefix",
        metavar="PREFIX",
        type=_prefix,
        help="write absolute production-style paths under PREFIX, e.g. /tmp/torghut/autonomy "
        "(check with --torghut-path-map=PREFIX=OUT). Default: paths relative to each artifact.",
    )


def build_parser() -> argparse.ArgumentParser:
    """The ``torghut-rollout`` argument parser."""
    parser = argparse.ArgumentParser(prog="torghut-rollout", description=__doc__.splitlines()[0] if __doc__ else "")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    produce = sub.add_parser("produce", help="write one scheduler cycle's artifacts into an artifact root")
    produce.add_argument("--out", type=Path, required=True, help="the artifact root (the autonomy artifact dir)")
    produce.add_argument("--input", type=Path, help="a JSON object with the cycle's fields; flags override it")
    produce.add_argument("--timestamp", type=_timestamp, help="the cycle's start, RFC 3339 (default: now)")
    produce.add_argument("--run-id", help="default: derived from the timestamp")
    produce.add_argument("--candidate-id", help="default: cand-<first 12 of the run id>")
    produce.add_argument("--outcome", choices=NOTE_OUTCOMES, help="default: lane_completed")
    produce.add_argument("--target", choices=PROMOTION_TARGETS, help="default: paper")
    produce.add_argument("--trace-id", help="the recommendation trace id (default: none)")
    produce.add_argument("--signals", type=_count, dest="signal_count", help="signal count (default: 412)")
    produce.add_argument("--decisions", type=_count, dest="decision_count", help="decision count (default: 37)")
    produce.add_argument(
        "--stage", type=_stage, action="append", metavar="NAME=STATUS", help="a lane phase's status; repeatable"
    )
    produce.add_argument("--no-patch", action="store_true", help="no paper strategy patch was produced")
    produce.add_argument("--drift-status", help="the scheduler's drift state (default: stable)")
    produce.add_argument("--rollback", action="store_true", help="the drift policy triggered a rollback")
    produce.add_argument(
        "--no-incident-evidence", action="store_true", help="a triggered rollback recorded no incident evidence"
    )
    produce.add_argument("--error", help="the lane's error, for lane_execution_failed")
    _add_tree_options(produce)
    simulation = sub.add_parser("simulate", help="write a seeded scheduler simulation, optionally with known faults")
    simulation.add_argument("--runs", type=_positive, required=True, help="scheduler cycles to simulate")
    simulation.add_argument("--seed", type=int, required=True, help="the same seed gives byte-identical trees")
    simulation.add_argument("--out", type=Path, required=True, help="an empty or missing directory")
    simulation.add_argument(
        "--faults", type=_count, default=0, help=f"inject K known faults, listed in OUT/{FAULTS_FILE} (default: 0)"
    )
    simulation.add_argument(
        "--retain", type=_positive, help="keep only the K newest run directories (default: keep all)"
    )
    _add_tree_options(simulation)
    schema = sub.add_parser("schema", help="print the contract's JSON Schemas")
    schema.add_argument("--kind", choices=sorted(SCHEMA_KINDS), help="print one schema (default: all, by file name)")
    rules = sub.add_parser("rules", help="print the rule catalogue, or one rule")
    rules.add_argument(
        "rule", nargs="?", metavar="RULE", help="print only this rule: an id (TM012) or slug (default: all rules)"
    )
    rules.add_argument(
        "--format", dest="fmt", choices=("markdown", "json"), default="markdown", help="default: markdown (text)"
    )
    evidence = sub.add_parser("evidence", help="merge evidence records of shards, or summarise one")
    action = evidence.add_subparsers(dest="action", required=True, metavar="ACTION")
    merge = action.add_parser(
        "merge", help="merge the --torghut-evidence records of shards of one run into the record of the whole run"
    )
    merge.add_argument("files", nargs="+", type=Path, metavar="RECORD", help="the shards' evidence records")
    merge.add_argument("-o", "--out", type=Path, required=True, help="where to write the merged record")
    show = action.add_parser("show", help="print a summary of an evidence record: result, runs, failures, risks")
    show.add_argument("file", type=Path, metavar="RECORD", help="an evidence record")
    return parser


_SPEC_FIELDS = {f.name for f in fields(CycleSpec)}


def _load_input(path: Path | None) -> dict[str, Any]:
    if path is None:
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read input {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise InputError(f"input {path} must hold a JSON object, found {type(data).__name__}")
    unknown = sorted(set(data) - _SPEC_FIELDS)
    if unknown:
        raise InputError(
            f"input {path} has unknown keys {', '.join(unknown)}; known: {', '.join(sorted(_SPEC_FIELDS))}"
        )
    if "timestamp" in data:
        try:
            data["timestamp"] = _timestamp(str(data["timestamp"]))
        except argparse.ArgumentTypeError as exc:
            raise InputError(f"input {path}: timestamp {exc}") from None
    return data


def _spec(args: argparse.Namespace, now: Callable[[], datetime]) -> CycleSpec:
    values = _load_input(args.input)
    flags = {
        "timestamp": args.timestamp,
        "run_id": args.run_id,
        "candidate_id": args.candidate_id,
        "outcome": args.outcome,
        "target": args.target,
        "trace_id": args.trace_id,
        "signal_count": args.signal_count,
        "decision_count": args.decision_count,
        "drift_status": args.drift_status,
        "error": args.error,
        "patch": False if args.no_patch else None,
        "rollback_triggered": True if args.rollback else None,
        "incident_evidence": False if args.no_incident_evidence else None,
        "stage_statuses": dict(args.stage) if args.stage else None,
    }
    values.update({k: v for k, v in flags.items() if v is not None})
    values.setdefault("timestamp", now())
    if values.get("rollback_triggered") and "drift_status" not in values:
        values["drift_status"] = DEFAULT_UNHEALTHY_DRIFT_STATES[0]
    seed = f"{values['timestamp'].isoformat()}|{values.get('outcome')}|{values.get('target')}"
    values.setdefault("run_id", hashlib.sha256(seed.encode()).hexdigest()[:24])
    values.setdefault("candidate_id", f"cand-{values['run_id'][:12]}")
    _validate(values)
    return CycleSpec(**values)


_CHOICES: dict[str, tuple[str, ...]] = {"outcome": NOTE_OUTCOMES, "target": PROMOTION_TARGETS}
_TYPES: dict[str, type] = {
    "signal_count": int,
    "decision_count": int,
    "trade_count": int,
    "lane_seconds": int,
    "patch": bool,
    "rollback_triggered": bool,
    "incident_evidence": bool,
}


def _validate(values: dict[str, Any]) -> None:
    for key, choices in _CHOICES.items():
        if key in values and values[key] not in choices:
            raise InputError(f"{key} {values[key]!r} is not one of {', '.join(choices)}")
    for key, kind in _TYPES.items():
        value = values.get(key)
        if key in values and (not isinstance(value, kind) or (kind is int and isinstance(value, bool))):
            raise InputError(f"{key} must be a {kind.__name__}, found {value!r}")
        if kind is int and isinstance(value, int) and value < 0:
            raise InputError(f"{key} must be >= 0, found {value}")
    for key in ("run_id", "candidate_id", "repository", "base", "priority_id", "drift_status"):
        if key in values and not isinstance(values[key], str):
            raise InputError(f"{key} must be a string, found {values[key]!r}")
    for key in ("trace_id", "error"):
        if values.get(key) is not None and not isinstance(values[key], str):
            raise InputError(f"{key} must be a string or null, found {values[key]!r}")
    stages = values.get("stage_statuses", {})
    if not isinstance(stages, dict):
        raise InputError(f"stage_statuses must be an object, found {stages!r}")
    for name, status in stages.items():
        _stage_or_input_error(f"{name}={status}")


def _stage_or_input_error(text: str) -> None:
    try:
        _stage(text)
    except argparse.ArgumentTypeError as exc:
        raise InputError(f"stage_statuses: {exc}") from None


Command = ProduceCommand | SimulateCommand | SchemaCommand | RulesCommand | EvidenceMergeCommand | EvidenceShowCommand


def parse(argv: Sequence[str], *, now: Callable[[], datetime] = lambda: datetime.now(UTC)) -> Command:
    """Parse ``argv`` into a command object (raises SystemExit on bad usage, InputError on bad input)."""
    args = build_parser().parse_args(list(argv))
    if args.command == "produce":
        return ProduceCommand(
            out=args.out,
            spec=_spec(args, now),
            layout=args.layout,
            note_format=args.note_format,
            prefix=args.absolute_prefix,
        )
    if args.command == "simulate":
        return SimulateCommand(
            options=SimulationOptions(
                runs=args.runs,
                seed=args.seed,
                out=args.out,
                layout=args.layout,
                faults=args.faults,
                retain=args.retain,
                note_format=args.note_format,
                prefix=args.absolute_prefix,
            )
        )
    if args.command == "schema":
        return SchemaCommand(kind=args.kind)
    if args.command == "evidence":
        if args.action == "merge":
            return EvidenceMergeCommand(files=tuple(args.files), out=args.out)
        return EvidenceShowCommand(file=args.file)
    if args.rule is None:
        return RulesCommand(fmt=args.fmt)
    rule = find_rule(args.rule)
    if rule is None:
        raise InputError(f"no rule {args.rule!r}; 'torghut-rollout rules' lists them all")
    return RulesCommand(fmt=args.fmt, rule=rule)


# -- running --------------------------------------------------------------------------------


def run_produce(command: ProduceCommand, out: TextIO, err: TextIO) -> int:
    """Write the cycle; list what was written, relative to the artifact root."""
    tree = ArtifactTree(root=command.out, prefix=command.prefix)
    result = run_cycle(command.spec, tree, layout=command.layout, note_format=command.note_format)
    for path in (result.manifest, result.note):
        if path is not None:
            print(tree.display(path), file=out)
    for warning in result.warnings:
        print(f"warning: {warning.artifact}: {warning.describe()}", file=err)
    return EXIT_OK


def run_simulate(command: SimulateCommand, out: TextIO) -> int:
    """Simulate, then say what was written and where the faults are listed."""
    result = simulate(command.options)
    faults = len(result.faults)
    print(
        f"simulated {result.cycles} cycles into {result.root}: {result.runs} runs, "
        f"{result.pruned} pruned, {faults} {'fault' if faults == 1 else 'faults'} listed in {FAULTS_FILE}",
        file=out,
    )
    return EXIT_OK


def run_schema(command: SchemaCommand, out: TextIO) -> int:
    """Print the schema(s) exactly as ``conformance/`` holds them."""
    if command.kind is not None:
        name = SCHEMA_KINDS[command.kind]
        out.write(render_schema(SCHEMA_FILES[name]()))
    else:
        out.write(render_schema({name: build() for name, build in sorted(SCHEMA_FILES.items())}))
    return EXIT_OK


def run_rules(command: RulesCommand, out: TextIO) -> int:
    """Print the catalogue, or one JSON object per rule; or only the rule asked for."""
    if command.rule is not None:
        if command.fmt == "markdown":
            out.write(render_rule(command.rule))
        else:
            out.write(json.dumps(rule_record(command.rule), indent=2, sort_keys=True) + "\n")
        return EXIT_OK
    if command.fmt == "markdown":
        out.write(render_catalogue())
        return EXIT_OK
    out.write(json.dumps([rule_record(r) for r in REGISTRY], indent=2, sort_keys=True) + "\n")
    return EXIT_OK


def run_evidence_merge(command: EvidenceMergeCommand, out: TextIO) -> int:
    """Merge the shards' records; refuse (RecordError, exit 2) records of different runs or overlapping ones."""
    named = [(str(path), load_record(path)) for path in command.files]
    merged = merge(named)
    write_record(command.out, merged)
    print(
        f"merged {len(named)} records into {command.out}: result {merged['result']}, "
        f"{merged['selection']['reported']} of {merged['selection']['collected']} torghut tests reported",
        file=out,
    )
    return EXIT_OK


def run_evidence_show(command: EvidenceShowCommand, out: TextIO) -> int:
    """Print the record's summary (every artifact-sourced string made printable)."""
    record = load_record(command.file)
    print(f"evidence record {printable(str(command.file))}", file=out)
    for line in show_lines(record):
        print(line, file=out)
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``torghut-rollout`` and ``python -m pytest_torghut_rollout``."""
    out, err = sys.stdout, sys.stderr
    try:
        command = parse(sys.argv[1:] if argv is None else argv)
    except SystemExit as exc:  # argparse's usage errors and --help
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    except InputError as exc:
        print(f"torghut-rollout: error: {exc}", file=err)
        return EXIT_USAGE
    try:
        if isinstance(command, ProduceCommand):
            return run_produce(command, out, err)
        if isinstance(command, SimulateCommand):
            return run_simulate(command, out)
        if isinstance(command, SchemaCommand):
            return run_schema(command, out)
        if isinstance(command, EvidenceMergeCommand):
            return run_evidence_merge(command, out)
        if isinstance(command, EvidenceShowCommand):
            return run_evidence_show(command, out)
        return run_rules(command, out)
    except RecordError as exc:
        print(f"torghut-rollout: error: {exc}", file=err)
        return EXIT_USAGE
    except (ContractViolationError, SimulationError) as exc:
        print(f"torghut-rollout: {exc}", file=err)
        return EXIT_REFUSED
    except OSError as exc:
        print(f"torghut-rollout: error: {exc}", file=err)
        return EXIT_REFUSED
