"""Measure the plugin against pytest's own floor for the same nodes, xdist, and check-jsonschema.

Usage (from the repository root, with the package and its test extras installed)::

    python benchmarks/bench_scale.py [--runs 1000 10000] [--repeat 3] [--full-max 1000]

For each size N it simulates an N-cycle tree (``torghut-rollout simulate``, seed 7) and counts
the collectors and items the plugin creates (``pytest --collect-only -q``). Then, alternating
the modes in every round and reporting medians of ``--repeat`` rounds (other jobs share the
machine), each in a fresh process:

- plugin: ``pytest -p no:cacheprovider -q --torghut-artifacts=TREE``;
- floor: a conftest-only plugin in a temporary directory that creates the same number of
  collectors, each with the same number of no-op ``pytest.Item``s: what pytest itself costs;
- both again with ``-n 2`` when pytest-xdist is installed;
- with ``--artifact``, the plugin at ``--torghut-granularity=artifact`` (one test per artifact,
  read when it runs), and with xdist also ``-n 2``; the ratios against one test
  per rule are printed after the table;
- with ``--before CHECKOUT``, the plugin again (with ``--artifact`` also at artifact granularity),
  imported from that checkout of another version;
- check-jsonschema: ``check-jsonschema --schemafile conformance/phase-manifest.schema.json``
  over every manifest of the tree, when it is installed.
- reading+checking: one fresh process that reads, validates and checks every rule of the same
  manifests with the package (start-up included); the ratio of its manifests per second to
  check-jsonschema's is printed under the table.

Sizes above ``--full-max`` runs are measured with ``--collect-only`` (plugin and floor alike):
collection is where the plugin reads and checks every artifact. Peak RSS is that of the
largest process of a run (``RUSAGE_CHILDREN`` of a fresh wrapper process).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
ARTIFACT = "plugin artifact"
ARTIFACT_XDIST = "plugin artifact -n 2"
ARTIFACT_FLOOR = "floor artifact"
ARTIFACT_FLOOR_XDIST = "floor artifact -n 2"
ARTIFACT_BEFORE = "plugin artifact before"
#: The floor each plugin mode is compared with: the same collectors, and one no-op item per test
#: the plugin runs (per rule, or per artifact).
FLOOR_OF = {
    "plugin": "floor",
    "plugin -n 2": "floor -n 2",
    ARTIFACT: ARTIFACT_FLOOR,
    ARTIFACT_XDIST: ARTIFACT_FLOOR_XDIST,
    ARTIFACT_BEFORE: ARTIFACT_FLOOR,
}
#: The serial mode each -n 2 mode is compared with.
SERIAL_OF = {
    "plugin -n 2": "plugin",
    "floor -n 2": "floor",
    ARTIFACT_XDIST: ARTIFACT,
    ARTIFACT_FLOOR_XDIST: ARTIFACT_FLOOR,
}
MANIFEST_SCHEMA = REPO / "conformance" / "phase-manifest.schema.json"
READING = "reading+checking"
"""The package's own reading and checking of the manifests check-jsonschema gets, in one process."""

# What check-jsonschema is compared with: one fresh process that reads (SHA-256, strict JSON),
# validates and checks every rule of each manifest named on its command line, start-up included.
READ_AND_CHECK = """
import sys
from pathlib import Path
from pytest_torghut_rollout.checking.discovery import artifact_trees, load_manifest
from pytest_torghut_rollout.checking.paths import Resolver
from pytest_torghut_rollout.checking.rules import CheckContext, check_artifact
paths = [Path(p) for p in sys.argv[1:]]
context = CheckContext(resolver=Resolver(artifact_trees([Path.cwd()])))
failed = 0
for path in paths:
    artifact = load_manifest(path, root=path.parent.parent, display=str(path))
    failed += bool(check_artifact(artifact, context))
sys.exit(1 if failed else 0)
"""

# Runs one command and reports its wall time and the peak RSS of its largest process.
WRAPPER = """
import json, resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[2:], cwd=sys.argv[1], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode
wall = time.perf_counter() - start
print(json.dumps({"code": code, "wall": wall, "maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss}))
"""

FLOOR_CONFTEST = textwrap.dedent(
    '''
    """pytest's floor: one collector per artifact, one no-op item per rule the plugin would run."""

    import json

    import pytest


    class NoOp(pytest.Item):
        def runtest(self):
            pass

        def reportinfo(self):
            return self.path, None, self.name


    class Artifact(pytest.Collector):
        def __init__(self, *, items, **kwargs):
            super().__init__(**kwargs)
            self.count = items

        def collect(self):
            for i in range(self.count):
                yield NoOp.from_parent(self, name=f"rule{i}")


    class Spec(pytest.File):
        def collect(self):
            for name, items in json.loads(self.path.read_text()):
                yield Artifact.from_parent(self, name=name, items=items)


    def pytest_collect_file(file_path, parent):
        if file_path.name == "floor.json":
            return Spec.from_parent(parent, path=file_path)
        return None
    '''
)


