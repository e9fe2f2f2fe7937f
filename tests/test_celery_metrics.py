"""A worker's or beat's own metrics endpoint (config/celery_metrics.py), served in this
process over real HTTP: who may read it (as /metrics: the token, else this machine
only), what it serves (this process's counts, never the web's scrape-time figures), and
the task counters by outcome. tests/test_metrics_processes.py runs it in a real worker."""

from __future__ import annotations

import io
import urllib.error
import urllib.request
from collections.abc import Iterator
from typing import Any
from wsgiref.simple_server import WSGIServer

import pytest

from config.celery import app
from config.celery_metrics import metrics_app, metrics_server_start, serve_from_environment
from tests.metrics import names, samples_parse, value

TASKS = "timenest_celery_tasks_total"


@app.task(name="tests.celery_metrics.succeed")
def _succeed() -> int:
    return 1


@app.task(name="tests.celery_metrics.fail")
def _fail() -> None:
    raise ValueError("this task fails")


@pytest.fixture
def server() -> Iterator[WSGIServer]:
    running = metrics_server_start(port=0, address="127.0.0.1")
    try:
        yield running
    finally:
        running.shutdown()
        running.server_close()


def _get(server: WSGIServer, token: str | None = None, method: str = "GET") -> tuple[int, str]:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    request = urllib.request.Request(
        f"http://127.0.0.1:{server.server_port}/metrics", headers=headers, method=method
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:  # noqa: S310
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def _call(environ: dict[str, Any]) -> tuple[str, bytes]:
    """The endpoint's WSGI application called directly (a peer address of our choice)."""
    seen: list[str] = []
    body = b"".join(
        metrics_app()(
            {"REQUEST_METHOD": "GET", "PATH_INFO": "/metrics", "wsgi.input": io.BytesIO(),
             **environ},
            lambda status, headers: seen.append(status),
        )
    )  # fmt: skip
    return seen[0], body


def test_worker_endpoint_counts_tasks_by_outcome(server, settings):
    settings.METRICS_TOKEN = ""
    before = samples_parse(_get(server)[1])

    # when one task succeeds and one fails (run as a worker runs them)
    assert _succeed.apply().get() == 1
    assert _fail.apply(throw=False).failed()

    # then
    status, text = _get(server)
    assert status == 200
    after = samples_parse(text)

    def grew(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    assert grew(TASKS, task="tests.celery_metrics.succeed", outcome="succeeded") == 1
    assert grew(TASKS, task="tests.celery_metrics.fail", outcome="failed") == 1
    duration = "timenest_celery_task_duration_seconds_count"
    assert grew(duration, task="tests.celery_metrics.succeed") == 1
    # the figures read from PostgreSQL and the broker are the web's to serve
    assert not {"timenest_outbox_pending", "timenest_metrics_source_up"} & names(after)


def test_worker_endpoint_with_a_token_refuses_a_missing_or_wrong_one(server, settings):
    settings.METRICS_TOKEN = "worker-token-0123456789"

    missing = _get(server)
    wrong = _get(server, token="worker-token-0123456788")
    right = _get(server, token="worker-token-0123456789")
    posted = _get(server, token="worker-token-0123456789", method="POST")

    assert missing[0] == 401 and wrong[0] == 401
    assert "timenest_" not in missing[1] + wrong[1]
    assert right[0] == 200 and "# TYPE timenest_" in right[1]
    assert posted[0] == 405
    # the token is enough from anywhere
    status, _body = _call(
        {"REMOTE_ADDR": "203.0.113.9", "HTTP_AUTHORIZATION": "Bearer worker-token-0123456789"}
    )
    assert status.startswith("200")


def test_worker_endpoint_without_a_token_serves_this_machine_only(settings):
    settings.METRICS_TOKEN = ""

    remote, remote_body = _call({"REMOTE_ADDR": "203.0.113.9"})
    # nothing stands in front of this port: a forwarded-for header proves nothing
    spoofed, _ = _call({"REMOTE_ADDR": "203.0.113.9", "HTTP_X_FORWARDED_FOR": "127.0.0.1"})
    local, _ = _call({"REMOTE_ADDR": "127.0.0.1"})
    mapped, _ = _call({"REMOTE_ADDR": "::ffff:127.0.0.1"})

    assert remote.startswith("403") and spoofed.startswith("403")
    assert b"timenest_" not in remote_body
    assert local.startswith("200") and mapped.startswith("200")


def test_no_endpoint_without_a_port_and_a_busy_port_is_logged_not_fatal(
    server, monkeypatch, caplog
):
    monkeypatch.delenv("CELERY_METRICS_PORT", raising=False)
    serve_from_environment()  # nothing to do

    monkeypatch.setenv("CELERY_METRICS_PORT", str(server.server_port))
    serve_from_environment()  # the port is taken: the worker carries on

    assert [r.message for r in caplog.records if r.name == "config.celery_metrics"] == [
        "metrics.server_failed"
    ]
