"""Dashboard screens for a service's intake questions (managers and up): add one, change
one, move it up or down, remove it. The list sits on the service's own page
(dashboard/_service_questions.html); moving and removing answer htmx with that list,
and a plain POST with the service's page."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext
from django.views.decorators.http import require_http_methods, require_POST

from apps.accounts.models import Membership
from apps.core.errors import ValidationFailed
from apps.core.htmx import redirect_after_post, render_page_or_partial, wants_partial
from apps.dashboard.access import membership_required
from apps.dashboard.catalogue.question_forms import QuestionForm
from apps.resources.intake import (
    question_create,
    question_get,
    question_move,
    question_remove,
    question_update,
    questions_asked,
)
from apps.resources.models import IntakeQuestion, Service
from apps.resources.selectors import service_get

MANAGER = Membership.Role.MANAGER


def _service_url(service: Service) -> str:
    return reverse("dashboard:service_edit", kwargs={"service_id": service.pk}) + "#questions"


def _form_screen(
    request: HttpRequest,
    *,
    form: QuestionForm,
    service: Service,
    question: IntakeQuestion | None,
    action: str,
) -> HttpResponse:
    """GET shows the form; POST saves through the service and goes back to the
    service's page, or shows the field errors beside what was typed."""
    status = 200
    if request.method == "POST":
        status = 400
        if form.is_valid():
            try:
                if question is None:
                    saved = question_create(service=service, **form.service_data())
                else:
                    saved = question_update(question=question, data=form.service_data())
            except ValidationFailed as error:
                form.apply_domain_error(error)
            else:
                messages.success(
                    request, gettext("Question “%(label)s” saved.") % {"label": saved.label}
                )
                return redirect_after_post(request, _service_url(service))
    return render_page_or_partial(
        request,
        page="dashboard/question_form.html",
        partial="dashboard/_question_form.html",
        context={"form": form, "service": service, "question": question, "action": action},
        status=status,
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def question_create_view(request: HttpRequest, service_id: UUID) -> HttpResponse:
    service = service_get(service_id=service_id)
    form = QuestionForm(request.POST or None, initial={"kind": IntakeQuestion.Kind.SHORT_TEXT})
    return _form_screen(
        request,
        form=form,
        service=service,
        question=None,
        action=reverse("dashboard:question_create", kwargs={"service_id": service.pk}),
    )


@require_http_methods(["GET", "POST"])
@membership_required(MANAGER)
def question_edit_view(request: HttpRequest, question_id: UUID) -> HttpResponse:
    question = question_get(question_id=question_id)
    form = QuestionForm(request.POST or None, initial=QuestionForm.initial_for(question))
    return _form_screen(
        request,
        form=form,
        service=question.service,
        question=question,
        action=reverse("dashboard:question_edit", kwargs={"question_id": question.pk}),
    )


def _after_list_change(request: HttpRequest, service: Service) -> HttpResponse:
    if wants_partial(request):
        return render(
            request,
            "dashboard/_service_questions.html",
            {"service": service, "questions": list(questions_asked(service=service))},
        )
    return redirect_after_post(request, _service_url(service))


@require_POST
@membership_required(MANAGER)
def question_move_view(request: HttpRequest, question_id: UUID) -> HttpResponse:
    question = question_get(question_id=question_id)
    try:
        question_move(question=question, direction=request.POST.get("direction", ""))
    except ValidationFailed as error:
        messages.error(request, error.message)
    return _after_list_change(request, question.service)


@require_POST
@membership_required(MANAGER)
def question_remove_view(request: HttpRequest, question_id: UUID) -> HttpResponse:
    question = question_get(question_id=question_id)
    question_remove(question=question)
    messages.success(
        request,
        gettext("Question “%(label)s” removed: it is no longer asked.") % {"label": question.label},
    )
    return _after_list_change(request, question.service)
