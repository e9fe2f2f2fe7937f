"""The pages a browser sees instead of Stripe's hosted ones: Checkout (Pay / Cancel),
Connect onboarding, the billing portal, an invoice and a receipt. Plain HTML forms, no
JavaScript, English only (a development tool, not the product)."""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import checkout, connect
from . import objects as build
from .engine import Ctx, Engine, Obj
from .errors import StripeError
from .store import now


@dataclass
class Page:
    status: int = 200
    body: str | bytes = ""
    content_type: str = "text/html; charset=utf-8"
    location: str | None = None
    events: list[Obj] = field(default_factory=list)


def redirect(location: str, events: list[Obj] | None = None) -> Page:
    return Page(status=303, location=location, events=events or [])


def money(amount: int, currency: str) -> str:
    if currency in build.ZERO_DECIMAL:
        return f"{amount:,} {currency.upper()}"
    return f"{amount / 100:,.2f} {currency.upper()}"


def layout(title: str, body: str, status: int = 200) -> Page:
    document = f"""<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)} · Stripe stand-in</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 34rem; margin: 3rem auto;
       padding: 0 1rem; color: #1a1a1a; }}
.note {{ background: #fff4d6; padding: .5rem .75rem; border-radius: 4px; font-size: .9rem; }}
.amount {{ font-size: 2rem; font-weight: 600; margin: .5rem 0 1rem; }}
label {{ display: block; margin: .75rem 0 .25rem; }}
input {{ font-size: 1rem; padding: .4rem; width: 100%; box-sizing: border-box; }}
button {{ font-size: 1rem; padding: .5rem 1.25rem; margin: 1rem .5rem 0 0; cursor: pointer; }}
table {{ border-collapse: collapse; width: 100%; }} td, th {{ text-align: left; padding: .3rem; }}
</style>
</head>
<body>
<main>
<p class="note">Stripe stand-in for development and tests: no real money moves.</p>
<h1>{html.escape(title)}</h1>
{body}
</main>
</body>
</html>
"""
    return Page(status=status, body=document)


def error_page(title: str, message: str, status: int = 400) -> Page:
    return layout(title, f'<p role="alert">{html.escape(message)}</p>', status)


def _form(action: str, label: str, fields: str = "", name: str = "") -> str:
    accessible_name = html.escape(name or label)
    return (
        f'<form method="post" action="{html.escape(action)}" aria-label="{accessible_name}">'
        f'{fields}<button type="submit">{html.escape(label)}</button></form>'
    )


def _hidden(name: str, value: str) -> str:
    return f'<input type="hidden" name="{html.escape(name)}" value="{html.escape(value)}">'


# --- checkout -------------------------------------------------------------------------


def checkout_page(engine: Engine, ctx: Ctx, session: Obj) -> Page:
    if session["status"] == "expired":
        return error_page("Checkout expired", "This Checkout Session has expired.", 410)
    if session["status"] == "complete":
        target = checkout.success_redirect(session)
        link = f'<p><a href="{html.escape(target)}">Continue</a></p>' if target else ""
        return layout("Already paid", f"<p>This Checkout Session is complete.</p>{link}")
    rows = "".join(
        f"<tr><td>{html.escape(item['description'] or item['price']['id'])}</td>"
        f"<td>{item['quantity']}</td><td>{money(item['amount_total'], item['currency'])}</td></tr>"
        for item in engine.store.checkout_line_items.get(session["id"], [])
    )
    recurring = session["mode"] == "subscription"
    email = session["customer_email"] or (engine.store.find(session["customer"] or "") or {}).get(
        "email"
    )
    pay_fields = (
        f'<label for="email">Email</label><input id="email" name="email" type="email" '
        f'autocomplete="email" value="{html.escape(email or "")}">'
        '<label for="name">Name on card</label>'
        '<input id="name" name="name" autocomplete="cc-name" value="Test Customer">'
        '<label for="card">Card number</label>'
        '<input id="card" name="card" inputmode="numeric" value="4242 4242 4242 4242" readonly>'
    )
    total = money(session["amount_total"], session["currency"])
    body = (
        f"<p>{'Subscribe' if recurring else 'Pay'} with a test card.</p>"
        f'<p class="amount" aria-label="Amount">{total}'
        f"{' per period' if recurring else ''}</p>"
        f'<table aria-label="Items"><thead><tr><th scope="col">Item</th><th scope="col">Qty</th>'
        f'<th scope="col">Amount</th></tr></thead><tbody>{rows}</tbody></table>'
        + _form(f"/checkout/{session['id']}/pay", "Pay", pay_fields, "Payment")
        + _form(f"/checkout/{session['id']}/cancel", "Cancel", name="Cancel payment")
    )
    return layout("Checkout", body)


