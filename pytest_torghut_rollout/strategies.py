"""Hypothesis strategies for torghut artifacts; they live in ``pytest_torghut_rollout.testing.strategies``.

This module keeps the documented import path working: ``from pytest_torghut_rollout.strategies
import manifests``.
"""

from __future__ import annotations

from .testing.strategies import *  # noqa: F403
from .testing.strategies import __all__ as __all__
