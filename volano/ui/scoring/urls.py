from django.urls import path

from volano.ui.scoring import views

app_name = "scoring"

urlpatterns = [
    path("scoring/", views.model_list_view, name="models"),
    path("scoring/recompute/", views.scores_recompute_view, name="recompute"),
    path("scoring/predictive/train/", views.predictive_train_view, name="train"),
    path(
        "scoring/predictive/train/<str:job>/",
        views.predictive_train_status_view,
        name="train_status",
    ),
    path("scoring/models/new/", views.model_create_view, name="model_new"),
    path("scoring/models/preview/", views.model_preview_view, name="model_preview"),
    path("scoring/models/<slug:slug>/", views.model_edit_view, name="model_edit"),
    path("scoring/rules/new/", views.rule_create_view, name="rule_new"),
    path("scoring/rules/preview/", views.rule_preview_view, name="rule_preview"),
    path("scoring/rules/<int:rule_id>/", views.rule_edit_view, name="rule_edit"),
    path("scoring/rules/<int:rule_id>/delete/", views.rule_delete_view, name="rule_delete"),
]
