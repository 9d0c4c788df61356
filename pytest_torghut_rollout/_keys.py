"""Every stash key the plugin uses, declared in one place."""

from __future__ import annotations

import pytest

from .model import Finding
from .rules import CheckContext, Verdict
from .settings import Settings
from .waivers import Waiver
from .wire import CheckOutcome

SETTINGS_KEY = pytest.StashKey[Settings]()
CONTEXT_KEY = pytest.StashKey[CheckContext]()
FINDINGS_KEY = pytest.StashKey[list[Finding]]()
OUTCOME_KEY = pytest.StashKey[CheckOutcome]()
VERDICT_KEY = pytest.StashKey[Verdict]()
WAIVER_KEY = pytest.StashKey[Waiver]()
