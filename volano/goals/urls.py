from django.urls import path

from volano.goals import views

app_name = "goals"

urlpatterns = [
    path("goals/", views.goal_list, name="list"),
    path("goals/<int:goal_id>/", views.goal_detail, name="detail"),
    path("goals/<int:goal_id>/delete/", views.goal_delete, name="delete"),
]
