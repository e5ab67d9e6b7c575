from django.apps import AppConfig


class ContactsConfig(AppConfig):
    name = "volano.contacts"
    label = "contacts"
