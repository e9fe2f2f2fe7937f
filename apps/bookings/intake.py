"""Answers to a service's intake questions (apps/resources/intake.py): checked against the
questions when a booking is held, and kept with the booking, encrypted at rest like its
contact (`Booking.answers_encrypted`, one JSON list under the key list of
apps/core/encryption.py, walked by key rotation).

Each stored answer keeps the question's id and the label and kind it was asked with, so
a question edited or removed later never changes what an old booking says. Answers come
in as an object keyed by question id (`{"<question id>": value}`):

| kind              | value                                             |
|-------------------|---------------------------------------------------|
| `short_text`      | text, up to 200 characters                        |
| `long_text`       | text, up to 5,000 characters                      |
| `single_choice`   | one of the question's choices                     |
| `multiple_choice` | a list of its choices (kept in the offered order) |
| `checkbox`        | true or false (a required one must be true)       |
| `date`            | a calendar date, `YYYY-MM-DD`                     |

An optional question left empty is not stored; a checkbox is always stored (false when
not ticked), so consent given or not is on record.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from django.utils.translation import gettext as _

from apps.core.encryption import InvalidToken, pii_decrypt, pii_encrypt
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.intake import questions_of
from apps.resources.models import IntakeQuestion, Service

logger = logging.getLogger(__name__)

SHORT_TEXT_MAX_LENGTH = 200
LONG_TEXT_MAX_LENGTH = 5000
# Unknown question ids reported at most (a body may carry thousands).
UNKNOWN_REPORTED = 10
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
EARLIEST_DATE = dt.date(1900, 1, 1)
LATEST_DATE = dt.date(2199, 12, 31)

AnswerValue = str | bool | list[str]
Kind = IntakeQuestion.Kind


@dataclass(frozen=True)
class Answer:
    """One answer as it was given, with its question as it was asked."""

    question_id: str
    label: str
    kind: str
    value: AnswerValue

    def as_dict(self) -> dict[str, Any]:
        """The shape the API, webhooks and the customer's data export give."""
        return {
            "question": self.question_id,
            "label": self.label,
            "kind": self.kind,
            "value": self.value,
        }

    @property
    def text(self) -> str:
        """The answer for people to read (the dashboard, the CSV export)."""
        if isinstance(self.value, bool):
            return _("Yes") if self.value else _("No")
        if isinstance(self.value, list):
            return "; ".join(self.value)
        return self.value

    def __repr__(self) -> str:  # answers are personal: kept out of tracebacks and logs
        return f"Answer(question_id={self.question_id!r}, kind={self.kind!r})"


def field_of(question_id: UUID | str) -> str:
    """The error path of a question's answer, `answers.<question id>`."""
    return f"answers.{question_id}"


# --- Checking --------------------------------------------------------------------------


def _missing(value: Any) -> bool:
    return (
        value is None
        or value == ""
        or value == []
        or (isinstance(value, str) and not value.strip())
    )


def _text(value: Any, *, max_length: int) -> tuple[str | None, str]:
    if not isinstance(value, str):
        return None, _("Enter text.")
    text = value.strip()
    if len(text) > max_length:
        return None, _("Keep it to %(limit)s characters.") % {"limit": max_length}
    return text, ""


def _one_choice(question: IntakeQuestion, value: Any) -> tuple[str | None, str]:
    if isinstance(value, str) and value.strip() in question.choices:
        return value.strip(), ""
    return None, _("Choose one of the options given.")


