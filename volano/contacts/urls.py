from django.urls import path

from volano.contacts import views

app_name = "contacts"

urlpatterns = [
    path("contacts/", views.contact_list, name="list"),
    path("contacts/new/", views.contact_create_view, name="create"),
    path("contacts/<int:contact_id>/", views.contact_detail, name="detail"),
    path("contacts/<int:contact_id>/edit/", views.contact_update_view, name="update"),
    path("contacts/<int:contact_id>/timeline/", views.contact_timeline, name="timeline"),
    path("companies/", views.company_list, name="company_list"),
    path("companies/options/", views.company_options, name="company_options"),
    path("companies/<int:company_id>/", views.company_detail, name="company_detail"),
]
