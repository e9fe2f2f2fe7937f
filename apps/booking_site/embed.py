"""The booking pages inside a frame on the business's own website (the embeddable
widget, `static/js/embed.js`).

    /embed/                                 the services, as on `/`
    /embed/book/<service>/…, /embed/hold/…  every step of the flow, as without /embed/

Each embedded page is the same view as the page without the prefix, wrapped by
`embedded`: while it renders, the URL map in force is `config.urls_embed`, in which
"home" and the "booking" names point under /embed/, so every link, form and redirect
the flow builds stays in the frame without the templates knowing.

Framing: the embedded pages (only they) name the business's listed sites
(`Tenant.embed_origins`) in `frame-ancestors` (`embed_frame_ancestors` is
FRAME_ANCESTORS_FUNCTION); every other page keeps `'none'` and X-Frame-Options DENY.
No site listed, or a frame on a site that is not listed: a page that says so, which the
site asking may show (it carries nothing to click but a link out), instead of a
browser's blank refusal.

No cookies: in a frame on another site the browser keeps (or is told to keep) cookies
of the booking site out, so neither the session nor the CSRF cookie exists there. The
flow already keeps its state in URLs and forms (the time zone, the chosen time, the
idempotency key, the booking's signed token). The POSTs are protected without the CSRF
cookie (ARCHITECTURE.md "The embeddable widget" says why this is enough):
- every POST must come from a page of this origin (`Sec-Fetch-Site`, else `Origin`);
- the details form, which holds a time and names no booking, carries a signed token
  bound to the business, the service and the form's idempotency key, valid for
  FORM_TOKEN_MAX_AGE (`embed_form_token`);
- the later POSTs (confirm, let go, pay, cancel, reschedule) name the booking by its
  signed token in the URL, which only the person who held it has.
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.core import signing
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import set_urlconf
from django.utils.cache import add_never_cache_headers
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt

from apps.accounts.embed_origins import (
    EmbedOriginInvalid,
    embed_origin_allowed,
    embed_origin_normalize,
)
from apps.accounts.selectors import tenant_current
from apps.core.tenancy import current_schema

logger = logging.getLogger(__name__)

EMBED_PREFIX = "/embed/"
# The URL map while an embedded page renders (names as the tenant's, paths under /embed/).
EMBED_URLCONF = "config.urls_embed"
REFUSED_TEMPLATE = "booking_site/embed_refused.html"
FORM_SALT = "timenest.booking-site.embed-form"
# Long enough to type one's details at leisure; an older form comes back with what was
# typed and a fresh token.
FORM_TOKEN_MAX_AGE = dt.timedelta(hours=2)
FRAME_DESTINATIONS = {"iframe", "frame"}


@dataclass(frozen=True)
class Embed:
    """An embedded page's request: the sites the business lists."""

    origins: tuple[str, ...]


def embed_of(request: HttpRequest) -> Embed | None:
    """The request's embedding, or None for the pages outside a frame."""
    embed = getattr(request, "booking_embed", None)
    return embed if isinstance(embed, Embed) else None


# --- Framing -------------------------------------------------------------------------


def embed_frame_ancestors(request: HttpRequest) -> list[str]:
    """FRAME_ANCESTORS_FUNCTION: the business's listed sites for its embedded pages; for
    the page refusing a site that is not listed, that site alone (so it can show why);
    nobody anywhere else."""
    if not request.path_info.startswith(EMBED_PREFIX):
        return []
    refused = getattr(request, "booking_embed_refused", None)
    if isinstance(refused, str):
        return [refused]
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.schema_name == "public":
        return []
    return list(getattr(tenant, "embed_origins", None) or [])


def _framing_origin(request: HttpRequest) -> str | None:
    """The origin of the page putting this request in a frame, when the browser says it
    is one (Sec-Fetch-Dest) from another site and names the page (Referer); None for a
    page opened directly, a frame moving on within the booking pages, or a browser that
    does not say."""
    if request.headers.get("Sec-Fetch-Dest", "") not in FRAME_DESTINATIONS:
        return None
    if request.headers.get("Sec-Fetch-Site", "") not in ("cross-site", "same-site"):
        return None
    referer = urlsplit(request.headers.get("Referer", ""))
    if not referer.scheme or not referer.netloc:
        return None
    try:
        return embed_origin_normalize(f"{referer.scheme}://{referer.netloc}")
    except EmbedOriginInvalid:
        return None


def _cross_site_post(request: HttpRequest) -> bool:
    """Whether this POST comes from a page outside the booking site. Browsers say so in
    Sec-Fetch-Site (older ones only in Origin); a client that sends neither is no
    browser, so no one's cookies or standing ride on it."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site not in ("same-origin", "none")
    origin = request.headers.get("Origin")
    if origin is None:
        return False
    return urlsplit(origin).netloc.lower() != request.get_host().lower()


def _refused(
    request: HttpRequest, *, reason: str, site: str | None, status: int = 403
) -> HttpResponse:
    tenant = tenant_current()
    if site is not None:
        request.booking_embed_refused = site  # type: ignore[attr-defined]
    logger.info("booking_embed.refused", extra={"reason": reason, "site": (site or "")[:200]})
    response = render(
        request,
        REFUSED_TEMPLATE,
        {
            "reason": reason,
            "site": site,
            "tenant_name": tenant.name,
            "page_title": _("This booking page cannot be shown here"),
        },
        status=status,
    )
    # It depends on who asked (Sec-Fetch-*, Referer): never to be reused for another.
    add_never_cache_headers(response)
    return response


def embedded(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """A customer page in embed mode (see the module's docstring). CSRF's cookie check
    is replaced, not dropped: same-origin POSTs only, and the tokens above."""

    @functools.wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        origins = tuple(tenant_current().embed_origins)
        parent = _framing_origin(request)
        if not origins:
            return _refused(request, reason="none_listed", site=parent)
        if parent is not None and not embed_origin_allowed(origins=origins, origin=parent):
            return _refused(request, reason="not_listed", site=parent)
        if request.method not in ("GET", "HEAD", "OPTIONS") and _cross_site_post(request):
            return _refused(request, reason="cross_site_post", site=None)
        request.booking_embed = Embed(origins=origins)  # type: ignore[attr-defined]
        set_urlconf(EMBED_URLCONF)
        return view(request, *args, **kwargs)

    return csrf_exempt(wrapper)


# --- The details form's token ---------------------------------------------------------


def embed_form_token(*, service_id: str, key: str) -> str:
    """The signed token of one details form: this business, this service, this form."""
    return signing.dumps(
        {"schema": current_schema(), "service": service_id, "key": key}, salt=FORM_SALT
    )


def embed_form_problem(request: HttpRequest, *, service_id: str) -> str | None:
    """Why the posted details form may not hold a time (a message for the page), or None
    when its token is this business's, this service's and this form's, and fresh."""
    token = request.POST.get("embed_token", "")
    try:
        claims = signing.loads(token, salt=FORM_SALT, max_age=FORM_TOKEN_MAX_AGE)
    except signing.SignatureExpired:
        logger.info("booking_embed.form_expired")
        return _("This form was open for too long. Check your details and send it again.")
    except signing.BadSignature:
        logger.warning("booking_embed.form_token_invalid")
        return _("This form could not be checked. Check your details and send it again.")
    expected = {
        "schema": current_schema(),
        "service": service_id,
        "key": request.POST.get("idempotency_key", ""),
    }
    if not isinstance(claims, dict) or claims != expected:
        logger.warning("booking_embed.form_token_mismatch")
        return _("This form could not be checked. Check your details and send it again.")
    return None
