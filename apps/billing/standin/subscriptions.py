"""Subscriptions, their items and invoices: starting one from a Checkout Session,
retrieve/list/update/cancel, and moving one between statuses (past_due with a failed
invoice, back to active by paying it, canceled)."""

from __future__ import annotations

import calendar
import datetime as dt
from typing import Any

from . import forms
from . import objects as build
from .engine import Ctx, Engine, Obj
from .errors import StripeError, invalid
from .store import now

Params = dict[str, Any]
STATUSES = ("active", "past_due", "unpaid", "canceled", "incomplete", "incomplete_expired",
            "trialing", "paused")  # fmt: skip


def period_end(start: int, recurring: dict[str, Any]) -> int:
    count = recurring.get("interval_count") or 1
    interval = recurring["interval"]
    if interval in ("day", "week"):
        return start + count * (7 if interval == "week" else 1) * 86400
    months = count * (12 if interval == "year" else 1)
    moment = dt.datetime.fromtimestamp(start, tz=dt.UTC)
    month_index = moment.month - 1 + months
    year, month = moment.year + month_index // 12, month_index % 12 + 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return int(moment.replace(year=year, month=month, day=day).timestamp())


def _invoice_number(engine: Engine, customer: Obj) -> str:
    sequence = customer.get("next_invoice_sequence", 1)
    customer["next_invoice_sequence"] = sequence + 1
    return f"{customer.get('invoice_prefix', 'STANDIN')}-{sequence:04d}"


def _items(engine: Engine, subscription: Obj) -> list[Obj]:
    found = (engine.store.find(item_id) for item_id in subscription["items"]["data"])
    return [item for item in found if item is not None]


def _invoice(
    engine: Engine,
    ctx: Ctx,
    subscription: Obj,
    period: tuple[int, int],
    reason: str,
    trial: bool = False,
) -> Obj:
    """A finalized invoice for the subscription's items over `period` (emits created and
    finalized); whoever calls it pays it or fails it."""
    customer = engine.store.find(subscription["customer"]) or {}
    invoice = build.invoice(
        customer_obj=customer,
        subscription_obj=subscription,
        currency=subscription["currency"],
        period=period,
        billing_reason=reason,
        base_url=ctx.base_url,
        number=_invoice_number(engine, customer),
    )
    total = 0
    for item in _items(engine, subscription):
        price = item["price"]
        amount = 0 if trial else price["unit_amount"] * item["quantity"]
        product = engine.store.find(price["product"]) or {}
        label = f"{item['quantity']} x {product.get('name', price['id'])}"
        line = build.invoice_line(
            invoice_id=invoice["id"],
            item=item,
            period=period,
            amount=amount,
            description=f"Trial period for {product.get('name', '')}" if trial else label,
        )
        engine.put(ctx, line)
        invoice["lines"]["data"].append(line["id"])
        total += amount
    invoice.update(subtotal=total, total=total, amount_due=total, amount_remaining=total)
    engine.put(ctx, invoice)
    subscription["latest_invoice"] = invoice["id"]
    engine.emit(ctx, "invoice.created", invoice)
    invoice.update(status="open", auto_advance=True)
    invoice["status_transitions"]["finalized_at"] = now()
    engine.emit(ctx, "invoice.finalized", invoice)
    return invoice


def _pay_invoice(
    engine: Engine, ctx: Ctx, invoice: Obj, email: str | None, name: str | None
) -> None:
    if invoice["amount_due"] > 0:
        intent, charge = engine.pay(
            ctx,
            amount=invoice["amount_due"],
            currency=invoice["currency"],
            customer_id=invoice["customer"],
            email=email or invoice.get("customer_email"),
            name=name or invoice.get("customer_name"),
            description=f"Invoice {invoice['number']}",
            invoice_id=invoice["id"],
        )
        invoice.update(payment_intent=intent["id"], charge=charge["id"])
    invoice.update(
        status="paid",
        paid=True,
        attempted=True,
        attempt_count=invoice["attempt_count"] + 1,
        amount_paid=invoice["amount_due"],
        amount_remaining=0,
        auto_advance=False,
    )
    invoice["status_transitions"]["paid_at"] = now()
    engine.emit(ctx, "invoice.paid", invoice)
    engine.emit(ctx, "invoice.payment_succeeded", invoice)


