from django.urls import path

from volano.handoff import views

app_name = "handoff"

urlpatterns = [
    path("leads/", views.leads, name="leads"),
    path("leads/<int:assignment_id>/accept/", views.lead_accept, name="accept"),
    path("leads/<int:assignment_id>/reject/", views.lead_reject, name="reject"),
    path("settings/assignment/", views.assignment_settings, name="settings"),
    path("settings/assignment/rules/", views.rule_save, name="rule_create"),
    path("settings/assignment/rules/<int:rule_id>/", views.rule_save, name="rule_update"),
    path("settings/assignment/rules/<int:rule_id>/delete/", views.rule_delete, name="rule_delete"),
    path("settings/assignment/handoff/", views.handoff_settings_save, name="settings_save"),
]
