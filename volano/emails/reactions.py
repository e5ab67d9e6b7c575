"""What the email domain does when other domains announce a change (volano/core/reactions.py),
and what it does with the tracking events of an anymail provider (its `tracking` signal)."""

from __future__ import annotations

from anymail.signals import tracking as anymail_tracking

from volano.core.facts import ConsentConfirmationRequested
from volano.core.reactions import reacts_to, workspace_of
from volano.emails import optin
from volano.emails.webhooks import tracking_signal_receiver


@reacts_to(ConsentConfirmationRequested, phase="after_commit")
def optin_confirmation_send(fact: ConsentConfirmationRequested) -> None:
    """A form asked for a consent with double opt-in: send the confirmation email (at most one
    per contact per resend window, so a second run of this reaction sends nothing)."""
    workspace = workspace_of(fact)
    if workspace is None:
        return
    optin.confirmation_request(
        workspace=workspace,
        contact_id=fact.contact_id,
        purpose=fact.purpose,
        form=fact.form,
        ip=fact.ip,
    )


anymail_tracking.connect(tracking_signal_receiver, dispatch_uid="volano.emails.anymail_tracking")
