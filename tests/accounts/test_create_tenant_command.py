from __future__ import annotations

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_exists

from apps.accounts.models import Membership, Tenant, User

pytestmark = pytest.mark.django_db


def test_create_tenant_command_creates_schema_domain_and_owner(capsys):
    call_command(
        "create_tenant",
        "--slug=initech",
        "--name=Initech Tutors",
        "--owner-email=Boss@Initech.test",
        "--timezone=Asia/Kathmandu",
    )

    tenant = Tenant.objects.get(slug="initech")
    assert tenant.timezone == "Asia/Kathmandu"
    assert tenant.status == Tenant.Status.TRIAL
    assert tenant.plan == "trial"
    assert schema_exists("t_initech")
    assert tenant.get_primary_domain().domain == "initech.localhost"
    owner = User.objects.get(email="boss@initech.test")
    assert Membership.objects.get(tenant=tenant, user=owner).role == "admin"
    assert "Created tenant initech" in capsys.readouterr().out


def test_create_tenant_command_refuses_reserved_slug_and_keeps_no_user():
    with pytest.raises(CommandError, match="reserved"):
        call_command("create_tenant", "--slug=api", "--name=Nope", "--owner-email=nope@nope.test")

    assert not User.objects.filter(email="nope@nope.test").exists()
