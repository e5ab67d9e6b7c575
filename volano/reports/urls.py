from django.urls import path

from volano.reports import views

app_name = "reports"

urlpatterns = [
    path("reports/customer-value/", views.customer_value_view, name="customer_value"),
    path("reports/stakeholder/", views.stakeholder_page, name="stakeholder"),
    path("reports/stakeholder.pdf", views.stakeholder_pdf_view, name="stakeholder_pdf"),
]
