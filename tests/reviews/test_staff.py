"""The business's reviews screen (managers and up: reply once, report abuse) and
support's hiding in the business's admin (with a reason, kept and audited)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from auditlog.models import LogEntry
from django.test import Client, RequestFactory

from apps.accounts.admin_sites import tenant_admin_site
from apps.accounts.models import Tenant
from apps.audit.models import SupportAccess
from apps.bookings.models import Booking
from apps.dashboard.reviews.views import PER_PAGE
from apps.reviews.models import Review
from apps.reviews.services import review_create
from tests.plugins.factories import MembershipFactory, member_client, verified_staff_client
from tests.reviews.conftest import Place

HOST = "acme.localhost"


@pytest.fixture
def review(place: Place, complete: Callable[..., Booking]) -> Review:
    return review_create(booking_id=complete().pk, rating=2, comment="Waited 40 minutes.")


def _member(acme: Tenant, role: str) -> Client:
    return member_client(MembershipFactory.create(tenant=acme, role=role), HOST)


def test_a_manager_replies_once_and_reports_abuse(acme: Tenant, review: Review) -> None:
    manager = _member(acme, "manager")
    page = manager.get("/dashboard/reviews/")
    assert page.status_code == 200 and "Waited 40 minutes." in page.content.decode()

    reply_url = f"/dashboard/reviews/{review.pk}/reply/"
    assert manager.post(reply_url, {"reply": "Sorry, a late emergency."}).status_code == 302
    second = manager.post(reply_url, {"reply": "Edited"})
    assert second.status_code == 400
    assert "a reply cannot be changed" in second.content.decode()

    report_url = f"/dashboard/reviews/{review.pk}/report/"
    empty = manager.post(report_url, {"reason": ""})
    assert empty.status_code == 400
    assert manager.post(report_url, {"reason": "Names a staff member"}).status_code == 302

    review.refresh_from_db()
    assert review.reply == "Sorry, a late emergency."
    assert review.report_reason == "Names a staff member" and review.hidden_at is None
    # the customer's words are untouched, and there is no way to change them here
    assert (review.rating, review.comment) == (2, "Waited 40 minutes.")


def test_front_desk_does_not_see_reviews_and_other_ids_are_not_found(
    acme: Tenant, review: Review
) -> None:
    assert _member(acme, "frontdesk").get("/dashboard/reviews/").status_code == 403
    manager = _member(acme, "manager")
    missing = "01a25082-0000-7000-8000-000000000000"
    assert manager.post(f"/dashboard/reviews/{missing}/reply/", {"reply": "x"}).status_code == 404


def test_support_hides_a_review_with_a_reason_kept_and_audited(
    acme: Tenant, review: Review
) -> None:
    agent = verified_staff_client(HOST, email="agent@timenest.test")
    changelist = "/admin/reviews/review/"
    data = {"action": "hide_reviews", "_selected_action": [str(review.pk)]}
    # the action asks for a reason first
    asked = agent.post(changelist, data)
    assert asked.status_code == 200 and "Hide these reviews" in asked.content.decode()
    assert agent.post(changelist, {**data, "apply": "1", "reason": ""}).status_code == 200
    assert Review.objects.get(pk=review.pk).hidden_at is None

    done = agent.post(changelist, {**data, "apply": "1", "reason": "Ticket 42: abusive"})

    assert done.status_code == 302
    hidden = Review.objects.get(pk=review.pk)
    assert hidden.hidden_at is not None and hidden.hidden_reason == "Ticket 42: abusive"
    assert hidden.comment == "Waited 40 minutes."  # kept, unchanged
    access = SupportAccess.objects.filter(user_email="agent@timenest.test", reason__contains="42")
    assert access.get().details["action"] == "review.hide"
    entry = LogEntry.objects.get_for_object(hidden).latest("timestamp")
    assert "hidden_reason" in entry.changes_dict and "comment" not in entry.changes_dict
    # and no form in the admin edits a review
    page = agent.get(f"/admin/reviews/review/{review.pk}/change/")
    assert page.status_code == 200 and 'name="comment"' not in page.content.decode()


def test_an_agent_who_may_only_read_reviews_is_not_offered_hiding(rf: RequestFactory) -> None:
    class Agent:
        """A signed-in support agent holding `perms` (as "app_label.codename")."""

        is_active = is_staff = True
        is_superuser = False

        def __init__(self, *perms: str) -> None:
            self.perms = set(perms)

        def has_perm(self, perm: str, obj: object = None) -> bool:
            return perm in self.perms

    review_admin = tenant_admin_site._registry[Review]

    def offered(*perms: str) -> set[str]:
        request = rf.post("/admin/reviews/review/")
        request.user = Agent(*perms)  # type: ignore[assignment]
        return set(review_admin.get_actions(request)) & {"hide_reviews", "show_reviews"}

    # an agent who may read reviews is not offered the writes that hide or show them
    assert offered("reviews.view_review") == set()
    # one who may change them is (the admin's edit form stays closed: ReadOnlyAdmin)
    assert offered("reviews.view_review", "reviews.change_review") == {
        "hide_reviews",
        "show_reviews",
    }


def test_a_refused_reply_to_a_review_on_a_later_page_keeps_what_was_typed(
    acme: Tenant, place: Place, complete: Callable[..., Booking]
) -> None:
    # given more reviews than one page shows, the oldest on the second page
    oldest = review_create(booking_id=complete(name="First Customer").pk, rating=3, comment="")
    for n in range(PER_PAGE):
        review_create(booking_id=complete(name=f"Customer {n}").pk, rating=5, comment="")
    manager = _member(acme, "manager")
    # when a reply to it that is too long is sent
    typed = "Thank you for coming. " * 100
    response = manager.post(f"/dashboard/reviews/{oldest.pk}/reply/", {"reply": typed})
    # then the screen shows that review's form, with the error and the text typed
    html = response.content.decode()
    assert response.status_code == 400
    assert f'id="review-{oldest.pk}"' in html
    assert "Ensure this value has at most 2000 characters" in html
    assert typed.strip()[:200] in html
    assert Review.objects.get(pk=oldest.pk).reply == ""
