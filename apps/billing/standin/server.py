"""The HTTP side: a ThreadingHTTPServer that answers Stripe's API under `/v1/`, the
hosted pages (`/checkout/…`, `/connect/…`, `/portal/…`, `/invoices/…`) and the control
API under `/_standin/`.

For every `/v1/` request, in order: injected failures (500 api_error, or a dropped
connection), the API key (`Authorization: Bearer sk_test_…`, else 401), the
`Stripe-Account` header (an unknown account is 403), then, under the store's lock, the
idempotent replay check (same key + account: same method, path and parameters replay
the stored answer byte for byte; anything else is a 400 idempotency_error), the
operation itself (one that fails leaves no object behind) and the request log. Events
the operation emitted are delivered after the answer has been written.
"""

from __future__ import annotations

import base64
import json
import re
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from . import api, control, forms, pages
from .engine import Ctx, Engine
from .errors import StripeError
from .objects import API_VERSION
from .store import PLATFORM, IdempotentReply, Store, new_id, now
from .webhooks import Deliverer

TEST_KEY = re.compile(r"^(sk|rk)_test_\S+$")


class StandinHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], public_url: str | None, quiet: bool) -> None:
        super().__init__(address, Handler)
        self.store = Store()
        self.engine = Engine(self.store)
        self.deliverer = Deliverer(self.store)
        host, port = self.server_address[:2]
        self.public_url = (public_url or f"http://{_display_host(str(host))}:{port}").rstrip("/")
        self.control = control.Control(self.engine, self.deliverer, self.public_url)
        self.quiet = quiet


