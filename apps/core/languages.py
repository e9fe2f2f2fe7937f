"""The languages the product speaks (settings.LANGUAGES), checked the same way
everywhere, and the one decision of which language a request is answered in.

A request's language, first that applies:
1. a dashboard or account page (`/dashboard/`, `/accounts/`) of a person who picked a
   language of their own (`User.language`, /accounts/language/);
2. the `lang` parameter of the URL or form (the booking pages' picker): it works in a
   frame on another site, where the browser keeps our cookies out, because each link
   and form of the flow carries it on like the display time zone (`tz`); outside a
   frame it is also kept in the language cookie for the next visit. An unknown code is
   a 400 page that names the languages there are; in a form sent (POST) it is not, as
   that page would lose what was typed: the request goes on in the language it would
   have had without it, and the view refuses the form beside what was typed
   (`language_refused`);
3. the language cookie (an earlier pick; not on the API, whose clients send
   Accept-Language);
4. the browser's `Accept-Language`, its first language we speak;
5. the business's default language (`Tenant.locale`), then LANGUAGE_CODE.

Answers vary by `Accept-Language` and `Cookie` (the API's by `Accept-Language` alone), so
a cache in between never serves one customer's language to another; the `lang`
parameter is part of the URL anyway.
"""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.signals import request_finished
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext
from django.utils.translation.trans_real import parse_accept_lang_header

from apps.core.errors import FieldError, ValidationFailed

# The query or form parameter of the booking pages' language picker.
LANG_PARAM = "lang"
LANG_COOKIE_MAX_AGE = 365 * 24 * 3600
# Staff screens: the person's own language wins over the browser's.
STAFF_PREFIXES = ("/dashboard/", "/accounts/")
# Paths where `lang` means nothing to us (the API takes `language` in its bodies).
_PARAM_IGNORED_PREFIXES = ("/api/", "/admin/", "/static/", "/media/")
# The API: its language is the client's Accept-Language (a browser's cookie of the
# booking pages is no part of it), so its answers vary by that header alone.
API_PREFIX = "/api/"


def language_codes() -> tuple[str, ...]:
    return tuple(code for code, _ in settings.LANGUAGES)


def is_language(value: object) -> bool:
    return isinstance(value, str) and value in language_codes()


def language_choices() -> list[tuple[str, str]]:
    """Each language under its own name ("Deutsch", "Français"), as a picker shows it
    to someone who may not read the page's current language."""
    return [(code, language_name(code)) for code in language_codes()]


def language_name(code: str) -> str:
    """The name settings.LANGUAGES gives it: its own ("Deutsch"), never translated."""
    return str(dict(settings.LANGUAGES)[code])


def language_check(value: str, *, field: str = "language") -> str:
    """The code itself when the product speaks it; ValidationFailed naming the field
    and the codes there are otherwise."""
    if is_language(value):
        return value
    raise ValidationFailed(
        gettext("Unknown language code."),
        [
            FieldError(
                field,
                gettext("“%(code)s” is not a language we speak. Choose one of: %(codes)s.")
                % {"code": value, "codes": ", ".join(language_codes())},
            )
        ],
    )


def validate_language(value: str) -> None:
    """Model-field validator (the services check first and say so per field)."""
    if not is_language(value):
        raise ValidationError(
            gettext("“%(code)s” is not a language we speak. Choose one of: %(codes)s.")
            % {"code": value, "codes": ", ".join(language_codes())}
        )


def language_active() -> str:
    """The active language as one of ours ("" when none of ours is active)."""
    active = translation.get_language()
    if not active:
        return ""
    try:
        return translation.get_supported_language_variant(active)
    except LookupError:
        return ""


def _from_accept_language(header: str) -> str | None:
    for accepted, quality in parse_accept_lang_header(header):
        if accepted == "*" or quality <= 0:  # q=0: "not this one" (RFC 9110 §12.4.2)
            break
        try:
            return translation.get_supported_language_variant(accepted)
        except LookupError:
            continue
    return None


def _staff_language(request: HttpRequest) -> str | None:
    if not request.path_info.startswith(STAFF_PREFIXES):
        return None
    user = getattr(request, "user", None)
    language = getattr(user, "language", "") if user is not None else ""
    return language if is_language(language) else None


def _business_language(request: HttpRequest) -> str | None:
    tenant = getattr(request, "tenant", None)
    if tenant is None or getattr(tenant, "schema_name", "public") == "public":
        return None
    locale = getattr(tenant, "locale", "")
    return locale if is_language(locale) else None


