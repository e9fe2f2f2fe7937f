"""The Content-Security-Policy (config/content_security.py): every kind of page carries a
policy that runs no inline script, and no template brings inline script back."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from pathlib import Path

import pytest
from django.conf import settings
from django.http import HttpRequest
from django.test import Client, override_settings

from apps.accounts.models import Membership, Tenant
from tests.plugins.factories import MembershipFactory, member_client

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"


def _policy(response: object) -> dict[str, list[str]]:
    header = response["Content-Security-Policy"]  # type: ignore[index]
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def _assert_strict(response: object) -> dict[str, list[str]]:
    policy = _policy(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["object-src"] == ["'none'"]
    assert policy["base-uri"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    return policy


def _html_checks(html: str, policy: dict[str, list[str]]) -> None:
    """No inline script in the page, its <style> carries the header's nonce, and htmx
    (when the page loads it) is told not to eval nor inject styles."""
    for tag in re.findall(r"<script\b[^>]*>", html):
        assert "src=" in tag, tag
    signed = [source for source in policy.get("style-src", []) if source.startswith("'nonce-")]
    nonces = {source.removeprefix("'nonce-").removesuffix("'") for source in signed}
    for tag in re.findall(r"<style\b[^>]*>", html):
        found = re.search(r'nonce="([^"]+)"', tag)
        assert found is not None and found.group(1) in nonces, (tag, nonces)
    if "htmx.min.js" in html:
        first = re.search(r"<meta name=\"htmx-config\" content='([^']*)'>", html)
        assert first is not None
        config = json.loads(first.group(1))
        assert config["allowEval"] is False
        assert config["includeIndicatorStyles"] is False


def _dashboard_client() -> Client:
    membership = MembershipFactory.create(
        tenant=Tenant.objects.get(slug="acme"), role=Membership.Role.ADMIN
    )
    return member_client(membership, "acme.localhost")


@pytest.mark.parametrize(
    ("host", "path"),
    [
        ("localhost", "/"),  # landing
        ("localhost", "/signup/"),
        ("localhost", "/accounts/login/"),
        ("localhost", "/admin/login/"),
        ("acme.localhost", "/"),  # a business's booking page
        ("acme.localhost", "/accounts/login/"),
        ("acme.localhost", "/admin/login/"),
        ("acme.localhost", "/no-such-page/"),  # 404
        ("nobody.localhost", "/"),  # the tenant middleware's unknown-host page
    ],
)
def test_every_page_type_carries_a_policy_without_inline_script(host, path):
    response = Client(HTTP_HOST=host).get(path)

    assert response.status_code in (200, 404)
    policy = _assert_strict(response)
    if host != "nobody.localhost":  # answered before Django's clickjacking middleware
        assert response["X-Frame-Options"] == "DENY"
    _html_checks(response.content.decode(), policy)


def test_the_dashboard_carries_the_strict_policy():
    response = _dashboard_client().get("/dashboard/")

    assert response.status_code == 200
    policy = _assert_strict(response)
    assert "style-src-attr" not in policy  # style attributes stay blocked here
    _html_checks(response.content.decode(), policy)


def test_a_business_page_accent_style_carries_the_requests_nonce():
    first = Client(HTTP_HOST="acme.localhost").get("/")
    second = Client(HTTP_HOST="acme.localhost").get("/")

    assert "<style nonce=" in first.content.decode()
    nonce_of = [
        [s for s in _policy(r)["style-src"] if s.startswith("'nonce-")] for r in (first, second)
    ]
    assert len(nonce_of[0]) == 1 and nonce_of[0] != nonce_of[1]  # one per response
    assert "'unsafe-inline'" not in _policy(first)["style-src"]


def test_htmx_restoring_history_gets_the_page_without_the_signed_style():
    # htmx parses the whole page and keeps the body; a <style> signed with this
    # response's nonce would be reported against the document's own policy
    response = Client(HTTP_HOST="acme.localhost").get(
        "/", HTTP_HX_REQUEST="true", HTTP_HX_HISTORY_RESTORE_REQUEST="true"
    )

    assert response.status_code == 200
    assert "<style" not in response.content.decode()


def test_only_the_calendar_allows_style_attributes():
    client = _dashboard_client()

    calendar = client.get("/dashboard/calendar/")
    partial = client.get("/dashboard/calendar/?view=week", HTTP_HX_REQUEST="true")

    for response in (calendar, partial):
        assert response.status_code == 200
        policy = _assert_strict(response)
        assert policy["style-src-attr"] == ["'unsafe-inline'"]
        assert "'unsafe-inline'" not in policy["style-src"]


def test_admin_pages_allow_inline_styles_but_never_inline_script():
    response = Client(HTTP_HOST="localhost").get("/admin/login/")

    policy = _assert_strict(response)
    assert policy["style-src"] == ["'self'", "'unsafe-inline'"]  # a nonce would void it


def test_api_docs_load_their_start_up_script_from_a_url():
    page = Client(HTTP_HOST="acme.localhost").get("/api/docs/")
    script = Client(HTTP_HOST="acme.localhost").get("/api/docs/?script")

    policy = _assert_strict(page)
    for tag in re.findall(r"<script\b[^>]*>", page.content.decode()):
        assert "src=" in tag, tag
    assert "SwaggerUIBundle" in script.content.decode()
    assert "'unsafe-inline'" in policy["style-src"]


def partner_origins(request: HttpRequest) -> Sequence[str]:
    """FRAME_ANCESTORS_FUNCTION for the test below: acme names origins, some malformed."""
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.slug != "acme":
        return ()
    return [
        "https://Partner.example/",
        "https://evil.example; script-src *",
        "http://plain.example",
        "https://*.example",
    ]


@override_settings(FRAME_ANCESTORS_FUNCTION="tests.test_content_security.partner_origins")
def test_a_business_may_be_framed_only_by_the_https_origins_it_names():
    acme = Client(HTTP_HOST="acme.localhost").get("/")
    globex = Client(HTTP_HOST="globex.localhost").get("/")

    assert _policy(acme)["frame-ancestors"] == ["https://partner.example"]
    assert _policy(acme)["script-src"] == ["'self'"]
    assert "X-Frame-Options" not in acme
    assert _policy(globex)["frame-ancestors"] == ["'none'"]
    assert globex["X-Frame-Options"] == "DENY"


# --- Templates ------------------------------------------------------------------------

# Style attributes are allowed where the policy allows them: the calendar (its own
# documents), the admin (inline styles allowed there) and emails (not pages).
STYLE_ATTRIBUTES_ALLOWED = ("dashboard/_calendar.html", "admin/", "emails/")

_TAG = re.compile(r"<[a-zA-Z][^>]*>")
_HANDLER = re.compile(r"\s(on[a-z]+|hx-on[:\-][^\s=]*)\s*=", re.IGNORECASE)
_INLINE_SCRIPT = re.compile(r"<script\b(?![^>]*\ssrc=)(?![^>]*type=\"application/json\")")
_STYLE_ELEMENT = re.compile(r"<style\b(?![^>]*\snonce=)")
_STYLE_ATTRIBUTE = re.compile(r"\sstyle\s*=")


def csp_offences(name: str, text: str) -> list[str]:
    """What in one template the Content-Security-Policy would block."""
    found = []
    if _INLINE_SCRIPT.search(text):
        found.append(f"{name}: inline <script> (move it to static/js/)")
    if "javascript:" in text:
        found.append(f"{name}: javascript: URL")
    for tag in _TAG.findall(text):
        handler = _HANDLER.search(tag)
        if handler:
            found.append(f"{name}: inline handler {handler.group(1)}= (use static/js/)")
        if _STYLE_ATTRIBUTE.search(tag) and not name.startswith(STYLE_ATTRIBUTES_ALLOWED):
            found.append(f"{name}: style= attribute (use a class in static/css/)")
    if _STYLE_ELEMENT.search(text):
        found.append(f"{name}: <style> without the request's nonce (use static/css/)")
    return found


def test_the_scan_catches_what_the_policy_blocks():
    assert csp_offences("a.html", "<script>alert(1)</script>")
    assert csp_offences("a.html", '<button type="button" onclick="go()">')
    assert csp_offences("a.html", '<form\n  onsubmit="return x()">')
    assert csp_offences("a.html", '<div hx-on:click="alert(1)">')
    assert csp_offences("a.html", '<a href="javascript:void(0)">')
    assert csp_offences("a.html", '<p style="color:red">')
    assert csp_offences("a.html", "<style>p { color: red }</style>")
    assert not csp_offences("a.html", '<script src="/static/js/booking.js" defer></script>')
    assert not csp_offences("a.html", '<script id="d" type="application/json">{}</script>')
    assert not csp_offences("a.html", '<style nonce="{{ request.csp_nonce }}">p {}</style>')
    assert not csp_offences("a.html", "<p>Questions? Call us on=the phone</p>")
    assert not csp_offences("emails/a.html", '<p style="margin:0">')


def test_no_template_has_inline_script_handlers_or_unsigned_styles():
    offences = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        offences += csp_offences(str(path.relative_to(TEMPLATES)), path.read_text())

    assert not offences, "\n".join(offences)


def test_redoc_loads_no_fonts_from_elsewhere():
    page = Client(HTTP_HOST="acme.localhost").get("/api/redoc/").content.decode()

    assert "fonts.googleapis.com" not in page and "fonts.gstatic.com" not in page
    assert "redoc.standalone.js" in page
