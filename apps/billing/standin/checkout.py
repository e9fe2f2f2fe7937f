"""Checkout Sessions: create (payment or subscription mode), retrieve, list, expire, and
completing one (what the Pay button of the hosted page does)."""

from __future__ import annotations

from typing import Any

from . import catalog, forms, subscriptions
from . import objects as build
from .engine import Ctx, Engine, Obj
from .errors import StripeError, invalid, required
from .store import now

Params = dict[str, Any]
MIN_EXPIRY, MAX_EXPIRY = 30 * 60, 24 * 3600


def _url(p: Params, name: str) -> str | None:
    value = forms.text(p, name)
    if value and not value.startswith(("http://", "https://")):
        raise invalid(name, "Not a valid URL", code="url_invalid")
    return value


def _line_items(engine: Engine, ctx: Ctx, p: Params, mode: str) -> list[Obj]:
    entries = forms.items(p, "line_items")
    if not entries:
        raise required("line_items")
    result = []
    for index, entry in enumerate(entries):
        param = f"line_items[{index}]"
        if not isinstance(entry, dict):
            raise invalid(param, f"Invalid hash: {param}")
        quantity = forms.integer(entry, "quantity") or 1
        if forms.text(entry, "price"):
            price = engine.get(ctx, "price", forms.text(entry, "price"), f"{param}[price]")
        elif forms.mapping(entry, "price_data"):
            price = catalog.make_price(
                engine, ctx, entry["price_data"], param_prefix=f"{param}[price_data]", inline=True
            )
        else:
            raise StripeError(
                f"You must specify either `price` or `price_data` in {param}.",
                code="parameter_missing",
                param=param,
            )
        if mode == "payment" and price["recurring"]:
            raise invalid(
                f"{param}[price]",
                "You specified `payment` mode but passed a recurring price. Either switch to "
                "`subscription` mode or use only one-time prices.",
            )
        product = engine.store.find(price["product"]) or {}
        result.append(build.line_item(price, quantity, product.get("name", "")))
    if mode == "subscription" and not any(item["price"]["recurring"] for item in result):
        raise invalid(
            "line_items",
            "You must provide at least one recurring price in `subscription` mode when using "
            "prices.",
        )
    currencies = {item["currency"] for item in result}
    if len(currencies) > 1:
        raise invalid("line_items", "All line items must use the same currency.")
    return result


def _expires_at(p: Params) -> int:
    value = forms.integer(p, "expires_at")
    created = now()
    if value is None:
        return created + MAX_EXPIRY
    if value < created + MIN_EXPIRY:
        raise invalid(
            "expires_at",
            "The `expires_at` timestamp must be at least 30 minutes from Checkout Session "
            "creation.",
        )
    if value > created + MAX_EXPIRY:
        raise invalid(
            "expires_at",
            "The `expires_at` timestamp must be less than 24 hours from Checkout Session creation.",
        )
    return value


def _check_account_can_charge(engine: Engine, ctx: Ctx) -> None:
    if not ctx.account:
        return
    account = engine.store.find(ctx.account) or {}
    if not account.get("charges_enabled"):
        raise StripeError(
            f"The account {ctx.account} cannot currently make charges (charges_enabled is "
            "false): it must complete onboarding first.",
            code="account_invalid",
        )


def _payment_intent_data(ctx: Ctx, p: Params, mode: str) -> dict[str, Any]:
    data = forms.mapping(p, "payment_intent_data")
    if data and mode != "payment":
        raise invalid("payment_intent_data", "You can only use `payment_intent_data` in "
                      "`payment` mode.")  # fmt: skip
    fee = forms.integer(data, "application_fee_amount")
    if fee is not None and not ctx.account:
        raise invalid(
            "payment_intent_data[application_fee_amount]",
            "Can only apply an application_fee_amount when the PaymentIntent is attempting a "
            "direct payment (using an OAuth key or Stripe-Account header) or destination "
            "payment (using `transfer_data[destination]`).",
        )
    return {
        "application_fee_amount": fee,
        "metadata": forms.metadata_merge({}, data.get("metadata")),
        "description": forms.text(data, "description"),
        "receipt_email": forms.text(data, "receipt_email"),
    }


def _subscription_data(p: Params, mode: str) -> dict[str, Any]:
    data = forms.mapping(p, "subscription_data")
    if data and mode != "subscription":
        raise invalid("subscription_data", "You can only use `subscription_data` in "
                      "`subscription` mode.")  # fmt: skip
    trial = forms.integer(data, "trial_period_days")
    if trial is not None and not 1 <= trial <= 730:
        raise invalid("subscription_data[trial_period_days]", "Trial must be 1 to 730 days.")
    return {
        "metadata": forms.metadata_merge({}, data.get("metadata")),
        "trial_period_days": trial,
        "description": forms.text(data, "description"),
    }


