"""The plugin works installed from a built wheel, run from outside the repository."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

REPO = Path(__file__).parent.parent
FIXTURES = REPO / "fixtures"
ALLOW_TRACKED = "--torghut-allow-tracked-notes"

# Building the wheel and a virtual environment takes 15-30 s: the slow tier.
pytestmark = pytest.mark.slow


def _run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(a) for a in args], cwd=cwd, capture_output=True, text=True, env=env, check=False)


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding only the wheel (and pytest-xdist); its python."""
    base = tmp_path_factory.mktemp("wheel")
    built = _run(sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", base / "dist", REPO, cwd=base)
    assert built.returncode == 0, built.stderr
    (wheel,) = (base / "dist").glob("pytest_torghut_rollout-*.whl")
    venv.create(base / "venv", with_pip=True)
    python = base / "venv" / ("Scripts" if os.name == "nt" else "bin") / "python"
    install = _run(python, "-m", "pip", "install", "-q", wheel, "pytest-xdist", cwd=base)
    assert install.returncode == 0, install.stderr
    return python


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    """A working directory with no ini file and nothing of the repository in it."""
    (tmp_path / "pytest.ini").write_text("[pytest]\n", encoding="utf-8")
    return tmp_path


def _pytest(python: Path, cwd: Path, *args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTEST_ADDOPTS")}
    return _run(python, "-m", "pytest", "-p", "no:cacheprovider", *args, cwd=cwd, env=env)


def test_wheel_install_imports_the_plugin_from_site_packages(installed: Path, outside: Path) -> None:
    found = _run(installed, "-c", "import pytest_torghut_rollout as p; print(p.__file__, p.__version__)", cwd=outside)
    assert "site-packages" in found.stdout
    assert str(REPO) not in found.stdout


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_wheel_checks_the_conforming_fixtures(installed: Path, outside: Path, xdist: tuple[str, ...]) -> None:
    # The corpus is committed to this repository on purpose: the opt-out the contract provides.
    result = _pytest(installed, outside, f"--torghut-artifacts={FIXTURES / 'valid'}", ALLOW_TRACKED, *xdist)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "conformed" in result.stdout
    assert "Tracked notes were allowed" in result.stdout


@pytest.mark.parametrize("xdist", [(), ("-n", "2")], ids=["serial", "xdist"])
def test_wheel_fails_a_violating_fixture_naming_the_rule(
    installed: Path, outside: Path, xdist: tuple[str, ...]
) -> None:
    case = next(p for p in sorted((FIXTURES / "invalid" / "TM012").iterdir()) if p.is_dir())
    result = _pytest(installed, outside, f"--torghut-artifacts={case}", ALLOW_TRACKED, *xdist)
    assert result.returncode == 1, result.stdout[-3000:]
    assert "TM012-transition-adjacency" in result.stdout


def test_wheel_see_line_names_a_command_that_prints_the_rule(installed: Path, outside: Path) -> None:
    case = next(p for p in sorted((FIXTURES / "invalid" / "TM012").iterdir()) if p.is_dir())
    result = _pytest(installed, outside, f"--torghut-artifacts={case}")
    (see,) = {line.split("see:", 1)[1].strip() for line in result.stdout.splitlines() if "see:" in line}
    assert see == "torghut-rollout rules TM012"
    command, *args = see.split()
    printed = _run(installed.parent / command, *args, cwd=outside)
    assert printed.returncode == 0, printed.stderr
    assert printed.stdout.startswith("TM012 transition-adjacency:")
    assert "must include transitions between each adjacent phase" in printed.stdout


def test_wheel_fails_an_empty_directory_with_the_discovery_test(installed: Path, outside: Path) -> None:
    (outside / "empty").mkdir()
    result = _pytest(installed, outside, "--torghut-artifacts=empty")
    assert result.returncode == 1
    assert "FAILED torghut::discovery" in result.stdout


def test_wheel_reports_a_missing_path_as_a_usage_error(installed: Path, outside: Path) -> None:
    result = _pytest(installed, outside, "--torghut-artifacts=no-such-dir")
    assert result.returncode == 4
    assert "no-such-dir" in result.stderr
