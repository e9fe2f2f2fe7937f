"""Tracing (config/tracing.py): real ids without an exporter, the OTLP exporter with one,
and one trace from a booking request to the task it queues, read from an in-memory
exporter with a worker consuming the real broker in this process."""

from __future__ import annotations

import contextvars
import logging
import os
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.http import HttpRequest, HttpResponse
from django.test import Client, RequestFactory
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from apps.core.tenancy import use_public_schema
from config import tracing
from config.celery import app
from config.logging import LogContextFilter
from config.tracing import (
    TraceContextMiddleware,
    tracer_provider_build,
    tracing_instrument,
    tracing_uninstrument,
)
from tests.api.calls import hold_payload, rates, send_json
from tests.observability.conftest import TracedBusiness
from tests.workers import unique_queue, wait_for


def _record_in_context() -> logging.LogRecord:
    record = logging.makeLogRecord({"msg": "booking.held"})
    LogContextFilter().filter(record)
    return record


def test_without_an_endpoint_spans_have_real_ids_and_record_nothing(monkeypatch):
    # given no collector
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_ENDPOINT", raising=False)
    monkeypatch.delenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", raising=False)
    assert not tracing.tracing_exporting()
    tracer = tracer_provider_build(service="web", exporting=False).get_tracer("test")

    # when a request's span and a child of it are current
    with (
        tracer.start_as_current_span("request") as request_span,
        tracer.start_as_current_span("query") as child,
    ):
        record = _record_in_context()

    # then they are real ids, of one trace, that log lines carry; nothing was recorded
    request = request_span.get_span_context()
    assert request.is_valid and child.get_span_context().trace_id == request.trace_id
    assert not request_span.is_recording() and not child.is_recording()
    assert record.trace_id == trace.format_trace_id(request.trace_id)
    assert record.span_id == trace.format_span_id(child.get_span_context().span_id)
    outside = contextvars.Context().run(_record_in_context)  # no request, no span
    assert outside.trace_id is None and outside.span_id is None


def test_without_an_endpoint_a_request_continues_its_callers_trace_or_starts_one(monkeypatch):
    # given the middleware that stands in for Django's instrumentation without a collector
    provider = tracer_provider_build(service="web", exporting=False)
    monkeypatch.setattr(tracing, "_light_tracer", provider.get_tracer("test"))
    seen: list[trace.SpanContext] = []

    def view(request: HttpRequest) -> HttpResponse:
        seen.append(trace.get_current_span().get_span_context())
        return HttpResponse()

    middleware = TraceContextMiddleware(view)
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

    # when a request comes with a caller's `traceparent`, and another without
    middleware(RequestFactory().get("/", HTTP_TRACEPARENT=caller))
    middleware(RequestFactory().get("/"))

    # then the first continues the caller's trace in a span of its own, the second starts
    # a trace, and neither stays current after its response
    continued, started = seen
    assert trace.format_trace_id(continued.trace_id) == "0af7651916cd43dd8448eb211c80319c"
    assert trace.format_span_id(continued.span_id) != "b7ad6b7169203331"
    assert started.is_valid and started.trace_id != continued.trace_id
    assert not trace.get_current_span().get_span_context().is_valid


def test_with_an_endpoint_spans_are_recorded_and_batched_to_otlp(monkeypatch):
    # given a collector's address
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector.invalid:4318")
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.delenv("OTEL_TRACES_SAMPLER", raising=False)
    assert tracing.tracing_exporting()

    # when the worker's provider is built
    provider = tracer_provider_build(service="worker", exporting=True)

    # then spans are recorded and go, batched, to the collector's traces endpoint
    processors = provider._active_span_processor._span_processors
    assert [type(p) for p in processors] == [BatchSpanProcessor]
    exporter = processors[0]._batch_processor._exporter
    assert isinstance(exporter, OTLPSpanExporter)
    assert exporter._endpoint == "http://collector.invalid:4318/v1/traces"
    assert provider.resource.attributes["service.name"] == "timenest-worker"
    with provider.get_tracer("test").start_as_current_span("request") as span:
        assert span.is_recording()
    provider._active_span_processor._span_processors = ()  # nothing to send on shutdown
    provider.shutdown()


