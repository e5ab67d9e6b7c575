from django.urls import path

from volano.imports import views

app_name = "imports"

urlpatterns = [
    path("imports/", views.import_list, name="list"),
    path("imports/upload/", views.import_upload, name="upload"),
    path(
        "imports/template/<str:kind>.<str:file_format>",
        views.import_template,
        name="template",
    ),
    path("imports/<int:job_id>/", views.import_detail, name="detail"),
    path("imports/<int:job_id>/mapping/", views.import_mapping, name="mapping"),
    path("imports/<int:job_id>/run/", views.import_run, name="run"),
    path("imports/<int:job_id>/errors.csv", views.import_errors_csv, name="errors_csv"),
]
