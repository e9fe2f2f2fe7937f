"""Traces: OpenTelemetry for Django, psycopg, Redis and Celery, set up in one place.

Each process calls `tracing_setup()` once: WSGI (`config/wsgi.py`, which `runserver` loads
too), every Celery worker process and beat (`config/celery.py`). What it sets up depends
on the environment, read with OpenTelemetry's own variable names:

- `OTEL_EXPORTER_OTLP_ENDPOINT` set (e.g. `http://collector:4318`): spans are recorded
  and sent over OTLP/HTTP in batches (`OTEL_EXPORTER_OTLP_HEADERS`,
  `OTEL_TRACES_SAMPLER`, `OTEL_SERVICE_NAME`, `OTEL_RESOURCE_ATTRIBUTES` apply as usual);
  database queries and Redis commands get spans of their own.
- unset: nothing is recorded or sent, yet every request and task still gets a real trace
  id and span id. The sampler drops every span, and a dropped span is a bare id pair
  (no attributes, no timing, no export). The ids are what the log lines carry
  (`config/logging.py`), and the trace context still travels in task headers, so a
  task's log lines name the trace of the request that queued it. Django's
  instrumentation is replaced by `TraceContextMiddleware`, which only opens that span
  (the instrumentation's middleware gathers a request's attributes and resolves its
  URL before the sampler drops the span: 140 µs a request against 15 µs, measured on
  /healthz), and query and command spans are left out.
- `OTEL_SDK_DISABLED=true`: nothing at all, and log lines carry no trace ids.

A task inherits the trace of whoever sent it: the Celery instrumentation writes the
current context into the message headers (`traceparent`) when a task is published and
the worker continues it. Tasks are sent after commit (`transaction.on_commit`, the
outbox), which runs inside the request that committed, so the request's span is
still current when the message is published.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from opentelemetry import context, propagate, trace
from opentelemetry.instrumentation.celery import CeleryInstrumentor
from opentelemetry.instrumentation.django import DjangoInstrumentor
from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]
from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
from opentelemetry.instrumentation.redis import RedisInstrumentor
from opentelemetry.sdk.environment_variables import OTEL_SERVICE_NAME
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF

from config.log_redaction import secrets_redact

# The collector's base address, or (OpenTelemetry's other spelling) its traces endpoint.
ENDPOINT_VARIABLES = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
_setup_in_pid: int | None = None


def tracing_exporting() -> bool:
    return any(os.environ.get(name, "").strip() for name in ENDPOINT_VARIABLES)


def tracing_disabled() -> bool:
    return os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true"


def tracer_provider_build(*, service: str, exporting: bool) -> TracerProvider:
    # OTEL_SERVICE_NAME, when set, names the service; ours otherwise.
    attributes = {} if os.environ.get(OTEL_SERVICE_NAME) else {SERVICE_NAME: f"timenest-{service}"}
    resource = Resource.create(attributes)
    if not exporting:
        return TracerProvider(resource=resource, sampler=ALWAYS_OFF)
    # Imported only when used: the exporter pulls in protobuf and requests.
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    provider = TracerProvider(resource=resource)  # the sampler from OTEL_TRACES_SAMPLER
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    return provider


_LIGHT_MIDDLEWARE = "config.tracing.TraceContextMiddleware"
_light_tracer: trace.Tracer | None = None


class TraceContextMiddleware:
    """Without a collector: the request's span, continuing a caller's `traceparent`, made
    current for the request so that log lines and queued tasks carry its ids. Nothing
    else is computed; the provider's sampler drops it."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response
        self.tracer = _light_tracer or trace.get_tracer(__name__)

    def __call__(self, request: HttpRequest) -> HttpResponse:
        # Straight from the environ: most requests have no `traceparent`, and building
        # `request.headers` for the propagator costs more than the span.
        traceparent = request.META.get("HTTP_TRACEPARENT")
        parent = None
        if traceparent:
            carrier = {"traceparent": traceparent}
            if tracestate := request.META.get("HTTP_TRACESTATE"):
                carrier["tracestate"] = tracestate
            parent = propagate.extract(carrier)
        span = self.tracer.start_span("request", context=parent, kind=trace.SpanKind.SERVER)
        token = context.attach(trace.set_span_in_context(span, parent))
        try:
            return self.get_response(request)
        finally:
            context.detach(token)
            span.end()


