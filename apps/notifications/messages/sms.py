"""Text messages: a small backend interface of our own (console, locmem, Twilio), E.164
validation, and keeping a message within two segments.

A GSM-7 message fits 160 characters in one segment and 153 per segment when split; a
message with any character outside GSM-7 is sent as UCS-2: 70 in one, 67 per segment.
Two segments therefore allow 306 GSM-7 characters or 134 UCS-2 code units. Typographic
punctuation and accented letters outside GSM-7 are folded to GSM-7 first, so a business
name such as "Zoë's Studio" with a curly apostrophe does not silently halve the room.
"""

from __future__ import annotations

import logging
import sys
import unicodedata
import uuid
from dataclasses import dataclass
from typing import Any, TextIO

import phonenumbers
import requests
from django.conf import settings
from django.utils.module_loading import import_string

from apps.bookings import pii
from apps.notifications.messages.errors import SendFailed, Undeliverable
from apps.notifications.messages.provider_status import DeliveryStatus

logger = logging.getLogger(__name__)

GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
# Characters of the extension table take two septets (escape + character).
GSM7_EXTENSION = "^{}\\[~]|€\f"
_GSM7 = frozenset(GSM7_BASIC) | frozenset(GSM7_EXTENSION)

GSM7_SINGLE, GSM7_PER_SEGMENT = 160, 153
UCS2_SINGLE, UCS2_PER_SEGMENT = 70, 67
MAX_SEGMENTS = 2
GSM7_MAX = GSM7_PER_SEGMENT * MAX_SEGMENTS  # 306
UCS2_MAX = UCS2_PER_SEGMENT * MAX_SEGMENTS  # 134

_TYPOGRAPHY = str.maketrans(
    {
        "\u2018": "'",  # left single quotation mark
        "\u2019": "'",  # right single quotation mark (apostrophe)
        "\u201a": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u2013": "-",  # en dash
        "\u2014": "-",  # em dash
        "\u2010": "-",
        "\u00b7": "-",
        "\u00a0": " ",
        "\u202f": " ",
        "\u2009": " ",
        "\u2026": "...",
    }
)


def sms_gsm_friendly(text: str) -> str:
    """Folds punctuation and accents that have a GSM-7 equivalent; leaves the rest."""
    text = text.translate(_TYPOGRAPHY)
    folded = []
    for char in text:
        if char in _GSM7:
            folded.append(char)
            continue
        base = unicodedata.normalize("NFKD", char)[:1]
        folded.append(base if base and base in _GSM7 else char)
    return "".join(folded)


def sms_is_gsm7(text: str) -> bool:
    return all(char in _GSM7 for char in text)


def sms_units(text: str) -> int:
    """Septets for GSM-7 (extension characters count twice), else UTF-16 code units."""
    if sms_is_gsm7(text):
        return sum(2 if char in GSM7_EXTENSION else 1 for char in text)
    return len(text.encode("utf-16-le")) // 2


