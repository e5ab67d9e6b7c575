from django.urls import path

from volano.budgets import plan_views, views

app_name = "budgets"

urlpatterns = [
    path("budgets/response/", views.response_curves, name="response"),
    path("budgets/response/optimise/", views.optimise, name="optimise"),
    path("budgets/response/whatif/", views.whatif, name="whatif"),
    path("budgets/plans/", plan_views.plan_list, name="plans"),
    path("budgets/plans/<int:plan_id>/", plan_views.plan_page, name="plan"),
    path(
        "budgets/plans/<int:plan_id>/lines/<int:line_id>/", plan_views.line_cell, name="plan_line"
    ),
    path("budgets/plans/<int:plan_id>/shared/", plan_views.plan_shared, name="plan_shared"),
    path("budgets/plans/<int:plan_id>/history/", plan_views.plan_history, name="plan_history"),
    path(
        "budgets/plans/<int:plan_id>/export.<str:format>",
        plan_views.plan_export,
        name="plan_export",
    ),
]
