"""An evidence record for people: the terminal (``torghut-rollout evidence show``) and pytest-html.

Both read only the record, so what they show is what was written. Every string in a record
may come from an artifact (a run id, a path, a finding's message): the terminal view passes
each through ``printable`` and the HTML view through ``html.escape``; neither writes links.
"""

from __future__ import annotations

import html
from collections.abc import Iterator
from typing import Any

from ..checking.model import printable
from ..contract.models import PHASE_ORDER, PHASES

#: Short column names of the phases, in the contract's order.
PHASE_ABBREVIATIONS = {p.name: p.abbreviation for p in PHASES}


def phase_statuses(run: dict[str, Any]) -> list[str]:
    """The status of each contract phase in a run row, in order ("-" where the manifest has none)."""
    by_name: dict[str, str] = {}
    for phase in run["phases"]:
        if isinstance(phase["name"], str) and phase["name"] not in by_name:
            by_name[phase["name"]] = phase["status"] if phase["status"] is not None else "?"
    return [by_name.get(name, "-") for name in PHASE_ORDER]


def _text(value: Any) -> str:
    return "-" if value is None else printable(str(value))


def _outcomes(counts: dict[str, int]) -> str:
    return ", ".join(f"{name} {count}" for name, count in counts.items()) or "none"


def _last(series: dict[str, Any]) -> str:
    last = series["last_iteration"]
    if last is None:
        return "-"
    return f"{last['number']} {last['outcome']}" + (f" at {last['timestamp']}" if last["timestamp"] else "")


