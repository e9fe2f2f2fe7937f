"""Products, prices, customers and country specs."""

from __future__ import annotations

from typing import Any

from . import forms
from . import objects as build
from .engine import Ctx, Engine, Obj
from .errors import StripeError, invalid, missing, required

Params = dict[str, Any]
INTERVALS = ("day", "week", "month", "year")


# --- products ---------------------------------------------------------------------


def product_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    custom_id = forms.text(p, "id")
    if custom_id and engine.store.find(custom_id) is not None:
        raise StripeError(
            f"Product already exists: {custom_id}", code="resource_already_exists", param="id"
        )
    obj = build.product(
        forms.text(p, "name", need=True) or "",
        description=forms.text(p, "description"),
        active=forms.boolean(p, "active") is not False,
        metadata=forms.metadata_merge({}, p.get("metadata")),
    )
    if custom_id:
        obj["id"] = custom_id
    engine.put(ctx, obj)
    engine.emit(ctx, "product.created", obj)
    return engine.view(obj, p)


def product_retrieve(engine: Engine, ctx: Ctx, p: Params, product_id: str) -> Obj:
    return engine.view(engine.get(ctx, "product", product_id), p)


def product_update(engine: Engine, ctx: Ctx, p: Params, product_id: str) -> Obj:
    obj = engine.get(ctx, "product", product_id)
    before = engine.snapshot(obj)
    for name in ("name", "description"):
        if name in p:
            obj[name] = forms.text(p, name)
    if forms.boolean(p, "active") is not None:
        obj["active"] = forms.boolean(p, "active")
    if "default_price" in p:
        price_id = forms.text(p, "default_price")
        if price_id:
            engine.get(ctx, "price", price_id, "default_price")
        obj["default_price"] = price_id
    obj["metadata"] = forms.metadata_merge(obj["metadata"], p.get("metadata"))
    obj["updated"] = build.now()
    engine.emit(ctx, "product.updated", obj, before)
    return engine.view(obj, p)


def product_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = engine.store.all_of("product", ctx.account)
    active = forms.boolean(p, "active")
    if active is not None:
        found = [obj for obj in found if obj["active"] == active]
    ids = forms.strings(p, "ids")
    if ids:
        found = [obj for obj in found if obj["id"] in ids]
    return engine.page(ctx, found, p, "/v1/products")


def product_features(engine: Engine, ctx: Ctx, p: Params, product_id: str) -> Obj:
    engine.get(ctx, "product", product_id)
    return build.list_object([], f"/v1/products/{product_id}/features")


# --- prices -------------------------------------------------------------------------


def _recurring(p: Params, param: str = "recurring") -> dict[str, Any] | None:
    data = forms.mapping(p, param)
    if not data:
        return None
    interval = forms.text(data, "interval")
    if interval not in INTERVALS:
        raise invalid(f"{param}[interval]", f"Invalid {param}[interval]: must be one of "
                      "day, week, month, or year")  # fmt: skip
    count = forms.integer(data, "interval_count") or 1
    return build.recurring(interval, count, forms.integer(data, "trial_period_days"))


def _unit_amount(p: Params, param: str) -> int:
    amount = forms.integer(p, "unit_amount")
    if amount is None and forms.text(p, "unit_amount_decimal"):
        amount = int(float(forms.text(p, "unit_amount_decimal") or 0))
    if amount is None:
        raise required(param)
    if amount < 0:
        raise invalid(param, "This value must be greater than or equal to 0.")
    return amount


def _claim_lookup_key(engine: Engine, ctx: Ctx, key: str | None, transfer: bool) -> None:
    if not key:
        return
    for other in engine.store.all_of("price", ctx.account):
        if other["lookup_key"] == key:
            if not transfer:
                raise StripeError(
                    f"A price (`{other['id']}`) already uses that lookup key.",
                    code="lookup_key_exists",
                    param="lookup_key",
                )
            other["lookup_key"] = None


def make_price(
    engine: Engine, ctx: Ctx, p: Params, *, param_prefix: str = "", inline: bool = False
) -> Obj:
    """A Price from `p` (a create call's params, or a `price_data` hash inline)."""

    def name(field: str) -> str:
        return f"{param_prefix}[{field}]" if param_prefix else field

    currency = engine.check_currency(ctx, forms.text(p, "currency"), name("currency"))
    product_id = forms.text(p, "product")
    product_data = forms.mapping(p, "product_data")
    if product_id:
        engine.get(ctx, "product", product_id, name("product"))
    elif product_data:
        product = engine.put(
            ctx,
            build.product(
                forms.text(product_data, "name", need=True) or "",
                description=forms.text(product_data, "description"),
                active=not inline,
                metadata=forms.metadata_merge({}, product_data.get("metadata")),
            ),
        )
        engine.emit(ctx, "product.created", product)
        product_id = product["id"]
    else:
        raise required(name("product"))
    lookup_key = forms.text(p, "lookup_key")
    _claim_lookup_key(engine, ctx, lookup_key, forms.boolean(p, "transfer_lookup_key") is True)
    obj = build.price(
        product_id=product_id,
        currency=currency,
        unit_amount=_unit_amount(p, name("unit_amount")),
        recurring=_recurring(p),
        lookup_key=lookup_key,
        nickname=forms.text(p, "nickname"),
        # Inline prices (price_data) are not offered for new purchases on their own.
        active=not inline and forms.boolean(p, "active") is not False,
        metadata=forms.metadata_merge({}, p.get("metadata")),
    )
    engine.put(ctx, obj)
    engine.emit(ctx, "price.created", obj)
    return obj


