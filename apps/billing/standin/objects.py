"""Builders of Stripe objects as plain dicts, with the fields real Stripe returns (and
that dj-stripe 2.11 reads when it syncs them). Nothing here stores or emits anything."""

from __future__ import annotations

from typing import Any

from .store import new_id, now

API_VERSION = "2026-08-26.dahlia"

# Currencies without minor units: amounts are whole units.
ZERO_DECIMAL = {
    "bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga",
    "pyg", "rwf", "ugx", "vnd", "vuv", "xaf", "xof", "xpf",
}  # fmt: skip
# The smallest amount Stripe accepts for a charge, in minor units (others: 50).
MINIMUM_CHARGE = {"gbp": 30, "jpy": 50, "hkd": 400, "mxn": 1000, "sek": 300, "nok": 300, "dkk": 250}
# Kept simple: the country decides the default currency; every country listed can take
# payments in the same set of common currencies.
COUNTRY_CURRENCY = {
    "US": "usd", "GB": "gbp", "IE": "eur", "DE": "eur", "FR": "eur", "ES": "eur",
    "IT": "eur", "NL": "eur", "BE": "eur", "AT": "eur", "PT": "eur", "FI": "eur",
    "CA": "cad", "AU": "aud", "NZ": "nzd", "JP": "jpy", "CH": "chf", "SE": "sek",
    "NO": "nok", "DK": "dkk", "PL": "pln", "SG": "sgd", "HK": "hkd", "MX": "mxn",
}  # fmt: skip
PAYMENT_CURRENCIES = sorted(
    {*COUNTRY_CURRENCY.values(), "czk", "huf", "ron", "bgn", "inr", "brl", "zar"}
)


def list_object(data: list[Any], url: str, has_more: bool = False) -> dict[str, Any]:
    return {"object": "list", "data": data, "has_more": has_more, "url": url}


def _base(prefix: str, kind: str, metadata: dict[str, str] | None = None) -> dict[str, Any]:
    return {
        "id": new_id(prefix),
        "object": kind,
        "created": now(),
        "livemode": False,
        "metadata": dict(metadata or {}),
    }


def product(name: str, *, description: str | None, active: bool, metadata: dict) -> dict:
    obj = _base("prod_", "product", metadata)
    obj.update(
        active=active,
        default_price=None,
        description=description,
        images=[],
        marketing_features=[],
        name=name,
        package_dimensions=None,
        shippable=None,
        statement_descriptor=None,
        tax_code=None,
        type="service",
        unit_label=None,
        updated=obj["created"],
        url=None,
    )
    return obj


def price(
    *,
    product_id: str,
    currency: str,
    unit_amount: int,
    recurring: dict[str, Any] | None,
    lookup_key: str | None,
    nickname: str | None,
    active: bool,
    metadata: dict,
) -> dict:
    obj = _base("price_", "price", metadata)
    obj.update(
        active=active,
        billing_scheme="per_unit",
        currency=currency,
        custom_unit_amount=None,
        lookup_key=lookup_key,
        nickname=nickname,
        product=product_id,
        recurring=recurring,
        tax_behavior="unspecified",
        tiers_mode=None,
        transform_quantity=None,
        type="recurring" if recurring else "one_time",
        unit_amount=unit_amount,
        unit_amount_decimal=str(unit_amount),
    )
    return obj


def recurring(interval: str, interval_count: int, trial_days: int | None = None) -> dict:
    return {
        "aggregate_usage": None,
        "interval": interval,
        "interval_count": interval_count,
        "meter": None,
        "trial_period_days": trial_days,
        "usage_type": "licensed",
    }


