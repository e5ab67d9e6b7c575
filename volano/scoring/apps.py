from django.apps import AppConfig


class ScoringConfig(AppConfig):
    name = "volano.scoring"
    label = "scoring"

    def ready(self) -> None:
        # The condition language learns `score.<slug>` from here (it cannot import scoring).
        from volano.scoring import sources, timeline

        sources.register()
        timeline.register()  # a score's change on the timeline, in scoring's points