def failing_checks(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(artifact path, check) for every failed check, in path and rule order."""
    for artifact in record["artifacts"]:
        for check in artifact["checks"]:
            if check["outcome"] == "failed":
                yield artifact["path"], check


def partial_banner(record: dict[str, Any]) -> str | None:
    """The warning a partial record carries, or None for a complete one."""
    selection = record["selection"]
    if not selection["partial"]:
        return None
    how = "; ".join(selection["how"]) or "not every selected check reported"
    return (
        f"PARTIAL RUN: {selection['reported']} of {selection['collected']} torghut tests reported ({how}); "
        "this record is not evidence of conformance."
    )


def show_lines(record: dict[str, Any]) -> Iterator[str]:
    """The terminal summary of a record, each artifact-sourced string made printable."""
    env = record["environment"]
    yield f"result: {_text(record['result'])} (pytest exit status {record['pytest_exit_status']})"
    banner = partial_banner(record)
    yield banner if banner is not None else "partial: no, every collected check reported"
    yield f"schema: {_text(record['schema'])}, {_text(env['plugin'])}, contract {_text(env['contract'])}"
    yield f"python {_text(env['python'])}, pytest {_text(env['pytest'])}, host {_text(env['host'])}"
    yield f"started {_text(env['started_at'])}, finished {_text(env['finished_at'])}"
    if env.get("command") is not None:
        yield f"command: pytest {_text(' '.join(env['command']))}"
    for path in env["artifacts_paths"]:
        commit = env["git_commits"].get(path)
        yield f"artifacts: {_text(path)}" + (f" (git {commit})" if commit else " (not in a git work tree)")
    for shard in record.get("merged_from", []):
        yield f"shard: {_text(shard['file'])}: {_text(shard['result'])}, {shard['selection']['reported']} reported"
    totals = record["totals"]
    yield (
        f"checks: {totals['checks']} of {totals['artifacts']} artifacts: {totals['passed']} passed, "
        f"{totals['failed']} failed, {totals['warning']} warning, {totals['not_evaluated']} not evaluated, "
        f"{totals['waived']} waived"
    )
    runs = record["governance"]["runs"]
    yield ""
    yield f"runs ({len(runs)}); phases: {' / '.join(PHASE_ABBREVIATIONS[p] for p in PHASE_ORDER)}"
    for run in runs:
        checks = run["checks"]
        yield (
            f"  {_text(run['run_id'])}  candidate {_text(run['candidate_id'])}  target {_text(run['target'])}  "
            f"status {_text(run['status'])}  phases {' / '.join(_text(s) for s in phase_statuses(run))}  "
            f"checks {checks['passed']} passed, {checks['failed']} failed"
        )
        yield f"    {_text(run['path'])} sha256 {_text(run['sha256'])}"
        yield f"    rollback triggered {_text(run['rollback_triggered'])}, drift {_text(run['drift_status'])}"
        for evidence in run["evidence"]:
            state = "exists" if evidence["exists"] else "MISSING"
            yield f"    {evidence['role']}: {_text(evidence['ref'])} ({state})"
        if run["rollback_triggered"] and not any(e["role"] == "rollback-incident" for e in run["evidence"]):
            yield "    rollback-incident: none named (MISSING)"
    series = record["governance"]["notes_series"]
    yield ""
    yield f"notes series ({len(series)})"
    for one in series:
        yield (
            f"  {_text(one['path'])}: {one['iterations']} iterations ({_text(_outcomes(one['outcomes']))}); "
            f"last {_text(_last(one))}"
        )
    failing = list(failing_checks(record))
    yield ""
    yield f"failing checks ({len(failing)})"
    for path, check in failing:
        message = check["findings"][0]["message"] if check["findings"] else "the check could not run"
        yield f"  {_text(path)} {check['rule']} {check['slug']}: {_text(message)}"
    risks = record["waivers"]["open_risks"]
    yield ""
    yield f"open risks ({len(risks)})"
    for risk in risks:
        yield (
            f"  {_text(risk['nodeid'])} owned by {_text(risk['owner'])}, waiver {risk['waiver']} "
            f"expires {_text(risk['expires'])}: {_text(risk['reason'])}"
        )


#: Borders, and digests that wrap instead of running off the page; runs that failed a check or
#: whose manifest failed are tinted.
_STYLE = (
    "table.torghut-environment, table.torghut-runs, table.torghut-notes {border-collapse: collapse; margin: 0.5em 0}"
    " .torghut-runs th, .torghut-runs td, .torghut-notes th, .torghut-notes td, .torghut-environment th,"
    " .torghut-environment td {border: 1px solid #ccc; padding: 2px 6px; text-align: left; vertical-align: top}"
    " .torghut-runs td:last-child {word-break: break-all; font-family: monospace; font-size: 0.85em}"
    " tr.torghut-failed td {background: #fdecea}"
)


def _cells(values: list[Any], tag: str = "td") -> str:
    return "".join(f"<{tag}>{html.escape(_text(v))}</{tag}>" for v in values)


def governance_html(record: dict[str, Any]) -> list[str]:
    """The governance summary at the top of the pytest-html report: banner, environment, runs, series."""
    env = record["environment"]
    parts: list[str] = [f"<style>{_STYLE}</style>"]
    banner = partial_banner(record)
    if banner is not None:
        style = "background:#b00020;color:#fff;font-weight:bold;padding:0.6em;font-size:1.2em"
        parts.append(f'<div class="torghut-partial" style="{style}">{html.escape(banner)}</div>')
    parts.append(f"<h2>Governance summary: {html.escape(_text(record['result']))}</h2>")
    commits = env["git_commits"]
    rows = [
        ("Plugin", env["plugin"]),
        ("Contract", env["contract"]),
        ("Python, pytest", f"{env['python']}, {env['pytest']}"),
        ("Host", env["host"]),
        *(
            ("Artifacts path", f"{p} (git commit {commits[p]})" if p in commits else f"{p} (not in a git work tree)")
            for p in env["artifacts_paths"]
        ),
    ]
    parts.append(
        '<table class="torghut-environment">'
        + "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(_text(v))}</td></tr>" for k, v in rows)
        + "</table>"
    )
    head = ["Manifest", "Run id", "Candidate", "Target", "Manifest status", *PHASE_ORDER, "Passed", "Failed", "SHA-256"]
    parts.append(
        '<table class="torghut-runs"><tr>'
        + _cells(head, "th")
        + "</tr>"
        + "".join(
            ('<tr class="torghut-failed">' if r["checks"]["failed"] or r["status"] != "pass" else "<tr>")
            + _cells(
                [
                    r["path"],
                    r["run_id"],
                    r["candidate_id"],
                    r["target"],
                    r["status"],
                    *phase_statuses(r),
                    r["checks"]["passed"],
                    r["checks"]["failed"],
                    r["sha256"],
                ]
            )
            + "</tr>"
            for r in record["governance"]["runs"]
        )
        + "</table>"
    )
    parts.append(
        '<table class="torghut-notes"><tr>'
        + _cells(["Notes series", "Iterations", "Outcomes", "Last iteration"], "th")
        + "</tr>"
        + "".join(
            "<tr>" + _cells([s["path"], s["iterations"], _outcomes(s["outcomes"]), _last(s)]) + "</tr>"
            for s in record["governance"]["notes_series"]
        )
        + "</table>"
    )
    return parts