def customer(
    *,
    email: str | None,
    name: str | None,
    phone: str | None,
    description: str | None,
    metadata: dict,
) -> dict:
    obj = _base("cus_", "customer", metadata)
    obj.update(
        address=None,
        balance=0,
        currency=None,
        default_source=None,
        delinquent=False,
        description=description,
        discount=None,
        email=email,
        invoice_prefix=obj["id"][4:12].upper(),
        invoice_settings={
            "custom_fields": None,
            "default_payment_method": None,
            "footer": None,
            "rendering_options": None,
        },
        name=name,
        next_invoice_sequence=1,
        phone=phone,
        preferred_locales=[],
        shipping=None,
        tax_exempt="none",
        test_clock=None,
    )
    return obj


def line_item(price_obj: dict, quantity: int, description: str) -> dict:
    """An entry of a Checkout Session's line_items (object `item`)."""
    amount = price_obj["unit_amount"] * quantity
    return {
        "id": new_id("li_"),
        "object": "item",
        "amount_discount": 0,
        "amount_subtotal": amount,
        "amount_tax": 0,
        "amount_total": amount,
        "currency": price_obj["currency"],
        "description": description,
        "price": price_obj,
        "quantity": quantity,
    }


def checkout_session(fields: dict[str, Any], metadata: dict) -> dict:
    obj = _base("cs_test_", "checkout.session", metadata)
    obj["id"] = new_id("cs_test_", 58)
    obj.update(
        after_expiration=None,
        allow_promotion_codes=None,
        automatic_tax={"enabled": False, "liability": None, "status": None},
        billing_address_collection=None,
        consent=None,
        custom_fields=[],
        customer_creation=None,
        customer_details=None,
        invoice=None,
        locale=None,
        payment_link=None,
        payment_method_types=["card"],
        payment_intent=None,
        payment_status="unpaid",
        setup_intent=None,
        shipping_address_collection=None,
        shipping_cost=None,
        shipping_details=None,
        status="open",
        submit_type=None,
        subscription=None,
        total_details={"amount_discount": 0, "amount_shipping": 0, "amount_tax": 0},
        ui_mode="hosted",
    )
    obj.update(fields)
    return obj


def balance_transaction(
    *, amount: int, currency: str, source: str, kind: str, fee: int, description: str | None
) -> dict:
    obj = _base("txn_", "balance_transaction")
    del obj["metadata"], obj["livemode"]
    obj.update(
        amount=amount,
        available_on=obj["created"] + 2 * 86400,
        currency=currency,
        description=description,
        exchange_rate=None,
        fee=fee,
        fee_details=[
            {
                "amount": fee,
                "application": None,
                "currency": currency,
                "description": "Stripe processing fees",
                "type": "stripe_fee",
            }
        ]
        if fee
        else [],
        net=amount - fee,
        reporting_category=kind,
        source=source,
        status="pending",
        type=kind,
    )
    return obj


def payment_intent(
    *,
    amount: int,
    currency: str,
    customer_id: str | None,
    description: str | None,
    application_fee_amount: int | None,
    receipt_email: str | None,
    metadata: dict,
) -> dict:
    obj = _base("pi_", "payment_intent", metadata)
    obj.update(
        amount=amount,
        amount_capturable=0,
        amount_details={"tip": {}},
        amount_received=0,
        application=None,
        application_fee_amount=application_fee_amount,
        automatic_payment_methods=None,
        canceled_at=None,
        cancellation_reason=None,
        capture_method="automatic",
        client_secret=f"{obj['id']}_secret_{new_id('', 24)}",
        confirmation_method="automatic",
        currency=currency,
        customer=customer_id,
        description=description,
        last_payment_error=None,
        latest_charge=None,
        next_action=None,
        on_behalf_of=None,
        payment_method=None,
        payment_method_options={},
        payment_method_types=["card"],
        processing=None,
        receipt_email=receipt_email,
        review=None,
        setup_future_usage=None,
        shipping=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="requires_payment_method",
        transfer_data=None,
        transfer_group=None,
    )
    return obj


