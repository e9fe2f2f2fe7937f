"""Browser tests: pytest-playwright driving Debian's Chromium against a live server.

The live server needs committed data, so these tests use a transactional database.
Its flush truncates only public tables (tenant rows vanish, tenant schemas stay), so
`live_tenants` puts the public tenant and the test tenants back before each test.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, ConsoleMessage

from apps.accounts.provisioning import public_tenant_ensure
from tests.booking_site.catalogue import generous_rates
from tests.plugins.database import ensure_test_tenants

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@pytest.fixture(autouse=True)
def _roomy_rate_limits(settings: Any) -> None:
    """A browser makes every request of every test from one address, many a page (htmx
    partials, assets the live server routes): the per-client limits have tests of their
    own, which set the rates they test."""
    settings.REST_FRAMEWORK = generous_rates()


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


@pytest.fixture(autouse=True)
def content_security_violations(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[str]]:
    """Fails the test when a page it opened reports a Content-Security-Policy violation
    in the console: every browser context (the `page` fixture's and those tests make
    with `browser.new_context`) listens."""
    violations: list[str] = []
    new_context = Browser.new_context

    def listen(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            violations.append(f"{message.page.url if message.page else '?'}: {message.text}")

    def new_context_listening(self: Browser, *args: Any, **kwargs: Any) -> BrowserContext:
        context = new_context(self, *args, **kwargs)
        context.on("console", listen)
        return context

    monkeypatch.setattr(Browser, "new_context", new_context_listening)
    yield violations
    assert not violations, "Content-Security-Policy violations:\n" + "\n".join(violations)
