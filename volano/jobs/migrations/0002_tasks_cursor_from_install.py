"""Start the page views' cursor at the install (or the upgrade), not at the first worker pass.

A fresh installation gets a cursor at 0, so page views stored before any worker ran are still
handled. An installation upgraded with a history of events starts at its last event id: the
sweeper does not announce the whole history again, only what arrives from now on (including
what arrives while no worker runs)."""

from django.db import migrations


def cursor_from_install(apps, schema_editor):
    SweeperState = apps.get_model("jobs", "SweeperState")
    Event = apps.get_model("events", "Event")
    if SweeperState.objects.filter(name="page_views").exists():
        return  # a sweeper already keeps its place
    last = Event._base_manager.order_by("-pk").values_list("pk", flat=True).first()
    SweeperState.objects.create(name="page_views", event_cursor=last or 0)


class Migration(migrations.Migration):
    dependencies = [
        ("jobs", "0001_h8_sweeper_state"),
        ("events", "0003_h2_forms_declared"),
    ]

    operations = [migrations.RunPython(cursor_from_install, migrations.RunPython.noop)]
