"""Email models: templates (emails/templates) and sending (emails/sending) add theirs here."""

# -- templates (session emailtpl) ---------------------------------------------------------------
from volano.emails.models_templates import EmailTemplate  # noqa: F401
