from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "volano.emails"
    label = "emails"
    verbose_name = "Email"

    def ready(self) -> None:
        # registers the sending core's renderer "template" (the templates' own renderer)
        # registers the renderer "double_opt_in" (the confirmation email)
        # registers the broadcasts' hook on a finished mailing (a broadcast becomes "sent")
        from volano.emails import (
            optin,  # noqa: F401
            rendering,  # noqa: F401
        )
        from volano.emails.broadcasts import services  # noqa: F401
