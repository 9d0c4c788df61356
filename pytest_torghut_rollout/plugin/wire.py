"""What a check's report carries from where it ran (an xdist worker) to the controller.

A torghut item's report carries its evidence as JUnit-style ``user_properties``: pytest
ships them from xdist workers unchanged, JUnit XML prints them, and the evidence recorder
reads them back. The names below are that wire format, declared once; ``CheckOutcome``
is how a check ended (a string enum, sent as its plain value), so the properties and the
evidence JSON read exactly as before. No pytest here.
"""

from __future__ import annotations

import enum
import json
from typing import Final

PROPERTY_PREFIX = "torghut_"


#: The key of ``config.workeroutput`` under which an xdist worker sends its collection counts
#: (``collected``, ``deselected``) to the controller.
WORKER_OUTPUT: Final = "torghut_collection"


class CheckOutcome(enum.StrEnum):
    """How one check ended, as items record it and reports, JUnit XML and the evidence say it."""

    CONFORMS = "conforms"
    VIOLATION = "violation"
    ADVISORY = "advisory"
    NOT_EVALUATED = "not-evaluated"
    WAIVED = "waived"
    ERROR = "error"
    """Set by the recorder: the check failed without a violation (a bug, a crash)."""
    NOT_RUN = "not-run"
    """The item's report carries no outcome (its setup failed before the check ran)."""


class Prop:
    """The ``user_properties`` keys of a torghut report (also JUnit XML property names).

    Plain strings, not enum members: xdist's serialiser sends only exact built-in types.
    """

    # A rule check.
    RULE: Final = "torghut_rule"
    SLUG: Final = "torghut_slug"
    SEVERITY: Final = "torghut_severity"
    SOURCE: Final = "torghut_source"
    ARTIFACT: Final = "torghut_artifact"
    KIND: Final = "torghut_kind"
    SHA256: Final = "torghut_sha256"
    OUTCOME: Final = "torghut_outcome"
    DOC: Final = "torghut_doc"
    FINDINGS: Final = "torghut_findings"
    """JSON: a list of findings (pointer, message, expected, found)."""
    NOT_EVALUATED: Final = "torghut_not_evaluated"
    UNFOLLOWED: Final = "torghut_unfollowed"
    PACKED: Final = "torghut_packed"
    """A report's evidence properties as ``[name, value]`` pairs, in one value: from an xdist
    worker a JSON string (xdist ships one string far faster than a hundred tuples), in a run
    without workers the list itself (nothing to ship, nothing to encode)."""
    ARTIFACT_FACTS: Final = "torghut_artifact_facts"
    """JSON: what the evidence records of the artifact (carried once per artifact)."""
    # An artifact item (one test per artifact): the rules it ran, left out, and could not apply.
    RULES: Final = "torghut_rules"
    DESELECTED_RULES: Final = "torghut_deselected_rules"
    INAPPLICABLE_RULES: Final = "torghut_inapplicable_rules"
    GRANULARITY: Final = "torghut_granularity"
    CHECKS: Final = "torghut_checks"
    """Packed only: a test's checks (a rule test's one, an artifact test's every rule's), one
    ``[rule id, outcome, findings, not evaluated, unfollowed, waiver]`` each
    (``reporting.compact_check``); JUnit XML gets them as one group of named properties per rule."""
    READ_AS: Final = "torghut_read_as"
    # A check under a live waiver.
    WAIVER: Final = "torghut_waiver"
    WAIVER_OWNER: Final = "torghut_waiver_owner"
    WAIVER_EXPIRES: Final = "torghut_waiver_expires"
    WAIVER_REASON: Final = "torghut_waiver_reason"
    # The discovery test.
    DISCOVERY: Final = "torghut_discovery"
    """JSON: artifacts found, by kind."""
    DISCOVERY_PROBLEMS: Final = "torghut_discovery_problems"
    LOST_SERIES: Final = "torghut_lost_series"
    # The waivers test.
    WAIVERS: Final = "torghut_waivers"
    """JSON: the waivers file and the indices of its expired waivers."""


def packed(properties: list[tuple[str, str]], *, ship: bool) -> tuple[str, object]:
    """The property that carries ``properties`` on a report; ``ship``: as one JSON string, for a
    report another process reads."""
    return (Prop.PACKED, json.dumps(properties) if ship else properties)


def unpacked(user_properties: list[tuple[str, object]]) -> list[tuple[str, object]]:
    """A report's properties with the packed ones laid out in place, in order."""
    out: list[tuple[str, object]] = []
    for name, value in user_properties:
        if name == Prop.PACKED:
            pairs: list[tuple[str, object]] = json.loads(value) if isinstance(value, str) else value  # type: ignore[assignment]
            out.extend((str(n), v) for n, v in pairs)
        else:
            out.append((name, value))
    return out
