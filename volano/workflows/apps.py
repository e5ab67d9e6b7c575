from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "volano.workflows"
    label = "workflows"
