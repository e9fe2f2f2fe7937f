"""Fixtures of the billing tests."""

from __future__ import annotations

import pytest

from tests.billing.paying import paid_setting


@pytest.fixture
def paid(acme, stripe_standin):
    """acme connected to the stand-in, with a paid 60 GBP service and four free slots."""
    return paid_setting(acme, stripe_standin)
