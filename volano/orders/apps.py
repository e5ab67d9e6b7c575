from django.apps import AppConfig


class OrdersConfig(AppConfig):
    name = "volano.orders"
    label = "orders"
