"""A sentence around a link or a value is translated whole: the link sits inside the
translated sentence (translators can move it), English output is what it always was, and
a message that carries a value is made in the active language."""

from __future__ import annotations

import datetime as dt

import pytest
from django.urls import reverse
from django.utils import translation

from apps.accounts.models import User
from apps.accounts.services import user_language_set
from apps.calendars.errors import BeyondHorizon

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("compiled_catalogues")]


def _speaking(client, language: str):
    user = User.objects.get(pk=client.session["_auth_user_id"])
    user_language_set(user=user, language=language)
    return client


def test_settings_sentence_keeps_its_english_html(admin_client_acme):
    body = admin_client_acme.get(reverse("dashboard:settings")).content.decode()

    embed = reverse("dashboard:embed")
    assert (
        f'<a href="{embed}">Embed on your website</a>: show your booking pages on your own site.'
        in body
    )


def test_settings_sentence_is_one_translated_sentence_with_its_link(admin_client_acme):
    client = _speaking(admin_client_acme, "de")

    body = client.get(reverse("dashboard:settings")).content.decode()

    embed = reverse("dashboard:embed")
    assert (
        f'<a href="{embed}">Auf Ihrer Website einbinden</a>: '
        "Ihre Buchungsseiten auf Ihrer eigenen Website anzeigen." in body
    )
    assert "show your booking pages" not in body


def test_webhook_signature_sentence_is_translated_whole_around_its_codes(admin_client_acme):
    client = _speaking(admin_client_acme, "fr")

    body = client.get(reverse("dashboard:integrations")).content.decode()

    # the two header names are placeholders inside one French sentence
    assert (
        "Chaque événement est une requête <code>POST</code> de JSON avec les en-têtes <code>"
        in body
    )
    assert 'La <a href="/api/docs/">documentation de l\'API</a> donne les détails.' in body
    assert "keyed with the endpoint" not in body


@pytest.mark.parametrize(
    ("language", "message", "field_message"),
    [
        (
            "en",
            "Slots are made only up to 2027-03-01, the booking horizon (90 days ahead).",
            "Choose 2027-03-01 or earlier.",
        ),
        (
            "de",
            "Zeitfenster werden nur bis zum 2027-03-01 erstellt, dem Buchungshorizont "
            "(90 Tage im Voraus).",
            "Wählen Sie den 2027-03-01 oder früher.",
        ),
    ],
)
def test_an_error_with_values_is_made_in_the_active_language(language, message, field_message):
    with translation.override(language):
        error = BeyondHorizon.at(field="day", limit=dt.date(2027, 3, 1), days=90)

    assert error.message == message
    assert [(d.field, d.message) for d in error.details] == [("day", field_message)]
