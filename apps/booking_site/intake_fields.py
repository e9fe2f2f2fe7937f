"""The intake questions of a service as fields of the details form (one field named
`answer_<question id>` per question, asked after the phone number). Every field is
optional to Django: the booking core decides what a good answer is
(apps/bookings/intake.py), here on what was typed (every mistake shown at once with the
contact's) and again when the time is held; its messages land on the question's field."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from django import forms
from django.forms.boundfield import BoundField

from apps.bookings import intake
from apps.core.errors import FieldError, ValidationFailed
from apps.resources.models import IntakeQuestion

ANSWER_PREFIX = "answer_"
# The leading fields the questions follow.
_BEFORE = ("name", "email", "phone")


def answer_field_name(question_id: uuid.UUID | str) -> str:
    return f"{ANSWER_PREFIX}{question_id}"


def question_field(question: IntakeQuestion) -> forms.Field:
    """The input of one question; `question_kind` and `question_required` tell the
    template (booking_site/_question_field.html) how to lay it out and mark it."""
    kind = IntakeQuestion.Kind
    required = {"required": True} if question.required else {}
    options = [(choice, choice) for choice in question.choices]
    field: forms.Field
    if question.kind == kind.LONG_TEXT:
        field = forms.CharField(widget=forms.Textarea(attrs={"rows": 4, **required}))
    elif question.kind == kind.SINGLE_CHOICE:
        field = forms.CharField(widget=forms.RadioSelect(choices=options, attrs=required))
    elif question.kind == kind.MULTIPLE_CHOICE:
        field = forms.Field(widget=forms.CheckboxSelectMultiple(choices=options))
    elif question.kind == kind.CHECKBOX:
        field = forms.BooleanField(widget=forms.CheckboxInput(attrs=required))
    elif question.kind == kind.DATE:
        field = forms.CharField(widget=forms.DateInput(attrs={"type": "date", **required}))
    else:
        field = forms.CharField(
            widget=forms.TextInput(attrs={"maxlength": intake.SHORT_TEXT_MAX_LENGTH, **required})
        )
    field.required = False
    field.label = question.label
    field.help_text = question.help_text
    field.question_kind = question.kind  # type: ignore[attr-defined]
    field.question_required = question.required  # type: ignore[attr-defined]
    return field


class IntakeAnswersMixin(forms.Form):
    """Adds a service's questions to a form (`questions=` when making it)."""

    def __init__(self, *args: Any, questions: Sequence[IntakeQuestion] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.questions = list(questions)
        if not self.questions:
            return
        fields = dict(self.fields)
        leading = {name: fields.pop(name) for name in _BEFORE if name in fields}
        answers = {answer_field_name(q.pk): question_field(q) for q in self.questions}
        self.fields = {**leading, **answers, **fields}

    @property
    def answer_fields(self) -> list[BoundField]:
        return [self[answer_field_name(q.pk)] for q in self.questions]

    def answers(self) -> dict[str, Any]:
        """What was answered, keyed by question id, for the booking service."""
        data = getattr(self, "cleaned_data", {})
        return {str(q.pk): data.get(answer_field_name(q.pk)) for q in self.questions}

    def answers_payload(self) -> dict[str, str]:
        """The answers as sent, for the idempotency record's comparison."""
        getlist = getattr(self.data, "getlist", None)
        sent = {}
        for field in self.answer_fields:
            value = getlist(field.html_name) if getlist else self.data.get(field.html_name)
            sent[field.html_name] = str(value or "")
        return sent

    def clean(self) -> dict[str, Any] | None:
        cleaned = super().clean()
        if self.questions:
            try:
                intake.answers_check(questions=self.questions, answers=self.answers())
            except ValidationFailed as error:
                self.answer_errors_apply(error)
        return cleaned

    def answer_errors_apply(self, error: ValidationFailed) -> list[FieldError]:
        """Puts each answer's error (`answers.<question id>`) on its field; returns the
        other errors."""
        others = []
        for detail in error.details:
            name = answer_field_name(detail.field.removeprefix("answers."))
            if detail.field.startswith("answers.") and name in self.fields:
                self.add_error(name, detail.message)
            else:
                others.append(detail)
        return others

    def apply_domain_error(self, error: ValidationFailed, *, own: set[str]) -> None:
        """The booking service's refusal: answers' errors on their fields, the rest as
        the form after this one in the MRO (DescribedForm) places them."""
        others = self.answer_errors_apply(error)
        if others or not error.details:
            # The next class (DescribedForm) defines it; this mixin comes before it.
            super().apply_domain_error(  # type: ignore[misc]
                ValidationFailed(error.message, others), own=own
            )
