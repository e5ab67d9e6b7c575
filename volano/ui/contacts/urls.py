"""The `contacts` URL namespace: the contacts list, the contact page and the company page
(composed in the UI layer, volano/ui/contacts/views.py); the company list and forms and the
custom-field pages (volano/contacts/views.py)."""

from django.urls import path

from volano.contacts import views as contact_views
from volano.ui.contacts import views

app_name = "contacts"

urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/new/", views.contact_create_view, name="create"),
    path("contacts/bulk/", views.contact_bulk, name="bulk"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_update_view, name="update"),
    path("contacts/<int:contact_id>/timeline/", views.contact_timeline, name="timeline"),
    path("contacts/<int:contact_id>/consent/", views.contact_consent_view, name="consent"),
    path("contacts/<int:contact_id>/stage/", views.contact_stage_view, name="stage"),
    path("contacts/<int:contact_id>/activity/", views.contact_activity_view, name="activity"),
    path("contacts/<int:contact_id>/merge/", views.contact_merge_view, name="merge"),
    path("companies/", contact_views.company_list, name="company_list"),
    path("companies/new/", contact_views.company_create_view, name="company_create"),
    path("companies/options/", contact_views.company_options, name="company_options"),
    path("companies/<int:company_id>/", views.company_detail, name="company_detail"),
    path(
        "companies/<int:company_id>/edit/",
        contact_views.company_update_view,
        name="company_update",
    ),
    path("settings/fields/", contact_views.custom_fields_view, name="custom_fields"),
]
