"""The layer contracts of pyproject.toml ([tool.importlinter]) hold, and they bite: an
import that points up, one adapter leaning on another, the kernel or a domain app
reaching into the configuration, or a task module imported instead of sent by name
breaks `make lint`.

Each probe is a package of its own, written into the tree for one run of the linter and
removed afterwards, so no real module is ever touched."""

from __future__ import annotations

import shutil
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def _lint() -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache"], cwd=ROOT, capture_output=True, text=True, check=False
    )


@pytest.fixture
def probe() -> Iterator[Callable[[str, str, str], str]]:
    """probe(app, module, imports) writes apps/<app>/_probe_<id>/<module>.py importing
    `imports`; returns the probe module's dotted name."""
    made: list[Path] = []

    def write(app: str, module: str, imports: str) -> str:
        package = ROOT / "apps" / app / f"_probe_{uuid.uuid4().hex[:8]}"
        package.mkdir()
        made.append(package)
        (package / "__init__.py").write_text("")
        (package / f"{module}.py").write_text(f"import {imports}  # noqa: F401\n")
        return f"apps.{app}.{package.name}.{module}"

    yield write
    for package in made:
        shutil.rmtree(package, ignore_errors=True)


def test_import_contracts_are_kept_by_the_tree():
    result = _lint()

    assert result.returncode == 0, result.stdout + result.stderr
    assert "0 broken" in result.stdout


@pytest.mark.parametrize(
    ("app", "module", "imports", "contract"),
    [
        # a domain app asking an app above it
        ("accounts", "probe", "apps.bookings.models", "Adapters above the domain"),
        # the kernel reaching into a domain app
        ("core", "probe", "apps.accounts.models", "Adapters above the domain"),
        # a domain app importing a screen
        ("bookings", "probe", "apps.dashboard.access", "Adapters above the domain"),
        # the two sibling adapters, and the customer pages leaning on the API
        ("booking_site", "probe", "apps.dashboard.access", "Adapters above the domain"),
        ("booking_site", "probe", "apps.api.throttles", "do not lean on each other"),
        # a domain app reaching into the configuration beyond Celery and the request id
        ("bookings", "probe", "config.urls_tenant", "use only the Celery app"),
        ("notifications", "probe", "config.health", "use only the Celery app"),
        # the kernel reaching into the configuration at all
        ("core", "probe", "config.request_id", "The kernel stands alone"),
        # a service, or any other module, importing a task module
        ("billing", "services", "apps.calendars.tasks", "enqueues tasks by name"),
        ("calendars", "probe", "apps.calendars.tasks", "enqueues tasks by name"),
    ],
)
def test_import_contracts_break_on_an_import_that_points_the_wrong_way(
    probe, app, module, imports, contract
):
    # given a module that imports across a contract
    name = probe(app, module, imports)

    # when the linter runs
    result = _lint()

    # then it fails and names the contract and the import
    assert result.returncode != 0
    assert contract in result.stdout
    assert "BROKEN" in result.stdout
    assert name in result.stdout
