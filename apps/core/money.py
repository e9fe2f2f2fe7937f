"""Amounts of money as a reader of the active language writes them, by Babel's locale
data (CLDR): "€25.00" in English, "25,00 €" in German, "25,00 €" in French."""

from __future__ import annotations

from decimal import Decimal

from babel.numbers import format_currency
from django.utils import translation


def money_format(amount: Decimal | int | str, currency: str, *, language: str | None = None) -> str:
    """`amount` of `currency` (an ISO 4217 code) in `language`, else the active one."""
    locale = translation.to_locale(language or translation.get_language() or "en")
    return str(format_currency(Decimal(str(amount)), currency.upper(), locale=locale))
