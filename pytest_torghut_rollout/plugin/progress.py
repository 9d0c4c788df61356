"""Progress while discovery reads a large tree, in the style of pytest's own "collecting ..." line."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pytest

from ..checking.discovery import Pending
from ..checking.model import Artifact

#: Seconds between two progress lines, as pytest's REPORT_COLLECTING_RESOLUTION.
INTERVAL = 0.5


class CollectionProgress:
    """Counts the artifacts discovery finds and the files it reads; shows them at most every INTERVAL.

    Shown only where pytest shows its own collection progress: on a terminal unless ``-q``,
    and, when the output is not a terminal, only with ``-v``, one line per update.
    """

    def __init__(self, writer: Any, *, tty: bool, clock: Callable[[], float] = time.monotonic) -> None:
        self.writer = writer
        self.tty = tty
        self.clock = clock
        self.found = 0
        self.read = 0
        self._last: float | None = None
        self.lines = 0
        """Lines written so far (not on a terminal)."""

    @classmethod
    def for_config(cls, config: pytest.Config) -> CollectionProgress | None:
        """A progress display for this run, or None where pytest would show none."""
        reporter = config.pluginmanager.get_plugin("terminalreporter")
        if reporter is None or config.get_verbosity() < 0 or hasattr(config, "workerinput"):
            return None
        # A method since pytest 9, an attribute before.
        tty = reporter.isatty() if callable(reporter.isatty) else bool(reporter.isatty)
        if not tty and config.get_verbosity() < 1:
            return None
        return cls(reporter, tty=tty)

    @property
    def line(self) -> str:
        """What the display says now."""
        found = "artifact" if self.found == 1 else "artifacts"
        if not self.read:  # at artifact granularity nothing is read until its check runs
            return f"torghut: {self.found} {found} found"
        read = "file" if self.read == 1 else "files"
        return f"torghut: {self.found} {found} found, {self.read} {read} read"

    def __call__(self, artifact: Artifact | Pending) -> None:
        """Count one artifact discovery found (and the files read for it), and show the count when due."""
        self.found += 1
        if not isinstance(artifact, Artifact):
            pass  # found by its path, read when its check runs
        elif artifact.kind == "notes-series":
            self.read += sum(1 for note in artifact.notes if note.sha256 is not None)
        elif artifact.kind == "manifest" and artifact.sha256 is not None:
            self.read += 1
        now = self.clock()
        if self._last is not None and now - self._last < INTERVAL:
            return
        self._last = now
        self._show()

    def finish(self) -> None:
        """Show the final count in a log (not on a terminal, where pytest's "collected" line replaces it)."""
        if not self.tty:
            self._show(final=True)

    def _show(self, *, final: bool = False) -> None:
        if self.tty:
            self.writer.rewrite(self.line + " ...", bold=True, erase=True)
            return
        if not self.lines:
            self.writer.write("\n")  # pytest's "collecting ... " waits for its count on this line
        self.lines += 1
        self.writer.write_line(self.line + ("" if final else " ..."))
