"""Reading evidence records, and merging the records of shards into the record of one run.

Shards are runs of one pytest command over the same tree and options, each with part of
the checks selected (``-k``, ``--deselect``, pytest-split, ...), so that each record is
partial on its own. Merging them is what makes them whole: the merged record is the record
one job over the same tree would have written, apart from ``generated_at``, the
``environment`` times (earliest start, latest finish), ``environment.command`` (null: there
were several) and ``merged_from``, which lists the shards. Its ``result`` is ``pass`` only
when no shard failed and together they reported every check collected; a union that leaves
checks out is ``incomplete``, as a partial run is.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from ..checking.discovery import UNREAD_NOTE
from ..checking.model import printable
from .build import SCHEMA_ID, artifact_entries, governance, open_risks, totals, unfollowed_block
from .schema import evidence_schema

#: Fields every shard must agree on, by what a difference would mean.
SAME_VERSION = ("schema", "tool", "version", "contract")
SAME_RUN = ("artifacts_paths", "refs_roots", "options", "opt_outs")
SAME_WAIVERS = ("file", "date", "count", "expired")
#: What ``merged_from`` keeps of each shard.
SHARD_FIELDS = ("selection", "result", "pytest_exit_status")
NO_TESTS = 5
#: What a governance row holds beyond the artifact entry and its check counts.
RUN_FACTS = ("phases", "rollback_triggered", "drift_status", "evidence")
SERIES_FACTS = ("iterations", "outcomes", "last_iteration")
#: Environment fields shards normally share: one value, or every value seen joined by " | ".
SAME_HOST = ("plugin", "contract", "python", "pytest", "host")


class RecordError(ValueError):
    """A record that cannot be read or merged; the message names the files."""


def load_record(path: Path) -> dict[str, Any]:
    """Read one record, refusing what is not a ``torghut-evidence-v1`` record by its schema."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise RecordError(f"cannot read {path}: {exc}") from None
    except ValueError as exc:
        raise RecordError(f"{path} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise RecordError(f"{path}: expected a JSON object (an evidence record), found {type(data).__name__}")
    if data.get("schema") != SCHEMA_ID:
        found = printable(json.dumps(data.get("schema")))
        raise RecordError(f"{path}: /schema is {found}, expected {json.dumps(SCHEMA_ID)} (an evidence record)")
    error = next(iter(sorted(Draft202012Validator(evidence_schema()).iter_errors(data), key=str)), None)
    if error is not None:
        where = "".join(f"/{p}" for p in error.absolute_path) or "(the record)"
        raise RecordError(f"{path}: {where}: {printable(error.message[:200])}")
    return data


def _dig(record: dict[str, Any], dotted: str) -> Any:
    value: Any = record
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _require_same(named: Sequence[tuple[str, dict[str, Any]]], fields: Iterable[str], what: str) -> None:
    first_name, first = named[0]
    for field in fields:
        for name, record in named[1:]:
            if _dig(record, field) != _dig(first, field):
                mine, theirs = json.dumps(_dig(first, field)), json.dumps(_dig(record, field))
                raise RecordError(
                    f"cannot merge records of {what}: {field} is {printable(mine[:120])} in {first_name} "
                    f"but {printable(theirs[:120])} in {name}"
                )


def _flat_checks(record: dict[str, Any]) -> list[dict[str, Any]]:
    """A record's checks with their artifact's path, kind and digest, as ``artifact_entries`` takes them."""
    return [
        check | {"artifact": entry["path"], "kind": entry["kind"], "sha256": entry["sha256"]}
        for entry in record["artifacts"]
        for check in entry["checks"]
    ]


def _facts(record: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """What the record's artifact entries and governance rows say of each artifact, by path."""
    facts: dict[str, dict[str, Any]] = {
        e["path"]: {"size": e["size"], "manifest": e["manifest"]} for e in record["artifacts"]
    }
    for run in record["governance"]["runs"]:
        facts.setdefault(run["path"], {})["governance"] = {k: run[k] for k in RUN_FACTS}
    for series in record["governance"]["notes_series"]:
        facts.setdefault(series["path"], {})["series"] = {k: series[k] for k in SERIES_FACTS}
    return facts


def _one_value(values: Iterable[Any]) -> Any:
    unique = sorted({str(v) for v in values})
    return unique[0] if len(unique) == 1 else " | ".join(unique)


def _exit_status(statuses: list[int]) -> int:
    ran = [s for s in statuses if s != NO_TESTS]
    return max(ran) if ran else NO_TESTS


def _collection(named: Sequence[tuple[str, dict[str, Any]]]) -> tuple[int, dict[str, int]]:
    """The checks collected and the artifacts found by kind of the whole run.

    At artifact granularity notes are read when their test runs: a shard counts the notes it
    did not read as ``note`` (with every rule a note may need), and the rest by what they were.
    Its ``selection.before_reading`` says what collection counted before reading any; each
    shard's reading is applied to that (shards check disjoint artifacts, so each note once).
    """
    before = [record["selection"].get("before_reading") for _, record in named]
    if not any(before):
        _require_same(named, ("selection.collected", "discovery.found"), "different collections of the tree")
        return named[0][1]["selection"]["collected"], named[0][1]["discovery"]["found"]
    unread = [(name, record) for (name, record), b in zip(named, before, strict=True) if b]
    _require_same(unread, ("selection.before_reading",), "different collections of the tree")
    counted = next(b for b in before if b)
    collected = counted["collected"]
    found: dict[str, int] = dict(counted["found"])
    for name, record in named:
        read = record["discovery"]["found"]
        collected -= counted["collected"] - record["selection"]["collected"]
        for kind in set(read) | set(counted["found"]):
            found[kind] = found.get(kind, 0) + read.get(kind, 0) - counted["found"].get(kind, 0)
        if any(n < 0 for n in found.values()) or collected < 0:
            raise RecordError(
                f"cannot merge records of different collections of the tree: {name} read notes "
                "that collection did not count"
            )
    return collected, {kind: n for kind, n in sorted(found.items()) if n > 0}


def _before_reading(named: Sequence[tuple[str, dict[str, Any]]], found: dict[str, int]) -> dict[str, Any]:
    """The merged ``selection.before_reading``: kept while notes stay unread in every shard."""
    if not found.get(UNREAD_NOTE):
        return {}
    counted = next(
        record["selection"]["before_reading"] for _, record in named if "before_reading" in record["selection"]
    )
    return {"before_reading": counted}


def merge(named: Sequence[tuple[str, dict[str, Any]]]) -> dict[str, Any]:
    """The record of one run over the shards' union (see the module's docstring for what differs)."""
    if not named:
        raise RecordError("no records to merge")
    _require_same(named, SAME_VERSION, "different schema, plugin or contract versions")
    _require_same(named, SAME_RUN, "different artifact trees or options")
    _require_same(named, [f"waivers.{f}" for f in SAME_WAIVERS], "different waivers files")
    ledgers = [name for name, record in named if record["notes_ledger"] is not None]
    if ledgers:
        raise RecordError(
            f"cannot merge records that extended a notes ledger ({', '.join(ledgers)}): shards of one run "
            "would each extend it; run the ledger check in one job"
        )
    owner: dict[str, str] = {}
    for name, record in named:
        for entry in record["artifacts"]:
            if entry["path"] in owner:
                raise RecordError(
                    f"{owner[entry['path']]} and {name} both cover {printable(entry['path'])}: "
                    "shards must check disjoint artifacts"
                )
            owner[entry["path"]] = name
    collected, found = _collection(named)
    records = [record for _, record in named]
    checks = [c for record in records for c in _flat_checks(record)]
    facts = {path: known for record in records for path, known in _facts(record).items()}
    artifacts = artifact_entries(checks, facts)
    discovery_run = any(r["discovery"]["run"] for r in records)
    waivers_run = any(r["selection"]["reported"] - r["totals"]["checks"] - r["discovery"]["run"] > 0 for r in records)
    reported = len(checks) + discovery_run + waivers_run
    partial = reported < collected
    how = sorted({h for r in records for h in r["selection"]["how"]}) if partial else []
    failed = any(r["result"] == "fail" for r in records)
    unmatched_everywhere = set.intersection(*({w["waiver"] for w in r["waivers"]["unmatched"]} for r in records))
    first = records[0]
    unmatched = [
        w | {"checks_ran": sum(u["checks_ran"] for r in records for u in r["waivers"]["unmatched"] if u["waiver"] == i)}
        for i in sorted(unmatched_everywhere)
        for w in [next(u for u in first["waivers"]["unmatched"] if u["waiver"] == i)]
    ]
    environments = [r["environment"] for r in records]
    return {
        **{field: first[field] for field in (*SAME_VERSION, *SAME_RUN)},
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "environment": {key: _one_value(e[key] for e in environments) for key in SAME_HOST}
        | {
            "command": None,
            "started_at": min(e["started_at"] for e in environments),
            "finished_at": max(e["finished_at"] for e in environments),
            "artifacts_paths": first["environment"]["artifacts_paths"],
            "git_commits": dict(sorted({k: v for e in environments for k, v in e["git_commits"].items()}.items())),
        },
        "discovery": {
            "found": found,
            "failed": any(r["discovery"]["failed"] for r in records),
            "run": discovery_run,
            "problems": sorted({p for r in records for p in r["discovery"]["problems"]}),
            "lost_series": sorted({p for r in records for p in r["discovery"]["lost_series"]}),
        },
        "selection": {
            "collected": collected,
            "selected": reported,
            "deselected": collected - reported,
            "reported": reported,
            "partial": partial,
            "how": how,
        }
        | _before_reading(named, found),
        "notes_ledger": None,
        "totals": totals(artifacts),
        "waivers": {field: first["waivers"][field] for field in SAME_WAIVERS}
        | {"open_risks": open_risks(checks), "unmatched": unmatched},
        "references_not_followed": unfollowed_block(
            ref for r in records for ref in r["references_not_followed"]["references"]
        ),
        "pytest_exit_status": _exit_status([r["pytest_exit_status"] for r in records]),
        "result": "fail" if failed else "incomplete" if partial else "pass",
        "artifacts": artifacts,
        "governance": governance(artifacts, facts),
        "merged_from": [
            {
                "file": name,
                "command": record["environment"]["command"],
                "started_at": record["environment"]["started_at"],
                "finished_at": record["environment"]["finished_at"],
            }
            | {field: record[field] for field in SHARD_FIELDS}
            for name, record in named
        ],
    }
