"""Every stash key the plugin uses, declared in one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from ..checking.model import Finding, NoteFile
from ..checking.rules import CheckContext, Verdict
from ..checking.waivers import Waiver
from .settings import Settings
from .wire import CheckOutcome

SETTINGS_KEY = pytest.StashKey[Settings]()
CONTEXT_KEY = pytest.StashKey[CheckContext]()
FINDINGS_KEY = pytest.StashKey[list[Finding]]()
OUTCOME_KEY = pytest.StashKey[CheckOutcome]()
VERDICT_KEY = pytest.StashKey[Verdict]()
WAIVER_KEY = pytest.StashKey[Waiver]()
FACTS_WANTED_KEY = pytest.StashKey[bool]()
"""Whether anything shows the artifacts' facts (the evidence record, an HTML report's summary):
if not, items do not make them."""
SHIPPED_KEY = pytest.StashKey[set[str]]()
"""Artifacts whose facts this process has already sent with a report (each is sent once)."""
SERIES_SUMMARIES_KEY = pytest.StashKey[dict[Path, dict[str, Any]]]()
"""Each notes series' summary (``facts.series_summary``), made at collection at rule granularity."""


@dataclass(frozen=True, kw_only=True)
class SeriesRead:
    """A notes series as one read of its notes left it: its summary, and each note's file."""

    summary: dict[str, Any]
    """``facts.series_summary`` of the notes."""
    files: tuple[NoteFile, ...]


SERIES_READ_KEY = pytest.StashKey[dict[Path, SeriesRead]]()
"""What this process read of each notes series (read lazily), until the series' own item takes it."""
