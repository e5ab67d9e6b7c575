from django.urls import path

from volano.events import views

urlpatterns = [
    path("t/volano.js", views.snippet, name="tracking_snippet"),
    path("t/collect", views.collect, name="tracking_collect"),
    path("t/pixel.gif", views.pixel, name="tracking_pixel"),
    path("t/form/<str:tracking_key>/<str:form_slug>", views.form_submit, name="tracking_form"),
    path("tracking/", views.tracking_setup, name="tracking_setup"),
    path("tracking/forms/", views.forms_list, name="tracking_forms"),
    path("tracking/forms/new", views.form_new, name="tracking_form_new"),
    path("tracking/forms/<slug:slug>/", views.form_edit, name="tracking_form_edit"),
    path("tracking/forms/<slug:slug>/delete", views.form_delete, name="tracking_form_delete"),
]
