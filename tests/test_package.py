"""The package facade: its public names, and what importing the plugin costs a run that does not use it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

import pytest_torghut_rollout
from pytest_torghut_rollout.checking import model, rules
from pytest_torghut_rollout.plugin import items

#: What the checks import; a run without torghut artifacts must not pay for any of it.
HEAVY_MODULES = ("pydantic", "jsonschema", "yaml")


def _imported_after(code: str, cwd: Path) -> list[str]:
    """Which of HEAVY_MODULES a fresh interpreter holds after running ``code``."""
    report = f"import sys; print(' '.join(m for m in {HEAVY_MODULES!r} if m in sys.modules))"
    done = subprocess.run(
        [sys.executable, "-c", f"{code}; {report}"], capture_output=True, text=True, check=True, cwd=cwd
    )
    return done.stdout.split()


def test_importing_the_plugin_module_imports_no_checking_machinery(tmp_path: Path) -> None:
    assert _imported_after("import pytest_torghut_rollout.plugin", tmp_path) == []


def test_the_first_use_of_a_public_name_imports_what_it_needs(tmp_path: Path) -> None:
    imported = _imported_after("from pytest_torghut_rollout import REGISTRY", tmp_path)
    assert "pydantic" in imported  # the rules build on the contract
    assert set(imported) <= set(HEAVY_MODULES)


def test_every_public_name_is_the_object_of_its_home_module() -> None:
    homes = {
        "REGISTRY": rules.REGISTRY,
        "Artifact": model.Artifact,
        "CheckContext": rules.CheckContext,
        "Finding": model.Finding,
        "Rule": rules.Rule,
        "Severity": model.Severity,
        "TorghutAdvisoryWarning": items.TorghutAdvisoryWarning,
        "TorghutWaiverWarning": items.TorghutWaiverWarning,
        "check_artifact": rules.check_artifact,
    }
    for name, home in homes.items():
        assert getattr(pytest_torghut_rollout, name) is home, name

    assert set(pytest_torghut_rollout.__all__) == {*homes, "__version__"}
    assert isinstance(pytest_torghut_rollout.__version__, str)
    assert set(pytest_torghut_rollout.__all__) <= set(dir(pytest_torghut_rollout))


def test_an_unknown_name_is_an_attribute_error() -> None:
    with pytest.raises(AttributeError, match="has no attribute 'NoSuchName'"):
        _ = pytest_torghut_rollout.NoSuchName


def test_the_strategies_keep_their_documented_import_path() -> None:
    from pytest_torghut_rollout import strategies
    from pytest_torghut_rollout.testing import strategies as home

    assert strategies.__all__ == home.__all__
    for name in home.__all__:
        assert getattr(strategies, name) is getattr(home, name), name
