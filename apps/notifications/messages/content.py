"""What a notification says: the facts every template and text message is made from,
in the location's time zone and the tenant's language, and the SMS wording."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import dateformat, translation
from django.utils.dateparse import parse_datetime

from apps.accounts.addresses import tenant_domain
from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.bookings.payments import payment_totals
from apps.notifications.links import booking_manage_url
from apps.notifications.messages.recipients import Recipient, notification_recipient
from apps.notifications.messages.sms import sms_fits, sms_gsm_friendly, sms_truncate
from apps.notifications.models import Notification

DEFAULT_ACCENT = "#1d4ed8"
_HEX_COLOUR = re.compile(r"^#[0-9A-Fa-f]{6}$")


def address_line(address: str) -> str:
    """A multi-line postal address on one line: "1 High Street, London"."""
    return ", ".join(line.strip() for line in address.splitlines() if line.strip())


def duration_label(minutes: int) -> str:
    """1440 → "24 hours", 60 → "1 hour", 90 → "1 hour 30 minutes", 2880 → "2 days"."""
    if minutes and minutes % (24 * 60) == 0 and minutes > 24 * 60:
        days = minutes // (24 * 60)
        return f"{days} days"
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(f"{hours} hour{'s' if hours != 1 else ''}")
    if rest or not parts:
        parts.append(f"{rest} minute{'s' if rest != 1 else ''}")
    return " ".join(parts)


@dataclass(frozen=True)
class MessageFacts:
    notification: Notification
    booking: Booking
    tenant: Tenant
    domain: str
    zone: ZoneInfo
    manage_url: str
    previous_starts_at: datetime | None
    # Who the message is for (apps/notifications/messages/recipients.py).
    recipient: Recipient

    @property
    def kind(self) -> str:
        return self.notification.kind

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def when_short(self, moment: datetime) -> str:
        """`Tue 30 Mar, 10:00 BST` — for SMS and subjects."""
        with translation.override(self.tenant.locale or "en"):
            return str(dateformat.format(self.local(moment), "D j M, H:i T"))

    def when_long(self, moment: datetime) -> str:
        """`Tuesday 30 March 2026, 10:00 (BST)`."""
        with translation.override(self.tenant.locale or "en"):
            return str(dateformat.format(self.local(moment), "l j F Y, H:i (T)"))

    def money(self) -> dict[str, str]:
        """What was paid online and refunded (the email is then also the receipt); a
        refund notice says what that refund gives back (older notices: all refunded)."""
        booking = self.booking
        if booking.payment_status == booking.PaymentStatus.NOT_REQUIRED:
            return {"amount_paid": "", "amount_refunded": ""}
        paid, refunded = payment_totals(booking)
        currency = booking.service.currency
        this_refund = self.notification.details.get("amount")
        if self.kind == Notification.Kind.REFUNDED and this_refund:
            refunded = Decimal(this_refund)
        return {
            "amount_paid": f"{paid} {currency}" if paid else "",
            "amount_refunded": f"{refunded} {currency}" if refunded else "",
        }

    def template_context(self) -> dict[str, Any]:
        booking = self.booking
        location = booking.resource.location
        accent = self.tenant.accent_color if _HEX_COLOUR.match(self.tenant.accent_color) else None
        return {
            "kind": self.kind,
            "business_name": self.tenant.name,
            "accent_color": accent or DEFAULT_ACCENT,
            "logo_url": self.tenant.logo_url,
            "customer_name": self.recipient.name,
            "service_name": booking.service.name,
            "resource_name": booking.resource.name,
            "location_name": location.name,
            "location_address": address_line(location.address),
            "timezone_name": location.timezone,
            "when": self.when_long(booking.starts_at),
            "when_short": self.when_short(booking.starts_at),
            "ends_at_time": dateformat.format(self.local(booking.ends_at), "H:i"),
            "duration": duration_label(
                int((booking.ends_at - booking.starts_at).total_seconds() // 60)
            ),
            "previous_when": (
                self.when_long(self.previous_starts_at) if self.previous_starts_at else ""
            ),
            "offset_label": duration_label(self.notification.offset_minutes),
            "manage_url": self.manage_url,
            "booking_reference": str(booking.id).split("-")[-1][:8].upper(),
            **self.money(),
            "payment_url": str(self.notification.details.get("url") or ""),
            "has_invitation": self.kind
            not in (
                Notification.Kind.HOLD_EXPIRED,
                Notification.Kind.REFUNDED,
                Notification.Kind.PAYMENT_LINK,
            ),
        }


def message_facts(*, notification: Notification, tenant: Tenant) -> MessageFacts:
    booking = notification.booking
    previous = notification.details.get("previous_starts_at")
    return MessageFacts(
        notification=notification,
        booking=booking,
        tenant=tenant,
        domain=tenant_domain(tenant),
        zone=ZoneInfo(booking.resource.location.timezone),
        manage_url=booking_manage_url(booking, tenant=tenant),
        previous_starts_at=parse_datetime(previous) if previous else None,
        recipient=notification_recipient(notification),
    )


def _sms_variants(facts: MessageFacts) -> list[str]:
    booking = facts.booking
    business = facts.tenant.name
    service = booking.service.name
    resource = booking.resource.name
    when = facts.when_short(booking.starts_at)
    link = f" Change or cancel: {facts.manage_url}"
    kind = facts.kind

    def texts(business: str, service: str) -> tuple[str, str]:
        if kind == Notification.Kind.CONFIRMED:
            return (
                f"{business}: your {service} with {resource} is booked for {when}.",
                f"{business}: {service} booked for {when}.",
            )
        if kind == Notification.Kind.RESCHEDULED:
            return (
                f"{business}: your {service} with {resource} has moved to {when}.",
                f"{business}: {service} moved to {when}.",
            )
        if kind == Notification.Kind.CANCELLED:
            return (
                f"{business}: your {service} with {resource} on {when} is cancelled.",
                f"{business}: {service} on {when} cancelled.",
            )
        if kind == Notification.Kind.HOLD_EXPIRED:
            return (
                f"{business}: your reservation for {service} on {when} has expired.",
                f"{business}: {service} on {when} not booked.",
            )
        return (
            f"{business}: reminder - {service} with {resource} on {when}.",
            f"{business}: reminder - {service} on {when}.",
        )

    full, short = texts(business, service)
    _, clipped_short = texts(business[:24], service[:24])
    with_link = kind != Notification.Kind.CANCELLED
    variants = [full + link, short + link] if with_link else []
    variants += [full, short, clipped_short]
    return [sms_gsm_friendly(text) for text in variants]


def sms_text(facts: MessageFacts) -> str:
    """The most complete wording that fits in two segments (link dropped before names
    are clipped; truncation as a last resort)."""
    variants = _sms_variants(facts)
    for text in variants:
        if sms_fits(text):
            return text
    return sms_truncate(variants[-1])
