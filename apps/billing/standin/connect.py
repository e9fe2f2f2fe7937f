"""Connected accounts and their onboarding links, billing portal sessions, and events."""

from __future__ import annotations

import secrets
from typing import Any

from . import forms, subscriptions
from . import objects as build
from .engine import Ctx, Engine, Obj
from .errors import StripeError, invalid, missing
from .store import PLATFORM, new_id, now

Params = dict[str, Any]
ACCOUNT_TYPES = ("standard", "express", "custom")
LINK_TYPES = ("account_onboarding", "account_update")


def _platform_only(ctx: Ctx, what: str) -> None:
    if ctx.account:
        raise StripeError(
            f"{what} can only be called by the platform (without a Stripe-Account header).",
            status=403,
        )


def connected(engine: Engine, account_id: str | None, param: str = "account") -> Obj:
    obj = engine.store.find(account_id or "", PLATFORM)
    if (
        obj is None
        or obj.get("object") != "account"
        or obj["id"] == engine.store.platform_account_id
    ):
        raise missing("account", account_id or "", param)
    return obj


def account_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    _platform_only(ctx, "Creating accounts")
    kind = forms.text(p, "type") or "standard"
    if kind not in ACCOUNT_TYPES:
        raise invalid("type", f"Invalid type: must be one of {', '.join(ACCOUNT_TYPES)}")
    country = (forms.text(p, "country") or "US").upper()
    if country not in build.COUNTRY_CURRENCY:
        raise invalid("country", f"Country {country} is unknown to the stand-in; known: "
                      f"{', '.join(sorted(build.COUNTRY_CURRENCY))}.")  # fmt: skip
    profile = {
        key: value
        for key, value in forms.mapping(p, "business_profile").items()
        if isinstance(value, str)
    }
    obj = build.account(
        kind=kind,
        country=country,
        email=forms.text(p, "email"),
        business_profile=profile,
        metadata=forms.metadata_merge({}, p.get("metadata")),
    )
    currency = forms.text(p, "default_currency")
    if currency:
        obj["default_currency"] = currency.lower()
    return engine.view(engine.put(ctx, obj, owner=PLATFORM), p)


def account_retrieve(engine: Engine, ctx: Ctx, p: Params, account_id: str | None = None) -> Obj:
    """GET /v1/accounts/{id} (the platform) or GET /v1/account (the caller's own)."""
    if account_id is None:
        own = engine.store.find(ctx.account or engine.store.platform_account_id)
        assert own is not None
        return engine.view(own, p)
    if ctx.account and account_id != ctx.account:
        raise missing("account", account_id)
    if account_id == engine.store.platform_account_id:
        return engine.view(engine.store.find(account_id) or {}, p)
    return engine.view(connected(engine, account_id, "id"), p)


def account_update(engine: Engine, ctx: Ctx, p: Params, account_id: str) -> Obj:
    obj = connected(engine, account_id, "id")
    before = engine.snapshot(obj)
    if "email" in p:
        obj["email"] = forms.text(p, "email")
    for key, value in forms.mapping(p, "business_profile").items():
        obj["business_profile"][key] = value or None
    obj["metadata"] = forms.metadata_merge(obj["metadata"], p.get("metadata"))
    engine.emit(ctx, "account.updated", obj, before)
    return engine.view(obj, p)


def account_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    _platform_only(ctx, "Listing accounts")
    found = [
        obj
        for obj in engine.store.all_of("account", PLATFORM)
        if obj["id"] != engine.store.platform_account_id
    ]
    return engine.page(ctx, found, p, "/v1/accounts")


def account_link_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    _platform_only(ctx, "Creating account links")
    account = connected(engine, forms.text(p, "account", need=True))
    refresh_url = forms.text(p, "refresh_url", need=True)
    return_url = forms.text(p, "return_url", need=True)
    kind = forms.text(p, "type", need=True)
    if kind not in LINK_TYPES:
        raise invalid("type", f"Invalid type: must be one of {', '.join(LINK_TYPES)}")
    token = secrets.token_urlsafe(16)
    created = now()
    engine.store.account_links[token] = {
        "account": account["id"],
        "refresh_url": refresh_url,
        "return_url": return_url,
        "expires_at": created + 300,
    }
    return {
        "object": "account_link",
        "created": created,
        "expires_at": created + 300,
        "url": f"{ctx.base_url}/connect/{account['id']}?link={token}",
    }


def onboard(engine: Engine, ctx: Ctx, account: Obj) -> Obj:
    """What finishing Stripe's onboarding form does: charges and payouts enabled."""
    before = engine.snapshot(account)
    account.update(
        charges_enabled=True,
        payouts_enabled=True,
        details_submitted=True,
        capabilities={"card_payments": "active", "transfers": "active"},
        requirements=build.requirements([]),
        tos_acceptance={"date": now(), "ip": "127.0.0.1", "user_agent": "stripe-standin"},
    )
    account["business_profile"]["url"] = account["business_profile"]["url"] or (
        "https://example.com"
    )
    engine.emit(ctx, "account.updated", account, before)
    return account


def restrict(engine: Engine, ctx: Ctx, account: Obj, reason: str | None = None) -> Obj:
    """Stripe needs more information: charges (and payouts) are disabled."""
    before = engine.snapshot(account)
    due = ["individual.verification.document"]
    account.update(
        charges_enabled=False,
        payouts_enabled=False,
        capabilities={"card_payments": "inactive", "transfers": "inactive"},
        requirements=build.requirements(due, reason or "requirements.past_due"),
    )
    engine.emit(ctx, "account.updated", account, before)
    return account


# --- billing portal -----------------------------------------------------------------


def portal_session_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    customer = engine.get(ctx, "customer", forms.text(p, "customer", need=True), "customer")
    session = {
        "id": new_id("bps_"),
        "object": "billing_portal.session",
        "configuration": "bpc_standin",
        "created": now(),
        "customer": customer["id"],
        "flow": None,
        "livemode": False,
        "locale": forms.text(p, "locale"),
        "on_behalf_of": None,
        "return_url": forms.text(p, "return_url"),
    }
    session["url"] = f"{ctx.base_url}/portal/{session['id']}"
    return engine.view(engine.put(ctx, session), p)


def portal_subscriptions(engine: Engine, session: Obj) -> list[Obj]:
    owner = engine.store.owner_of(session["id"])
    return [
        sub
        for sub in engine.store.all_of("subscription", owner)
        if sub["customer"] == session["customer"] and sub["status"] != "canceled"
    ]


def portal_cancel(engine: Engine, ctx: Ctx, session: Obj, subscription_id: str) -> Obj:
    for sub in portal_subscriptions(engine, session):
        if sub["id"] == subscription_id:
            return subscriptions.end(engine, ctx, sub, "Canceled in the billing portal")
    raise missing("subscription", subscription_id, "subscription")


# --- events ---------------------------------------------------------------------------


def event_retrieve(engine: Engine, ctx: Ctx, p: Params, event_id: str) -> Obj:
    return engine.view(engine.get(ctx, "event", event_id), p)


def event_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = engine.store.all_of("event", ctx.account)
    kinds = forms.strings(p, "types") or ([forms.text(p, "type") or ""] if "type" in p else [])
    if kinds:
        found = [obj for obj in found if _matches(obj["type"], kinds)]
    return engine.page(ctx, found, p, "/v1/events")


def _matches(kind: str, patterns: list[str]) -> bool:
    return any(
        kind == pattern or (pattern.endswith("*") and kind.startswith(pattern[:-1]))
        for pattern in patterns
    )
