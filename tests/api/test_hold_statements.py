"""What one warm API hold says to PostgreSQL: a ceiling that only goes down (make bench
reports the statements by kind), and no read of rows that only point at the booking."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.calls import hold

# 22 at the time of writing: SET search_path, two savepoints and their releases, the
# idempotency record and its answer, the service, slot and resource reads and locks,
# the overlap check, the counters, the hold, the customer, the booking, its audit row,
# its event and the webhook endpoints' key-share lock.
HOLD_STATEMENTS_CEILING = 22


@pytest.mark.django_db
def test_a_warm_hold_stays_within_its_statements_and_reads_no_reverse_relation(
    anon_client, catalogue
):
    hold(anon_client, catalogue, key="warm", slot=catalogue.slots[0])
    with CaptureQueriesContext(connection) as seen:
        response = hold(anon_client, catalogue, key="measured", slot=catalogue.slots[1])

    assert response.status_code == 201
    statements = [query["sql"] for query in seen.captured_queries]
    # The audit row diffs the booking's fields; a one-to-one pointing at the booking
    # (its review) is not one of them, and reading it cost a query per hold.
    assert not [sql for sql in statements if "reviews_review" in sql]
    assert len(statements) <= HOLD_STATEMENTS_CEILING, "\n".join(s[:120] for s in statements)
