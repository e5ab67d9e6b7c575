"""Websites stored before only http(s) was accepted: a bare host ("verdi.it") gets the https://
the company page used to add when it drew the link, so it stays a link under the new rule.
Anything else (a javascript: value) is left as it is, and the page shows it as text."""

from django.db import migrations
from django.db.models import Value
from django.db.models.functions import Concat, Length


def bare_hosts_get_https(apps, schema_editor):
    Company = apps.get_model("contacts", "Company")
    bare = (
        Company._base_manager.annotate(website_length=Length("website"))
        .filter(website_length__gt=0, website_length__lte=200 - len("https://"))
        .exclude(website__contains=":")
    )
    bare.update(website=Concat(Value("https://"), "website"))


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0004_contact_lifecycle_changed_at_contact_lifecycle_stage_and_more"),
    ]

    operations = [migrations.RunPython(bare_hosts_get_https, migrations.RunPython.noop)]
