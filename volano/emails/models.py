"""Email models: templates (emails/templates) and sending (emails/sending) add theirs here."""

# -- templates (session emailtpl) ---------------------------------------------------------------
# --- sending (session emailsend): Mailing, Delivery, Suppression, SoftBounce ---------------------
# --- broadcasts (session bcast) ---------------------------------------------------------------
from volano.emails.models_broadcasts import AbMetric, AbWhich, Broadcast, BroadcastStatus  # noqa: F401
from volano.emails.models_optin import OptInConfirmation  # noqa: F401

# --- and its policy (session policy): EmailPolicy, the frequency cap and quiet hours -------------
from volano.emails.models_policy import EmailPolicy  # noqa: F401
from volano.emails.models_sending import (  # noqa: F401
    MARKETING_KINDS,
    Delivery,
    DeliveryStatus,
    Mailing,
    MailingKind,
    MailingStatus,
    SkipReason,
    SoftBounce,
    Suppression,
    SuppressionReason,
)
from volano.emails.models_templates import EmailTemplate  # noqa: F401

# --- end of sending ------------------------------------------------------------------------------
