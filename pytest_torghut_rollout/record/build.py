"""The shape of the evidence record: pure functions from checks and artifact facts (no pytest here).

Shared by the recorder (one run) and ``record_merge`` (shards), so that a merged record is
built exactly as one run's is.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterable
from pathlib import Path
from typing import Any

SCHEMA_ID = "torghut-evidence-v1"
TOOL = "pytest-torghut-rollout"
UNFOLLOWED_HINT = (
    "map production's absolute prefix with --torghut-path-map=OLD=NEW, "
    "or give the tree they lie in with --torghut-refs-root=DIR"
)
#: A check's outcome as the record names it, from the outcome the item recorded. ``error`` (the
#: check itself crashed) is recorded as ``failed`` with ``"error": true``.
RECORD_OUTCOMES = {
    "conforms": "passed",
    "violation": "failed",
    "advisory": "warning",
    "not-evaluated": "not-evaluated",
    "waived": "waived",
    "error": "failed",
}
OUTCOMES = ("passed", "failed", "warning", "not-evaluated", "waived")


def write_record(path: Path, record: dict[str, Any]) -> None:
    """Write ``record`` as sorted, indented JSON, atomically (a temporary file renamed into place)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _json_value(text: str) -> Any:
    """The value a finding's display text shows, when it is whole JSON; else the text itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def finding_values(finding: dict[str, str]) -> dict[str, Any]:
    """A finding for the evidence file: expected and found as JSON values where the text is one
    (``"fail"`` becomes the string fail, not a string holding quotes), the display text beside."""
    return finding | {
        "expected": _json_value(finding["expected"]),
        "found": _json_value(finding["found"]),
        "expected_text": finding["expected"],
        "found_text": finding["found"],
    }


def record_check(check: dict[str, Any]) -> dict[str, Any]:
    """A recorded check as the record lists it: the outcome in the record's words."""
    keys = ("nodeid", "rule", "slug", "severity", "artifact", "kind", "sha256", "findings", "not_evaluated", "waiver")
    return {k: check[k] for k in keys} | {
        "outcome": RECORD_OUTCOMES[check["outcome"]],
        "error": check["outcome"] == "error",
    }


def artifact_entries(checks: Iterable[dict[str, Any]], facts: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per artifact a check reported on, by path; its checks by rule."""
    entries: dict[str, dict[str, Any]] = {}
    for check in sorted(checks, key=lambda c: (c["artifact"], c["rule"])):
        path = check["artifact"]
        known = facts.get(path, {})
        entry = entries.setdefault(
            path,
            {
                "path": path,
                "kind": check["kind"],
                "size": known.get("size"),
                "sha256": check["sha256"],
                "manifest": known.get("manifest"),
                "checks": [],
            },
        )
        keys = ("nodeid", "rule", "slug", "severity", "outcome", "error", "findings", "not_evaluated", "waiver")
        entry["checks"].append({k: check[k] for k in keys})
    return list(entries.values())


def check_counts(checks: Iterable[dict[str, Any]]) -> dict[str, int]:
    """How many of ``checks`` (record form) ended in each outcome."""
    counts = Counter(c["outcome"] for c in checks)
    return {outcome.replace("-", "_"): counts[outcome] for outcome in OUTCOMES}


def totals(artifacts: list[dict[str, Any]]) -> dict[str, int]:
    """The record's ``totals``: artifacts, checks, each outcome, and crashed checks (``errors``)."""
    checks = [c for a in artifacts for c in a["checks"]]
    return {"artifacts": len(artifacts), "checks": len(checks), "errors": sum(c["error"] for c in checks)} | (
        check_counts(checks)
    )


def governance(artifacts: list[dict[str, Any]], facts: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """The governance summary: one row per manifest run, one per notes series, by path."""
    runs, series = [], []
    for entry in artifacts:
        known = facts.get(entry["path"], {})
        counts = check_counts(entry["checks"])
        if entry["kind"] == "manifest":
            manifest = entry["manifest"] or dict.fromkeys(("run_id", "candidate_id", "target", "status"))
            detail = known.get("governance") or {
                "phases": [],
                "rollback_triggered": None,
                "drift_status": None,
                "evidence": [],
            }
            runs.append({"path": entry["path"], "sha256": entry["sha256"]} | manifest | detail | {"checks": counts})
        elif entry["kind"] == "notes-series":
            detail = known.get("series") or {"iterations": 0, "outcomes": {}, "last_iteration": None}
            series.append({"path": entry["path"]} | detail | {"checks": counts})
    return {"runs": runs, "notes_series": series}


def open_risks(checks: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Checks (recorded or record form) that failed under a live waiver, by test id."""
    waived = sorted((c for c in checks if c["outcome"] == "waived"), key=lambda c: c["nodeid"])
    return [
        {"nodeid": c["nodeid"], "rule": c["rule"], "artifact": c["artifact"], "findings": len(c["findings"])}
        | c["waiver"]
        for c in waived
    ]


def unfollowed_block(references: Iterable[str]) -> dict[str, Any]:
    """The record's ``references_not_followed``."""
    refs = sorted(set(references))
    return {"count": len(refs), "references": refs, "hint": UNFOLLOWED_HINT if refs else ""}
