from django.urls import path

from volano.budgets import views

app_name = "budgets"

urlpatterns = [
    path("budgets/response/", views.response_curves, name="response"),
    path("budgets/response/optimise/", views.optimise, name="optimise"),
    path("budgets/response/whatif/", views.whatif, name="whatif"),
]
