from django.urls import path

from volano.segments import views

app_name = "segments"

urlpatterns = [
    path("segments/", views.segment_list_view, name="list"),
    path("segments/new/", views.segment_create_view, name="new"),
    path("segments/preview/", views.segment_preview, name="preview"),
    path("segments/<slug:slug>/", views.segment_detail, name="detail"),
    path("segments/<slug:slug>/edit/", views.segment_edit_view, name="edit"),
    path("segments/<slug:slug>/refresh/", views.segment_refresh_view, name="refresh"),
    path("segments/<slug:slug>/delete/", views.segment_delete_view, name="delete"),
    path("segments/<slug:slug>/save-as-list/", views.segment_to_list_view, name="to_list"),
    path("segments/<slug:slug>/export/<str:fmt>/", views.segment_export_view, name="export"),
    path("personas/", views.persona_list, name="personas"),
    path("lists/", views.list_list_view, name="lists"),
    path("lists/new/", views.list_create_view, name="list_create"),
    path("lists/<slug:slug>/", views.list_detail, name="list_detail"),
    path("lists/<slug:slug>/add/", views.list_add_view, name="list_add"),
    path("lists/<slug:slug>/remove/", views.list_remove_view, name="list_remove"),
    path("lists/<slug:slug>/export/<str:fmt>/", views.list_export_view, name="list_export"),
]
