from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "volano.notifications"
    label = "notifications"
