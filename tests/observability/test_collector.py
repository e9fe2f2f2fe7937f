"""A web process given a collector's address sends it its spans over OTLP/HTTP: the
request's, its queries', and the publishing of the task it queued, in the trace its log
lines name."""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
import requests
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from config.celery import app
from tests.api.calls import hold_payload
from tests.observability.conftest import TracedBusiness
from tests.observability.web import gunicorn
from tests.workers import process_environment, unique_queue, wait_for

pytestmark = [pytest.mark.slow]

MANAGE_PREFIX = "/manage/"


class Collector:
    """An OTLP/HTTP traces endpoint on 127.0.0.1 that keeps what it is sent."""

    def __init__(self) -> None:
        self.exports: list[ExportTraceServiceRequest] = []
        collector = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                export = ExportTraceServiceRequest()
                export.ParseFromString(body)
                collector.exports.append(export)
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def spans(self) -> list[tuple[str, Any]]:
        """(service name, span) of everything received."""
        return [
            (
                next(
                    a.value.string_value for a in rs.resource.attributes if a.key == "service.name"
                ),
                span,
            )
            for export in list(self.exports)
            for rs in export.resource_spans
            for ss in rs.scope_spans
            for span in ss.spans
        ]


@pytest.fixture
def collector() -> Iterator[Collector]:
    collector = Collector()
    try:
        yield collector
    finally:
        collector.server.shutdown()
        collector.server.server_close()


def test_a_web_process_with_a_collector_sends_it_the_spans_of_a_booking_request(
    traced_business: TracedBusiness, collector: Collector, django_db_blocker, tmp_path
):
    # given gunicorn told where the collector is (and to send every half second)
    queue = unique_queue("export")
    with django_db_blocker.unblock():
        env = process_environment(
            queue,
            API_RATE_ANON_BOOKING="1000/min",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
            OTEL_BSP_SCHEDULE_DELAY="500",
        )
    business = traced_business
    try:
        with gunicorn(env, tmp_path / "web.log") as base:
            # when a customer holds a time
            held = requests.post(
                f"{base}/api/v1/bookings",
                json=hold_payload(business.catalogue, slot=business.catalogue.slots[2]),
                headers={"Host": business.host, "Idempotency-Key": uuid.uuid4().hex},
                timeout=30,
            )
            assert held.status_code == 201, held.text

            def request_span() -> list[Any]:
                return [s for _, s in collector.spans() if s.name == "POST api/v1/bookings"]

            assert wait_for(request_span, timeout=30), collector.spans()

            # and a manage link with a typed email in its query, and a probe by address
            token = "eyJiIjoiMDFhMjRlZDIiLCJzIjoidF9hY21lIn0:1xaQgm:LEqxcJJb6OBT3venRE8"
            requests.get(
                f"{base}{MANAGE_PREFIX}{token}/?email=ann.lee%40example.test",
                headers={"Host": business.host},
                timeout=30,
            )
            probe = requests.get(f"{base}/healthz", headers={"Host": "10.1.2.3:8000"}, timeout=30)
            assert probe.status_code == 200  # the span's middleware would refuse that Host

            def manage_span() -> list[Any]:
                return [
                    s
                    for _, s in collector.spans()
                    if s.name.startswith("GET") and s.trace_id != request_span()[0].trace_id
                ]

            assert wait_for(manage_span, timeout=30), collector.spans()
    finally:
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)

    # then the collector has the request's trace: the request, its queries and Redis
    # calls, and the publishing of the webhook's task, all from timenest-web
    (request,) = request_span()
    trace = [(service, s) for service, s in collector.spans() if s.trace_id == request.trace_id]
    assert {service for service, _ in trace} == {"timenest-web"}
    names = {s.name for _, s in trace}
    assert "apply_async/webhooks.send" in names
    attributes = [{a.key: a.value.string_value for a in s.attributes} for _, s in trace]
    assert any(a.get("db.system") == "postgresql" for a in attributes), names
    assert any(a.get("db.system") == "redis" for a in attributes), names
    # and the request's log lines name that trace
    access = [
        json.loads(line)
        for line in (tmp_path / "web.log").read_text().splitlines()
        if '"gunicorn.access"' in line and '"POST"' in line
    ]
    assert [line["trace_id"] for line in access] == [request.trace_id.hex()]
    # and no span carries a link's token or anything typed in a query string
    exported = repr([s for _, s in collector.spans()])
    assert "LEqxcJJb6OBT3venRE8" not in exported
    assert "ann.lee" not in exported
    assert "/healthz" not in exported  # probes are not traced
