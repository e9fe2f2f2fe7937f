"""Errors only the API raises (the domain's own come from the apps that own them)."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from apps.core.errors import DomainError


@dataclass
class IdempotencyKeyRequired(DomainError):
    message: str = gettext_noop("Send an Idempotency-Key header with this request.")
    code = "IDEMPOTENCY_KEY_REQUIRED"
    http_status = 400


@dataclass
class MfaRequired(DomainError):
    message: str = gettext_noop("Give the 6-digit code of your authenticator app as `otp`.")
    code = "MFA_REQUIRED"
    http_status = 401


@dataclass
class InvalidCredentials(DomainError):
    message: str = gettext_noop("Wrong email, password or code for this business.")
    code = "UNAUTHENTICATED"
    http_status = 401
