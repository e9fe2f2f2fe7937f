"""Which URLs webhooks may be sent to: a guard against server-side request forgery.

An endpoint's URL is checked twice. When it is saved: http(s) only (https only unless
WEBHOOK_ALLOW_PLAIN_HTTP), no credentials in it, and a host that is not an IP literal or
name of a private network. When it is called: every address its host resolves to must be
public, and the request goes to the address that was checked (never to a second lookup,
which DNS rebinding could point elsewhere); redirects are not followed.

"Public" is `ipaddress`'s `is_global` (which excludes loopback, private ranges, link-local
and cloud metadata addresses such as 169.254.169.254, carrier-grade NAT, multicast and
reserved blocks). WEBHOOK_ALLOW_PRIVATE_ADDRESSES lifts the address rule for development
and tests, whose receivers listen on 127.0.0.1.
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import quote, urlsplit, urlunsplit

from django.conf import settings
from django.utils.translation import gettext

from apps.core.errors import FieldError, ValidationFailed
from apps.notifications.webhooks.errors import WebhookAddressRefused

URL_MAX_LENGTH = 2000
# Names that only ever mean this machine or a private network.
_PRIVATE_NAME_SUFFIXES = (".localhost", ".local", ".internal", ".localdomain", ".home.arpa")
IpAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
# Characters left as they are when a path or query is percent-encoded (RFC 3986).
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"
_QUERY_SAFE = _PATH_SAFE + "?"


@dataclass(frozen=True)
class WebhookTarget:
    url: str
    scheme: str
    host: str
    port: int


def _private_addresses_allowed() -> bool:
    return bool(getattr(settings, "WEBHOOK_ALLOW_PRIVATE_ADDRESSES", False))


def address_is_allowed(address: IpAddress) -> bool:
    if _private_addresses_allowed():
        return True
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global


def _refuse(message: str) -> ValidationFailed:
    return ValidationFailed(
        gettext("The webhook URL is not allowed."), [FieldError("url", message)]
    )


def webhook_target(url: str) -> WebhookTarget:
    """The URL split into what a request needs, or ValidationFailed (field `url`)."""
    text = (url or "").strip()
    if not text:
        raise _refuse("Enter the URL that should receive the events.")
    if len(text) > URL_MAX_LENGTH or not text.isprintable() or any(c.isspace() for c in text):
        raise _refuse(f"Enter a URL of at most {URL_MAX_LENGTH} characters, without spaces.")
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        raise _refuse("Enter a valid URL, e.g. https://example.com/webhooks.") from None
    scheme = parts.scheme.lower()
    allow_http = bool(getattr(settings, "WEBHOOK_ALLOW_PLAIN_HTTP", False))
    if scheme not in ("http", "https"):
        raise _refuse("Use an https:// URL.")
    if scheme == "http" and not allow_http:
        raise _refuse("Use an https:// URL: events carry customer details.")
    if parts.username is not None or parts.password is not None:
        raise _refuse("Leave credentials out of the URL; verify our signature instead.")
    host = (parts.hostname or "").rstrip(".").lower()
    try:
        # International names travel as punycode: headers and DNS are ASCII.
        host = host.encode("idna").decode("ascii")
    except UnicodeError:
        host = ""
    if not host:
        raise _refuse("Enter a valid URL, e.g. https://example.com/webhooks.")
    if port == 0:
        raise _refuse("Enter a valid port.")
    try:
        literal: IpAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None and not address_is_allowed(literal):
        raise _refuse("Use a public address: private, loopback and link-local ones are refused.")
    private_name = host == "localhost" or host.endswith(_PRIVATE_NAME_SUFFIXES) or "." not in host
    if literal is None and private_name and not _private_addresses_allowed():
        raise _refuse("Use a public host name.")
    # Stored canonical and ASCII: host lower-cased, path and query percent-encoded, no
    # fragment (it never reaches a server).
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc = f"{netloc}:{port}"
    path = quote(parts.path or "/", safe=_PATH_SAFE)
    query = quote(parts.query, safe=_QUERY_SAFE)
    cleaned = urlunsplit((scheme, netloc, path, query, ""))
    return WebhookTarget(
        url=cleaned, scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80)
    )


def webhook_url_clean(url: str) -> str:
    return webhook_target(url).url


def webhook_target_resolve(target: WebhookTarget) -> str:
    """The address to connect to: the first one the host resolves to, after checking that
    every one of them is allowed. Raises WebhookAddressRefused."""
    try:
        literal = ipaddress.ip_address(target.host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses: list[IpAddress] = [literal]
    else:
        try:
            infos = socket.getaddrinfo(target.host, target.port, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError) as exc:
            raise WebhookAddressRefused(f"The host name could not be resolved ({exc}).") from exc
        addresses = [ipaddress.ip_address(info[4][0]) for info in infos]
    if not addresses:
        raise WebhookAddressRefused("The host name has no address.")
    refused = [str(address) for address in addresses if not address_is_allowed(address)]
    if refused:
        raise WebhookAddressRefused(
            "The host resolves to an address webhooks may not reach: " + ", ".join(refused)
        )
    return str(addresses[0])
