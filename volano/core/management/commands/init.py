from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core.management import call_command
from django.db import connection

from volano.core.management.base import VolanoCommand, migrations_pending


class Command(VolanoCommand):
    help = "Create the data folder and bring the database up to date (safe to run again)."

    def handle(self, *args: Any, **options: Any) -> None:
        data_dir = settings.DATA_DIR
        data_dir.mkdir(parents=True, exist_ok=True)
        pending = migrations_pending()
        if pending:
            call_command("migrate", interactive=False, verbosity=0)
        where = (
            connection.settings_dict["NAME"]
            if connection.vendor == "sqlite"
            else f"{connection.vendor} database {connection.settings_dict['NAME']}"
        )
        state = f"{pending} migrations applied" if pending else "already up to date"
        self.stdout.write(f"Volano data folder: {data_dir}")
        self.stdout.write(f"Database: {where} ({state})")
