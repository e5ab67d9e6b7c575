"""A test send: the template rendered for one contact, mailed to the user's own address.

On the transactional path (the `transactional` mailer when there is one, else the default, which
is the workspace's Outbox without SMTP). Small on purpose: the sending core may take it over."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils.translation import gettext as _

from volano.core.activity import activity_record
from volano.core.errors import ApplicationError
from volano.core.mail import workspace_headers
from volano.core.models import User, Workspace
from volano.core.tenancy import ensure_in_workspace
from volano.emails.models import EmailTemplate
from volano.emails.rendering import render_for_contact


def template_test_send(
    *, workspace: Workspace, actor: User, template: EmailTemplate, contact
) -> EmailMultiAlternatives:
    ensure_in_workspace(template, workspace)
    ensure_in_workspace(contact, workspace)
    if not actor.email:
        raise ApplicationError(_("Your account has no email address."))
    email = render_for_contact(template, contact)
    using = "transactional" if "transactional" in settings.MAILERS else "default"
    message = EmailMultiAlternatives(
        subject=_("[Test] %(subject)s") % {"subject": email.subject},
        body=email.text,
        to=[actor.email],
        headers=workspace_headers(workspace),
    )
    message.attach_alternative(email.html, "text/html")
    with transaction.atomic():
        activity_record(
            workspace=workspace, actor=actor, verb="email_template.test_sent", obj=template,
            contact_id=contact.pk, changes={"to": actor.email},
        )  # fmt: skip
    try:
        message.send(using=using)
    except (smtplib.SMTPException, OSError) as error:
        # the server refused it or is not there: said on the page, never a server error
        code = getattr(error, "smtp_code", None)
        raise ApplicationError(
            _("The mail server did not take the test (%(reason)s).")
            % {"reason": f"{code}" if code else type(error).__name__}
        ) from error
    return message
