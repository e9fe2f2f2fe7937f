"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, and they bite: an
import that points up, or one adapter leaning on another, breaks `make lint`."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.fixture
def probe_module() -> Iterator[Path]:
    """A module written into the tree for one run of the linter, removed afterwards."""
    paths: list[Path] = []

    def write(dotted: str, body: str) -> Path:
        path = ROOT / (dotted.replace(".", "/") + ".py")
        path.write_text(body)
        paths.append(path)
        return path

    yield write  # type: ignore[misc]
    for path in paths:
        path.unlink(missing_ok=True)


def test_import_contracts_are_kept_by_the_tree():
    result = _lint()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "imports", "contract"),
    [
        # a domain app asking an app above it
        ("apps.accounts._probe_up", "apps.bookings.models", "Adapters above the domain"),
        # the kernel reaching into a domain app
        ("apps.core._probe_up", "apps.accounts.models", "Adapters above the domain"),
        # a domain app importing a screen
        ("apps.bookings._probe_up", "apps.dashboard.access", "Adapters above the domain"),
        # the two sibling adapters
        ("apps.booking_site._probe_side", "apps.dashboard.access", "Adapters above the domain"),
        ("apps.booking_site._probe_api", "apps.api.throttles", "do not lean on each other"),
        # a service importing a task module (billing has no services module of its own yet)
        ("apps.billing.services", "apps.calendars.tasks", "enqueue tasks by name"),
    ],
)
def test_import_contracts_break_on_an_import_that_points_the_wrong_way(
    probe_module, module, imports, contract
):
    # given a module that imports across a contract
    probe_module(module, f"import {imports}  # noqa: F401\n")

    # when the linter runs
    result = _lint()

    # then it fails and names the contract and the import
    assert result.returncode != 0
    assert f"{contract}" in result.stdout
    assert "BROKEN" in result.stdout
    assert module in result.stdout
