"""Team management: invite people to a tenant with a role, change roles, remove them."""

from __future__ import annotations

import logging

from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext as _
from django_tenants.utils import tenant_context

from apps.accounts.mfa import mfa_has_factor
from apps.accounts.models import Membership, Tenant, User
from apps.core.entitlements import Limit, entitlement_require
from apps.core.errors import FieldError, ValidationFailed
from apps.core.languages import is_language

logger = logging.getLogger(__name__)


def _admins_left(tenant: Tenant, *, excluding: Membership) -> int:
    return (
        Membership.objects.filter(tenant=tenant, role=Membership.Role.ADMIN)
        .exclude(pk=excluding.pk)
        .count()
    )


def _check_role(role: str) -> None:
    if role not in Membership.Role.values:
        raise ValidationFailed(
            _("Unknown role."), [FieldError("role", _("Choose one of the roles."))]
        )


def _admin_grant_check(*, role: str, granted_by: User) -> None:
    """Before going live an admin may work without a second factor (apps.accounts.mfa.
    mfa_enrol_deferred); making someone else an admin is not part of that."""
    if role == Membership.Role.ADMIN and not mfa_has_factor(granted_by):
        raise ValidationFailed(
            _("Set up two-step sign-in before making another admin."),
            [
                FieldError(
                    "role",
                    _(
                        "Set up two-step sign-in for your own account first "
                        "(the checklist on Today links to it), then invite another admin."
                    ),
                )
            ],
        )


@transaction.atomic
def membership_invite(
    *, tenant: Tenant, email: str, role: str, invited_by: User, base_url: str
) -> Membership:
    """Adds a person to the team. A new person gets an email with a link to choose a
    password; someone who already has an account gets a link to log in."""
    email = email.strip().lower()
    _check_role(role)
    _admin_grant_check(role=role, granted_by=invited_by)
    user = User.objects.filter(email=email).first()
    if user is not None and Membership.objects.filter(tenant=tenant, user=user).exists():
        raise ValidationFailed(
            _("Already on the team."),
            [FieldError("email", _("%(email)s is already on the team.") % {"email": email})],
        )
    with tenant_context(tenant):
        entitlement_require(Limit.SEATS, serialize=True)
    is_new = user is None
    if user is None:
        user = User.objects.create_user(email=email, password=None)
    membership = Membership.objects.create(tenant=tenant, user=user, role=role)

    if is_new:
        link = base_url + reverse(
            "accounts:password_reset_confirm",
            kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
                "token": default_token_generator.make_token(user),
            },
        )
    else:
        link = base_url + reverse("accounts:login")
    context = {
        "tenant": tenant,
        "role": membership.get_role_display(),
        "link": link,
        "is_new": is_new,
        "inviter": invited_by.email,
    }
    # In the invitee's language when they have chosen one, else the business's: never
    # in whatever the inviter's screen happens to speak.
    chosen = "" if is_new else user.language
    language = next(
        (code for code in (chosen, tenant.locale) if is_language(code)), settings.LANGUAGE_CODE
    )
    with translation.override(language):
        body = render_to_string("accounts/emails/invitation.txt", context)
        subject = _("You have been invited to %(business)s on TimeNest") % {"business": tenant.name}
    transaction.on_commit(lambda: send_mail(subject, body, None, [email]))
    logger.info("team.invited", extra={"tenant": tenant.slug, "role": role, "new_user": is_new})
    return membership


@transaction.atomic
def membership_change_role(
    *, membership: Membership, role: str, changed_by: User | None = None
) -> Membership:
    """`changed_by`: the person making the change (a person promoting someone to admin
    needs a second factor of their own); None for the platform's own changes."""
    _check_role(role)
    if changed_by is not None and role != membership.role:
        _admin_grant_check(role=role, granted_by=changed_by)
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if (
        locked.role == Membership.Role.ADMIN
        and role != Membership.Role.ADMIN
        and _admins_left(locked.tenant, excluding=locked) == 0
    ):
        raise ValidationFailed(
            _("A business needs an admin."),
            [FieldError("role", _("This is the only admin. Make someone else admin first."))],
        )
    locked.role = role
    locked.save(update_fields=["role", "updated_at"])
    return locked


@transaction.atomic
def membership_remove(*, membership: Membership) -> None:
    locked = Membership.objects.select_for_update().get(pk=membership.pk)
    if locked.role == Membership.Role.ADMIN and _admins_left(locked.tenant, excluding=locked) == 0:
        raise ValidationFailed(
            _("A business needs an admin."),
            [FieldError("role", _("The only admin cannot be removed."))],
        )
    locked.delete()
