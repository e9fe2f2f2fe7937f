"""Intake questions of a service: the reads the booking flow and the API ask, and the
writes of the catalogue (add, change, move, remove).

Every write validates its whole input first and raises `ValidationFailed` listing each
problem with its field; nothing is written unless all of it is valid. A question is
never deleted: removing it stops it being asked and keeps the row, because answers
already given name it (apps/bookings/intake.py keeps each answer's label and kind as
asked) and the bookings export gives it a column while bookings answered it.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from typing import Any
from uuid import UUID

from django.db import transaction
from django.db.models import Max, Prefetch, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from apps.core.errors import NotFound
from apps.resources import field_checks as check
from apps.resources.models import IntakeQuestion, Service

logger = logging.getLogger(__name__)

MAX_QUESTIONS = 30
LABEL_MAX_LENGTH = 200
HELP_TEXT_MAX_LENGTH = 500
CHOICE_MAX_LENGTH = 100
MAX_CHOICES = 30
_FIELDS = frozenset({"kind", "label", "help_text", "required", "choices"})


# --- Reads -----------------------------------------------------------------------------


def _asked() -> QuerySet[IntakeQuestion]:
    """What "asked" means, for one service or prefetched for many: not removed, in
    order."""
    return IntakeQuestion.objects.filter(removed_at__isnull=True).order_by("position", "id")


def questions_asked(*, service: Service | UUID) -> QuerySet[IntakeQuestion]:
    """The questions a booking of `service` is asked, in order."""
    return _asked().filter(service=service)


PREFETCHED_QUESTIONS = "questions_prefetched"


def questions_prefetch() -> Prefetch[Any]:
    """For lists of services: each service's asked questions, in order, as
    `service.questions_prefetched` (`questions_of` reads it)."""
    return Prefetch("questions", queryset=_asked(), to_attr=PREFETCHED_QUESTIONS)


def questions_of(*, service: Service) -> list[IntakeQuestion]:
    """The questions a booking of `service` is asked: prefetched by
    `questions_prefetch`, else read, and without a query when its count
    (`Service.questions_asked_count`) says it asks none (most services ask none, and
    every hold checks its answers)."""
    prefetched: list[IntakeQuestion] | None = getattr(service, PREFETCHED_QUESTIONS, None)
    if prefetched is not None:
        return prefetched
    if not service.questions_asked_count:
        return []
    return list(questions_asked(service=service))


def question_get(*, question_id: UUID | str) -> IntakeQuestion:
    """A question still asked, with its service; NotFound for unknown, malformed or
    removed ids."""
    try:
        pk = question_id if isinstance(question_id, UUID) else UUID(str(question_id))
    except (TypeError, ValueError, AttributeError):
        pk = None
    question = (
        IntakeQuestion.objects.select_related("service")
        .filter(pk=pk, removed_at__isnull=True)
        .first()
        if pk
        else None
    )
    if question is None:
        raise NotFound(_("There is no such question."))
    return question


# --- Writes ----------------------------------------------------------------------------


def _choices_clean(problems: check.Problems, kind: str, value: Any) -> list[str] | None:
    if kind not in IntakeQuestion.CHOICE_KINDS:
        return []
    if isinstance(value, str):
        value = value.splitlines()
    if not isinstance(value, list | tuple):
        problems.add("choices", _("Give the choices as a list."))
        return None
    found: list[str] = []
    for item in value:
        if not isinstance(item, str):
            problems.add("choices", _("Each choice must be text."))
            return None
        text = " ".join(item.split())
        if not text:
            continue
        if len(text) > CHOICE_MAX_LENGTH:
            problems.add(
                "choices",
                _("“%(choice)s…” is too long: keep each choice to %(limit)s characters.")
                % {"choice": text[:40], "limit": CHOICE_MAX_LENGTH},
            )
            return None
        if text.casefold() in (known.casefold() for known in found):
            problems.add("choices", _("“%(choice)s” is listed twice.") % {"choice": text[:40]})
            return None
        found.append(text)
    if not found:
        problems.add("choices", _("Give at least one choice, one per line."))
        return None
    if len(found) > MAX_CHOICES:
        problems.add("choices", _("Offer at most %(limit)s choices.") % {"limit": MAX_CHOICES})
        return None
    return found


def _question_clean(data: Mapping[str, Any]) -> dict[str, Any]:
    problems = check.Problems()
    for key in data:
        if key not in _FIELDS:
            problems.add(key, _("This field cannot be changed here."))
    kind = data.get("kind")
    if kind not in IntakeQuestion.Kind.values:
        problems.add(
            "kind",
            _("Choose one of: %(kinds)s.") % {"kinds": ", ".join(IntakeQuestion.Kind.values)},
        )
    label = data.get("label")
    cleaned: dict[str, Any] = {
        "kind": kind,
        "label": check.text(problems, "label", label, max_length=LABEL_MAX_LENGTH),
        "help_text": check.text(
            problems,
            "help_text",
            data.get("help_text", ""),
            max_length=HELP_TEXT_MAX_LENGTH,
            required=False,
        ),
        "required": check.boolean(problems, "required", data.get("required", False)),
        "choices": _choices_clean(problems, str(kind), data.get("choices", [])),
    }
    problems.raise_if_any(_("The question could not be saved."))
    return cleaned


def _service_lock(service: Service) -> Service:
    """Writers of one service's questions take its row first, one at a time (positions
    are decided under that lock)."""
    return Service.objects.select_for_update().get(pk=service.pk)


def _asked_count_keep(locked: Service, *also: Service) -> None:
    """Recounts the questions `locked` asks onto its row (under its lock), and onto the
    caller's copies of it so they do not skip questions just added."""
    count = questions_asked(service=locked).count()
    Service.objects.filter(pk=locked.pk).update(questions_asked_count=count)
    for service in (locked, *also):
        service.questions_asked_count = count


