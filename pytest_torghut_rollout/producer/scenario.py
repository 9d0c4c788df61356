"""A sequence of scheduler cycles written into one directory, with optional retention.

In the nested layout the directory is one autonomy tree: a run directory per
completed cycle and one notes series for all cycles. In the flat (doc's) layout
every cycle is its own artifact root, ``<out>/<stamp>/``, holding its manifest beside
its notes: one root can hold one run, because a second run would replace the
manifest that the first run's note names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .checking import RuleFinding
from .cycle import CycleResult, CycleSpec, Layout, prune_runs, run_cycle
from .layout import ArtifactTree, stamp
from .notes import NoteFormat


@dataclass(frozen=True, kw_only=True)
class Scenario:
    """Cycles in clock order, and how to lay them out."""

    cycles: tuple[CycleSpec, ...]
    layout: Layout = "nested"
    note_format: NoteFormat = "markdown"
    retain: int | None = None
    """Keep only this many newest run directories (notes and incidents are never deleted)."""
    prefix: str | None = None
    """Write absolute paths under this prefix (it stands for the output directory)."""


@dataclass(frozen=True, kw_only=True)
class ScenarioResult:
    """What writing a scenario produced."""

    root: Path
    cycles: tuple[CycleResult, ...]
    pruned: tuple[Path, ...] = ()
    warnings: tuple[RuleFinding, ...] = ()


def _tree(scenario: Scenario, out: Path, spec: CycleSpec) -> ArtifactTree:
    if scenario.layout == "nested":
        return ArtifactTree(root=out, prefix=scenario.prefix)
    name = stamp(spec.timestamp)
    prefix = f"{scenario.prefix.rstrip('/')}/{name}" if scenario.prefix else None
    return ArtifactTree(root=out / name, prefix=prefix)


def write_scenario(scenario: Scenario, out: Path) -> ScenarioResult:
    """Run every cycle into ``out`` in order; each artifact is self-checked before it is written."""
    results: list[CycleResult] = []
    pruned: list[Path] = []
    stamps = [stamp(spec.timestamp) for spec in scenario.cycles]
    if len(set(stamps)) != len(stamps):
        raise ValueError("two cycles start in the same second: their run directories would collide")
    for spec in scenario.cycles:
        tree = _tree(scenario, out, spec)
        results.append(run_cycle(spec, tree, layout=scenario.layout, note_format=scenario.note_format))
        if scenario.retain is not None:
            pruned += prune_runs(ArtifactTree(root=out), scenario.retain)
    warnings = tuple(w for r in results for w in r.warnings)
    return ScenarioResult(root=out, cycles=tuple(results), pruned=tuple(pruned), warnings=warnings)
