"""TM001-TM011: the manifest's fields, versions, phases and their count (contract; interpretation §2).

Most of these rules report only the JSON Schema errors they own (``owns``); TM007 and TM008
also compare the phases with the contract's phase table.
"""

from __future__ import annotations

from collections.abc import Iterator

from ...contract.models import (
    MANIFEST_SCHEMA_VERSION,
    PHASE_FIELDS,
    PHASE_ORDER,
    PHASE_STATUSES,
    SLO_CONTRACT_VERSION,
    ExecutionContext,
    PhaseManifest,
    count_word,
)
from ..model import Artifact, Finding, is_number, pointer, show
from .base import CheckContext, owned_schema_errors, rule, schema_findings
from .manifest_data import CONTRACT, READING

_FIELDS = "`, `".join(PHASE_FIELDS)
#: The manifest's required top-level fields, in the contract's order (from the model).
_TOP_LEVEL = tuple(name for name, field in PhaseManifest.model_fields.items() if field.is_required())
_CONTEXT_KEYS = tuple(ExecutionContext.model_fields)
_STATUSES = ", ".join(PHASE_STATUSES)


# -- structural rules ---------------------------------------------------------------------

rule(
    id="TM001",
    slug="top-level-fields",
    title="Every top-level field is present, with its type",
    source=CONTRACT,
    applies_to=("manifest",),
    statement=f"Every manifest must include all of these top-level fields: {', '.join(_TOP_LEVEL)}.",
    owns=(
        "",
        "/run_id",
        "/candidate_id",
        "/artifact_refs/**",
        "/observation_summary",
        "/phases",
        "/phase_transitions",
        "type:/created_at",
        "type:/updated_at",
    ),
)(owned_schema_errors("TM001"))
rule(
    id="TM002",
    slug="schema-version",
    title=f"schema_version is {MANIFEST_SCHEMA_VERSION}",
    source=CONTRACT,
    applies_to=("manifest",),
    statement=f"`schema_version` = `{MANIFEST_SCHEMA_VERSION}`",
    owns=("/schema_version",),
)(owned_schema_errors("TM002"))
rule(
    id="TM003",
    slug="slo-contract-version",
    title=f"slo_contract_version is {SLO_CONTRACT_VERSION}",
    source=CONTRACT,
    applies_to=("manifest",),
    statement=f"`slo_contract_version` = `{SLO_CONTRACT_VERSION}`",
    owns=("/slo_contract_version",),
)(owned_schema_errors("TM003"))
rule(
    id="TM004",
    slug="execution-context",
    title=f"execution_context holds its {count_word(len(_CONTEXT_KEYS))} string keys",
    source=CONTRACT,
    applies_to=("manifest",),
    statement=f"""`execution_context`: `{"`, `".join(_CONTEXT_KEYS)}`
    (interpretation: the five keys present, each a string; placeholder values are legal).""",
    owns=("/execution_context/**",),
)(owned_schema_errors("TM004"))
rule(
    id="TM005",
    slug="promotion-target",
    title="requested_promotion_target is paper or live",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`requested_promotion_target` (`paper` | `live`) (interpretation: real lane runs can
    write `shadow`: that is a violation).""",
    owns=("/requested_promotion_target",),
)(owned_schema_errors("TM005"))
rule(
    id="TM006",
    slug="manifest-status",
    title="The manifest status is pass or fail",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`status` (`pass` | `fail`)",
    owns=("/status",),
)(owned_schema_errors("TM006"))


@rule(
    id="TM007",
    slug="phase-order",
    title=f"Phases are the {count_word(len(PHASE_ORDER))} canonical phases, in order",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=("/phases",),
    owns=("/phases/*/name",),
    statement=f"Phase order is fixed and authoritative for every manifest: {', '.join(PHASE_ORDER)}.",
)
def check_phase_order(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """Compare phase names position by position with the canonical order."""
    yield from schema_findings(artifact, "TM007")
    phases = artifact.data.get("phases")
    if not isinstance(phases, list):
        return
    for i, expected in enumerate(PHASE_ORDER):
        if i >= len(phases):
            yield Finding(
                pointer=pointer("phases", i),
                message=f"phase {expected!r} is missing",
                expected=f"{expected!r} at position {i + 1}",
                found="missing",
            )
            continue
        name = phases[i].get("name") if isinstance(phases[i], dict) else None
        if name != expected:
            yield Finding(
                pointer=pointer("phases", i, "name"),
                message=f"phase {i + 1} is {show(name)}, the canonical order has {expected!r}",
                expected=show(expected),
                found=show(name),
            )
    for i in range(len(PHASE_ORDER), len(phases)):
        yield Finding(
            pointer=pointer("phases", i),
            message=f"unexpected phase after {PHASE_ORDER[-1]!r}",
            expected=f"{len(PHASE_ORDER)} phases",
            found=f"{len(phases)} phases",
        )


@rule(
    id="TM008",
    slug="phase-count",
    title="phase_count equals the number of phases",
    source=READING,
    applies_to=("manifest",),
    needs=("/phases",),
    owns=("/phase_count",),
    statement=f"`phase_count` equals the number of phases (and so {len(PHASE_ORDER)}).",
)
def check_phase_count(artifact: Artifact, context: CheckContext) -> Iterator[Finding]:
    """phase_count must count the phases actually listed."""
    yield from schema_findings(artifact, "TM008")
    count, phases = artifact.data.get("phase_count"), artifact.data.get("phases")
    if is_number(count) and isinstance(phases, list) and count != len(phases):
        yield Finding(
            pointer="/phase_count",
            message=f"phase_count says {count} but {len(phases)} phases are listed",
            expected=str(len(phases)),
            found=str(count),
        )


rule(
    id="TM009",
    slug="phase-fields",
    title=f"Every phase carries its {count_word(len(PHASE_FIELDS))} fields, with their types",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=("/phases",),
    statement=f"""Every phase payload includes: `{_FIELDS}` (interpretation: `slo_gates` is a list
    of objects with `id` and `status`).""",
    owns=(
        "/phases/*",
        "/phases/*/slo_gates/**",
        "/phases/*/observations",
        "/phases/*/artifact_refs/**",
        "type|required:/phases/*/timestamp",
    ),
)(owned_schema_errors("TM009"))
rule(
    id="TM010",
    slug="phase-status",
    title=f"Every phase status is {_STATUSES.rsplit(', ', 1)[0]} or {PHASE_STATUSES[-1]}",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=("/phases", "/phases/*"),
    statement=f"""`status` (`{"`, `".join(PHASE_STATUSES)}`) (interpretation: an unknown phase status
    such as `blocked` is itself a violation, never a pass).""",
    owns=("/phases/*/status",),
)(owned_schema_errors("TM010"))
rule(
    id="TM011",
    slug="timestamps",
    title="Every timestamp is RFC 3339 with an offset",
    source=READING,
    applies_to=("manifest",),
    needs=("/phases", "/phases/*", "/phases/*/timestamp", "/created_at", "/updated_at"),
    statement="""`timestamp` is RFC 3339 with an offset (`+00:00` and `Z` both occur; an impossible
    date such as February 30th is invalid); so is every other timestamp the suite reads
    (`created_at`, `updated_at` where present).""",
    owns=("format:/**",),
)(owned_schema_errors("TM011"))
