"""Every stash key the plugin uses, declared in one place."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest

from .model import Finding

if TYPE_CHECKING:
    from .reporting import EvidenceRecorder
    from .rules import CheckContext
    from .settings import Settings

SETTINGS_KEY = pytest.StashKey["Settings"]()
CONTEXT_KEY = pytest.StashKey["CheckContext"]()
RECORDER_KEY = pytest.StashKey["EvidenceRecorder"]()
FINDINGS_KEY = pytest.StashKey[list[Finding]]()
OUTCOME_KEY = pytest.StashKey[str]()
