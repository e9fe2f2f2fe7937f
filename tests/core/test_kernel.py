"""The shared kernel: 404 for what is not found, page or partial, time zones, rate limits
and tasks sent by name."""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import shared_task
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.http import Http404, HttpResponse
from django.test import RequestFactory
from django_htmx.middleware import HtmxDetails
from redis.exceptions import RedisError

from apps.core import rate_limits
from apps.core.access import not_found_as_404
from apps.core.errors import NotFound, ValidationFailed
from apps.core.htmx import render_page_or_partial, wants_partial
from apps.core.task_queue import task_enqueue
from apps.core.timezones import is_timezone, timezone_choices, validate_timezone

ROOT = Path(__file__).resolve().parents[2]

# --- not found → 404 -------------------------------------------------------------------


def test_not_found_becomes_a_404_with_its_message():
    @not_found_as_404
    def view(request):
        raise NotFound("No such booking.")

    with pytest.raises(Http404, match=r"No such booking\."):
        view(RequestFactory().get("/"))


def test_other_domain_errors_are_not_turned_into_404():
    @not_found_as_404
    def view(request):
        raise ValidationFailed("Bad input.")

    with pytest.raises(ValidationFailed):
        view(RequestFactory().get("/"))


# --- page or partial -------------------------------------------------------------------


def _request(**headers: Any):
    request = RequestFactory().get("/", **headers)
    request.htmx = HtmxDetails(request)  # type: ignore[attr-defined]
    return request


@pytest.mark.parametrize(
    ("headers", "partial"),
    [
        ({}, False),
        ({"HTTP_HX_REQUEST": "true"}, True),
        # a history restore after a cache miss swaps the whole page in as the body
        ({"HTTP_HX_REQUEST": "true", "HTTP_HX_HISTORY_RESTORE_REQUEST": "true"}, False),
    ],
)
def test_htmx_gets_the_partial_and_everyone_else_the_page(headers, partial, monkeypatch):
    rendered: list[str] = []

    def fake_render(request, template, context, status=200):
        rendered.append(template)
        return HttpResponse(template, status=status)

    monkeypatch.setattr("apps.core.htmx.render", fake_render)
    request = _request(**headers)

    response = render_page_or_partial(
        request, page="page.html", partial="_part.html", context={}, status=201
    )

    assert wants_partial(request) is partial
    assert rendered == ["_part.html" if partial else "page.html"]
    assert response.status_code == 201
    assert "HX-Request" in response["Vary"]


# --- time zones ------------------------------------------------------------------------


def test_time_zones_are_the_iana_names():
    assert is_timezone("Europe/London") and is_timezone("UTC")
    assert not is_timezone("Mars/Olympus") and not is_timezone(None) and not is_timezone("")
    validate_timezone("America/New_York")
    with pytest.raises(ValidationError):
        validate_timezone("Europe/Atlantis")


def test_time_zone_choices_start_with_utc_and_list_places_readably():
    choices = timezone_choices()

    assert choices[0] == ("UTC", "UTC")
    assert ("America/New_York", "America/New York") in choices
    assert not any(name.startswith("Etc/") for name, _ in choices)
    assert all(is_timezone(name) for name, _ in choices)


# --- rate limits -----------------------------------------------------------------------


@pytest.fixture
def tight_rate(settings) -> Iterator[str]:
    scope = f"test_{uuid.uuid4().hex[:8]}"
    settings.REST_FRAMEWORK = {
        **settings.REST_FRAMEWORK,
        "DEFAULT_THROTTLE_RATES": {scope: "2/min"},
    }
    yield scope
    cache.delete_pattern(f"throttle:{scope}:*")  # type: ignore[attr-defined]


def test_rate_limit_counts_per_client_and_says_how_long_to_wait(tight_rate):
    first = rate_limits.rate_limit_wait(scope=tight_rate, ident="10.0.0.1")
    second = rate_limits.rate_limit_wait(scope=tight_rate, ident="10.0.0.1")
    third = rate_limits.rate_limit_wait(scope=tight_rate, ident="10.0.0.1")
    other_client = rate_limits.rate_limit_wait(scope=tight_rate, ident="10.0.0.2")

    assert first is None and second is None
    assert third is not None and 1 <= third <= 60
    assert other_client is None


def test_rate_limit_without_a_rate_or_without_redis_lets_the_request_through(
    tight_rate, monkeypatch
):
    assert rate_limits.rate_limit_wait(scope="no_such_scope", ident="x") is None

    def unreachable(key, *, period):
        raise RedisError("down")

    monkeypatch.setattr(rate_limits, "_hit", unreachable)
    for _ in range(5):
        assert rate_limits.rate_limit_wait(scope=tight_rate, ident="10.0.0.1") is None


@pytest.mark.parametrize(
    ("num_proxies", "forwarded", "expected"),
    [
        (None, None, "192.0.2.1"),
        (None, "203.0.113.5, 198.51.100.7", "192.0.2.1"),  # no proxy trusted: header ignored
        (1, "203.0.113.5, 198.51.100.7", "198.51.100.7"),
        (0, "203.0.113.5", "192.0.2.1"),
    ],
)
def test_client_ident_trusts_only_the_configured_proxies(
    settings, num_proxies, forwarded, expected
):
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "NUM_PROXIES": num_proxies}
    headers = {"HTTP_X_FORWARDED_FOR": forwarded} if forwarded else {}
    request = RequestFactory().get("/", REMOTE_ADDR="192.0.2.1", **headers)

    assert rate_limits.client_ident(request) == expected


# --- tasks by name ---------------------------------------------------------------------

RECEIVED: list[tuple[int, str]] = []


@shared_task(name="tests.core.record")
def _record(number: int, *, word: str) -> None:
    RECEIVED.append((number, word))


def test_task_is_sent_by_its_name_with_its_arguments():
    RECEIVED.clear()

    task_enqueue("tests.core.record", 7, word="seven")  # eager in tests

    assert RECEIVED == [(7, "seven")]


def test_a_web_process_finds_tasks_no_module_has_imported_yet():
    # given a fresh process (Django set up, as in a web worker) that has not imported the
    # calendars task module
    code = (
        "import django; django.setup()\n"
        "import sys\n"
        "from apps.core.task_queue import task_named\n"
        "print('apps.calendars.tasks' in sys.modules)\n"
        "print(task_named('calendars.materialize_resource').name)\n"
    )

    # when it asks for the task by name
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False
    )

    # then the task module is found and the task is there
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["False", "calendars.materialize_resource"]


def test_an_unknown_task_name_is_an_error_not_a_silent_drop():
    with pytest.raises(KeyError):
        task_enqueue("tests.core.no_such_task")
