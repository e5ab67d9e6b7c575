from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "volano.emails"
    label = "emails"
    verbose_name = "Email"

    def ready(self) -> None:
        # registers the sending core's renderer "template" (the templates' own renderer)
        from volano.emails import rendering  # noqa: F401
