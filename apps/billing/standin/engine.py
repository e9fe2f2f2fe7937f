"""What every operation shares: the request context, finding objects the caller may see,
emitting events, Stripe's list pagination, and taking a payment (PaymentIntent, Charge,
balance transaction, application fee)."""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass, field
from typing import Any

from . import forms
from . import objects as build
from .errors import StripeError, invalid, missing, required
from .store import PLATFORM, Store

Obj = dict[str, Any]
CURRENCY = re.compile(r"^[a-z]{3}$")
# Stripe's names for objects in "No such ..." messages, where not the object's type.
LABELS = {
    "balance_transaction": "balance transaction",
    "application_fee": "application fee",
    "billing_portal.session": "billing portal session",
}


@dataclass
class Ctx:
    """One caller's view: `account` is the Stripe-Account header ("" = the platform)."""

    account: str
    base_url: str
    request_id: str | None = None
    idempotency_key: str | None = None
    emitted: list[Obj] = field(default_factory=list)


class Engine:
    def __init__(self, store: Store) -> None:
        self.store = store
        store.put(build.platform_account(store.platform_account_id), PLATFORM)

    def reset(self, *, keep_webhooks: bool = False) -> None:
        with self.store.lock:
            self.store.reset(keep_webhooks=keep_webhooks)
            self.store.put(build.platform_account(self.store.platform_account_id), PLATFORM)

    # --- finding ------------------------------------------------------------------

    def get(self, ctx: Ctx, kind: str, object_id: str | None, param: str = "id") -> Obj:
        obj = self.store.find(object_id or "", ctx.account)
        if obj is None or obj.get("object") != kind:
            raise missing(LABELS.get(kind, kind), object_id or "", param)
        return obj

    def view(self, obj: Obj, params: dict[str, Any] | None = None) -> Obj:
        return self.store.render(obj, forms.strings(params or {}, "expand"))

    def page(self, ctx: Ctx, found: list[Obj], params: dict[str, Any], url: str) -> Obj:
        """Stripe's list object over `found` (newest first): limit, starting_after,
        ending_before; `expand[]=data.x` applies to each entry."""
        limit = forms.integer(params, "limit") or 10
        if not 1 <= limit <= 100:
            raise invalid("limit", "Invalid limit: must be between 1 and 100")
        ids = [obj["id"] for obj in found]
        after, before = forms.text(params, "starting_after"), forms.text(params, "ending_before")
        if after:
            if after not in ids:
                raise missing("object", after, "starting_after")
            found = found[ids.index(after) + 1 :]
        elif before:
            if before not in ids:
                raise missing("object", before, "ending_before")
            found = found[: ids.index(before)][-limit:]
        chosen = found[:limit]
        result = build.list_object([self.store.render(obj) for obj in chosen], url)
        result["has_more"] = len(found) > limit
        for path in forms.strings(params, "expand"):
            self.store.expand(result, path.split("."))
        return result

    # --- changing -------------------------------------------------------------------

    def put(self, ctx: Ctx, obj: Obj, owner: str | None = None) -> Obj:
        return self.store.put(obj, ctx.account if owner is None else owner)

    def snapshot(self, obj: Obj) -> Obj:
        return self.store.render(obj)

    def emit(self, ctx: Ctx, kind: str, obj: Obj, before: Obj | None = None) -> Obj:
        """Store an event about `obj` (a full copy of it as it is now); `before` (a
        snapshot) gives `previous_attributes`. The server delivers ctx.emitted."""
        rendered = self.store.render(obj)
        owner = self.store.owner_of(obj["id"])
        if obj.get("object") == "account" and obj["id"] != self.store.platform_account_id:
            owner = obj["id"]  # account.updated belongs to the connected account
        account_id = owner or None
        probe = {"type": kind, "account": account_id}
        pending = sum(1 for endpoint in self.store.endpoints if endpoint.wants(probe))
        event = build.event(
            kind=kind,
            obj=rendered,
            account_id=account_id,
            previous=previous_attributes(before, rendered) if before else None,
            request_id=ctx.request_id,
            idempotency_key=ctx.idempotency_key,
            pending_webhooks=pending,
        )
        self.store.put(event, owner)
        ctx.emitted.append(event)
        return event

    # --- money ----------------------------------------------------------------------

    def check_currency(self, ctx: Ctx, currency: str | None, param: str = "currency") -> str:
        if not currency:
            raise required(param)
        currency = currency.lower()
        if not CURRENCY.match(currency):
            raise invalid(param, f"Invalid currency: {currency}.")
        if ctx.account:
            account = self.store.find(ctx.account)
            country = account["country"] if account else "US"
            if currency not in build.country_spec(country)["supported_payment_currencies"]:
                raise invalid(
                    param,
                    f"The currency {currency} is not supported by account {ctx.account} "
                    f"(country {country}).",
                )
        return currency

    def pay(
        self,
        ctx: Ctx,
        *,
        amount: int,
        currency: str,
        customer_id: str | None,
        email: str | None,
        name: str | None,
        description: str | None = None,
        metadata: dict[str, str] | None = None,
        application_fee_amount: int | None = None,
        invoice_id: str | None = None,
    ) -> tuple[Obj, Obj]:
        """A succeeded PaymentIntent and its Charge (with the balance transaction and,
        on a connected account, the platform's application fee); emits the events."""
        intent = self.put(
            ctx,
            build.payment_intent(
                amount=amount,
                currency=currency,
                customer_id=customer_id,
                description=description,
                application_fee_amount=application_fee_amount,
                receipt_email=email,
                metadata=metadata or {},
            ),
        )
        self.emit(ctx, "payment_intent.created", intent)
        fee = 0 if currency in build.ZERO_DECIMAL else round(amount * 0.029) + 30
        charge = build.charge(
            intent=intent,
            balance_transaction_id="",
            application_fee_id=None,
            email=email,
            name=name,
            base_url=ctx.base_url,
            invoice_id=invoice_id,
        )
        txn = self.put(
            ctx,
            build.balance_transaction(
                amount=amount,
                currency=currency,
                source=charge["id"],
                kind="charge",
                fee=min(fee, amount),
                description=description,
            ),
        )
        charge["balance_transaction"] = txn["id"]
        if application_fee_amount and ctx.account:
            app_fee = build.application_fee(
                charge_obj=charge, account_id=ctx.account, amount=application_fee_amount
            )
            charge["application_fee"] = self.put(ctx, app_fee, owner=PLATFORM)["id"]
        self.put(ctx, charge)
        intent.update(status="succeeded", amount_received=amount, latest_charge=charge["id"])
        intent["invoice"] = invoice_id
        self.emit(ctx, "charge.succeeded", charge)
        self.emit(ctx, "payment_intent.succeeded", intent)
        return intent, charge

    def minimum_amount(self, currency: str, amount: int, param: str) -> None:
        minimum = build.MINIMUM_CHARGE.get(currency, 50)
        if currency in build.ZERO_DECIMAL:
            minimum = 50 if currency == "jpy" else 1
        if 0 < amount < minimum:
            raise StripeError(
                f"The Checkout Session's total amount due must add up to at least "
                f"{minimum} {currency} (in the smallest currency unit).",
                code="amount_too_small",
                param=param,
            )


def previous_attributes(before: Obj, after: Obj) -> Obj:
    return {
        key: copy.deepcopy(value)
        for key, value in before.items()
        if key not in ("updated",) and after.get(key) != value
    }