def _param_of(request: HttpRequest) -> str | None:
    if request.path_info.startswith(_PARAM_IGNORED_PREFIXES):
        return None
    value = request.GET.get(LANG_PARAM)
    # A form's field (a JSON body has none; the CSRF check reads forms' fields anyway).
    form = request.content_type in ("application/x-www-form-urlencoded", "multipart/form-data")
    if value is None and request.method == "POST" and form:
        value = request.POST.get(LANG_PARAM)
    return value


def request_language(request: HttpRequest) -> tuple[str, str | None]:
    """(the language to answer in, the explicit pick to remember or None). Raises
    ValidationFailed for an unknown `lang`, worded in the language the request would
    have had without it (which is then active)."""
    staff = _staff_language(request)
    if staff:
        return staff, None
    picked = _param_of(request)
    if picked and is_language(picked):
        return picked, picked
    fallback = _unpicked_language(request)
    if picked:
        translation.activate(fallback)
        language_check(picked, field=LANG_PARAM)
    return fallback, None


def _unpicked_language(request: HttpRequest) -> str:
    if not request.path_info.startswith(API_PREFIX):
        cookie = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME, "")
        if is_language(cookie):
            return cookie
    accepted = _from_accept_language(request.headers.get("Accept-Language", ""))
    if accepted:
        return accepted
    return _business_language(request) or settings.LANGUAGE_CODE


def language_carried(request: HttpRequest) -> str:
    """The language this request picked by its `lang` parameter ("" when it picked
    none): what the pages' links and forms carry on, as cookies may be kept out."""
    return str(getattr(request, "language_picked", "") or "")


def language_refused(request: HttpRequest) -> str:
    """Why this form's `lang` was refused, in the request's language ("" when it was
    not): a form sent with a code we do not speak is answered with the form again and
    this beside it, never with a page that loses what was typed."""
    return str(getattr(request, "language_refused", "") or "")


def _unknown_language_response(request: HttpRequest, error: ValidationFailed) -> HttpResponse:
    """A plain page (no template: this runs before any view, for any page), in the
    language the request would have had without the unknown code; each language's link
    keeps the rest of the address (the day, the time chosen)."""

    def link(code: str) -> str:
        query = request.GET.copy()
        query[LANG_PARAM] = code
        return "?" + query.urlencode()

    items = format_html_join(
        "", '<li><a href="{}">{}</a></li>', ((link(c), n) for c, n in language_choices())
    )
    body = format_html(
        '<!doctype html><html lang="{}"><meta charset="utf-8"><title>{}</title>'
        "<h1>{}</h1><p>{}</p><ul>{}</ul></html>",
        translation.get_language(),
        error.message,
        error.message,
        error.details[0].message,
        items,
    )
    response = HttpResponseBadRequest(body)
    patch_vary_headers(response, ("Accept-Language", "Cookie"))
    return response


@receiver(request_finished, dispatch_uid="core.languages.request_finished")
def _language_forget(**kwargs: object) -> None:
    """Once a response is sent (a streamed one to its end), the thread's next request
    starts from LANGUAGE_CODE: what is answered before this middleware runs (an unknown
    business's page, a 503) never speaks the previous request's language."""
    translation.deactivate()


def language_headers(request: HttpRequest, response: HttpResponse, language: str) -> None:
    """What an answer in `language` says about it: that it varies with the request's
    languages (and cookie, outside the API) and which language it is in. Also for answers
    made before this middleware runs (apps/api/fast_reads.py)."""
    api = request.path_info.startswith(API_PREFIX)
    patch_vary_headers(response, ("Accept-Language",) if api else ("Accept-Language", "Cookie"))
    response.headers.setdefault("Content-Language", language)


class LanguageMiddleware:
    """In place of Django's LocaleMiddleware; after authentication, as staff screens
    follow the person's own language."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        refused = ""
        try:
            language, picked = request_language(request)
        except ValidationFailed as error:
            if request.method != "POST":
                return _unknown_language_response(request, error)
            # A form: the view shows it again with what was typed and this beside it.
            language, picked, refused = _unpicked_language(request), None, error.details[0].message
        translation.activate(language)
        request.LANGUAGE_CODE = translation.get_language()
        request.language_picked = picked or ""  # type: ignore[attr-defined]
        request.language_refused = refused  # type: ignore[attr-defined]
        response = self.get_response(request)
        language_headers(request, response, translation.get_language())
        if picked and request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME) != picked:
            # In a frame on another site the browser drops it; the URL carries the pick.
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                picked,
                max_age=LANG_COOKIE_MAX_AGE,
                samesite="Lax",
                secure=request.is_secure(),
            )
        return response
