"""Measure what reading and checking one artifact costs: walk, read, SHA-256, parse, schema, rules.

Usage (from the repository root, with the package installed)::

    python benchmarks/bench_reading.py [--runs 1000] [--repeat 5] [--before /path/to/old/checkout]

It simulates an N-cycle tree (seed 7), then, in a fresh process per sample, times
``discover`` plus every rule check over the whole tree (mean ms per artifact), and each
manifest, scheduler note and lane note read and checked on its own (mean ms per kind).
With ``--before`` the same samples run against the package in that checkout (for example
``git worktree add /tmp/before <commit>``), alternating with this one, and the table
shows both; the medians of ``--repeat`` samples are reported, because other jobs share
the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

# Runs in a child: only names every version of the package has, so --before can use it.
CHILD = r"""
import json, sys, time
from pathlib import Path
try:
    from pytest_torghut_rollout.checking.discovery import artifact_trees, discover, load_manifest, load_note
    from pytest_torghut_rollout.checking.paths import Resolver
    from pytest_torghut_rollout.checking.rules import CheckContext, check_artifact
except ImportError:  # a version from before the package had folders (--before)
    from pytest_torghut_rollout.discovery import artifact_trees, discover, load_manifest, load_note
    from pytest_torghut_rollout.paths import Resolver
    from pytest_torghut_rollout.rules import CheckContext, check_artifact

tree = Path(sys.argv[1])
paths = [tree]
# Warm up: compile validators and import everything once, as a pytest run does at collection.
discover([next(tree.glob("*/rollout/phase-manifest.json"))])
start = time.perf_counter()
artifacts = discover(paths)
walked = time.perf_counter()
context = CheckContext(resolver=Resolver(artifact_trees(paths)))
for artifact in artifacts:
    context.remember(artifact)
for artifact in artifacts:
    check_artifact(artifact, context)
checked = time.perf_counter()
per_kind = {}
for artifact in artifacts:
    if artifact.kind == "notes-series":
        continue
    load = load_manifest if artifact.kind == "manifest" else load_note
    began = time.perf_counter()
    again = load(artifact.path, root=artifact.root, display=artifact.display)
    check_artifact(again, context)
    per_kind.setdefault(artifact.kind, []).append(time.perf_counter() - began)
print(json.dumps({
    "artifacts": len(artifacts),
    "discover_ms": 1000 * (walked - start),
    "check_ms": 1000 * (checked - walked),
    "per_kind_ms": {k: 1000 * sum(v) / len(v) for k, v in per_kind.items()},
    "counts": {k: len(v) for k, v in per_kind.items()},
}))
"""


@dataclass(frozen=True, kw_only=True)
class Sample:
    """One fresh process's timings over the tree."""

    artifacts: int
    whole_ms: float
    """discover + every rule check, per artifact."""
    per_kind_ms: dict[str, float]
    counts: dict[str, int]


def sample(tree: Path, package: Path | None) -> Sample:
    """One fresh-process measurement over ``tree``, with the package from ``package`` if given."""
    env = dict(os.environ)
    if package is not None:
        env["PYTHONPATH"] = str(package)
    # Away from the checkout: ``-c`` puts the working directory first on sys.path, ahead of PYTHONPATH.
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(tree)], capture_output=True, text=True, check=True, env=env, cwd=tree.parent
    )
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return Sample(
        artifacts=raw["artifacts"],
        whole_ms=(raw["discover_ms"] + raw["check_ms"]) / raw["artifacts"],
        per_kind_ms=raw["per_kind_ms"],
        counts=raw["counts"],
    )


def main() -> int:
    """Simulate a tree, sample both versions alternately, print medians."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--before", type=Path, help="a checkout of the version to compare against")
    args = parser.parse_args()
    versions: list[tuple[str, Path | None]] = [("after", None)]
    if args.before is not None:
        versions.append(("before", args.before.resolve()))
    with tempfile.TemporaryDirectory() as scratch:
        tree = Path(scratch) / "tree"
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest_torghut_rollout",
                "simulate",
                *("--runs", str(args.runs), "--seed", "7"),
                "--out",
                str(tree),
            ],
            check=True,
            capture_output=True,
        )
        samples: dict[str, list[Sample]] = {label: [] for label, _ in versions}
        for _ in range(args.repeat):
            for label, package in versions:
                samples[label].append(sample(tree, package))
    first = samples["after"][0]
    print(f"tree: {args.runs} runs, {first.artifacts} artifacts {first.counts}; medians of {args.repeat} samples")
    kinds = ("manifest", "scheduler-note", "lane-note")
    print(f"{'version':<8} {'discover+check ms/artifact':>27} " + " ".join(f"{k + ' ms':>17}" for k in kinds), end="")
    print(f" {'manifest+note mean ms':>22}")
    for label, _ in versions:
        runs = samples[label]
        whole = statistics.median(s.whole_ms for s in runs)
        kind_ms = {k: statistics.median(s.per_kind_ms[k] for s in runs) for k in kinds}
        mean = sum(kind_ms[k] * first.counts[k] for k in kinds) / sum(first.counts[k] for k in kinds)
        print(f"{label:<8} {whole:>27.3f} " + " ".join(f"{kind_ms[k]:>17.3f}" for k in kinds) + f" {mean:>22.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