def _display_host(host: str) -> str:
    return "localhost" if host in ("0.0.0.0", "", "::") else host  # noqa: S104


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "StripeStandin/1.0"
    disable_nagle_algorithm = True  # headers and body go out in two writes
    server: StandinHTTPServer

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    def log_message(self, format: str, *args: Any) -> None:
        if not self.server.quiet:
            sys.stderr.write(f"stripe-standin: {format % args}\n")

    # --- plumbing -----------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        url = urlsplit(self.path)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        path = url.path.rstrip("/") or "/"
        try:
            if path.startswith("/v1/"):
                self._api(method, path, url.query, raw)
            elif path.startswith("/_standin"):
                self._control(method, path, raw)
            else:
                self._page(method, path, url.query, raw)
        except Exception as error:  # a bug of the stand-in: answer like Stripe's 500
            self._json(500, StripeError(f"Stripe stand-in failure: {error!r}", status=500,
                                        type="api_error").body())  # fmt: skip
            raise

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        body = json.dumps(payload, indent=2).encode()
        self._send(status, body, "application/json", headers or {})

    # --- /v1 ----------------------------------------------------------------------------

    def _api(self, method: str, path: str, query: str, raw: bytes) -> None:
        store = self.server.store
        request_id = new_id("req_", 14)
        headers = {"Request-Id": request_id, "Stripe-Version": API_VERSION}
        account = self.headers.get("Stripe-Account") or PLATFORM
        if account == store.platform_account_id:
            account = PLATFORM
        key = self.headers.get("Idempotency-Key")
        params = forms.parse_query(query)
        if method == "POST":
            params.update(forms.parse_query(raw.decode()))
        entry: dict[str, Any] = {
            "id": request_id,
            "method": method,
            "path": path,
            "params": params,
            "stripe_account": account or None,
            "idempotency_key": key,
            "stripe_version": self.headers.get("Stripe-Version"),
            "time": now(),
        }
        failure = store.take_failure()
        if failure is not None:
            entry.update(status=failure.status if failure.mode == "error" else None,
                         injected=failure.mode)  # fmt: skip
            store.log_request(entry)
            if failure.mode == "drop":
                self.close_connection = True
                return
            error = StripeError("Injected failure: the Stripe stand-in was told to fail this "
                                "request.", status=failure.status, type="api_error")  # fmt: skip
            self._json(failure.status, error.body(), headers)
            return
        ctx = Ctx(account=account, base_url=self.server.public_url, request_id=request_id,
                  idempotency_key=key)  # fmt: skip
        status, body, replayed = self._api_answer(ctx, method, path, params, key)
        entry.update(status=status, replayed=replayed)
        store.log_request(entry)
        if replayed:
            headers["Idempotent-Replayed"] = "true"
        if key:
            headers["Idempotency-Key"] = key
        self._send(status, body, "application/json", headers)
        self.server.deliverer.enqueue(ctx.emitted)

    def _api_answer(
        self, ctx: Ctx, method: str, path: str, params: dict[str, Any], key: str | None
    ) -> tuple[int, bytes, bool]:
        store = self.server.store
        try:
            self._authenticate()
            self._check_account(ctx.account)
        except StripeError as error:
            return error.status, _encode(error.body()), False
        fingerprint = json.dumps(params, sort_keys=True)
        with store.lock:
            if method == "POST" and key:
                previous = store.replies.get((ctx.account, key))
                if previous is not None:
                    return self._replay(previous, method, path, fingerprint, key)
            store.begin()
            try:
                result = api.dispatch(self.server.engine, ctx, method, path, params)
                status, body = 200, _encode(result)
                store.commit()
            except StripeError as error:
                store.rollback()
                ctx.emitted.clear()
                status, body = error.status, _encode(error.body())
            # Like Stripe: a request refused before it ran (bad parameters, missing
            # objects) saves no result; the same key may be used again.
            if method == "POST" and key and (status < 400 or status == 402):
                store.replies[(ctx.account, key)] = IdempotentReply(
                    method, path, fingerprint, status, body
                )
        return status, body, False

    def _replay(
        self, previous: IdempotentReply, method: str, path: str, fingerprint: str, key: str
    ) -> tuple[int, bytes, bool]:
        if (previous.method, previous.path) != (method, path):
            message = (
                f"Keys for idempotent requests can only be used for the same endpoint they were "
                f"first used for ('{previous.method} {previous.path}' vs '{method} {path}'). "
                f"Try using a key other than '{key}' if you meant to execute a different request."
            )
        elif previous.fingerprint != fingerprint:
            message = (
                "Keys for idempotent requests can only be used with the same parameters they "
                f"were first used with. Try using a key other than '{key}' if you meant to "
                "execute a different request."
            )
        else:
            return previous.status, previous.body, True
        error = StripeError(message, type="idempotency_error")
        return 400, _encode(error.body()), False

    def _authenticate(self) -> None:
        header = self.headers.get("Authorization") or ""
        scheme, _, credentials = header.partition(" ")
        if scheme.lower() == "basic":
            try:
                credentials = base64.b64decode(credentials).decode().partition(":")[0]
            except ValueError:
                credentials = ""
        elif scheme.lower() != "bearer":
            credentials = ""
        if not credentials:
            raise StripeError(
                "You did not provide an API key. You need to provide your API key in the "
                "Authorization header, using Bearer auth (e.g. 'Authorization: Bearer "
                "YOUR_SECRET_KEY').",
                status=401,
            )
        if not TEST_KEY.match(credentials):
            raise StripeError(
                f"Invalid API Key provided: {credentials[:8]}*** (the Stripe stand-in takes "
                "test-mode secret keys only: sk_test_… or rk_test_…)",
                status=401,
            )

    def _check_account(self, account: str) -> None:
        if not account:
            return
        obj = self.server.store.find(account, PLATFORM)
        if obj is None or obj.get("object") != "account":
            raise StripeError(
                f"The provided key does not have access to account '{account}' (or that "
                "account does not exist). Application access may have been revoked.",
                status=403,
                code="account_invalid",
            )

    # --- /_standin ----------------------------------------------------------------------

    def _control(self, method: str, path: str, raw: bytes) -> None:
        try:
            body = json.loads(raw) if raw.strip() else {}
            if not isinstance(body, dict):
                raise StripeError("The control API takes a JSON object.")
            result = control.dispatch(self.server.control, method, path, body)
        except (StripeError, ValueError) as error:
            stripe_error = error if isinstance(error, StripeError) else StripeError(str(error))
            self._json(stripe_error.status, stripe_error.body())
            return
        if result.events:
            result.body["events"] = [event["id"] for event in result.events]
            result.body["deliveries"] = self.server.deliverer.deliver_all(result.events)
        self._json(result.status, result.body)

    # --- pages ----------------------------------------------------------------------------

    def _page(self, method: str, path: str, query: str, raw: bytes) -> None:
        form = dict(parse_qsl(raw.decode(), keep_blank_values=True)) if method == "POST" else {}
        with self.server.store.lock:
            page = pages.route(self.server.engine, method, path, dict(parse_qsl(query)), form,
                               self.server.public_url)  # fmt: skip
        if page is None:
            page = pages.error_page("Not found", f"Nothing here: {method} {path}", 404)
        # Deliver before answering: the app has its webhook before the browser moves on.
        self.server.deliverer.deliver_all(page.events)
        body = page.body.encode() if isinstance(page.body, str) else page.body
        headers = {"Location": page.location} if page.location else {}
        self._send(page.status, body, page.content_type, headers)


def _encode(payload: Any) -> bytes:
    return json.dumps(payload, indent=2).encode()


class StandinServer:
    """The stand-in in a background thread (tests) or in the foreground (the CLI)."""

    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        public_url: str | None = None,
        quiet: bool = True,
    ) -> None:
        self.httpd = StandinHTTPServer((host, port), public_url, quiet)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return self.httpd.public_url

    @property
    def store(self) -> Store:
        return self.httpd.store

    def add_webhook(self, url: str, secret: str, *, connect: bool = False) -> None:
        self.httpd.control.webhook_add({"url": url, "secret": secret, "connect": connect})

    def start(self) -> StandinServer:
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, args=(0.05,), name="stripe-standin", daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