@dataclass(frozen=True, kw_only=True)
class Run:
    """One fresh process: exit code, wall seconds, peak RSS in KiB."""

    code: int
    wall: float
    maxrss_kib: int


def measure(command: list[str], cwd: Path, package: Path | None = None) -> Run:
    """Run ``command`` under the wrapper (importing the package from ``package`` if given)."""
    env = dict(os.environ, PYTHONPATH=str(package)) if package is not None else None
    wrapped = [sys.executable, "-c", WRAPPER, str(cwd), *command]
    done = subprocess.run(wrapped, capture_output=True, text=True, check=True, env=env)
    raw = json.loads(done.stdout.strip().splitlines()[-1])
    return Run(code=raw["code"], wall=raw["wall"], maxrss_kib=raw["maxrss_kib"])


def simulate(runs: int, out: Path) -> None:
    """Write a clean simulated tree of ``runs`` cycles."""
    command = [sys.executable, "-m", "pytest_torghut_rollout", "simulate", "--runs", str(runs), "--seed", "7"]
    subprocess.run([*command, "--out", str(out)], check=True, capture_output=True)


def plugin_nodes(tree: Path) -> list[tuple[str, int]]:
    """(collector, number of items) for every collector the plugin creates, from ``--collect-only -q``."""
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "--collect-only",
            "-q",
            f"--torghut-artifacts={tree}",
        ],
        cwd=tree.parent,
        capture_output=True,
        text=True,
        check=True,
    )
    counts: Counter[str] = Counter()
    for line in done.stdout.splitlines():
        if "::" in line:
            counts[line.rsplit("::", 1)[0]] += 1
    return list(counts.items())