def charge(
    *,
    intent: dict,
    balance_transaction_id: str,
    application_fee_id: str | None,
    email: str | None,
    name: str | None,
    base_url: str,
    invoice_id: str | None = None,
) -> dict:
    obj = _base("ch_", "charge", intent["metadata"])
    obj.update(
        amount=intent["amount"],
        amount_captured=intent["amount"],
        amount_refunded=0,
        application=None,
        application_fee=application_fee_id,
        application_fee_amount=intent["application_fee_amount"],
        balance_transaction=balance_transaction_id,
        billing_details={
            "address": {
                "city": None,
                "country": None,
                "line1": None,
                "line2": None,
                "postal_code": "42424",
                "state": None,
            },
            "email": email,
            "name": name,
            "phone": None,
        },
        calculated_statement_descriptor="TIMENEST STANDIN",
        captured=True,
        currency=intent["currency"],
        customer=intent["customer"],
        description=intent["description"],
        disputed=False,
        failure_balance_transaction=None,
        failure_code=None,
        failure_message=None,
        fraud_details={},
        invoice=invoice_id,
        on_behalf_of=None,
        outcome={
            "network_status": "approved_by_network",
            "reason": None,
            "risk_level": "normal",
            "risk_score": 12,
            "seller_message": "Payment complete.",
            "type": "authorized",
        },
        paid=True,
        payment_intent=intent["id"],
        payment_method=None,
        payment_method_details={
            "type": "card",
            "card": {
                "brand": "visa",
                "country": "US",
                "exp_month": 12,
                "exp_year": 2034,
                "funding": "credit",
                "last4": "4242",
                "network": "visa",
            },
        },
        receipt_email=email,
        receipt_number=None,
        receipt_url=f"{base_url}/receipts/{obj['id']}",
        refunded=False,
        refunds=list_object([], f"/v1/charges/{obj['id']}/refunds"),
        review=None,
        shipping=None,
        source=None,
        source_transfer=None,
        statement_descriptor=None,
        statement_descriptor_suffix=None,
        status="succeeded",
        transfer_data=None,
        transfer_group=None,
    )
    return obj


def application_fee(*, charge_obj: dict, account_id: str, amount: int) -> dict:
    obj = _base("fee_", "application_fee")
    del obj["metadata"]
    obj.update(
        account=account_id,
        amount=amount,
        amount_refunded=0,
        application="ca_standin",
        balance_transaction=None,
        charge=charge_obj["id"],
        currency=charge_obj["currency"],
        originating_transaction=None,
        refunded=False,
        refunds=list_object([], f"/v1/application_fees/{obj['id']}/refunds"),
    )
    return obj


def refund(
    *, charge_obj: dict, amount: int, reason: str | None, txn_id: str, metadata: dict
) -> dict:
    obj = _base("re_", "refund", metadata)
    obj.update(
        amount=amount,
        balance_transaction=txn_id,
        charge=charge_obj["id"],
        currency=charge_obj["currency"],
        destination_details={"card": {"type": "refund"}, "type": "card"},
        failure_balance_transaction=None,
        failure_reason=None,
        payment_intent=charge_obj["payment_intent"],
        reason=reason,
        receipt_number=None,
        source_transfer_reversal=None,
        status="succeeded",
        transfer_reversal=None,
    )
    return obj


def subscription(
    *,
    customer_id: str,
    currency: str,
    period: tuple[int, int],
    trial: tuple[int, int] | None,
    metadata: dict,
) -> dict:
    obj = _base("sub_", "subscription", metadata)
    obj.update(
        application=None,
        application_fee_percent=None,
        automatic_tax={"enabled": False, "liability": None},
        billing_cycle_anchor=period[0],
        billing_thresholds=None,
        cancel_at=None,
        cancel_at_period_end=False,
        canceled_at=None,
        cancellation_details={"comment": None, "feedback": None, "reason": None},
        collection_method="charge_automatically",
        currency=currency,
        current_period_end=period[1],
        current_period_start=period[0],
        customer=customer_id,
        days_until_due=None,
        default_payment_method=None,
        default_source=None,
        default_tax_rates=[],
        description=None,
        discounts=[],
        ended_at=None,
        items=list_object([], f"/v1/subscription_items?subscription={obj['id']}"),
        latest_invoice=None,
        on_behalf_of=None,
        pause_collection=None,
        pending_setup_intent=None,
        pending_update=None,
        schedule=None,
        start_date=obj["created"],
        status="trialing" if trial else "active",
        test_clock=None,
        transfer_data=None,
        trial_end=trial[1] if trial else None,
        trial_start=trial[0] if trial else None,
    )
    return obj


