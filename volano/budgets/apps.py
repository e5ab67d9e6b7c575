from django.apps import AppConfig


class BudgetsConfig(AppConfig):
    name = "volano.budgets"
    label = "budgets"
