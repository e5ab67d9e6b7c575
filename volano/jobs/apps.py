from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "volano.jobs"
    label = "jobs"
