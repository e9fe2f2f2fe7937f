"""The one family of domain errors. Services raise them; the edges translate them
(API envelope, form errors, admin messages) by `code`, never by parsing messages."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str


@dataclass
class DomainError(Exception):
    message: str
    details: list[FieldError] = field(default_factory=list)
    code = "DOMAIN_ERROR"
    http_status = 400

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

    def field_messages(self) -> dict[str, list[str]]:
        messages: dict[str, list[str]] = {}
        for detail in self.details:
            messages.setdefault(detail.field, []).append(detail.message)
        return messages


class ValidationFailed(DomainError):
    code = "VALIDATION_ERROR"
    http_status = 400


class NotFound(DomainError):
    code = "NOT_FOUND"
    http_status = 404
