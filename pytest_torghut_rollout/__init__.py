"""pytest-torghut-rollout: conformance tests for torghut rollout phase manifests and notes."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .checking.model import Artifact, Finding, Severity
    from .checking.rules import REGISTRY, CheckContext, Rule, check_artifact
    from .plugin.items import TorghutAdvisoryWarning, TorghutWaiverWarning

    __version__: str

__all__ = [
    "REGISTRY",
    "Artifact",
    "CheckContext",
    "Finding",
    "Rule",
    "Severity",
    "TorghutAdvisoryWarning",
    "TorghutWaiverWarning",
    "__version__",
    "check_artifact",
]

# pytest imports this package in every run (the plugin module is inside it), and the rules
# import pydantic, jsonschema and PyYAML: each public name is imported on first use (PEP 562).
_HOMES: dict[str, str] = {
    "REGISTRY": ".checking.rules",
    "Artifact": ".checking.model",
    "CheckContext": ".checking.rules",
    "Finding": ".checking.model",
    "Rule": ".checking.rules",
    "Severity": ".checking.model",
    "TorghutAdvisoryWarning": ".plugin.items",
    "TorghutWaiverWarning": ".plugin.items",
    "check_artifact": ".checking.rules",
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
