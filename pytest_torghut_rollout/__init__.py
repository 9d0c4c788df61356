"""pytest-torghut-rollout: conformance tests for torghut rollout phase manifests and notes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .items import TorghutAdvisoryWarning
    from .model import Artifact, Finding, Severity
    from .rules import REGISTRY, CheckContext, Rule, check_artifact

    __version__: str

__all__ = [
    "REGISTRY",
    "Artifact",
    "CheckContext",
    "Finding",
    "Rule",
    "Severity",
    "TorghutAdvisoryWarning",
    "__version__",
    "check_artifact",
]

# pytest imports this package in every run (the plugin module is inside it), and the rules
# import pydantic, jsonschema and PyYAML: each public name is imported on first use (PEP 562).
_HOMES: dict[str, str] = {
    "REGISTRY": ".rules",
    "Artifact": ".model",
    "CheckContext": ".rules",
    "Finding": ".model",
    "Rule": ".rules",
    "Severity": ".model",
    "TorghutAdvisoryWarning": ".items",
    "check_artifact": ".rules",
}


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("pytest-torghut-rollout")
    except PackageNotFoundError:  # pragma: no cover - running from a source tree
        return "0.0.0"


def __getattr__(name: str) -> Any:
    """Import a public name on first access and keep it, so later lookups are plain attributes."""
    if name == "__version__":
        value: Any = _version()
    elif name in _HOMES:
        value = getattr(importlib.import_module(_HOMES[name], __name__), name)
    else:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """List the lazily imported public names along with what is already loaded."""
    return sorted({*globals(), *__all__})
