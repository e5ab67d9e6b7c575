from django.urls import path

from volano.emails import report_views
from volano.emails import views as sending_views
from volano.emails.templating import views

app_name = "emails"

urlpatterns = [
    path("email/templates/", views.template_list_view, name="templates"),
    path("email/templates/new/", views.template_new_view, name="new"),
    path("email/templates/from-starter/", views.template_from_starter_view, name="from_starter"),
    path("email/templates/<slug:slug>/", views.template_edit_view, name="edit"),
    path("email/templates/<slug:slug>/preview/", views.template_preview_view, name="preview"),
    path(
        "email/templates/<slug:slug>/preview/frame/",
        views.template_preview_frame_view,
        name="preview_frame",
    ),
    path("email/templates/<slug:slug>/test/", views.template_test_send_view, name="test_send"),
    path("email/templates/<slug:slug>/delete/", views.template_delete_view, name="delete"),
    path("emails/mailings/", report_views.mailing_list_view, name="mailings"),
    path(
        "emails/mailings/<int:pk>/report/",
        report_views.mailing_report_view,
        name="mailing_report",
    ),
    path(
        "emails/mailings/<int:pk>/report/frame/",
        report_views.mailing_report_frame_view,
        name="mailing_report_frame",
    ),
    path("e/o/<str:token>/", sending_views.open_pixel, name="open"),
    path("e/c/<str:token>/", sending_views.click, name="click"),
    path("e/u/<str:token>/", sending_views.unsubscribe, name="unsubscribe"),
    path("e/u/<str:token>/preferences/", sending_views.preferences, name="preferences"),
]
