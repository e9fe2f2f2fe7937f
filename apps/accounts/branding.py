"""The tenant's accent colour made safe for text: AA contrast (4.5:1) for white text on
accent-coloured buttons and for accent-coloured links on the page background."""

from __future__ import annotations

import re
from dataclasses import dataclass

DEFAULT_ACCENT = "#1d4ed8"
PAGE_BACKGROUND = "#f9fafb"  # --bg in static/css/app.css: the darkest surface text sits on
AA_TEXT = 4.5
_HEX = re.compile(r"^#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})$")


@dataclass(frozen=True)
class AccentPalette:
    brand: str  # the colour as configured (decorative use only)
    text_safe: str  # the same hue, darkened until text in or on it reaches AA


RGB = tuple[float, float, float]


def _rgb(color: str) -> RGB:
    digits = color[1:]
    if len(digits) == 3:
        digits = "".join(2 * digit for digit in digits)
    return float(int(digits[0:2], 16)), float(int(digits[2:4], 16)), float(int(digits[4:6], 16))


def _luminance(rgb: RGB) -> float:
    def channel(value: float) -> float:
        value /= 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(value) for value in rgb)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((_luminance(_rgb(first)), _luminance(_rgb(second))), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _hex(rgb: RGB) -> str:
    return "#" + "".join(f"{round(max(0.0, min(255.0, value))):02x}" for value in rgb)


def accent_palette(color: str | None) -> AccentPalette:
    """A pale brand colour (say #fbbf24) keeps its hue but gets darker until white text
    on it and it on the page background both pass AA; a dark one is used as it is."""
    brand = color if isinstance(color, str) and _HEX.match(color) else DEFAULT_ACCENT
    red, green, blue = _rgb(brand)
    brand = _hex((red, green, blue))
    safe = brand
    for _ in range(60):
        if contrast_ratio(safe, PAGE_BACKGROUND) >= AA_TEXT:
            break
        red, green, blue = red * 0.93, green * 0.93, blue * 0.93
        safe = _hex((red, green, blue))
    return AccentPalette(brand=brand, text_safe=safe)
