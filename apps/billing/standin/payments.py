"""PaymentIntents, Charges, Refunds, balance transactions and application fees."""

from __future__ import annotations

from typing import Any

from . import forms
from . import objects as build
from .engine import Ctx, Engine, Obj
from .errors import StripeError, invalid, required
from .store import PLATFORM

Params = dict[str, Any]
REFUND_REASONS = ("duplicate", "fraudulent", "requested_by_customer")


def _filtered(engine: Engine, ctx: Ctx, kind: str, p: Params, fields: tuple[str, ...]) -> list:
    found = engine.store.all_of(kind, ctx.account)
    for field in fields:
        wanted = forms.text(p, field)
        if wanted:
            found = [obj for obj in found if obj.get(field) == wanted]
    return found


def intent_retrieve(engine: Engine, ctx: Ctx, p: Params, intent_id: str) -> Obj:
    return engine.view(engine.get(ctx, "payment_intent", intent_id), p)


def intent_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = _filtered(engine, ctx, "payment_intent", p, ("customer",))
    return engine.page(ctx, found, p, "/v1/payment_intents")


def charge_retrieve(engine: Engine, ctx: Ctx, p: Params, charge_id: str) -> Obj:
    return engine.view(engine.get(ctx, "charge", charge_id), p)


def charge_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = _filtered(engine, ctx, "charge", p, ("customer", "payment_intent"))
    return engine.page(ctx, found, p, "/v1/charges")


def balance_transaction_retrieve(engine: Engine, ctx: Ctx, p: Params, txn_id: str) -> Obj:
    return engine.view(engine.get(ctx, "balance_transaction", txn_id), p)


def application_fee_retrieve(engine: Engine, ctx: Ctx, p: Params, fee_id: str) -> Obj:
    platform = Ctx(account=PLATFORM, base_url=ctx.base_url)
    return engine.view(engine.get(platform, "application_fee", fee_id), p)


def _refunded_charge(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    charge_id, intent_id = forms.text(p, "charge"), forms.text(p, "payment_intent")
    if charge_id and intent_id:
        raise invalid("payment_intent", "You may only specify one of these parameters: "
                      "charge, payment_intent.")  # fmt: skip
    if intent_id:
        intent = engine.get(ctx, "payment_intent", intent_id, "payment_intent")
        if not intent["latest_charge"]:
            raise StripeError(
                f"This PaymentIntent ({intent_id}) does not have a successful charge to refund.",
                code="payment_intent_unexpected_state",
                param="payment_intent",
            )
        charge_id = intent["latest_charge"]
    if not charge_id:
        raise required("charge")
    return engine.get(ctx, "charge", charge_id, "charge")


def _money(currency: str, amount: int) -> str:
    if currency in build.ZERO_DECIMAL:
        return f"{amount} {currency.upper()}"
    return f"{amount / 100:.2f} {currency.upper()}"


def refund_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    charge = _refunded_charge(engine, ctx, p)
    remaining = charge["amount"] - charge["amount_refunded"]
    if remaining <= 0:
        raise StripeError(
            f"Charge {charge['id']} has already been refunded.", code="charge_already_refunded"
        )
    amount = forms.integer(p, "amount")
    if amount is None:
        amount = remaining
    if amount <= 0:
        raise invalid("amount", "Invalid positive integer", code="parameter_invalid_integer")
    if amount > remaining:
        raise StripeError(
            f"Refund amount ({_money(charge['currency'], amount)}) is greater than unrefunded "
            f"amount on charge ({_money(charge['currency'], remaining)})",
            code="amount_too_large",
            param="amount",
        )
    reason = forms.text(p, "reason")
    if reason is not None and reason not in REFUND_REASONS:
        raise invalid("reason", f"Invalid reason: must be one of {', '.join(REFUND_REASONS)}")
    before = engine.snapshot(charge)
    txn = engine.put(
        ctx,
        build.balance_transaction(
            amount=-amount,
            currency=charge["currency"],
            source="",
            kind="refund",
            fee=0,
            description="REFUND FOR CHARGE",
        ),
    )
    refund = build.refund(
        charge_obj=charge,
        amount=amount,
        reason=reason,
        txn_id=txn["id"],
        metadata=forms.metadata_merge({}, p.get("metadata")),
    )
    txn["source"] = refund["id"]
    engine.put(ctx, refund)
    charge["amount_refunded"] += amount
    charge["refunded"] = charge["amount_refunded"] >= charge["amount"]
    charge["refunds"]["data"].insert(0, refund["id"])
    if forms.boolean(p, "refund_application_fee") and charge["application_fee"]:
        fee = engine.store.find(charge["application_fee"])
        if fee is not None:
            share = fee["amount"] * amount // charge["amount"]
            fee["amount_refunded"] = min(fee["amount"], fee["amount_refunded"] + share)
            fee["refunded"] = fee["amount_refunded"] >= fee["amount"]
    engine.emit(ctx, "refund.created", refund)
    engine.emit(ctx, "charge.refunded", charge, before)
    return engine.view(refund, p)


def refund_retrieve(engine: Engine, ctx: Ctx, p: Params, refund_id: str) -> Obj:
    return engine.view(engine.get(ctx, "refund", refund_id), p)


def refund_update(engine: Engine, ctx: Ctx, p: Params, refund_id: str) -> Obj:
    refund = engine.get(ctx, "refund", refund_id)
    before = engine.snapshot(refund)
    refund["metadata"] = forms.metadata_merge(refund["metadata"], p.get("metadata"))
    engine.emit(ctx, "refund.updated", refund, before)
    return engine.view(refund, p)


def refund_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = _filtered(engine, ctx, "refund", p, ("charge", "payment_intent"))
    return engine.page(ctx, found, p, "/v1/refunds")
