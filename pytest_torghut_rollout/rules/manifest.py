"""Structural rules of the phase manifest (contract; interpretation §2), checked with its JSON Schema.

Schema errors are routed to exactly one rule each; the semantic manifest rules live in
``phases`` and ``governance``.
"""

from __future__ import annotations

from .base import SCHEMA_ROUTES, SchemaRoutes, rule
from .manifest_data import CONTRACT, READING

# Which rule reports a structural (JSON Schema) error, by keyword and pointer: first match wins.
ROUTES = SchemaRoutes(
    routes=(
        ("format", "/**", "TM011"),
        ("*", "/schema_version", "TM002"),
        ("*", "/slo_contract_version", "TM003"),
        ("*", "/execution_context/**", "TM004"),
        ("*", "/requested_promotion_target", "TM005"),
        ("*", "/status", "TM006"),
        ("*", "/phases/*/name", "TM007"),
        ("*", "/phase_count", "TM008"),
        ("*", "/phases/*/status", "TM010"),
        ("*", "/phases/*/**", "TM009"),
        ("*", "/phase_transitions/*/status", "TM013"),
        ("*", "/phase_transitions/*/**", "TM012"),
        ("*", "/runtime_governance/**", "TM023"),
        ("*", "/rollback_proof/**", "TM023"),
    ),
    default="TM001",
)
SCHEMA_ROUTES["manifest"] = ROUTES


# -- structural rules ---------------------------------------------------------------------

rule(
    id="TM001",
    slug="top-level-fields",
    title="Every top-level field is present, with its type",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""Every manifest must include all of these top-level fields: schema_version, run_id,
    candidate_id, execution_context, requested_promotion_target, status, phase_count,
    phase_transitions, phases, runtime_governance, rollback_proof, artifact_refs,
    slo_contract_version, observation_summary.""",
)(ROUTES.check("TM001"))
rule(
    id="TM002",
    slug="schema-version",
    title="schema_version is autonomy-phase-manifest-v1",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`schema_version` = `autonomy-phase-manifest-v1`",
)(ROUTES.check("TM002"))
rule(
    id="TM003",
    slug="slo-contract-version",
    title="slo_contract_version is governance-slo-v1",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`slo_contract_version` = `governance-slo-v1`",
)(ROUTES.check("TM003"))
rule(
    id="TM004",
    slug="execution-context",
    title="execution_context holds its five string keys",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`execution_context`: `repository`, `base`, `head`, `artifactPath`, `priorityId`
    (interpretation: the five keys present, each a string; placeholder values are legal).""",
)(ROUTES.check("TM004"))
rule(
    id="TM005",
    slug="promotion-target",
    title="requested_promotion_target is paper or live",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="""`requested_promotion_target` (`paper` | `live`) (interpretation: real lane runs can
    write `shadow`: that is a violation).""",
)(ROUTES.check("TM005"))
rule(
    id="TM006",
    slug="manifest-status",
    title="The manifest status is pass or fail",
    source=CONTRACT,
    applies_to=("manifest",),
    statement="`status` (`pass` | `fail`)",
)(ROUTES.check("TM006"))
rule(
    id="TM009",
    slug="phase-fields",
    title="Every phase carries its six fields, with their types",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=("/phases",),
    statement="""Every phase payload includes: `name`, `status`, `timestamp`, `slo_gates`,
    `observations`, `artifact_refs` (interpretation: `slo_gates` is a list of objects with `id` and
    `status`).""",
)(ROUTES.check("TM009"))
rule(
    id="TM010",
    slug="phase-status",
    title="Every phase status is pass, fail, skip or skipped",
    source=CONTRACT,
    applies_to=("manifest",),
    needs=("/phases", "/phases/*"),
    statement="""`status` (`pass`, `fail`, `skip`, `skipped`) (interpretation: an unknown phase status
    such as `blocked` is itself a violation, never a pass).""",
)(ROUTES.check("TM010"))
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
)(ROUTES.check("TM011"))
rule(
    id="TM023",
    slug="governance-records",
    title="runtime_governance and rollback_proof are well formed",
    source=READING,
    applies_to=("manifest",),
    statement="""`runtime_governance` and `rollback_proof` are objects; they may lack a `status`
    key (older producers), and their `artifact_refs` need not be sorted.""",
)(ROUTES.check("TM023"))
