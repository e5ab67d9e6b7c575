from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "volano.core"
    label = "core"
    verbose_name = "Volano core"

    def ready(self) -> None:
        from django.utils.module_loading import autodiscover_modules

        from volano.core.db import signals_connect

        signals_connect()
        # Each domain registers its reactions to facts in its own reactions.py.
        autodiscover_modules("reactions")
