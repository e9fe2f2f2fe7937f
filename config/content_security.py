"""Content-Security-Policy on every response (django-csp), with the few places that need
more than the strict policy of `CONTENT_SECURITY_POLICY` (config/settings/base.py).

The strict policy: scripts only from our own origin (no inline script, no eval: htmx is
told `allowEval: false` in base.html), style sheets from our own origin plus the one
`<style>` a page may carry with the request's nonce (a business's accent colours), no
style attributes, no plugins, no `<base>`, and no framing.

Wider, by path:
- the admin sites (`/admin/`): Django's and dj-stripe's admin templates carry inline
  `<style>` elements and style attributes, so styles may be inline there; scripts stay
  strict (dj-stripe's inline "spinner" script on a few confirmation pages does not run,
  and nothing else depends on it);
- the API's docs (`/api/docs/`, `/api/redoc/`): Swagger UI's page and ReDoc put their
  styles inline and draw icons from data: URLs, and ReDoc searches in a worker it starts
  from a blob: URL (ReDoc's Google fonts stay blocked: no CDN).
The dashboard's calendar adds style attributes for its own responses only
(apps/dashboard/bookings/views.py: a booking's place in the grid is computed).

Framing: `frame-ancestors 'none'` unless FRAME_ANCESTORS_FUNCTION (a dotted path to a
callable taking the request) names origins for the request's business: the booking
pages under /embed/ name the sites the business lists (apps/booking_site/embed.py), no
other page any. When it does, X-Frame-Options (which cannot name origins) is dropped.
Only origins `apps.core.frame_ancestors.frame_ancestor_valid` allows reach the header:
the same rule the business's list is validated by (apps/accounts/embed_origins.py).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from csp.constants import UNSAFE_INLINE
from csp.middleware import CSPMiddleware, PolicyParts
from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.utils.module_loading import import_string

from apps.core.frame_ancestors import frame_ancestor_valid

logger = logging.getLogger(__name__)

BLOB = "blob:"

# Prefixes of request paths whose responses get wider sources (replacing the setting's
# directive of the same name).
WIDER_BY_PREFIX: dict[str, dict[str, list[str]]] = {
    "/admin/": {"style-src": ["'self'", UNSAFE_INLINE]},
    "/api/docs/": {"style-src": ["'self'", UNSAFE_INLINE], "img-src": ["'self'", "data:"]},
    "/api/redoc/": {
        "style-src": ["'self'", UNSAFE_INLINE],
        "img-src": ["'self'", "data:"],
        "worker-src": ["'self'", BLOB],
    },
}


def frame_ancestors_none(request: HttpRequest) -> Sequence[str]:
    """A FRAME_ANCESTORS_FUNCTION for a deployment where nothing may be framed."""
    return ()


def frame_ancestors(request: HttpRequest) -> list[str]:
    """The origins allowed to frame this response, as FRAME_ANCESTORS_FUNCTION names them;
    values that are not an origin `frame_ancestor_valid` allows (the rule the business's
    list is validated by) are left out (and logged)."""
    path = getattr(settings, "FRAME_ANCESTORS_FUNCTION", "")
    if not path:
        return []
    named = import_string(path)(request)
    allowed = []
    for origin in named:
        value = str(origin).strip().lower().rstrip("/")
        if frame_ancestor_valid(value):
            allowed.append(value)
        else:
            logger.warning("csp.frame_ancestor_refused", extra={"origin": str(origin)[:200]})
    return allowed


class ContentSecurityPolicyMiddleware(CSPMiddleware):
    def get_policy_parts(
        self,
        request: HttpRequest,
        response: HttpResponseBase,
        report_only: bool = False,
    ) -> PolicyParts:
        parts = super().get_policy_parts(request, response, report_only)
        if report_only:
            return parts
        replace = dict(parts.replace or {})
        for prefix, wider in WIDER_BY_PREFIX.items():
            if request.path_info.startswith(prefix):
                replace = {**wider, **replace}
        origins = getattr(request, "_frame_ancestors", None)
        if origins:
            replace["frame-ancestors"] = origins
        parts.replace = replace or None
        return parts

    def process_response(
        self, request: HttpRequest, response: HttpResponseBase
    ) -> HttpResponseBase:
        origins = frame_ancestors(request)
        request._frame_ancestors = origins  # type: ignore[attr-defined]
        response = super().process_response(request, response)
        if origins:
            del response["X-Frame-Options"]
        return response