def test_sdk_disabled_sets_nothing_up(monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    monkeypatch.setattr(tracing, "_setup_in_pid", None)
    set_provider: list[Any] = []
    monkeypatch.setattr(trace, "set_tracer_provider", set_provider.append)

    tracing.tracing_setup(service="web")

    assert set_provider == []


@pytest.fixture
def spans(monkeypatch) -> Iterator[InMemorySpanExporter]:
    """Django, Celery, psycopg and Redis instrumented in this process, every span kept in
    memory. The process's own set-up is marked done, so the embedded worker's start-up
    signal does not install another provider."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(tracing, "_setup_in_pid", os.getpid())
    tracing_instrument(tracer_provider=provider, exporting=True)
    try:
        yield exporter
    finally:
        tracing_uninstrument()
        provider.shutdown()


def _ancestry(span: ReadableSpan, by_id: dict[int, ReadableSpan]) -> list[str]:
    names = []
    while span.parent is not None and span.parent.span_id in by_id:
        span = by_id[span.parent.span_id]
        names.append(span.name)
    return names


@pytest.mark.worker
def test_a_booking_request_and_the_task_it_queues_share_one_trace(
    traced_business: TracedBusiness, spans, django_db_blocker, settings
):
    # given a worker consuming the real broker, and tasks sent to it rather than run eagerly
    settings.REST_FRAMEWORK = rates()
    queue = unique_queue("traces")
    conf = app.conf
    eager, default_queue = conf.task_always_eager, conf.task_default_queue
    conf.task_always_eager, conf.task_default_queue = False, queue
    business = traced_business
    try:
        with (
            django_db_blocker.unblock(),
            start_worker(
                app, pool="solo", perform_ping_check=False, queues=[queue], shutdown_timeout=30
            ),
        ):
            # when a customer holds a time: the hold commits inside the request and the
            # outbox queues the webhook's send task on commit
            response = send_json(
                Client(HTTP_HOST=business.host),
                "post",
                "/api/v1/bookings",
                hold_payload(business.catalogue, slot=business.catalogue.slots[0]),
                HTTP_IDEMPOTENCY_KEY=uuid.uuid4().hex,
            )
            assert response.status_code == 201, response.content
            ran = wait_for(
                lambda: [s for s in spans.get_finished_spans() if s.name == "run/webhooks.send"],
                timeout=30,
            )
            use_public_schema()
    finally:
        conf.task_always_eager, conf.task_default_queue = eager, default_queue
        with app.connection_for_write() as connection:
            connection.default_channel.queue_delete(queue)

    # then the task's span continues the request's trace, through the published message
    assert ran, [s.name for s in spans.get_finished_spans()]
    finished = spans.get_finished_spans()
    by_id = {s.context.span_id: s for s in finished}
    (request,) = [s for s in finished if s.kind == SpanKind.SERVER]
    assert request.name == "POST api/v1/bookings"
    (task,) = ran
    assert task.kind == SpanKind.CONSUMER
    assert task.context.trace_id == request.context.trace_id
    assert task.parent is not None and task.parent.is_remote  # from the message headers
    publish = by_id[task.parent.span_id]
    assert publish.name == "apply_async/webhooks.send" and publish.kind == SpanKind.PRODUCER
    assert _ancestry(publish, by_id)[-1] == request.name
    # the task's own work is in the trace too: its queries under its span
    queries = [
        s for s in finished if s.attributes and s.attributes.get("db.system") == "postgresql"
    ]
    assert any(task.name in _ancestry(q, by_id) for q in queries)
    assert business.receiver.requests, "the task did not deliver the webhook"
