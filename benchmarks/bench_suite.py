"""Measure how the conformance run scales with the size of an artifact tree.

Usage (from the repository root, with the package installed)::

    python benchmarks/bench_suite.py [--runs 50 200 800] [--repeat 3] [--xdist]

For each size N it simulates an N-cycle scheduler tree (``torghut-rollout simulate``,
seed 7), then runs ``pytest --torghut-artifacts=TREE`` in a fresh process ``--repeat``
times and reports the median wall time, the peak resident memory of that process,
the number of tests, and the ratios against the smallest size: time and memory per
test should stay flat as the tree grows (linear scaling).
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# Run pytest in-process in a child and report its own peak RSS: RUSAGE_CHILDREN of this
# script would mix every child together.
CHILD = """
import json, resource, sys, pytest
code = pytest.main(sys.argv[1:])
print(json.dumps({"code": int(code), "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def simulate(runs: int, out: Path) -> None:
    """Write a clean simulated tree of ``runs`` cycles."""
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest_torghut_rollout",
            "simulate",
            "--runs",
            str(runs),
            "--seed",
            "7",
            "--out",
            str(out),
        ],
        check=True,
        capture_output=True,
    )


def measure(tree: Path, extra: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, tests run) of one conformance run over ``tree``."""
    args = [
        f"--torghut-artifacts={tree}",
        "-q",
        "-p",
        "no:cacheprovider",
        "--junitxml",
        str(tree / "junit.xml"),
        *extra,
    ]
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", CHILD, *args], capture_output=True, text=True, check=False, cwd=tree)
    elapsed = time.perf_counter() - start
    result = json.loads(done.stdout.strip().splitlines()[-1])
    if result["code"] != 0:
        raise SystemExit(f"conformance run failed on {tree}:\n{done.stdout[-2000:]}")
    junit = (tree / "junit.xml").read_text(encoding="utf-8")
    tests = int(junit.split('tests="', 1)[1].split('"', 1)[0])
    return elapsed, int(result["maxrss_kib"]), tests


def main() -> int:
    """Run the benchmark and print a table of medians and ratios."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, nargs="+", default=[50, 200, 800])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--xdist", action="store_true", help="also measure with -n 2")
    args = parser.parse_args()
    modes = [("serial", [])] + ([("xdist -n 2", ["-n", "2"])] if args.xdist else [])
    rows: list[tuple[str, int, int, float, int]] = []
    with tempfile.TemporaryDirectory() as scratch:
        for runs in args.runs:
            tree = Path(scratch) / f"tree-{runs}"
            simulate(runs, tree)
            for label, extra in modes:
                samples = [measure(tree, extra) for _ in range(args.repeat)]
                wall = statistics.median(s[0] for s in samples)
                rss = max(s[1] for s in samples)
                rows.append((label, runs, samples[0][2], wall, rss))
    print(
        f"{'mode':<11} {'runs':>5} {'tests':>6} {'wall s':>7} {'ms/test':>8} {'peak MiB':>9} {'time x':>7} {'mem x':>6}"
    )
    for label, runs, tests, wall, rss in rows:
        base = next(r for r in rows if r[0] == label)
        print(
            f"{label:<11} {runs:>5} {tests:>6} {wall:>7.2f} {1000 * wall / tests:>8.3f} {rss / 1024:>9.1f} "
            f"{wall / base[3]:>7.2f} {rss / base[4]:>6.2f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
