"""What a notification says: the facts every template and text message is made from,
in the location's time zone and the booking's language (the one it was made in, else
the business's), and the SMS wording."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from django.utils import dateformat, formats, translation
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext, ngettext

from apps.accounts.addresses import tenant_domain
from apps.accounts.models import Tenant
from apps.bookings.models import Booking
from apps.bookings.payments import payment_totals
from apps.core.languages import is_language
from apps.core.money import money_format
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
    """1440 → "24 hours", 60 → "1 hour", 90 → "1 hour 30 minutes", 2880 → "2 days" (in
    the active language)."""
    if minutes and minutes % (24 * 60) == 0 and minutes > 24 * 60:
        days = minutes // (24 * 60)
        return ngettext("%(count)d day", "%(count)d days", days) % {"count": days}
    hours, rest = divmod(minutes, 60)
    parts = []
    if hours:
        parts.append(ngettext("%(count)d hour", "%(count)d hours", hours) % {"count": hours})
    if rest or not parts:
        parts.append(ngettext("%(count)d minute", "%(count)d minutes", rest) % {"count": rest})
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
    # A series' one confirmation or cancellation: the start of every date it covers,
    # earliest first (empty for a message about one booking).
    series_starts: tuple[datetime, ...] = ()

    @property
    def kind(self) -> str:
        return self.notification.kind

    @property
    def language(self) -> str:
        """The booking's language, else the business's (settings.LANGUAGES)."""
        for language in (self.booking.language, self.tenant.locale):
            if is_language(language):
                return language
        return "en"

    def local(self, moment: datetime) -> datetime:
        return moment.astimezone(self.zone)

    def when_short(self, moment: datetime) -> str:
        """`Tue 30 Mar, 10:00 BST` — for SMS and subjects (`Di. 30.03.2026, 10:00 CEST`
        in German: the language's short date, Django's locale formats)."""
        local = self.local(moment)
        with translation.override(self.language):
            if self.language == "en":
                return str(dateformat.format(local, "D j M, H:i T"))
            return "{} {}, {} {}".format(
                dateformat.format(local, "D"),
                formats.date_format(local, "SHORT_DATE_FORMAT"),
                formats.time_format(local, "TIME_FORMAT"),
                dateformat.format(local, "T"),
            )

    def when_long(self, moment: datetime) -> str:
        """`Tuesday 30 March 2026, 10:00 (BST)` (`Dienstag, 30. März 2026, 10:00 (CEST)`
        in German: the language's date format, Django's locale formats)."""
        local = self.local(moment)
        with translation.override(self.language):
            if self.language == "en":
                return str(dateformat.format(local, "l j F Y, H:i (T)"))
            return "{}, {}, {} ({})".format(
                dateformat.format(local, "l"),
                formats.date_format(local, "DATE_FORMAT"),
                formats.time_format(local, "TIME_FORMAT"),
                dateformat.format(local, "T"),
            )

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
            "amount_paid": money_format(paid, currency, language=self.language) if paid else "",
            "amount_refunded": (
                money_format(refunded, currency, language=self.language) if refunded else ""
            ),
        }

    def template_context(self) -> dict[str, Any]:
        """Worded in the message's language (`translation.override(self.language)`)."""
        with translation.override(self.language):
            return self._template_context()

    def _template_context(self) -> dict[str, Any]:
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
            "review_url": str(self.notification.details.get("url") or ""),
            "has_invitation": self.kind
            not in (
                Notification.Kind.HOLD_EXPIRED,
                Notification.Kind.REFUNDED,
                Notification.Kind.PAYMENT_LINK,
                Notification.Kind.REVIEW_REQUEST,
                Notification.Kind.WAITLIST_OFFER,
            ),
            # A series' message lists every date (the first is `when`).
            "series_dates": [self.when_long(moment) for moment in self.series_starts],
            "offer_url": str(self.notification.details.get("url") or ""),
            "offer_until": (
                self.when_short(booking.hold_expires_at) if booking.hold_expires_at else ""
            ),
        }


def message_facts(*, notification: Notification, tenant: Tenant) -> MessageFacts:
    booking = notification.booking
    previous = notification.details.get("previous_starts_at")
    series = notification.details.get(Notification.SERIES_STARTS) or []
    return MessageFacts(
        notification=notification,
        booking=booking,
        tenant=tenant,
        domain=tenant_domain(tenant),
        zone=ZoneInfo(booking.resource.location.timezone),
        manage_url=booking_manage_url(booking, tenant=tenant),
        previous_starts_at=parse_datetime(previous) if previous else None,
        recipient=notification_recipient(notification),
        series_starts=tuple(
            moment for moment in (parse_datetime(str(value)) for value in series) if moment
        ),
    )