def price_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    return engine.view(make_price(engine, ctx, p), p)


def price_retrieve(engine: Engine, ctx: Ctx, p: Params, price_id: str) -> Obj:
    return engine.view(engine.get(ctx, "price", price_id), p)


def price_update(engine: Engine, ctx: Ctx, p: Params, price_id: str) -> Obj:
    obj = engine.get(ctx, "price", price_id)
    before = engine.snapshot(obj)
    if forms.boolean(p, "active") is not None:
        obj["active"] = forms.boolean(p, "active")
    if "nickname" in p:
        obj["nickname"] = forms.text(p, "nickname")
    if "lookup_key" in p:
        key = forms.text(p, "lookup_key")
        if key != obj["lookup_key"]:
            _claim_lookup_key(engine, ctx, key, forms.boolean(p, "transfer_lookup_key") is True)
        obj["lookup_key"] = key
    obj["metadata"] = forms.metadata_merge(obj["metadata"], p.get("metadata"))
    engine.emit(ctx, "price.updated", obj, before)
    return engine.view(obj, p)


def price_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = engine.store.all_of("price", ctx.account)
    active = forms.boolean(p, "active")
    if active is not None:
        found = [obj for obj in found if obj["active"] == active]
    for field in ("product", "currency", "type"):
        wanted = forms.text(p, field)
        if wanted:
            found = [obj for obj in found if obj[field] == wanted]
    lookup_keys = forms.strings(p, "lookup_keys")
    if lookup_keys:
        found = [obj for obj in found if obj["lookup_key"] in lookup_keys]
    interval = forms.text(forms.mapping(p, "recurring"), "interval")
    if interval:
        found = [obj for obj in found if (obj["recurring"] or {}).get("interval") == interval]
    return engine.page(ctx, found, p, "/v1/prices")


# --- customers ----------------------------------------------------------------------


def make_customer(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    obj = build.customer(
        email=forms.text(p, "email"),
        name=forms.text(p, "name"),
        phone=forms.text(p, "phone"),
        description=forms.text(p, "description"),
        metadata=forms.metadata_merge({}, p.get("metadata")),
    )
    engine.put(ctx, obj)
    engine.emit(ctx, "customer.created", obj)
    return obj


def customer_create(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    return engine.view(make_customer(engine, ctx, p), p)


def customer_retrieve(engine: Engine, ctx: Ctx, p: Params, customer_id: str) -> Obj:
    obj = engine.store.find(customer_id, ctx.account)
    if obj is not None and obj.get("deleted"):
        return dict(obj)
    return engine.view(engine.get(ctx, "customer", customer_id), p)


def customer_update(engine: Engine, ctx: Ctx, p: Params, customer_id: str) -> Obj:
    obj = engine.get(ctx, "customer", customer_id)
    before = engine.snapshot(obj)
    for field in ("email", "name", "phone", "description"):
        if field in p:
            obj[field] = forms.text(p, field)
    obj["metadata"] = forms.metadata_merge(obj["metadata"], p.get("metadata"))
    engine.emit(ctx, "customer.updated", obj, before)
    return engine.view(obj, p)


def customer_delete(engine: Engine, ctx: Ctx, p: Params, customer_id: str) -> Obj:
    obj = engine.get(ctx, "customer", customer_id)
    engine.emit(ctx, "customer.deleted", obj)
    tombstone = {"id": obj["id"], "object": "customer", "deleted": True}
    engine.put(ctx, tombstone)
    return dict(tombstone)


def customer_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    found = [obj for obj in engine.store.all_of("customer", ctx.account) if not obj.get("deleted")]
    email = forms.text(p, "email")
    if email:
        found = [obj for obj in found if obj["email"] == email]
    return engine.page(ctx, found, p, "/v1/customers")


# --- country specs ----------------------------------------------------------------


def country_spec_retrieve(engine: Engine, ctx: Ctx, p: Params, country: str) -> Obj:
    if country not in build.COUNTRY_CURRENCY:
        raise missing("country_spec", country)
    return build.country_spec(country)


def country_spec_list(engine: Engine, ctx: Ctx, p: Params) -> Obj:
    specs = [build.country_spec(country) for country in sorted(build.COUNTRY_CURRENCY)]
    return build.list_object(specs[: forms.integer(p, "limit") or 100], "/v1/country_specs")
