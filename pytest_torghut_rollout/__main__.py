"""``python -m pytest_torghut_rollout``: the ``torghut-rollout`` command line."""

from __future__ import annotations

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