def _many_choices(question: IntakeQuestion, value: Any) -> tuple[list[str] | None, str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        return None, _("Give the chosen options as a list.")
    chosen = {item.strip() for item in value}
    if not chosen <= set(question.choices):
        return None, _("Choose only from the options given.")
    return [choice for choice in question.choices if choice in chosen], ""


def _date(value: Any) -> tuple[str | None, str]:
    message = _("Enter a date as YYYY-MM-DD.")
    if not isinstance(value, str) or not _ISO_DATE.match(value.strip()):
        return None, message
    try:
        day = dt.date.fromisoformat(value.strip())
    except ValueError:
        return None, message
    if not EARLIEST_DATE <= day <= LATEST_DATE:
        return None, _("Enter a date between %(first)s and %(last)s.") % {
            "first": EARLIEST_DATE.year,
            "last": LATEST_DATE.year,
        }
    return day.isoformat(), ""


def _answer_check(question: IntakeQuestion, value: Any) -> tuple[AnswerValue | None, str]:
    """The cleaned value (None: not answered) or a message for the person."""
    if question.kind == Kind.CHECKBOX:
        if value is None:
            value = False
        if not isinstance(value, bool):
            return None, _("Answer true or false.")
        if question.required and not value:
            return None, _("Tick this box to continue.")
        return value, ""
    if _missing(value):
        return None, _("Answer this question.") if question.required else ""
    if question.kind == Kind.SHORT_TEXT:
        return _text(value, max_length=SHORT_TEXT_MAX_LENGTH)
    if question.kind == Kind.LONG_TEXT:
        return _text(value, max_length=LONG_TEXT_MAX_LENGTH)
    if question.kind == Kind.SINGLE_CHOICE:
        return _one_choice(question, value)
    if question.kind == Kind.MULTIPLE_CHOICE:
        return _many_choices(question, value)
    return _date(value)


def answers_clean(*, service: Service, answers: Mapping[str, Any] | None) -> list[Answer]:
    """The answers to `service`'s questions, checked: each kind's shape, the choices
    offered, required questions answered (a required checkbox ticked), and no answer to
    a question the service does not ask. Raises ValidationFailed with one FieldError per
    answer at fault, at `answers.<question id>`.

    `answers=None` means the questions were not asked (a booking staff make for someone
    without them): nothing is checked or kept. `booking_hold` passes None on only for
    staff; anyone else's None is checked as no answers."""
    if answers is None:
        return []
    if not isinstance(answers, Mapping):
        message = _("Give the answers as an object keyed by question id.")
        raise ValidationFailed(message, [FieldError("answers", message)])
    return answers_check(questions=questions_of(service=service), answers=answers)


def answers_check(
    *, questions: Sequence[IntakeQuestion], answers: Mapping[str, Any]
) -> list[Answer]:
    """`answers_clean` against questions already read (a form that shows them checks
    what was typed before the booking service checks it again)."""
    known = {str(question.pk): question for question in questions}
    errors = [
        FieldError(field_of(str(key)[:64]), _("This service asks no such question."))
        for key in list(answers)[: len(known) + UNKNOWN_REPORTED]
        if str(key) not in known
    ][:UNKNOWN_REPORTED]
    cleaned: list[Answer] = []
    for question in questions:
        value, problem = _answer_check(question, answers.get(str(question.pk)))
        if problem:
            errors.append(FieldError(field_of(question.pk), problem))
        elif value is not None:
            cleaned.append(
                Answer(
                    question_id=str(question.pk),
                    label=question.label,
                    kind=question.kind,
                    value=value,
                )
            )
    if errors:
        raise ValidationFailed(_("Check the answers to the questions."), errors)
    return cleaned


# --- At rest -----------------------------------------------------------------------------


def answers_seal(answers: list[Answer]) -> str:
    """The stored form: empty for no answers, else the encrypted JSON list."""
    if not answers:
        return ""
    return pii_encrypt(json.dumps([answer.as_dict() for answer in answers], ensure_ascii=False))


def answers_read(token: str) -> list[Answer]:
    """The stored answers; raises InvalidToken when no configured key reads them."""
    if not token:
        return []
    try:
        rows = json.loads(pii_decrypt(token))
    except ValueError:
        logger.warning("intake.answers_unreadable")
        return []
    return [
        Answer(
            question_id=str(row.get("question", "")),
            label=str(row.get("label", "")),
            kind=str(row.get("kind", "")),
            value=row.get("value", ""),
        )
        for row in rows
        if isinstance(row, dict)
    ]


def answers_open(token: str) -> list[Answer]:
    """Like `answers_read`, but answers none (and logs it) when the key is gone: a
    screen or a payload shows the rest of the booking."""
    try:
        return answers_read(token)
    except InvalidToken:
        logger.warning("intake.answers_key_missing")
        return []


__all__ = [
    "Answer",
    "answers_check",
    "answers_clean",
    "answers_open",
    "answers_read",
    "answers_seal",
    "field_of",
]
