from django.apps import AppConfig


class SurveysConfig(AppConfig):
    name = "volano.surveys"
    label = "surveys"

    def ready(self) -> None:
        # the invitation email is made by the renderer "survey" of the sending core
        from volano.surveys import invitations  # noqa: F401