def session_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    mode = forms.text(p, "mode", need=True)
    if mode not in ("payment", "subscription"):
        raise invalid("mode", f"Invalid mode: {mode} (the stand-in knows payment and subscription)")
    customer_id, email = forms.text(p, "customer"), forms.text(p, "customer_email")
    if customer_id and email:
        raise invalid("customer_email", "You may only specify one of these parameters: "
                      "customer, customer_email.")  # fmt: skip
    if customer_id:
        engine.get(ctx, "customer", customer_id, "customer")
    _check_account_can_charge(engine, ctx)
    options = {
        "payment_intent_data": _payment_intent_data(ctx, p, mode),
        "subscription_data": _subscription_data(p, mode),
    }
    items = _line_items(engine, ctx, p, mode)
    total = sum(item["amount_total"] for item in items)
    currency = items[0]["currency"]
    if mode == "payment":
        engine.minimum_amount(currency, total, "line_items")
    fee = options["payment_intent_data"]["application_fee_amount"]
    if fee is not None and fee > total:
        raise invalid("payment_intent_data[application_fee_amount]",
                      "The application fee cannot be greater than the amount.")  # fmt: skip
    session = build.checkout_session(
        {
            "amount_subtotal": total,
            "amount_total": total,
            "cancel_url": _url(p, "cancel_url"),
            "client_reference_id": forms.text(p, "client_reference_id"),
            "currency": currency,
            "customer": customer_id,
            "customer_creation": forms.text(p, "customer_creation")
            or ("if_required" if mode == "payment" and not customer_id else None),
            "customer_email": email,
            "expires_at": _expires_at(p),
            "locale": forms.text(p, "locale"),
            "mode": mode,
            "success_url": _url(p, "success_url"),
        },
        forms.metadata_merge({}, p.get("metadata")),
    )
    session["url"] = f"{ctx.base_url}/checkout/{session['id']}"
    engine.put(ctx, session)
    engine.store.checkout_line_items[session["id"]] = items
    engine.store.private[session["id"]] = options
    return engine.view(session, p)


def session_current(engine: Engine, ctx: Ctx, session_id: str, param: str = "id") -> Obj:
    """The session, expired first if its `expires_at` has passed."""
    session = engine.get(ctx, "checkout.session", session_id, param)
    if session["status"] == "open" and session["expires_at"] <= now():
        _expire(engine, ctx, session)
    return session


def session_retrieve(engine: Engine, ctx: Ctx, p: Params, session_id: str) -> Obj:
    return engine.view(session_current(engine, ctx, session_id), p)


def session_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = engine.store.all_of("checkout.session", ctx.account)
    for field in ("customer", "payment_intent", "subscription", "status"):
        wanted = forms.text(p, field)
        if wanted:
            found = [obj for obj in found if obj[field] == wanted]
    return engine.page(ctx, found, p, "/v1/checkout/sessions")


def session_line_items(engine: Engine, ctx: Ctx, p: Params, session_id: str) -> Obj:
    engine.get(ctx, "checkout.session", session_id)
    return engine.store.line_items_list(session_id)


def _expire(engine: Engine, ctx: Ctx, session: Obj) -> None:
    session.update(status="expired", url=None)
    engine.emit(ctx, "checkout.session.expired", session)


def session_expire(engine: Engine, ctx: Ctx, p: Params, session_id: str) -> Obj:
    session = session_current(engine, ctx, session_id)
    if session["status"] != "open":
        raise StripeError(
            f'Only Checkout Sessions with a status in ["open"] can be expired; this one is '
            f"{session['status']}.",
            code="checkout_session_not_open"
            if session["status"] == "complete"
            else "checkout_session_expired",
        )
    _expire(engine, ctx, session)
    return engine.view(session, p)


def session_complete(
    engine: Engine, ctx: Ctx, session_id: str, *, email: str | None = None, name: str | None = None
) -> Obj:
    """Pay the session: payment mode takes a payment, subscription mode starts the
    subscription and pays its first invoice. Emits the events, ends with
    checkout.session.completed."""
    session = session_current(engine, ctx, session_id)
    if session["status"] != "open":
        raise StripeError(
            f"This Checkout Session is {session['status']}: it can no longer be paid.",
            code="checkout_session_expired"
            if session["status"] == "expired"
            else "checkout_session_not_open",
        )
    customer = engine.store.find(session["customer"]) if session["customer"] else None
    email = (
        email
        or session["customer_email"]
        or (customer or {}).get("email")
        or ("customer@example.com")
    )
    options = engine.store.private.get(session["id"], {})
    if customer is None and (
        session["mode"] == "subscription" or session["customer_creation"] == "always"
    ):
        customer = catalog.make_customer(engine, ctx, {"email": email, "name": name})
    session["customer"] = customer["id"] if customer else None
    session["customer_details"] = {
        "address": None,
        "email": email,
        "name": name,
        "phone": None,
        "tax_exempt": "none",
        "tax_ids": [],
    }
    items = engine.store.checkout_line_items.get(session["id"], [])
    if session["mode"] == "payment":
        data = options.get("payment_intent_data", {})
        intent, _charge = engine.pay(
            ctx,
            amount=session["amount_total"],
            currency=session["currency"],
            customer_id=session["customer"],
            email=data.get("receipt_email") or email,
            name=name,
            description=data.get("description"),
            metadata=data.get("metadata"),
            application_fee_amount=data.get("application_fee_amount"),
        )
        session.update(payment_intent=intent["id"], payment_status="paid")
    else:
        assert customer is not None
        subscription, invoice = subscriptions.start(
            engine, ctx, customer, items, options.get("subscription_data", {}), email, name
        )
        session.update(
            subscription=subscription["id"],
            invoice=invoice["id"],
            payment_status="paid" if invoice["amount_paid"] else "no_payment_required",
        )
    session.update(status="complete", url=None)
    engine.emit(ctx, "checkout.session.completed", session)
    return session


def success_redirect(session: Obj) -> str | None:
    url = session.get("success_url")
    return url.replace("{CHECKOUT_SESSION_ID}", session["id"]) if url else None
