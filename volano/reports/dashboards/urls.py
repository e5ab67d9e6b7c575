from django.urls import path

from volano.reports.dashboards import views

urlpatterns = [
    path("reports/dashboards/", views.dashboard_list, name="dashboards"),
    path("reports/dashboards/new/", views.dashboard_edit, name="dashboard_new"),
    path("reports/dashboards/<int:pk>/", views.dashboard_view, name="dashboard"),
    path("reports/dashboards/<int:pk>/edit/", views.dashboard_edit, name="dashboard_edit"),
    path("reports/velocity/", views.velocity_page, name="velocity"),
    path("reports/health/", views.health_page, name="health"),
]