def _series_sms_variants(facts: MessageFacts) -> list[str]:
    """A series' one confirmation or cancellation: every date when it fits, else how
    many and the first and last (the link's page lists them all)."""
    starts = facts.series_starts
    count = len(starts)
    link = " " + gettext("Change or cancel: %(url)s") % {"url": facts.manage_url}
    confirmed = facts.kind == Notification.Kind.CONFIRMED

    def texts(business: str, service: str) -> tuple[str, str]:
        names = {
            "business": business,
            "service": service,
            "resource": facts.booking.resource.name,
            "count": count,
            "dates": "; ".join(facts.when_short(moment) for moment in starts),
            "first": facts.when_short(starts[0]),
            "last": facts.when_short(starts[-1]),
        }
        if confirmed:
            full = ngettext(
                "%(business)s: your %(service)s with %(resource)s is booked on %(count)d "
                "date: %(dates)s.",
                "%(business)s: your %(service)s with %(resource)s is booked on %(count)d "
                "dates: %(dates)s.",
                count,
            )
            summary = ngettext(
                "%(business)s: %(service)s booked on %(count)d date, %(first)s to %(last)s.",
                "%(business)s: %(service)s booked on %(count)d dates, %(first)s to %(last)s.",
                count,
            )
        else:
            full = ngettext(
                "%(business)s: your %(service)s with %(resource)s is cancelled on %(count)d "
                "date: %(dates)s.",
                "%(business)s: your %(service)s with %(resource)s is cancelled on %(count)d "
                "dates: %(dates)s.",
                count,
            )
            summary = ngettext(
                "%(business)s: %(service)s cancelled on %(count)d date, %(first)s to %(last)s.",
                "%(business)s: %(service)s cancelled on %(count)d dates, %(first)s to %(last)s.",
                count,
            )
        return full % names, summary % names

    full, summary = texts(facts.tenant.name, facts.booking.service.name)
    _, clipped = texts(facts.tenant.name[:24], facts.booking.service.name[:24])
    if confirmed:
        variants = [full + link, full, summary + link, summary, clipped]
    else:
        variants = [full, summary, clipped]
    return [sms_gsm_friendly(text) for text in variants]


def _sms_variants(facts: MessageFacts) -> list[str]:
    if facts.series_starts and facts.kind in (
        Notification.Kind.CONFIRMED,
        Notification.Kind.CANCELLED,
    ):
        return _series_sms_variants(facts)
    booking = facts.booking
    resource = booking.resource.name
    when = facts.when_short(booking.starts_at)
    link = " " + gettext("Change or cancel: %(url)s") % {"url": facts.manage_url}
    kind = facts.kind
    if kind == Notification.Kind.REVIEW_REQUEST:
        url = str(facts.notification.details.get("url") or "")
        link = " " + gettext("Rate it: %(url)s") % {"url": url}
    if kind == Notification.Kind.WAITLIST_OFFER:
        url = str(facts.notification.details.get("url") or "")
        link = " " + gettext("Confirm: %(url)s") % {"url": url}

    def texts(business: str, service: str) -> tuple[str, str]:
        names = {"business": business, "service": service, "resource": resource, "when": when}
        if kind == Notification.Kind.CONFIRMED:
            full = gettext(
                "%(business)s: your %(service)s with %(resource)s is booked for %(when)s."
            )
            short = gettext("%(business)s: %(service)s booked for %(when)s.")
        elif kind == Notification.Kind.RESCHEDULED:
            full = gettext(
                "%(business)s: your %(service)s with %(resource)s has moved to %(when)s."
            )
            short = gettext("%(business)s: %(service)s moved to %(when)s.")
        elif kind == Notification.Kind.CANCELLED:
            full = gettext(
                "%(business)s: your %(service)s with %(resource)s on %(when)s is cancelled."
            )
            short = gettext("%(business)s: %(service)s on %(when)s cancelled.")
        elif kind == Notification.Kind.REVIEW_REQUEST:
            full = gettext("%(business)s: how was your %(service)s with %(resource)s?")
            short = gettext("%(business)s: how was your %(service)s?")
        elif kind == Notification.Kind.WAITLIST_OFFER:
            full = gettext(
                "%(business)s: a place for %(service)s with %(resource)s on %(when)s is free "
                "and held for you."
            )
            short = gettext("%(business)s: %(service)s on %(when)s is free for you.")
        elif kind == Notification.Kind.HOLD_EXPIRED:
            full = gettext(
                "%(business)s: your reservation for %(service)s on %(when)s has expired."
            )
            short = gettext("%(business)s: %(service)s on %(when)s not booked.")
        else:
            full = gettext("%(business)s: reminder - %(service)s with %(resource)s on %(when)s.")
            short = gettext("%(business)s: reminder - %(service)s on %(when)s.")
        return full % names, short % names

    full, short = texts(facts.tenant.name, booking.service.name)
    _, clipped_short = texts(facts.tenant.name[:24], booking.service.name[:24])
    with_link = kind != Notification.Kind.CANCELLED
    variants = [full + link, short + link] if with_link else []
    variants += [full, short, clipped_short]
    return [sms_gsm_friendly(text) for text in variants]


def sms_text(facts: MessageFacts) -> str:
    """The most complete wording that fits in two segments (link dropped before names
    are clipped; truncation as a last resort)."""
    with translation.override(facts.language):
        variants = _sms_variants(facts)
    for text in variants:
        if sms_fits(text):
            return text
    return sms_truncate(variants[-1])
