"""Plugin: what the markers mean for a run.

- `measurement`: prints figures for the team's notes and takes minutes; skipped unless
  TIMENEST_MEASURE=1 (`make measure`).
- `slow`: every test marked `browser` or `worker` is slow too, so one expression leaves
  all of them out: `pytest -m "not slow"` (README, "Running tests").
"""

from __future__ import annotations

import os

import pytest

SLOW_KINDS = ("browser", "worker")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Browser and worker tests count as slow; measurements are skipped unless asked."""
    for item in items:
        if any(item.get_closest_marker(kind) for kind in SLOW_KINDS):
            item.add_marker(pytest.mark.slow)
    if os.environ.get("TIMENEST_MEASURE") == "1":
        return
    skip = pytest.mark.skip(reason="a measurement: run it with `make measure`")
    for item in items:
        if item.get_closest_marker("measurement"):
            item.add_marker(skip)
