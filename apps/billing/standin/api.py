"""The `/v1/...` routes: which operation answers (method, path)."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from . import catalog, checkout, connect, payments, subscriptions
from .engine import Ctx, Engine, Obj
from .errors import StripeError

Operation = Callable[..., Obj]
_ID = r"([^/]+)"

_TABLE: list[tuple[str, str, Operation]] = [
    ("POST", "/v1/products", catalog.product_create),
    ("GET", "/v1/products", catalog.product_list),
    ("GET", f"/v1/products/{_ID}", catalog.product_retrieve),
    ("POST", f"/v1/products/{_ID}", catalog.product_update),
    ("GET", f"/v1/products/{_ID}/features", catalog.product_features),
    ("POST", "/v1/prices", catalog.price_create),
    ("GET", "/v1/prices", catalog.price_list),
    ("GET", f"/v1/prices/{_ID}", catalog.price_retrieve),
    ("POST", f"/v1/prices/{_ID}", catalog.price_update),
    ("POST", "/v1/customers", catalog.customer_create),
    ("GET", "/v1/customers", catalog.customer_list),
    ("GET", f"/v1/customers/{_ID}", catalog.customer_retrieve),
    ("POST", f"/v1/customers/{_ID}", catalog.customer_update),
    ("DELETE", f"/v1/customers/{_ID}", catalog.customer_delete),
    ("GET", "/v1/country_specs", catalog.country_spec_list),
    ("GET", f"/v1/country_specs/{_ID}", catalog.country_spec_retrieve),
    ("POST", "/v1/checkout/sessions", checkout.session_create),
    ("GET", "/v1/checkout/sessions", checkout.session_list),
    ("GET", f"/v1/checkout/sessions/{_ID}", checkout.session_retrieve),
    ("POST", f"/v1/checkout/sessions/{_ID}/expire", checkout.session_expire),
    ("GET", f"/v1/checkout/sessions/{_ID}/line_items", checkout.session_line_items),
    ("GET", "/v1/payment_intents", payments.intent_list),
    ("GET", f"/v1/payment_intents/{_ID}", payments.intent_retrieve),
    ("GET", "/v1/charges", payments.charge_list),
    ("GET", f"/v1/charges/{_ID}", payments.charge_retrieve),
    ("POST", "/v1/refunds", payments.refund_create),
    ("GET", "/v1/refunds", payments.refund_list),
    ("GET", f"/v1/refunds/{_ID}", payments.refund_retrieve),
    ("POST", f"/v1/refunds/{_ID}", payments.refund_update),
    ("GET", f"/v1/balance_transactions/{_ID}", payments.balance_transaction_retrieve),
    ("GET", f"/v1/application_fees/{_ID}", payments.application_fee_retrieve),
    ("GET", "/v1/subscriptions", subscriptions.listing),
    ("GET", f"/v1/subscriptions/{_ID}", subscriptions.retrieve),
    ("POST", f"/v1/subscriptions/{_ID}", subscriptions.update),
    ("DELETE", f"/v1/subscriptions/{_ID}", subscriptions.cancel),
    ("GET", "/v1/subscription_items", subscriptions.item_list),
    ("GET", f"/v1/subscription_items/{_ID}", subscriptions.item_retrieve),
    ("GET", "/v1/invoices", subscriptions.invoice_list),
    ("GET", f"/v1/invoices/{_ID}", subscriptions.invoice_retrieve),
    ("GET", f"/v1/invoices/{_ID}/lines", subscriptions.invoice_lines),
    ("POST", "/v1/accounts", connect.account_create),
    ("GET", "/v1/accounts", connect.account_list),
    ("GET", f"/v1/accounts/{_ID}", connect.account_retrieve),
    ("POST", f"/v1/accounts/{_ID}", connect.account_update),
    ("GET", "/v1/account", connect.account_retrieve),
    ("POST", "/v1/account_links", connect.account_link_create),
    ("POST", "/v1/billing_portal/sessions", connect.portal_session_create),
    ("GET", "/v1/events", connect.event_list),
    ("GET", f"/v1/events/{_ID}", connect.event_retrieve),
]
ROUTES = [(method, re.compile(pattern), operation) for method, pattern, operation in _TABLE]


def dispatch(engine: Engine, ctx: Ctx, method: str, path: str, params: dict[str, Any]) -> Obj:
    for verb, pattern, operation in ROUTES:
        match = pattern.fullmatch(path)
        if match is not None and verb == method:
            return operation(engine, ctx, params, *match.groups())
    raise StripeError(
        f"Unrecognized request URL ({method}: {path}). The Stripe stand-in does not answer "
        "it; see apps/billing/standin/api.py for what it knows.",
        status=404,
    )
