"""Template filters of the customer booking pages."""

from __future__ import annotations

from urllib.parse import urlencode

from django import template
from django.utils.html import conditional_escape, format_html_join

from apps.booking_site.timezones import zone_label as _zone_label
from apps.notifications.messages.content import duration_label

register = template.Library()


@register.filter
def zone_label(name: str) -> str:
    """ "America/New_York" → "America/New York"."""
    return _zone_label(name or "")


@register.filter
def duration(minutes: int) -> str:
    """90 → "1 hour 30 minutes", 1440 → "24 hours", 2880 → "2 days" (as in the emails)."""
    return duration_label(int(minutes or 0))


def _carried(context: template.Context) -> list[tuple[str, str]]:
    return [
        (name, value)
        for name, value in (
            ("tz", context.get("carried_tz")),
            ("lang", context.get("carried_lang")),
        )
        if value
    ]


@register.simple_tag(takes_context=True)
def carried_query(context: template.Context, joiner: str = "?") -> str:
    """What the flow's links carry on (the picked zone and language, for pages in a
    frame where cookies are kept out): "?tz=…&lang=…", or after a query of the link's
    own `{% carried_query "&" %}`; "" when nothing was picked."""
    carried = _carried(context)
    if not carried:
        return ""
    return conditional_escape(joiner + urlencode(carried, safe="/"))


@register.simple_tag(takes_context=True)
def carried_inputs(context: template.Context) -> str:
    """The same as hidden fields of a form."""
    return format_html_join("", '<input type="hidden" name="{}" value="{}">', _carried(context))
