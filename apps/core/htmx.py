"""How a screen answers: the whole page, or only its partial when htmx swaps it in.
Every screen works as a plain page (links keep their href); htmx only saves reloads."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import patch_vary_headers
from django_htmx.http import HttpResponseClientRedirect


def wants_partial(request: HttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    # A history restore after a cache miss must get the whole page back: htmx swaps it
    # in as the body.
    return htmx is not None and bool(htmx) and not htmx.history_restore_request


def render_page_or_partial(
    request: HttpRequest,
    *,
    page: str,
    partial: str,
    context: dict[str, Any],
    status: int = 200,
) -> HttpResponse:
    template = partial if wants_partial(request) else page
    response = render(request, template, context, status=status)
    # One URL answers a page or a partial: caches must keep them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


def redirect_after_post(request: HttpRequest, url: str) -> HttpResponse:
    """Post/redirect/get. Under htmx the browser navigates for real (HX-Redirect) so the
    address bar, the title and the navigation show the page it lands on."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)
