"""Email models: templates (emails/templates) and sending (emails/sending) add theirs here."""

# --- sending (session emailsend): Mailing, Delivery, Suppression, SoftBounce ---------------------
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

# --- end of sending ------------------------------------------------------------------------------
