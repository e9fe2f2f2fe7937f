"""The booking pages under /embed/ (apps/booking_site/embed.py): the same views and
routes as apps/booking_site/urls.py, each wrapped by `embedded`.

`urlpatterns` go into the tenant's URLconf under the namespace "embed" (for resolving
only); `config/urls_embed.py`, the URL map while an embedded page renders, names them
"home" and "booking:…" so that the flow's links stay under /embed/."""

from django.urls import URLPattern, path

from apps.booking_site import urls as flow_urls
from apps.booking_site import views
from apps.booking_site.embed import embedded

home_patterns: list[URLPattern] = [path("", embedded(views.services_page), name="home")]

flow_patterns: list[URLPattern] = [
    path(str(pattern.pattern), embedded(pattern.callback), name=pattern.name)
    for pattern in flow_urls.urlpatterns
]

urlpatterns: list[URLPattern] = [*home_patterns, *flow_patterns]
