"""A staff member's own language: the dashboard speaks it whatever their browser asks
for (apps/core/languages.py), until they go back to "the browser's"."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_http_methods

from apps.accounts.models import User
from apps.accounts.services import user_language_set
from apps.core.errors import ValidationFailed
from apps.core.languages import language_choices


def _choices() -> list[tuple[str, str]]:
    return [("", gettext("My browser's language")), *language_choices()]


class LanguageForm(forms.Form):
    language = forms.ChoiceField(
        label=gettext_lazy("Language of my dashboard"),
        choices=_choices,
        required=False,
        error_messages={
            "invalid_choice": gettext_lazy(
                "“%(value)s” is not a language we speak: choose one from the list."
            )
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def account_language(request: HttpRequest) -> HttpResponse:
    user = request.user
    assert isinstance(user, User)
    status = 200
    if request.method == "POST":
        form = LanguageForm(request.POST)
        if form.is_valid():
            try:
                user_language_set(user=user, language=form.cleaned_data["language"])
            except ValidationFailed as error:
                for detail in error.details:
                    form.add_error("language", detail.message)
            else:
                # The next page speaks it; this message already does.
                if user.language:
                    translation.activate(user.language)
                messages.success(request, gettext("Your language is saved."))
                return HttpResponseRedirect(reverse("accounts:language"))
        status = 400
    else:
        form = LanguageForm(initial={"language": user.language})
    return render(request, "accounts/language.html", {"form": form}, status=status)
