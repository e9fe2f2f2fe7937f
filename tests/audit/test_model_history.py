"""django-auditlog records the models that matter, with the person who made each change,
and never a secret: password hashes, API key hashes, webhook signing secrets."""

from __future__ import annotations

import pytest
from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from apps.accounts.models import Domain, Membership, Tenant, User
from apps.api.models import ApiKey
from apps.api.services import api_key_create
from apps.billing.models import PlanChange
from apps.notifications.models import CalendarFeed, NotificationPreference
from apps.notifications.webhooks.models import WebhookEndpoint
from apps.notifications.webhooks.services import webhook_endpoint_create
from tests.plugins.factories import MembershipFactory, UserFactory, verified_staff_client

pytestmark = pytest.mark.django_db


def _entries(model: type, pk: object) -> list[LogEntry]:
    return list(
        LogEntry.objects.filter(
            content_type=ContentType.objects.get_for_model(model), object_pk=str(pk)
        ).order_by("timestamp")
    )


def _history_mentions(text: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT EXISTS (SELECT 1 FROM auditlog_logentry WHERE concat_ws(' ', changes::text, "
            "changes_text, object_repr, additional_data::text) LIKE %s)",
            [f"%{text}%"],
        )
        return bool(cursor.fetchone()[0])


@pytest.mark.parametrize(
    "model",
    [
        Tenant,
        Domain,
        User,
        Membership,
        ApiKey,
        WebhookEndpoint,
        NotificationPreference,
        CalendarFeed,
        PlanChange,
    ],
)
def test_the_models_that_matter_are_audited(model):
    assert auditlog.contains(model)


def test_a_users_password_and_sign_ins_stay_out_of_the_history():
    user = UserFactory.create(email="pat@example.test", full_name="Pat")

    user.set_password("another-long-passphrase")
    user.save()
    user.last_login = timezone.now()
    user.save(update_fields=["last_login"])
    user.full_name = "Pat Smith"
    user.save()

    entries = _entries(User, user.pk)
    assert [entry.action for entry in entries] == [LogEntry.Action.CREATE, LogEntry.Action.UPDATE]
    assert entries[-1].changes_dict == {"full_name": ["Pat", "Pat Smith"]}
    assert not any({"password", "last_login"} & set(entry.changes_dict) for entry in entries)
    assert not _history_mentions(user.password)


def test_api_key_and_webhook_secrets_stay_out_of_the_history(acme):
    key, secret = api_key_create(role="admin", name="Till")
    endpoint, signing_secret = webhook_endpoint_create(url="https://hooks.example.test/in")

    key_entry, *_ = _entries(ApiKey, key.pk)
    endpoint_entry, *_ = _entries(WebhookEndpoint, endpoint.pk)
    assert key_entry.changes_dict["name"] == ["None", "Till"]
    assert "secret_hash" not in key_entry.changes_dict
    assert endpoint_entry.changes_dict["url"] == ["None", "https://hooks.example.test/in"]
    assert not {"secret_encrypted", "previous_secret_encrypted"} & set(endpoint_entry.changes_dict)
    for text in (secret, key.secret_hash, signing_secret, endpoint.secret_encrypted[:40]):
        assert not _history_mentions(text)


def test_a_change_in_the_platform_admin_is_attributed_to_the_agent():
    membership = MembershipFactory.create(role=Membership.Role.FRONTDESK)
    agent = verified_staff_client("localhost", email="fixer@timenest.test")

    answer = agent.post(
        f"/admin/accounts/membership/{membership.pk}/change/",
        {"user": membership.user_id, "tenant": membership.tenant_id, "role": "manager"},
    )

    assert answer.status_code == 302
    with schema_context("public"):
        change = _entries(Membership, membership.pk)[-1]
        assert change.changes_dict["role"] == ["frontdesk", "manager"]
        assert change.actor.email == "fixer@timenest.test"
