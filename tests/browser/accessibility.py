"""Automated accessibility scan with axe-core (vendored: tests/browser/vendor/axe.min.js,
version 4.14, MPL-2.0)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from playwright.sync_api import Page

AXE = Path(__file__).resolve().parent / "vendor" / "axe.min.js"
BLOCKING = {"serious", "critical"}


def axe_violations(page: Page) -> list[dict[str, Any]]:
    # Evaluated through the browser's debugging protocol, which the pages' Content-
    # Security-Policy does not govern (an added <script> tag would be inline script).
    page.evaluate(AXE.read_text())
    result = page.evaluate(
        "async (tags) => await axe.run(document, {runOnly: {type: 'tag', values: tags}})",
        ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"],
    )
    return list(result["violations"])


def assert_accessible(page: Page) -> None:
    """No serious or critical axe violations on the current page."""
    blocking = [v for v in axe_violations(page) if v.get("impact") in BLOCKING]
    summary = [
        f"{v['id']} ({v['impact']}): {v['help']} — "
        + "; ".join(node["target"][0] for node in v["nodes"][:3])
        for v in blocking
    ]
    assert not blocking, f"{page.url}: " + " | ".join(summary)
