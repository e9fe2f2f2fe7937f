"""One JSON shape for every process, checked on real ones: gunicorn (with the project's
logger class) serving a booking request, the Celery worker running the task that request
queued, and beat. The worker's lines carry the trace id of the web request, which only
reaches it through the task message's headers."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import requests

from config.celery import app
from tests.api.calls import hold_payload
from tests.observability.conftest import TracedBusiness
from tests.observability.web import gunicorn
from tests.workers import CeleryProcess, process_environment, unique_queue, wait_for

pytestmark = [pytest.mark.worker, pytest.mark.slow]

SHAPE = {"ts", "level", "logger", "message", "request_id", "trace_id", "span_id"}
# What a customer's manage link and a query string would leak into an access log.
MANAGE_TOKEN = "eyJib29raW5nIjoiMSJ9:1uSecretSig:AbCdEf123"
EMAIL = "jane.traced@example.test"


def _json_lines(text: str) -> list[dict[str, Any]]:
    """Every line, parsed: one that is not a JSON object fails here, naming it."""
    lines = []
    for line in text.splitlines():
        if line.strip():
            try:
                parsed = json.loads(line)
            except ValueError:
                pytest.fail(f"not a JSON line: {line!r}")
            assert isinstance(parsed, dict) and set(parsed) >= SHAPE, line
            lines.append(parsed)
    return lines


def test_web_worker_and_beat_write_json_lines_that_follow_a_request_into_its_task(
    traced_business: TracedBusiness, django_db_blocker, tmp_path
):
    business = traced_business
    queue, beat_queue = unique_queue("logs"), unique_queue("beat")
    with django_db_blocker.unblock():
        env = process_environment(
            queue, API_RATE_ANON_BOOKING="1000/min", OTEL_EXPORTER_OTLP_ENDPOINT=""
        )
    worker = CeleryProcess.worker(
        queue=queue, log_path=tmp_path / "worker.log", concurrency=1, quiet=True, env=env
    )
    beat = CeleryProcess.beat(
        queue=beat_queue,
        log_path=tmp_path / "beat.log",
        quiet=True,
        env=env | {"CELERY_QUEUE": beat_queue},
    )
    request_id = f"logs-{uuid.uuid4().hex}"
    try:
        worker.start()
        with gunicorn(env, tmp_path / "web.log") as base:
            # when a customer holds a time (the hold queues a webhook's send task) and
            # someone opens a manage link with an address in its query
            held = requests.post(
                f"{base}/api/v1/bookings",
                json=hold_payload(business.catalogue, slot=business.catalogue.slots[1]),
                headers={
                    "Host": business.host,
                    "Idempotency-Key": uuid.uuid4().hex,
                    "X-Request-Id": request_id,
                },
                timeout=30,
            )
            assert held.status_code == 201, held.text
            requests.get(
                f"{base}/manage/{MANAGE_TOKEN}/?email={EMAIL}",
                headers={"Host": business.host},
                timeout=30,
                allow_redirects=False,
            )
            delivered = wait_for(lambda: "webhook_delivery.succeeded" in worker.log(), timeout=60)
            assert delivered, worker.log()[-3000:]
        beat.start()
        assert wait_for(lambda: "beat: Starting" in beat.log(), timeout=60), beat.log()[-3000:]
        # Read before they stop: a worker's signal handler prints its shutdown notice
        # ("worker: Warm shutdown (MainProcess)") straight to stdout, outside logging.
        worker_log, beat_log = worker.log(), beat.log()
    finally:
        worker.stop()
        beat.stop()
        with app.connection_for_write() as connection:
            for name in (queue, beat_queue):
                connection.default_channel.queue_delete(name)

    web = _json_lines((tmp_path / "web.log").read_text())
    tasks = _json_lines(worker_log)
    beat_lines = _json_lines(beat_log)

    # then the web's lines of that request carry its id and one trace id
    of_request = [line for line in web if line["request_id"] == request_id]
    (access,) = [line for line in of_request if line["logger"] == "gunicorn.access"]
    (held_line,) = [line for line in of_request if line["message"] == "booking.held"]
    trace_id = held_line["trace_id"]
    assert trace_id and len(trace_id) == 32 and int(trace_id, 16)
    assert held_line["span_id"] and len(held_line["span_id"]) == 16
    assert access["trace_id"] == trace_id
    fields = ("method", "path", "route", "status", "remote_addr")
    assert {name: access[name] for name in fields} == {
        "method": "POST",
        "path": "/api/v1/bookings",
        "route": "api/v1/bookings",
        "status": 201,
        "remote_addr": "127.0.0.1",
    }
    assert access["duration_ms"] > 0 and access["bytes"] == len(held.content)

    # and the worker's lines of the task it caused carry the task's id and that trace id
    (delivery,) = [line for line in tasks if line["message"] == "webhook_delivery.succeeded"]
    assert delivery["task_name"] == "webhooks.send" and delivery["task_id"]
    assert delivery["trace_id"] == trace_id and delivery["request_id"] == request_id
    finished = [
        line
        for line in tasks
        if line.get("task_id") == delivery["task_id"] and line is not delivery
    ]
    assert finished and all(line["trace_id"] == trace_id for line in finished)

    # and the manage link's token and the typed address reach no line, not even Django's
    # "Not Found" line, written after the request's span ended but still naming its trace
    (manage,) = [line for line in web if line.get("path", "").startswith("/manage/")]
    assert manage["path"] == "/manage/[REDACTED]/" and manage["route"] == "manage/<str:token>/"
    (not_found,) = [line for line in web if line["logger"] == "django.request"]
    assert not_found["request_id"] == manage["request_id"]
    assert not_found["trace_id"] == manage["trace_id"] and manage["trace_id"]
    assert not_found["request"] == "GET /manage/[REDACTED]/"
    everything = "\n".join(json.dumps(line) for line in web)
    assert MANAGE_TOKEN not in everything and EMAIL not in everything

    # and beat writes the same shape
    assert any(line["logger"] == "celery.beat" for line in beat_lines)
