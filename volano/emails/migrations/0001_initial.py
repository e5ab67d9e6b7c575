# The email app's first migration: the app exists; its tables come in the next ones.
from django.db import migrations


class Migration(migrations.Migration):
    initial = True
    dependencies = [("contacts", "0005_h1_outbox_xss_websites_https")]
    operations: list = []
