from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "volano.scoring"
    label = "scoring"
