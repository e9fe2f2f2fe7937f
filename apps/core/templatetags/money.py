"""`{{ service.price|money:service.currency }}`: an amount in the page's language."""

from __future__ import annotations

from decimal import Decimal

from django import template

from apps.core.money import money_format

register = template.Library()


@register.filter
def money(amount: Decimal | int | str | None, currency: str) -> str:
    if amount is None or amount == "":
        return ""
    return money_format(amount, currency)
