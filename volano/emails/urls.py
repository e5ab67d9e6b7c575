from django.urls import path

from volano.emails import policy_views, report_views, webhooks
from volano.emails import views as sending_views
from volano.emails.broadcasts import views as broadcast_views
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
    path("email/settings/", policy_views.policy_view, name="policy"),
    path("email/broadcasts/", broadcast_views.broadcast_list_view, name="broadcasts"),
    path("email/broadcasts/new/", broadcast_views.broadcast_new_view, name="broadcast_new"),
    path(
        "email/broadcasts/<int:broadcast_id>/",
        broadcast_views.broadcast_detail_view,
        name="broadcast",
    ),
    path(
        "email/broadcasts/<int:broadcast_id>/progress/",
        broadcast_views.broadcast_progress_view,
        name="broadcast_progress",
    ),
    path(
        "email/broadcasts/<int:broadcast_id>/send/",
        broadcast_views.broadcast_send_view,
        name="broadcast_send",
    ),
    path(
        "email/broadcasts/<int:broadcast_id>/cancel/",
        broadcast_views.broadcast_cancel_view,
        name="broadcast_cancel",
    ),
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
    path("e/confirm/<str:token>/", sending_views.optin_confirm, name="optin_confirm"),
    *webhooks.urlpatterns(),
]
