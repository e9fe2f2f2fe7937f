"""Stripe's form encoding: `metadata[tenant]=acme`, `line_items[0][price]=price_x`,
`expand[]=customer` become nested dicts and lists; helpers read typed values out of them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl

from .errors import invalid, required

_SEGMENT = re.compile(r"\[([^\[\]]*)\]")


def _split(key: str) -> list[str]:
    head, bracket, _rest = key.partition("[")
    if not bracket:
        return [key]
    return [head, *_SEGMENT.findall(key[len(head) :])]


def _listify(node: Any) -> Any:
    """Dicts whose keys are all indexes ("0", "1"...) become lists, recursively."""
    if not isinstance(node, dict):
        return node
    converted = {key: _listify(value) for key, value in node.items()}
    if converted and all(key.isdigit() for key in converted):
        return [converted[key] for key in sorted(converted, key=int)]
    return converted


def parse_pairs(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    root: dict[str, Any] = {}
    for key, value in pairs:
        parts = _split(key)
        node = root
        for position, part in enumerate(parts):
            last = position == len(parts) - 1
            if part == "":  # `expand[]=x`: append
                part = str(len(node))
            if last:
                node[part] = value
            else:
                child = node.get(part)
                if not isinstance(child, dict):
                    child = {}
                    node[part] = child
                node = child
    return dict(_listify(root))


def parse_query(text: str) -> dict[str, Any]:
    return parse_pairs(parse_qsl(text, keep_blank_values=True))


def text(params: dict[str, Any], name: str, *, need: bool = False) -> str | None:
    value = params.get(name)
    if value is None or value == "":
        if need:
            raise required(name)
        return None
    if not isinstance(value, str):
        raise invalid(name, f"Invalid string: {name}")
    return value


def integer(params: dict[str, Any], name: str, *, need: bool = False) -> int | None:
    value = text(params, name, need=need)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise invalid(name, f"Invalid integer: {value}", code="parameter_invalid_integer") from None


def boolean(params: dict[str, Any], name: str) -> bool | None:
    value = text(params, name)
    if value is None:
        return None
    if value not in ("true", "false"):
        raise invalid(name, f"Invalid boolean: {value}")
    return value == "true"


def mapping(params: dict[str, Any], name: str) -> dict[str, Any]:
    value = params.get(name)
    if value in (None, ""):
        return {}
    if not isinstance(value, dict):
        raise invalid(name, f"Invalid hash: {name}")
    return value


def items(params: dict[str, Any], name: str) -> list[Any]:
    value = params.get(name)
    if value in (None, ""):
        return []
    if isinstance(value, dict):  # `items[0]` sent without index ordering
        return list(value.values())
    if not isinstance(value, list):
        raise invalid(name, f"Invalid array: {name}")
    return value


def strings(params: dict[str, Any], name: str) -> list[str]:
    value = params.get(name)
    if isinstance(value, str):
        return [value] if value else []
    return [str(entry) for entry in items(params, name)]


def metadata_merge(current: dict[str, str], update: Any, param: str = "metadata") -> dict:
    """Stripe's rules: `metadata=` clears, `metadata[k]=` deletes k, others set."""
    if update is None:
        return current
    if update == "":
        return {}
    if not isinstance(update, dict):
        raise invalid(param, "Invalid metadata: must be a hash")
    merged = dict(current)
    for key, value in update.items():
        if value == "":
            merged.pop(key, None)
        else:
            merged[str(key)] = str(value)
    return merged