def start(
    engine: Engine,
    ctx: Ctx,
    customer: Obj,
    line_items: list[Obj],
    options: dict[str, Any],
    email: str | None,
    name: str | None,
) -> tuple[Obj, Obj]:
    """A subscription for the recurring line items of a Checkout Session, with its first
    invoice paid (zero during a trial)."""
    recurring = [item for item in line_items if item["price"]["recurring"]]
    started = now()
    trial_days = options.get("trial_period_days")
    trial = (started, started + trial_days * 86400) if trial_days else None
    period = trial or (started, period_end(started, recurring[0]["price"]["recurring"]))
    subscription = build.subscription(
        customer_id=customer["id"],
        currency=recurring[0]["currency"],
        period=period,
        trial=trial,
        metadata=options.get("metadata") or {},
    )
    subscription["description"] = options.get("description")
    for entry in recurring:
        item = build.subscription_item(
            subscription_id=subscription["id"],
            price_obj=entry["price"],
            quantity=entry["quantity"],
            period=period,
        )
        engine.put(ctx, item)
        subscription["items"]["data"].append(item["id"])
    engine.put(ctx, subscription)
    invoice = _invoice(engine, ctx, subscription, period, "subscription_create", bool(trial))
    _pay_invoice(engine, ctx, invoice, email, name)
    engine.emit(ctx, "customer.subscription.created", subscription)
    return subscription, invoice


# --- the API --------------------------------------------------------------------------


def retrieve(engine: Engine, ctx: Ctx, p: Params, subscription_id: str) -> Obj:
    return engine.view(engine.get(ctx, "subscription", subscription_id), p)


