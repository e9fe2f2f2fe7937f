"""Model history (django-auditlog) of the waitlist: the offer window, and each entry's
place in line and status (who moved or removed whom). A waiting person's contact stays
out of the history."""

from __future__ import annotations

from auditlog.registry import auditlog

from apps.waitlist.models import WaitlistEntry, WaitlistSettings

ENTRY_UNAUDITED_FIELDS = [
    "contact_name",
    "email_encrypted",
    "phone_encrypted",
    "email_hash",
    "answers_encrypted",
]


def audit_register() -> None:
    """Called from WaitlistConfig.ready(); registering twice is harmless."""
    if not auditlog.contains(WaitlistSettings):
        auditlog.register(WaitlistSettings)
    if not auditlog.contains(WaitlistEntry):
        auditlog.register(WaitlistEntry, exclude_fields=ENTRY_UNAUDITED_FIELDS)
