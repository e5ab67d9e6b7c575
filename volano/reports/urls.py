from django.urls import path

from volano.reports import views
from volano.reports.dashboards import urls as dashboard_urls

app_name = "reports"

urlpatterns = [
    path("reports/customer-value/", views.customer_value_view, name="customer_value"),
]
urlpatterns += dashboard_urls.urlpatterns
