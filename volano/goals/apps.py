from django.apps import AppConfig


class GoalsConfig(AppConfig):
    name = "volano.goals"
    label = "goals"
