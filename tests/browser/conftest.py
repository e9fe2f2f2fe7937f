"""Browser tests: pytest-playwright driving Debian's Chromium against a live server.

The live server needs committed data, so these tests use a transactional database.
Its flush truncates only public tables (tenant rows vanish, tenant schemas stay), so
`live_tenants` puts the public tenant and the test tenants back before each test.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from apps.accounts.provisioning import public_tenant_ensure
from tests.plugins.database import ensure_test_tenants

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "args": [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def live_tenants(live_server: Any, transactional_db: None) -> dict[str, Any]:
    public_tenant_ensure()
    tenants = ensure_test_tenants()
    port = live_server.thread.port
    return {
        "root": f"http://localhost:{port}",
        "acme": f"http://acme.localhost:{port}",
        "globex": f"http://globex.localhost:{port}",
        "tenants": tenants,
    }


@pytest.fixture
def screenshot_dir() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS
