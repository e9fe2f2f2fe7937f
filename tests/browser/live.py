"""The live server's database marker. Tenant tables (admin and audit logs) reference
public users, so the flush after each live test must TRUNCATE … CASCADE; Django does
that when `available_apps` is set."""

from __future__ import annotations

import pytest
from django.conf import settings

LIVE_DB = pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS))
