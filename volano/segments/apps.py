from django.apps import AppConfig


class SegmentsConfig(AppConfig):
    name = "volano.segments"
    label = "segments"

    def ready(self) -> None:
        # The condition language says a list or a segment by its name (it cannot import segments).
        from volano.conditions.sources import names_source_register
        from volano.segments.models import ContactList, Segment

        names_source_register(
            "lists",
            lambda workspace: dict(
                ContactList.objects.for_workspace(workspace).values_list("slug", "name")
            ),
        )
        names_source_register(
            "segments",
            lambda workspace: dict(
                Segment.objects.for_workspace(workspace).values_list("slug", "name")
            ),
        )
