from django.apps import AppConfig


class ConditionsConfig(AppConfig):
    """No tables: installed for its static files and templates, the condition builder that
    segments, score models and threshold rules share."""

    name = "volano.conditions"
    label = "conditions"
