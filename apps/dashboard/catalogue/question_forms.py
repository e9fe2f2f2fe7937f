"""Input of the intake-question screens of "Services & resources". The form only turns
text into values (choices: one per line); apps/resources/intake.py decides what is valid
and its messages are shown beside what was typed."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy

from apps.dashboard.forms import DomainErrorFormMixin
from apps.resources.models import IntakeQuestion


class QuestionForm(DomainErrorFormMixin):
    label = forms.CharField(
        label=gettext_lazy("Question"),
        required=False,
        max_length=300,
        help_text=gettext_lazy("As customers read it, e.g. “Any allergies?”."),
    )
    kind = forms.ChoiceField(label=gettext_lazy("Answer"), choices=IntakeQuestion.Kind.choices)
    choices = forms.CharField(
        label=gettext_lazy("Choices"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("One per line, for the choice answers."),
    )
    help_text = forms.CharField(
        label=gettext_lazy("Help text"),
        required=False,
        max_length=600,
        help_text=gettext_lazy("Optional: shown under the question."),
    )
    required = forms.BooleanField(
        label=gettext_lazy("Customers must answer (a checkbox must be ticked)"),
        required=False,
    )

    @staticmethod
    def initial_for(question: IntakeQuestion) -> dict[str, Any]:
        return {
            "label": question.label,
            "kind": question.kind,
            "choices": "\n".join(question.choices),
            "help_text": question.help_text,
            "required": question.required,
        }

    def service_data(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "label": data["label"],
            "kind": data["kind"],
            "choices": data["choices"].splitlines(),
            "help_text": data["help_text"],
            "required": bool(data["required"]),
        }
