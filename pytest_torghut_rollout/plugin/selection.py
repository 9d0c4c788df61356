"""Which torghut checks a run selected: a filtered run is never evidence of conformance."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest

#: Options that take checks out of a run, as (option dest, how the command line spells it).
_VALUE_OPTIONS = (("keyword", "-k"), ("markexpr", "-m"))
_FLAG_OPTIONS = (("lf", "--lf"), ("stepwise", "--sw"), ("stepwise_skip", "--sw-skip"))
OTHER_PLUGIN = "another plugin deselected checks (pytest_deselected)"


def deselection_options(config: pytest.Config) -> list[str]:
    """The options of this run that may deselect checks, spelled as on the command line."""
    option = config.option
    how: list[str] = []
    for dest, flag in _VALUE_OPTIONS:
        value = getattr(option, dest, None)
        if value:
            how.append(f"{flag} {value}")
    how.extend(f"--deselect {nodeid}" for nodeid in getattr(option, "deselect", None) or ())
    how.extend(flag for dest, flag in _FLAG_OPTIONS if getattr(option, dest, None))
    # pytest-split shards the run with --splits N --group G.
    splits, group = getattr(option, "splits", None), getattr(option, "group", None)
    if splits and group:
        how.append(f"--splits {splits} --group {group}")
    return how


@dataclass
class Selection:
    """How many torghut checks were collected and deselected, and what deselected them.

    Filled where collection happens: on the controller of a serial run, on each xdist worker
    (which sends it to the controller with its output; every worker collects the same).
    """

    options: tuple[str, ...] = ()
    """The options that may deselect checks (see ``deselection_options``)."""
    collected: int = 0
    deselected: int = 0
    seen: bool = False
    """Whether collection was seen at all (a run interrupted early never collects)."""
    inapplicable: int = 0
    """Checks counted at collection for a note not read yet (every rule any note may need) that,
    once it was read, do not apply to its kind: no check, so not counted as collected."""

    @property
    def checks(self) -> int:
        """Checks collected, less those that turned out not to apply once their note was read."""
        return self.collected - self.inapplicable

    @property
    def selected(self) -> int:
        """Checks left to run after deselection."""
        return self.checks - self.deselected

    def as_output(self) -> dict[str, int]:
        """What an xdist worker sends to the controller."""
        return {"collected": self.collected, "deselected": self.deselected}

    def take_output(self, output: dict[str, Any]) -> None:
        """Adopt a worker's counts (the first worker's: they all collect the same items)."""
        if not self.seen:
            self.collected, self.deselected, self.seen = int(output["collected"]), int(output["deselected"]), True

    def is_partial(self, reported: int) -> bool:
        """Whether checks were deselected, or fewer reported an outcome than were selected."""
        return not self.seen or self.deselected > 0 or reported < self.selected

    def report(self, *, reported: int) -> dict[str, Any]:
        """The evidence's ``selection`` block."""
        how = list(self.options) or [OTHER_PLUGIN]
        return {
            "collected": self.checks,
            "selected": self.selected,
            "deselected": self.deselected,
            "reported": reported,
            "partial": self.is_partial(reported),
            "how": how if self.deselected else [],
        }
