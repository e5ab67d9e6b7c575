from django.urls import path

from volano.surveys import views

app_name = "surveys"

urlpatterns = [
    path("surveys/", views.survey_list_view, name="list"),
    path("surveys/<slug:slug>/", views.survey_detail_view, name="detail"),
    path("s/<str:token>/", views.answer_view, name="answer"),
]
