"""Secrets in URL paths (a customer's manage-link token, a calendar feed's address) never
reach the logs: not through Django's request warnings in either log format, not through
gunicorn's access log, and not for any tenant URL that carries a token."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
from collections.abc import Iterator
from types import SimpleNamespace

import pytest
from django.conf import settings
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone
from gunicorn.config import Config

from apps.bookings.access_tokens import booking_access_token
from config.gunicorn_logging import RedactingLogger
from config.log_redaction import REDACTED, secrets_redact
from config.logging import ConsoleFormatter, JsonFormatter
from config.request_id import ENVIRON_ROUTE, ENVIRON_TRACE_ID
from tests.notifications.factories import BookingFactory

TOKEN_SAMPLES = ["eyJiIjoiMDFhMjRlZDIiLCJzIjoidF9hY21lIn0:1xaQgm:LEqxcJJb6OBT3venRE8", "A" * 43]


@pytest.fixture
def stdout_log() -> Iterator[tuple[logging.Handler, io.StringIO]]:
    """What the configured `stdout` handler (settings.LOGGING) writes, as text."""
    [handler] = [h for h in logging.getLogger().handlers if h.get_name() == "stdout"]
    assert isinstance(handler, logging.StreamHandler)
    stream = io.StringIO()
    previous_stream, previous_formatter = handler.setStream(stream), handler.formatter
    try:
        yield handler, stream
    finally:
        handler.setStream(previous_stream)
        handler.setFormatter(previous_formatter)


@pytest.mark.django_db
def test_a_manage_link_request_is_logged_without_its_token(
    acme, acme_host, stdout_log, new_address
):
    # given the link of a booking long over (its pages answer 410, which Django logs)
    _, stream = stdout_log
    ends_at = timezone.now() - dt.timedelta(days=settings.BOOKING_LINK_GRACE_DAYS + 1)
    booking = BookingFactory(starts_at=ends_at - dt.timedelta(minutes=30), ends_at=ends_at)
    token = booking_access_token(booking_id=booking.pk)

    # when it is requested, through the whole stack
    client = Client(HTTP_HOST=acme_host, REMOTE_ADDR=new_address())  # a fresh rate bucket
    response = client.get(f"/manage/{token}/cancel/?tz=Europe/London")

    # then the request is logged (JSON, with Django's `request` extra) without the token
    assert response.status_code == 410
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    [warning] = [line for line in lines if line["logger"] == "django.request"]
    assert warning["message"] == f"Gone: /manage/{REDACTED}/cancel/"
    assert f"/manage/{REDACTED}/cancel/" in warning["request"]
    assert warning["status_code"] == 410
    assert token not in stream.getvalue()
    assert token.split(":")[0] not in stream.getvalue()


@pytest.mark.django_db
def test_the_console_log_format_leaves_the_token_out_too(acme, acme_host, stdout_log, new_address):
    handler, stream = stdout_log
    handler.setFormatter(ConsoleFormatter(settings.LOGGING["formatters"]["console"]["format"]))
    token = TOKEN_SAMPLES[0]

    response = Client(HTTP_HOST=acme_host, REMOTE_ADDR=new_address()).get(f"/hold/{token}/")

    assert response.status_code == 404
    assert "WARNING django.request [" in stream.getvalue()
    assert f"Not Found: /hold/{REDACTED}/" in stream.getvalue()
    assert token not in stream.getvalue()


def test_gunicorns_access_log_is_one_json_line_without_the_token_or_the_query(capsys):
    # given gunicorn's access log as the image starts it
    config = Config()
    config.set("accesslog", "-")
    log = RedactingLogger(config)
    token = TOKEN_SAMPLES[0]
    environ = {
        "REQUEST_METHOD": "POST",
        "RAW_URI": f"/manage/{token}/cancel/?email=jane%40example.test",
        "PATH_INFO": f"/manage/{token}/cancel/",
        "QUERY_STRING": "email=jane%40example.test",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "REMOTE_ADDR": "203.0.113.9",
        "HTTP_REFERER": f"https://acme.timenest.app/manage/{token}/cancel/",
        "HTTP_USER_AGENT": "Mozilla/5.0",
        # what RequestIdMiddleware leaves for it
        ENVIRON_ROUTE: "manage/<str:token>/cancel/",
        ENVIRON_TRACE_ID: "0af7651916cd43dd8448eb211c80319c",
    }
    response = SimpleNamespace(status="303 See Other", sent=0, headers=[("X-Request-Id", "r-1")])
    request = SimpleNamespace(headers=[("REFERER", environ["HTTP_REFERER"])])
    took = dt.timedelta(milliseconds=12, microseconds=345)

    try:
        # when a request under a manage link is logged (also with a format naming more,
        # which the JSON line does not use)
        log.access(response, request, environ, took)
        config.set("access_log_format", '%(U)s %({raw_uri}e)s %({referer}i)s "%(f)s"')
        log.access(response, request, environ, took)
        atoms = log.atoms(response, request, environ, took)
    finally:
        for logger in (log.access_log, log.error_log):
            for handler in list(logger.handlers):
                logger.removeHandler(handler)

    # then each is one JSON line of the project's shape, with the path, not the token,
    # the query or the referrer
    out = capsys.readouterr().out
    first, second = (json.loads(line) for line in out.splitlines())
    assert first | {"ts": ""} == second | {"ts": ""}
    assert first | {"ts": ""} == {
        "ts": "",
        "level": "INFO",
        "logger": "gunicorn.access",
        "message": f"POST /manage/{REDACTED}/cancel/ 303",
        "request_id": "r-1",
        "trace_id": "0af7651916cd43dd8448eb211c80319c",
        "span_id": None,
        "method": "POST",
        "path": f"/manage/{REDACTED}/cancel/",
        "route": "manage/<str:token>/cancel/",
        "status": 303,
        "duration_ms": 12.35,
        "bytes": 0,
        "remote_addr": "203.0.113.9",
    }
    assert token not in out and "jane" not in out and "Mozilla" not in out
    # and gunicorn's atoms, for anything that still asks for them, are redacted too
    assert token not in json.dumps(atoms, default=str)


def test_every_handler_a_django_log_record_reaches_redacts():
    # Django's default handlers (a bare echo under DEBUG, mail to ADMINS) are replaced
    names = [name for name in logging.root.manager.loggerDict if name.startswith("django.")]
    for name in ["django", "django.request", "django.server", "django.security", *names]:
        logger: logging.Logger | None = logging.getLogger(name)
        while logger is not None:
            for handler in logger.handlers:
                if type(handler).__module__.startswith("_pytest"):
                    continue  # pytest's own capture
                assert isinstance(handler.formatter, JsonFormatter | ConsoleFormatter), (
                    name,
                    handler,
                )
            logger = logger.parent if logger.propagate else None


def _token_routes(patterns: list[URLPattern | URLResolver], namespace: str = "") -> Iterator[str]:
    for entry in patterns:
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from _token_routes(entry.url_patterns, inner)
        elif entry.name and "token" in entry.pattern.regex.groupindex:
            yield f"{namespace}{entry.name}"


def test_every_tenant_url_with_a_token_is_redacted():
    routes = sorted(set(_token_routes(get_resolver("config.urls_tenant").url_patterns)))
    assert {"booking:manage", "booking:hold", "booking:booked", "calendar_feed"} <= set(routes)

    for route in routes:
        for sample in TOKEN_SAMPLES:
            try:
                path = reverse(route, urlconf="config.urls_tenant", kwargs={"token": sample})
            except Exception:  # noqa: S112 - a sample the route's pattern does not take
                continue
            redacted = secrets_redact(f"GET {path} HTTP/1.1")
            assert sample not in redacted, route
            assert REDACTED in redacted, route


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/dashboard/bookings/", "/dashboard/bookings/"),
        ("/book/abc/anyone/details/", "/book/abc/anyone/details/"),
        ("threshold/abc", "threshold/abc"),
        ("/hold/", "/hold/"),
        ("/calendar/feeds/abcdefghijklmnopqrstuv.ics", f"/calendar/feeds/{REDACTED}.ics"),
        ("/login/?next=%2Fmanage%2Fab%3Acd%2F&x=1", f"/login/?next=%2Fmanage%2F{REDACTED}&x=1"),
        ('{"path": "/booked/ab:cd"}', f'{{"path": "/booked/{REDACTED}"}}'),
        # a signup's confirmation link and a password reset link open an account
        ("GET /signup/confirm/Ab_9-xYz/ 200", f"GET /signup/confirm/{REDACTED}/ 200"),
        ("/accounts/reset/MQ/c4k2-0a1b2c/", f"/accounts/reset/MQ/{REDACTED}/"),
        ("/accounts/reset/done/", "/accounts/reset/done/"),
    ],
)
def test_redaction_keeps_other_paths_and_finds_encoded_ones(text, expected):
    assert secrets_redact(text) == expected
