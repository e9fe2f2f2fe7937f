"""Errors of customer messages (codes are stable; edges translate them)."""

from __future__ import annotations

from apps.core.errors import DomainError


class NotificationError(DomainError):
    code = "NOTIFICATION_ERROR"
    http_status = 400


class NotificationNotFound(NotificationError):
    code = "NOTIFICATION_NOT_FOUND"
    http_status = 404


class NotificationNotRetryable(NotificationError):
    """Retry/resend asked for a row in a state (or of a booking) that forbids it."""

    code = "NOTIFICATION_NOT_RETRYABLE"
    http_status = 409


class Undeliverable(NotificationError):
    """The message can never go out as it stands (no address, invalid number, refused
    recipient): retrying would not help, so the row fails at once."""

    code = "UNDELIVERABLE"
    http_status = 422

    def __init__(self, message: str, *, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


class SendFailed(NotificationError):
    """A provider did not take the message; `permanent` says whether retrying can help."""

    code = "SEND_FAILED"
    http_status = 502

    def __init__(self, message: str, *, permanent: bool = False, reason: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.reason = reason or ("provider_refused" if permanent else "provider_error")
