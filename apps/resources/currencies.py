"""ISO 4217 currency codes a service may be priced in, with their minor units.

The list holds the active codes of ISO 4217 (amendments up to 2025, which added XCG
and ZWG) except those that are not money a customer pays in: precious metals (XAU,
XAG, XPD, XPT), bond-market units (XBA-XBD), SDR/SUCRE/ADB units (XDR, XSU, XUA), fund
codes (BOV, CHE, CHW, CLF, COU, MXV, USN, UYI, UYW) and the testing / no-currency codes
(XTS, XXX).
"""

from __future__ import annotations

from decimal import Decimal

# fmt: off
ISO_4217_CODES: frozenset[str] = frozenset({
    "AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN", "BAM", "BBD", "BDT",
    "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL", "BSD", "BTN", "BWP", "BYN", "BZD", "CAD",
    "CDF", "CHF", "CLP", "CNY", "COP", "CRC", "CUC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP",
    "DZD", "EGP", "ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD", "GNF",
    "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR", "IQD", "IRR", "ISK", "JMD",
    "JOD", "JPY", "KES", "KGS", "KHR", "KMF", "KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP",
    "LKR", "LRD", "LSL", "LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
    "MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR", "NZD", "OMR", "PAB",
    "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR", "RON", "RSD", "RUB", "RWF", "SAR", "SBD",
    "SCR", "SDG", "SEK", "SGD", "SHP", "SLE", "SLL", "SOS", "SRD", "SSP", "STN", "SVC", "SYP",
    "SZL", "THB", "TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX", "USD",
    "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD", "XCG", "XOF", "XPF", "YER",
    "ZAR", "ZMW", "ZWG", "ZWL",
})
# fmt: on

# Currencies without the usual two decimals (ISO 4217 minor unit 0 or 3).
_MINOR_UNITS: dict[str, int] = {
    **dict.fromkeys(
        (
            "BIF",
            "CLP",
            "DJF",
            "GNF",
            "ISK",
            "JPY",
            "KMF",
            "KRW",
            "PYG",
            "RWF",
            "UGX",
            "VND",
            "VUV",
            "XAF",
            "XOF",
            "XPF",
        ),
        0,
    ),
    **dict.fromkeys(("BHD", "IQD", "JOD", "KWD", "LYD", "OMR", "TND"), 3),
}


def is_currency(code: object) -> bool:
    return isinstance(code, str) and code in ISO_4217_CODES


def currency_exponent(code: str) -> int:
    """ISO 4217's minor unit of the currency (JPY 0, USD 2, KWD 3): amounts sent to a
    payment provider are integers of this unit."""
    return _MINOR_UNITS.get(code.upper(), 2)


def minor_units(code: str) -> int:
    """Decimals a price may carry: the currency's minor unit, at most the 2 that
    `Service.price` stores (3-decimal currencies are priced to the cent)."""
    return min(_MINOR_UNITS.get(code, 2), 2)


def fits_minor_units(amount: Decimal, code: str) -> bool:
    """45.50 JPY is not a price: yen have no minor unit."""
    exponent = amount.normalize().as_tuple().exponent
    decimals = -exponent if isinstance(exponent, int) and exponent < 0 else 0
    return decimals <= minor_units(code)
