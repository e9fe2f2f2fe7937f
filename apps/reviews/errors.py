"""Review errors: stable codes for the API and the pages; messages carry no personal
data."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_noop

from apps.core.errors import DomainError, NotFound


@dataclass
class ReviewLinkInvalid(NotFound):
    message: str = gettext_noop("This review link is not valid.")
    code = "REVIEW_LINK_INVALID"


@dataclass
class ReviewLinkOtherBusiness(NotFound):
    """A genuine review link, for a booking of another business than this address's."""

    message: str = gettext_noop("This review link belongs to another business.")
    code = "REVIEW_LINK_OTHER_BUSINESS"


@dataclass
class ReviewLinkExpired(DomainError):
    message: str = gettext_noop("This review link has expired.")
    code = "REVIEW_LINK_EXPIRED"
    http_status = 410


@dataclass
class ReviewNotAllowed(DomainError):
    """Only a completed booking is reviewed."""

    message: str = gettext_noop("Only a completed booking can be reviewed.")
    code = "REVIEW_NOT_ALLOWED"
    http_status = 409


@dataclass
class ReviewExists(DomainError):
    message: str = gettext_noop("This booking has been reviewed already.")
    code = "REVIEW_EXISTS"
    http_status = 409


@dataclass
class ReviewEditClosed(DomainError):
    message: str = gettext_noop("This review can no longer be changed.")
    code = "REVIEW_EDIT_CLOSED"
    http_status = 409


@dataclass
class ReplyExists(DomainError):
    message: str = gettext_noop("This review has a reply already.")
    code = "REPLY_EXISTS"
    http_status = 409
