"""`python -m apps.billing.standin`: run the Stripe stand-in (development only).

    python -m apps.billing.standin --port 12111 \\
        --webhook platform=http://localhost:8000/billing/stripe/webhook/ \\
        --webhook connect=http://localhost:8000/billing/stripe/connect-webhook/ \\
        --webhook-secret whsec_dev

Each flag has an environment variable: STRIPE_STANDIN_HOST, STRIPE_STANDIN_PORT,
STRIPE_STANDIN_PUBLIC_URL, STRIPE_STANDIN_WEBHOOKS (comma-separated kind=url),
STRIPE_STANDIN_WEBHOOK_SECRET, STRIPE_STANDIN_CONNECT_WEBHOOK_SECRET.
"""

from __future__ import annotations

import argparse
import os
import sys

from .server import StandinServer


def _webhook(value: str) -> tuple[str, str]:
    kind, sep, url = value.partition("=")
    if not sep or kind not in ("platform", "connect") or not url.startswith("http"):
        raise argparse.ArgumentTypeError("expected platform=URL or connect=URL")
    return kind, url


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(
        prog="python -m apps.billing.standin",
        description="A local stand-in for api.stripe.com (development and tests only).",
    )
    parser.add_argument("--host", default=env("STRIPE_STANDIN_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(env("STRIPE_STANDIN_PORT", "12111")))
    parser.add_argument(
        "--public-url",
        default=env("STRIPE_STANDIN_PUBLIC_URL"),
        help="the address browsers use for the hosted pages (default http://HOST:PORT)",
    )
    parser.add_argument(
        "--webhook",
        action="append",
        type=_webhook,
        default=[
            _webhook(item)
            for item in (env("STRIPE_STANDIN_WEBHOOKS") or "").split(",")
            if item.strip()
        ],
        metavar="KIND=URL",
        help="a webhook endpoint: platform=URL (platform events) or connect=URL "
        "(connected accounts' events); repeatable",
    )
    parser.add_argument(
        "--webhook-secret",
        default=env("STRIPE_STANDIN_WEBHOOK_SECRET", "whsec_standin"),
        help="the signing secret of the endpoints",
    )
    parser.add_argument(
        "--connect-webhook-secret",
        default=env("STRIPE_STANDIN_CONNECT_WEBHOOK_SECRET"),
        help="the signing secret of connect endpoints (default: --webhook-secret)",
    )
    parser.add_argument("--quiet", action="store_true", help="no request log")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> None:
    args = parse(argv)
    server = StandinServer(args.host, args.port, public_url=args.public_url, quiet=args.quiet)
    for kind, url in args.webhook:
        connect = kind == "connect"
        secret = (args.connect_webhook_secret if connect else None) or args.webhook_secret
        server.add_webhook(url, secret, connect=connect)
    sys.stderr.write(
        f"Stripe stand-in (development only) on {server.url} — set "
        f"STRIPE_API_BASE={server.url}; control API at {server.url}/_standin/\n"
    )
    for kind, url in args.webhook:
        sys.stderr.write(f"  {kind} webhooks -> {url}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.httpd.server_close()


if __name__ == "__main__":
    main()
