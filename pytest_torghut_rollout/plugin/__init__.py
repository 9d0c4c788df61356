"""pytest hooks: options and configuration. Thin on purpose, and light on purpose.

pytest imports this module (the ``pytest11`` entry point) in every run of the environment,
so at import time it loads only pytest and the option code. The checking machinery is in
``session``, imported when ``--torghut-artifacts`` or the ini key ``torghut_artifacts`` is set.
"""

from __future__ import annotations

import pytest

from .settings import MARKER, add_options, read_settings


def pytest_addoption(parser: pytest.Parser) -> None:
    """Add the torghut option group and ini keys."""
    add_options(parser)


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker; when artifacts are given, set up the run's conformance checks."""
    config.addinivalue_line("markers", f"{MARKER}: a torghut rollout contract conformance check")
    settings = read_settings(config)
    if settings is None:
        return
    # Deferred to here: the checks import pydantic, jsonschema and PyYAML (about half a second).
    from .session import activate

    activate(config, settings)