def checkout_pay(engine: Engine, ctx: Ctx, session_id: str, form: dict[str, Any]) -> Page:
    try:
        session = checkout.session_complete(
            engine,
            ctx,
            session_id,
            email=form.get("email") or None,
            name=form.get("name") or None,
        )
    except StripeError as error:
        return error_page("Payment not possible", error.message, error.status)
    target = checkout.success_redirect(session)
    if target:
        return redirect(target, ctx.emitted)
    page = layout("Payment complete", "<p>Thank you: the payment went through.</p>")
    page.events = ctx.emitted
    return page


def checkout_cancel(engine: Engine, ctx: Ctx, session: Obj) -> Page:
    if session.get("cancel_url"):
        return redirect(session["cancel_url"])
    return layout("Payment canceled", "<p>Nothing was charged.</p>")


# --- connect onboarding --------------------------------------------------------------


def _link(engine: Engine, account_id: str, token: str) -> dict[str, Any] | None:
    link = engine.store.account_links.get(token)
    return link if link is not None and link["account"] == account_id else None


def onboarding_page(engine: Engine, account: Obj, token: str) -> Page:
    link = _link(engine, account["id"], token)
    if link is None:
        return error_page("Link not valid", "This onboarding link is not valid.", 404)
    if link["expires_at"] < now():
        return redirect(link["refresh_url"])
    body = (
        f"<p>Onboarding {html.escape(account['id'])} ({html.escape(account['country'])}, "
        f"{html.escape(account['type'])}"
        f"{', ' + html.escape(account['email']) if account.get('email') else ''}).</p>"
        "<p>Completing enables charges and payouts at once.</p>"
        + _form(
            f"/connect/{account['id']}/complete",
            "Complete onboarding",
            _hidden("link", token),
        )
    )
    return layout("Set up payments", body)


def onboarding_complete(engine: Engine, ctx: Ctx, account: Obj, token: str) -> Page:
    link = _link(engine, account["id"], token)
    if link is None:
        return error_page("Link not valid", "This onboarding link is not valid.", 404)
    connect.onboard(engine, ctx, account)
    engine.store.account_links.pop(token, None)
    return redirect(link["return_url"], ctx.emitted)


# --- billing portal -----------------------------------------------------------------


def portal_page(engine: Engine, session: Obj) -> Page:
    subs = connect.portal_subscriptions(engine, session)
    rows = []
    for sub in subs:
        items = [engine.store.find(item_id) for item_id in sub["items"]["data"]]
        label = ", ".join(
            f"{money(item['price']['unit_amount'], item['price']['currency'])} / "
            f"{item['price']['recurring']['interval']}"
            for item in items
            if item is not None
        )
        rows.append(
            f"<li><p>{html.escape(sub['id'])}: {html.escape(label)}, status "
            f"<strong>{html.escape(sub['status'])}</strong></p>"
            + _form(
                f"/portal/{session['id']}/cancel",
                "Cancel plan",
                _hidden("subscription", sub["id"]),
                f"Cancel plan {sub['id']}",
            )
            + "</li>"
        )
    listing = f"<ul>{''.join(rows)}</ul>" if rows else "<p>No current subscriptions.</p>"
    back = ""
    if session.get("return_url"):
        back = (
            f'<form method="get" action="{html.escape(session["return_url"])}" aria-label="Return">'
            '<button type="submit">Return</button></form>'
        )
    return layout("Your subscriptions", listing + back)


def portal_cancel(engine: Engine, ctx: Ctx, session: Obj, form: dict[str, Any]) -> Page:
    try:
        connect.portal_cancel(engine, ctx, session, str(form.get("subscription", "")))
    except StripeError as error:
        return error_page("Not canceled", error.message, error.status)
    return redirect(f"/portal/{session['id']}", ctx.emitted)


# --- invoices and receipts ----------------------------------------------------------


def invoice_page(engine: Engine, invoice: Obj) -> Page:
    lines = [engine.store.find(line_id) for line_id in invoice["lines"]["data"]]
    rows = "".join(
        f"<tr><td>{html.escape(line['description'])}</td>"
        f"<td>{money(line['amount'], line['currency'])}</td></tr>"
        for line in lines
        if line is not None
    )
    body = (
        f"<p>Invoice {html.escape(invoice['number'] or invoice['id'])}: "
        f"<strong>{html.escape(invoice['status'])}</strong></p>"
        f'<table aria-label="Lines"><tbody>{rows}</tbody></table>'
        f"<p>Amount paid: {money(invoice['amount_paid'], invoice['currency'])}</p>"
        f'<p><a href="{html.escape(invoice["invoice_pdf"])}">Download PDF</a></p>'
    )
    return layout("Invoice", body)