def subscription_item(
    *, subscription_id: str, price_obj: dict, quantity: int, period: tuple[int, int]
) -> dict:
    obj = _base("si_", "subscription_item")
    obj.update(
        billing_thresholds=None,
        current_period_end=period[1],
        current_period_start=period[0],
        discounts=[],
        price=price_obj,
        quantity=quantity,
        subscription=subscription_id,
        tax_rates=[],
    )
    return obj


def invoice(
    *,
    customer_obj: dict,
    subscription_obj: dict | None,
    currency: str,
    period: tuple[int, int],
    billing_reason: str,
    base_url: str,
    number: str,
) -> dict:
    obj = _base("in_", "invoice")
    sub_id = subscription_obj["id"] if subscription_obj else None
    obj.update(
        account_country="US",
        account_name="TimeNest (Stripe stand-in)",
        amount_due=0,
        amount_paid=0,
        amount_remaining=0,
        amount_shipping=0,
        attempt_count=0,
        attempted=False,
        auto_advance=False,
        automatic_tax={"enabled": False, "liability": None, "status": None},
        billing_reason=billing_reason,
        charge=None,
        collection_method="charge_automatically",
        currency=currency,
        customer=customer_obj["id"],
        customer_email=customer_obj.get("email"),
        customer_name=customer_obj.get("name"),
        default_payment_method=None,
        default_source=None,
        default_tax_rates=[],
        description=None,
        discounts=[],
        due_date=None,
        ending_balance=0,
        footer=None,
        hosted_invoice_url=f"{base_url}/invoices/{obj['id']}",
        invoice_pdf=f"{base_url}/invoices/{obj['id']}/pdf",
        lines=list_object([], f"/v1/invoices/{obj['id']}/lines"),
        number=number,
        paid=False,
        parent={
            "quote_details": None,
            "subscription_details": {
                "metadata": dict(subscription_obj["metadata"]) if subscription_obj else {},
                "subscription": sub_id,
            },
            "type": "subscription_details",
        }
        if subscription_obj
        else None,
        payment_intent=None,
        period_end=period[1],
        period_start=period[0],
        receipt_number=None,
        starting_balance=0,
        status="draft",
        status_transitions={
            "finalized_at": None,
            "marked_uncollectible_at": None,
            "paid_at": None,
            "voided_at": None,
        },
        subscription=sub_id,
        subtotal=0,
        tax=None,
        total=0,
        total_discount_amounts=[],
        total_tax_amounts=[],
        webhooks_delivered_at=obj["created"],
    )
    return obj


def invoice_line(
    *, invoice_id: str, item: dict, period: tuple[int, int], amount: int, description: str
) -> dict:
    obj = _base("il_", "line_item")
    del obj["created"]
    price_obj = item["price"]
    obj.update(
        amount=amount,
        amount_excluding_tax=amount,
        currency=price_obj["currency"],
        description=description,
        discount_amounts=[],
        discountable=True,
        discounts=[],
        invoice=invoice_id,
        invoice_item=None,
        parent={
            "invoice_item_details": None,
            "subscription_item_details": {
                "invoice_item": None,
                "proration": False,
                "proration_details": {"credited_items": None},
                "subscription": item["subscription"],
                "subscription_item": item["id"],
            },
            "type": "subscription_item_details",
        },
        period={"end": period[1], "start": period[0]},
        price=price_obj,
        pricing={
            "price_details": {"price": price_obj["id"], "product": price_obj["product"]},
            "type": "price_details",
            "unit_amount_decimal": price_obj["unit_amount_decimal"],
        },
        proration=False,
        proration_details={"credited_items": None},
        quantity=item["quantity"],
        subscription=item["subscription"],
        subscription_item=item["id"],
        tax_amounts=[],
        tax_rates=[],
        type="subscription",
        unit_amount_excluding_tax=str(price_obj["unit_amount"]),
    )
    return obj