def _instrumentors(*, exporting: bool) -> Sequence[BaseInstrumentor]:
    if not exporting:
        return [CeleryInstrumentor()]
    return [DjangoInstrumentor(), CeleryInstrumentor(), PsycopgInstrumentor(), RedisInstrumentor()]


# The request's span starts after these: the policy middleware, so that every answer has
# the policy (the instrumentation's middleware answers a disallowed Host with a 400 as
# the span starts), /metrics, whose scrapes are not requests worth a trace, and the
# probes, which must answer on any Host (a probe by address) and are not worth one either.
_BEFORE_THE_SPAN = (
    "config.content_security.ContentSecurityPolicyMiddleware",
    "config.metrics.MetricsMiddleware",
    "config.health.HealthCheckMiddleware",
)


def _django_middleware_position() -> int:
    # Reads the settings here so that an error in them is raised as it is (the
    # instrumentation would swallow it and configure empty settings).
    middleware = list(settings.MIDDLEWARE)
    return max((middleware.index(m) + 1 for m in _BEFORE_THE_SPAN if m in middleware), default=0)


# What the instrumentation records of the URL: the path, with the tokens of manage,
# sign-up and reset links redacted as in the logs, and no query string (a typed email).
_URL_ATTRIBUTES = ("http.target", "http.url", "url.path", "url.full")


def _span_url_redacted(span: trace.Span, request: HttpRequest) -> None:
    if not span.is_recording():
        return
    path = secrets_redact(request.path)
    for name in _URL_ATTRIBUTES:
        span.set_attribute(name, path)
    span.set_attribute("url.query", "")


def _span_named_by_route(span: trace.Span, request: HttpRequest, response: HttpResponse) -> None:
    # The span is named when the request comes in, from the tenant URLconf; on the root
    # domain (another URLconf, chosen later by the tenant middleware) only the route
    # Django actually matched is right.
    match = request.resolver_match
    if span.is_recording() and match is not None and match.route:
        span.update_name(f"{request.method} {match.route}")


def tracing_instrument(*, tracer_provider: TracerProvider, exporting: bool) -> None:
    """Adds a middleware to MIDDLEWARE (so call this before the WSGI handler is built)
    and instruments Celery; when `exporting`, the middleware is Django's instrumentation
    and psycopg and Redis are instrumented too, otherwise it is TraceContextMiddleware."""
    global _light_tracer
    if not exporting and _LIGHT_MIDDLEWARE not in settings.MIDDLEWARE:
        _light_tracer = tracer_provider.get_tracer(__name__)
        middleware = list(settings.MIDDLEWARE)
        middleware.insert(_django_middleware_position(), _LIGHT_MIDDLEWARE)
        settings.MIDDLEWARE = middleware
    for instrumentor in _instrumentors(exporting=exporting):
        if instrumentor.is_instrumented_by_opentelemetry:
            continue
        if isinstance(instrumentor, DjangoInstrumentor):
            instrumentor.instrument(
                tracer_provider=tracer_provider,
                middleware_position=_django_middleware_position(),
                request_hook=_span_url_redacted,
                response_hook=_span_named_by_route,
            )
        else:
            instrumentor.instrument(tracer_provider=tracer_provider)


def tracing_uninstrument() -> None:
    if _LIGHT_MIDDLEWARE in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != _LIGHT_MIDDLEWARE]
    for instrumentor in _instrumentors(exporting=True):
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


def tracing_setup(*, service: str) -> None:
    """Sets up this process's tracing once (see the module's docstring). `service` names
    the process in exported spans: web, worker or beat."""
    global _setup_in_pid
    if _setup_in_pid == os.getpid() or tracing_disabled():
        return
    _setup_in_pid = os.getpid()
    exporting = tracing_exporting()
    provider = tracer_provider_build(service=service, exporting=exporting)
    trace.set_tracer_provider(provider)
    tracing_instrument(tracer_provider=provider, exporting=exporting)
