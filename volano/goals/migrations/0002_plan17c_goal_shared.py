from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("goals", "0001_goals17_goals")]

    operations = [
        migrations.AddField(
            model_name="goal",
            name="shared",
            field=models.BooleanField(default=False, verbose_name="shared with sales"),
        ),
    ]
