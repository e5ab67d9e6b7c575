"""The `volano` command: Django's management commands under one name.

`volano`, `volano --help` and `volano help` list Volano's own commands, grouped as the README's
command table is; `volano help --all` is Django's full list, `volano COMMAND --help` a command's
options.
"""

import os
import sys

# (group, ((command, what it does), …)): one line each; test_cli checks that every management
# command of a volano app is listed here.
COMMANDS = (
    (
        "Start",
        (
            ("init", "create the data folder and the database (idempotent)"),
            ("demo", "load the demo workspace officina-rossi and print its logins"),
            ("serve", "serve the web app with its background workers (127.0.0.1:8000)"),
            ("worker", "run a background worker alone (more workers, other machines)"),
        ),
    ),
    (
        "Workspaces and people",
        (
            ("workspace create|list", "create a workspace (one client company), or list them"),
            ("user create", "add a user to a workspace with a role (admin, marketer, sales…)"),
            ("token create|list|revoke", "API tokens: create one (printed once), list, revoke"),
        ),
    ),
    (
        "Data",
        (
            ("import", "import contacts, companies, orders or ad costs from a CSV or Excel file"),
            ("segment count|refresh", "count the contacts a condition matches; refresh segments"),
            ("scoring model save", "create or replace a score model from a JSON file"),
            ("scoring recompute|train", "recompute every score; train the predictive model"),
            ("email send", "send an email template to a segment or a list, now (a broadcast)"),
            ("email policy", "show or change the sending policy (frequency cap, quiet hours)"),
            ("workflows run-due|list", "run the workflow steps due (by --as-of); list workflows"),
            (
                "campaigns report",
                "an ROI report (SQLs, revenue, cross-sell, content) as CSV/XLSX/JSON",
            ),
            (
                "attribution compare|roi",
                "the seven attribution models side by side; ROI per campaign or channel",
            ),
            (
                "report kpi|velocity|health|refresh|pdf",
                "a dashboard KPI, sales velocity, account health; the board's PDF report",
            ),
        ),
    ),
)


def help_text() -> str:
    width = max(len(command) for _group, commands in COMMANDS for command, _what in commands)
    lines = ["Volano, the marketing platform. Usage: volano COMMAND [options]", ""]
    for group, commands in COMMANDS:
        lines.append(group)
        lines.extend(f"  {command.ljust(width)}  {what}" for command, what in commands)
        lines.append("")
    lines.append("`volano COMMAND --help` shows a command's options.")
    lines.append("`volano help --all` lists Django's commands too (migrate, shell, dbshell…).")
    return "\n".join(lines) + "\n"


def main() -> None:
    args = sys.argv[1:]
    if args in ([], ["-h"], ["--help"], ["help"]):
        sys.stdout.write(help_text())
        return
    if args == ["help", "--all"]:
        args = ["help"]  # Django's own list of every command
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "volano.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(["volano", *args])


if __name__ == "__main__":
    main()
