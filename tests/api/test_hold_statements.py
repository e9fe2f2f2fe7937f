"""What one warm API hold says to PostgreSQL: a ceiling that only goes down (make bench
reports the statements by kind), and no read of rows that only point at the booking."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.api.calls import hold

# 11 at the time of writing, for a customer seen before: the idempotency record and its
# answer; the service with the slot's resource, location and start (one statement); the
# resource's lock (which also reads whether it offers the service and has elapsed holds
# nearby); the slots' lock (which also reads whether a session nearby overlaps); the
# slots' counters with their hold rows (one statement); the customer; the booking, its
# audit row and its event; the webhook endpoints' key-share lock. A new customer is
# inserted by the statement that looks for it (an INSERT that does nothing when a
# concurrent booking made the customer first: no savepoint) and adds its audit entry.
# No SET search_path (the connection keeps the business's path from the warm-up
# request), no content types (remembered per schema), no savepoint inside the hold (an
# error ends the idempotency record's transaction).
# Inside the test's own transaction, the idempotency record's transaction is a
# savepoint: two more.
HOLD_STATEMENTS_CEILING = 11
NEW_CUSTOMER_STATEMENTS = 1
TEST_TRANSACTION_STATEMENTS = 2


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
    assert not [sql for sql in statements if sql.startswith("SET search_path")]
    assert not [sql for sql in statements if "django_content_type" in sql]
    listing = "\n".join(s[:120] for s in statements)
    assert len(statements) <= HOLD_STATEMENTS_CEILING + TEST_TRANSACTION_STATEMENTS, listing
    savepoints = [sql for sql in statements if sql.startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))]
    assert len(savepoints) == TEST_TRANSACTION_STATEMENTS, listing
    assert len(statements) - len(savepoints) <= HOLD_STATEMENTS_CEILING, listing


@pytest.mark.django_db
def test_a_hold_by_a_new_customer_adds_only_its_audit_entry(anon_client, catalogue):
    hold(anon_client, catalogue, key="warm", slot=catalogue.slots[0])
    with CaptureQueriesContext(connection) as seen:
        response = hold(
            anon_client, catalogue, key="new", slot=catalogue.slots[1], email="first@time.test"
        )

    assert response.status_code == 201
    statements = [query["sql"] for query in seen.captured_queries]
    listing = "\n".join(s[:120] for s in statements)
    ceiling = HOLD_STATEMENTS_CEILING + NEW_CUSTOMER_STATEMENTS + TEST_TRANSACTION_STATEMENTS
    assert len(statements) <= ceiling, listing
    customers = [sql for sql in statements if 'INSERT INTO "bookings_customer"' in sql]
    assert len(customers) == 1, listing
    audits = [sql for sql in statements if sql.startswith('INSERT INTO "auditlog_logentry"')]
    assert len(audits) == 2, listing  # the customer's and the booking's
