from django.apps import AppConfig


class DealsConfig(AppConfig):
    name = "volano.deals"
    label = "deals"

    def ready(self) -> None:
        # A deal's change reads on the timeline in the deals domain's words.
        from volano.deals.timeline import register

        register()
