"""A local stand-in for api.stripe.com, for development and tests only; never used in
production.

TimeNest's tests and `make run` point stripe-python at it (`stripe.api_base`, from the
STRIPE_API_BASE setting) because no internet is reachable here. It speaks Stripe's wire
format (form-encoded bodies with bracket keys, JSON answers, Stripe's error envelope,
Bearer test keys, Stripe-Account, Idempotency-Key) for the part of the API the product
uses: products, prices, customers, Checkout Sessions (payment and subscription mode) with
a hosted page, PaymentIntents, Charges, Refunds, Subscriptions, Invoices, Connect
accounts with onboarding links, billing portal sessions, and events sent to webhook
endpoints signed like Stripe signs them. A control API under `/_standin/` lets tests
reset it, read the requests it received, inject failures and move objects along.

Standard library only (plus nothing else); it imports neither Django nor `apps.*`, so it
runs as its own process: `python -m apps.billing.standin --help`.

Modules: `server` (HTTP), `api` (the /v1 routes), `catalog`, `checkout`,
`subscriptions`, `payments`, `connect` (the operations), `engine` (what they share),
`objects` (object shapes), `store` (state), `forms` (bracket parsing), `webhooks`
(signing and delivery), `pages` (hosted pages), `control` (/_standin/), `client` (a
Python handle on the control API).
"""

from .client import StandinClient
from .server import StandinServer
from .webhooks import sign

__all__ = ["StandinClient", "StandinServer", "sign"]
