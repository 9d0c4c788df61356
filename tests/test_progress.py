"""Progress while discovery reads a large tree: shown where pytest shows its own, at most every 0.5 s."""

from __future__ import annotations

from pathlib import Path
from typing import Any

# The inner runs import hypothesis (through its pytest plugin); imported once here (see test_plugin).
import hypothesis  # noqa: F401
import pytest

from pytest_torghut_rollout.checking.model import Artifact, NoteFile
from pytest_torghut_rollout.plugin.progress import INTERVAL, CollectionProgress


class FakeTerminal:
    """Records what the progress display writes, as the terminal reporter would show it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str]] = []

    def rewrite(self, line: str, **markup: Any) -> None:
        self.calls.append(("rewrite", line))

    def write(self, text: str, **markup: Any) -> None:
        self.calls.append(("write", text))

    def write_line(self, line: str, **markup: Any) -> None:
        self.calls.append(("write_line", line))


def manifest(n: int) -> Artifact:
    path = Path(f"/t/run{n}/rollout/phase-manifest.json")
    return Artifact(kind="manifest", path=path, root=path.parent.parent, display=f"run{n}", sha256="0" * 64)


def test_a_terminal_shows_the_count_at_most_every_interval_on_one_rewritten_line() -> None:
    now = [0.0]
    terminal = FakeTerminal()
    progress = CollectionProgress(terminal, tty=True, clock=lambda: now[0])
    for n in range(10):
        now[0] = n * INTERVAL / 4
        progress(manifest(n))
    progress.finish()
    # At 0, 0.5 and 1.0 s: three rewrites of one line, never a new line (pytest's "collected" replaces it).
    assert terminal.calls == [
        ("rewrite", "torghut: 1 artifact found, 1 file read ..."),
        ("rewrite", "torghut: 5 artifacts found, 5 files read ..."),
        ("rewrite", "torghut: 9 artifacts found, 9 files read ..."),
    ]


def test_a_log_gets_one_line_per_update_and_the_final_count() -> None:
    terminal = FakeTerminal()
    progress = CollectionProgress(terminal, tty=False, clock=lambda: 0.0)
    notes = tuple(NoteFile(name=f"iteration-{n}.md", kind="scheduler-note", sha256="1" * 64) for n in (1, 2))
    progress(Artifact(kind="notes-series", path=Path("/t/notes"), root=Path("/t"), display="notes", notes=notes))
    progress(manifest(1))
    progress.finish()
    assert terminal.calls == [
        ("write", "\n"),
        ("write_line", "torghut: 1 artifact found, 2 files read ..."),
        ("write_line", "torghut: 2 artifacts found, 3 files read"),
    ]


@pytest.mark.parametrize(
    ("args", "shown"), [(["-v"], True), ([], False), (["-q"], False), (["-v", "-q"], False)], ids=str
)
def test_progress_is_written_to_a_log_only_when_verbose(
    pytester: pytest.Pytester, artifacts: Path, args: list[str], shown: bool
) -> None:
    result = pytester.runpytest(f"--torghut-artifacts={artifacts}", *args)
    assert result.ret == pytest.ExitCode.OK
    final = "torghut: 4 artifacts found, 3 files read"
    assert (final in result.outlines) is shown
