"""The URL map in force while an embedded booking page renders
(apps/booking_site/embed.py): the tenant's, except that "home" and the "booking"
names point under /embed/, so every link, form and redirect of the flow stays in the
frame. Requests are resolved by config/urls_tenant.py; this map only builds URLs."""

from django.urls import URLPattern, URLResolver, include, path

from apps.booking_site import embed_urls
from config import urls_tenant


def _outside_the_flow(pattern: URLPattern | URLResolver) -> bool:
    if isinstance(pattern, URLResolver):
        return pattern.namespace not in ("booking", "embed")
    return pattern.name != "home"


urlpatterns: list[URLPattern | URLResolver] = [
    path("embed/", include(embed_urls.home_patterns)),
    path("embed/", include((embed_urls.flow_patterns, "booking"))),
    *[
        pattern
        for pattern in urls_tenant.urlpatterns
        if isinstance(pattern, URLPattern | URLResolver) and _outside_the_flow(pattern)
    ],
]
