"""Secrets that travel in URL paths, taken out of anything written to a log.

A customer's manage link carries the token that opens their booking
(`/manage/<token>/`, and the same token in `/hold/…` and `/booked/…`), and a staff
calendar feed's address is its own secret (`/calendar/feeds/<token>.ics`); so are a
signup's confirmation link (`/signup/confirm/<token>/`) and a password reset link
(`/accounts/reset/<uid>/<token>/`: the uid stays, the token goes). Request lines,
`Referer` headers, Django's "Not Found: /path" warnings and tracebacks would otherwise
copy them into log storage, where they outlive the link's purpose and reach everyone
who can read logs. The path stays readable; only the secret segment is replaced.

Used by the log formatters (config/logging.py) and gunicorn's access log
(config/gunicorn_logging.py). The prefixes must follow the URLconfs: the tests check
every tenant URL with a `token` argument against them.
"""

from __future__ import annotations

import re

REDACTED = "[REDACTED]"

_SLASH = r"(?:/|%2[Ff])"  # a slash, or its percent-encoded form (a `?next=` parameter)
_DELIMITER = r"""[/?#&\s"'<>\\]"""
# The secret is the path segment after one of the prefixes, up to the next delimiter
# (a feed's keeps its `.ics`). Over-redacting an encoded segment after it is fine.
_SECRET_IN_PATH = re.compile(
    rf"""
    (?P<prefix>{_SLASH}(?:manage|hold|booked|review|waitlist{_SLASH}offer){_SLASH}|{_SLASH}calendar{_SLASH}feeds{_SLASH}
      |{_SLASH}signup{_SLASH}confirm{_SLASH}|{_SLASH}reset{_SLASH}[^/?#&\s]+{_SLASH})
    (?P<secret>(?:(?!{_DELIMITER}).)+?)
    (?P<end>\.ics(?={_DELIMITER}|$)|(?={_DELIMITER}|$))
    """,
    re.VERBOSE,
)
_HINTS = ("manage", "hold", "booked", "review", "offer", "feeds", "confirm", "reset")


def secrets_redact(text: str) -> str:
    """`GET /manage/eyJi…:1u…:abc/cancel/` → `GET /manage/[REDACTED]/cancel/`."""
    if not any(hint in text for hint in _HINTS):
        return text  # the common case: four substring checks, no regular expression
    return _SECRET_IN_PATH.sub(lambda m: f"{m['prefix']}{REDACTED}{m['end']}", text)
