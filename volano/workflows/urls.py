from django.urls import path

from volano.workflows import builder_views, task_views, views

app_name = "workflows"

urlpatterns = [
    path("workflows/", views.workflow_list_view, name="list"),
    path("workflows/new/", builder_views.workflow_new_view, name="new"),
    path("workflows/templates/", builder_views.workflow_templates_view, name="templates"),
    path(
        "workflows/templates/<slug:slug>/",
        builder_views.workflow_from_template_view,
        name="from_template",
    ),
    path("workflows/<int:workflow_id>/", views.workflow_detail_view, name="detail"),
    path("workflows/<int:workflow_id>/counts/", views.workflow_counts_view, name="counts"),
    path("workflows/<int:workflow_id>/publish/", views.workflow_publish_view, name="publish"),
    path("workflows/<int:workflow_id>/pause/", views.workflow_pause_view, name="pause"),
    path("workflows/<int:workflow_id>/enrol/", views.workflow_enrol_view, name="enrol"),
    path("workflows/tasks/", task_views.task_list_view, name="tasks"),
    path("workflows/tasks/<int:task_id>/done/", task_views.task_done_view, name="task_done"),
    path(
        "workflows/<int:workflow_id>/builder/",
        builder_views.workflow_builder_view,
        name="builder",
    ),
    path(
        "workflows/<int:workflow_id>/builder/publish/",
        builder_views.workflow_builder_publish_view,
        name="builder_publish",
    ),
    path(
        "workflows/<int:workflow_id>/builder/pause/",
        builder_views.workflow_builder_pause_view,
        name="builder_pause",
    ),
    path(
        "workflows/<int:workflow_id>/builder/counts/",
        builder_views.workflow_builder_counts_view,
        name="builder_counts",
    ),
    path(
        "workflows/<int:workflow_id>/builder/replay/",
        builder_views.workflow_builder_replay_view,
        name="builder_replay",
    ),
]
