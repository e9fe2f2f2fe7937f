"""Where a booking's messages go: the contact given with that booking (`Booking.contact`;
bookings made before bookings kept their own contact use their customer's), or, for a
message planned before its customer's data was erased, the recipient kept on the row
for it (`Notification.recipient_encrypted`, apps/notifications/personal_data.py). The
only place this app reads clear-text contact data; it is decrypted just before sending
and never stored or logged here."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

from apps.bookings import pii
from apps.bookings.models import Booking
from apps.notifications.models import Notification

_EMAIL_IN_TEXT = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE_IN_TEXT = re.compile(r"\+\d{7,15}")


@dataclass(frozen=True)
class Recipient:
    """Who one message is for: the name it greets and the address of its channel (the
    other one is left empty)."""

    name: str
    email: str = ""
    phone: str = ""

    def __repr__(self) -> str:  # keeps contact data out of tracebacks and logs
        return "Recipient(…)"


def notification_recipient(notification: Notification) -> Recipient:
    """Where this message goes: the recipient kept on the row, else the booking's
    contact (only the channel's address is decrypted)."""
    if notification.recipient_encrypted:
        kept = json.loads(pii.pii_decrypt(notification.recipient_encrypted))
        return Recipient(
            name=str(kept.get("name", "")),
            email=str(kept.get("email", "")),
            phone=str(kept.get("phone", "")),
        )
    contact = notification.booking.contact
    if notification.channel == Notification.Channel.SMS:
        return Recipient(name=contact.name, phone=pii.pii_decrypt(contact.phone_encrypted))
    return Recipient(name=contact.name, email=pii.pii_decrypt(contact.email_encrypted))


def notification_recipient_sealed(notification: Notification) -> str:
    """Where this message goes now, as the encrypted value that keeps it on the row
    (`recipient_encrypted`) when the booking's contact details are about to go."""
    recipient = notification_recipient(notification)
    kept = {"name": recipient.name, "email": recipient.email, "phone": recipient.phone}
    return pii.pii_encrypt(json.dumps(kept, ensure_ascii=False))


def booking_has_email(booking: Booking) -> bool:
    """Answerable without decrypting: planning runs inside the booking transaction."""
    return bool(booking.contact.email_encrypted)


def booking_has_phone(booking: Booking) -> bool:
    return bool(booking.contact.phone_encrypted)


def mask_contacts(text: str) -> str:
    """Provider error messages often quote the address; keep only masked forms."""
    text = _EMAIL_IN_TEXT.sub(lambda match: pii.mask_email(match.group(0)), text)
    return _PHONE_IN_TEXT.sub(lambda match: pii.mask_phone(match.group(0)), text)
