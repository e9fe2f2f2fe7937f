"""Where a customer's messages go. The only place this app reads clear-text contact
data; it is decrypted just before sending and never stored or logged here."""

from __future__ import annotations

import re

from apps.bookings import pii
from apps.bookings.models import Customer

_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_IN_TEXT = re.compile(r"\+\d{7,15}")


def customer_email(customer: Customer) -> str:
    return pii.pii_decrypt(customer.email_encrypted)


def customer_phone(customer: Customer) -> str:
    """The stored E.164 number (the booking core normalizes it on the way in)."""
    return pii.pii_decrypt(customer.phone_encrypted)


def customer_has_email(customer: Customer) -> bool:
    """Answerable without decrypting: planning runs inside the booking transaction."""
    return bool(customer.email_encrypted)


def customer_has_phone(customer: Customer) -> bool:
    return bool(customer.phone_encrypted)


def mask_contacts(text: str) -> str:
    """Provider error messages often quote the address; keep only masked forms."""
    text = _EMAIL_IN_TEXT.sub(lambda match: pii.mask_email(match.group(0)), text)
    return _PHONE_IN_TEXT.sub(lambda match: pii.mask_phone(match.group(0)), text)
