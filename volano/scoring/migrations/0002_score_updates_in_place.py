from django.db import migrations


def fillfactor(apps, schema_editor):
    """Room on each page for the new version of a row: scores are rewritten in place (HOT)."""
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE scoring_score SET (fillfactor = 80)")


class Migration(migrations.Migration):
    dependencies = [
        ("scoring", "0001_initial"),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="score",
            name="score_model_points",
        ),
        migrations.RunPython(fillfactor, migrations.RunPython.noop),
    ]
