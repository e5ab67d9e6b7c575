from django.apps import AppConfig


class DemoConfig(AppConfig):
    """No tables: installed for its `volano demo` command (the demo sits on top of every
    domain, so the command lives here and not in core)."""

    name = "volano.demo"
    label = "demo"
