from django.apps import AppConfig


class HandoffConfig(AppConfig):
    name = "volano.handoff"
    label = "handoff"
