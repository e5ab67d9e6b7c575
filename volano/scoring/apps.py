from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "volano.scoring"
    label = "scoring"

    def ready(self) -> None:
        # The condition language learns `score.<slug>` from here (it cannot import scoring).
        from volano.scoring.sources import register

        register()
