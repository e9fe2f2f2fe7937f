"""Nothing read back from Redis is unpickled: the cache stores JSON
(config/cache_serializer.py), only JSON's own types go in and an entry that is not JSON
reads as absent; Celery sends and accepts JSON only."""

from __future__ import annotations

import datetime as dt
import pickle
import uuid
from decimal import Decimal

import pytest
from django.core.cache import cache


class _Row:
    pass


def test_json_values_come_back_as_they_went_in():
    value = {"a": [1, 2.5, "x", None, True], "b": {"c": "ü"}}

    cache.set("serializer-probe", value, timeout=30)

    assert cache.get("serializer-probe") == value
    raw = cache.client.get_client().get(cache.make_key("serializer-probe"))
    assert raw == b'{"a":[1,2.5,"x",null,true],"b":{"c":"\\u00fc"}}'


@pytest.mark.parametrize(
    "value",
    [
        dt.datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=dt.UTC),
        dt.date(2026, 1, 2),
        uuid.uuid4(),
        Decimal("1.10"),
        b"bytes",
        (1, {2}),
        _Row(),
        float("nan"),
    ],
)
def test_a_value_json_would_change_or_cannot_hold_is_refused(value):
    with pytest.raises((TypeError, ValueError)):
        cache.set("serializer-probe", value, timeout=30)


@pytest.mark.parametrize("raw", [pickle.dumps({"a": 1}), b"\x80\x05junk", b"{not json"])
def test_an_entry_that_is_not_json_reads_as_absent(raw):
    cache.client.get_client().set(cache.make_key("serializer-probe"), raw, ex=30)

    assert cache.get("serializer-probe") is None
    assert cache.get_many(["serializer-probe"]) in ({}, {"serializer-probe": None})


def test_celery_sends_and_accepts_json_only():
    from config.celery import app

    assert app.conf.task_serializer == "json"
    assert list(app.conf.accept_content) == ["json"]
    assert app.conf.result_backend is None  # no results to (de)serialize either
