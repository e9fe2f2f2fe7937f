"""SMS: E.164, segment arithmetic, fitting the text, and the three backends (Twilio via a
local fake of its HTTP API)."""

from __future__ import annotations

import io
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from urllib.parse import parse_qs

import pytest

from apps.notifications.messages.errors import SendFailed, Undeliverable
from apps.notifications.messages.sms import (
    ConsoleSmsBackend,
    SmsMessage,
    TwilioSmsBackend,
    sms_fits,
    sms_gsm_friendly,
    sms_is_gsm7,
    sms_segments,
    sms_truncate,
    sms_validate_number,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+447911123456", "+447911123456"),
        ("+44 7911 123456", "+447911123456"),
        ("+1 (415) 555-2671", "+14155552671"),
    ],
)
def test_valid_numbers_are_returned_in_e164(raw, expected):
    assert sms_validate_number(raw) == expected


@pytest.mark.parametrize("raw", ["07911 123456", "+4479", "+44 7911 12345678901", "call me", ""])
def test_numbers_that_are_not_e164_are_undeliverable(raw):
    with pytest.raises(Undeliverable):
        sms_validate_number(raw)


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # extension characters take two septets: 160
        ("€" * 81, 2),
        ("ж" * 70, 1),  # UCS-2
        ("ж" * 71, 2),
        ("ж" * 134, 2),
        ("ж" * 135, 3),
    ],
)
def test_segments_follow_gsm7_and_ucs2_limits(text, segments):
    assert sms_segments(text) == segments


def test_typography_and_accents_fold_to_gsm7():
    text = sms_gsm_friendly("Zoë\u2019s Studio \u2013 “Chloé” … Ärztin")
    assert text == 'Zoe\'s Studio - "Chloé" ... Ärztin'
    assert sms_is_gsm7(text)


def test_truncation_keeps_within_two_segments():
    assert sms_fits(sms_truncate("word " * 200))
    assert sms_truncate("word " * 200).endswith("...")
    assert sms_fits(sms_truncate("слово " * 100))
    assert sms_truncate("short") == "short"


def test_console_backend_prints_the_message_with_the_number_masked():
    stream = io.StringIO()

    ConsoleSmsBackend(stream=stream).send(SmsMessage(to="+447911123456", body="Hello"))

    assert "Hello" in stream.getvalue()
    assert "+447911123456" not in stream.getvalue()
    assert "+44********56" in stream.getvalue()


class _FakeTwilio(BaseHTTPRequestHandler):
    requests: list[dict] = []
    answer: tuple[int, dict] = (201, {"sid": "SM0123456789"})

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers["Content-Length"])).decode()
        type(self).requests.append(
            {"path": self.path, "auth": self.headers["Authorization"], "form": parse_qs(body)}
        )
        status, payload = type(self).answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(payload).encode())

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake_twilio(settings) -> Iterator[type[_FakeTwilio]]:
    server = HTTPServer(("127.0.0.1", 0), _FakeTwilio)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    settings.TWILIO_API_BASE = f"http://127.0.0.1:{server.server_port}"
    settings.TWILIO_ACCOUNT_SID = "AC123"
    settings.TWILIO_AUTH_TOKEN = "secret-token"
    settings.TWILIO_FROM_NUMBER = "+15005550006"
    settings.TWILIO_MESSAGING_SERVICE_SID = ""
    _FakeTwilio.requests = []
    _FakeTwilio.answer = (201, {"sid": "SM0123456789"})
    yield _FakeTwilio
    server.shutdown()
    server.server_close()


def test_twilio_backend_posts_the_message_and_returns_its_sid(fake_twilio):
    sid = TwilioSmsBackend().send(SmsMessage(to="+447911123456", body="See you at 10:00"))

    assert sid == "SM0123456789"
    [request] = fake_twilio.requests
    assert request["path"] == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request["auth"].startswith("Basic ")
    assert request["form"] == {
        "To": ["+447911123456"],
        "From": ["+15005550006"],
        "Body": ["See you at 10:00"],
    }


def test_twilio_refusing_the_number_is_permanent(fake_twilio):
    fake_twilio.answer = (400, {"code": 21211, "message": "Invalid 'To' Phone Number"})

    with pytest.raises(SendFailed) as refused:
        TwilioSmsBackend().send(SmsMessage(to="+447911123456", body="x"))

    assert refused.value.permanent
    assert refused.value.reason == "twilio_21211"


def test_twilio_outage_is_worth_a_retry(fake_twilio, settings):
    fake_twilio.answer = (503, {"message": "Service unavailable"})
    with pytest.raises(SendFailed) as outage:
        TwilioSmsBackend().send(SmsMessage(to="+447911123456", body="x"))
    assert not outage.value.permanent

    settings.TWILIO_API_BASE = "http://127.0.0.1:9"  # nothing listens there
    with pytest.raises(SendFailed) as unreachable:
        TwilioSmsBackend().send(SmsMessage(to="+447911123456", body="x"))
    assert not unreachable.value.permanent