def listing(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = engine.store.all_of("subscription", ctx.account)
    status = forms.text(p, "status")
    if status is None:
        found = [obj for obj in found if obj["status"] not in ("canceled", "incomplete_expired")]
    elif status != "all":
        if status not in STATUSES and status != "ended":
            raise invalid("status", f"Invalid status: {status}")
        found = [obj for obj in found if obj["status"] == status]
    customer = forms.text(p, "customer")
    if customer:
        found = [obj for obj in found if obj["customer"] == customer]
    price = forms.text(p, "price")
    if price:
        found = [
            obj
            for obj in found
            if any(item["price"]["id"] == price for item in _items(engine, obj))
        ]
    return engine.page(ctx, found, p, "/v1/subscriptions")


def _update_items(engine: Engine, ctx: Ctx, subscription: Obj, entries: list[Any]) -> None:
    for index, entry in enumerate(entries):
        param = f"items[{index}]"
        if not isinstance(entry, dict):
            raise invalid(param, f"Invalid hash: {param}")
        item_id = forms.text(entry, "id")
        item = engine.get(ctx, "subscription_item", item_id, f"{param}[id]") if item_id else None
        if item is not None and item["subscription"] != subscription["id"]:
            raise invalid(f"{param}[id]", f"{item_id} is not an item of {subscription['id']}")
        if item is not None and forms.boolean(entry, "deleted"):
            subscription["items"]["data"].remove(item["id"])
            continue
        price_id = forms.text(entry, "price")
        price = engine.get(ctx, "price", price_id, f"{param}[price]") if price_id else None
        if price is not None and not price["recurring"]:
            raise invalid(f"{param}[price]", "The price specified is not a recurring price.")
        if price is not None and price["currency"] != subscription["currency"]:
            raise invalid(f"{param}[price]", "The price's currency must match the subscription's.")
        quantity = forms.integer(entry, "quantity")
        if item is None:
            if price is None:
                raise invalid(f"{param}[price]", "A new item needs a price.")
            item = build.subscription_item(
                subscription_id=subscription["id"],
                price_obj=price,
                quantity=quantity or 1,
                period=(subscription["current_period_start"], subscription["current_period_end"]),
            )
            engine.put(ctx, item)
            subscription["items"]["data"].append(item["id"])
            continue
        if price is not None:
            item["price"] = price
        if quantity is not None:
            item["quantity"] = quantity
        item["metadata"] = forms.metadata_merge(item["metadata"], entry.get("metadata"))


def update(engine: Engine, ctx: Ctx, p: Params, subscription_id: str) -> Obj:
    subscription = engine.get(ctx, "subscription", subscription_id)
    if subscription["status"] == "canceled":
        raise StripeError(
            "A canceled subscription can only update its cancellation_details and metadata.",
        )
    before = engine.snapshot(subscription)
    _update_items(engine, ctx, subscription, forms.items(p, "items"))
    at_period_end = forms.boolean(p, "cancel_at_period_end")
    if at_period_end is not None:
        subscription["cancel_at_period_end"] = at_period_end
        subscription["cancel_at"] = subscription["current_period_end"] if at_period_end else None
        subscription["canceled_at"] = now() if at_period_end else None
    if "description" in p:
        subscription["description"] = forms.text(p, "description")
    subscription["metadata"] = forms.metadata_merge(subscription["metadata"], p.get("metadata"))
    engine.emit(ctx, "customer.subscription.updated", subscription, before)
    return engine.view(subscription, p)


def end(engine: Engine, ctx: Ctx, subscription: Obj, comment: str | None = None) -> Obj:
    if subscription["status"] == "canceled":
        raise StripeError(
            f"The subscription {subscription['id']} is already canceled.",
            code="resource_missing",
            status=404,
        )
    moment = now()
    subscription.update(status="canceled", canceled_at=moment, ended_at=moment, cancel_at=None)
    subscription["cancellation_details"] = {
        "comment": comment,
        "feedback": None,
        "reason": "cancellation_requested",
    }
    engine.emit(ctx, "customer.subscription.deleted", subscription)
    return subscription


def cancel(engine: Engine, ctx: Ctx, p: Params, subscription_id: str) -> Obj:
    subscription = engine.get(ctx, "subscription", subscription_id)
    details = forms.mapping(p, "cancellation_details")
    return engine.view(end(engine, ctx, subscription, forms.text(details, "comment")), p)


def item_retrieve(engine: Engine, ctx: Ctx, p: Params, item_id: str) -> Obj:
    return engine.view(engine.get(ctx, "subscription_item", item_id), p)


def item_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    subscription = engine.get(
        ctx, "subscription", forms.text(p, "subscription", need=True), "subscription"
    )
    return engine.page(ctx, _items(engine, subscription), p, "/v1/subscription_items")


def invoice_retrieve(engine: Engine, ctx: Ctx, p: Params, invoice_id: str) -> Obj:
    return engine.view(engine.get(ctx, "invoice", invoice_id), p)


def invoice_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = engine.store.all_of("invoice", ctx.account)
    for field in ("customer", "subscription", "status"):
        wanted = forms.text(p, field)
        if wanted:
            found = [obj for obj in found if obj[field] == wanted]
    return engine.page(ctx, found, p, "/v1/invoices")


def invoice_lines(engine: Engine, ctx: Ctx, p: Params, invoice_id: str) -> Obj:
    invoice = engine.get(ctx, "invoice", invoice_id)
    lines = [engine.store.find(line_id) for line_id in invoice["lines"]["data"]]
    found = [line for line in lines if line is not None]
    return engine.page(ctx, found, p, f"/v1/invoices/{invoice_id}/lines")


# --- moving a subscription between statuses (control API) ----------------------------


def _next_period(engine: Engine, subscription: Obj) -> tuple[int, int]:
    items = _items(engine, subscription)
    start = subscription["current_period_end"]
    recurring = items[0]["price"]["recurring"] if items else {"interval": "month"}
    return start, period_end(start, recurring)


def _set_period(engine: Engine, subscription: Obj, period: tuple[int, int]) -> None:
    subscription.update(current_period_start=period[0], current_period_end=period[1])
    for item in _items(engine, subscription):
        item.update(current_period_start=period[0], current_period_end=period[1])


def set_status(engine: Engine, ctx: Ctx, subscription: Obj, status: str) -> Obj:
    """past_due: the renewal invoice fails (invoice.payment_failed); active: the open
    invoice is paid (invoice.paid); canceled: customer.subscription.deleted; others
    just change the status. Each ends with the subscription's event."""
    if status not in STATUSES:
        raise invalid("status", f"Unknown subscription status: {status}")
    if status == "canceled":
        return end(engine, ctx, subscription)
    before = engine.snapshot(subscription)
    latest = engine.store.find(subscription["latest_invoice"] or "")
    if status == "past_due":
        period = _next_period(engine, subscription)
        _set_period(engine, subscription, period)
        invoice = _invoice(engine, ctx, subscription, period, "subscription_cycle")
        invoice.update(attempted=True, attempt_count=1, next_payment_attempt=now() + 3 * 86400)
        engine.emit(ctx, "invoice.payment_failed", invoice)
    elif status == "active" and latest is not None and latest["status"] == "open":
        _pay_invoice(engine, ctx, latest, None, None)
    elif status == "active" and subscription["status"] == "trialing":
        items = _items(engine, subscription)
        started = now()
        subscription.update(trial_end=started)
        period = (started, period_end(started, items[0]["price"]["recurring"]))
        _set_period(engine, subscription, period)
        invoice = _invoice(engine, ctx, subscription, period, "subscription_cycle")
        _pay_invoice(engine, ctx, invoice, None, None)
    subscription["status"] = status
    engine.emit(ctx, "customer.subscription.updated", subscription, before)
    return subscription
