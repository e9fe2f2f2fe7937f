"""The websites a business lets show its booking pages in a frame (the embeddable
widget): each an origin (scheme, host, optional port), kept normalized in
`Tenant.embed_origins`, sent as the booking frames' `frame-ancestors`.

What may be listed: `https://` origins, each one exact site, and `http://` only on the
visitor's own machine (`localhost`, `….localhost`, `127.0.0.1`), for a web designer
trying the snippet locally. No wildcard: `https://*.co.uk` or `https://*.github.io`
would let anyone under a public suffix frame the pages, and no list of public suffixes
is at hand to tell those from a business's own domain; a business lists its few sites
one by one. No path, query or user name: a frame ancestor is an origin, and anything
else in the header would widen it. What is accepted is exactly what the header lets
through (`apps.core.frame_ancestors.frame_ancestor_valid`, checked last), so a saved
site is never dropped from `frame-ancestors`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from urllib.parse import urlsplit

from django.db import transaction
from django.utils.translation import gettext as _

from apps.accounts.models import Tenant
from apps.core.errors import FieldError, ValidationFailed
from apps.core.frame_ancestors import frame_ancestor_valid

logger = logging.getLogger(__name__)

EMBED_ORIGINS_MAX = 10
FIELD = "embed_origins"

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_LOOPBACK_HOSTS = {"localhost", "127.0.0.1"}
_DEFAULT_PORTS = {"https": 443, "http": 80}


class EmbedOriginInvalid(ValueError):
    """A value that is not an origin the widget may be shown on (the message says why)."""


def _is_loopback(host: str) -> bool:
    return host in _LOOPBACK_HOSTS or host.endswith(".localhost")


def embed_origin_normalize(value: str) -> str:
    """`value` as the origin it names (`https://shop.example.com`, lower case, no default
    port, no trailing slash), or EmbedOriginInvalid."""
    text = value.strip()
    if not text:
        raise EmbedOriginInvalid(_("Enter an address such as https://www.example.com."))
    if any(ch.isspace() for ch in text) or any(ch in text for ch in ";,'\""):
        raise EmbedOriginInvalid(_("Enter one address per line, without spaces or commas."))
    if "*" in text:
        raise EmbedOriginInvalid(
            _(
                "Wildcards (*) are not accepted: list each website exactly, "
                "as in https://www.example.com."
            )
        )
    try:
        parts = urlsplit(text if "://" in text else f"https://{text}")
    except ValueError:  # an unbalanced [ or ]
        raise EmbedOriginInvalid(_("That is not a valid host name.")) from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise EmbedOriginInvalid(_("The address must start with https://."))
    if parts.username is not None or parts.password is not None:
        raise EmbedOriginInvalid(_("The address may not hold a user name or password."))
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise EmbedOriginInvalid(
            _("Enter the site only (https://www.example.com), without a page's path.")
        )
    try:
        port = parts.port
    except ValueError:
        port = 0
    if port == 0:
        raise EmbedOriginInvalid(_("The port must be a number from 1 to 65535."))
    host = parts.hostname or ""
    if ":" in host:
        raise EmbedOriginInvalid(
            _("An IPv6 address cannot be listed: use the site's name (or localhost).")
        )
    try:
        host = host if host.isascii() else host.encode("idna").decode("ascii")
    except UnicodeError:
        raise EmbedOriginInvalid(_("That is not a valid host name.")) from None
    if not _HOST.fullmatch(host):
        raise EmbedOriginInvalid(_("That is not a valid host name."))
    if scheme == "http" and not _is_loopback(host):
        raise EmbedOriginInvalid(
            _("The address must start with https:// (http:// only for localhost).")
        )
    origin = f"{scheme}://{host}"
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        origin = f"{origin}:{port}"
    if not frame_ancestor_valid(origin):
        # The header would drop it: refused here rather than saved and silently unused.
        raise EmbedOriginInvalid(_("That address cannot be allowed to show your booking pages."))
    return origin


def embed_origins_clean(values: Iterable[str]) -> list[str]:
    """The normalized origins, in the order given, duplicates dropped; ValidationFailed
    naming each value that is not one, or too many."""
    origins: list[str] = []
    errors: list[FieldError] = []
    for value in values:
        if not value.strip():
            continue
        try:
            origin = embed_origin_normalize(value)
        except EmbedOriginInvalid as error:
            errors.append(FieldError(FIELD, f"{value.strip()[:100]}: {error}"))
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > EMBED_ORIGINS_MAX:
        errors.append(
            FieldError(
                FIELD,
                _("List at most %(count)d sites.") % {"count": EMBED_ORIGINS_MAX},
            )
        )
    if errors:
        raise ValidationFailed(_("Please correct the list of sites."), errors)
    return origins


def embed_origin_allowed(*, origins: Iterable[str], origin: str) -> bool:
    """Whether `origin` (a browser's, e.g. from Origin or Referer) is one of the listed
    `origins` (each an exact site, as CSP matches it)."""
    try:
        wanted = embed_origin_normalize(origin)
    except EmbedOriginInvalid:
        return False
    return wanted in origins


def tenant_embed_origins_update(*, tenant: Tenant, values: Iterable[str]) -> list[str]:
    """Replaces the business's list of sites; returns it normalized. A value that is not
    an origin changes nothing (ValidationFailed naming it)."""
    origins = embed_origins_clean(values)
    if origins == list(tenant.embed_origins):
        return origins
    with transaction.atomic():
        locked = Tenant.objects.select_for_update().get(pk=tenant.pk)
        locked.embed_origins = origins
        locked.save(update_fields=["embed_origins", "updated_at"])
    tenant.embed_origins = origins
    logger.info(
        "tenant.embed_origins_changed", extra={"tenant": tenant.slug, "count": len(origins)}
    )
    return origins
