from django.apps import AppConfig


class ReportsConfig(AppConfig):
    name = "volano.reports"
    label = "reports"
