"""Directory test fixtures: the fixed corpus (tests/directory/corpus.py) and signed-in
staff clients of acme."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import Client

from apps.accounts.models import Tenant
from tests.directory.corpus import Corpus, corpus_build
from tests.plugins.factories import MembershipFactory, member_client


@pytest.fixture
def corpus(acme: Tenant) -> Corpus:
    return corpus_build(acme)


@pytest.fixture
def client_as(acme: Tenant) -> Callable[[str], Client]:
    """`client_as("manager")`: a client signed in as a new acme member with that role."""

    def make(role: str) -> Client:
        return member_client(MembershipFactory.create(tenant=acme, role=role), "acme.localhost")

    return make
