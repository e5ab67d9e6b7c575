from django.urls import path

from volano.campaigns import views
from volano.campaigns.costs import views as cost_views
from volano.campaigns.reports import views as report_views

app_name = "campaigns"

urlpatterns = [
    path("campaigns/", views.campaign_list, name="list"),
    path("campaigns/<int:campaign_id>/", views.campaign_detail, name="detail"),
    path("campaigns/content/", views.content_list, name="content"),
    path("campaigns/utm/", views.utm_builder, name="utm"),
    path("campaigns/channels/", views.channel_rules, name="channels"),
    path("campaigns/costs/", cost_views.costs_page, name="costs"),
    path("campaigns/costs/<int:cost_id>/", cost_views.cost_edit, name="cost_edit"),
    path("campaigns/costs/samples/<str:name>", cost_views.cost_sample, name="cost_sample"),
    path("campaigns/reports/", report_views.report_index, name="reports"),
    path("campaigns/reports/<slug:name>/", report_views.report_page, name="report"),
]
