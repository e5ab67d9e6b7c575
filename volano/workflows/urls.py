from django.urls import path

from volano.workflows import views

app_name = "workflows"

urlpatterns = [
    path("workflows/", views.workflow_list_view, name="list"),
    path("workflows/<int:workflow_id>/", views.workflow_detail_view, name="detail"),
    path("workflows/<int:workflow_id>/counts/", views.workflow_counts_view, name="counts"),
    path("workflows/<int:workflow_id>/publish/", views.workflow_publish_view, name="publish"),
    path("workflows/<int:workflow_id>/pause/", views.workflow_pause_view, name="pause"),
]
