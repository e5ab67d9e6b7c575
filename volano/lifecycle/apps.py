from django.apps import AppConfig


class LifecycleConfig(AppConfig):
    name = "volano.lifecycle"
    label = "lifecycle"
