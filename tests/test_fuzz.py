"""Fuzzing the reader and the rules with mutations of the shipped conforming artifacts.

Whatever the bytes, reading yields an artifact (parsed, or with an ``error``) and checking
yields verdicts: findings or "not evaluated", never an exception.
"""

from __future__ import annotations

import json
import tempfile
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pytest_torghut_rollout.checking.discovery import load_manifest, load_note, note_artifact
from pytest_torghut_rollout.checking.model import CHECK_REFS, Artifact
from pytest_torghut_rollout.checking.paths import Resolver
from pytest_torghut_rollout.checking.rules import REGISTRY, CheckContext, evaluate_artifacts
from pytest_torghut_rollout.plugin.items import describe_findings

VALID = Path(__file__).parent.parent / "fixtures" / "valid"
SAMPLES = sorted(
    p
    for p in VALID.rglob("*")
    if p.name == "phase-manifest.json" or (p.parent.name == "notes" and p.name.startswith("iteration-"))
)
FUZZ = settings(
    max_examples=200,
    deadline=timedelta(seconds=10),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
#: How many examples each fuzz test ran, for the record (printed at the end of the module).
RAN: dict[str, int] = {}

JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True, allow_infinity=True) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=12,
)


@st.composite
def byte_mutations(draw: st.DrawFn) -> tuple[Path, bytes]:
    """A sample's bytes with a few bits flipped, bytes inserted or deleted, or cut short."""
    path = draw(st.sampled_from(SAMPLES))
    data = bytearray(path.read_bytes())
    for _ in range(draw(st.integers(1, 4))):
        at = draw(st.integers(0, len(data)))
        op = draw(st.sampled_from(["flip", "insert", "delete", "truncate", "repeat"]))
        if op == "flip" and at < len(data):
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif op == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif op == "delete":
            del data[at : at + draw(st.integers(1, 16))]
        elif op == "truncate":
            del data[at:]
        else:
            data[at:at] = data[at : at + draw(st.integers(1, 64))] * draw(st.integers(1, 4))
    return path, bytes(data)


def _locations(value: Any, where: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    found = [where]
    if isinstance(value, dict):
        for key, child in value.items():
            found.extend(_locations(child, (*where, key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            found.extend(_locations(child, (*where, index)))
    return found


def _parse(text: str) -> tuple[str, Any]:
    if text.lstrip().startswith("{"):
        return "json", json.loads(text)
    if text.startswith("---"):
        front = text.split("\n---", 1)[0].removeprefix("---")
        return "yaml", yaml.safe_load(front)
    return "text", None


@st.composite
def structured_mutations(draw: st.DrawFn) -> tuple[Path, bytes]:
    """A sample whose parsed document has a value replaced, a key deleted or a key repeated."""
    path = draw(st.sampled_from(SAMPLES))
    form, data = _parse(path.read_text(encoding="utf-8"))
    if not isinstance(data, dict):
        return path, path.read_bytes() + draw(st.binary(max_size=64))
    where = draw(st.sampled_from(_locations(data)))
    op = draw(st.sampled_from(["replace", "delete", "repeat"]))
    if not where:
        data = draw(JSON_VALUES) if op == "replace" else data
    else:
        parent = data
        for part in where[:-1]:
            parent = parent[part]
        if op == "delete":
            del parent[where[-1]]
        else:
            parent[where[-1]] = draw(JSON_VALUES)
    text = json.dumps(data, indent=2) if form == "json" else f"---\n{yaml.safe_dump(data)}---\nbody\n"
    if op == "repeat" and form == "json" and isinstance(data, dict) and data:
        key = next(iter(data))
        text = text.replace("{", "{" + json.dumps(key) + ": 1, ", 1)
    return path, text.encode("utf-8", "surrogatepass")


def _read(sample: Path, content: bytes, directory: Path) -> Artifact:
    if sample.name == "phase-manifest.json":
        target = directory / "run" / "rollout" / "phase-manifest.json"
        target.parent.mkdir(parents=True)
        target.write_bytes(content)
        return load_manifest(target, root=target.parent.parent, display="run/rollout/phase-manifest.json")
    target = directory / "notes" / sample.name
    target.parent.mkdir(parents=True)
    target.write_bytes(content)
    return load_note(target, root=directory, display=f"notes/{sample.name}")


def _check(artifact: Artifact, directory: Path) -> None:
    assert artifact.error is None or isinstance(artifact.error, str)
    context = CheckContext(resolver=Resolver([directory]))
    for judged, verdicts in evaluate_artifacts([artifact], context, opt_ins=(CHECK_REFS.key,)):
        for rule_id, verdict in verdicts.items():
            assert verdict.not_evaluated is None or not verdict.findings
            if verdict.findings:
                text = describe_findings(REGISTRY[rule_id], judged, verdict.findings, doc="d", verbose=True)
                assert "\x1b" not in text


@FUZZ
@given(byte_mutations())
def test_byte_mutations_of_real_artifacts_only_ever_give_findings_or_an_error(case: tuple[Path, bytes]) -> None:
    RAN["bytes"] = RAN.get("bytes", 0) + 1
    sample, content = case
    with tempfile.TemporaryDirectory() as tmp:
        _check(_read(sample, content, Path(tmp)), Path(tmp))


@FUZZ
@given(structured_mutations())
def test_structured_mutations_of_real_artifacts_only_ever_give_findings_or_an_error(
    case: tuple[Path, bytes],
) -> None:
    RAN["structured"] = RAN.get("structured", 0) + 1
    sample, content = case
    with tempfile.TemporaryDirectory() as tmp:
        _check(_read(sample, content, Path(tmp)), Path(tmp))


@FUZZ
@given(st.text(max_size=2000))
def test_any_text_is_a_note_of_some_kind_or_an_error(text: str) -> None:
    RAN["text"] = RAN.get("text", 0) + 1
    root = Path("/artifacts")
    artifact = note_artifact(text, path=root / "notes" / "iteration-1.md", root=root, display="n", number=1)
    _check(artifact, root)


@pytest.fixture(scope="module", autouse=True)
def _record_examples(request: pytest.FixtureRequest) -> Any:
    yield
    if RAN:
        print(f"\nfuzz examples run: {json.dumps(RAN, sort_keys=True)}")
