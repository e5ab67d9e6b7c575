from django.apps import AppConfig


class EventsConfig(AppConfig):
    name = "volano.events"
    label = "events"