def sms_segments(text: str) -> int:
    units = sms_units(text)
    single, per_segment = (
        (GSM7_SINGLE, GSM7_PER_SEGMENT) if sms_is_gsm7(text) else (UCS2_SINGLE, UCS2_PER_SEGMENT)
    )
    if units <= single:
        return 1
    return -(-units // per_segment)


def sms_fits(text: str) -> bool:
    return sms_segments(text) <= MAX_SEGMENTS


def sms_truncate(text: str) -> str:
    """The longest prefix (ending in "...") that fits in two segments."""
    if sms_fits(text):
        return text
    limit = GSM7_MAX if sms_is_gsm7(text) else UCS2_MAX
    cut = text[:limit]
    while cut and sms_units(cut + "...") > limit:
        cut = cut[:-1]
    return cut.rstrip() + "..."


def sms_validate_number(raw: str) -> str:
    """The number in E.164, or Undeliverable. Numbers are stored normalized; this guards
    against rows written before that, and against numbers that no longer validate."""
    value = (raw or "").strip()
    if not value:
        raise Undeliverable("The customer gave no phone number.", reason="no_phone")
    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException as exc:
        raise Undeliverable(
            "The phone number is not in E.164 form.", reason="invalid_phone"
        ) from exc
    if not value.startswith("+") or not phonenumbers.is_valid_number(number):
        raise Undeliverable("The phone number is not a valid E.164 number.", reason="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


@dataclass(frozen=True)
class SmsMessage:
    to: str
    body: str
    # Our notification id, for providers (and test backends) that can look it up.
    reference: str = ""


class SmsBackend:
    """Sends one message and returns the provider's message id; raises SendFailed."""

    def send(self, message: SmsMessage) -> str:  # pragma: no cover - interface
        raise NotImplementedError

    def delivery_status(self, reference: str) -> DeliveryStatus:
        return DeliveryStatus.UNKNOWN


class ConsoleSmsBackend(SmsBackend):
    """Development: prints the message (number masked) instead of sending it."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stdout

    def send(self, message: SmsMessage) -> str:
        message_id = f"console-{uuid.uuid4().hex[:12]}"
        self.stream.write(
            f"--- SMS to {pii.mask_phone(message.to)} ({sms_segments(message.body)} segment(s))\n"
            f"{message.body}\n---\n"
        )
        self.stream.flush()
        return message_id


# Messages "sent" by the locmem backend in this process (tests read and clear it).
outbox: list[SmsMessage] = []


class LocmemSmsBackend(SmsBackend):
    def send(self, message: SmsMessage) -> str:
        outbox.append(message)
        return f"locmem-{len(outbox)}"

    def delivery_status(self, reference: str) -> DeliveryStatus:
        if any(message.reference == reference for message in outbox):
            return DeliveryStatus.DELIVERED
        return DeliveryStatus.NOT_DELIVERED


# Twilio error codes that no retry will cure (invalid, unreachable or opted-out number).
TWILIO_PERMANENT_CODES = frozenset({21211, 21408, 21610, 21612, 21614, 21217, 21421})


class TwilioSmsBackend(SmsBackend):
    """Twilio's Messages API over HTTPS (form-encoded POST, basic auth)."""

    timeout_seconds = 10

    def __init__(self, session: requests.Session | None = None) -> None:
        self.account_sid = settings.TWILIO_ACCOUNT_SID
        self.auth_token = settings.TWILIO_AUTH_TOKEN
        self.from_number = settings.TWILIO_FROM_NUMBER
        self.messaging_service_sid = settings.TWILIO_MESSAGING_SERVICE_SID
        self.api_base = settings.TWILIO_API_BASE.rstrip("/")
        self.session = session or requests.Session()

    def send(self, message: SmsMessage) -> str:
        if not (self.account_sid and self.auth_token):
            raise SendFailed("Twilio is not configured.", permanent=True, reason="not_configured")
        data: dict[str, Any] = {"To": message.to, "Body": message.body}
        if self.messaging_service_sid:
            data["MessagingServiceSid"] = self.messaging_service_sid
        else:
            data["From"] = self.from_number
        url = f"{self.api_base}/2010-04-01/Accounts/{self.account_sid}/Messages.json"
        try:
            response = self.session.post(
                url,
                data=data,
                auth=(self.account_sid, self.auth_token),
                timeout=self.timeout_seconds,
            )
        except requests.RequestException as exc:
            raise SendFailed(f"Twilio unreachable: {type(exc).__name__}") from exc
        try:
            payload = response.json()
        except ValueError:
            payload = {}
        if response.status_code >= 400:
            code = payload.get("code")
            permanent = code in TWILIO_PERMANENT_CODES or (
                400 <= response.status_code < 500 and response.status_code not in (408, 429)
            )
            raise SendFailed(
                f"Twilio answered {response.status_code} (code {code}): "
                f"{payload.get('message', '')}",
                permanent=permanent,
                reason=f"twilio_{code}" if code else "",
            )
        return str(payload.get("sid", ""))


# SMS_BACKEND values written when this module was apps/notifications/sms.py (deployed
# environments, .env.example) name the backends by that path; they keep working.
_FORMER_MODULE = "apps.notifications.sms."


def get_sms_backend() -> SmsBackend:
    path = str(settings.SMS_BACKEND)
    if path.startswith(_FORMER_MODULE):
        path = f"{__name__}.{path.removeprefix(_FORMER_MODULE)}"
    backend_class = import_string(path)
    backend: SmsBackend = backend_class()
    return backend
