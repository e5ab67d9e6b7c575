from django.urls import path

from volano.reports import customer_views, views
from volano.reports.dashboards import urls as dashboard_urls

app_name = "reports"

urlpatterns = [
    path("reports/customer-value/", views.customer_value_view, name="customer_value"),
    path("reports/stakeholder/", views.stakeholder_page, name="stakeholder"),
    path("reports/stakeholder.pdf", views.stakeholder_pdf_view, name="stakeholder_pdf"),
    path("reports/cohorts/", customer_views.cohorts_view, name="cohorts"),
    path("reports/related/", customer_views.related_view, name="related"),
    path("reports/churn-risk/", customer_views.churn_risk_view, name="churn_risk"),
]
urlpatterns += dashboard_urls.urlpatterns
