"""Email backends that misbehave on purpose."""

from __future__ import annotations

import os
import time
from collections.abc import Sequence

from anymail.exceptions import AnymailRecipientsRefused
from django.core.mail.backends.base import BaseEmailBackend
from django.core.mail.message import EmailMessage

from apps.notifications.messages.mail_backends import EmlFileEmailBackend

attempts: list[str] = []


class BrokenEmailBackend(BaseEmailBackend):
    """The provider is down: every send raises."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        attempts.extend(str(m.extra_headers.get("Message-ID")) for m in email_messages)
        raise ConnectionError("connection to jane@example.test's provider refused")


class RefusingEmailBackend(BaseEmailBackend):
    """The provider rejects the recipient: no retry will help."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        attempts.extend(str(m.extra_headers.get("Message-ID")) for m in email_messages)
        raise AnymailRecipientsRefused("All message recipients were rejected.")


class OpaqueEmailBackend(BaseEmailBackend):
    """Sends, but cannot be asked afterwards whether a message arrived (like most ESPs)."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        attempts.extend(str(m.extra_headers.get("Message-ID")) for m in email_messages)
        return len(email_messages)


class StallingEmlBackend(EmlFileEmailBackend):
    """Writes .eml files like the development backend, but hangs for good (as a provider
    call that never returns) at two moments, once each across processes:
    - right after writing a message, once STALL_DELIVERED_AT files exist: the provider
      has the message and we have not recorded it;
    - before writing a message, once STALL_UNDELIVERED_AT files exist: the provider
      never gets it.
    A marker file (`.stalled-…`, created exclusively) tells the test each has happened."""

    def _stall_once(self, name: str, threshold_variable: str) -> None:
        threshold = int(os.environ.get(threshold_variable, "0") or 0)
        if not threshold or len(list(self.directory.glob("*.eml"))) < threshold:
            return
        try:
            (self.directory / f".stalled-{name}").open("x").close()
        except FileExistsError:
            return
        time.sleep(3600)

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        self.directory.mkdir(parents=True, exist_ok=True)
        self._stall_once("undelivered", "STALL_UNDELIVERED_AT")
        sent = super().send_messages(email_messages)
        self._stall_once("delivered", "STALL_DELIVERED_AT")
        return sent


class SlowProviderEmlBackend(EmlFileEmailBackend):
    """Like a real ESP: each message costs PROVIDER_LATENCY_MS of waiting on the network."""

    def send_messages(self, email_messages: Sequence[EmailMessage]) -> int:
        time.sleep(int(os.environ.get("PROVIDER_LATENCY_MS", "150")) / 1000)
        return super().send_messages(email_messages)
