"""The email that tells a business's admins an endpoint was disabled for failing."""

from __future__ import annotations

import logging

from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

from apps.accounts.addresses import tenant_base_url
from apps.accounts.models import Tenant
from apps.core.languages import is_language
from apps.notifications.webhooks.models import WebhookDelivery, WebhookEndpoint
from apps.notifications.webhooks.selectors import tenant_admin_emails

logger = logging.getLogger(__name__)


def webhook_endpoint_disabled_notify(*, endpoint_id: str, tenant: Tenant) -> int:
    """Emails each admin of the business; returns how many messages went out. Nothing is
    sent when the endpoint was enabled again or deleted meanwhile."""
    endpoint = WebhookEndpoint.objects.filter(pk=endpoint_id).first()
    if endpoint is None or endpoint.is_active:
        return 0
    recipients = tenant_admin_emails(tenant=tenant)
    page = tenant_base_url(tenant) + reverse(
        "dashboard:integrations_endpoint", kwargs={"endpoint_id": endpoint.id}
    )
    last_failed = (
        endpoint.deliveries.filter(status=WebhookDelivery.Status.FAILED)
        .order_by("-updated_at")
        .first()
    )
    context = {
        "tenant": tenant,
        "endpoint": endpoint,
        "page": page,
        "last_error": last_failed.last_error if last_failed else "",
    }
    for recipient, language in recipients:
        # Each admin's own language, else the business's (never the worker's last one).
        with translation.override(language if is_language(language) else tenant.locale):
            subject = gettext("Webhook endpoint disabled at %(name)s") % {"name": tenant.name}
            body = render_to_string("emails/webhook_endpoint_disabled.txt", context)
        send_mail(subject, body, None, [recipient])
    logger.info(
        "webhook_endpoint.disabled_notice_sent",
        extra={"endpoint_id": str(endpoint.id), "recipients": len(recipients)},
    )
    return len(recipients)
