from django.urls import path

from volano.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/customer-value/", views.customer_value_view, name="customer_value"),
]
