from apps.accounts.models import Tenant


def test_session_tenants_exist(db):
    assert set(Tenant.objects.values_list("slug", flat=True)) >= {"acme", "globex", "public"}
