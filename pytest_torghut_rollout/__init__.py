"""pytest-torghut-rollout: conformance tests for torghut rollout phase manifests and notes."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from .model import Artifact, Finding, Severity
from .rules import REGISTRY, CheckContext, Rule, check_artifact

try:
    __version__ = version("pytest-torghut-rollout")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = [
    "REGISTRY",
    "Artifact",
    "CheckContext",
    "Finding",
    "Rule",
    "Severity",
    "__version__",
    "check_artifact",
]
