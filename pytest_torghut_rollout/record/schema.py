"""The JSON Schema of the evidence record, committed as ``conformance/evidence.schema.json``.

Written here, not derived from models, so that it states the record's contract on its own:
a test validates real records (clean, failing, partial, waived, merged) against it and
another fails when the committed file differs from this one.
"""

from __future__ import annotations

from typing import Any

SCHEMA_URI = "https://json-schema.org/draft/2020-12/schema"
NULLABLE_STRING: dict[str, Any] = {"type": ["string", "null"]}
STRING_LIST: dict[str, Any] = {"type": "array", "items": {"type": "string"}}
COUNT: dict[str, Any] = {"type": "integer", "minimum": 0}
SHA256: dict[str, Any] = {"type": ["string", "null"], "pattern": "^[0-9a-f]{64}$"}


def _object(properties: dict[str, Any], *, closed: bool = True) -> dict[str, Any]:
    """An object with every listed property required (and, when closed, no others)."""
    schema: dict[str, Any] = {"type": "object", "required": sorted(properties), "properties": properties}
    if closed:
        schema["additionalProperties"] = False
    return schema


CHECK_COUNTS = _object(dict.fromkeys(("passed", "failed", "warning", "not_evaluated", "waived"), COUNT))
WAIVER_REF = _object(
    {"waiver": COUNT, "owner": {"type": "string"}, "expires": {"type": "string"}, "reason": {"type": "string"}}
)
FINDING = _object(
    {
        "pointer": {"type": "string"},
        "message": {"type": "string"},
        "expected": {"description": "a JSON value where the displayed text is one, else that text"},
        "found": {"description": "a JSON value where the displayed text is one, else that text"},
        "expected_text": {"type": "string"},
        "found_text": {"type": "string"},
    }
)
CHECK = _object(
    {
        "nodeid": {"type": "string"},
        "rule": {"type": "string", "pattern": "^T[MN][0-9]{3}$"},
        "slug": {"type": "string"},
        "severity": {"enum": ["required", "advisory"]},
        "outcome": {"enum": ["passed", "failed", "warning", "not-evaluated", "waived"]},
        "error": {"type": "boolean", "description": "the check itself could not run (recorded as failed)"},
        "findings": {"type": "array", "items": FINDING},
        "not_evaluated": NULLABLE_STRING,
        "waiver": {"oneOf": [{"type": "null"}, WAIVER_REF]},
    }
)
MANIFEST = _object(
    {"run_id": NULLABLE_STRING, "candidate_id": NULLABLE_STRING, "target": NULLABLE_STRING, "status": NULLABLE_STRING}
)
ARTIFACT = _object(
    {
        "path": {"type": "string"},
        "kind": {"enum": ["manifest", "notes-series", "scheduler-note", "lane-note", "unrecognised-note"]},
        "size": {"type": ["integer", "null"], "minimum": 0},
        "sha256": SHA256,
        "manifest": {"oneOf": [{"type": "null"}, MANIFEST]},
        "checks": {"type": "array", "items": CHECK},
    }
)
EVIDENCE_FILE = _object(
    {
        "role": {"enum": ["rollback-incident", "drift", "paper-canary-patch"]},
        "pointer": {"type": "string"},
        "ref": {"type": "string"},
        "exists": {"type": "boolean"},
        "unresolvable": NULLABLE_STRING,
    }
)
PHASE = _object(
    {
        "name": NULLABLE_STRING,
        "status": NULLABLE_STRING,
        "slo_gates": {"type": "array", "items": _object({"id": NULLABLE_STRING, "status": NULLABLE_STRING})},
    }
)
RUN = _object(
    MANIFEST["properties"]
    | {
        "path": {"type": "string"},
        "sha256": SHA256,
        "phases": {"type": "array", "items": PHASE},
        "rollback_triggered": {"type": ["boolean", "null"]},
        "drift_status": NULLABLE_STRING,
        "evidence": {"type": "array", "items": EVIDENCE_FILE},
        "checks": CHECK_COUNTS,
    }
)
SERIES = _object(
    {
        "path": {"type": "string"},
        "iterations": COUNT,
        "outcomes": {"type": "object", "additionalProperties": COUNT},
        "last_iteration": {
            "oneOf": [
                {"type": "null"},
                _object(
                    {
                        "number": {"type": ["integer", "null"]},
                        "path": {"type": "string"},
                        "kind": {"type": "string"},
                        "outcome": {"type": "string"},
                        "timestamp": NULLABLE_STRING,
                    }
                ),
            ]
        },
        "checks": CHECK_COUNTS,
    }
)
SHARD = _object(
    {
        "file": {"type": "string"},
        "command": {"type": ["array", "null"], "items": {"type": "string"}},
        "started_at": {"type": "string"},
        "finished_at": {"type": "string"},
        "selection": {"type": "object"},
        "result": {"enum": ["pass", "incomplete", "fail"]},
        "pytest_exit_status": {"type": "integer"},
    }
)


