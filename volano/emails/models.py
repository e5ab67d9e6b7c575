"""Email models: templates (emails/templates) and sending (emails/sending) add theirs here."""