def account(
    *, kind: str, country: str, email: str | None, business_profile: dict, metadata: dict
) -> dict:
    obj = _base("acct_", "account", metadata)
    obj["id"] = new_id("acct_1", 15)
    currency = COUNTRY_CURRENCY[country]
    obj.update(
        business_profile={
            "mcc": None,
            "name": None,
            "product_description": None,
            "support_email": None,
            "support_phone": None,
            "support_url": None,
            "url": None,
            **business_profile,
        },
        business_type=None,
        capabilities={"card_payments": "inactive", "transfers": "inactive"},
        charges_enabled=False,
        controller={"is_controller": True, "type": "application"},
        country=country,
        default_currency=currency,
        details_submitted=False,
        email=email,
        external_accounts=list_object([], f"/v1/accounts/{obj['id']}/external_accounts"),
        future_requirements=_requirements([]),
        payouts_enabled=False,
        requirements=_requirements(
            ["business_profile.url", "external_account", "tos_acceptance.date"]
        ),
        settings={
            "branding": {
                "icon": None,
                "logo": None,
                "primary_color": None,
                "secondary_color": None,
            },
            "card_payments": {"statement_descriptor_prefix": None},
            "dashboard": {"display_name": business_profile.get("name"), "timezone": "Etc/UTC"},
            "payments": {"statement_descriptor": None},
            "payouts": {"debit_negative_balances": True, "schedule": {"interval": "daily"}},
        },
        tos_acceptance={"date": None, "ip": None, "user_agent": None},
        type=kind,
    )
    return obj


def _requirements(due: list[str]) -> dict[str, Any]:
    return {
        "alternatives": [],
        "current_deadline": None,
        "currently_due": list(due),
        "disabled_reason": "requirements.past_due" if due else None,
        "errors": [],
        "eventually_due": list(due),
        "past_due": list(due),
        "pending_verification": [],
    }


def requirements(due: list[str], disabled_reason: str | None = None) -> dict[str, Any]:
    reqs = _requirements(due)
    if disabled_reason is not None:
        reqs["disabled_reason"] = disabled_reason
    return reqs


def platform_account(account_id: str) -> dict:
    obj = account(
        kind="standard",
        country="US",
        email="platform@timenest.invalid",
        business_profile={"name": "TimeNest (Stripe stand-in)"},
        metadata={},
    )
    obj.update(
        id=account_id,
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        capabilities={"card_payments": "active", "transfers": "active"},
        requirements=_requirements([]),
    )
    return obj


def country_spec(country: str) -> dict:
    return {
        "id": country,
        "object": "country_spec",
        "default_currency": COUNTRY_CURRENCY[country],
        "supported_bank_account_currencies": {COUNTRY_CURRENCY[country]: [country]},
        "supported_payment_currencies": list(PAYMENT_CURRENCIES),
        "supported_payment_methods": ["card"],
        "supported_transfer_countries": sorted(COUNTRY_CURRENCY),
        "verification_fields": {},
    }


def event(
    *,
    kind: str,
    obj: dict,
    account_id: str | None,
    previous: dict | None,
    request_id: str | None,
    idempotency_key: str | None,
    pending_webhooks: int,
) -> dict:
    data: dict[str, Any] = {"object": obj}
    if previous:
        data["previous_attributes"] = previous
    out: dict[str, Any] = {
        "id": new_id("evt_"),
        "object": "event",
        "api_version": API_VERSION,
        "created": now(),
        "data": data,
        "livemode": False,
        "pending_webhooks": pending_webhooks,
        "request": {"id": request_id, "idempotency_key": idempotency_key},
        "type": kind,
    }
    if account_id:
        out["account"] = account_id
    return out
