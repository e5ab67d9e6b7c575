from django.apps import AppConfig


class EmailsConfig(AppConfig):
    name = "volano.emails"
    label = "emails"
    verbose_name = "Email"