def write_floor(directory: Path, nodes: list[tuple[str, int]]) -> None:
    """A temporary test directory whose conftest creates exactly ``nodes``."""
    directory.mkdir()
    (directory / "conftest.py").write_text(FLOOR_CONFTEST, encoding="utf-8")
    (directory / "floor.json").write_text(json.dumps([[f"a{i}", n] for i, (_, n) in enumerate(nodes)]))
    (directory / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")


@dataclass(frozen=True, kw_only=True)
class Row:
    """The medians of one mode at one size."""

    size: int
    mode: str
    items: int
    wall: float
    peak_mib: float
    codes: tuple[int, ...]


def main() -> int:
    """Build the trees, run every mode alternately, print a table of medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--full-max", type=int, default=1000, help="larger trees are measured with --collect-only")
    parser.add_argument("--before", type=Path, help="also run the plugin from this checkout of another version")
    parser.add_argument("--no-xdist", action="store_true", help="skip the -n 2 modes")
    parser.add_argument("--artifact", action="store_true", help="also run at artifact granularity (and with -n 2)")
    parser.add_argument(
        "--only",
        type=lambda text: [m.strip() for m in text.split(",") if m.strip()],
        default=None,
        help="run only these comma-separated modes (e.g. 'plugin artifact,floor artifact')",
    )
    args = parser.parse_args()
    xdist = importlib.util.find_spec("xdist") is not None and not args.no_xdist
    cjs = shutil.which("check-jsonschema")
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as scratch:
        for size in args.runs:
            tree = Path(scratch) / f"tree-{size}"
            simulate(size, tree)
            nodes = plugin_nodes(tree)
            items = sum(n for _, n in nodes)
            floor = Path(scratch) / f"floor-{size}"
            write_floor(floor, nodes)
            manifests = sorted(str(p) for p in tree.glob("*/rollout/phase-manifest.json"))
            only = ["--collect-only"] if size > args.full_max else []
            pytest = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *only]
            modes: dict[str, tuple[list[str], Path]] = {
                "plugin": ([*pytest, f"--torghut-artifacts={tree}"], tree.parent),
                "floor": ([*pytest, str(floor)], floor),
            }
            if args.before is not None:
                modes["plugin before"] = modes["plugin"]
            if xdist:
                modes["plugin -n 2"] = ([*modes["plugin"][0], "-n", "2"], tree.parent)
                modes["floor -n 2"] = ([*modes["floor"][0], "-n", "2"], floor)
            if args.artifact:
                modes[ARTIFACT] = ([*modes["plugin"][0], "--torghut-granularity=artifact"], tree.parent)
                floor_artifact = Path(scratch) / f"floor-artifact-{size}"
                write_floor(floor_artifact, [(name, 1) for name, _ in nodes])
                modes[ARTIFACT_FLOOR] = ([*pytest, str(floor_artifact)], floor_artifact)
                if args.before is not None:
                    modes[ARTIFACT_BEFORE] = modes[ARTIFACT]
                if xdist:
                    modes[ARTIFACT_XDIST] = ([*modes[ARTIFACT][0], "-n", "2"], tree.parent)
                    modes[ARTIFACT_FLOOR_XDIST] = (
                        [*modes[ARTIFACT_FLOOR][0], "-n", "2"],
                        floor_artifact,
                    )
            if cjs:
                modes["check-jsonschema"] = ([cjs, "--schemafile", str(MANIFEST_SCHEMA), *manifests], tree.parent)
            modes[READING] = ([sys.executable, "-c", READ_AND_CHECK, *manifests], tree)
            if args.only is not None:
                unknown = sorted(set(args.only) - set(modes))
                if unknown:
                    parser.error(f"--only: unknown modes {unknown}; known: {sorted(modes)}")
                modes = {mode: spec for mode, spec in modes.items() if mode in args.only}
            samples: dict[str, list[Run]] = {mode: [] for mode in modes}
            for _ in range(args.repeat):
                for mode, (command, cwd) in modes.items():
                    package = args.before.resolve() if mode.endswith(" before") and args.before else None
                    samples[mode].append(measure(command, cwd, package))
            for mode, runs in samples.items():
                count = (
                    len(manifests)
                    if mode in ("check-jsonschema", READING)
                    else len(nodes)
                    if mode in (ARTIFACT_FLOOR, ARTIFACT_FLOOR_XDIST)
                    else items
                )
                rows.append(
                    Row(
                        size=size,
                        mode=mode + (" (collect)" if only and mode not in ("check-jsonschema", READING) else ""),
                        items=count,
                        wall=statistics.median(r.wall for r in runs),
                        peak_mib=max(r.maxrss_kib for r in runs) / 1024,
                        codes=tuple(sorted({r.code for r in runs})),
                    )
                )
            print(f"runs={size}: {len(nodes)} collectors, {items} items, {len(manifests)} manifests", flush=True)
    print()
    print("| runs | mode | items | wall s | items/s | peak MiB | x floor | xdist speedup | manifests/s | exit |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---|")
    for row in rows:
        same = {r.mode: r for r in rows if r.size == row.size}
        plain = row.mode.removesuffix(" (collect)")
        base = plain.removesuffix(" -n 2").removesuffix(" before")
        suffix = " (collect)" if row.mode.endswith(" (collect)") else ""
        floor_row = same.get(FLOOR_OF[plain] + suffix) if plain in FLOOR_OF else None
        ratio = f"{row.wall / floor_row.wall:.2f}" if floor_row else ""
        serial = same.get(SERIAL_OF[plain] + suffix) if plain in SERIAL_OF else None
        speedup = f"{serial.wall / row.wall:.2f}" if serial else ""
        manifest_count = same["check-jsonschema"].items if "check-jsonschema" in same else 0
        per_s = (
            f"{manifest_count / row.wall:.0f}"
            if manifest_count and base in ("plugin", "check-jsonschema", READING)
            else ""
        )
        print(
            f"| {row.size} | {row.mode} | {row.items} | {row.wall:.2f} | {row.items / row.wall:.0f} | "
            f"{row.peak_mib:.0f} | {ratio} | {speedup} | {per_s} | {','.join(map(str, row.codes))} |"
        )
    print()
    for line in reading_ratios(rows):
        print(line)
    if args.artifact:
        for line in granularity_ratios(rows):
            print(line)
    return 0


def reading_ratios(rows: list[Row]) -> list[str]:
    """Manifests read and checked per second against check-jsonschema's on the same manifests."""
    lines: list[str] = []
    for size in sorted({row.size for row in rows}):
        same = {row.mode: row for row in rows if row.size == size}
        if READING in same and "check-jsonschema" in same:
            ratio = same["check-jsonschema"].wall / same[READING].wall
            lines.append(f"runs={size}: {READING} / check-jsonschema, manifests per second: {ratio:.2f}x")
    return lines


def granularity_ratios(rows: list[Row]) -> list[str]:
    """Artifact granularity against one test per rule, serial and with -n 2, at each size (wall and peak RSS)."""
    lines: list[str] = []
    for size in sorted({row.size for row in rows}):
        same = {row.mode.removesuffix(" (collect)"): row for row in rows if row.size == size}
        pairs = [(ARTIFACT, "plugin"), (ARTIFACT_XDIST, "plugin -n 2"), (ARTIFACT_XDIST, ARTIFACT)]
        for mode, against in pairs:
            if mode in same and against in same:
                a, b = same[mode], same[against]
                wall, peak = a.wall / b.wall, a.peak_mib / b.peak_mib
                lines.append(f"runs={size}: {mode} / {against}: wall {wall:.2f}x, peak RSS {peak:.2f}x")
    return lines


if __name__ == "__main__":
    raise SystemExit(main())