@transaction.atomic
def question_create(
    *,
    service: Service,
    kind: str,
    label: str,
    help_text: str = "",
    required: bool = False,
    choices: Iterable[str] = (),
) -> IntakeQuestion:
    """A new question, asked after the service's others."""
    cleaned = _question_clean(
        {
            "kind": kind,
            "label": label,
            "help_text": help_text,
            "required": required,
            "choices": check.as_list(choices),
        }
    )
    locked = _service_lock(service)
    if questions_asked(service=locked).count() >= MAX_QUESTIONS:
        problems = check.Problems()
        problems.add(
            "", _("A service asks at most %(limit)s questions.") % {"limit": MAX_QUESTIONS}
        )
        problems.raise_if_any(_("The question could not be saved."))
    # After every position ever used, removed questions' included: they keep theirs
    # for the export's column order.
    last = IntakeQuestion.objects.filter(service=locked).aggregate(last=Max("position"))["last"]
    question = IntakeQuestion.objects.create(service=locked, position=(last or 0) + 1, **cleaned)
    _asked_count_keep(locked, service)
    logger.info(
        "intake_question.created",
        extra={"question_id": str(question.pk), "service_id": str(locked.pk)},
    )
    return question


@transaction.atomic
def question_update(*, question: IntakeQuestion, data: Mapping[str, Any]) -> IntakeQuestion:
    """Changes any of kind, label, help text, required, choices. Answers already given
    keep the label and kind they were asked with."""
    current = {
        "kind": question.kind,
        "label": question.label,
        "help_text": question.help_text,
        "required": question.required,
        "choices": list(question.choices),
    }
    cleaned = _question_clean({**current, **data})
    _service_lock(question.service)
    for key, value in cleaned.items():
        setattr(question, key, value)
    question.save(update_fields=[*cleaned, "updated_at"])
    logger.info("intake_question.updated", extra={"question_id": str(question.pk)})
    return question


@transaction.atomic
def question_move(*, question: IntakeQuestion, direction: str) -> IntakeQuestion:
    """Swaps the question with the one asked just before ("up") or after ("down"); at
    either end nothing changes."""
    if direction not in ("up", "down"):
        problems = check.Problems()
        problems.add("direction", _("Move a question up or down."))
        problems.raise_if_any(_("The question could not be moved."))
    locked = _service_lock(question.service)
    asked = list(questions_asked(service=locked))
    index = next((i for i, q in enumerate(asked) if q.pk == question.pk), None)
    if index is None:
        raise NotFound(_("There is no such question."))
    other_index = index - 1 if direction == "up" else index + 1
    if not 0 <= other_index < len(asked):
        return asked[index]
    mine, other = asked[index], asked[other_index]
    positions = (mine.position, other.position)
    # The unique index on positions is checked row by row: go through a free position.
    spare = (
        IntakeQuestion.objects.filter(service=locked).aggregate(last=Max("position"))["last"] or 0
    ) + 1
    IntakeQuestion.objects.filter(pk=mine.pk).update(position=spare)
    IntakeQuestion.objects.filter(pk=other.pk).update(position=positions[0])
    IntakeQuestion.objects.filter(pk=mine.pk).update(position=positions[1])
    mine.refresh_from_db()
    return mine


@transaction.atomic
def question_remove(*, question: IntakeQuestion) -> None:
    """Stops asking the question (see the module's docstring: the row stays)."""
    locked = _service_lock(question.service)
    if question.removed_at is None:
        question.removed_at = timezone.now()
        question.save(update_fields=["removed_at", "updated_at"])
    _asked_count_keep(locked, question.service)
    logger.info("intake_question.removed", extra={"question_id": str(question.pk)})
