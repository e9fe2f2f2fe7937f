"""The business's rating on its booking pages: `{% business_rating as rating %}`."""

from __future__ import annotations

from django import template

from apps.reviews.selectors import BusinessRating
from apps.reviews.selectors import business_rating as rating_read

register = template.Library()


@register.simple_tag
def business_rating() -> BusinessRating:
    return rating_read()
