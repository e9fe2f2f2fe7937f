"""Booking emails: branded HTML + text bodies from templates/emails/, sent through
django-anymail, with an `.ics` invitation (REQUEST, or CANCEL on cancellation)."""

from __future__ import annotations

from email.mime.text import MIMEText
from email.utils import formataddr, parseaddr

from anymail.message import AnymailMessage
from django.conf import settings
from django.template.loader import render_to_string
from django.utils import translation

from apps.bookings.ics import METHOD_CANCEL, METHOD_REQUEST, booking_invitation_ics
from apps.notifications.messages.content import MessageFacts
from apps.notifications.models import Notification

INVITATION_FILENAME = "invite.ics"


def notification_message_id(notification: Notification, *, domain: str) -> str:
    """Deterministic, so an interrupted send can be looked up at the provider; a staff
    resend gets a new one so mail clients do not fold it into the first."""
    return f"<{notification.id}.{notification.resend_count}@{domain}>"


def _sender(business_name: str) -> tuple[str, str]:
    _, address = parseaddr(settings.DEFAULT_FROM_EMAIL)
    return formataddr((business_name, address)), address


def _invitation_part(ics: bytes, *, method: str) -> MIMEText:
    part = MIMEText(ics.decode(), "calendar", "utf-8")
    part.set_param("method", method)
    part.add_header("Content-Disposition", "attachment", filename=INVITATION_FILENAME)
    return part


def notification_email(*, facts: MessageFacts, recipient: str) -> AnymailMessage:
    notification = facts.notification
    template = f"emails/booking_{notification.kind}"
    # The booking's language (the one it was made in), subject included.
    with translation.override(facts.language):
        context = facts.template_context()
        subject = " ".join(render_to_string(f"{template}_subject.txt", context).split())
        text = render_to_string(f"{template}.txt", context)
        html = render_to_string(f"{template}.html", context)
    from_email, from_address = _sender(facts.tenant.name)
    message = AnymailMessage(
        subject=subject,
        body=text,
        from_email=from_email,
        to=[recipient],
        headers={"Message-ID": notification_message_id(notification, domain=facts.domain)},
    )
    message.attach_alternative(html, "text/html")
    message.metadata = {
        "notification_id": str(notification.id),
        "booking_id": str(facts.booking.id),
        "tenant": facts.domain,
        "kind": notification.kind,
    }
    message.tags = [f"booking-{notification.kind}"]
    if context["has_invitation"]:
        cancel = notification.kind == Notification.Kind.CANCELLED
        ics = booking_invitation_ics(
            booking=facts.booking,
            domain=facts.domain,
            business_name=facts.tenant.name,
            organizer_email=from_address,
            attendee_email=recipient,
            attendee_name=facts.recipient.name,
            manage_url=facts.manage_url,
            cancel=cancel,
        )
        message.attach(_invitation_part(ics, method=METHOD_CANCEL if cancel else METHOD_REQUEST))
    return message