def evidence_schema() -> dict[str, Any]:
    """The schema of a ``torghut-evidence-v1`` record, as one run or ``evidence merge`` writes it."""
    environment = _object(
        {
            "plugin": {"type": "string"},
            "contract": {"type": "string"},
            "python": {"type": "string"},
            "pytest": {"type": "string"},
            "command": {"type": ["array", "null"], "items": {"type": "string"}},
            "host": {"type": "string"},
            "started_at": {"type": "string"},
            "finished_at": {"type": "string"},
            "artifacts_paths": STRING_LIST,
            "git_commits": {"type": "object", "additionalProperties": {"type": "string", "pattern": "^[0-9a-f]+$"}},
        }
    )
    selection = _object(
        {
            "collected": COUNT,
            "selected": COUNT,
            "deselected": COUNT,
            "reported": COUNT,
            "partial": {"type": "boolean"},
            "how": STRING_LIST,
        }
    )
    selection["properties"]["before_reading"] = _object(
        {"collected": COUNT, "found": {"type": "object", "additionalProperties": COUNT}}
    ) | {
        "description": (
            "present only at artifact granularity while notes stay unread (a shard, a filtered run): what "
            "collection counted before reading them (checks, artifacts by kind), for evidence merge"
        )
    }
    totals = _object(
        CHECK_COUNTS["properties"] | {"artifacts": COUNT, "checks": COUNT, "errors": COUNT},
    )
    record = _object(
        {
            "schema": {"const": "torghut-evidence-v1"},
            "tool": {"const": "pytest-torghut-rollout"},
            "version": {"type": "string"},
            "contract": {"type": "string"},
            "generated_at": {"type": "string"},
            "environment": environment,
            "artifacts_paths": STRING_LIST,
            "refs_roots": STRING_LIST,
            "options": {"type": "object"},
            "opt_outs": {"type": "array", "items": {"type": "object"}},
            "discovery": _object(
                {
                    "found": {"type": "object", "additionalProperties": COUNT},
                    "failed": {"type": "boolean"},
                    "run": {"type": "boolean"},
                    "problems": STRING_LIST,
                    "lost_series": STRING_LIST,
                }
            ),
            "selection": selection,
            "notes_ledger": {"type": ["object", "null"]},
            "totals": totals,
            "waivers": _object(
                {
                    "file": NULLABLE_STRING,
                    "date": NULLABLE_STRING,
                    "count": COUNT,
                    "open_risks": {"type": "array", "items": {"type": "object"}},
                    "expired": {"type": "array", "items": {"type": "object"}},
                    "unmatched": {"type": "array", "items": {"type": "object"}},
                }
            ),
            "references_not_followed": _object({"count": COUNT, "references": STRING_LIST, "hint": {"type": "string"}}),
            "pytest_exit_status": {"type": "integer"},
            "result": {"enum": ["pass", "incomplete", "fail"]},
            "artifacts": {"type": "array", "items": ARTIFACT},
            "governance": _object(
                {"runs": {"type": "array", "items": RUN}, "notes_series": {"type": "array", "items": SERIES}}
            ),
        },
        closed=False,
    )
    record["properties"]["merged_from"] = {
        "type": "array",
        "minItems": 1,
        "items": SHARD,
        "description": "present only in a record written by 'torghut-rollout evidence merge': its shards",
    }
    return {
        "$schema": SCHEMA_URI,
        "$comment": "Generated from pytest_torghut_rollout.record.schema; do not edit.",
        "title": "torghut rollout evidence record",
        "description": (
            "Written by pytest --torghut-evidence=PATH (one run) and torghut-rollout evidence merge (shards). "
            "result is pass only for a complete run (selection.partial false) that passed."
        ),
    } | record