def invoice_pdf(invoice: Obj) -> Page:
    text = f"Invoice {invoice['number']} - {money(invoice['amount_paid'], invoice['currency'])}"
    text = re.sub(r"[()\\]", "", text)
    stream = f"BT /F1 14 Tf 72 720 Td ({text}) Tj ET"
    parts = [
        "<< /Type /Catalog /Pages 2 0 R >>",
        "<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        "/Resources << /Font << /F1 5 0 R >> >> >>",
        f"<< /Length {len(stream)} >>\nstream\n{stream}\nendstream",
        "<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out, offsets = "%PDF-1.4\n", []
    for number, part in enumerate(parts, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{part}\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(parts) + 1}\n0000000000 65535 f \n"
    out += "".join(f"{offset:010d} 00000 n \n" for offset in offsets)
    out += f"trailer\n<< /Size {len(parts) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n"
    return Page(body=out.encode("latin-1"), content_type="application/pdf")


def receipt_page(charge: Obj) -> Page:
    body = (
        f"<p>Receipt for {money(charge['amount'], charge['currency'])}, charge "
        f"{html.escape(charge['id'])}.</p>"
        f"<p>Refunded: {money(charge['amount_refunded'], charge['currency'])}</p>"
    )
    return layout("Receipt", body)


# --- routing ----------------------------------------------------------------------------


def _find(engine: Engine, object_id: str, kind: str) -> tuple[Obj | None, Ctx | None]:
    obj = engine.store.find(object_id)
    if obj is None or obj.get("object") != kind:
        return None, None
    return obj, Ctx(account=engine.store.owner_of(object_id), base_url="")


def route(engine: Engine, method: str, path: str, query: dict[str, Any], form: dict[str, Any],
          base_url: str) -> Page | None:  # fmt: skip
    """The page for (method, path), or None when no page lives there. Runs under the
    store's lock; the caller delivers `Page.events` before answering."""
    for pattern, kind, verb, action in _ROUTES:
        match = re.fullmatch(pattern, path)
        if match is None or verb != method:
            continue
        obj, ctx = _find(engine, match.group(1), kind)
        if obj is None or ctx is None:
            return error_page("Not found", f"No such {kind}: {match.group(1)}", 404)
        ctx.base_url = base_url
        return action(engine, ctx, obj, query, form)
    return None


def _checkout_get(engine: Engine, ctx: Ctx, obj: Obj, query: dict, form: dict) -> Page:
    session = checkout.session_current(engine, ctx, obj["id"])
    page = checkout_page(engine, ctx, session)
    page.events = ctx.emitted
    return page


def _connect_get(engine: Engine, ctx: Ctx, obj: Obj, query: dict, form: dict) -> Page:
    return onboarding_page(engine, obj, str(query.get("link", "")))


def _connect_post(engine: Engine, ctx: Ctx, obj: Obj, query: dict, form: dict) -> Page:
    ctx.account = obj["id"]
    return onboarding_complete(engine, ctx, obj, str(form.get("link", "")))


_ROUTES: list[tuple[str, str, str, Callable[..., Page]]] = [
    (r"/checkout/([\w]+)", "checkout.session", "GET", _checkout_get),
    (
        r"/checkout/([\w]+)/pay",
        "checkout.session",
        "POST",
        lambda e, c, o, q, f: checkout_pay(e, c, o["id"], f),
    ),
    (
        r"/checkout/([\w]+)/cancel",
        "checkout.session",
        "POST",
        lambda e, c, o, q, f: checkout_cancel(e, c, o),
    ),
    (r"/connect/(acct_\w+)", "account", "GET", _connect_get),
    (r"/connect/(acct_\w+)/complete", "account", "POST", _connect_post),
    (
        r"/portal/(bps_\w+)",
        "billing_portal.session",
        "GET",
        lambda e, c, o, q, f: portal_page(e, o),
    ),
    (
        r"/portal/(bps_\w+)/cancel",
        "billing_portal.session",
        "POST",
        lambda e, c, o, q, f: portal_cancel(e, c, o, f),
    ),
    (r"/invoices/(in_\w+)", "invoice", "GET", lambda e, c, o, q, f: invoice_page(e, o)),
    (r"/invoices/(in_\w+)/pdf", "invoice", "GET", lambda e, c, o, q, f: invoice_pdf(o)),
    (r"/receipts/(ch_\w+)", "charge", "GET", lambda e, c, o, q, f: receipt_page(o)),
]
