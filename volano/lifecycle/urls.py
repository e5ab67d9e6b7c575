from django.urls import path

from volano.lifecycle import views

app_name = "lifecycle"

urlpatterns = [
    path("reports/funnel/", views.funnel_view, name="funnel"),
    path("lifecycle/stages/", views.stages_view, name="stages"),
]
