"""The one rule of what may stand in a `frame-ancestors` directive as a site allowed to
frame our pages: the header's filter (config/content_security.py) and the validation of
the sites a business lists (apps/accounts/embed_origins.py) both ask `frame_ancestor_valid`,
so a site the settings page saves is never dropped from the header afterwards.

An origin, lower case, no path, no default port, no trailing slash:
- `https://` and a host name (labels of letters, digits and inner hyphens) or an IPv4
  address, and an optional port;
- `http://` only on the visitor's own machine (`localhost`, `….localhost`, `127.0.0.1`),
  for a web designer trying a site locally.
No wildcard (`*.example.com` would let anyone under a public suffix such as `co.uk` or
`github.io` frame the pages, and nothing here knows the public suffixes), no IPv6
literal (CSP's source grammar has none: browsers ignore it), and nothing else: a space
or `;` in the header would add sources or directives.
"""

from __future__ import annotations

import re

_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# 1 to 65535, no leading zero.
_PORT = (
    r"(?::(?:6553[0-5]|655[0-2][0-9]|65[0-4][0-9]{2}|6[0-4][0-9]{3}"
    r"|[1-5][0-9]{4}|[1-9][0-9]{0,3}))?"
)
_ORIGIN = re.compile(
    rf"https://{_LABEL}(?:\.{_LABEL})*{_PORT}"
    rf"|http://(?:(?:{_LABEL}\.)*localhost|127\.0\.0\.1){_PORT}"
)


def frame_ancestor_valid(origin: str) -> bool:
    """Whether `origin`, exactly as given, may be named in `frame-ancestors`."""
    return _ORIGIN.fullmatch(origin) is not None
